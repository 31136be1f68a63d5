"""Robustness metrics: a candidate's values over the scenario ensemble -> one score each.

`values` is (C, N, K): C candidates, N scenarios (common random numbers: scenario n is the
same for every candidate), K objectives; NaN marks a run that failed. Every metric except
regret against the generation's best reads only the candidate's own row, so a candidate's
score never depends on the other candidates (the defect of scoring over a whole
generation's runs). Regret is, by its definition, relative: to the best candidate of the
same generation in the same scenario, or to business as usual (`bau`, (N, K)), then the
candidate's own runs only.
"""

from __future__ import annotations

import warnings

import numpy as np

from gsim.optimize.problem import Constraint, Problem, Robustness


def _better_sign(directions) -> np.ndarray:
    """+1 where larger is better, -1 where smaller is."""
    return np.array([1.0 if d == "max" else -1.0 for d in directions])


def regrets(values: np.ndarray, directions, against: np.ndarray) -> np.ndarray:
    """(C, N, K) regret of each run: how much worse than `against` ((N, K) or (C, N, K)),
    in the objective's units; negative where better (possible against business as usual)."""
    return (against - values) * _better_sign(directions)


def scores(values: np.ndarray, rob: Robustness, directions, thresholds=None,
           bau: np.ndarray | None = None) -> np.ndarray:
    """(C, K) robustness scores of (C, N, K) values. Failed runs (NaN) are left out of mean,
    percentiles and snr; they never meet a satisficing threshold and count as the worst
    regret (inf). A candidate whose runs all failed scores NaN."""
    sign = _better_sign(directions)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows give NaN, as documented
        if rob.kind == "mean":
            return np.nanmean(values, axis=1)
        if rob.kind == "percentile":
            return np.nanpercentile(values, rob.q, axis=1)
        if rob.kind == "snr":  # signal-to-noise: mean/std when maximising, mean*std when minimising
            mean, std = np.nanmean(values, axis=1), np.nanstd(values, axis=1)
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.where(sign > 0, mean / std, mean * std)
        if rob.kind == "satisficing":
            t = np.asarray(thresholds, float)
            met = np.where(sign > 0, values >= t, values <= t)
            return met.mean(axis=1)
        if rob.kind == "regret":
            if rob.against == "bau":
                if bau is None:
                    raise ValueError("regret against business as usual needs its values")
                ref = bau[None]
            else:  # the best candidate of this generation in the same scenario
                ref = np.nanmax(values * sign, axis=0, keepdims=True) * sign
            r = np.where(np.isnan(values), np.inf, regrets(values, directions, ref))
            return np.percentile(r, rob.q, axis=1, method="higher") if rob.q < 100 else r.max(axis=1)
    raise ValueError(f"unknown robustness {rob.kind!r}")


def constraint_shares(values: np.ndarray, c: Constraint, bau: np.ndarray | None) -> np.ndarray:
    """(C,) share of each candidate's scenarios that meet constraint `c`; values (C, N), or
    (C, N, R) for a per-region indicator, which must meet it in every region."""
    x = values
    if c.bau:
        assert bau is not None
        with np.errstate(divide="ignore", invalid="ignore"):
            x = (values - bau) / np.abs(bau) * 100.0 if c.percent else values - bau
    met = x >= c.value if c.op == ">=" else x <= c.value
    if met.ndim == 3:
        met = np.asarray(met.all(axis=2))
    return met.mean(axis=1)


def evaluate_scores(problem: Problem, values: np.ndarray, bau: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scores (C, K objectives) and constraint violations G (C, 1 + constraints), G <= 0
    meaning satisfied: first the share of failed runs, then each constraint's missing share.
    `values` (C, N, columns) and bau (N, columns) as `Problem.columns` lays them out."""
    K = len(problem.objectives)
    dirs = [o.direction for o in problem.objectives]
    thresholds = [o.threshold for o in problem.objectives]
    s = scores(values[..., :K], problem.robustness, dirs, thresholds, bau[:, :K])
    G = [np.isnan(values[..., :K]).any(axis=2).mean(axis=1)]
    where = problem.columns(values.shape[-1])
    for c in problem.constraints:
        i: int | slice = where[c.indicator]
        if not c.per_region:
            i = where[c.indicator].start
        G.append(c.share - constraint_shares(values[..., i], c, bau[:, i]))
    return s, np.stack(G, axis=1)
