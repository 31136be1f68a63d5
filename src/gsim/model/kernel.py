"""The compiled GTM-1 kernel: auxiliaries (spec §6), derivatives (§7), Euler/RK4 steps (§9),
with the runs of a batch as the innermost axis of every array.

A batch of B runs is cut into G groups of L lanes, L a multiple of LANES (the vector width).
Each group's arrays end in the lane axis: state y[NY, L], scalar parameters sp[NP, L], tier
parameters tp[NT, S, L], decisions W[R, k, S, L], z[R, S, L], psi[R, L], scratch rs[., R, S, L]
and so on. Every loop over regions, tiers and pairs has a loop over lanes inside it that does
the same IEEE operations on contiguous memory, which LLVM turns into vector instructions.

Why results do not depend on lane, group width or thread count: lanes never interact. Every
operation is element-wise along the lane axis, without fastmath, fused multiply-adds or sums
across lanes, and the transcendental functions are the arithmetic ones of `gsim.model.vmath`,
so a vector lane computes exactly what scalar code computes. The only decisions taken for a
whole group (skip the relocation block when no lane allows a transfer, skip a pair no lane
allows, skip a rationing power no lane needs) are written so that the skipped work would
have added exact zeros. A group of one lane is therefore the per-run kernel.

`Kernels` is the way in: `advance`, `observe` and `run` (a whole horizon under a built-in
policy, whose compiled twin decides inside the loop) take run-major arrays (run axis first)
bundled as `Inputs`, and convert to and from lanes inside. No Python object and no hook is
ever called from inside the compiled loops.
"""

from __future__ import annotations

import hashlib
import sys
import types
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple

import numba
import numpy as np
from numba import njit
from numba.core.compiler import CompilerBase, DefaultPassBuilder

from gsim import params
from gsim.model import layout, vmath
from gsim.model.calibrate import Calibration
from gsim.model.inputs import BatchInputs
from gsim.model.layout import OBS, SP, STOCK, TP, stock_offset
from gsim.params import READY_THRESHOLD


class Inputs(NamedTuple):
    """What the kernels read besides the state and the decision: the parameters, the
    calibration constants and the candidate pairs. Run-major for `Kernels` (run axis first);
    inside a group the first PER_RUN fields end in the lane axis instead."""

    sp: np.ndarray  # (B, NP) scalar parameters, columns layout.SCALAR_NAMES
    tp: np.ndarray  # (B, NT, S) tier parameters, rows layout.TIER_NAMES
    wmin: np.ndarray  # (B, R) wage floors
    D0: np.ndarray  # (B, S) base demand
    Ytot0: np.ndarray  # (B,) capacity at t0
    lnv0: np.ndarray  # (B, R) log employment-weighted wage at t0 (GTM-2 mechanism 6)
    trend: np.ndarray  # (B, R) d_r, population growth relative to the nation's (GTM-2 mechanism 5)
    invest: np.ndarray  # (B, R) s_r^ω_I, each region's investment share over σ (experimental GTM-2 mechanism)
    recv: np.ndarray  # (R, k) candidate receivers of each sender (shared by all runs)
    dist: np.ndarray  # (R, k) their distances
    nrecv: np.ndarray  # (R,) number of candidates of each sender

    @classmethod
    def of(cls, inp: BatchInputs, cal: Calibration) -> Inputs:
        pr = inp.pairs
        trend = np.ascontiguousarray(inp.reg[:, layout.REGION_COLUMNS.index("pop_trend")])
        return cls(inp.sp, inp.tp, cal.wmin, cal.D0, cal.Ytot0, cal.lnv0, trend, investment_factor(inp),
                   pr.recv, pr.dist, pr.nrecv)


def investment_factor(inp: BatchInputs) -> np.ndarray:
    """(B, R) s_r^ω_I, the factor on σ of each region's investment share (exactly 1 where
    ω_I = 0, so GTM-1 and GTM-2 without the mechanism are unchanged to the bit)."""
    s = inp.reg[:, layout.REGION_COLUMNS.index("invest_rate")]
    omega = inp.sp[:, SP["province_investment"], None]
    return np.ascontiguousarray(np.where(omega == 0.0, 1.0, s ** omega))


PER_RUN = 8  # Inputs fields with a run axis; the pairs are shared

# numba options in one place: cached machine code, IEEE semantics (no fastmath), and the
# NumPy error model so a division by zero yields inf/nan that failure detection reports.
JIT: dict[str, Any] = dict(cache=True, error_model="numpy", nogil=True)

# scalar parameter columns (module constants are frozen into the compiled code)
_DELTA, _DELTA_X, _SIGMA, _BETA = SP["delta"], SP["delta_x"], SP["sigma"], SP["beta"]
_PHI_P, _U_STAR, _PHI_W, _E_STAR = SP["phi_p"], SP["u_star"], SP["phi_w"], SP["e_star"]
_G0_TFP, _CHI, _RHO, _NU0 = SP["g0"], SP["chi"], SP["rho"], SP["nu0"]
_H_BAR, _GAMMA_H, _ELL_H, _KAPPA = SP["H_bar"], SP["gamma_H"], SP["ell_H"], SP["kappa"]
_IOTA, _DELTA_I, _MU, _C_M, _N = SP["iota"], SP["delta_I"], SP["mu"], SP["c_m"], SP["n"]
_LAMBDA_T, _G0, _C_D, _TAU_T = SP["lambda_T"], SP["G0"], SP["c_d"], SP["tau_T"]
_ELL_R, _ELL_F, _K_EPS = SP["ell_R"], SP["ell_F"], SP["K_eps"]
_N_P, _OMEGA_F, _ZETA = SP["pop_growth"], SP["world_frontier"], SP["invest_maturity"]
_XI, _OMEGA_N = SP["catchup_schooling"], SP["national_catchup"]
_OMEGA_P, _OMEGA_M = SP["province_paths"], SP["spatial_equilibrium"]
_ALPHA, _THETA, _EPS, _ETA, _OMEGA = TP["alpha"], TP["theta"], TP["epsilon"], TP["eta"], TP["omega"]

# slots of the observation arrays, by name from the variable table (gsim.model.layout)
(O_OUTPUT, O_EMPLOYMENT, O_PROFIT, O_READY, O_TOUT, O_TIN) = (OBS["rs"].index(n) for n in (
    "output", "employment", "profit_rate", "readiness", "transfer_out", "transfer_in"))
(O_GDP, O_REAL, O_SUI) = (OBS["r"].index(n) for n in ("gdp", "real_output", "sui"))
(O_UTIL, O_OVER, O_MARGIN) = (OBS["s"].index(n) for n in ("utilization", "overcapacity", "margin"))
(O_REAL_GDP, O_THEIL, O_SUI_NAT, O_RD, O_VOLUME, O_FAILED, O_LOST) = (OBS["o0"].index(n) for n in (
    "real_gdp", "theil", "sui_national", "rd_share", "transfer_volume", "failed_transfer_share",
    "lost_capital"))
_K, _A, _X, _XA, _LF, _W, _H, _I, _P, _F = (STOCK[n] for n in (
    "capital", "technology", "pipeline", "pipeline_technology", "labor_force", "wage", "skills",
    "infrastructure", "price", "frontier"))


