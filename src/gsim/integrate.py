"""Time integration of a batch of runs: policy periods, zero-order hold, saving (spec §8-§9).

The built-in policies have compiled twins (`Policy.compiled`): without events, a batch's whole
horizon is then one compiled call (`gsim.model.kernel.Kernels.run`). Any other policy, and any
scenario with events, goes through a Python loop over the *event* steps (policy decisions,
events, saves) with one compiled call advancing every run between two of them; the policy
decides once per period for the whole batch. Both paths take the same steps in the same
order, so they give the same bits. This module knows no plugin registry and no output format:
callers hand it the resolved policy and events (see `gsim.api`).
"""

from __future__ import annotations

import dataclasses
import enum
import functools
from collections import ChainMap
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gsim.events import Event, EventError
from gsim.indicators import IndicatorError
from gsim.model import rules
from gsim.model.calibrate import Calibration, calibrate
from gsim.model.inputs import BatchInputs
from gsim.model.kernel import Inputs, Kernels
from gsim.model.layout import OBS, REGION_COLUMNS, state_slices, stock_label
from gsim.params import METHODS, RunSettings
from gsim.policies import Decision, Policy, PolicyContext, PolicyError, call_policy, zero_decision
from gsim.scenario import Scenario


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


IndicatorInputs = Callable[[float, Mapping[str, np.ndarray]], dict[str, np.ndarray]]


@dataclass(frozen=True)
class PolicyInputs:
    """What a policy sees besides the observation (resolved by the caller, `gsim.context`):
    the scenario's regions table, (R,) columns (the model's region inputs, (B, R), are added
    from the batch's inputs), and the plugin indicators it reads, computed from an
    observation: ``indicators(t, values) -> name -> (B, ...)`` (IndicatorError if one fails)."""

    region_data: Mapping[str, np.ndarray] = field(default_factory=dict)
    indicators: IndicatorInputs | None = None


class RunStatus(enum.IntEnum):
    """What became of a run (the values of a sweep store's ``status`` array)."""

    PENDING = 0  # not computed yet (sweep stores only)
    OK = 1
    FAILED = 2  # a stock turned negative or non-finite (spec §9)
    INVALID_INPUT = 3  # sampled inputs broke a scenario rule; not integrated
    PLUGIN_FAULT = 4  # a plugin (policy, event) raised or returned invalid values for this run


@dataclass
class BatchResult:
    """Saved values of a batch: name -> (B, T, ...) arrays, and what became of each run.

    A failed run records the step whose new state was bad and the flat index of the first bad
    stock (`gsim.model.layout.stock_label` names it); values after the failure are NaN.
    """

    times: np.ndarray
    values: dict[str, np.ndarray]
    status: np.ndarray  # (B,) RunStatus values
    fail_step: np.ndarray  # (B,) step whose result was bad, -1 if none
    fail_index: np.ndarray  # (B,) flat state index of the bad stock, -1 if none
    t0: float
    dt: float
    faults: dict[int, Exception] = field(default_factory=dict)  # run -> its plugin's error

    @property
    def ok(self) -> np.ndarray:
        return self.status == RunStatus.OK

    @property
    def fail_time(self) -> np.ndarray:
        """Time of the first bad state (NaN where the run did not fail)."""
        return np.where(self.fail_step >= 0, self.t0 + self.fail_step * self.dt, np.nan)

    def reason(self, b: int, regions, tiers) -> str:
        """Why run b did not succeed, in words ("" if it did)."""
        if self.status[b] == RunStatus.FAILED:
            var = stock_label(int(self.fail_index[b]), len(regions), len(tiers), regions, tiers)
            return f"{var} became negative or non-finite at t={self.fail_time[b]:g}"
        return str(self.faults.get(b, ""))


