"""Robust many-objective optimisation of a policy's parameters (`gsim optimize`).

`optimize` builds the problem (problem.py), the scenario ensemble and its evaluator
(evaluate.py), and runs pymoo's loop (engine.py) into a Zarr store (store.py); `resume`
continues one; `open_optimization` reads the final non-dominated set. The ensemble is an LHS
of `[sweep.uncertain]`, or (`scenarios_from`) the NROY points of a history-match store.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numba
import numpy as np

from gsim.api import resolve_policy, scenario_indicators
from gsim.matching import MatchError, nroy_sample, nroy_spec, open_match
from gsim.optimize import store as ost
from gsim.optimize.engine import ProgressFn, model_evaluator, run_loop, warm_start_population
from gsim.optimize.evaluate import Evaluator
from gsim.optimize.problem import (
    ALGORITHMS,
    OptimizeError,
    Problem,
    parse_constraint,
    parse_levers,
    parse_objectives,
    parse_robustness,
)
from gsim.optimize.store import open_optimization
from gsim.scenario import Scenario, load_scenario, loads_scenario
from gsim.sweeps.spec import SweepSpec

__all__ = ["optimize", "resume", "open_optimization", "make_problem", "nroy_ensemble", "OptimizeError", "Problem"]

DEFAULT_SCENARIOS = 16  # an LHS of this size when --scenarios is not given
Stored = tuple[Scenario, SweepSpec]  # the scenario and spec (sampler "nroy") of stored points


def nroy_ensemble(sc: Scenario, match_store: str | Path, scenarios: int | None, seed: int,
                  policy: str) -> tuple[Stored, str]:
    """The first `scenarios` (None: all) NROY points of a history-match store as stored points
    applied by name to `sc`, and the match's config hash (which identifies them)."""
    try:
        ds = open_match(match_store)
        n_points = nroy_sample(ds).sizes["point"]
        if n_points == 0:
            raise MatchError(f"{match_store}: no point is left in NROY: the ensemble is empty")
        if scenarios is not None and scenarios > n_points:
            raise MatchError(f"{match_store}: --scenarios {scenarios} is more than its {n_points} NROY points")
        sc_points, spec = nroy_spec(sc, match_store, {"seed": seed, "policies": [policy]})
    except MatchError as e:
        raise OptimizeError(f"--scenarios-from: {e}") from None
    n = n_points if scenarios is None else scenarios
    assert spec.points is not None
    spec = dataclasses.replace(spec, samples=n, points=spec.points[:n])
    return (sc_points, spec), str(ds.attrs["config_hash"])


def make_problem(sc: Scenario, *, policy: str = "gradient", levers: str | None = None,
                 objectives: str = "real_gdp:max,theil:min", year: float | None = None, cumulate: bool = False,
                 robustness: str = "mean", constraints: tuple[str, ...] = (), scenarios: int | None = None,
                 population: int = 24, generations: int = 10, seed: int = 1, epsilon: float = 0.01,
                 algorithm: str = "auto", scenarios_from: str | Path | None = None) -> Problem:
    """The validated problem of the command line's options (an OptimizeError if one is bad).
    scenarios: the ensemble's size (default 16; with `scenarios_from`, every NROY point)."""
    return _problem(sc, policy=policy, levers=levers, objectives=objectives, year=year, cumulate=cumulate,
                    robustness=robustness, constraints=constraints, scenarios=scenarios, population=population,
                    generations=generations, seed=seed, epsilon=epsilon, algorithm=algorithm,
                    scenarios_from=scenarios_from)[0]