# Lanes are padded to a multiple of this: 8 doubles fill one AVX-512 register (two AVX2
# ones), so every run of a group goes through the same vector instructions.
LANES = 8
# At most this many lanes per group, so that a group's decision W (R x k x S x L doubles,
# 1 MB for the default scenario) and its scratch stay near the core's cache: 32 lanes were
# faster than 16 or 64 in benchmarks/bench_kernel.py.
MAX_GROUP = 32


class _NoAlias(CompilerBase):
    """numba's nopython pipeline, with every array argument marked `noalias` for LLVM."""

    def define_pipelines(self):
        self.state.flags.noalias = True
        return [DefaultPassBuilder.define_nopython_pipeline(self.state)]


# The group kernels below never receive two overlapping arrays (every scratch quantity is
# its own array; a derivative never lands in the state it is computed from). Saying so lets
# LLVM vectorise their short lane loops without runtime overlap checks, which otherwise cost
# more than the loops themselves. Floating-point semantics are unchanged.
LANE_JIT: dict[str, Any] = dict(JIT, pipeline_class=_NoAlias)
# Small helpers of the run loop are inlined at numba's IR level. `_evaluate` is not: numba
# compiles a called function on its own, then links its LLVM code into each separately
# compiled caller, where it is optimised and turned into machine code again, so the run loop
# calls it from one call site, and the Python loop's entry points (`Kernels.advance`,
# `observe`: plugin policies and events), which link it too, are compiled lazily, only when
# such a run happens. Inlining the evaluation into the run loop at numba's IR level would
# compile it once, but numba's front end then took twice as long on the larger function.
INLINED: dict[str, Any] = dict(LANE_JIT, inline="always")
# Compiled only to be called from other compiled functions: without the wrappers that let
# Python call them (for the evaluation, unboxing some 70 array arguments).
CALLEE: dict[str, Any] = dict(JIT, no_cpython_wrapper=True, no_cfunc_wrapper=True)
# The lane count of a group: read from the arrays, or a compile-time constant in the
# variants compiled for one lane (see _kernels), where LLVM then removes the lane loops.
_FIXED_LANES = 0
_BIG = 1e150  # cap of the relocation terms that a zero W or psi multiplies (see §14)

# rows of a group's scratch arrays: per region-tier, per region, per tier, per lane
(M_, DD, EE, YC, YY, PI, ZEFF, RD, INV, TOUT, TIN, TINA, FA, FB, ZD, PS, GG, BASE, TGT, NRS) = range(20)
(Z_, EZ, SUMDD, RATION, UNEMP, GDP, YR, FSUB, LNV, AIDIN, AIDOUT, MIGIN, MIGOUT, NRV) = range(14)
(DEM, QQ, UTIL, ASTAR, EKT, AINV, HSUM, COEF, AC, ABAR, TBAR, NSV) = range(12)
(HMAX, ILMAX, TOT, EMPLOYED, YCTOT, FRAW, CSUB, FTOT, TOP, LEARN, VOLUME, FAILED, LOST, SIG, NLV) = range(15)


@njit(**JIT, forceinline=True)
def _lanes(y):
    return y.shape[1] if _FIXED_LANES == 0 else _FIXED_LANES


@njit(**JIT, forceinline=True)
def _cap(x):
    """x within [-_BIG, _BIG]; NaN gives -_BIG."""
    return x if abs(x) < _BIG else (_BIG if x > 0.0 else -_BIG)


