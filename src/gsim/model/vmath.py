"""exp, log and pow as plain arithmetic, so that loops calling them vectorise.

numba lowers `math.exp`, `math.log` and `**` to calls into the C library, one element at a
time: a loop over lanes that calls them cannot use vector instructions. These versions are
written with +, -, *, /, comparisons and bit casts only (range reduction and a polynomial),
so LLVM inlines them and vectorises the loop around them. They are IEEE-exact programs: the
same input gives the same bits in a vector lane and in scalar code, on every x86-64 CPU.

Accuracy against the C library (tests/test_vmath.py measures it): `exp` and `log` within
one ulp over the model's ranges; `pow(x, y) = exp(y log x)` within ~|y log x| + 1 ulp, which
is what the spec's tolerance (1e-6 relative) leaves plenty of room for. Special values follow
the C library where the model can reach them: exp(±inf) = inf / 0, exp overflows to inf and
underflows through the subnormals to 0, log(0) = -inf, log(x < 0) = nan, log(inf) = inf,
nan in gives nan out; pow handles negative bases with integer exponents and y = 0.
"""

from __future__ import annotations

from typing import Any

from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

# Every helper is always inlined into its caller (LLVM's alwaysinline), so the arithmetic
# sits inside the caller's loop and can be vectorised there.
MATH: dict[str, Any] = dict(cache=True, error_model="numpy", nogil=True, forceinline=True)

_LOG2E = 1.4426950408889634  # 1 / ln 2
# ln 2 split so that n * _LN2_HI is exact for |n| < 2^11 (Cody and Waite)
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_SHIFT = 6755399441055744.0  # 1.5 * 2^52: x + _SHIFT - _SHIFT rounds x to an integer
_EXP_SHIFT = 4503599627371519.0  # 2^52 + 1023 (see _pow2)
_EXP_BITS = 0x4330000000000000  # the bits of 2^52
# Taylor coefficients 1/k! of exp on |r| <= ln2/2; the first omitted term is < 5e-18
_E2, _E3, _E4, _E5 = 1.0 / 2, 1.0 / 6, 1.0 / 24, 1.0 / 120
_E6, _E7, _E8, _E9 = 1.0 / 720, 1.0 / 5040, 1.0 / 40320, 1.0 / 362880
_E10, _E11, _E12, _E13 = 1.0 / 3628800, 1.0 / 39916800, 1.0 / 479001600, 1.0 / 6227020800
# log: minimax coefficients of (log((1+s)/(1-s)) - 2s) / s on s^2 (fdlibm's e_log.c)
_LG1, _LG2, _LG3 = 6.666666666666735130e-01, 3.999999999940941908e-01, 2.857142874366239149e-01
_LG4, _LG5 = 2.222219843214978396e-01, 1.818357216161805012e-01
_LG6, _LG7 = 1.531383769920937332e-01, 1.479819860511658591e-01
_SQRT2_HALF = 0.7071067811865476
_TWO54 = 18014398509481984.0  # 2^54, lifts subnormals into the normal range
_TINY = 2.2250738585072014e-308  # smallest normal float64
_TWO52 = 4503599627370496.0  # from here on every float64 is an integer
_INF, _NAN = float("inf"), float("nan")


@intrinsic
def _f64_from_bits(typingctx, bits):
    """Reinterpret an int64 as the float64 with the same bits."""
    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


@intrinsic
def _bits_of_f64(typingctx, x):
    """Reinterpret a float64 as the int64 with the same bits."""
    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(types.float64), codegen


@njit(**MATH)
def _pow2(n):
    """2^n for an integer-valued float n in [-1022, 1023], exactly. No conversion between
    float and int64 (AVX2 has no vector instruction for it): n + 2^52 + 1023 carries
    n + 1023 in its low bits, which the shift moves into the exponent field."""
    return _f64_from_bits(_bits_of_f64(n + _EXP_SHIFT) << 52)


