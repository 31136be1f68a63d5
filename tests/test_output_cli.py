"""The output data contract (spec §10, CF attributes, netCDF) and `gsim run`."""

from __future__ import annotations

import netCDF4
import numpy as np
import pytest
import xarray as xr
from click.testing import CliRunner

import gsim
from gsim.cli import main
from gsim.model.layout import VARIABLES
from gsim.scenario import load_scenario, replace_run, scenario_hash


@pytest.fixture(scope="module")
def short():
    return replace_run(load_scenario(), t1=2027)


@pytest.fixture(scope="module")
def ds(short):
    return gsim.simulate(short, "gradient", method="rk4")


def test_dataset_has_the_public_contract(ds, short):
    assert set(VARIABLES) <= set(ds.data_vars)
    for name, (dims, units, long_name, _where) in VARIABLES.items():
        var = ds[name]
        assert var.dims == ("time",) + dims, name
        assert var.attrs["units"] == units and var.attrs["long_name"] == long_name
    np.testing.assert_array_equal(ds.time, [2023, 2024, 2025, 2026, 2027])
    assert list(ds.region.values) == list(short.regions.name)
    assert list(ds.tier.values) == list(short.tiers)
    for aux in ("name_zh", "macro_region", "lat", "lon"):
        assert ds[aux].dims == ("region",)
    assert ds.lat.attrs["units"] == "degrees_north"
    a = ds.attrs
    assert a["Conventions"].startswith("CF-") and a["title"] and a["history"]
    assert a["source"].startswith(f"gsim {gsim.__version__}")
    # the hash is that of the scenario actually run (overrides included)
    assert a["scenario_hash"] == scenario_hash(replace_run(short, policy="gradient", method="rk4"))
    assert a["scenario_hash"] != scenario_hash(short)
    assert (a["method"], a["dt"], a["policy"]) == ("rk4", 0.125, "gradient")


def test_netcdf_loads_in_xarray_netcdf4_and_pandas(ds, tmp_path):
    path = tmp_path / "run.nc"
    from gsim.output import write_netcdf

    write_netcdf(ds, path)
    back = xr.open_dataset(path)
    xr.testing.assert_identical(back.load(), ds)
    with netCDF4.Dataset(path) as nc:
        assert nc.variables["capital"].units == "bn CNY"
        assert nc.variables["capital"].dimensions == ("time", "region", "tier")
        np.testing.assert_array_equal(nc.variables["real_gdp"][:], ds.real_gdp.values)
    frame = back[["output", "employment"]].to_dataframe()
    assert len(frame) == ds.sizes["time"] * ds.sizes["region"] * ds.sizes["tier"]
    assert frame.loc[(2027.0, "Guangxi", "labor"), "output"] == pytest.approx(
        float(ds.output.sel(time=2027, region="Guangxi", tier="labor")))


def test_run_all_policies_prints_table_and_writes_file(tmp_path):
    out = tmp_path / "all.nc"
    res = CliRunner().invoke(main, ["run", "--policy", "all", "--t1", "2025", "--out", str(out)])
    assert res.exit_code == 0, res.output
    for name in ("none", "market", "subsidy_race", "gradient"):
        assert name in res.output
    assert "2023" in res.output and "2025" in res.output
    ds = xr.open_dataset(out)
    assert list(ds.policy.values) == ["none", "market", "subsidy_race", "gradient"]
    assert ds.real_gdp.dims == ("policy", "time")
    # the table's numbers are the file's numbers
    last = float(ds.real_gdp.sel(policy="gradient").isel(time=-1))
    assert f"{last:,.0f}" in res.output


def test_run_reports_a_failed_run_without_traceback():
    res = CliRunner().invoke(main, ["run", "--policy", "none", "--dt", "0.5", "--model", "gtm1"])
    assert res.exit_code == 1
    assert "capital[" in res.output and "t=2033" in res.output  # spec §9 (GTM-1)
    assert "Traceback" not in res.output


@pytest.mark.parametrize("args, fragment", [
    (["--policy", "nosuch"], "unknown policy"),
    (["--dt", "0.3"], "dt"),
    (["--t1", "2000"], "t1"),
])
def test_run_rejects_bad_options_with_exit_code_2(args, fragment):
    res = CliRunner().invoke(main, ["run", *args])
    assert res.exit_code == 2, res.output
    assert fragment in res.output and len(res.output.strip().splitlines()) == 1
    assert "Traceback" not in res.output


def test_version():
    res = CliRunner().invoke(main, ["--version"])
    assert res.exit_code == 0 and gsim.__version__ in res.output