@njit(**LANE_JIT)
def _evaluate(y, R, S, inp, decision, flags, scratch, dy):
    """Spec §6 into the scratch arrays and, unless dy has no rows, §7 into dy, for every lane
    of a group."""
    sp, tp, wmin, D0, Ytot0, lnv0, trend, invest, recv, dist, nrecv = inp
    W, z, psi = decision
    active, relocate, aid = flags
    rs, rv, sv, hbuf, lv = scratch
    L = _lanes(y)
    # rows of the stocks in y (and dy)
    oK, oA, oX, oXA = stock_offset(_K, R, S), stock_offset(_A, R, S), stock_offset(_X, R, S), stock_offset(_XA, R, S)
    oLf, ow, oH, oI = stock_offset(_LF, R, S), stock_offset(_W, R, S), stock_offset(_H, R, S), stock_offset(_I, R, S)
    op, oF = stock_offset(_P, R, S), stock_offset(_F, R, S)

    rs[TOUT][...] = 0.0
    rs[TIN][...] = 0.0
    rs[TINA][...] = 0.0
    rv[AIDIN][...] = 0.0
    rv[AIDOUT][...] = 0.0
    rv[MIGIN][...] = 0.0
    rv[MIGOUT][...] = 0.0
    lv[VOLUME][...] = 0.0
    lv[FAILED][...] = 0.0
    for s in range(S):
        for l in range(L):
            sv[AINV][s, l] = 1.0 / tp[_ALPHA, s, l]

    # 1-2 readiness relative to the current leaders; exp(-k(Z - theta)) = exp(-k Z) exp(k theta)
    for l in range(L):
        lv[HMAX][l] = y[oH, l]
        lv[ILMAX][l] = y[oI, l] / y[oLf, l]
    for r in range(1, R):
        for l in range(L):
            lv[HMAX][l] = max(lv[HMAX][l], y[oH + r, l])
            lv[ILMAX][l] = max(lv[ILMAX][l], y[oI + r, l] / y[oLf + r, l])
    for s in range(S):
        for l in range(L):
            sv[EKT][s, l] = vmath.exp(sp[_KAPPA, l] * tp[_THETA, s, l])
    for r in range(R):
        for l in range(L):
            Z = 0.5 * y[oH + r, l] / lv[HMAX][l] + 0.5 * (y[oI + r, l] / y[oLf + r, l]) / lv[ILMAX][l]
            rv[Z_][r, l] = Z
            rv[EZ][r, l] = vmath.exp(-sp[_KAPPA, l] * Z)
    for r in range(R):
        for s in range(S):
            for l in range(L):
                rs[M_][r, s, l] = 1.0 / (1.0 + rv[EZ][r, l] * sv[EKT][s, l])

    # 3-6 labour demand, rationing, capacity.  With g = ((1-a)B/w)^(1/a): Dd = K g and,
    # unrationed, K^a Dd^(1-a) = K g^(1-a) = K g / ((1-a)B/w); one power per region-tier.
    # (Loops with a transcendental function accumulate nothing: with one lane they then
    # vectorise over tiers or regions instead.)
    for r in range(R):
        for s in range(S):
            for l in range(L):
                base = ((1.0 - tp[_ALPHA, s, l]) * y[op + s, l] * sp[_U_STAR, l] * rs[M_][r, s, l]
                        * y[oA + r * S + s, l] / y[ow + r, l])
                g = vmath.pow(base, sv[AINV][s, l])
                rs[GG][r, s, l] = g
                rs[BASE][r, s, l] = base
                rs[DD][r, s, l] = y[oK + r * S + s, l] * g
    for r in range(R):
        for l in range(L):
            lv[TOT][l] = 0.0
        for s in range(S):
            for l in range(L):
                lv[TOT][l] += rs[DD][r, s, l]
        rationed = False
        for l in range(L):
            tot = lv[TOT][l]
            rv[SUMDD][r, l] = tot
            ration = min(1.0, y[oLf + r, l] / tot) if tot > 0.0 else 1.0
            rv[RATION][r, l] = ration
            rationed |= ration < 1.0
            lv[EMPLOYED][l] = 0.0
        for s in range(S):
            for l in range(L):
                rs[EE][r, s, l] = rs[DD][r, s, l] * rv[RATION][r, l]
                lv[EMPLOYED][l] += rs[EE][r, s, l]
                base = rs[BASE][r, s, l]
                rs[YC][r, s, l] = (rs[M_][r, s, l] * y[oA + r * S + s, l] * y[oK + r * S + s, l]
                                   * (rs[GG][r, s, l] / base) if base > 0.0 else 0.0)
        if rationed:  # a lane with ration = 1 keeps its capacity unchanged
            for s in range(S):
                for l in range(L):
                    ration = rv[RATION][r, l]
                    cut = vmath.pow(ration, 1.0 - tp[_ALPHA, s, l])
                    rs[YC][r, s, l] = rs[YC][r, s, l] * cut if ration < 1.0 else rs[YC][r, s, l]
        for l in range(L):
            rv[UNEMP][r, l] = 1.0 - lv[EMPLOYED][l] / y[oLf + r, l]

    # 7-8 demand and utilisation
    for l in range(L):
        lv[YCTOT][l] = 0.0
    for s in range(S):
        for l in range(L):
            sv[QQ][s, l] = 0.0
        for r in range(R):
            for l in range(L):
                sv[QQ][s, l] += rs[YC][r, s, l]
        for l in range(L):
            lv[YCTOT][l] += sv[QQ][s, l]
    for s in range(S):
        for l in range(L):
            sv[DEM][s, l] = (D0[s, l] * vmath.pow(lv[YCTOT][l] / Ytot0[l], tp[_ETA, s, l])
                             * vmath.pow(y[op + s, l], -tp[_EPS, s, l]))
            sv[UTIL][s, l] = min(1.0, sv[DEM][s, l] / sv[QQ][s, l])
    # GTM-2: the investment share falls with national income (elasticity ζ; exactly σ under GTM-1)
    for l in range(L):
        lv[SIG][l] = (sp[_SIGMA, l] if sp[_ZETA, l] == 0.0
                      else sp[_SIGMA, l] * vmath.pow(lv[YCTOT][l] / Ytot0[l], -sp[_ZETA, l]))

    # 9-13 output, subsidies, profit rates, R&D, investment
    for r in range(R):
        for l in range(L):
            rv[GDP][r, l] = 0.0
            rv[YR][r, l] = 0.0
            lv[FRAW][l] = 0.0
        for s in range(S):
            for l in range(L):
                Y = sv[UTIL][s, l] * rs[YC][r, s, l]
                rs[YY][r, s, l] = Y
                rv[GDP][r, l] += y[op + s, l] * Y
                rv[YR][r, l] += Y
                lv[FRAW][l] += z[r, s, l] * y[oK + r * S + s, l]
        for l in range(L):
            fraw = lv[FRAW][l]
            lv[CSUB][l] = min(1.0, sp[_IOTA, l] * rv[YR][r, l] / fraw) if fraw > 0.0 else 1.0
            lv[FTOT][l] = 0.0
            lv[TOP][l] = -np.inf
        for s in range(S):
            for l in range(L):
                K = y[oK + r * S + s, l]
                zeff = lv[CSUB][l] * z[r, s, l]
                rs[ZEFF][r, s, l] = zeff
                lv[FTOT][l] += zeff * K
                revenue = y[op + s, l] * rs[YY][r, s, l]
                surplus = revenue - y[ow + r, l] * rs[EE][r, s, l]
                pi = surplus / max(K, sp[_K_EPS, l]) - sp[_DELTA, l] + zeff
                rs[PI][r, s, l] = pi
                margin = surplus / revenue if revenue != 0.0 else 0.0
                rs[RD][r, s, l] = sp[_RHO, l] * max(0.0, margin)
                lv[TOP][l] = max(lv[TOP][l], sp[_BETA, l] * pi)
        for s in range(S):
            for l in range(L):
                rs[INV][r, s, l] = y[oK + r * S + s, l] * vmath.exp(sp[_BETA, l] * rs[PI][r, s, l] - lv[TOP][l])
        for l in range(L):
            rv[FSUB][r, l] = lv[FTOT][l]
            lv[TOT][l] = 0.0
        for s in range(S):
            for l in range(L):
                lv[TOT][l] += rs[INV][r, s, l]
        for s in range(S):
            for l in range(L):
                rs[INV][r, s, l] = lv[SIG][l] * invest[r, l] * rv[YR][r, l] * rs[INV][r, s, l] / lv[TOT][l]

    # 14 relocation.  pi_e = FA_rs FB_qs - delta + zeff_qs with FA = A^(1/a) (sender) and
    # FB = p m c^((1-a)/a) (u - (1-a) u*), c = (1-a) p u* m / w (receiver).  Since
    # base = c A and g = base^(1/a):  c^((1-a)/a) = c^(1/a) / c = g A / (FA base).
    # Skipping a pair no lane allows (or the aid when no lane pays any) must change no lane's
    # result, so every term a lane's W = 0 (or psi = 0) multiplies is kept finite: the terms
    # of the gap G and the sender's coefficient and technology are capped at +-_BIG (NaN
    # counts as -_BIG), so h is in [0, 1] and the skipped work would add exact zeros.
    if relocate:
        for r in range(R):
            for s in range(S):
                for l in range(L):
                    A = y[oA + r * S + s, l]
                    fa = vmath.pow(A, sv[AINV][s, l])
                    base = rs[BASE][r, s, l]
                    lift = rs[GG][r, s, l] * A / (fa * base) if base > 0.0 else 0.0
                    fb = (y[op + s, l] * rs[M_][r, s, l] * lift
                          * (sv[UTIL][s, l] - (1.0 - tp[_ALPHA, s, l]) * sp[_U_STAR, l]))
                    rs[FA][r, s, l] = _cap(fa)
                    rs[FB][r, s, l] = _cap(fb)
                    rs[ZD][r, s, l] = _cap(rs[ZEFF][r, s, l] - sp[_DELTA, l])
                    rs[PS][r, s, l] = _cap(rs[PI][r, s, l])
        for r in range(R):
            n = nrecv[r]
            sv[HSUM][...] = 0.0
            for j in range(n):
                if active[r, j] == 0:
                    continue
                q, d = recv[r, j], dist[r, j]
                every = active[r, j] == 2  # W = 1 in every lane: W h = h, skip the product
                for s in range(S):
                    for l in range(L):
                        G = rs[FA][r, s, l] * rs[FB][q, s, l] + rs[ZD][q, s, l] - rs[PS][r, s, l] - sp[_C_D, l] * d
                        Gp = G if G > 0.0 else 0.0
                        h = Gp / (sp[_G0, l] + Gp)
                        h = h if every else h * W[r, j, s, l]
                        hbuf[j, s, l] = h
                        sv[HSUM][s, l] += h
            # T_rqs = coef_rs h_rqs with coef_rs = lambda K_rs / (1 + S_rs); T_r.s sums to coef S
            for s in range(S):
                for l in range(L):
                    hs = sv[HSUM][s, l]
                    coef = _cap(sp[_LAMBDA_T, l] * y[oK + r * S + s, l] / (1.0 + hs))
                    sv[COEF][s, l] = coef
                    rs[TOUT][r, s, l] = coef * hs + 0.0  # + 0.0: never -0.0
                    sv[AC][s, l] = _cap(y[oA + r * S + s, l])
            for j in range(n):
                if active[r, j] == 0:
                    continue
                q = recv[r, j]
                for s in range(S):
                    for l in range(L):
                        T = sv[COEF][s, l] * hbuf[j, s, l]
                        rs[TIN][q, s, l] += T
                        rs[TINA][q, s, l] += T * sv[AC][s, l]
            if aid:  # pairing aid the sender pays: its receivers' rates times the transfers
                for j in range(n):
                    if active[r, j] == 0:
                        continue
                    q = recv[r, j]
                    for s in range(S):
                        for l in range(L):
                            rv[AIDOUT][r, l] += psi[q, l] * (sv[COEF][s, l] * hbuf[j, s, l])
        # sums over senders, from the receivers' side: sum_rqs T = sum_qs TIN, and the aid a
        # receiver gets is its own rate times everything it receives
        for q in range(R):
            for s in range(S):
                for l in range(L):
                    T = rs[TIN][q, s, l]
                    lv[VOLUME][l] += T
                    lv[FAILED][l] += T if rs[M_][q, s, l] < READY_THRESHOLD else 0.0
        if aid:
            for q in range(R):
                for s in range(S):
                    for l in range(L):
                        rv[AIDIN][q, l] += psi[q, l] * rs[TIN][q, s, l]

    # 15 arrivals and their failures; 16 frontier
    for l in range(L):
        lv[LOST][l] = 0.0
    for r in range(R):
        for s in range(S):
            for l in range(L):
                lv[LOST][l] += (sp[_ELL_F, l] * (1.0 - rs[M_][r, s, l]) * y[oX + r * S + s, l]
                                / sp[_TAU_T, l])
    for l in range(L):
        lv[LOST][l] += sp[_ELL_R, l] * lv[VOLUME][l]
    for s in range(S):
        for l in range(L):
            sv[ASTAR][s, l] = y[oA + s, l]
        for r in range(1, R):
            for l in range(L):
                sv[ASTAR][s, l] = max(sv[ASTAR][s, l], y[oA + r * S + s, l])
        # GTM-2: the catch-up target moves from the best province to the world frontier
        # (weight 0 under GTM-1, where this adds an exact zero)
        for l in range(L):
            sv[ASTAR][s, l] += sp[_OMEGA_F, l] * (y[oF + s, l] - sv[ASTAR][s, l])

    # 17 migration along candidate pairs, in log-wage units; GTM-2 (weight ω_M) counts each
    # region's log wage from its level at t0, the start year taken as a spatial equilibrium
    for r in range(R):
        for l in range(L):
            lnv = vmath.log(y[ow + r, l] * max(1.0 - rv[UNEMP][r, l], 1e-6))
            rv[LNV][r, l] = lnv if sp[_OMEGA_M, l] == 0.0 else lnv - sp[_OMEGA_M, l] * lnv0[r, l]
    for r in range(R):
        n = nrecv[r]
        for j in range(n):
            q, d = recv[r, j], dist[r, j]
            for l in range(L):
                gap = rv[LNV][q, l] - rv[LNV][r, l] - sp[_C_M, l] * d
                M = sp[_MU, l] * y[oLf + r, l] * gap / n if gap > 0.0 else 0.0
                rv[MIGOUT][r, l] += M
                rv[MIGIN][q, l] += M

    if dy.shape[0] == 0:
        return

    # GTM-2: each province's catch-up target, its schooling's share of the frontier (ξ = 0 under
    # GTM-1, where pow gives exactly 1); and the tier's capital-weighted sums of TFP and target,
    # whose ratio gives the nation's relative gap (mechanism 8, weight ω_N)
    for s in range(S):
        for l in range(L):
            sv[ABAR][s, l] = 0.0
            sv[TBAR][s, l] = 0.0
        for r in range(R):
            for l in range(L):
                i = r * S + s
                rs[TGT][r, s, l] = sv[ASTAR][s, l] * vmath.pow(y[oH + r, l] / lv[HMAX][l], sp[_XI, l])
                sv[ABAR][s, l] += y[oK + i, l] * y[oA + i, l]
                sv[TBAR][s, l] += y[oK + i, l] * rs[TGT][r, s, l]

    # §7 derivatives
    for r in range(R):
        for s in range(S):
            for l in range(L):
                i = r * S + s
                arr = y[oX + i, l] / sp[_TAU_T, l]
                surv = 1.0 - sp[_ELL_F, l] * (1.0 - rs[M_][r, s, l])
                exit_rate = sp[_DELTA, l] + sp[_DELTA_X, l] * max(0.0, -rs[PI][r, s, l])
                dy[oK + i, l] = (rs[INV][r, s, l] - exit_rate * y[oK + i, l] - rs[TOUT][r, s, l]
                                 + surv * arr)
            for l in range(L):
                i = r * S + s
                keep = 1.0 - sp[_ELL_R, l]
                dy[oX + i, l] = keep * rs[TIN][r, s, l] - y[oX + i, l] / sp[_TAU_T, l]
                dy[oXA + i, l] = keep * rs[TINA][r, s, l] - y[oXA + i, l] / sp[_TAU_T, l]
            for l in range(L):
                i = r * S + s
                A = y[oA + i, l]
                arr, arrA = y[oX + i, l] / sp[_TAU_T, l], y[oXA + i, l] / sp[_TAU_T, l]
                surv = 1.0 - sp[_ELL_F, l] * (1.0 - rs[M_][r, s, l])
                # GTM-2 (weight ω_F): R&D speeds the catch-up instead of adding growth of its own
                wF, wN = sp[_OMEGA_F, l], sp[_OMEGA_N, l]
                hr = y[oH + r, l] / lv[HMAX][l]
                # the catch-up: each province's own gap to its target (GTM-1), or with weight
                # ω_N (GTM-2) the nation's relative gap, which keeps the provinces' relative TFP
                gap = rs[TGT][r, s, l] - A
                if wN != 0.0:
                    gap = ((1.0 - wN) * gap
                           + wN * A * (sv[TBAR][s, l] - sv[ABAR][s, l]) / sv[ABAR][s, l])
                dy[oA + i, l] = (A * (sp[_G0_TFP, l] + sp[_CHI, l] * rs[RD][r, s, l] * (1.0 - wF))
                                 + (sp[_NU0, l] * hr + wF * sp[_CHI, l] * rs[RD][r, s, l]) * gap
                                 + rs[M_][r, s, l] * surv * (arrA - A * arr)
                                 / max(y[oK + i, l], sp[_K_EPS, l]))
        for l in range(L):
            lv[LEARN][l] = 0.0
        for s in range(S):
            for l in range(L):
                lv[LEARN][l] += tp[_OMEGA, s, l] * rs[EE][r, s, l]
        for l in range(L):
            Lf, w = y[oLf + r, l], y[ow + r, l]
            # GTM-2 (weight ω_P): each province's own population path d_r on top of the nation's
            rate = sp[_N, l] + sp[_N_P, l]
            rate = rate if sp[_OMEGA_P, l] == 0.0 else rate + sp[_OMEGA_P, l] * trend[r, l]
            dy[oLf + r, l] = rate * Lf + (rv[MIGIN][r, l] - rv[MIGOUT][r, l])
            dw = sp[_PHI_W, l] * w * (rv[SUMDD][r, l] / Lf - sp[_E_STAR, l])
            dy[ow + r, l] = 0.0 if (w <= wmin[r, l] and dw < 0.0) else dw
        for l in range(L):
            dy[oH + r, l] = (sp[_GAMMA_H, l] * (sp[_H_BAR, l] - y[oH + r, l])
                             + sp[_ELL_H, l] * lv[LEARN][l] / y[oLf + r, l])
            dy[oI + r, l] = (sp[_IOTA, l] * rv[YR][r, l] - rv[FSUB][r, l] + rv[AIDIN][r, l]
                             - rv[AIDOUT][r, l] - sp[_DELTA_I, l] * y[oI + r, l])
    for s in range(S):
        for l in range(L):
            dy[op + s, l] = (sp[_PHI_P, l] * y[op + s, l]
                             * (sv[DEM][s, l] / sv[QQ][s, l] - sp[_U_STAR, l]))
            dy[oF + s, l] = sp[_G0_TFP, l] * y[oF + s, l]