@njit(**MATH)
def exp(x):
    """e^x, within one ulp of the C library's exp (exact special values, see module doc)."""
    # beyond +-1400 the result has over- or underflowed anyway; nan stays nan
    xc = 1400.0 if x > 1400.0 else (-1400.0 if x < -1400.0 else x)
    xc = xc if xc == xc else 0.0
    n = (xc * _LOG2E + _SHIFT) - _SHIFT  # nearest integer to x / ln 2
    r = (xc - n * _LN2_HI) - n * _LN2_LO  # |r| <= ln2 / 2
    # 1 + r + r^2 q(r), q evaluated by Estrin's scheme: short dependency chains, so that
    # scalar calls overlap in the CPU's pipeline; vector lanes do not care either way
    r2 = r * r
    r4 = r2 * r2
    b0 = (_E2 + _E3 * r) + (_E4 + _E5 * r) * r2
    b1 = (_E6 + _E7 * r) + (_E8 + _E9 * r) * r2
    b2 = (_E10 + _E11 * r) + (_E12 + _E13 * r) * r2
    q = (b0 + b1 * r4) + b2 * (r4 * r4)
    e = 1.0 + (r + r2 * q)
    # scale by 2^n in two exact halves, so that results reach the subnormals and overflow
    # to inf without an out-of-range exponent (|n| <= 2020 here)
    h = (n * 0.5 + _SHIFT) - _SHIFT
    h = h - 1.0 if h > n * 0.5 else h  # floor(n / 2)
    e = e * _pow2(h) * _pow2(n - h)
    return e if x == x else x


@njit(**MATH)
def log(x):
    """Natural logarithm, within one ulp of the C library's log (special values as libm)."""
    tiny = x < _TINY  # subnormal (or zero, negative): scale up first
    xs = x * _TWO54 if tiny else x
    bits = _bits_of_f64(xs)
    m = _f64_from_bits((bits & 0x000FFFFFFFFFFFFF) | 0x3FF0000000000000)  # in [1, 2)
    # the biased exponent as a float, by the same trick as _pow2 (no int64 conversion)
    dk = _f64_from_bits(((bits >> 52) & 0x7FF) | _EXP_BITS) - _EXP_SHIFT
    big = m > 2.0 * _SQRT2_HALF  # bring m into [sqrt(1/2), sqrt(2))
    m = m * 0.5 if big else m
    dk = dk + 1.0 if big else dk
    dk = dk - 54.0 if tiny else dk
    f = m - 1.0
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    t1 = w * (_LG2 + w * (_LG4 + w * _LG6))
    t2 = z * (_LG1 + w * (_LG3 + w * (_LG5 + w * _LG7)))
    R = t2 + t1
    hfsq = 0.5 * f * f
    out = dk * _LN2_HI - ((hfsq - (s * (hfsq + R) + dk * _LN2_LO)) - f)
    # special values: log(0) = -inf, log(x < 0) = nan, log(inf) = inf, log(nan) = nan
    out = -_INF if x == 0.0 else out
    out = _NAN if x < 0.0 else out
    out = x if (x != x or x == _INF) else out
    return out


@njit(**MATH)
def pow(x, y):
    """x^y as exp(y log|x|), with the C library's sign and special-value rules for x < 0
    (integer y: sign of x^y; otherwise nan) and y = 0 (always 1)."""
    ax = abs(x)
    out = exp(y * log(ax))
    # (bitwise & and |, not `and` / `or`: no branches in a vectorised loop)
    integer = (y == ((y + _SHIFT) - _SHIFT)) | (abs(y) >= _TWO52)
    half = y * 0.5
    odd = integer & (half != ((half + _SHIFT) - _SHIFT)) & (abs(y) < 2.0 * _TWO52)
    negative = _bits_of_f64(x) < 0  # x < 0 or x = -0.0
    out = -out if (negative & odd) else out
    out = _NAN if ((x < 0.0) & (not integer)) else out
    return 1.0 if y == 0.0 else out
