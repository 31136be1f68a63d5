"""The optimisation loop: pymoo's NSGA-II (NSGA-III beyond three objectives) by ask and tell,
one batch evaluation per generation, an epsilon-archive and its hypervolume (moocore).

Resuming replays: a fresh algorithm with the same seed asks for the same candidates, and
is told the stored scores instead of recomputing them, so a resumed optimisation continues
exactly where the original would have (pymoo's state is never pickled). Nothing depends on
the thread count: the evaluation's runs are independent lanes of the compiled kernel.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gsim.optimize import store as ost
from gsim.optimize.problem import ALGORITHMS, OptimizeError, Problem
from gsim.optimize.robust import evaluate_scores

# (generation done, of, hypervolume, runs per second)
ProgressFn = Callable[[int, int, float, float], None]
# candidates X (C, levers) -> (scores (C, K), violations (C, M), values (C, N, I))
EvaluateFn = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]


def to_minimise(scores: np.ndarray, directions) -> np.ndarray:
    """pymoo minimises: maximised scores change sign; NaN (all runs failed) is the worst."""
    sign = np.array([-1.0 if d == "max" else 1.0 for d in directions])
    F = scores * sign
    return np.where(np.isfinite(F), F, 1e300)


def reference_directions(n_obj: int, population: int) -> np.ndarray:
    """Das-Dennis directions for NSGA-III: the most partitions whose count fits the population."""
    from pymoo.util.ref_dirs import get_reference_directions

    p = 1
    while math.comb(p + 1 + n_obj - 1, n_obj - 1) <= population:
        p += 1
    return get_reference_directions("das-dennis", n_obj, n_partitions=p)


def make_algorithm(problem: Problem, initial: np.ndarray | None):
    from pymoo.algorithms.moo.nsga2 import NSGA2
    from pymoo.algorithms.moo.nsga3 import NSGA3
    from pymoo.core.problem import Problem as PymooProblem

    K = len(problem.objectives)
    kind = problem.algorithm if problem.algorithm != "auto" else ("nsga3" if K > 3 else "nsga2")
    assert kind in ALGORITHMS
    opts: dict[str, Any] = {"pop_size": problem.population}
    if initial is not None:
        opts["sampling"] = initial
    algo = (NSGA3(reference_directions(K, problem.population), **opts) if kind == "nsga3"
            else NSGA2(**opts))
    xl = np.array([lv.low for lv in problem.levers])
    xu = np.array([lv.high for lv in problem.levers])
    pm = PymooProblem(n_var=len(xl), n_obj=K, n_ieq_constr=1 + len(problem.constraints), xl=xl, xu=xu)
    algo.setup(pm, termination=("n_gen", problem.generations), seed=problem.seed, verbose=False)
    return algo, pm


@dataclass
class Archive:
    """An epsilon-archive of feasible candidates over all generations: one per epsilon-box,
    boxes not dominated by another box; F minimised. The boxes' origin and size, and the
    hypervolume's normalisation, come from the first generation."""

    epsilon: float
    origin: np.ndarray | None = None
    scale: np.ndarray | None = None
    F: np.ndarray = field(default_factory=lambda: np.empty((0, 0)))
    ids: list[tuple[int, int]] = field(default_factory=list)

    def fix_frame(self, F: np.ndarray) -> None:
        finite = F[(F < 1e300).all(axis=1)] if F.size else F
        if not finite.size:
            finite = np.zeros((1, F.shape[1]))
        self.origin = finite.min(axis=0)
        span = finite.max(axis=0) - self.origin
        self.scale = np.where(span > 0, span, np.maximum(np.abs(self.origin), 1.0))

    def add(self, gen: int, F: np.ndarray, feasible: np.ndarray) -> None:
        from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

        if self.origin is None:
            self.fix_frame(F[feasible] if feasible.any() else F)
        assert self.origin is not None and self.scale is not None
        new = [(gen, int(m)) for m in np.flatnonzero(feasible)]
        allF = np.concatenate([self.F.reshape(-1, F.shape[1]), F[feasible]])
        ids = self.ids + new
        if not ids:
            return
        z = (allF - self.origin) / self.scale
        box = np.floor(z / self.epsilon)
        front = NonDominatedSorting().do(box, only_non_dominated_front=True)
        dist = np.linalg.norm(z - box * self.epsilon, axis=1)
        keep: dict[tuple, int] = {}
        for i in sorted(front, key=lambda i: (dist[i], ids[i])):
            keep.setdefault(tuple(box[i]), i)
        order = sorted(keep.values(), key=lambda i: ids[i])
        self.F, self.ids = allF[order], [ids[i] for i in order]

    def hypervolume(self) -> float:
        """Of the archive in the first generation's frame, against 1.1 x its worst point."""
        import moocore

        if not self.ids:
            return 0.0
        assert self.origin is not None and self.scale is not None
        z = (self.F - self.origin) / self.scale
        return float(moocore.hypervolume(z, ref=np.full(z.shape[1], 1.1)))


