"""Time integration of a batch of runs: policy periods, zero-order hold, saving (spec §8-§9).

A Python loop visits only the *event* steps (policy decisions and saves); between two events
one compiled call advances every run of the batch. Policies therefore run once per period
for the whole batch, never inside the compiled loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping

import numpy as np

from gsim.model import kernel
from gsim.model.calibrate import Calibration, calibrate
from gsim.model.inputs import BatchInputs, batch_from_scenario, state_slices
from gsim.scenario import Scenario
from gsim.policies import Policy, PolicyContext, PolicyError, check_decision, zero_decision

METHODS = {"euler": False, "rk4": True}  # name -> uses RK4 stages


@dataclass(frozen=True)
class TimeGrid:
    """Steps of the run: N steps of dt from t0; decisions and saves every so many steps."""

    t0: float
    t1: float
    dt: float
    save_every: float = 1.0
    policy_period: float = 1.0

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


def _stock_values(y: np.ndarray, R: int, S: int) -> dict[str, np.ndarray]:
    B = y.shape[0]
    return {n: y[:, sl].reshape((B,) + shape) for n, (sl, shape) in state_slices(R, S).items()}


class Observer:
    """Computes every §10 quantity for a batch from its state and the policy in force."""

    def __init__(self, inp: BatchInputs, cal: Calibration, parallel: bool):
        self.inp, self.cal = inp, cal
        self.fn = kernel.observe_parallel if parallel else kernel.observe_serial

    def __call__(self, y: np.ndarray, W, z, psi) -> dict[str, np.ndarray]:
        inp, cal = self.inp, self.cal
        B, R, S = y.shape[0], inp.n_regions, inp.n_tiers
        ors = np.empty((B, len(kernel.OBS_RS), R, S))
        orr = np.empty((B, len(kernel.OBS_R), R))
        osv = np.empty((B, len(kernel.OBS_S), S))
        o0 = np.empty((B, len(kernel.OBS_0)))
        pr = inp.pairs
        self.fn(y, inp.sp, inp.tp, cal.wmin, cal.D0, cal.Ytot0, pr.recv, pr.dist, pr.nrecv,
                W, z, psi, ors, orr, osv, o0)
        out = _stock_values(y, R, S)
        for arr, names in ((ors, kernel.OBS_RS), (orr, kernel.OBS_R), (osv, kernel.OBS_S)):
            out.update({n: arr[:, i] for i, n in enumerate(names)})
        out.update({n: o0[:, i] for i, n in enumerate(kernel.OBS_0)})
        return out


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
    advance = kernel.advance_parallel if parallel else kernel.advance_serial
    events = list(events)

    N, every = grid.n_steps, grid.decision_every
    save_steps = grid.save_steps
    event_steps = set(save_steps) | set(range(0, N + 1, every))
    for ev in events:
        event_steps |= {k for k in ev.steps if 0 <= k <= N}
    fail_step = np.full(B, -1, np.int64)
    fail_index = np.full(B, -1, np.int64)
    W, z, psi = zero_decision(B, inp.pairs, S)
    saved: dict[str, np.ndarray] = {}
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
        if k % every == 0:
            values = observe(y, W, z, psi)
            ctx = PolicyContext(t, params, tiers, regions, pr, values)
            try:
                decision = policy.decide(ctx)
            except Exception as exc:  # a plugin's bug must not look like a gsim crash
                raise PolicyError(
                    f"policy {policy.name!r} (plugin {policy.plugin or '?'}) raised at "
                    f"t={t:g}: {type(exc).__name__}: {exc}"
                ) from exc
            W, z, psi = check_decision(policy, decision, B, pr, S, t)
        if k in save_steps:
            values = observe(y, W, z, psi)
            i = int(np.searchsorted(save_steps, k))
            for name, v in values.items():
                if save is not None and name not in save:
                    continue
                if name not in saved:
                    saved[name] = np.full((B, len(save_steps)) + v.shape[1:], np.nan)
                saved[name][:, i] = v
            bad = fail_step >= 0
            for arr in saved.values():
                arr[bad, i] = np.nan

    reasons = []
    for b in range(B):
        if fail_step[b] < 0:
            reasons.append("")
            continue
        var = _stock_name(fail_index[b], R, S, regions, tiers)
        t_bad = grid.t0 + fail_step[b] * grid.dt
        reasons.append(f"{var} became negative or non-finite at t={t_bad:g}")
    return BatchResult(grid.save_times, saved, fail_step, reasons)


class RunFailed(RuntimeError):
    """A run produced a negative or non-finite stock; the message names the time and stock."""


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

    Arguments left as None take the scenario's run settings. Raises RunFailed if a stock
    turns negative or non-finite (spec §9), PolicyError if the policy misbehaves.
    """
    from gsim.output import global_attrs, to_dataset
    from gsim.plugins import get_policy
    from gsim.scenario import load_scenario, scenario_hash

    sc = load_scenario() if scenario is None else scenario
    run = sc.run
    policy = policy or run.policy
    method = method or run.method
    grid = TimeGrid(run.t0, run.t1 if t1 is None else t1, run.dt if dt is None else dt,
                    run.save_every, run.policy_period)
    pol = get_policy(policy)
    params = {**pol.defaults, **sc.policy_params.get(policy, {})}
    result = run_batch(batch_from_scenario(sc), grid, pol, params, method=method,
                       tiers=sc.tiers, regions=sc.regions.name, events=events)
    if not result.ok[0]:
        raise RunFailed(f"run failed ({policy}, {method}, dt={grid.dt:g}): {result.fail_reason[0]}")
    attrs = global_attrs(sc, scenario_hash(sc), policy=policy, method=method, dt=grid.dt,
                         t0=grid.t0, t1=grid.t1, policy_params=repr(params))
    return to_dataset(sc, result.times, {k: v[0] for k, v in result.values.items()}, attrs)