@functools.lru_cache(maxsize=16)
def _layout(R: int, S: int) -> dict[str, tuple[str, Any]]:
    """Where each named quantity lives: (raw array, index into its quantity axis)."""
    where: dict[str, tuple[str, object]] = {
        name: ("y", (sl, shape)) for name, (sl, shape) in state_slices(R, S).items()
    }
    for raw, names in OBS.items():
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
        self.inputs = Inputs.of(inp, cal)
        # the lane-major kernels, for every batch size (one run is a group of one lane)
        self.kernels = Kernels(parallel)

    def raw_shapes(self, B: int) -> dict[str, tuple[int, ...]]:
        R, S, NY = self.inp.n_regions, self.inp.n_tiers, self.cal.y0.shape[1]
        size = {"rs": (R, S), "r": (R,), "s": (S,), "o0": ()}
        return {"y": (B, NY), **{g: (B, len(names)) + size[g] for g, names in OBS.items()}}

    def __call__(self, y: np.ndarray, W, z, psi) -> Observation:
        raw = {k: np.empty(shape) for k, shape in self.raw_shapes(y.shape[0]).items() if k != "y"}
        raw["y"] = y.copy()
        self.kernels.observe(y, self.inputs, (W, z, psi), tuple(raw[g] for g in OBS))
        return Observation(raw, self.inp.n_regions, self.inp.n_tiers)


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
    policy_inputs: PolicyInputs | None = None,
) -> BatchResult:
    """Integrate B runs from t0 to t1 under one policy; failed runs hold NaN after failure.

    A policy with state (`Policy.state`) has it saved with the values, as ``state_<name>``
    (B, T, ...): its value after the decision at each save time."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; known: {', '.join(METHODS)}")
    events = list(events)
    B, R, S = inp.n_runs, inp.n_regions, inp.n_tiers
    parallel = B > 1 if parallel is None else parallel
    cal = calibrate(inp) if cal is None else cal
    y = cal.y0.copy()
    observe = Observer(inp, cal, parallel)

    N, every = grid.n_steps, grid.decision_every
    save_steps = grid.save_steps
    event_steps = set(save_steps) | set(range(0, N + 1, every))
    for ev in events:
        event_steps |= {k for k in ev.steps if 0 <= k <= N}
    steps = sorted(event_steps)
    fail_step = np.full(B, -1, np.int64)
    fail_index = np.full(B, -1, np.int64)
    T = len(save_steps)
    save_index = {int(k): i for i, k in enumerate(save_steps)}
    saved = {k: np.full((shape[0], T) + shape[1:], np.nan)
             for k, shape in observe.raw_shapes(B).items()}
    faults: dict[int, Exception] = {}
    states = {f"state_{k}": np.full((B, T) + v.shape(B, R, S)[1:], np.nan) for k, v in policy.state.items()}
    if policy.compiled is not None and not events:  # the whole horizon in one compiled call
        save_at = [save_index.get(int(k), -1) for k in steps]
        observe.kernels.run(y, observe.inputs, policy.compiled(params, tiers), steps, every, save_at,
                            grid.dt, METHODS[method], list(saved.values()), fail_step, fail_index)
    else:
        _python_loop(inp, grid, policy, params, tiers, regions, method, events, observe, y, steps,
                     save_index, saved, fail_step, fail_index, faults, policy_inputs or PolicyInputs(), states)

    for i in np.flatnonzero(fail_step >= 0):  # nothing after a failure is a valid value
        first = int(np.searchsorted(save_steps, fail_step[i]))
        for arr in (*saved.values(), *states.values()):
            arr[i, first:] = np.nan
    obs = Observation(saved, R, S, lead=2)
    names = obs.keys() if save is None else [n for n in obs if n in set(save)]
    values = {n: obs[n] if save is None else obs[n].copy() for n in names}
    values.update(states)

    status = np.where(fail_step >= 0, RunStatus.FAILED, RunStatus.OK).astype(np.int8)
    status[list(faults)] = RunStatus.PLUGIN_FAULT
    return BatchResult(grid.save_times, values, status, fail_step, fail_index, grid.t0, grid.dt, faults)


def _python_loop(inp: BatchInputs, grid: TimeGrid, policy: Policy, params: Mapping[str, object],
                 tiers: tuple[str, ...], regions: tuple[str, ...], method: str, events: list[Event],
                 observe: Observer, y: np.ndarray, steps: list[int], save_index: dict[int, int],
                 saved: dict[str, np.ndarray], fail_step: np.ndarray, fail_index: np.ndarray,
                 faults: dict[int, Exception], extra: PolicyInputs, states: dict[str, np.ndarray]) -> None:
    """run_batch's loop over the event steps for a policy or events written in Python: the
    policy decides for the whole batch at each decision step (observe, then the indicators
    it reads, then decide), events edit the state between compiled calls, and a fault stops
    only its runs (into `faults`). The policy's state arrays are saved into `states`."""
    B, S, every = y.shape[0], inp.n_tiers, grid.decision_every
    W, z, psi = zero_decision(B, inp.pairs, S)
    advance = observe.kernels.advance
    pr, model = inp.pairs, inp.model_params
    state = policy.new_state(B, inp.n_regions, S)
    region_data = {**extra.region_data, **{c: inp.reg[:, i, :] for i, c in enumerate(REGION_COLUMNS)}}
    k_now = 0
    for k in steps:
        if k > k_now:
            advance(y, observe.inputs, (W, z, psi), k_now, k - k_now, grid.dt, METHODS[method],
                    fail_step, fail_index)
            k_now = k
        t = grid.t0 + k * grid.dt
        due = [ev for ev in events if k in ev.steps]
        if due:
            for b, err in _apply_events(due, k, t, y, inp, live=fail_step < 0).items():
                faults[b], fail_step[b] = err, k
        current = None
        if k % every == 0:
            current = observe(y, W, z, psi)
            values: Mapping[str, np.ndarray] = current
            if extra.indicators is not None:
                found, bad = _indicators(extra.indicators, t, current, live=fail_step < 0)
                for b, err in bad.items():
                    faults[b], fail_step[b] = err, k
                values = ChainMap(found, dict(current))
            ctx = PolicyContext(t, params, tiers, regions, pr, values, model, state, region_data,
                                every * grid.dt)
            new, bad = _decide(policy, ctx, live=fail_step < 0)
            for b, err in bad.items():
                faults[b], fail_step[b] = err, k
            if not all(np.array_equal(a, b) for a, b in zip(new, (W, z, psi))):
                W, z, psi = new
                current = None  # the policy changed: what it saw is no longer in force
        if k in save_index:
            current = observe(y, W, z, psi) if current is None else current
            for name, arr in current.raw.items():
                saved[name][:, save_index[k]] = arr
            for name, arr in state.items():
                states[f"state_{name}"][:, save_index[k]] = arr


