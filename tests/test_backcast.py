"""The backcast (gsim.analysis.backcast) and the forward check against the SSPs."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from click.testing import CliRunner

import gsim
from gsim.analysis.backcast import _observed_real_shares, backcast, backcast_scenario
from gsim.analysis.plausibility import ssp_envelope
from gsim.cli import main
from gsim.observed import load_panel, load_provincial


@pytest.fixture(scope="module")
def one():
    return backcast(backcast_scenario(gsim.load_scenario()))


def test_backcast_starts_from_the_observed_year(one):
    panel = load_panel().sel(year=2013)
    first = one.isel(time=0)
    # the 2013 regions file is the panel's 2013 column; the calibration reproduces it exactly
    np.testing.assert_allclose(first.gdp_observed, panel.gdp, rtol=1e-12)
    np.testing.assert_allclose(first.gdp_model, first.gdp_observed, rtol=1e-9)
    np.testing.assert_allclose(first.population_model, first.population_observed, rtol=1e-9)
    assert one.time.values[[0, -1]].tolist() == [2013.0, 2023.0]
    assert one.attrs["model"] == "gtm2" and one.attrs["runs_ok"] == 1


def test_skill_against_persistence_is_derived_from_the_shares(one):
    obs = one.gdp_share_observed  # in percent
    model = one.gdp_share_model
    rmse_model = float(np.sqrt(((model.isel(time=-1) - obs.isel(time=-1)) ** 2).mean()))
    rmse_persist = float(np.sqrt(((obs.isel(time=0) - obs.isel(time=-1)) ** 2).mean()))
    assert float(one.fit.sel(series="gdp_share", statistic="skill")) == pytest.approx(1 - rmse_model / rmse_persist)
    # shares sum to 1: no mean bias is reported for them
    assert np.isnan(float(one.fit.sel(series="gdp_share", statistic="bias")))


def test_real_shares_carry_the_start_shares_by_the_real_index(one):
    """Observed: two provinces' real shares keep the ratio of their 2013 GDP times the ratio of
    their compounded real growth; model: shares of real output. Statistics end in 2019."""
    index = load_provincial().gdp_index.sel(year=slice(2014, 2019)) / 100
    gdp13 = load_panel().gdp.sel(year=2013)
    real = one.real_gdp_share_observed
    for a, b in (("Guizhou", "Heilongjiang"), ("Beijing", "Tibet")):
        expected = float(gdp13.sel(region=a) / gdp13.sel(region=b)
                         * index.sel(region=a).prod() / index.sel(region=b).prod())
        assert float(real.sel(time=2019, region=a) / real.sel(time=2019, region=b)) == pytest.approx(expected, rel=1e-12)
    assert real.sel(time=slice(2013, 2019)).sum("region").values == pytest.approx(100.0)
    assert real.sel(time=slice(2020, 2023)).isnull().all()
    assert one.real_gdp_share_model.sel(time=slice(2013, 2019)).sum("region").values == pytest.approx(100.0)
    ends = dict(zip(one.series.values.tolist(), one.series_end.values.tolist(), strict=True))
    assert ends.pop("real_gdp_share") == 2019 and set(ends.values()) == {2023}
    last = one.real_gdp_share_observed.sel(time=2019)
    rmse_model = float(np.sqrt(((one.real_gdp_share_model.sel(time=2019) - last) ** 2).mean()))
    rmse_persist = float(np.sqrt(((real.sel(time=2013) - last) ** 2).mean()))
    assert float(one.fit.sel(series="real_gdp_share", statistic="skill")) == pytest.approx(1 - rmse_model / rmse_persist)


def test_real_shares_are_left_out_where_the_index_does_not_reach():
    years = np.arange(2019.0, 2024.0)
    gdp = xr.DataArray(np.ones((5, 2)), dims=("time", "region"), coords={"time": years, "region": ["Beijing", "Hebei"]})
    assert _observed_real_shares(gdp, ["Beijing", "Hebei"]) is None
    assert _observed_real_shares(gdp.assign_coords(time=years - 3), ["Beijing", "Hebei"]).time.values.tolist() == [
        2016.0, 2017.0, 2018.0, 2019.0]
    assert _observed_real_shares(gdp.assign_coords(time=years - 3, region=["Beijing", "Atlantis"]),
                                 ["Beijing", "Atlantis"]) is None


def test_backcast_cli_says_which_years_the_real_shares_cover():
    res = CliRunner().invoke(main, ["backcast"])
    assert res.exit_code == 0 and "real_gdp_share: 2014-2019" in res.output


def test_backcast_labour_force_follows_the_panel_population():
    sc = backcast_scenario(gsim.load_scenario())
    pop = load_panel().population.sum("region")
    assert sc.params["pop_growth"] == pytest.approx(float(np.log(pop.sel(year=2023) / pop.sel(year=2013))) / 10)
    assert backcast_scenario(gsim.load_scenario().with_overrides(model="gtm1")).params["pop_growth"] == 0.0


def test_ensemble_gives_a_band_and_coverage():
    ds = backcast(backcast_scenario(gsim.load_scenario()), samples=6, seed=1)
    assert (ds.gdp_share_model_p05 <= ds.gdp_share_model_p95).all()
    cover = ds.fit.sel(statistic="coverage")
    assert ((cover >= 0) & (cover <= 1)).all()


def test_bad_window_is_one_line_exit_2():
    res = CliRunner().invoke(main, ["backcast", "--start", "2012"])
    assert res.exit_code == 2 and "no regions file for 2012" in res.output
    res = CliRunner().invoke(main, ["backcast", "--end", "2031"])
    assert res.exit_code == 2 and "2013-2031 must lie inside" in res.output
    for end in ("2013", "2012"):  # both inside the panel: the order is what is wrong
        res = CliRunner().invoke(main, ["backcast", "--end", end])
        assert res.exit_code == 2 and f"the start year 2013 must be before the end year {end}" in res.output


def test_ssp_envelope_matches_the_projections():
    env = ssp_envelope(2023, 2050)
    # the SSP GDP ratios quoted in the SOURCES file: SSP3 lowest, SSP5 highest
    assert float(env.gdp_ratio.min()) == pytest.approx(1.929, abs=1e-3)
    assert float(env.gdp_ratio.max()) == pytest.approx(2.860, abs=1e-3)
    with pytest.raises(ValueError, match="every 5 years"):
        ssp_envelope(2023, 2049)


def test_figures_draw(one, tmp_path):
    from gsim.analysis import history_figures
    from gsim.analysis.figures import save

    fig = history_figures.backcast_macro(one)
    assert len(fig.axes) == 8  # 4 macro-regions x (GDP, population)
    fig = history_figures.backcast_provinces(one)
    assert sum(ax.axison for ax in fig.axes) == 31
    assert save(fig, tmp_path / "p.png").stat().st_size > 0


def test_backcast_refuses_other_regions():
    from helpers import random_scenario

    sc = random_scenario(np.random.default_rng(0), 3)
    with pytest.raises(ValueError, match="regions are not the observed panel's"):
        backcast_scenario(sc)


def test_other_regions_are_one_line_naming_the_file(tmp_path):
    from helpers import random_scenario

    path = tmp_path / "three.toml"
    path.write_text(random_scenario(np.random.default_rng(0), 3).toml)
    res = CliRunner().invoke(main, ["backcast", str(path)])
    assert res.exit_code == 2 and res.output.strip().count("\n") == 0
    assert res.output.startswith(f"Error: {path}: regions: ") and "regions are not the observed panel's" in res.output


@pytest.mark.parametrize("opt, name", [("--out", "b.nc"), ("--figure", "b.png")])
def test_an_output_in_no_folder_is_refused_before_the_runs(tmp_path, opt, name):
    (tmp_path / "afile").write_text("")
    path = tmp_path / "afile" / name
    res = CliRunner().invoke(main, ["backcast", opt, str(path)])
    assert res.exit_code == 2 and res.output.strip().count("\n") == 0
    assert res.output.startswith(f"Error: {opt}: {tmp_path / 'afile'} is not a folder") and "RMSE" not in res.output


def test_an_ensemble_without_uncertain_inputs_is_refused(tmp_path):
    sc = gsim.load_scenario()
    path = tmp_path / "fixed.toml"
    path.write_text(sc.with_overrides(sweep={k: v for k, v in sc.sweep.items() if k != "uncertain"}).toml)
    res = CliRunner().invoke(main, ["backcast", str(path), "--samples", "3"])
    assert res.exit_code == 2 and res.output.strip().count("\n") == 0
    assert res.output.startswith(f"Error: {path}: sweep.uncertain: an ensemble of 3 runs needs uncertain inputs")


def test_an_ensemble_too_large_for_memory_is_refused_before_it_allocates():
    from gsim.analysis.backcast import check_memory
    from gsim.model.rules import run_memory

    res = CliRunner().invoke(main, ["backcast", "--samples", str(10**9)])
    assert res.exit_code == 2 and res.output.strip().count("\n") == 0
    assert res.output.startswith("Error: backcast: samples: an ensemble of 1000000000 runs needs about ")
    sc = backcast_scenario(gsim.load_scenario())
    need = 1000 * run_memory(31, 30, 4, 11)  # every run held at once: 31 provinces, 4 tiers, 2013-2023
    check_memory(sc, 1000, 11, available=2 * need)
    with pytest.raises(ValueError, match="use fewer --samples$"):
        check_memory(sc, 1000, 11, available=2 * need - 2)