def _problem(sc: Scenario, *, policy: str = "gradient", levers: str | None = None,
             objectives: str = "real_gdp:max,theil:min", year: float | None = None, cumulate: bool = False,
             robustness: str = "mean", constraints: tuple[str, ...] = (), scenarios: int | None = None,
             population: int = 24, generations: int = 10, seed: int = 1, epsilon: float = 0.01,
             algorithm: str = "auto", scenarios_from: str | Path | None = None) -> tuple[Problem, Stored | None]:
    """The problem, and the stored ensemble when it comes from a match store."""
    pol, params = resolve_policy(sc, policy)
    for name, v, low in (("--scenarios", scenarios, 1), ("--population", population, 4),
                         ("--generations", generations, 1), ("--seed", seed, 0)):
        if v is not None and v < low:
            raise OptimizeError(f"{name}: must be at least {low}, got {v}")
    if not epsilon > 0:
        raise OptimizeError(f"--epsilon: must be positive, got {epsilon:g}")
    if algorithm not in ALGORITHMS:
        raise OptimizeError(f"--algorithm: expected one of {', '.join(ALGORITHMS)}, got {algorithm!r}")
    plugin = scenario_indicators(sc)
    obj = parse_objectives(objectives, plugin)
    lev = parse_levers(pol, params, levers)
    stored, match_hash = None, None
    if scenarios_from is not None:
        stored, match_hash = nroy_ensemble(sc, scenarios_from, scenarios, seed, pol.name)
        scenarios = stored[1].samples
    n = DEFAULT_SCENARIOS if scenarios is None else scenarios
    problem = Problem(pol.name, lev, obj, parse_robustness(robustness, obj, n),
                      tuple(parse_constraint(c, plugin) for c in constraints), float(sc.run.t1 if year is None else year),
                      cumulate, n, population, generations, seed, epsilon, algorithm, match_hash=match_hash)
    return problem, stored


def _threads(workers: int | None) -> bool:
    """Use `workers` threads for the kernel's lane groups (results do not depend on it)."""
    most = int(numba.config.NUMBA_NUM_THREADS)  # type: ignore[attr-defined]
    j = most if workers is None else max(1, min(workers, most))
    numba.set_num_threads(j)
    return j > 1


def optimize(out: str | Path, scenario: Scenario | str | Path | None = None, *, workers: int | None = None,
             warm_start: str | Path | None = None, progress: ProgressFn | None = None, **options) -> Path:
    """Run an optimisation (options: those of `make_problem`) into a new store `out`."""
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    problem, stored = _problem(sc, **options)
    if Path(out).exists():
        try:
            ost.open_group(out)
        except OptimizeError:  # a file or another store: nothing to resume
            raise OptimizeError(f"{out}: exists and is no optimisation store; choose another --out") from None
        raise OptimizeError(f"{out}: exists; remove it, or continue it with --resume {out}")
    initial = None if warm_start is None else warm_start_population(warm_start, problem)
    ev = Evaluator(sc, problem, parallel=_threads(workers), stored=stored)
    bau = ev.bau()
    defaults = ev.candidates(np.array([[lv.default for lv in problem.levers]]))[0]
    if ev.faults:  # a plugin failing already at the defaults or under business as usual: not a search
        raise OptimizeError(f"{ev.faults[0]} (business as usual or {problem.policy} at its default settings; "
                            f"{len(ev.faults)} run(s) stopped by a plugin fault)")
    source = None if options.get("scenarios_from") is None else Path(options["scenarios_from"]).resolve()
    g = ost.create(out, sc, problem, bau, defaults, initial, scenarios_from=source)
    with ost.write_lock(out):
        run_loop(problem, model_evaluator(ev, problem, bau), g, initial=initial, progress=progress,
                 runs_per_candidate=ev.n_scenarios)
    return Path(out)


def resume(out: str | Path, *, workers: int | None = None, progress: ProgressFn | None = None) -> Path:
    """Continue an interrupted optimisation store: the same result as if never interrupted."""
    g = ost.open_group(out, mode="r+")
    sc = loads_scenario(g.attrs["scenario_toml"], source=str(out))
    problem = Problem.from_json(g.attrs["problem"])
    if g.attrs["config_hash"] != ost.config_hash(sc, problem):
        raise OptimizeError(f"{out}: the store's scenario or problem does not match its config hash")
    initial = g["initial"][...] if "initial" in g else None
    stored = None
    if problem.match_hash is not None:  # the same NROY points, or none
        source = g.attrs["scenarios_from"]
        stored, match_hash = nroy_ensemble(sc, source, problem.scenarios, problem.seed, problem.policy)
        if match_hash != problem.match_hash:
            raise OptimizeError(f"{out}: its ensemble came from the match store {source} with config hash "
                                f"{problem.match_hash[:12]}, which now has {match_hash[:12]}: another ensemble")
    ev = Evaluator(sc, problem, parallel=_threads(workers), stored=stored)
    bau = g["bau"][...]
    with ost.write_lock(out):
        run_loop(problem, model_evaluator(ev, problem, bau), g, initial=initial, progress=progress,
                 runs_per_candidate=ev.n_scenarios)
    return Path(out)
