"""GTM-2 mechanisms 5 and 6 (docs/model.md, "GTM-2"): each province's labour force follows its
own population path d_r, recomputed here from the shipped CSVs without gsim.observed, and
migration starts from the spatial equilibrium of t0 (no migration before wages move)."""

from __future__ import annotations

import csv
from collections import defaultdict
from importlib.resources import files

import numpy as np
import pytest
from helpers import THREE_REGIONS_TOML, t0_derivatives

import gsim
from gsim.analysis.backcast import backcast_scenario
from gsim.model.layout import state_slices
from gsim.scenario import ScenarioError, loads_scenario


def _csv_population(name: str, path: str | None = None) -> dict[str, dict[int, float]]:
    """{region: {year: million}} straight from a shipped CSV (one SSP's rows if `path`)."""
    out: dict[str, dict[int, float]] = defaultdict(dict)
    with files("gsim").joinpath("data", name).open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["population_m"] and row.get("ssp", path) == path:
                out[row["region"]][int(row["year"])] = float(row["population_m"])
    return out


def _relative_growth(pop: dict[str, dict[int, float]], a: float, b: float) -> np.ndarray:
    """Log growth a -> b (interpolated in logs between data years) of each region minus the
    sum's, per year."""
    years = sorted(next(iter(pop.values())))
    def ln(series, t):
        return np.interp(t, years, np.log(series))
    per = np.array([ln([p[y] for y in years], b) - ln([p[y] for y in years], a) for p in pop.values()])
    total = [sum(p[y] for p in pop.values()) for y in years]
    return (per - (ln(total, b) - ln(total, a))) / (b - a)


def test_forward_trend_is_the_chosen_ssp_relative_to_the_nation():
    sc = gsim.load_scenario()
    assert sc.population_path == "SSP2" and sc.run.t0 == 2023 and sc.run.t1 == 2050
    np.testing.assert_allclose(sc.pop_trend, _relative_growth(_csv_population("china31_ssp.csv", "SSP2"), 2023, 2050),
                               rtol=1e-12, atol=1e-15)
    ssp3 = sc.with_overrides(population_path="SSP3")
    np.testing.assert_allclose(ssp3.pop_trend, _relative_growth(_csv_population("china31_ssp.csv", "SSP3"), 2023, 2050),
                               rtol=1e-12, atol=1e-15)
    assert not np.allclose(ssp3.pop_trend, sc.pop_trend)
    # the window ends in 2050 whatever the run's end: a shorter run grows as a longer one's start
    np.testing.assert_array_equal(sc.with_overrides(t1=2030.0).pop_trend, sc.pop_trend)
    later = sc.with_overrides(t0=2060.0, t1=2070.0)  # a start from 2050 on takes the path to 2100
    np.testing.assert_allclose(later.pop_trend, _relative_growth(_csv_population("china31_ssp.csv", "SSP2"), 2060, 2100),
                               rtol=1e-12, atol=1e-15)


def test_backcast_trend_uses_only_the_panel_before_the_start():
    """A 2013 start takes the panel's trend 2010-2013 (after the census break), whatever the
    years it is compared with."""
    sc = backcast_scenario(gsim.load_scenario())
    assert sc.run.t0 == 2013
    panel = _csv_population("china31_panel.csv")
    before = {r: {y: v for y, v in p.items() if y <= 2013} for r, p in panel.items()}
    np.testing.assert_allclose(sc.pop_trend, _relative_growth(before, 2010, 2013), rtol=1e-12, atol=1e-15)


def test_no_trend_where_nothing_is_known():
    small = loads_scenario(THREE_REGIONS_TOML)  # regions that are not the 31 provinces
    assert small.population_path == "SSP2" and not small.pop_trend.any()
    gtm1 = gsim.load_scenario().with_overrides(model="gtm1")
    assert gtm1.population_path is None and not gtm1.pop_trend.any() and "population_path" not in gtm1.toml


def test_bad_population_path_is_one_line_error():
    text = gsim.load_scenario().toml.replace('population_path = "SSP2"', 'population_path = "SSP9"')
    with pytest.raises(ScenarioError) as e:
        loads_scenario(text)
    assert str(e.value) == ("<string>: scenario.population_path: unknown population path 'SSP9' "
                            "(known: SSP1, SSP2, SSP3, SSP4, SSP5)")
    text = gsim.load_scenario().with_overrides(model="gtm1").toml.replace(
        'model = "gtm1"', 'model = "gtm1"\npopulation_path = "SSP2"')
    with pytest.raises(ScenarioError, match=r"scenario.population_path: a GTM-2 setting"):
        loads_scenario(text)


def _t0_derivatives(sc):
    _, cal, _, dy = t0_derivatives(sc)
    lf = state_slices(len(sc.regions), len(sc.tiers))["labor_force"][0]
    return cal.y0[0, lf], dy[0, lf]


def test_no_migration_at_t0_from_the_spatial_equilibrium():
    """With ω_M = 1 the start year is an equilibrium: dLf/dt is natural growth alone at t0;
    with ω_M = 0 (GTM-1's migration) wage gaps move people at once."""
    sc = gsim.load_scenario()
    assert sc.params["spatial_equilibrium"] == 1.0
    rate = sc.params["n"] + sc.params["pop_growth"] + sc.params["province_paths"] * sc.pop_trend
    Lf, dLf = _t0_derivatives(sc)
    np.testing.assert_array_equal(dLf, rate * Lf)
    Lf, dLf = _t0_derivatives(sc.with_overrides(spatial_equilibrium=0.0))
    assert np.abs(dLf - rate * Lf).max() > 1e-3 * Lf.max() * sc.params["mu"]


def test_migration_answers_wage_changes_since_t0():
    """ω_M = 1: migration over a run follows the change of wages, so the provinces whose
    population ends above their own path are not simply the high-wage ones (as under ω_M = 0,
    where the richest provinces gain)."""
    sc = gsim.load_scenario().with_overrides(t1=2030.0)
    def gain(s):
        ds = gsim.simulate(s, policy="none")
        years = ds.time.values[-1] - ds.time.values[0]
        rate = s.params["n"] + s.params["pop_growth"] + s.params["province_paths"] * s.pop_trend
        Lf = ds.labor_force.values
        return Lf[-1] / (Lf[0] * np.exp(rate * years)) - 1.0  # net migration, share of the start
    eq, levels = gain(sc), gain(sc.with_overrides(spatial_equilibrium=0.0))
    wage = np.log(sc.regions.gdp / sc.regions.population)
    assert np.corrcoef(levels, wage)[0, 1] > 0.5  # GTM-1's migration: towards the high wages
    assert np.abs(eq).max() < np.abs(levels).max() / 2  # from equilibrium: smaller flows
