"""The front against the policy's default settings and business as usual.

Every member of the final non-dominated set, the defaults and business as usual are scored
with the optimisation's own robustness metric on the same scenarios (regret against the best
of the generation: against the best of these together), so the comparison is like for like.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gsim.optimize import store as ost
from gsim.optimize.problem import Problem
from gsim.optimize.robust import evaluate_scores


@dataclass(frozen=True)
class Comparison:
    problem: Problem
    levers: np.ndarray  # (C, V) the front's settings
    scores: np.ndarray  # (C, K) their scores
    default_scores: np.ndarray  # (K,)
    bau_scores: np.ndarray  # (K,)
    dominates_defaults: np.ndarray  # (C,) bool: at least as good in every score, better in one
    gain: np.ndarray  # (C, K) score minus the defaults' score, in the better direction (>0: better)


def compare(path: str | Path) -> Comparison:
    g = ost.open_group(path)
    problem = Problem.from_json(g.attrs["problem"])
    arch = np.array(g.attrs["archive"], np.int64).reshape(-1, 2)
    values = np.asarray(g["values"][...])[arch[:, 0], arch[:, 1]]  # (C, N, I)
    bau, defaults = np.asarray(g["bau"][...]), np.asarray(g["defaults"][...])
    stack = np.concatenate([values, defaults[None], bau[None]])
    scores, _ = evaluate_scores(problem, stack, bau)
    sign = np.array([1.0 if d == "max" else -1.0 for d in problem.score_directions()])
    front, dflt, b = scores[:-2], scores[-2], scores[-1]
    better = (front - dflt) * sign
    dominates = (better >= 0).all(axis=1) & (better > 0).any(axis=1)
    return Comparison(problem, np.asarray(g["levers"][...])[arch[:, 0], arch[:, 1]], front, dflt, b, dominates,
                      better)


def describe(c: Comparison) -> list[str]:
    """In words: how many settings of the front dominate the defaults, and the ranges of the
    levers and the gains among them."""
    p = c.problem
    names = [lv.name for lv in p.levers]
    defaults = ", ".join(f"{lv.name} {lv.default:g}" for lv in p.levers)
    if not len(c.scores) and p.constraints:  # an empty front: no candidate was feasible
        return [f"No setting of {p.policy} meets the constraints ({', '.join(k.text for k in p.constraints)}) "
                f"in the required share of the {p.scenarios} scenario{'s' if p.scenarios > 1 else ''}: the front "
                "is empty; relax them (the store's `violation` array: each candidate's missing share of scenarios)."]
    lines = [f"{len(c.scores)} setting{'s' if len(c.scores) != 1 else ''} of {p.policy} "
             f"{'are' if len(c.scores) != 1 else 'is'} non-dominated ({p.robustness.text} over "
             f"{p.scenarios} scenario{'s' if p.scenarios > 1 else ''}, {'to' if p.cumulate else 'in'} {p.year:g})."]
    n = int(c.dominates_defaults.sum())
    if not n:
        lines.append(f"None of them dominates the default settings ({defaults}).")
        return lines
    lines.append(f"{n} of them {'dominates' if n == 1 else 'dominate'} the default settings ({defaults}): "
                 "at least as good in every objective and better in one.")
    sel = c.levers[c.dominates_defaults]
    lines.append("Their settings: " + "; ".join(f"{nm} {sel[:, j].min():.3g}-{sel[:, j].max():.3g}"
                                                for j, nm in enumerate(names)) + ".")
    gain = c.gain[c.dominates_defaults]
    parts = []
    for k, o in enumerate(p.objectives):
        rel = gain[:, k] / abs(c.default_scores[k]) * 100 if c.default_scores[k] else None
        span = f"{gain[:, k].min():.4g} to {gain[:, k].max():.4g}"
        if rel is not None:
            span += f" ({rel.min():.2f} to {rel.max():.2f} %)"
        parts.append(f"{o.indicator} ({o.direction}) better by {span}")
    lines.append("Gain over the defaults: " + "; ".join(parts) + ".")
    return lines
