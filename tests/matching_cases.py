"""Small scenarios and synthetic histories for the history-matching tests.

The "history" is made by the model itself at planted inputs (gsim.simulate, a plain run, not
the matching code path), and the targets are computed from that Dataset with NumPy here, so
the matching code is checked against an independent computation.
"""

from __future__ import annotations

import numpy as np

import gsim
from gsim.scenario import Scenario, loads_scenario

REGIONS = """
[[regions]]
name = "A"
macro_region = "East"
lat = 30.0
lon = 120.0
gdp = 4000.0
population = 60.0
schooling = 10.5
[[regions]]
name = "B"
macro_region = "Central"
lat = 31.0
lon = 112.0
gdp = 1500.0
population = 50.0
schooling = 9.5
[[regions]]
name = "C"
macro_region = "West"
lat = 30.0
lon = 104.0
gdp = 700.0
population = 35.0
schooling = 8.8
[shares]
East = [0.15, 0.10, 0.40, 0.35]
Central = [0.25, 0.30, 0.30, 0.15]
West = [0.30, 0.35, 0.25, 0.10]
"""

UNCERTAIN = {
    "sigma": (0.30, 0.50),
    "nu0": (0.01, 0.05),
    "mu": (0.01, 0.05),
}
TRUTH = {"sigma": 0.43, "nu0": 0.022, "mu": 0.035}
T0, T1, HOLD = 2013.0, 2021.0, 2019.0


def regions(gdp_factors: tuple[float, ...] = (1.0, 1.0, 1.0)) -> str:
    """The three regions, their GDP multiplied by the factors (as a sweep scales region.gdp)."""
    text = REGIONS
    for base, f in zip((4000.0, 1500.0, 700.0), gdp_factors):
        text = text.replace(f"gdp = {base!r}\n", f"gdp = {float(base * f)!r}\n")
    return text


def scenario(match: str = "", uncertain: dict[str, tuple[float, float]] | None = None,
             sweep_extra: str = "", region_rows: str = REGIONS) -> Scenario:
    """Three regions, 2013-2021, dt 0.25, market; `match`: the [match] TOML text. Migration
    follows wage levels (GTM-2's spatial_equilibrium = 0): from the start year's equilibrium
    it answers only wage changes, and the planted μ would hardly move these targets. Each
    region closes its own catch-up gap (national_catchup = 0): under the nation's catch-up the
    planted ν0 would hardly move the regions' shares."""
    unc = uncertain if uncertain is not None else UNCERTAIN
    rows = "\n".join(f'"{k}" = {{ dist = "uniform", low = {lo}, high = {hi} }}' for k, (lo, hi) in unc.items())
    text = f"""
[scenario]
name = "hm3"
[run]
t0 = {T0}
t1 = {T1}
dt = 0.25
policy = "market"
[params]
spatial_equilibrium = 0.0
national_catchup = 0.0
[sweep]
seed = 7
policies = ["market"]
{sweep_extra}
[sweep.uncertain]
{rows}
{region_rows}
{match}
"""
    return loads_scenario(text, source="hm3.toml")


def history(truth: dict[str, float] | None = None, t1: float = T1):
    """The model's own run at the planted inputs (a Dataset)."""
    sc = scenario().with_overrides(**(truth or TRUTH))
    return gsim.simulate(sc, "market", t1=t1)


def theil(gdp: np.ndarray, lf: np.ndarray) -> np.ndarray:
    s, p = gdp / gdp.sum(-1, keepdims=True), lf / lf.sum(-1, keepdims=True)
    return (s * np.log(s / p)).sum(-1)


def planted_targets(ds, noise: np.random.Generator | None = None, rel: float = 0.0) -> str:
    """[[match.targets]] rows with values from the planted run `ds` (computed here with
    NumPy), optionally perturbed by relative noise; 2020-2021 held out."""
    t = ds["time"].values
    at = {int(y): int(np.flatnonzero(t == y)[0]) for y in t}
    gdp, lf = ds["gdp"].values, ds["labor_force"].values
    real = ds["real_gdp"].values
    th = theil(gdp, lf)
    x = t[at[2013]:at[2019] + 1]
    rows = [
        ("growth", "years = [2013, 2019]", (real[at[2019]] / real[at[2013]]) ** (1 / 6) - 1, 0.002),
        ("gdp_share", 'region = "A"\nyear = 2019', gdp[at[2019], 0] / gdp[at[2019]].sum(), 0.002),
        ("gdp_share", 'region = ["B", "C"]\nyear = 2016', gdp[at[2016], 1:].sum() / gdp[at[2016]].sum(), 0.002),
        ("population_share", 'region = "C"\nyear = 2019', lf[at[2019], 2] / lf[at[2019]].sum(), 0.0005),
        ("theil", "year = 2019", th[at[2019]], 0.0005),
        ("theil_slope", "years = [2013, 2019]", np.polyfit(x, th[at[2013]:at[2019] + 1], 1)[0], 0.0002),
        ("utilisation", "year = 2019", ds["utilization"].values[at[2019]].mean(), 0.005),
        ("gdp_share", 'region = "A"\nyear = 2021\nholdout = true', gdp[at[2021], 0] / gdp[at[2021]].sum(), 0.002),
        ("population_share", 'region = "C"\nyear = 2021\nholdout = true', lf[at[2021], 2] / lf[at[2021]].sum(), 0.0005),
    ]
    out = []
    for kind, where, value, sd in rows:
        if noise is not None:
            value = value * (1 + rel * noise.normal())
        out.append(f'[[match.targets]]\nkind = "{kind}"\n{where}\nvalue = {float(value)!r}\nobs_sd = {sd}\n'
                   f'obs_reason = "synthetic noise level"\ndisc_sd = {sd / 2}\n'
                   'disc_reason = "synthetic: the model made the data"\n')
    return "\n".join(out)
