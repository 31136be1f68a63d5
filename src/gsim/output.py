"""Results as CF-style xarray Datasets: the public data contract of spec §10."""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING, Mapping

import numpy as np

from gsim import __version__
from gsim.groups import group_labels
from gsim.scenario import Scenario

if TYPE_CHECKING:
    import xarray as xr

RT, R_, T_, O_ = ("region", "tier"), ("region",), ("tier",), ()

# name -> (dims after time, units, long_name)
VARIABLES: dict[str, tuple[tuple[str, ...], str, str]] = {
    "capital": (RT, "bn CNY", "productive capital K"),
    "technology": (RT, "1", "total factor productivity A"),
    "pipeline": (RT, "bn CNY", "capital in the relocation pipeline bound for the region, X"),
    "pipeline_technology": (RT, "bn CNY", "technology content of the pipeline, XA"),
    "labor_force": (R_, "million", "labour force Lf"),
    "wage": (R_, "k CNY/yr", "wage per worker-year w"),
    "skills": (R_, "years", "mean years of schooling H"),
    "infrastructure": (R_, "bn CNY", "infrastructure stock I"),
    "price": (T_, "1", "tier price index p"),
    "output": (RT, "bn CNY/yr", "real output Y"),
    "employment": (RT, "million", "employment E"),
    "profit_rate": (RT, "1/yr", "profit rate pi"),
    "readiness": (RT, "1", "readiness of the region for the tier, m"),
    "transfer_out": (RT, "bn CNY/yr", "capital relocating out of the region-tier, sum_q T_rqs"),
    "transfer_in": (RT, "bn CNY/yr", "capital relocating into the region-tier, sum_q T_qrs"),
    "gdp": (R_, "bn CNY/yr", "nominal regional GDP"),
    "real_output": (R_, "bn CNY/yr", "real regional output at base-year prices"),
    "sui": (R_, "1", "structural upgrading index (1 = all labour-intensive)"),
    "utilization": (T_, "1", "capacity utilisation u"),
    "overcapacity": (T_, "1", "overcapacity 1 - u"),
    "margin": (T_, "1", "profit margin of the tier"),
    "real_gdp": (O_, "bn CNY/yr", "national real GDP at base-year prices"),
    "theil": (O_, "1", "Theil index of GDP per labour-force member across regions"),
    "sui_national": (O_, "1", "GDP-weighted national structural upgrading index"),
    "rd_share": (O_, "1", "R&D spending as a share of GDP"),
    "transfer_volume": (O_, "bn CNY/yr", "total capital leaving senders"),
    "failed_transfer_share": (O_, "1", "share of transfers into tiers the receiver is not ready for (m < 0.5)"),
    "lost_capital": (O_, "bn CNY/yr", "capital wasted by failed arrivals and by moving"),
    # group aggregates (gsim.groups): sending / receiving regions
    "real_output_sending": (O_, "bn CNY/yr", "real output of the sending regions at base-year prices"),
    "real_output_receiving": (O_, "bn CNY/yr", "real output of the receiving regions at base-year prices"),
    "sui_sending": (O_, "1", "GDP-weighted structural upgrading index of the sending regions"),
    "sui_receiving": (O_, "1", "GDP-weighted structural upgrading index of the receiving regions"),
    "technology_sending": (O_, "1", "geometric mean TFP A over the sending regions' region-tiers"),
    "technology_receiving": (O_, "1", "geometric mean TFP A over the receiving regions' region-tiers"),
    "skills_sending": (O_, "years", "labour-force-weighted mean years of schooling of the sending regions"),
    "skills_receiving": (O_, "years", "labour-force-weighted mean years of schooling of the receiving regions"),
}


REGION_GROUP_ATTRS = {
    "long_name": "sending or receiving region",
    "description": "sending: GDP per capita at t0 above the population-weighted mean (or listed in "
                   "scenario.sending); the same under every policy",
}


def region_coords(sc: Scenario) -> dict[str, tuple]:
    rg = sc.regions
    return {
        "region": ("region", list(rg.name), {"long_name": "region"}),
        "name_zh": ("region", list(rg.name_zh), {"long_name": "region name in Chinese"}),
        "macro_region": ("region", list(rg.macro_region), {"long_name": "macro-region"}),
        "lat": ("region", np.asarray(rg.lat, float),
                {"units": "degrees_north", "standard_name": "latitude"}),
        "lon": ("region", np.asarray(rg.lon, float),
                {"units": "degrees_east", "standard_name": "longitude"}),
        "region_group": ("region", group_labels(sc), REGION_GROUP_ATTRS),
        "tier": ("tier", list(sc.tiers), {"long_name": "industry tier, least to most sophisticated"}),
    }


def global_attrs(sc: Scenario, scenario_hash: str, **extra) -> dict[str, object]:
    now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    attrs: dict[str, object] = {
        "Conventions": "CF-1.10",
        "title": f"gsim GTM-1 simulation of scenario {sc.name}",
        "source": f"gsim {__version__} (GTM-1 revision 3)",
        "history": f"{now} created by gsim {__version__}",
        "scenario": sc.name,
        "scenario_hash": scenario_hash,
        "gsim_version": __version__,
    }
    attrs.update({k: v for k, v in extra.items() if v is not None})
    return attrs


def to_dataset(
    sc: Scenario,
    times: np.ndarray,
    values: Mapping[str, np.ndarray],
    attrs: Mapping[str, object],
) -> "xr.Dataset":
    """One run's saved values (name -> (T, ...)) as a Dataset with units and long names."""
    import xarray as xr  # imported here: the CLI's summary table needs no xarray

    data_vars = {}
    for name, (dims, units, long_name) in VARIABLES.items():
        if name in values:
            data_vars[name] = (("time",) + dims, values[name], {"units": units, "long_name": long_name})
    coords = region_coords(sc)
    coords["time"] = ("time", np.asarray(times, float),
                      {"units": "year", "long_name": "calendar year (decimal)"})
    return xr.Dataset(data_vars, coords=coords, attrs=dict(attrs))


def write_netcdf(ds: "xr.Dataset", path) -> None:
    """netCDF4 file readable by xarray, netCDF4-python, R and Julia."""
    ds.to_netcdf(path, engine="netcdf4")
