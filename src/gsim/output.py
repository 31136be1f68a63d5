"""Results as CF-style xarray Datasets (the public data contract of spec §10) and provenance.

The variables, their dimensions, units and long names come from the one variable table,
`gsim.model.layout.VARIABLES`.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from gsim._version import MODEL_NAMES, __version__
from gsim.groups import group_labels
from gsim.model.layout import VARIABLES
from gsim.params import MODEL_LABELS
from gsim.scenario import Scenario

if TYPE_CHECKING:
    import xarray as xr


def provenance(sc: Scenario, what: str, **extra: object) -> dict[str, object]:
    """The global attributes every output carries (a run's Dataset, a sweep store): CF
    conventions, title, gsim version, model revision, creation time, scenario and its hash;
    `extra` (None values dropped) adds what identifies the output further (policy, seed, ...)."""
    now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    attrs: dict[str, object] = {
        "Conventions": "CF-1.10",
        "title": f"gsim {MODEL_LABELS[sc.model]} {what} of scenario {sc.name}",
        "source": f"gsim {__version__} ({MODEL_NAMES[sc.model]})",
        "model": sc.model,
        "history": f"{now} created by gsim {__version__}",
        "scenario": sc.name,
        "scenario_hash": sc.hash,
        "gsim_version": __version__,
    }
    attrs.update({k: v for k, v in extra.items() if v is not None})
    return attrs


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


TIME_ATTRS = {"units": "year", "long_name": "calendar year (decimal)"}


def to_dataset(
    sc: Scenario,
    times: np.ndarray,
    values: Mapping[str, np.ndarray],
    attrs: Mapping[str, object],
) -> xr.Dataset:
    """One run's saved values (name -> (T, ...)) as a Dataset with units and long names."""
    import xarray as xr  # imported here: the CLI's summary table needs no xarray

    data_vars = {}
    for name, var in VARIABLES.items():
        if name in values:
            data_vars[name] = (("time",) + var.dims, values[name], {"units": var.units, "long_name": var.long_name})
    coords = region_coords(sc)
    coords["time"] = ("time", np.asarray(times, float), TIME_ATTRS)
    return xr.Dataset(data_vars, coords=coords, attrs=dict(attrs))


def write_netcdf(ds: xr.Dataset, path) -> None:
    """netCDF4 file readable by xarray, netCDF4-python, R and Julia."""
    ds.to_netcdf(path, engine="netcdf4")
