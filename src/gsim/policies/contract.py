"""The policy contract: context, policy, state, decision checks (re-exported by `gsim.policies`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from gsim.model.layout import VARIABLES
from gsim.model.pairs import Pairs
from gsim.params import ParamSpec


class PolicyError(RuntimeError):
    """A policy raised or returned invalid values; the message names plugin and policy."""


STATE_DIMS = ("region", "tier")  # a state array's dimensions after the run axis, in this order


@dataclass(frozen=True)
class StateVar:
    """One named per-run state array of a policy: its dimensions after the run axis (a
    subsequence of ``("region", "tier")``), units, value at t0 and meaning."""

    dims: tuple[str, ...] = ()
    units: str = "1"
    initial: float = 0.0
    long_name: str = ""

    def shape(self, B: int, R: int, S: int) -> tuple[int, ...]:
        size = {"region": R, "tier": S}
        return (B,) + tuple(size[d] for d in self.dims)


def state_var(v: Any) -> StateVar:
    """A state declaration as a StateVar: a StateVar, or its dims (a tuple, list or one name)."""
    if isinstance(v, StateVar):
        return v
    if isinstance(v, str):
        return StateVar((v,))
    return StateVar(tuple(v))


class State(Mapping[str, np.ndarray]):
    """A policy's state arrays by name (run axis first). ``state[name]`` is the array itself,
    to update in place (``state["spent"] += x`` or ``state["spent"][:] = x``); assigning writes
    into it, so the arrays a run's batch holds are always the ones updated."""

    def __init__(self, arrays: Mapping[str, np.ndarray]):
        self.arrays = dict(arrays)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.arrays[name]

    def __setitem__(self, name: str, value: Any) -> None:
        self.arrays[name][...] = value

    def __iter__(self) -> Iterator[str]:
        return iter(self.arrays)

    def __len__(self) -> int:
        return len(self.arrays)

    def run(self, b: int) -> State:
        """Run b's arrays as views (writes reach the batch's arrays)."""
        return State({k: v[b:b + 1] for k, v in self.arrays.items()})

    def copy(self) -> dict[str, np.ndarray]:
        return {k: v.copy() for k, v in self.arrays.items()}

    def restore(self, saved: Mapping[str, np.ndarray], rows: Any = slice(None)) -> None:
        for k, v in saved.items():
            self.arrays[k][rows] = v[rows]


@dataclass(frozen=True)
class PolicyContext:
    """What a policy sees at a decision time, for a batch of B runs.

    ``ctx["readiness"]`` etc. give any stock or auxiliary by its output name, with a leading
    run axis: (B, R, S), (B, R) or (B, S); also the plugin indicators the policy reads
    (`Policy.indicators`), computed from the same observed values. Receivers of sender r are
    ``pairs.recv[r, :]``. ``ctx.model`` gives the run's model parameters (spec §2) by name,
    read-only: (B,) for a scalar such as ``ctx.model["lambda_T"]``, (B, S) for a per-tier one
    such as ``"alpha"`` (in a sweep they differ between runs). A numeric policy parameter may
    also be given per run, as a (B,) array in ``ctx.params`` (`gsim optimize` evaluates many
    settings in one batch); the built-in policies broadcast it along the run axis.
    ``ctx.state`` holds the policy's own state arrays (`Policy.state`), ``ctx.region_data``
    the scenario's regions table by column: (R,) columns, and (B, R) for the model's region
    inputs, which a sweep may vary by run. ``ctx.period`` is the time to the next decision.
    """

    t: float
    params: Mapping[str, Any]
    tiers: tuple[str, ...]
    regions: tuple[str, ...]
    pairs: Pairs
    values: Mapping[str, np.ndarray]
    model: Mapping[str, np.ndarray] = field(default_factory=dict)
    state: State = field(default_factory=lambda: State({}))
    region_data: Mapping[str, np.ndarray] = field(default_factory=dict)
    period: float = 1.0  # years from this decision to the next (the scenario's policy period)

    def __post_init__(self) -> None:
        # read-only views: a policy writing into what it observes would change the saved outputs
        for name in ("values", "model", "region_data"):
            object.__setattr__(self, name, {k: _read_only(v) for k, v in getattr(self, name).items()})

    def __getitem__(self, name: str) -> np.ndarray:
        return self.values[name]

    @property
    def n_runs(self) -> int:
        return next(iter(self.values.values())).shape[0]

    def run(self, b: int) -> PolicyContext:
        """The context of run b alone (a batch of one), e.g. to find which run a fault is in;
        its state arrays are views into the batch's."""
        one = slice(b, b + 1)
        model = {k: v[one] for k, v in self.model.items()}
        B = self.n_runs
        params = {k: v[one] if isinstance(v, np.ndarray) and v.shape == (B,) else v for k, v in self.params.items()}
        regions = {k: v[one] if np.ndim(v) == 2 else v for k, v in self.region_data.items()}
        return replace(self, values={k: v[one] for k, v in self.values.items()}, model=model, params=params,
                       state=self.state.run(b), region_data=regions)