def _scratch(R: int, S: int, k: int, L: int) -> tuple:
    """A group's scratch: tuples of separate per-quantity arrays (see LANE_JIT). Made here
    and passed in, so that each is an argument of the compiled entry point (`noalias` for
    LLVM) and no compiled constructor is needed."""
    return (tuple(np.empty((NRS, R, S, L))), tuple(np.empty((NRV, R, L))), tuple(np.empty((NSV, S, L))),
            np.empty((k, S, L)), tuple(np.empty((NLV, L))))


def _work(inputs: Inputs, NY: int, L: int, rk4: bool) -> tuple:
    """What a group's advance needs besides its state: the scratch, one derivative per
    integrator stage and the trial state."""
    R, k = inputs.recv.shape
    S = inputs.D0.shape[1]
    return _scratch(R, S, k, L), np.empty((4 if rk4 else 1, NY, L)), np.empty((NY, L))


@njit(**JIT)
def _group_flags(W, psi):
    """What a group's lanes need: for each candidate pair, 0 if W = 0 in every tier of every
    lane, 2 if W = 1 in all of them, 1 otherwise; whether any pair is not 0; whether any lane
    pays pairing aid."""
    R, k, S, L = W.shape
    active = np.zeros((R, k), np.int8)
    relocate, aid = False, False
    for r in range(R):
        for j in range(k):
            some, all_one = False, True
            for s in range(S):
                for l in range(L):
                    some |= W[r, j, s, l] > 0.0
                    all_one &= W[r, j, s, l] == 1.0
            active[r, j] = 2 if all_one else (1 if some else 0)
            relocate |= some
        for l in range(L):
            aid |= psi[r, l] > 0.0
    return active, relocate, aid


