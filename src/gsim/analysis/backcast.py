"""The backcast: a scenario started at a past year, run to the last data year under business
as usual, set against the observed provincial panel (docs/validation.md, "Backcast").

`backcast(sc)` returns an xarray Dataset on (time, region) with the observed and modelled GDP
and population in the same units, the national and macro-region series, and the fit
statistics per series (variables on a `series` dimension):

- rmse and bias of the model against the observations over the years after the start (shares
  in percentage points, growth in percent a year, the Theil index in its own units);
- rank correlation (Spearman) of the provinces' growth from start to end, model against data;
- coverage: the share of observations inside the ensemble's 5-95 % band (ensembles only);
- skill against persistence: 1 - rmse(model) / rmse(persistence) at the last year, where
  persistence is the forecast "every province keeps its start-year share". A skill <= 0
  means the model does not beat persistence.

Observed GDP is nominal (current prices); the model's regional GDP is nominal at start-year
price levels with the model's own tier prices. Shares are compared as nominal shares; the
national real growth rate uses the observed national real growth series. Where the provincial
real GDP index covers the window (`china31_provincial.csv`: to 2019), ``real_gdp_share``
compares shares at start-year prices too, so that a province's relative prices (after 2013 the
deflators of the resource provinces fell against the others') are told apart from its real
growth: observed, the start-year nominal share carried forward by the province's real index;
model, its real output. Its statistics cover the years the index has; its skill is at the last
of them (`series_end`).
"""

from __future__ import annotations

from importlib.resources import files

import numpy as np
import xarray as xr
from scipy import stats

from gsim.api import resolve_policy, scenario_indicators
from gsim.context import checked_inputs
from gsim.integrate import TimeGrid, batch_from_scenario, run_batch
from gsim.model.rules import run_memory
from gsim.observed import load_national, load_panel, load_provincial
from gsim.output import provenance
from gsim.scenario import Scenario, load_scenario
from gsim.sweeps.components import memory_excess
from gsim.sweeps.sampling import apply_values, sampled_values
from gsim.sweeps.spec import parse_spec

START, END = 2013, 2023  # the default window: ten years; 2024 GDP is on the post-census basis
SAVE = ("gdp", "real_output", "labor_force", "real_gdp", "theil")
BAND = (0.05, 0.95)
STATISTICS = ("rmse", "bias", "rank_correlation", "coverage", "skill")


def backcast_scenario(sc: Scenario | None = None, start: int = START, end: int = END) -> Scenario:
    """`sc` (default: the embedded scenario) started at `start` from that year's regions file
    (src/gsim/data/china31_<start>.csv) and run to `end`, every year saved; under GTM-2 the
    labour force follows the observed national population growth of the panel over the window.
    Per-region inputs of [sweep.uncertain] are drawn per run (scope "run"), as a history match
    of the backcast needs."""
    sc = load_scenario() if sc is None else sc
    regions = files("gsim").joinpath("data", f"china31_{start}.csv")
    if not regions.is_file():
        raise ValueError(f"backcast: no regions file for {start} (shipped: china31_{START}.csv)")
    panel = load_panel()
    if tuple(sc.regions.name) != tuple(panel.region.values.tolist()):
        where = "backcast" if sc.source in ("<default>", "<string>") else f"{sc.source}: regions"
        raise ValueError(f"{where}: {sc.name}'s regions are not the observed panel's "
                         f"({len(panel.region)} provinces of china31.csv, in its order): a backcast compares with it")
    if not start < end:
        raise ValueError(f"backcast: the start year {start} must be before the end year {end}")
    if not {start, end} <= set(panel.year.values.tolist()):
        raise ValueError(f"backcast: the window {start}-{end} must lie inside the observed panel's years")
    over: dict[str, object] = dict(regions=str(regions), t0=float(start), t1=float(end), save_every=1.0,
                                   name=f"{sc.name}-backcast-{start}")
    if sc.sweep and isinstance(sc.sweep.get("uncertain"), dict):
        # a history match cannot box one input per region: such inputs are drawn per run
        unc = {k: {**v, "scope": "run"} if isinstance(v, dict) and v.get("per_region") else v
               for k, v in sc.sweep["uncertain"].items()}
        over["sweep"] = {**sc.sweep, "uncertain": unc}
    if sc.model == "gtm2":
        pop = panel.population.sum("region")
        over["pop_growth"] = float(np.log(pop.sel(year=end) / pop.sel(year=start))) / (end - start)
    return sc.with_overrides(**over)


