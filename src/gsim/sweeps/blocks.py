"""A sweep's plan and its unit of work: `make_plan` resolves a sweep (time grid, saved variables,
config hash, policies, events, plugin indicators) into a picklable `Plan`; `compute_block`
computes every run of one block (all policies) into the rows the store writes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from gsim.api import fail_not_finite, resolve_policy, scenario_events, scenario_indicators
from gsim.context import policy_indicators, policy_inputs
from gsim.events import Event
from gsim.groups import INPUTS as GROUP_INPUTS
from gsim.groups import group_aggregates, sending_mask
from gsim.indicators import Indicator, IndicatorError, add_indicators
from gsim.integrate import BatchResult, RunStatus, TimeGrid, batch_from_scenario, run_batch
from gsim.model.calibrate import calibrate
from gsim.model.inputs import BatchInputs
from gsim.model.layout import GROUP_AGGREGATES, OBS, VARIABLES
from gsim.output import provenance, to_dataset
from gsim.policies import Policy, StateVar
from gsim.scenario import Scenario
from gsim.sweeps import components as cp
from gsim.sweeps import store as st
from gsim.sweeps.sampling import apply_values, saltelli_attrs, sampled_values
from gsim.sweeps.spec import SweepSpec, config_hash

# what `--save indicators` keeps: the national indicators, the per-tier overcapacity and
# margin, and the aggregates of the sending and receiving regions
INDICATORS = OBS["o0"] + ("overcapacity", "margin") + GROUP_AGGREGATES


def save_names(level: str) -> tuple[str, ...]:
    """Variables saved at each --save level, in VARIABLES order."""
    if level == "indicators":
        keep = set(INDICATORS)
    elif level == "regions":
        keep = set(INDICATORS) | {n for n, v in VARIABLES.items() if v.dims == ("region",)}
    else:
        keep = set(VARIABLES)
    return tuple(n for n in VARIABLES if n in keep)


@dataclass(frozen=True, eq=False)
class Plan:
    """Everything a worker needs to compute any block (picklable).

    The policies (with their resolved parameters) and events are the objects the client
    resolved from its plugin registry, so every worker runs exactly those, whatever plugins
    its own process has registered.
    """

    scenario: Scenario
    spec: SweepSpec
    method: str
    grid: TimeGrid
    save_names: tuple[str, ...]
    config_hash: str
    policies: tuple[tuple[Policy, dict[str, Any]], ...]
    events: tuple[Event, ...]
    indicators: tuple[tuple[Indicator, tuple[str, ...]], ...] = ()  # plugin indicators, dims after time
    states: tuple[tuple[str, StateVar, tuple[str, ...]], ...] = ()  # policy state: name, declaration, policies

    @property
    def n_policies(self) -> int:
        return len(self.spec.policies)

    @property
    def block_runs(self) -> int:
        return self.spec.block_size * self.n_policies

    @property
    def n_blocks(self) -> int:
        return -(-self.spec.units // self.spec.block_size)

    def units(self, b: int) -> tuple[int, int]:
        u0 = b * self.spec.block_size
        return u0, min(u0 + self.spec.block_size, self.spec.units)

    def runs(self, b: int) -> tuple[int, int]:
        u0, u1 = self.units(b)
        return u0 * self.n_policies, u1 * self.n_policies

    def attrs(self) -> dict[str, Any]:
        """The store's global attributes: provenance, and what a resume needs to rebuild it."""
        sc, spec = self.scenario, self.spec
        return provenance(
            sc, "Monte Carlo sweep", config_hash=self.config_hash, root_seed=spec.seed,
            sampler=spec.sampler, samples=spec.n_samples, **saltelli_attrs(spec), replicates=spec.replicates,
            policies=list(spec.policies), save=spec.save, method=self.method, dt=self.grid.dt,
            t0=self.grid.t0, t1=self.grid.t1, block_size=spec.block_size,
            sweep_spec=spec.to_json(), scenario_toml=sc.toml,
            plugin_indicators=[ind.name for ind, _ in self.indicators],
            components=self.components(),
        )

    def components(self) -> list[dict[str, Any]]:
        """Every policy, event and plugin indicator the runs depend on, resolved
        (`gsim.sweeps.components.components`); a resume must find the same."""
        return cp.components(self.policies, self.scenario.events, self.indicators)


def make_plan(sc: Scenario, spec: SweepSpec) -> Plan:
    """Resolve a sweep: time grid, saved variables, config hash, policies, events and the
    plugin indicators (saved with every --save level)."""
    grid = TimeGrid.of(sc.run, spec.t1)
    policies = tuple(resolve_policy(sc, name) for name in spec.policies)
    table = scenario_indicators(sc)
    for pol, _ in policies:
        policy_indicators(sc, pol, table)  # a policy reading an indicator not installed: refused now
    return Plan(sc, spec, sc.run.method, grid, save_names(spec.save),
                config_hash(sc, spec, sc.hash, sc.run.method), policies,
                tuple(scenario_events(sc, grid)), cp.indicator_dims(sc, spec), cp.state_arrays(policies))