@njit(**INLINED)
def _stage_state(y, yt, k, h):
    """The next RK4 stage's state yt = y + h k."""
    for i in range(y.shape[0]):
        for l in range(_lanes(y)):
            yt[i, l] = y[i, l] + h * k[i, l]


@njit(**INLINED)
def _end_step(y, yt, ks, dt, rk4, live, first, k_new, fail_step, fail_index):
    """The step's new state from its stages' derivatives into y, for the live lanes; a lane
    whose new state y_k has a negative or non-finite stock records k and the stock's index
    instead and is frozen from then on."""
    NY, L = y.shape[0], _lanes(y)
    if rk4:
        for i in range(NY):
            for l in range(L):
                yt[i, l] = y[i, l] + dt / 6.0 * (ks[0, i, l] + 2.0 * ks[1, i, l] + 2.0 * ks[2, i, l]
                                                 + ks[3, i, l])
    else:
        for i in range(NY):
            for l in range(L):
                yt[i, l] = y[i, l] + dt * ks[0, i, l]
    for l in range(L):
        first[l] = NY
    for i in range(NY - 1, -1, -1):  # backwards: the lowest bad index wins
        for l in range(L):
            v = yt[i, l]
            first[l] = i if not (v >= 0.0 and v != np.inf) else first[l]
    for l in range(L):
        if live[l] and first[l] < NY:
            fail_step[l] = k_new
            fail_index[l] = first[l]
            live[l] = False
    for i in range(NY):
        for l in range(L):
            y[i, l] = yt[i, l] if live[l] else y[i, l]


@njit(**LANE_JIT)
def _advance_group(y, k0, nsteps, dt, rk4, inp, decision, fail_step, fail_index, work):
    """Advance the live lanes of one group by nsteps steps (see _end_step); `work` is
    `_work`'s. The Python loop's entry point (plugin policies, events), compiled lazily."""
    scratch, ks, yt = work
    L = _lanes(y)
    R, S = inp.wmin.shape[0], inp.D0.shape[0]
    flags = _group_flags(decision[0], decision[2])
    live = np.empty(L, np.bool_)
    for l in range(L):
        live[l] = fail_step[l] < 0
    stages = 4 if rk4 else 1
    first = np.empty(L, np.int64)
    for step in range(nsteps):
        if not live.any():
            return
        for stage in range(stages):  # one call site of the evaluation
            k = ks[stage]
            _evaluate(y if stage == 0 else yt, R, S, inp, decision, flags, scratch, k)
            if stage < stages - 1:
                _stage_state(y, yt, k, 0.5 * dt if stage < 2 else dt)
        _end_step(y, yt, ks, dt, rk4, live, first, k0 + step + 1, fail_step, fail_index)


@njit(**LANE_JIT)
def _observe_group(y, inp, decision, out, dy, scratch):
    """Every §10 quantity of one group's lanes into out = (ors, orr, ors_, o0) and, unless dy
    has no rows, the derivatives of §7 into dy. The Python loop's entry point, compiled lazily."""
    R, S = inp.wmin.shape[0], inp.D0.shape[0]
    _evaluate(y, R, S, inp, decision, _group_flags(decision[0], decision[2]), scratch, dy)
    _observation(y, R, S, scratch, out)


