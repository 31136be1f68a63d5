"""Time integration of a batch of runs: policy periods, zero-order hold, saving (spec §8-§9).

A Python loop visits only the *event* steps (policy decisions and saves); between two events
one compiled call advances every run of the batch. Policies therefore run once per period
for the whole batch, never inside the compiled loop.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from gsim.model import kernel, lanes
from gsim.model.calibrate import Calibration, calibrate
from gsim.model.inputs import BatchInputs, batch_from_scenario, state_slices
from gsim.policies import Policy, PolicyContext, call_policy, zero_decision
from gsim.scenario import RunSettings, Scenario

METHODS = {"euler": False, "rk4": True}  # name -> uses RK4 stages


@dataclass(frozen=True)
class TimeGrid:
    """Steps of the run: N steps of dt from t0; decisions and saves every so many steps."""

    t0: float
    t1: float
    dt: float
    save_every: float = 1.0
    policy_period: float = 1.0

    @classmethod
    def of(cls, run: RunSettings, t1: float | None = None) -> TimeGrid:
        """The grid of a scenario's run settings, optionally ending at another year."""
        return cls(run.t0, run.t1 if t1 is None else t1, run.dt, run.save_every,
                   run.policy_period)

    @property
    def n_steps(self) -> int:
        return int(round((self.t1 - self.t0) / self.dt))

    @property
    def decision_every(self) -> int:
        return max(1, int(round(self.policy_period / self.dt)))

    @property
    def save_steps(self) -> np.ndarray:
        every = max(1, int(round(self.save_every / self.dt)))
        steps = set(range(0, self.n_steps + 1, every)) | {self.n_steps}
        return np.array(sorted(steps))

    @property
    def save_times(self) -> np.ndarray:
        return self.t0 + self.save_steps * self.dt


@dataclass
class BatchResult:
    """Saved values of a batch: name -> (B, T, ...) arrays, plus per-run status."""

    times: np.ndarray
    values: dict[str, np.ndarray]
    fail_step: np.ndarray  # (B,) step whose result was bad, -1 if the run is ok
    fail_reason: list[str] = field(default_factory=list)  # "" if ok

    @property
    def ok(self) -> np.ndarray:
        return self.fail_step < 0


@dataclass(frozen=True)
class Event:
    """Something applied to a batch between steps (e.g. an exogenous shock).

    ``apply(step, t, y, inputs)`` may edit the (B, NY) state `y` and the parameter arrays
    of `inputs` (BatchInputs: sp, tp) in place; it is called at each step listed in
    ``steps``, before that step's policy decision and save. Use
    `gsim.model.inputs.state_slices` to find a stock inside `y`.
    """

    steps: frozenset[int]
    apply: Callable[[int, float, np.ndarray, BatchInputs], None]


def _stock_name(index: int, R: int, S: int, regions, tiers) -> str:
    for name, (sl, shape) in state_slices(R, S).items():
        if sl.start <= index < sl.stop:
            pos = np.unravel_index(index - sl.start, shape)
            if len(shape) == 2:
                return f"{name}[{regions[pos[0]]}, {tiers[pos[1]]}]"
            labels = tiers if name == "price" else regions
            return f"{name}[{labels[pos[0]]}]"
    return f"state[{index}]"


@functools.lru_cache(maxsize=16)
def _layout(R: int, S: int) -> dict[str, tuple[str, object]]:
    """Where each named quantity lives: (raw array, index into its quantity axis)."""
    where: dict[str, tuple[str, object]] = {
        name: ("y", (sl, shape)) for name, (sl, shape) in state_slices(R, S).items()
    }
    for raw, names in (("rs", kernel.OBS_RS), ("r", kernel.OBS_R), ("s", kernel.OBS_S),
                       ("o0", kernel.OBS_0)):
        where.update({n: (raw, i) for i, n in enumerate(names)})
    return where


