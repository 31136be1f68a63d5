"""Evaluating a generation: its candidates x the scenario ensemble as one batch.

The ensemble is the scenario's `[sweep.uncertain]` sampled by Latin hypercube (gsim.sweeps
sampling, seeded by the optimisation's seed), or with one scenario the scenario's own
parameters, or stored points given as a sweep spec with sampler "nroy" (a history match's
non-implausible set, `gsim.optimize.nroy_ensemble`). Every candidate runs on the same
ensemble (common random numbers): run c*N + n is candidate c in scenario n. A built-in
policy takes its levers per run, so the whole generation is one call of the compiled run
loop (`Kernels.run`, parameters per lane); so does, in the Python loop, a policy that accepts
parameters per run (`Policy.per_run_params`, e.g. `gsim.policies.compiled_policy`); another
policy runs once per candidate with its settings as plain numbers.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from gsim.api import resolve_policy, scenario_events, scenario_indicators
from gsim.context import checked_inputs
from gsim.groups import INPUTS as GROUP_INPUTS
from gsim.groups import group_aggregates, sending_mask
from gsim.indicators import IndicatorError, add_indicators
from gsim.integrate import BatchResult, RunStatus, TimeGrid, batch_from_scenario, run_batch
from gsim.model.calibrate import Calibration, calibrate
from gsim.model.inputs import BatchInputs
from gsim.model.layout import GROUP_AGGREGATES
from gsim.optimize.problem import OptimizeError, Problem
from gsim.output import to_dataset
from gsim.scenario import Scenario
from gsim.sweeps.sampling import apply_values, sampled_values
from gsim.sweeps.spec import SweepSpec, parse_spec


@dataclass(frozen=True)
class Ensemble:
    """The N valid scenarios every candidate runs in, calibrated once."""

    inputs: BatchInputs
    cal: Calibration
    samples: np.ndarray  # (N,) sample ids of the LHS design kept (valid inputs), -1 for the scenario itself


def ensemble(sc: Scenario, problem: Problem, stored: tuple[Scenario, SweepSpec] | None = None) -> Ensemble:
    """`stored`: the scenario and spec of stored points (sampler "nroy") instead of an LHS."""
    base = batch_from_scenario(sc, 1)
    if problem.scenarios == 1 and stored is None:
        ids = np.array([-1])
        inp = base
    else:
        if stored is None:
            spec = parse_spec(sc, {"samples": problem.scenarios, "sampler": "lhs", "seed": problem.seed,
                                   "policies": [problem.policy]})
        else:
            sc, spec = stored
        if not spec.uncertain:
            raise OptimizeError(f"{sc.source}: sweep.uncertain: no uncertain parameters to sample "
                                f"{problem.scenarios} scenarios from (use --scenarios 1)")
        all_ids = np.arange(problem.scenarios)
        values = sampled_values(spec, len(sc.regions), all_ids, np.zeros_like(all_ids))
        inp, valid = apply_values(base.repeat(problem.scenarios), sc, spec, values)
        ids = all_ids[valid]
        inp = _take(inp, ids)
    if ids.size == 0:
        raise OptimizeError(f"{sc.source}: sweep.uncertain: none of the {problem.scenarios} sampled scenarios "
                            "has valid inputs; the ensemble is empty")
    return Ensemble(inp, calibrate(inp), ids)


def _take(inp: BatchInputs, rows: np.ndarray) -> BatchInputs:
    sub = lambda a: np.ascontiguousarray(a[rows])  # noqa: E731
    return BatchInputs(sub(inp.sp), sub(inp.tp), sub(inp.reg), sub(inp.shares), inp.pairs)


def _tile(ens: Ensemble, C: int) -> tuple[BatchInputs, Calibration]:
    """The ensemble repeated for C candidates, candidate-major."""
    t = lambda a: np.ascontiguousarray(np.tile(a, (C,) + (1,) * (a.ndim - 1)))  # noqa: E731
    i, c = ens.inputs, ens.cal
    return (BatchInputs(t(i.sp), t(i.tp), t(i.reg), t(i.shares), i.pairs),
            Calibration(t(c.y0), t(c.wmin), t(c.D0), t(c.Ytot0), t(c.lnv0)))


class Evaluator:
    """Runs candidates (rows of lever values) on the ensemble; returns each run's indicators."""

    def __init__(self, sc: Scenario, problem: Problem, parallel: bool = True,
                 stored: tuple[Scenario, SweepSpec] | None = None):
        self.sc, self.problem, self.parallel = sc, problem, parallel
        saved = TimeGrid.of(sc.run).save_times
        if not np.isin(problem.year, saved[1:]):
            raise OptimizeError(f"--year: {problem.year:g} is not a saved year of the scenario after t0 "
                                f"({saved[0]:g}-{sc.run.t1:g} every {sc.run.save_every:g})")
        grid = TimeGrid.of(sc.run, problem.year)
        table = scenario_indicators(sc)
        # plugin indicators among the objectives or constraints, computed from each run's
        # Dataset as sweeps do (from every saved time: an indicator may accumulate over them)
        self.plugin = {n: table[n] for n in problem.indicators if n in table}
        # saving changes no trajectory: without --cumulate only t0 and the year are kept, which
        # spares the batch most of its copying out of the lanes
        self.grid = (grid if problem.cumulate or self.plugin
                     else dataclasses.replace(grid, save_every=problem.year - grid.t0))
        self.events = scenario_events(sc, self.grid)
        self.ens = ensemble(sc, problem, stored)
        self.sending = sending_mask(sc)
        self.runs = 0  # runs evaluated so far (for runs/s)
        self.faults: list[str] = []  # plugin faults (policy, event, indicator) since the last `clear`

    @property
    def n_scenarios(self) -> int:
        return self.ens.samples.size

    def indicators(self, policy_name: str, params_per_run: dict, C: int) -> np.ndarray:
        """(C, N, columns) values of problem.indicators (`Problem.columns`), at the year or
        cumulated; NaN where a run failed."""
        pol, params = resolve_policy(self.sc, policy_name)
        inp, cal = _tile(self.ens, C)
        N = self.n_scenarios
        names = self.problem.indicators
        need = set(names) | (set(GROUP_INPUTS) if set(names) & set(GROUP_AGGREGATES) else set())
        run: dict[str, Any] = dict(grid=self.grid, method=self.sc.run.method, tiers=self.sc.tiers,
                                   regions=self.sc.regions.name, save=None if self.plugin else need,
                                   parallel=self.parallel, events=self.events,
                                   policy_inputs=checked_inputs(self.sc, pol, scenario_indicators(self.sc)))
        if pol.compiled is not None or pol.per_run_params or not params_per_run:
            res = [run_batch(inp.with_params(), policy=pol, params={**params, **params_per_run}, cal=cal, **run)]
        else:  # a plugin policy gets its settings as plain numbers, one candidate at a time
            res = []
            for c in range(C):
                rows = np.arange(c * N, (c + 1) * N)
                one = {k: float(v[c * N]) for k, v in params_per_run.items()}
                cal_c = dataclasses.replace(cal, **{f.name: getattr(cal, f.name)[rows]
                                                    for f in dataclasses.fields(cal)})
                res.append(run_batch(_take(inp, rows), policy=pol, params={**params, **one}, cal=cal_c, **run))
        out = []
        for r in res:
            self.faults.extend(str(e) for e in r.faults.values())
            vals = dict(r.values)
            if set(names) & set(GROUP_AGGREGATES) or self.plugin:
                vals.update(group_aggregates(vals, self.sending))
            if self.plugin:
                vals.update(self._plugin_values(r, vals))
            # (B, T, columns): a column per indicator, one per region for a per-region one
            series = np.concatenate([vals[n] if vals[n].ndim == 3 else vals[n][..., None] for n in names], axis=-1)
            if self.problem.cumulate:  # the yearly values summed from t0 to the year, x save interval
                x = series.sum(axis=1) * self.sc.run.save_every
            else:
                x = series[:, -1]
            x[r.status != RunStatus.OK] = np.nan
            out.append(x)
        self.runs += C * N
        return np.concatenate(out).reshape(C, N, -1)

    def _plugin_values(self, r: BatchResult, vals: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """(B, T) values of the plugin indicators of the problem, run by run (NaN where the run
        failed or the indicator raised: such a run counts as failed for it)."""
        out = {n: np.full((len(r.status), len(r.times)), np.nan) for n in self.plugin}
        for i in np.nonzero(r.status == RunStatus.OK)[0]:
            ds = to_dataset(self.sc, r.times, {k: v[i] for k, v in vals.items()}, {})
            for name, ind in self.plugin.items():
                try:
                    da = add_indicators(ds, {name: ind})[name]
                except IndicatorError as err:
                    self.faults.append(str(err))
                    continue
                if da.dims != ("time",):
                    raise OptimizeError(f"--objectives: plugin indicator {name!r} has the axes {da.dims}; an "
                                        "objective or constraint needs one with only a time axis")
                out[name][i] = da.values
        return out

    def candidates(self, X: np.ndarray) -> np.ndarray:
        """(C, N, I) indicators of candidates X (C, levers)."""
        X = np.atleast_2d(np.asarray(X, np.float64))
        N = self.n_scenarios
        per_run = {lv.name: np.repeat(X[:, j], N) for j, lv in enumerate(self.problem.levers)}
        return self.indicators(self.problem.policy, per_run, X.shape[0])

    def bau(self) -> np.ndarray:
        """(N, I) indicators of business as usual in each scenario."""
        return self.indicators(self.problem.bau_policy, {}, 1)[0]