@njit(**INLINED)
def _observation(y, R, S, scratch, out):
    """Every §10 quantity that is not a state (see gsim.integrate), from the state y and the
    scratch of its evaluation, into out = (ors, orr, ors_, o0)."""
    L = _lanes(y)
    rs, rv, sv, hbuf, lv = scratch
    ors, orr, ors_, o0 = out
    oLf, ow, op = stock_offset(_LF, R, S), stock_offset(_W, R, S), stock_offset(_P, R, S)
    for i, a in ((O_OUTPUT, rs[YY]), (O_EMPLOYMENT, rs[EE]), (O_PROFIT, rs[PI]), (O_READY, rs[M_]),
                 (O_TOUT, rs[TOUT]), (O_TIN, rs[TIN])):
        for r in range(R):  # element by element, like every copy below (see _decide)
            for s in range(S):
                for l in range(L):
                    ors[i, r, s, l] = a[r, s, l]
    G, Lsum = np.zeros(L), np.zeros(L)
    for r in range(R):
        for l in range(L):
            G[l] += rv[GDP][r, l]
            Lsum[l] += y[oLf + r, l]
    theil, rd, weighted = np.zeros(L), np.zeros(L), np.zeros(L)
    ladder = np.empty(L)
    for r in range(R):
        for l in range(L):
            ladder[l] = 0.0
        for s in range(S):
            for l in range(L):
                value = y[op + s, l] * rs[YY][r, s, l]
                ladder[l] += (s + 1) * value
                rd[l] += rs[RD][r, s, l] * value
        for l in range(L):
            gdp = rv[GDP][r, l]
            orr[O_GDP, r, l] = gdp
            orr[O_REAL, r, l] = rv[YR][r, l]
            orr[O_SUI, r, l] = ladder[l] / gdp
            weighted[l] += ladder[l]
            share = gdp / G[l]
            term = share * vmath.log(share / (y[oLf + r, l] / Lsum[l]))
            theil[l] += term if gdp > 0.0 else 0.0
    revenue, surplus = np.empty(L), np.empty(L)
    for s in range(S):
        for l in range(L):
            revenue[l] = 0.0
            surplus[l] = 0.0
        for r in range(R):
            for l in range(L):
                value = y[op + s, l] * rs[YY][r, s, l]
                revenue[l] += value
                surplus[l] += value - y[ow + r, l] * rs[EE][r, s, l]
        for l in range(L):
            ors_[O_UTIL, s, l] = sv[UTIL][s, l]
            ors_[O_OVER, s, l] = 1.0 - sv[UTIL][s, l]
            ors_[O_MARGIN, s, l] = surplus[l] / revenue[l] if revenue[l] != 0.0 else 0.0
    for l in range(L):
        real = 0.0
        for r in range(R):
            real += rv[YR][r, l]
        o0[O_REAL_GDP, l] = real
        o0[O_THEIL, l] = theil[l]
        o0[O_SUI_NAT, l] = weighted[l] / G[l]
        o0[O_RD, l] = rd[l] / G[l]
        o0[O_VOLUME, l] = lv[VOLUME][l]
        o0[O_FAILED, l] = lv[FAILED][l] / lv[VOLUME][l] if lv[VOLUME][l] > 0.0 else 0.0
        o0[O_LOST, l] = lv[LOST][l]


# --- the run loop, with the built-in policies (spec §8) compiled into it ------------------
# Compiled twins of gsim.policies.builtin: the same comparisons on the same observed values,
# so the same decisions bit for bit (tests/test_kernel.py compares them). With them a
# group's whole horizon is one compiled call (`Kernels.run`).
NO_TRANSFER, MARKET, SUBSIDY_RACE, GRADIENT = range(4)


