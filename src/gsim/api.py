"""The one place that joins the pieces: plugin registry, scenario, integrator and output.

`simulate` and `run_scenario` are the public entry points for single runs (also as
``gsim.simulate``); `resolve_policy`, `scenario_events` and `scenario_indicators` turn a
scenario's names into the objects the integrator and the outputs use, for single runs and
sweeps alike.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from gsim.context import checked_inputs, state_dataset_vars
from gsim.events import Event, EventError, EventSetup, build_events
from gsim.groups import group_aggregates, sending_mask
from gsim.indicators import Indicator, add_indicators
from gsim.integrate import BatchResult, RunStatus, TimeGrid, batch_from_scenario, run_batch
from gsim.model import kernel
from gsim.model.calibrate import Calibration, calibrate
from gsim.model.inputs import BatchInputs
from gsim.output import provenance, to_dataset
from gsim.plugins import get_plugin_manager
from gsim.policies import Policy, StateVar
from gsim.scenario import Scenario, ScenarioError, load_scenario, replace_run

if TYPE_CHECKING:
    import xarray as xr


class RunFailed(RuntimeError):
    """A run produced a negative or non-finite stock, or a non-finite output; the message
    names the time and the stock or output."""


def fail_not_finite(res: BatchResult, saved: Mapping[str, np.ndarray]) -> dict[int, tuple[str, float]]:
    """Mark failed every ok run of `res` with a non-finite value in `saved` (name -> (B, T, ...)
    arrays), at the first such time: a run is ok only when every output it keeps is finite
    (e.g. a ratio of an output that underflowed to 0 is not). Single runs and sweeps both
    use this. Returns, per run it failed, the first non-finite output (in `saved` order
    among those at the same time) and its time."""
    ok = np.flatnonzero(res.status == RunStatus.OK)
    T = len(res.times)
    if not len(ok):
        return {}
    if all(np.isfinite(np.add.reduce(v, axis=None)) for v in saved.values()):
        return {}  # a finite sum has no NaN or infinity in it: the common case, one pass each
    first_t, first_name = np.full(len(ok), T), [""] * len(ok)
    for name, v in saved.items():
        bad = ~np.isfinite(v[ok].reshape(len(ok), T, -1)).all(axis=2)  # (ok runs, T)
        at = np.where(bad.any(axis=1), bad.argmax(axis=1), T)
        for k in np.flatnonzero(at < first_t):
            first_t[k], first_name[k] = at[k], name
    found: dict[int, tuple[str, float]] = {}
    for k in np.flatnonzero(first_t < T):
        i, t = int(ok[k]), float(res.times[first_t[k]])
        res.status[i] = RunStatus.FAILED
        res.fail_step[i] = round((t - res.t0) / res.dt)
        found[i] = (first_name[k], t)
    return found


def resolve_policy(sc: Scenario, name: str) -> tuple[Policy, dict[str, Any]]:
    """The registered policy `name` and its parameters: its defaults, then the scenario's."""
    table = get_plugin_manager().policies()
    if name not in table:
        raise ScenarioError(f"{sc.source}: policy: unknown policy {name!r} (known: {', '.join(sorted(table))}; "
                            "is the plugin that provides it installed? see `gsim plugins`)")
    pol = table[name]
    return pol, {**pol.defaults, **sc.policy_params.get(name, {})}


def scenario_events(sc: Scenario, grid: TimeGrid) -> list[Event]:
    """The events a scenario asks for (its ``[[events]]`` tables), for this time grid."""
    if not sc.events:
        return []
    setup = EventSetup(grid.t0, grid.dt, grid.n_steps, tuple(sc.regions.name), tuple(sc.tiers),
                       sc.pairs, sc)
    try:
        return build_events(sc.events, setup, get_plugin_manager().event_types())
    except EventError as e:
        raise EventError(f"{sc.source}: {e}") from e.__cause__


def scenario_indicators(sc: Scenario) -> dict[str, Indicator]:
    """The registered plugin indicators, each with the scenario's ``[indicators.NAME]``
    overrides merged into its defaults (so computing one needs no other parameters)."""
    table = get_plugin_manager().indicators()
    missing = sorted(set(sc.indicator_params) - set(table))
    if missing:
        raise ScenarioError(f"{sc.source}: indicators.{missing[0]}: no installed plugin provides this indicator "
                            "(see `gsim plugins`)")
    return {name: dataclasses.replace(ind, defaults=ind.resolve(sc.indicator_params.get(name)))
            if name in sc.indicator_params else ind for name, ind in table.items()}


@dataclass
class ScenarioRun:
    """One completed run of a scenario: saved values (name -> (T, ...)) and provenance."""

    scenario: Scenario
    times: np.ndarray
    values: dict[str, np.ndarray]
    attrs: dict[str, object]
    state: dict[str, StateVar] = field(default_factory=dict)  # the policy's state declaration
    policy: str = ""

    def to_dataset(self) -> xr.Dataset:
        """The run as an xarray Dataset with units, provenance, the policy's state
        (``state_<name>``) and any plugin indicators."""
        ds = to_dataset(self.scenario, self.times, self.values, self.attrs)
        if self.state:
            ds = ds.assign(state_dataset_vars(self.values, self.state, self.policy))
        return add_indicators(ds, scenario_indicators(self.scenario))


