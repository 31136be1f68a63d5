"""Transfer policies: the contract every policy (built-in or plugin) follows."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping

import numpy as np

from gsim.model.inputs import ModelParams
from gsim.model.layout import VARIABLES
from gsim.model.pairs import Pairs, candidate_pairs
from gsim.params import SCALAR_DEFAULTS, TIER_DEFAULTS, ParamSpec


class PolicyError(RuntimeError):
    """A policy raised or returned invalid values; the message names plugin and policy."""


@dataclass(frozen=True)
class PolicyContext:
    """What a policy sees at a decision time, for a batch of B runs.

    ``ctx["readiness"]`` etc. give any stock or auxiliary by its output name, with a leading
    run axis: (B, R, S), (B, R) or (B, S). Receivers of sender r are ``pairs.recv[r, :]``.
    ``ctx.model`` gives the run's model parameters (spec §2) by name, read-only: (B,) for a
    scalar such as ``ctx.model["lambda_T"]``, (B, S) for a per-tier one such as ``"alpha"``
    (in a sweep they differ between runs). A numeric policy parameter may also be given per
    run, as a (B,) array in ``ctx.params`` (`gsim optimize` evaluates many settings in one
    batch); the built-in policies broadcast it along the run axis.
    """

    t: float
    params: Mapping[str, Any]
    tiers: tuple[str, ...]
    regions: tuple[str, ...]
    pairs: Pairs
    values: Mapping[str, np.ndarray]
    model: Mapping[str, np.ndarray] = field(default_factory=dict)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.values[name]

    @property
    def n_runs(self) -> int:
        return next(iter(self.values.values())).shape[0]

    def run(self, b: int) -> PolicyContext:
        """The context of run b alone (a batch of one), e.g. to find which run a fault is in."""
        one = slice(b, b + 1)
        model = {k: v[one] for k, v in self.model.items()}
        B = self.n_runs
        params = {k: v[one] if isinstance(v, np.ndarray) and v.shape == (B,) else v for k, v in self.params.items()}
        return replace(self, values={k: v[one] for k, v in self.values.items()}, model=model, params=params)


Decision = tuple[np.ndarray, np.ndarray, np.ndarray]


@dataclass(frozen=True)
class Policy:
    """A transfer policy.

    decide(ctx) returns (W, z, psi): W of shape (B, R, k, S) in [0, 1] on the candidate
    pairs (W[b, r, j, s] for receiver pairs.recv[r, j]), subsidies z (B, R, S) >= 0 in
    profit-rate units, and pairing aid psi (B, R) >= 0. ``defaults`` are the policy's own
    parameters; a scenario may override them under ``[policies.NAME]``. ``schema`` may give
    the bounds, unit and meaning of numeric parameters (`gsim.params.ParamSpec`, e.g.
    ``spec(0, 1, True, True, "1", "readiness needed")``); a scenario value outside them is
    rejected when the scenario is loaded. Every parameter's type is that of its default.

    ``compiled`` is for gsim's built-in policies only: given the resolved parameters and the
    scenario's tiers, their compiled twin in the run loop (`gsim.model.kernel`) as (code,
    parameters, tier mask), so that a batch's whole horizon runs in one compiled call. The
    parameters are (NPAR,), or (B, NPAR) when parameters are given per run ((B,) arrays).
    """

    name: str
    decide: Callable[[PolicyContext], Decision]
    defaults: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""
    plugin: str = ""
    schema: Mapping[str, ParamSpec] = field(default_factory=dict)
    compiled: Callable[[Mapping[str, Any], tuple[str, ...]], tuple[int, np.ndarray, np.ndarray]] | None = None


def zero_decision(B: int, pairs: Pairs, S: int) -> Decision:
    R, k = pairs.recv.shape
    return np.zeros((B, R, k, S)), np.zeros((B, R, S)), np.zeros((B, R))


_PARTS = (("W", "transfer weights W"), ("z", "subsidy z"), ("psi", "pairing aid psi"))


def check_decision(policy: Policy, decision: Decision, B: int, pairs: Pairs, S: int, t: float):
    """Shapes, dtype, finiteness and ranges of a decision; PolicyError naming the policy if bad.

    Returns (W, z, psi) as C-contiguous float64 arrays (the input arrays themselves when they
    already are, so a NumPy policy costs no copy).
    """
    R, k = pairs.recv.shape
    where = f"policy {policy.name!r} (plugin {policy.plugin or '?'}) at t={t:g}"
    if not isinstance(decision, (tuple, list)) or len(decision) != 3:
        raise PolicyError(
            f"{where}: must return a tuple (W, z, psi), got {type(decision).__name__}"
        )
    out = []
    shapes = ((B, R, k, S), (B, R, S), (B, R))
    for (name, label), arr, shape in zip(_PARTS, decision, shapes):
        arr = np.asarray(arr)
        if arr.shape != shape:
            raise PolicyError(f"{where}: {label} has shape {arr.shape}, expected {shape}")
        if arr.dtype != bool and not (
            np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)
        ):
            raise PolicyError(f"{where}: {label} has dtype {arr.dtype}, expected real numbers")
        arr = np.ascontiguousarray(arr, dtype=np.float64)
        if not np.isfinite(arr).all():
            n_bad = int((~np.isfinite(arr)).sum())
            raise PolicyError(f"{where}: {label} has {n_bad} non-finite value(s) (NaN or inf)")
        lo = arr.min(initial=0.0)
        if lo < 0.0:
            raise PolicyError(f"{where}: {label} has negative values (min {lo:g}); must be >= 0")
        if name == "W":
            hi = arr.max(initial=0.0)
            if hi > 1.0:
                raise PolicyError(f"{where}: {label} has values above 1 (max {hi:g}); must be in [0, 1]")
        out.append(arr)
    return tuple(out)


def call_policy(policy: Policy, ctx: PolicyContext) -> Decision:
    """Consult `policy` on `ctx` and check the decision; any failure is a PolicyError.

    The error names the plugin, the policy, the time and what was wrong.
    """
    try:
        decision = policy.decide(ctx)
    except PolicyError:
        raise
    except Exception as exc:  # a plugin's bug must not look like a gsim crash
        raise PolicyError(
            f"policy {policy.name!r} (plugin {policy.plugin or '?'}) raised at t={ctx.t:g}: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    return check_decision(policy, decision, ctx.n_runs, ctx.pairs, len(ctx.tiers), ctx.t)


# --- the probe: a small synthetic context every policy is tried on when registered -------
PROBE_RUNS = 2
PROBE_REGIONS = ("probe_a", "probe_b", "probe_c")
PROBE_TIERS = ("labor", "resource", "capital", "technology")
_PROBE_LATLON = ((39.9, 116.4), (30.6, 104.1), (22.8, 108.3), (45.8, 126.5))
PROBE_NEAREST = 2  # the second probe: 4 regions, each with its 2 nearest receivers only


def probe_context(params: Mapping[str, Any], tiers: tuple[str, ...] = PROBE_TIERS,
                  nearest: int | None = None) -> PolicyContext:
    """A synthetic context with plausible values of every stock and auxiliary (the same names
    and shapes as in a real run): B=2 runs, R=3 regions and all pairs, or with `nearest`, 4
    regions and that many receivers per sender (so k < R - 1, as with ``pairs = {nearest}``)."""
    regions = PROBE_REGIONS if nearest is None else (*PROBE_REGIONS, "probe_d")
    B, R, S = PROBE_RUNS, len(regions), len(tiers)
    rng = np.random.default_rng(20230101)
    lat, lon = np.array(_PROBE_LATLON[:R]).T
    pairs = candidate_pairs(lat, lon, nearest)
    shape = {"rs": (B, R, S), "r": (B, R), "s": (B, S), "0": (B,)}
    typical = {  # name -> (dims, low, high)
        "capital": ("rs", 100.0, 3000.0), "technology": ("rs", 0.5, 2.0),
        "pipeline": ("rs", 0.0, 10.0), "pipeline_technology": ("rs", 0.0, 10.0),
        "labor_force": ("r", 5.0, 60.0), "wage": ("r", 50.0, 150.0), "skills": ("r", 8.0, 13.0),
        "infrastructure": ("r", 500.0, 5000.0), "price": ("s", 0.8, 1.2),
        "output": ("rs", 50.0, 2000.0), "employment": ("rs", 1.0, 20.0),
        "profit_rate": ("rs", -0.05, 0.2), "readiness": ("rs", 0.2, 0.95),
        "transfer_out": ("rs", 0.0, 5.0), "transfer_in": ("rs", 0.0, 5.0),
        "gdp": ("r", 500.0, 10000.0), "real_output": ("r", 500.0, 10000.0), "sui": ("r", 1.5, 3.0),
        "utilization": ("s", 0.6, 1.0), "margin": ("s", 0.1, 0.5),
        "real_gdp": ("0", 5e3, 2e4), "theil": ("0", 0.0, 0.2), "sui_national": ("0", 1.5, 3.0),
        "rd_share": ("0", 0.0, 0.05), "transfer_volume": ("0", 0.0, 20.0),
        "failed_transfer_share": ("0", 0.0, 0.5), "lost_capital": ("0", 0.0, 5.0),
    }
    values: dict[str, np.ndarray] = {}
    for n in VARIABLES:
        if n == "overcapacity":
            continue
        dims, lo, hi = typical.get(n, ("0", 0.0, 1.0))
        values[n] = rng.uniform(lo, hi, shape[dims])
    values["overcapacity"] = 1.0 - values["utilization"]
    return PolicyContext(2023.0, dict(params), tuple(tiers), regions, pairs, values,
                         probe_model_params(B, len(tiers)))


def probe_model_params(B: int, S: int) -> ModelParams:
    """The default model parameters for B runs of S tiers (tiers beyond the defaults' four
    repeat the last default)."""
    sp = np.tile(np.array(list(SCALAR_DEFAULTS.values())), (B, 1))
    tp = np.array([[d[min(s, len(d) - 1)] for s in range(S)] for d in TIER_DEFAULTS.values()])
    return ModelParams(sp, np.tile(tp, (B, 1, 1)))


def probe_policy(policy: Policy) -> None:
    """Call `policy` with its defaults on both probe contexts (all pairs; nearest k); a
    PolicyError says which one failed."""
    for nearest in (None, PROBE_NEAREST):
        ctx = probe_context(policy.defaults, nearest=nearest)
        try:
            call_policy(policy, ctx)
        except PolicyError as e:
            pairs = "all pairs" if nearest is None else f"{nearest} nearest receivers per sender"
            raise PolicyError(f"{e} (probe call at registration, {PROBE_RUNS} runs, "
                              f"{len(ctx.regions)} regions, {pairs})") from e.__cause__


# --- compiled (@njit) policies ------------------------------------------------------------
def _is_numba_dispatcher(fn: Any) -> bool:
    return hasattr(fn, "py_func") and hasattr(fn, "signatures")


def compiled_policy(
    name: str,
    kernel: Callable[..., None],
    *,
    inputs: tuple[str, ...],
    params: tuple[str, ...] = (),
    defaults: Mapping[str, float] | None = None,
    description: str = "",
) -> Policy:
    """A Policy whose decision is computed by an ``@njit`` function.

    ``kernel(t, recv, dist, par, W, z, psi, *arrays)`` fills the zero-initialised float64
    arrays W (B, R, k, S), z (B, R, S) and psi (B, R) in place; ``recv``/``dist`` are the
    candidate pairs (R, k), ``par`` a float64 array of the policy parameters named in
    ``params`` (in that order), and ``arrays`` the context values named in ``inputs`` (in that
    order, each with the run axis first, as float64). Numba compiles it at the probe call
    when the policy is registered, so a kernel that does not compile fails early.
    """
    names = tuple(inputs)
    pnames = tuple(params)

    def decide(ctx: PolicyContext) -> Decision:
        W, z, psi = zero_decision(ctx.n_runs, ctx.pairs, len(ctx.tiers))
        par = np.array([float(ctx.params[p]) for p in pnames], dtype=np.float64)
        arrays = [np.ascontiguousarray(ctx[n], dtype=np.float64) for n in names]
        kernel(float(ctx.t), ctx.pairs.recv, ctx.pairs.dist, par, W, z, psi, *arrays)
        return W, z, psi

    decide.__name__ = getattr(kernel, "__name__", "compiled_policy")
    decide.__wrapped__ = kernel  # type: ignore[attr-defined]
    return Policy(name, decide, dict(defaults or {}), description)