@njit(**JIT)
def _median_lanes(x):
    """Median over the first axis of x (R, L) for each lane, as numpy.median computes it
    (the mean of the middle two for even R; NaN if any value is NaN). An insertion sort of
    each lane's column: the same sorted values as np.sort, without compiling numba's sort."""
    R, L = x.shape
    med = np.empty(L)
    col = np.empty(R)
    for l in range(L):
        nan = False
        for r in range(R):
            v = x[r, l]
            nan |= v != v
            i = r
            while i > 0 and col[i - 1] > v:
                col[i] = col[i - 1]
                i -= 1
            col[i] = v
        if nan:
            med[l] = np.nan
            continue
        med[l] = col[R // 2] if R % 2 else (col[R // 2 - 1] + col[R // 2]) / 2.0
    return med


@njit(**JIT)
def _decide(code, par, tiers, y, out, recv, decision):
    """Built-in policy `code` (parameters par (NPAR, L), one column per lane, so the lanes
    of one call may evaluate different settings; tiers, a mask of the tiers subsidy_race
    subsidises) decides from a group's state y and observation out, into the decision
    arrays in place; returns whether any value changed."""
    ors, orr, ors_, o0 = out
    W, z, psi = decision
    R, k, S, L = W.shape
    oLf = stock_offset(_LF, R, S)
    gpl = np.empty((R, L))  # gdp per labour-force member
    for r in range(R):
        for l in range(L):
            gpl[r, l] = orr[O_GDP, r, l] / y[oLf + r, l]
    new_W = np.zeros((R, k, S, L))
    new_z = np.zeros((R, S, L))
    new_psi = np.zeros((R, L))
    if code == GRADIENT:  # see policies.builtin._gradient, conditions (i)-(iv)
        ratio, ready, room, aid = par[0], par[1], par[2], par[3]
        frontier = np.full((R, L), -1)
        for r in range(R):
            for s in range(S):
                for l in range(L):
                    frontier[r, l] = s if ors[O_READY, r, s, l] >= ready[l] else frontier[r, l]
        for r in range(R):
            for j in range(k):
                q = recv[r, j]
                for s in range(S):
                    for l in range(L):
                        allow = (gpl[r, l] >= ratio[l] * gpl[q, l] and s < frontier[r, l]
                                 and ors[O_READY, q, s, l] >= ready[l] and ors_[O_UTIL, s, l] >= room[l])
                        new_W[r, j, s, l] = 1.0 if allow else 0.0
        for r in range(R):
            for l in range(L):
                new_psi[r, l] = aid[l]
    elif code == MARKET or code == SUBSIDY_RACE:
        new_W[...] = 1.0
        if code == SUBSIDY_RACE:  # regions strictly below the median subsidise the tiers
            med = _median_lanes(gpl)
            for r in range(R):
                for s in range(S):
                    for l in range(L):
                        new_z[r, s, l] = par[0, l] if (tiers[s] and gpl[r, l] < med[l]) else 0.0
    # element by element: whole-array comparisons would compile numba's broadcasting and the
    # string formatting of its shape errors into the run loop
    changed = False
    for r in range(R):
        for l in range(L):
            changed |= psi[r, l] != new_psi[r, l]
            psi[r, l] = new_psi[r, l]
        for s in range(S):
            for l in range(L):
                changed |= z[r, s, l] != new_z[r, s, l]
                z[r, s, l] = new_z[r, s, l]
        for j in range(k):
            for s in range(S):
                for l in range(L):
                    changed |= W[r, j, s, l] != new_W[r, j, s, l]
                    W[r, j, s, l] = new_W[r, j, s, l]
    return changed


@njit(**INLINED)
def _save(saved, t, y, out):
    """saved[0][t] = y and saved[1 + i][t] = out[i], element by element (see _decide)."""
    ys, ors, orr, ors_, o0 = saved[0][t], saved[1][t], saved[2][t], saved[3][t], saved[4][t]
    for i in range(y.shape[0]):
        for l in range(y.shape[1]):
            ys[i, l] = y[i, l]
    for i in range(o0.shape[0]):
        for l in range(o0.shape[1]):
            o0[i, l] = out[3][i, l]
    for i in range(orr.shape[0]):
        for r in range(orr.shape[1]):
            for l in range(orr.shape[2]):
                orr[i, r, l] = out[1][i, r, l]
    for i in range(ors_.shape[0]):
        for s in range(ors_.shape[1]):
            for l in range(ors_.shape[2]):
                ors_[i, s, l] = out[2][i, s, l]
    for i in range(ors.shape[0]):
        for r in range(ors.shape[1]):
            for s in range(ors.shape[2]):
                for l in range(ors.shape[3]):
                    ors[i, r, s, l] = out[0][i, r, s, l]


@njit(**LANE_JIT)
def _run_group(y, inp, decision, policy, steps, every, save_at, dt, rk4, saved, fail_step, fail_index, work):
    """One group from step 0 through the sorted event steps `steps`: advance to each, and at
    a decision step (k % every == 0) observe and let the built-in policy decide; at a save
    step (save_at >= 0) store the state and the observation of the decision in force. The
    same sequence as gsim.integrate.run_batch's Python loop, in one compiled call; `work` is
    `_work`'s.

    Every evaluation, an integrator stage or an observation, is made from one call site. An
    observation followed by a step also takes the derivatives at its state: the same
    evaluation as the step's first stage, under the same decision, which then reuses them
    (the derivatives of §7 write no quantity that the observation reads)."""
    code, par, tiers = policy
    scratch, ks, yt = work
    L = _lanes(y)
    R, S = inp.wmin.shape[0], inp.D0.shape[0]
    out = (np.empty(saved[1].shape[1:]), np.empty(saved[2].shape[1:]), np.empty(saved[3].shape[1:]),
           np.empty(saved[4].shape[1:]))
    no_dy = np.empty((0, L))
    flags = _group_flags(decision[0], decision[2])
    live = np.empty(L, np.bool_)
    for l in range(L):
        live[l] = fail_step[l] < 0
    stages = 4 if rk4 else 1
    first = np.empty(L, np.int64)
    k_now, stage, e = 0, 0, 0
    decide, t = False, -1
    begun = False  # whether event e's decision and save are set
    fresh = False  # whether ks[0] holds the derivatives at y under the decision in force
    while e < steps.size:
        k = steps[e]
        if not begun:
            decide, t, begun = k % every == 0, save_at[e], True
        if k_now < k and stage == 0 and not live.any():
            k_now = k  # every lane failed: nothing moves any more
        stepping = k_now < k
        if not (stepping or decide or t >= 0):
            e, begun = e + 1, False
            continue
        if not (stepping and stage == 0 and fresh):
            _evaluate(y if stage == 0 else yt, R, S, inp, decision, flags, scratch,
                      ks[stage] if stepping or e + 1 < steps.size else no_dy)
        if stepping:  # a stage of the step from k_now
            if stage < stages - 1:
                _stage_state(y, yt, ks[stage], 0.5 * dt if stage < 2 else dt)
                stage += 1
            else:
                _end_step(y, yt, ks, dt, rk4, live, first, k_now + 1, fail_step, fail_index)
                stage, k_now, fresh = 0, k_now + 1, False
            continue
        fresh = e + 1 < steps.size
        _observation(y, R, S, scratch, out)
        if decide:
            decide = False
            if _decide(code, par, tiers, y, out, inp.recv, decision):
                flags, fresh = _group_flags(decision[0], decision[2]), False
                continue  # a new decision: observe again for the save
        if t >= 0:
            _save(saved, t, y, out)
        e, begun = e + 1, False


def _compile(fn, scope: dict, suffix: str, options: dict):
    """Compile a copy of `fn` that looks its globals up in `scope`, under its own cache name."""
    py = getattr(fn, "py_func", fn)
    copy = types.FunctionType(py.__code__, scope, py.__name__ + suffix, py.__defaults__)
    copy.__qualname__ = py.__qualname__ + suffix
    return njit(**options)(copy)


def _source_digest() -> str:
    """A digest of every source the compiled code is built from. numba's on-disk cache checks
    only the stamp (modification time and size) of the file that defines a function, so a
    change to the variable table, the parameters or vmath, which are frozen into the machine
    code, would otherwise load stale code; the digest is part of every cache name instead."""
    h = hashlib.sha256()
    for mod in (sys.modules[__name__], vmath, layout, params):
        h.update(Path(mod.__file__ or "").read_bytes())
    return h.hexdigest()[:10]


# What is compiled, and under which options: copies of these, named with the digest (and,
# per lane width, the width), look their callees up in the scopes below. Compiled helpers
# not listed here are used as they are; define them above this point (the scopes are
# snapshots of the module's globals).
_SHARED = ((_cap, dict(JIT, forceinline=True)), (_group_flags, CALLEE),
           (_median_lanes, CALLEE), (_decide, CALLEE), (_save, INLINED))
_PER_WIDTH = ((_lanes, dict(JIT, forceinline=True)), (_evaluate, dict(LANE_JIT, **CALLEE)), (_stage_state, INLINED),
              (_end_step, INLINED), (_observation, INLINED), (_advance_group, LANE_JIT),
              (_observe_group, LANE_JIT), (_run_group, LANE_JIT))
_DIGEST = _source_digest()
_SHARED_SCOPE = dict(globals())
for _fn, _options in _SHARED:  # callees first
    _SHARED_SCOPE[_fn.py_func.__name__] = _compile(_fn, _SHARED_SCOPE, f"_{_DIGEST}", _options)


def _kernels(lanes: int) -> tuple:
    """(advance, observe, run) group kernels for groups of any width (lanes = 0) or of exactly
    `lanes` lanes. With one lane, a compile-time constant, LLVM drops the lane loops and
    vectorises the tier loops instead: the per-run kernel, from the same source, doing the
    same operations in the same order as every lane of the lane kernel.

    Nothing is compiled here: numba compiles each on its first call (or loads it from the
    cache), so a process that makes single runs only never compiles the wide kernels, and one
    that uses only built-in policies without events only compiles `run`."""
    scope = dict(_SHARED_SCOPE, _FIXED_LANES=lanes)
    suffix = f"_{lanes}lane_{_DIGEST}" if lanes else f"_wide_{_DIGEST}"
    for fn, options in _PER_WIDTH:  # callees first
        scope[fn.py_func.__name__] = _compile(fn, scope, suffix, options)
    return scope["_advance_group"], scope["_observe_group"], scope["_run_group"]


_WIDE, _ONE = _kernels(0), _kernels(1)


def is_compiled(lanes: int, entry: int = 2) -> bool:
    """Whether entry point `entry` (0 advance, 1 observe, 2 run) of the kernels for groups of
    one lane (lanes = 1) or more is compiled in this process or in numba's on-disk cache, so
    that a first call only loads it. (True where numba's cache cannot be inspected.)"""
    disp = (_ONE if lanes == 1 else _WIDE)[entry]
    if disp.overloads:
        return True
    try:
        return bool(disp._cache._cache_file._load_index())
    except Exception:  # numba's cache internals changed: say nothing rather than guess
        return True


def plan_groups(B: int, threads: int = 1) -> tuple[int, int]:
    """(G, L): B runs in G groups of L lanes. One run is one group of one lane (the per-run
    kernel); otherwise L is a multiple of LANES, at most MAX_GROUP unless B needs more, with
    about `threads` groups when there are runs for them, none of them all padding."""
    if B == 1:
        return 1, 1
    G = max(_ceil_div(B, MAX_GROUP), min(threads, _ceil_div(B, LANES)))
    L = _ceil_div(_ceil_div(B, G), LANES) * LANES
    return _ceil_div(B, L), L


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def to_lanes(a: np.ndarray, G: int, L: int) -> np.ndarray:
    """(B, ...) run-major -> (G, ..., L) lane-major; padding lanes repeat the last run.
    With one lane per group this is a view of `a` (a C-contiguous array)."""
    B = a.shape[0]
    if L == 1:
        return np.ascontiguousarray(a).reshape(a.shape + (1,))
    if G * L > B:
        a = np.concatenate([a, np.repeat(a[-1:], G * L - B, axis=0)])
    return np.ascontiguousarray(np.moveaxis(a.reshape((G, L) + a.shape[1:]), 1, -1))


def from_lanes(a: np.ndarray, B: int) -> np.ndarray:
    """(G, ..., L) lane-major -> (B, ...) run-major (padding lanes dropped)."""
    G, L = a.shape[0], a.shape[-1]
    if L == 1:
        return a.reshape(a.shape[:-1])
    return np.moveaxis(a, -1, 1).reshape((G * L,) + a.shape[1:-1])[:B]


_POOL: ThreadPoolExecutor | None = None


def _each_group(fn, G: int, threads: int, args: Callable[[int], tuple]) -> None:
    """fn(*args(g)) for every group g, on `threads` threads (the kernels release the GIL;
    groups never share memory, so the thread count changes no result)."""
    def work(gs):
        for g in gs:
            fn(*args(g))

    if threads <= 1:
        work(range(G))
        return
    global _POOL
    if _POOL is None or _POOL._max_workers < threads:
        _POOL = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="gsim-lanes")
    for f in [_POOL.submit(work, range(t, G, threads)) for t in range(threads)]:
        f.result()