class Observation(Mapping):
    """Every §10 quantity of a batch as read-only views into a few raw arrays.

    The raw arrays have a leading run axis, optionally followed by a time axis (`lead`
    axes in all); ``obs["readiness"]`` is (B, [T,] R, S) and so on.
    """

    def __init__(self, raw: dict[str, np.ndarray], R: int, S: int, lead: int = 1):
        self.raw, self.lead = raw, lead
        self.where = _layout(R, S)

    def __getitem__(self, name: str) -> np.ndarray:
        raw, at = self.where[name]
        arr = self.raw[raw]
        head = arr.shape[: self.lead]
        if raw == "y":
            sl, shape = at
            return arr[..., sl].reshape(head + shape)
        return arr[(slice(None),) * self.lead + (at,)]

    def __iter__(self):
        return iter(self.where)

    def __len__(self) -> int:
        return len(self.where)


class Observer:
    """Computes every §10 quantity for a batch from its state and the policy in force."""

    def __init__(self, inp: BatchInputs, cal: Calibration, parallel: bool):
        self.inp, self.cal = inp, cal
        # the lane-major kernels, for every batch size (one run is a group of one lane)
        self.kernels = lanes.Kernels(parallel)
        self.fn = self.kernels.observe

    def raw_shapes(self, B: int) -> dict[str, tuple[int, ...]]:
        R, S, NY = self.inp.n_regions, self.inp.n_tiers, self.cal.y0.shape[1]
        return {"y": (B, NY), "rs": (B, len(kernel.OBS_RS), R, S), "r": (B, len(kernel.OBS_R), R),
                "s": (B, len(kernel.OBS_S), S), "o0": (B, len(kernel.OBS_0))}

    def __call__(self, y: np.ndarray, W, z, psi) -> Observation:
        inp, cal, pr = self.inp, self.cal, self.inp.pairs
        raw = {k: np.empty(shape) for k, shape in self.raw_shapes(y.shape[0]).items() if k != "y"}
        raw["y"] = y.copy()
        self.fn(y, inp.sp, inp.tp, cal.wmin, cal.D0, cal.Ytot0, pr.recv, pr.dist, pr.nrecv,
                W, z, psi, raw["rs"], raw["r"], raw["s"], raw["o0"])
        return Observation(raw, inp.n_regions, inp.n_tiers)


def run_batch(
    inp: BatchInputs,
    grid: TimeGrid,
    policy: Policy,
    params: Mapping[str, object],
    *,
    method: str = "euler",
    tiers: tuple[str, ...],
    regions: tuple[str, ...],
    save: Iterable[str] | None = None,
    parallel: bool | None = None,
    events: Iterable[Event] = (),
    cal: Calibration | None = None,
) -> BatchResult:
    """Integrate B runs from t0 to t1 under one policy; failed runs hold NaN after failure."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; known: {', '.join(METHODS)}")
    B, R, S = inp.n_runs, inp.n_regions, inp.n_tiers
    parallel = B > 1 if parallel is None else parallel
    cal = calibrate(inp) if cal is None else cal
    y = cal.y0.copy()
    observe = Observer(inp, cal, parallel)
    advance = observe.kernels.advance
    events = list(events)

    N, every = grid.n_steps, grid.decision_every
    save_steps = grid.save_steps
    event_steps = set(save_steps) | set(range(0, N + 1, every))
    for ev in events:
        event_steps |= {k for k in ev.steps if 0 <= k <= N}
    fail_step = np.full(B, -1, np.int64)
    fail_index = np.full(B, -1, np.int64)
    W, z, psi = zero_decision(B, inp.pairs, S)
    T = len(save_steps)
    save_index = {int(k): i for i, k in enumerate(save_steps)}
    saved = {k: np.full((shape[0], T) + shape[1:], np.nan)
             for k, shape in observe.raw_shapes(B).items()}
    pr = inp.pairs
    k_now = 0
    for k in sorted(event_steps):
        if k > k_now:
            advance(y, k_now, k - k_now, grid.dt, METHODS[method], inp.sp, inp.tp, cal.wmin,
                    cal.D0, cal.Ytot0, pr.recv, pr.dist, pr.nrecv, W, z, psi, fail_step,
                    fail_index)
            k_now = k
        t = grid.t0 + k * grid.dt
        for ev in events:
            if k in ev.steps:
                ev.apply(k, t, y, inp)
        current = None
        if k % every == 0:
            current = observe(y, W, z, psi)
            new = call_policy(policy, PolicyContext(t, params, tiers, regions, pr, current))
            if not all(np.array_equal(a, b) for a, b in zip(new, (W, z, psi))):
                W, z, psi = new
                current = None  # the policy changed: what it saw is no longer in force
        if k in save_index:
            current = observe(y, W, z, psi) if current is None else current
            for name, arr in current.raw.items():
                saved[name][:, save_index[k]] = arr

    for b in np.flatnonzero(fail_step >= 0):  # nothing after a failure is a valid value
        first = int(np.searchsorted(save_steps, fail_step[b]))
        for arr in saved.values():
            arr[b, first:] = np.nan
    obs = Observation(saved, R, S, lead=2)
    names = obs.keys() if save is None else [n for n in obs if n in set(save)]
    values = {n: obs[n] if save is None else obs[n].copy() for n in names}

    reasons = []
    for b in range(B):
        if fail_step[b] < 0:
            reasons.append("")
            continue
        var = _stock_name(fail_index[b], R, S, regions, tiers)
        t_bad = grid.t0 + fail_step[b] * grid.dt
        reasons.append(f"{var} became negative or non-finite at t={t_bad:g}")
    return BatchResult(grid.save_times, values, fail_step, reasons)


def policy_with_params(sc: Scenario, name: str) -> tuple[Policy, dict[str, object]]:
    """The registered policy `name` and its parameters: defaults, then the scenario's."""
    from gsim.plugins import get_policy

    pol = get_policy(name)
    return pol, {**pol.defaults, **sc.policy_params.get(name, {})}


