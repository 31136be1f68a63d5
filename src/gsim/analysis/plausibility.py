"""Forward plausibility: a sweep's business-as-usual path against the provincial SSP
projections (docs/validation.md, "Forward plausibility").

Two checks on the runs of the business-as-usual policy: national real GDP at the end year
over the start year against the envelope of SSP1-SSP5 (the SSPs' own ratio over the same
years), and each province's population at the end year (labour force / λ_LF with the
participation trend n removed) against the range of the SSPs for that province.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from gsim.observed import load_ssp
from gsim.scenario import loads_scenario
from gsim.sweeps.store import open_sweep


def ssp_envelope(t0: int, t1: int) -> xr.Dataset:
    """National GDP t1/t0 per SSP, and the provinces' population in t1 per SSP (million)."""
    ssp = load_ssp()
    gdp = ssp.gdp.sum("region")
    missing = [y for y in (t0, t1) if y not in gdp.year.values]
    if missing:
        raise ValueError(f"the SSP projections have no year {missing[0]}")
    pop = ssp.population.sel(year=t1)
    if bool(pop.isnull().any()):
        raise ValueError(f"the SSP projections give population every 5 years; {t1} is not one of them")
    return xr.Dataset({"gdp_ratio": gdp.sel(year=t1) / gdp.sel(year=t0), "population": pop})


def forward_plausibility(store: str | Path, policy: str = "market", t1: int = 2050) -> xr.Dataset:
    """The business-as-usual runs of a sweep against the SSP envelope (see the module)."""
    runs = open_sweep(store)
    if policy not in runs.policy.values.tolist():
        raise ValueError(f"{store}: no policy {policy!r} in this sweep")
    bau = runs.sel(policy=policy)
    t0 = int(round(float(bau.time.values[0])))
    env = ssp_envelope(t0, t1)
    at_end = bau.time.values == t1
    if not at_end.any():
        raise ValueError(f"{store}: the sweep does not save the year {t1}")
    g = bau.real_gdp.load()
    ratio = (g.isel(time=int(np.flatnonzero(at_end)[0])) / g.isel(time=0)).stack(run=("sample", "replicate"))
    lo, hi = float(env.gdp_ratio.min()), float(env.gdp_ratio.max())
    out = xr.Dataset({"gdp_ratio": ratio.reset_index("run", drop=True)})
    out["ssp_gdp_ratio"] = env.gdp_ratio
    out.attrs.update(policy=policy, t0=t0, t1=t1, ssp_low=lo, ssp_high=hi,
                     inside_share=float(((ratio >= lo) & (ratio <= hi)).sum() / ratio.notnull().sum()))
    if "labor_force" in bau:
        params = loads_scenario(runs.attrs["scenario_toml"]).params
        n = bau["n"] if "n" in bau.coords else params["n"]  # sampled, or the scenario's
        lam = bau["lambda_LF"] if "lambda_LF" in bau.coords else params["lambda_LF"]
        lf = bau.labor_force.load().isel(time=int(np.flatnonzero(at_end)[0]))
        pop = lf * np.exp(-n * (t1 - t0)) / lam  # population: the labour force without its participation trend
        med = pop.median(("sample", "replicate"))
        plo, phi = env.population.min("ssp"), env.population.max("ssp")
        out["population_median"] = med
        out["ssp_population_low"], out["ssp_population_high"] = plo, phi
        inside = (med >= plo) & (med <= phi)
        out["population_inside"] = inside
        out.attrs["population_inside_provinces"] = int(inside.sum())
    return out