@functools.lru_cache(maxsize=32)
def _with_run(sc: Scenario, policy: str | None, method: str | None, dt: float | None,
              t1: float | None) -> Scenario:
    """`replace_run`, remembered: scenarios are frozen, and re-validating one costs more than
    a warm run (a loop of simulate calls asks for the same few variants again and again)."""
    return replace_run(sc, policy=policy, method=method, dt=dt, t1=t1)


@functools.lru_cache(maxsize=8)
def _calibrated(sc: Scenario) -> tuple[BatchInputs, Calibration]:
    """The scenario's kernel inputs and calibration (spec §5), remembered like `_with_run`,
    for runs that only read them: a built-in policy without events (events edit the
    parameters in place; run_batch integrates a copy of the initial state)."""
    inp = batch_from_scenario(sc)
    return inp, calibrate(inp)


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
    sc = load_scenario() if scenario is None else scenario
    if any(v is not None for v in (policy, method, dt, t1)):  # validated like a file
        sc = _with_run(sc, policy, method, dt, t1)
    policy, method, grid = sc.run.policy, sc.run.method, TimeGrid.of(sc.run)
    pol, params = resolve_policy(sc, policy)
    events = [*events, *scenario_events(sc, grid)]  # the scenario's [[events]] (plugins)
    inputs = checked_inputs(sc, pol, scenario_indicators(sc))
    inp, cal = _calibrated(sc) if pol.compiled is not None and not events else (batch_from_scenario(sc), None)
    result = run_batch(inp, grid, pol, params, method=method, tiers=sc.tiers, regions=sc.regions.name,
                       events=events, cal=cal, policy_inputs=inputs)
    if 0 in result.faults:  # the plugin's own error (PolicyError, EventError)
        raise result.faults[0]
    failed = f"run failed ({policy}, {method}, dt={grid.dt:g})"
    if not result.ok[0]:
        raise RunFailed(f"{failed}: {result.reason(0, sc.regions.name, sc.tiers)}")
    saved = {**result.values, **group_aggregates(result.values, sending_mask(sc))}
    not_finite = fail_not_finite(result, saved)
    if not_finite:
        name, t = not_finite[0]
        raise RunFailed(f"{failed}: the output {name} is not finite at t={t:g}")
    attrs = provenance(sc, "simulation", policy=policy, method=method, dt=grid.dt,
                       t0=grid.t0, t1=grid.t1, policy_params=repr(params))
    return ScenarioRun(sc, result.times, {k: v[0] for k, v in saved.items()}, attrs, dict(pol.state), pol.name)


def simulate(
    scenario: Scenario | None = None,
    policy: str | None = None,
    *,
    method: str | None = None,
    dt: float | None = None,
    t1: float | None = None,
    events: Iterable[Event] = (),
) -> xr.Dataset:
    """Run one scenario under one policy and return the saved results as an xarray Dataset.

    Arguments left as None take the scenario's run settings; the others are validated like a
    scenario file (ScenarioError). Raises RunFailed if a stock turns negative or non-finite
    (spec §9) or a saved output is not finite, PolicyError if the policy misbehaves.
    """
    return run_scenario(scenario, policy, method=method, dt=dt, t1=t1, events=events).to_dataset()


# Measured first compilations of the kernels, single run (False) and batch (True), on a
# 2-core machine (CPU seconds, docs/performance.md, "First use"): what the command line
# announces before it compiles.
COMPILE_SECONDS = {False: 37, True: 32}


def needs_compiling(batch: bool = False, python_loop: bool = False) -> bool:
    """Whether the next single run (batch=False) or batch would first compile the model,
    because numba's on-disk cache does not hold it yet (a fresh installation, a new numba or
    CPU, changed model sources). python_loop: also the kernels of plugin policies and events."""
    lanes = 2 if batch else 1
    entries = (0, 1, 2) if python_loop else (2,)
    return not all(kernel.is_compiled(lanes, e) for e in entries)


def compile_model(batch: bool = False, python_loop: bool = False) -> None:
    """Compile (or load from the cache) what `needs_compiling` asks about, with a one-step
    run of the embedded default scenario: the kernels' types do not depend on the scenario."""
    sc = load_scenario()
    pol, params = resolve_policy(sc, "market")
    grid = TimeGrid(sc.run.t0, sc.run.t0 + sc.run.dt, sc.run.dt)
    inp = batch_from_scenario(sc, 2 if batch else 1)
    for p in (pol, dataclasses.replace(pol, compiled=None)) if python_loop else (pol,):
        run_batch(inp, grid, p, params, tiers=sc.tiers, regions=sc.regions.name, parallel=False)