def _indicators(fn: IndicatorInputs, t: float, current: Mapping[str, np.ndarray],
                live: np.ndarray) -> tuple[dict[str, np.ndarray], dict[int, Exception]]:
    """The indicators a policy reads, for the batch, and the runs they failed for; like
    `_decide`, a failure is isolated to its runs (each live run is computed alone, the others
    hold NaN)."""
    try:
        return fn(t, current), {}
    except IndicatorError as err:
        first_err: Exception = err
    B = live.shape[0]
    parts: dict[int, dict[str, np.ndarray]] = {}
    bad: dict[int, Exception] = {}
    for run in np.flatnonzero(live).tolist():
        try:
            parts[run] = fn(t, {n: current[n][run:run + 1] for n in current})
        except IndicatorError as err:
            bad[run] = err
    if not parts:
        return {}, bad or {int(b): first_err for b in np.flatnonzero(live)}
    one = next(iter(parts.values()))
    out = {n: np.full((B,) + v.shape[1:], np.nan) for n, v in one.items()}
    for run, vals in parts.items():
        for n, v in vals.items():
            out[n][run] = v[0]
    return out, bad


def _decide(policy: Policy, ctx: PolicyContext, live: np.ndarray) -> tuple[Decision, dict[int, Exception]]:
    """The policy's decision for the batch, and the runs it failed for (a PolicyError each).

    A policy decides for each run on its own, so when the batch call fails, each live run is
    asked alone: the runs it fails for are set aside (zero decision) and the others go on."""
    if not live.any():
        return zero_decision(ctx.n_runs, ctx.pairs, len(ctx.tiers)), {}
    before = ctx.state.copy()  # a failed call may have updated the state of some runs
    try:
        return call_policy(policy, ctx), {}
    except PolicyError as err:
        ctx.state.restore(before)
        if ctx.n_runs == 1:
            return zero_decision(1, ctx.pairs, len(ctx.tiers)), {0: err}
    parts: list[Decision] = []
    bad: dict[int, Exception] = {}
    for b in range(ctx.n_runs):
        try:
            if not live[b]:
                raise PolicyError("run already stopped")
            parts.append(call_policy(policy, ctx.run(b)))
        except PolicyError as err:
            if live[b]:
                bad[b] = err
                ctx.state.restore(before, b)  # the run keeps its state up to the fault
            parts.append(zero_decision(1, ctx.pairs, len(ctx.tiers)))
    W, z, psi = (np.concatenate(p) for p in zip(*parts))
    return (W, z, psi), bad


def _apply_events(due: list[Event], k: int, t: float, y: np.ndarray, inp: BatchInputs,
                  live: np.ndarray) -> dict[int, Exception]:
    """Apply the events due at step k; like `_decide`, a failure is isolated to its runs
    (the batch is restored and each live run gets the events alone)."""
    if not live.any():
        return {}
    saved = y.copy(), inp.sp.copy(), inp.tp.copy()
    try:
        for ev in due:
            ev.apply(k, t, y, inp)
        return {}
    except EventError as err:
        if y.shape[0] == 1:
            return {0: err}
    y[:], inp.sp[:], inp.tp[:] = saved
    bad: dict[int, Exception] = {}
    for b in np.flatnonzero(live):
        one = inp.run(int(b))
        try:
            for ev in due:
                ev.apply(k, t, y[b:b + 1], one)
        except EventError as err:
            bad[int(b)] = err
            y[b], inp.sp[b], inp.tp[b] = saved[0][b], saved[1][b], saved[2][b]
    return bad


def batch_from_scenario(sc: Scenario, n_runs: int = 1) -> BatchInputs:
    """The scenario's values as kernel inputs, repeated for `n_runs` runs."""
    one = rules.one_run(sc.params, sc.tier_params, sc.region_inputs, sc.regions.shares)
    return dataclasses.replace(one, pairs=sc.pairs).repeat(n_runs)