def _read_only(a: Any) -> Any:
    """A read-only view of an array (anything else as it is)."""
    if isinstance(a, np.ndarray) and a.flags.writeable:
        a = a.view()
        a.flags.writeable = False
    return a


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

    ``state``: name -> dims (or a `StateVar`) of per-run arrays the policy keeps between
    decisions (``ctx.state``), saved with the run's outputs as ``state_<name>``.
    ``indicators``: the plugin indicators the policy reads as ``ctx[name]`` (a tuple of
    names, whose probe values are national (B,), or name -> dims after the run axis).
    ``per_run_params``: decide accepts (B,) arrays in ``ctx.params`` (one setting per run),
    so `gsim optimize` evaluates a whole generation in one batch.

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
    state: Mapping[str, Any] = field(default_factory=dict)
    indicators: Any = ()
    per_run_params: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "state", {str(k): state_var(v) for k, v in dict(self.state).items()})
        ind = self.indicators
        ind = {ind: ()} if isinstance(ind, str) else (
            {str(k): tuple(v) for k, v in ind.items()} if isinstance(ind, Mapping) else {str(n): () for n in ind})
        object.__setattr__(self, "indicators", ind)

    def new_state(self, B: int, R: int, S: int) -> State:
        """The state arrays of B runs at t0 (each at its initial value)."""
        return State({k: np.full(v.shape(B, R, S), float(v.initial)) for k, v in self.state.items()})

    def problems(self) -> list[str]:
        """What is wrong with the declarations of state and indicators (empty if nothing)."""
        out = []
        for k, v in self.state.items():
            if not k.isidentifier():
                out.append(f"state name {k!r} must be an identifier")
            if any(d not in STATE_DIMS for d in v.dims) or list(v.dims) != sorted(v.dims, key=STATE_DIMS.index) \
                    or len(set(v.dims)) != len(v.dims):
                out.append(f"state {k!r}: dims {v.dims} must be (), (\"region\",), (\"tier\",) or "
                           "(\"region\", \"tier\")")
            if not np.isfinite(float(v.initial)):
                out.append(f"state {k!r}: initial value {v.initial!r} is not finite")
            if f"state_{k}" in VARIABLES:
                out.append(f"state {k!r}: its output state_{k} would shadow a model output variable")
        for n, dims in self.indicators.items():
            if n in VARIABLES:
                out.append(f"indicator input {n!r} is a model output (read it as ctx[{n!r}] without declaring it)")
            if any(d not in STATE_DIMS for d in dims):
                out.append(f"indicator input {n!r}: dims {dims} must be among ('region', 'tier')")
        return out


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
        wrote = "read-only" in str(exc)  # numpy's word for a write into the context's values
        hint = " (the context's values are read-only: compute on copies; a policy's own arrays are ctx.state)"
        raise PolicyError(
            f"policy {policy.name!r} (plugin {policy.plugin or '?'}) raised at t={ctx.t:g}: "
            f"{type(exc).__name__}: {exc}{hint if wrote else ''}"
        ) from exc
    out = check_decision(policy, decision, ctx.n_runs, ctx.pairs, len(ctx.tiers), ctx.t)
    for name, arr in ctx.state.items():
        want = policy.state[name].shape(ctx.n_runs, len(ctx.regions), len(ctx.tiers)) if name in policy.state else arr.shape
        if arr.shape != want or arr.dtype != np.float64:
            raise PolicyError(f"policy {policy.name!r} (plugin {policy.plugin or '?'}) at t={ctx.t:g}: state "
                              f"{name!r} is {arr.dtype} {arr.shape}, expected float64 {want}")
        if not np.isfinite(arr).all():
            raise PolicyError(f"policy {policy.name!r} (plugin {policy.plugin or '?'}) at t={ctx.t:g}: state "
                              f"{name!r} has {int((~np.isfinite(arr)).sum())} non-finite value(s) (NaN or inf)")
    return out