class Kernels:
    """The kernels for one batch, with run-major arguments: the state y (B, NY), the batch's
    `Inputs` and a decision (W, z, psi) with W (B, R, k, S), z (B, R, S), psi (B, R).

    Each call packs its arrays into lanes and unpacks the results. A decision is packed once
    and reused while the same three arrays come back (run_batch passes the same ones until the
    policy changes its decision), so they must not be edited in place. `groups` = (G, L)
    overrides `plan_groups` (tests use it to move runs between lanes).
    """

    def __init__(self, parallel: bool = False, groups: tuple[int, int] | None = None):
        self.parallel, self.groups = parallel, groups
        self._decision: tuple = ()

    def _plan(self, B: int):
        threads = numba.get_num_threads() if self.parallel else 1
        G, L = plan_groups(B, threads) if self.groups is None else self.groups
        return G, L, _ONE if L == 1 else _WIDE, min(threads, G)

    def _lanes_decision(self, decision: tuple, G: int, L: int) -> list[np.ndarray]:
        d = self._decision
        if not (d and all(a is b for a, b in zip(d[0], decision)) and d[1] == (G, L)):
            d = self._decision = (tuple(decision), (G, L), [to_lanes(a, G, L) for a in decision])
        return d[2]

    @staticmethod
    def _group_inputs(inputs: Inputs, G: int, L: int) -> Callable[[int], Inputs]:
        per_run = [to_lanes(a, G, L) for a in inputs[:PER_RUN]]
        shared = inputs[PER_RUN:]
        return lambda g: Inputs(*(a[g] for a in per_run), *shared)

    def advance(self, y, inputs: Inputs, decision, k0: int, nsteps: int, dt: float, rk4: bool,
                fail_step, fail_index) -> None:
        """Advance every live run from step k0 by nsteps; a run that fails records the step k
        whose new state y_k was bad and the index of the bad stock, and is then left alone."""
        B = y.shape[0]
        G, L, (adv, _, _), threads = self._plan(B)
        yl, fs, fi = (to_lanes(a, G, L) for a in (y, fail_step, fail_index))
        inp, dec = self._group_inputs(inputs, G, L), self._lanes_decision(decision, G, L)
        NY = y.shape[1]
        _each_group(adv, G, threads, lambda g: (yl[g], k0, nsteps, dt, rk4, inp(g), tuple(a[g] for a in dec),
                                                fs[g], fi[g], _work(inputs, NY, L, rk4)))
        y[:] = from_lanes(yl, B)
        fail_step[:] = from_lanes(fs, B)
        fail_index[:] = from_lanes(fi, B)

    def observe(self, y, inputs: Inputs, decision, out, dy=None) -> None:
        """The §10 quantities of every run into out = (ors, orr, ors_, o0) (see
        gsim.integrate.Observer) and, with `dy` (like y), the derivatives of spec §7."""
        B = y.shape[0]
        G, L, (_, obs, _), threads = self._plan(B)
        yl = to_lanes(y, G, L)
        inp, dec = self._group_inputs(inputs, G, L), self._lanes_decision(decision, G, L)
        res = [np.empty((G,) + a.shape[1:] + (L,)) for a in out]
        dyl = np.empty((G, y.shape[1] if dy is not None else 0, L))
        R, k = inputs.recv.shape
        S = inputs.D0.shape[1]
        _each_group(obs, G, threads, lambda g: (yl[g], inp(g), tuple(a[g] for a in dec),
                                                tuple(a[g] for a in res), dyl[g], _scratch(R, S, k, L)))
        for a, b in zip((*out, dy), (*res, dyl)):
            if a is not None:
                a[:] = from_lanes(b, B)

    def run(self, y, inputs: Inputs, policy: tuple, steps, every: int, save_at, dt: float, rk4: bool,
            saved: list, fail_step, fail_index) -> None:
        """Every run from step 0 through the event steps `steps` under the built-in policy
        `policy` = (code, parameters, tier mask), deciding every `every` steps, into `saved`
        (y and the four observation arrays, each (B, T, ...)) at save_at[e] >= 0; see
        `_run_group`. y ends in the last state. The parameters are (NPAR,) for every run or
        (B, NPAR), a row per run: one call then evaluates many settings of the policy."""
        B = y.shape[0]
        G, L, (_, _, run), threads = self._plan(B)
        code, par, tiers = policy
        par = np.array(np.broadcast_to(np.asarray(par, np.float64), (B, np.shape(par)[-1])))
        parl = to_lanes(par, G, L)  # (G, NPAR, L)
        R, k = inputs.recv.shape
        S = inputs.D0.shape[1]
        yl, fs, fi = (to_lanes(a, G, L) for a in (y, fail_step, fail_index))
        inp = self._group_inputs(inputs, G, L)
        dec = [np.zeros((G,) + shape + (L,)) for shape in ((R, k, S), (R, S), (R,))]
        res = [np.empty((G,) + a.shape[1:] + (L,)) for a in saved]
        steps, save_at = np.asarray(steps, np.int64), np.asarray(save_at, np.int64)
        _each_group(run, G, threads, lambda g: (yl[g], inp(g), tuple(a[g] for a in dec), (code, parl[g], tiers),
                                                steps, every,
                                                save_at, dt, rk4, tuple(a[g] for a in res), fs[g], fi[g],
                                                _work(inputs, y.shape[1], L, rk4)))
        for a, b in zip((y, *saved, fail_step, fail_index), (yl, *res, fs, fi)):
            a[:] = from_lanes(b, B)
