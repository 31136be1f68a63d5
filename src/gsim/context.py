"""What a policy sees besides the observed model state: the scenario's regions table and the
plugin indicators it reads (`Policy.indicators`), resolved for `gsim.integrate.run_batch`.

The rule for an indicator read by a policy: at each decision, gsim observes the batch, then
computes the indicator from those observed values, then calls the policy (observe ->
indicators -> decide). The indicator gets a Dataset of one time slice with the batch as a
``run`` dimension (variables (run, time, [region,] [tier]), the coordinates of a run's
Dataset, and the sending/receiving aggregates), so it must work on dimensions by name. The
cost is one such Dataset and one call per indicator per decision per batch.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from gsim.groups import INPUTS as GROUP_INPUTS
from gsim.groups import group_aggregates, sending_mask
from gsim.indicators import Indicator, IndicatorError
from gsim.integrate import IndicatorInputs, PolicyInputs
from gsim.model.layout import VARIABLES
from gsim.output import TIME_ATTRS, region_coords
from gsim.policies import Policy, StateVar
from gsim.scenario import Scenario, ScenarioError

if TYPE_CHECKING:
    import xarray as xr


def region_data(sc: Scenario) -> dict[str, np.ndarray]:
    """The scenario's regions table by column, (R,) each: name, name_zh, macro_region, lat,
    lon, sending (bool, `gsim.groups.sending_mask`) and the columns the scenario declares
    (``[scenario] region_attributes``: numbers as float64, text as str). The model's region
    inputs (gdp, population, schooling, pop_trend, invest_rate) are added per run by the integrator."""
    rg = sc.regions
    out: dict[str, np.ndarray] = {
        "name": np.array(rg.name), "name_zh": np.array(rg.name_zh),
        "macro_region": np.array(rg.macro_region),
        "lat": np.asarray(rg.lat, float), "lon": np.asarray(rg.lon, float),
        "sending": np.asarray(sending_mask(sc), bool),
    }
    for col, values in rg.attributes:
        out[col] = np.array(values)
    for v in out.values():
        v.flags.writeable = False
    return out


def policy_indicators(sc: Scenario, policy: Policy, table: Mapping[str, Indicator]) -> tuple[Indicator, ...]:
    """The indicators `policy` reads, from the registry `table`; a ScenarioError naming the
    policy's plugin when one is not installed."""
    missing = [n for n in policy.indicators if n not in table]
    if missing:
        raise ScenarioError(
            f"{sc.source}: policy {policy.name!r} (plugin {policy.plugin or '?'}) reads the indicator(s) "
            f"{', '.join(missing)}, which no installed plugin provides (see `gsim plugins`)")
    return tuple(table[n] for n in policy.indicators)


def policy_inputs(sc: Scenario, policy: Policy, indicators: tuple[Indicator, ...] = ()) -> PolicyInputs:
    """The regions table and, when `policy` reads indicators, the function that computes them
    at each decision. `indicators` come resolved for the scenario, its parameters merged into
    their defaults (`gsim.api.scenario_indicators`)."""
    return PolicyInputs(region_data(sc), IndicatorReader(sc, indicators) if indicators else None)


class IndicatorReader:
    """Computes a policy's indicators from a batch's observed values (picklable, so a Dask
    worker can run it)."""

    def __init__(self, sc: Scenario, indicators: tuple[Indicator, ...]):
        self.sc, self.indicators = sc, indicators
        self.sending = sending_mask(sc)
        self._templates: dict[tuple[int, tuple[str, ...]], xr.Dataset] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_templates": {}}  # Datasets are rebuilt where it runs

    def _template(self, B: int, names: tuple[str, ...]) -> xr.Dataset:
        """A Dataset with the coordinates and variables of B runs (placeholder values), built
        once: a shallow copy with new data skips xarray's alignment and indexing."""
        import xarray as xr

        key = (B, names)
        if key not in self._templates:
            size = {"run": B, "time": 1, "region": len(self.sc.regions), "tier": len(self.sc.tiers)}
            data_vars = {}
            for n in names:
                dims = ("run", "time") + VARIABLES[n].dims
                data_vars[n] = (dims, np.broadcast_to(np.nan, tuple(size[d] for d in dims)),
                                {"units": VARIABLES[n].units, "long_name": VARIABLES[n].long_name})
            coords = region_coords(self.sc)
            coords["time"] = ("time", np.array([np.nan]), TIME_ATTRS)
            coords["run"] = ("run", np.arange(B))
            self._templates[key] = xr.Dataset(data_vars, coords=coords)
        return self._templates[key]

    def dataset(self, t: float, values: Mapping[str, np.ndarray]) -> xr.Dataset:
        """The observed values as a Dataset: dims (run, time[1], [region,] [tier])."""
        data = {n: values[n] for n in VARIABLES if n in values}
        if set(GROUP_INPUTS) <= set(data):
            data.update(group_aggregates(data, self.sending))
        B = next(iter(data.values())).shape[0]
        ds = self._template(B, tuple(data)).copy(deep=False, data={n: np.asarray(v)[:, None] for n, v in data.items()})
        return ds.assign_coords(time=("time", [float(t)], TIME_ATTRS))

    def __call__(self, t: float, values: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        ds = self.dataset(t, values)
        B = ds.sizes["run"]
        out = {}
        for ind in self.indicators:
            where = f"indicator {ind.name!r} (plugin {ind.plugin or '?'}), read by the policy at t={t:g}"
            try:
                da = ind(ds)
            except Exception as exc:
                raise IndicatorError(f"{where}, raised {type(exc).__name__}: {exc}") from exc
            dims = getattr(da, "dims", None)
            if dims is None or not set(dims) <= {"run", "time", "region", "tier"}:
                raise IndicatorError(f"{where}: must return a DataArray over run, time, region, tier; got "
                                     f"{type(da).__name__} with dims {dims}")
            if "time" in da.dims:
                da = da.isel(time=-1)
            if "run" not in da.dims:
                da = da.expand_dims(run=B)
            rest = [d for d in ("region", "tier") if d in da.dims]
            out[ind.name] = np.ascontiguousarray(da.transpose("run", *rest).values, np.float64)
        return out


def state_attrs(var: StateVar, policy: str) -> dict[str, str]:
    """The attributes of a saved state array."""
    return {"units": var.units, "long_name": var.long_name or "policy state", "gsim_policy": policy}


def state_dataset_vars(values: Mapping[str, np.ndarray], state: Mapping[str, StateVar],
                       policy: str) -> dict[str, tuple]:
    """One run's saved state arrays (``state_<name>``, (T, ...)) as Dataset variables."""
    return {f"state_{k}": (("time",) + v.dims, values[f"state_{k}"], state_attrs(v, policy))
            for k, v in state.items()}


def checked_inputs(sc: Scenario, policy: Policy, table: Mapping[str, Indicator]) -> PolicyInputs:
    """`policy_inputs` with the indicators resolved from `table` (one call for callers)."""
    return policy_inputs(sc, policy, policy_indicators(sc, policy, table))


__all__ = ["IndicatorInputs", "IndicatorReader", "checked_inputs", "policy_indicators", "policy_inputs",
           "region_data", "state_attrs", "state_dataset_vars"]