class RunFailed(RuntimeError):
    """A run produced a negative or non-finite stock; the message names the time and stock."""


@dataclass
class ScenarioRun:
    """One completed run of a scenario: saved values (name -> (T, ...)) and provenance."""

    scenario: Scenario
    times: np.ndarray
    values: dict[str, np.ndarray]
    attrs: dict[str, object]

    def to_dataset(self):
        """The run as an xarray Dataset with units, provenance and any plugin indicators."""
        from gsim.indicators import add_indicators
        from gsim.output import to_dataset

        return add_indicators(to_dataset(self.scenario, self.times, self.values, self.attrs))


def run_scenario(
    scenario: Scenario | None = None,
    policy: str | None = None,
    *,
    method: str | None = None,
    dt: float | None = None,
    t1: float | None = None,
    events: Iterable[Event] = (),
) -> ScenarioRun:
    """Run one scenario under one policy (see `simulate`), without building a Dataset."""
    from gsim.events import scenario_events
    from gsim.output import global_attrs
    from gsim.scenario import load_scenario, replace_run, scenario_hash

    sc = load_scenario() if scenario is None else scenario
    if any(v is not None for v in (policy, method, dt, t1)):  # validated like a file
        sc = replace_run(sc, policy=policy, method=method, dt=dt, t1=t1)
    policy, method, grid = sc.run.policy, sc.run.method, TimeGrid.of(sc.run)
    pol, params = policy_with_params(sc, policy)
    events = [*events, *scenario_events(sc, grid)]  # the scenario's [[events]] (plugins)
    result = run_batch(batch_from_scenario(sc), grid, pol, params, method=method,
                       tiers=sc.tiers, regions=sc.regions.name, events=events)
    if not result.ok[0]:
        raise RunFailed(f"run failed ({policy}, {method}, dt={grid.dt:g}): {result.fail_reason[0]}")
    attrs = global_attrs(sc, scenario_hash(sc), policy=policy, method=method, dt=grid.dt,
                         t0=grid.t0, t1=grid.t1, policy_params=repr(params))
    return ScenarioRun(sc, result.times, {k: v[0] for k, v in result.values.items()}, attrs)


def simulate(
    scenario: Scenario | None = None,
    policy: str | None = None,
    *,
    method: str | None = None,
    dt: float | None = None,
    t1: float | None = None,
    events: Iterable[Event] = (),
):
    """Run one scenario under one policy and return the saved results as an xarray Dataset.

    Arguments left as None take the scenario's run settings; the others are validated like a
    scenario file (ScenarioError). Raises RunFailed if a stock turns negative or non-finite
    (spec §9), PolicyError if the policy misbehaves.
    """
    return run_scenario(scenario, policy, method=method, dt=dt, t1=t1, events=events).to_dataset()