# ----------------------------------------------------------------------------------------
# one block
# ----------------------------------------------------------------------------------------
_BASE: dict[str, BatchInputs] = {}


def _base_inputs(sc: Scenario) -> BatchInputs:
    """The scenario's inputs for one run, cached per process by scenario hash."""
    if sc.hash not in _BASE:
        if len(_BASE) > 8:
            _BASE.clear()
        _BASE[sc.hash] = batch_from_scenario(sc, 1)
    return _BASE[sc.hash]


def compute_block(plan: Plan, b: int, parallel: bool) -> st.BlockData:
    """Inputs and results of every run of block b (all policies), rows in run order."""
    sc, spec = plan.scenario, plan.spec
    u0, u1 = plan.units(b)
    units = np.arange(u0, u1)
    n, P = len(units), plan.n_policies
    samples, reps = units // spec.replicates, units % spec.replicates
    R, S = len(sc.regions), len(sc.tiers)
    values = sampled_values(spec, R, samples, reps)
    inp, valid = apply_values(_base_inputs(sc).repeat(n), sc, spec, values)
    cal = calibrate(inp)

    T = len(plan.grid.save_times)
    dim = {"region": R, "tier": S}
    outputs = {name: np.empty((n * P, T) + tuple(dim[d] for d in VARIABLES[name].dims))
               for name in plan.save_names}
    outputs.update({ind.name: np.full((n * P, T) + tuple(dim[d] for d in dims), np.nan)
                    for ind, dims in plan.indicators})
    outputs.update({f"state_{name}": np.full((n * P, T) + tuple(dim[d] for d in var.dims), np.nan)
                    for name, var, _ in plan.states})
    table = {ind.name: ind for ind, _ in plan.indicators}
    status = np.empty(n * P, np.int8)
    fail_time = np.full(n * P, np.nan)
    fail_stock = np.full(n * P, -1, np.int8)
    faults: dict[int, str] = {}
    sending = sending_mask(sc)
    need = set(plan.save_names) | set(GROUP_INPUTS)  # what the group aggregates are made of
    for p, (pol, params) in enumerate(plan.policies):
        # events may edit the parameter arrays: each policy starts from the sampled inputs
        res = run_batch(inp.with_params(), plan.grid, pol, params, method=plan.method,
                        tiers=sc.tiers, regions=sc.regions.name,
                        save=None if plan.indicators else need,
                        parallel=parallel, cal=cal, events=plan.events,
                        policy_inputs=policy_inputs(sc, pol, tuple(table[i] for i in pol.indicators)))
        vals = {**res.values, **group_aggregates(res.values, sending)}
        rows = slice(p, n * P, P)
        for name in plan.save_names:
            outputs[name][rows] = vals[name]
        for name in pol.state:
            outputs[f"state_{name}"][rows] = vals[f"state_{name}"]
        fail_not_finite(res, {name: vals[name] for name in plan.save_names})
        errors: dict[int, list[str]] = {i: [str(err)] for i, err in res.faults.items()}
        for i in range(n):
            if plan.indicators and res.status[i] == RunStatus.OK:
                # a failing indicator leaves its own values missing (NaN), not the run a fault
                for err in _indicators_of_run(plan, res, vals, i, outputs, i * P + p):
                    errors.setdefault(i, []).append(str(err))
        status[rows] = res.status
        fail_time[rows] = res.fail_time
        fail_stock[rows] = st.stock_of_index(res.fail_index, R, S)
        for i, errs in errors.items():
            run = (u0 + i) * P + p
            faults[run - u0 * P] = (f"run {run} (sample {samples[i]}, replicate {reps[i]}, "
                                    f"policy {pol.name}): {' '.join('; '.join(errs).split())}")
    if not valid.all():
        bad = np.repeat(~valid, P)
        status[bad] = RunStatus.INVALID_INPUT
        fail_time[bad] = np.nan
        fail_stock[bad] = -1
        for v in outputs.values():
            v[bad] = np.nan
    inputs = {k: np.repeat(v, P, axis=0) for k, v in values.items()}
    return st.BlockData(outputs, inputs, status, fail_time, fail_stock, faults)


def _indicators_of_run(plan: Plan, res: BatchResult, vals: Mapping[str, np.ndarray], i: int,
                       outputs: dict[str, np.ndarray], row: int) -> list[IndicatorError]:
    """The plugin indicators of run i of a batch into `outputs` row `row` (from the run as a
    Dataset, as `gsim.simulate` computes them), one at a time: an indicator that fails leaves
    its row NaN. Returns the errors of those that failed."""
    ds = to_dataset(plan.scenario, res.times, {k: v[i] for k, v in vals.items()}, {})
    errors = []
    for ind, _ in plan.indicators:
        try:
            outputs[ind.name][row] = add_indicators(ds, {ind.name: ind})[ind.name].values
        except IndicatorError as err:
            errors.append(err)
    return errors
