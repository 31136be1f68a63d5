"""Results as CF-style xarray Datasets (the public data contract of spec §10) and provenance.

The variables, their dimensions, units and long names come from the one variable table,
`gsim.model.layout.VARIABLES`.
"""

from __future__ import annotations

import datetime as _dt
import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from gsim._version import MODEL, __version__
from gsim.groups import group_labels
from gsim.model.layout import VARIABLES
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
        "title": f"gsim GTM-1 {what} of scenario {sc.name}",
        "source": f"gsim {__version__} ({MODEL})",
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
    """One run's saved values (name -> (T, ...)) as a Dataset with units and long names.

    Built as a shallow copy of a remembered template with the same scenario, times and
    variables, given the new values: xarray's constructor aligns and indexes every variable
    (most of a warm `simulate` call's time), a copy with new data does neither."""
    names = tuple(name for name in VARIABLES if name in values)
    template = _template(sc, tuple(np.asarray(times, float)), names)
    ds = template.copy(deep=False, data={name: values[name] for name in names})
    ds.attrs = dict(attrs)
    return ds


@functools.lru_cache(maxsize=16)
def _template(sc: Scenario, times: tuple[float, ...], names: tuple[str, ...]) -> xr.Dataset:
    """A Dataset with the coordinates and variables (placeholder values) of a run's output.
    Its coordinate arrays are read-only: every Dataset copied from it shares them."""
    import xarray as xr  # imported here: the CLI's summary table needs no xarray

    size = {"time": len(times), "region": len(sc.regions), "tier": len(sc.tiers)}
    data_vars = {}
    for name in names:
        dims = ("time",) + VARIABLES[name].dims
        data_vars[name] = (dims, np.broadcast_to(np.nan, tuple(size[d] for d in dims)),
                           {"units": VARIABLES[name].units, "long_name": VARIABLES[name].long_name})
    coords = region_coords(sc)
    coords["time"] = ("time", np.asarray(times, float), TIME_ATTRS)
    ds = xr.Dataset(data_vars, coords=coords)
    for c in ds.coords.values():
        if isinstance(c.values, np.ndarray):
            c.values.flags.writeable = False
    return ds


def write_netcdf(ds: xr.Dataset, path) -> None:
    """netCDF4 file readable by xarray, netCDF4-python, R and Julia."""
    ds.to_netcdf(path, engine="netcdf4")