def _runs(sc: Scenario, samples: int, seed: int | None) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Saved values (name -> (B, T, ...)) of the scenario's own run (samples = 0) or of an LHS
    ensemble over its [sweep.uncertain] table, under the scenario's policy; and the ok mask."""
    grid = TimeGrid.of(sc.run)
    check_memory(sc, samples, len(grid.save_times))
    policy, params = resolve_policy(sc, sc.run.policy)
    base = batch_from_scenario(sc, max(samples, 1))
    valid = np.ones(len(base.sp), bool)
    inp = base
    if samples:
        over = {"samples": samples, "sampler": "lhs", **({} if seed is None else {"seed": seed})}
        spec = parse_spec(sc, over)
        if not spec.uncertain:  # identical runs would make a band of width 0 and a coverage of 0
            raise ValueError(f"{sc.source}: sweep.uncertain: an ensemble of {samples} runs needs uncertain inputs, "
                             "and the scenario has none (--samples 0 runs its own parameters once)")
        ids = np.arange(samples)
        values = sampled_values(spec, len(sc.regions), ids, np.zeros(samples, np.int64))
        inp, valid = apply_values(base, sc, spec, values)
    res = run_batch(inp, grid, policy, params, method=sc.run.method, tiers=sc.tiers,
                    regions=sc.regions.name, save=SAVE,
                    policy_inputs=checked_inputs(sc, policy, scenario_indicators(sc)))
    return res.values, res.ok & valid


def check_memory(sc: Scenario, samples: int, n_saves: int, available: int | None = None) -> None:
    """Refuse an ensemble whose runs, all held at once (`model.rules.run_memory` each), would
    need more than half of `available` (default: this machine's memory), as gsim sweep does."""
    R = len(sc.regions)
    need = max(samples, 1) * run_memory(R, R - 1 if sc.nearest is None else sc.nearest, len(sc.tiers), n_saves)
    if over := memory_excess(need, available):
        raise ValueError(f"backcast: samples: an ensemble of {samples} runs needs {over}; use fewer --samples")


def _log(x: xr.DataArray) -> xr.DataArray:
    return xr.apply_ufunc(np.log, x)


def _shares(x: xr.DataArray) -> xr.DataArray:
    return x / x.sum("region")


def _theil(gdp: xr.DataArray, pop: xr.DataArray) -> xr.DataArray:
    g, p = _shares(gdp), _shares(pop)
    return (g * np.log(g / p)).sum("region")


def _observed_real_shares(gdp: xr.DataArray, regions: list[str]) -> xr.DataArray | None:
    """Shares of real GDP at start-year prices over the years the provincial real index
    covers after the start: the start-year nominal shares carried forward by each region's
    real growth. None where the index does not cover at least one year after the start or a
    region is not one of its provinces."""
    index = load_provincial().gdp_index
    times = gdp.time.values
    covered = [t for t in times[1:] if int(t) in index.year.values]
    if not covered or int(times[0]) + len(covered) != int(covered[-1]) \
            or not set(regions) <= set(index.region.values.tolist()):
        return None
    growth = index.sel(year=[int(t) for t in covered], region=regions).values / 100.0
    level = np.vstack([np.ones(len(regions)), np.cumprod(growth, axis=0)])
    real = gdp.isel(time=0).values * level
    return xr.DataArray(real / real.sum(axis=1, keepdims=True), dims=("time", "region"),
                        coords={"time": times[: len(covered) + 1], "region": regions})


def _macro(x: xr.DataArray, macro: xr.DataArray) -> xr.DataArray:
    return x.groupby(macro).sum("region").rename({macro.name: "macro_region"})


