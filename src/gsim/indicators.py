"""Indicators: extra output variables computed from a result Dataset by plugins.

An indicator (registered through the ``gsim_register_indicators`` hook) is a function of the
``xarray.Dataset`` that `gsim.simulate` builds; it returns an ``xarray.DataArray`` whose
first dimension is ``time`` (other dimensions: ``region``, ``tier`` or none). `add_indicators`
adds every registered indicator to a Dataset, with ``units``, ``long_name`` and the name of the
plugin (``gsim_plugin``) as attributes.

An indicator may declare parameters (``defaults``, with bounds in ``schema``) and which
direction is better (``better``: +1 higher, -1 lower, None: no direction). One with parameters
is called ``compute(ds, params)`` with its defaults merged with the caller's overrides.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from gsim.params import ParamSpec

if TYPE_CHECKING:  # pragma: no cover
    import xarray as xr


# Which way is better for each built-in output: +1 higher is better, -1 lower is better, 0
# neither (transfer volume is a means, not an end). Plugin indicators say it in `better`.
BETTER: dict[str, int] = {
    "real_gdp": +1,  # more output
    "theil": -1,  # less regional inequality
    "sui_national": +1,  # more structural upgrading
    "rd_share": +1,  # more R&D
    "transfer_volume": 0,
    "failed_transfer_share": -1,  # fewer transfers into unready receivers
    "lost_capital": -1,  # less capital wasted
    "overcapacity": -1,  # per tier: less idle capacity
    "margin": +1,  # per tier: healthier margins
}


def better_of(name: str, table: Mapping[str, Indicator]) -> int:
    """+1 or -1: which way `name` is better (a plugin indicator's `better`, else `BETTER`);
    0 when neither says."""
    if name in table:
        return int(table[name].better or 0)
    return BETTER.get(name, 0)


class IndicatorError(RuntimeError):
    """An indicator raised or returned something invalid; the message names the plugin."""


@dataclass(frozen=True)
class Indicator:
    """An extra output variable: ``compute(ds) -> xr.DataArray`` with ``time`` first.

    ``defaults`` are the indicator's own parameters (a scenario overrides them under
    ``[indicators.NAME]``); with any, ``compute(ds, params)`` gets them merged. ``schema``
    gives bounds, unit and meaning of numeric ones (`gsim.params.ParamSpec`). ``better``: +1
    when a higher value is better, -1 when lower is, None when neither is.
    """

    name: str
    compute: Callable[..., xr.DataArray]
    units: str
    long_name: str
    description: str = ""
    plugin: str = ""
    defaults: Mapping[str, Any] = field(default_factory=dict)
    schema: Mapping[str, ParamSpec] = field(default_factory=dict)
    better: int | None = None

    def resolve(self, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The parameters a computation uses: the defaults, then `overrides`."""
        return {**self.defaults, **(overrides or {})}

    def __call__(self, ds: xr.Dataset, params: Mapping[str, Any] | None = None) -> xr.DataArray:
        """compute(ds), or compute(ds, params) for an indicator with parameters."""
        if self.defaults:
            return self.compute(ds, self.resolve(params))
        return self.compute(ds)


def add_indicators(ds: xr.Dataset, table: Mapping[str, Indicator],
                   params: Mapping[str, Mapping[str, Any]] | None = None) -> xr.Dataset:
    """`ds` with every indicator of `table` added; `params`: indicator name -> overrides of
    its defaults (recorded in the attribute ``gsim_params``)."""
    import xarray as xr

    if not table:
        return ds
    new = {}
    guarded = _read_only(ds)
    for name, ind in table.items():
        where = f"indicator {name!r} (plugin {ind.plugin or '?'})"
        try:
            da = ind(guarded, (params or {}).get(name))
        except ValueError as exc:
            wrote = any(w in str(exc).lower() for w in ("read-only", "destination is a view"))  # numpy, xarray
            hint = " (an indicator must not modify the outputs it reads)" if wrote else ""
            raise IndicatorError(f"{where} raised ValueError: {exc}{hint}") from exc
        except Exception as exc:
            raise IndicatorError(f"{where} raised {type(exc).__name__}: {exc}") from exc
        if not isinstance(da, xr.DataArray):
            raise IndicatorError(f"{where}: must return an xarray.DataArray, got "
                                 f"{type(da).__name__}")
        if not da.dims or da.dims[0] != "time" or da.sizes["time"] != ds.sizes["time"]:
            raise IndicatorError(f"{where}: must have 'time' as its first dimension "
                                 f"(length {ds.sizes['time']}), got dims {da.dims}")
        bad = [d for d in da.dims if d not in ds.dims]
        if bad:
            raise IndicatorError(f"{where}: unknown dimension(s) {bad}")
        values = np.asarray(da.values, dtype=np.float64) if da.dtype.kind in "fiub" else None
        if values is not None and np.isinf(values).any():
            raise IndicatorError(f"{where}: returned {int(np.isinf(values).sum())} infinite value(s)")
        if values is not None and values.size and not np.isfinite(values).any():
            raise IndicatorError(f"{where}: returned no finite value (all NaN)")
        da = da.copy()
        da.name = name
        da.attrs.update(units=ind.units, long_name=ind.long_name, gsim_plugin=ind.plugin)
        if ind.description:
            da.attrs["description"] = ind.description
        if ind.defaults:
            da.attrs["gsim_params"] = json.dumps(ind.resolve((params or {}).get(name)), sort_keys=True,
                                                 default=str)
        if ind.better is not None:
            da.attrs["better"] = "higher" if ind.better > 0 else "lower"
        new[name] = da
    return ds.assign(new)


def _read_only(ds: xr.Dataset) -> xr.Dataset:
    """`ds` sharing its data, with its NumPy arrays read-only: an indicator that writes into
    its input fails instead of changing the run's outputs."""
    out = ds.copy(deep=False)
    for name, var in out.variables.items():
        if name not in out.indexes and isinstance(var.data, np.ndarray):  # an index is immutable
            view = var.data.view()
            view.flags.writeable = False
            var.data = view
    return out


def gini(values, weights, dim: str = "region"):
    """Population-weighted Gini coefficient of `values` over `dim` (a helper for plugins)."""
    import xarray as xr

    def _g(x, w):
        order = np.argsort(x, axis=-1)
        x = np.take_along_axis(x, order, -1)
        w = np.take_along_axis(w, order, -1)
        cw = np.cumsum(w, -1)
        cxw = np.cumsum(x * w, -1)
        W, XW = cw[..., -1:], cxw[..., -1:]
        # area under the Lorenz curve with trapezoids
        lor = cxw / XW
        lor_prev = np.concatenate([np.zeros_like(lor[..., :1]), lor[..., :-1]], -1)
        B = ((lor + lor_prev) * (w / W)).sum(-1) / 2.0
        return 1.0 - 2.0 * B

    return xr.apply_ufunc(_g, values, weights, input_core_dims=[[dim], [dim]])
