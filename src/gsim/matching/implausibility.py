"""Target values of runs, and the implausibility measure of history matching.

I_j(x) = |z_j - f_j(x)| / sqrt(V_obs,j + V_disc,j + V_ens,j(x)) for target j (Vernon,
Goldstein & Bower 2010, eq. 9 with the simulator itself in place of an emulator: the emulator
variance is replaced by the ensemble variance of replicates, 0 for a deterministic run). A point
is ruled out when the k-th largest I_j exceeds the cutoff (k = 1, 2, 3: max, second max,
third max); a run that failed, or whose inputs were invalid, has I = inf.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from gsim.matching.targets import USES, Target, ols_slope


def _at(times: np.ndarray, year: float) -> int:
    return int(np.flatnonzero(np.isclose(times, year, rtol=0, atol=1e-9))[0])


def target_values(targets: Sequence[Target], times: np.ndarray, values: Mapping[str, np.ndarray],
                  regions: Sequence[str], tiers: Sequence[str]) -> np.ndarray:
    """(B, n_targets) model values of a batch from its saved outputs (name -> (B, T, ...))."""
    B = len(next(iter(values.values())))
    out = np.empty((B, len(targets)))
    with np.errstate(all="ignore"):  # failed runs hold NaN
        for j, t in enumerate(targets):
            if t.kind in ("gdp_share", "population_share"):
                v = values["gdp" if t.kind == "gdp_share" else "labor_force"][:, _at(times, t.years[0])]
                idx = [regions.index(r) for r in t.regions]
                out[:, j] = v[:, idx].sum(axis=1) / v.sum(axis=1)
            elif t.kind == "growth":
                g = values["real_gdp"]
                a, b = _at(times, t.years[0]), _at(times, t.years[1])
                out[:, j] = (g[:, b] / g[:, a]) ** (1.0 / (t.years[1] - t.years[0])) - 1.0
            elif t.kind == "theil":
                out[:, j] = values["theil"][:, _at(times, t.years[0])]
            elif t.kind == "theil_slope":
                a, b = _at(times, t.years[0]), _at(times, t.years[1])
                out[:, j] = ols_slope(times[a:b + 1], values["theil"][:, a:b + 1])
            elif t.kind == "utilisation":
                u = values["utilization"][:, _at(times, t.years[0])]
                out[:, j] = u[:, tiers.index(t.tier)] if t.tier else u.mean(axis=1)
            else:  # pragma: no cover - kinds are validated
                raise AssertionError(t.kind)
    return out


def implausibility(observed: np.ndarray | float, model: np.ndarray | float, obs_var: np.ndarray | float,
                   disc_var: np.ndarray | float, ens_var: np.ndarray | float = 0.0) -> np.ndarray:
    """|z - f| / sqrt(V_obs + V_disc + V_ens), element-wise (targets on the last axis); a NaN
    model value (a failed run) gives inf."""
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.abs(np.asarray(observed) - np.asarray(model)) / np.sqrt(
            np.asarray(obs_var) + np.asarray(disc_var) + np.asarray(ens_var))
    return np.where(np.isnan(out), np.inf, out)


def kth_max(imp: np.ndarray, k: int) -> np.ndarray:
    """The k-th largest value along the last axis (k = 1: the maximum)."""
    return np.sort(imp, axis=-1)[..., -k]


def measure(imp: np.ndarray, use: str) -> np.ndarray:
    """The implausibility a cutoff applies to: max, second_max or third_max over targets."""
    return kth_max(imp, USES[use])