def _stats(model: xr.DataArray, observed: xr.DataArray, lo: xr.DataArray | None, hi: xr.DataArray | None,
           persistence: xr.DataArray | None, scale: float) -> dict[str, float]:
    """Fit statistics of one series over the years after the start (time first)."""
    m, o = model.isel(time=slice(1, None)), observed.isel(time=slice(1, None))
    err = (m - o) * scale
    shares = "region" in model.dims or "macro_region" in model.dims  # shares sum to 1: no mean bias
    out = {"rmse": float(np.sqrt((err**2).mean())), "bias": np.nan if shares else float(err.mean()),
           "rank_correlation": np.nan, "coverage": np.nan, "skill": np.nan}
    if lo is not None and hi is not None:
        inside = (o >= lo.isel(time=slice(1, None))) & (o <= hi.isel(time=slice(1, None)))
        out["coverage"] = float(inside.mean())
    if shares:
        last_m, last_o = model.isel(time=-1), observed.isel(time=-1)
        growth_m = _log(last_m / model.isel(time=0)).values.ravel()
        growth_o = _log(last_o / observed.isel(time=0)).values.ravel()
        out["rank_correlation"] = float(stats.spearmanr(growth_m, growth_o).statistic)
        if persistence is not None:
            rmse_model = float(np.sqrt(((last_m - last_o) ** 2).mean()))
            rmse_persist = float(np.sqrt(((persistence - last_o) ** 2).mean()))
            out["skill"] = 1.0 - rmse_model / rmse_persist if rmse_persist > 0 else np.nan
    return out