def run_loop(problem: Problem, evaluate: EvaluateFn, g, *, initial: np.ndarray | None = None,
             progress: ProgressFn | None = None, runs_per_candidate: int = 1) -> Archive:
    """Ask, evaluate, tell for every generation not yet in store group `g`; the generations
    already stored are replayed from it (the same candidates must come back)."""
    from pymoo.core.evaluator import Evaluator
    from pymoo.problems.static import StaticProblem

    algo, pm = make_algorithm(problem, initial)
    dirs = problem.score_directions()
    archive = Archive(problem.epsilon)
    done = int(g.attrs["generations_done"]) if g is not None else 0
    t_start, runs = time.perf_counter(), 0
    for gen in range(problem.generations):
        pop = algo.ask()
        X = pop.get("X")
        if gen < done:
            Xs, scores, viol, _ = ost.read_generation(g, gen)
            if not np.array_equal(Xs[:len(X)], X):
                raise OptimizeError(f"generation {gen} asks for other candidates than the store holds: "
                                    "it was made by another pymoo or NumPy version; start a new store")
            scores, viol = scores[:len(X)], viol[:len(X)]
        else:
            scores, viol, values = evaluate(X)
        F = to_minimise(scores, dirs)
        Evaluator().eval(StaticProblem(pm, F=F, G=viol), pop)
        algo.tell(infills=pop)
        archive.add(gen, F, np.asarray((viol <= 0).all(axis=1)))
        hv = archive.hypervolume()
        if gen >= done:
            runs += len(X) * runs_per_candidate
            if g is not None:
                P = problem.population
                ost.write_generation(g, gen, _pad(X, P), _pad(scores, P), _pad(viol, P), _pad(values, P), hv,
                                     archive.ids)
        if progress is not None:
            elapsed = time.perf_counter() - t_start
            progress(gen + 1, problem.generations, hv, runs / elapsed if elapsed > 0 and runs else 0.0)
    return archive


def _pad(a: np.ndarray, n: int) -> np.ndarray:
    """a with NaN rows up to n rows (pymoo may offer fewer offspring than asked)."""
    return np.concatenate([a, np.full((n - len(a),) + a.shape[1:], np.nan)])


def warm_start_population(path: str | Path, problem: Problem) -> np.ndarray:
    """The front of an earlier optimisation's store as the first population: its archive's
    settings of the same levers, clipped to this problem's ranges, topped up with uniform
    random settings (seeded) to a full population."""
    old = ost.open_optimization(path)
    names = [lv.name for lv in problem.levers]
    if sorted(map(str, old.lever.values)) != sorted(names):
        raise OptimizeError(f"--warm-start: {path} has levers {', '.join(map(str, old.lever.values))}, "
                            f"not {', '.join(names)}")
    X = old.levers.sel(lever=names).values[: problem.population]
    lo = np.array([lv.low for lv in problem.levers])
    hi = np.array([lv.high for lv in problem.levers])
    X = np.clip(X, lo, hi)
    rng = np.random.default_rng(problem.seed)
    extra = rng.uniform(lo, hi, (problem.population - len(X), len(names)))
    return np.ascontiguousarray(np.concatenate([X, extra]))


def model_evaluator(ev, problem: Problem, bau: np.ndarray) -> EvaluateFn:
    """The EvaluateFn of a gsim model Evaluator (gsim.optimize.evaluate)."""
    def evaluate(X):
        values = ev.candidates(X)
        scores, viol = evaluate_scores(problem, values, bau)
        return scores, viol, values
    return evaluate
