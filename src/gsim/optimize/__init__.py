"""Robust many-objective optimisation of a policy's parameters (`gsim optimize`).

`optimize` builds the problem (problem.py), the scenario ensemble and its evaluator
(evaluate.py), and runs pymoo's loop (engine.py) into a Zarr store (store.py); `resume`
continues one; `open_optimization` reads the final non-dominated set.
"""

from __future__ import annotations

from pathlib import Path

import numba
import numpy as np

from gsim.api import resolve_policy
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

__all__ = ["optimize", "resume", "open_optimization", "make_problem", "OptimizeError", "Problem"]


def make_problem(sc: Scenario, *, policy: str = "gradient", levers: str | None = None,
                 objectives: str = "real_gdp:max,theil:min", year: float | None = None, cumulate: bool = False,
                 robustness: str = "mean", constraints: tuple[str, ...] = (), scenarios: int = 16,
                 population: int = 24, generations: int = 10, seed: int = 1, epsilon: float = 0.01,
                 algorithm: str = "auto") -> Problem:
    """The validated problem of the command line's options (an OptimizeError if one is bad)."""
    pol, params = resolve_policy(sc, policy)
    for name, v, low in (("--scenarios", scenarios, 1), ("--population", population, 4),
                         ("--generations", generations, 1), ("--seed", seed, 0)):
        if v < low:
            raise OptimizeError(f"{name}: must be at least {low}, got {v}")
    if not epsilon > 0:
        raise OptimizeError(f"--epsilon: must be positive, got {epsilon:g}")
    if algorithm not in ALGORITHMS:
        raise OptimizeError(f"--algorithm: expected one of {', '.join(ALGORITHMS)}, got {algorithm!r}")
    obj = parse_objectives(objectives)
    return Problem(pol.name, parse_levers(pol, params, levers), obj, parse_robustness(robustness, obj, scenarios),
                   tuple(parse_constraint(c) for c in constraints), float(sc.run.t1 if year is None else year),
                   cumulate, scenarios, population, generations, seed, epsilon, algorithm)


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
    problem = make_problem(sc, **options)
    if Path(out).exists():
        raise OptimizeError(f"{out}: exists; remove it, or continue it with --resume {out}")
    initial = None if warm_start is None else warm_start_population(warm_start, problem)
    ev = Evaluator(sc, problem, parallel=_threads(workers))
    bau = ev.bau()
    defaults = ev.candidates(np.array([[lv.default for lv in problem.levers]]))[0]
    g = ost.create(out, sc, problem, bau, defaults, initial)
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
    ev = Evaluator(sc, problem, parallel=_threads(workers))
    bau = g["bau"][...]
    with ost.write_lock(out):
        run_loop(problem, model_evaluator(ev, problem, bau), g, initial=initial, progress=progress,
                 runs_per_candidate=ev.n_scenarios)
    return Path(out)