def backcast(sc: Scenario | None = None, *, samples: int = 0, seed: int | None = None,
             panel: xr.Dataset | None = None) -> xr.Dataset:
    """Run the backcast and compare it with the observed panel (see the module docstring)."""
    sc = backcast_scenario() if sc is None else sc
    panel = load_panel() if panel is None else panel
    years = np.arange(int(round(sc.run.t0)), int(round(sc.run.t1)) + 1)
    missing = sorted(set(years) - set(panel.year.values.tolist()))
    if missing:
        raise ValueError(f"backcast: the observed panel has no year {missing[0]} (run.t0..run.t1 must lie inside it)")
    regions = list(sc.regions.name)
    unknown = sorted(set(regions) - set(panel.region.values.tolist()))
    if unknown:
        raise ValueError(f"backcast: region {unknown[0]!r} is not in the observed panel")
    obs = panel.sel(year=years, region=regions).rename(year="time").assign_coords(time=years.astype(float))

    values, ok = _runs(sc, samples, seed)
    if not ok.any():
        raise ValueError("backcast: every run failed; see `gsim run` with the same scenario")
    times = obs.time.values
    saved_t = TimeGrid.of(sc.run).save_times
    at = np.searchsorted(saved_t, times)
    if not np.allclose(saved_t[at], times):
        raise ValueError("backcast: the scenario must save every year (run.save_every = 1)")
    lam = sc.params["lambda_LF"]

    def arr(name: str, dims: tuple[str, ...]) -> xr.DataArray:
        v = values[name][ok][:, at]
        coords = {"time": times, **({"region": regions} if "region" in dims else {})}
        return xr.DataArray(v, dims=("run", *dims), coords=coords)

    gdp_m = arr("gdp", ("time", "region"))
    # population: the labour force without its participation trend n (GTM-2), over λ_LF
    trend = np.exp(-sc.params["n"] * (times - times[0]))
    pop_m = arr("labor_force", ("time", "region")) * xr.DataArray(trend, dims="time", coords={"time": times}) / lam
    real_m = arr("real_gdp", ("time",))
    macro = xr.DataArray(list(sc.regions.macro_region), dims="region", coords={"region": regions},
                         name="macro_region")

    series: dict[str, tuple[xr.DataArray, xr.DataArray, float, bool]] = {
        # name: (model per run, observed, scale to report units, persistence applies)
        "gdp_share": (_shares(gdp_m), _shares(obs.gdp), 100.0, True),
        "population_share": (_shares(pop_m), _shares(obs.population), 100.0, True),
        "macro_gdp_share": (_macro(_shares(gdp_m), macro), _macro(_shares(obs.gdp), macro), 100.0, True),
        "macro_population_share": (_macro(_shares(pop_m), macro), _macro(_shares(obs.population), macro),
                                   100.0, True),
        "theil": (_theil(gdp_m, pop_m), _theil(obs.gdp, obs.population), 1.0, False),
    }
    real_shares = _observed_real_shares(obs.gdp, regions)
    if real_shares is not None:
        covered = real_shares.time.values
        series["real_gdp_share"] = (_shares(arr("real_output", ("time", "region"))).sel(time=covered),
                                    real_shares, 100.0, True)
    national = load_national()
    real_o = None
    if "real_gdp" in national and set(years) <= set(national.year.values.tolist()):
        idx = national.real_gdp.sel(year=years).rename(year="time").assign_coords(time=times)
        real_o = idx / idx.isel(time=0)
        growth_m = 100.0 * _log(real_m / real_m.isel(time=0)).diff("time")
        growth_o = 100.0 * _log(real_o).diff("time")
        first = xr.zeros_like(growth_o.isel(time=0)).expand_dims(time=[times[0]])
        series["real_growth"] = (xr.concat([first.broadcast_like(growth_m.isel(time=0)), growth_m], "time"),
                                 xr.concat([first, growth_o], "time"), 1.0, False)

    ds = xr.Dataset(coords={"time": ("time", times, {"units": "year"}), "region": regions})
    ds["gdp_observed"] = obs.gdp.assign_attrs(units="bn CNY/yr (nominal, current prices)")
    ds["gdp_model"] = gdp_m.median("run").assign_attrs(
        units="bn CNY/yr (nominal, start-year price level)", long_name="model regional GDP (ensemble median)")
    ds["population_observed"] = obs.population.assign_attrs(units="million (year end)")
    ds["population_model"] = pop_m.median("run").assign_attrs(
        units="million", long_name="model population = labour force exp(-n t) / lambda_LF (ensemble median)")
    ds = ds.assign_coords(region_macro=("region", list(sc.regions.macro_region)))
    fit: dict[str, list[float]] = {s: [] for s in STATISTICS}
    names = list(series)
    for name in names:
        model, observed, scale, persist = series[name]
        med = model.median("run")
        lo = model.quantile(BAND[0], "run").drop_vars("quantile") if len(model.run) > 1 else None
        hi = model.quantile(BAND[1], "run").drop_vars("quantile") if len(model.run) > 1 else None
        ds[f"{name}_observed"] = observed * scale
        ds[f"{name}_model"] = med * scale
        if lo is not None and hi is not None:
            ds[f"{name}_model_p05"], ds[f"{name}_model_p95"] = lo * scale, hi * scale
        start = observed.isel(time=0) if persist else None
        for k, v in _stats(med, observed, lo, hi, start, scale).items():
            fit[k].append(v)
    units = {"gdp_share": "pp", "population_share": "pp", "real_gdp_share": "pp", "macro_gdp_share": "pp",
             "macro_population_share": "pp", "theil": "1", "real_growth": "% a year"}
    ds = ds.assign_coords(series=("series", names), statistic=("statistic", list(STATISTICS)))
    ds["fit"] = xr.DataArray(np.array([fit[s] for s in STATISTICS]).T, dims=("series", "statistic"),
                             attrs={"long_name": "fit statistics of the backcast (module gsim.analysis.backcast)"})
    ds["series_units"] = xr.DataArray([units[n] for n in names], dims="series")
    ds["series_end"] = xr.DataArray([int(series[n][1].time.values[-1]) for n in names], dims="series",
                                     attrs={"long_name": "last year of each series' statistics (its skill's year)",
                                            "units": "year"})
    ds.attrs.update(provenance(sc, "backcast", policy=sc.run.policy, method=sc.run.method,
                               samples=samples, seed=-1 if seed is None else seed, runs_ok=int(ok.sum())))
    return ds


def fit_table(ds: xr.Dataset) -> list[tuple[str, str, str, str, str, str, str]]:
    """Rows (series, units, rmse, bias, rank correlation, coverage, skill) for printing."""
    f = ds.fit
    def cell(x: float, fmt: str) -> str:
        return "–" if not np.isfinite(x) else format(x, fmt)
    rows = []
    for name in ds.series.values.tolist():
        v = {s: float(f.sel(series=name, statistic=s)) for s in STATISTICS}
        rows.append((name, str(ds.series_units.sel(series=name).item()), cell(v["rmse"], ".3g"),
                     cell(v["bias"], "+.2g"), cell(v["rank_correlation"], ".2f"), cell(v["coverage"], ".0%"),
                     cell(v["skill"], "+.2f")))
    return rows
