"""The sweep's Zarr store: preallocated for every run, one chunk (along `run`) per block.

Layout (Zarr v3, one array per variable, `dimension_names` set so xarray reads it):

- coordinates: ``run``, ``time``, ``region`` (with ``region_group``: sending or receiving,
  `gsim.groups`), ``tier``; along ``run``: ``sample``,
  ``replicate``, ``policy`` (written at creation)
- outputs: the saved variables of gsim.model.layout.VARIABLES, dims ``(run, time[, region][, tier])``
- inputs: one array per uncertainty, named by its target (``kappa``, ``theta.labor``,
  ``region.gdp``), dims ``(run,)`` or ``(run, region)``: the sampled value (a factor for
  ``apply = "scale"``)
- ``status`` (0 pending, 1 ok, 2 failed, 3 invalid input), ``fail_time`` (the time of the first
  bad state, NaN if none), ``fail_stock`` (index into the ``stocks`` attribute, -1 if none) and
  ``done``: written last for each block, so a block is done only once all of it is on disk.

Run order: run = (sample * replicates + replicate) * n_policies + policy, so one block (a
range of sample x replicate units, all policies) is one contiguous chunk of every array.
Chunk files are written atomically by zarr's LocalStore, so a kill -9 leaves whole chunks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gsim.groups import group_labels
from gsim.integrate import RunStatus
from gsim.model.layout import STOCKS, VARIABLES, stock_offset
from gsim.output import REGION_GROUP_ATTRS, TIME_ATTRS

if TYPE_CHECKING:
    import xarray as xr
    import zarr

STATUS_PENDING, STATUS_OK, STATUS_FAILED, STATUS_INVALID, STATUS_PLUGIN_FAULT = (
    RunStatus.PENDING, RunStatus.OK, RunStatus.FAILED, RunStatus.INVALID_INPUT, RunStatus.PLUGIN_FAULT)
STATUS_MEANINGS = " ".join(s.name.lower() for s in RunStatus)
STOCK_NAMES = STOCKS
FORMAT = "gsim-sweep-1"
STR = np.dtypes.StringDType()


class StoreError(RuntimeError):
    """A store is missing, not a gsim sweep, or does not match what is asked of it."""


@dataclass
class BlockData:
    """A block's results, rows in run order: name -> (n_runs_in_block, ...)."""

    outputs: dict[str, np.ndarray]
    inputs: dict[str, np.ndarray]  # target -> (n,) or (n, R)
    status: np.ndarray  # int8
    fail_time: np.ndarray
    fail_stock: np.ndarray  # int8
    faults: dict[int, str] = field(default_factory=dict)  # row -> plugin fault, in words

    @property
    def n_failed(self) -> int:
        return int((self.status >= STATUS_FAILED).sum())


def plugin_indicators(g: zarr.Group) -> list[str]:
    """The plugin indicators a store holds (arrays marked with the plugin's name)."""
    return sorted(name for name, a in g.arrays() if "gsim_plugin" in a.attrs)


def stock_of_index(index: np.ndarray, R: int, S: int) -> np.ndarray:
    """The stock number (index into STOCK_NAMES) of each flat state index; -1 stays -1."""
    starts = np.array([stock_offset(i, R, S) for i in range(len(STOCKS) + 1)])
    out = np.searchsorted(starts, index, side="right") - 1
    return np.where(index < 0, -1, out).astype(np.int8)


def create_store(path: str | Path, plan: Any, attrs: dict[str, Any]) -> zarr.Group:
    """Preallocate the whole sweep; refuses to overwrite an existing path."""
    path = Path(path)
    if path.exists():
        raise StoreError(f"{path} already exists; use --resume {path} to continue it, or remove it")
    sc, spec = plan.scenario, plan.spec
    n, chunk = spec.n_runs, plan.block_runs
    times = plan.grid.save_times
    R, S = len(sc.regions), len(sc.tiers)
    import zarr  # imported on use: `gsim run` needs no zarr

    g = zarr.open_group(str(path), mode="w-", zarr_format=3)
    dimsize = {"time": len(times), "region": R, "tier": S}

    def arr(name, dims, dtype, fill, attributes=None):
        shape = tuple(n if d == "run" else dimsize[d] for d in dims)
        chunks = tuple(chunk if d == "run" else dimsize[d] for d in dims)
        return g.create_array(name, shape=shape, chunks=chunks, dtype=dtype, fill_value=fill,
                              dimension_names=list(dims), attributes=attributes or {})

    arr("time", ("time",), "f8", np.nan, TIME_ATTRS)[:] = times
    arr("region", ("region",), STR, "", {"long_name": "region"})[:] = np.array(sc.regions.name, STR)
    arr("region_group", ("region",), STR, "", REGION_GROUP_ATTRS)[:] = np.array(group_labels(sc), STR)
    arr("tier", ("tier",), STR, "",
        {"long_name": "industry tier, least to most sophisticated"})[:] = np.array(sc.tiers, STR)
    run = np.arange(n, dtype=np.int64)
    P = len(spec.policies)
    unit = run // P
    arr("run", ("run",), "i8", -1, {"long_name": "run index"})[:] = run
    arr("sample", ("run",), "i8", -1, {"long_name": "sample id"})[:] = unit // spec.replicates
    arr("replicate", ("run",), "i4", -1, {"long_name": "replicate"})[:] = unit % spec.replicates
    arr("policy", ("run",), STR, "", {"long_name": "policy (lever)"})[:] = np.array(
        spec.policies, STR)[run % P]
    for name in plan.save_names:
        var = VARIABLES[name]
        arr(name, ("run", "time") + var.dims, "f8", np.nan, {"units": var.units, "long_name": var.long_name})
    for ind, dims in plan.indicators:  # plugin indicators
        arr(ind.name, ("run", "time") + dims, "f8", np.nan,
            {"units": ind.units, "long_name": ind.long_name, "gsim_plugin": ind.plugin})
    for u in spec.uncertain:
        dims = ("run", "region") if u.per_region else ("run",)
        what = "factor on" if u.apply == "scale" else "sampled value of"
        arr(u.target, dims, "f8", np.nan,
            {"long_name": f"{what} {u.target} ({u.dist}, scope {u.scope})",
             "distribution": json.dumps(u.kwargs), "apply": u.apply})
    arr("status", ("run",), "i1", STATUS_PENDING,
        {"long_name": "run status", "flag_values": [int(s) for s in RunStatus],
         "flag_meanings": STATUS_MEANINGS})
    arr("fail_time", ("run",), "f8", np.nan,
        {"units": "year", "long_name": "time of the first negative or non-finite stock"})
    arr("fail_stock", ("run",), "i1", -1,
        {"long_name": "stock that turned negative or non-finite (index into attribute stocks)"})
    arr("done", ("run",), bool, False, {"long_name": "run computed and written"})
    g.attrs.update({**attrs, "format": FORMAT, "stocks": list(STOCK_NAMES)})
    return g


def open_store(path: str | Path, mode: str = "r") -> zarr.Group:
    p = Path(path)
    if not p.exists():
        raise StoreError(f"{path}: no such store")
    import zarr

    try:
        g = zarr.open_group(str(p), mode=mode)
    except Exception as e:  # noqa: BLE001 - any failure means: not a readable store
        raise StoreError(f"{path}: not a Zarr store ({type(e).__name__}: {e})") from None
    if g.attrs.get("format") != FORMAT:
        raise StoreError(f"{path}: not a gsim sweep store")
    return g


def write_block(g: zarr.Group, r0: int, data: BlockData) -> None:
    """Write one block's rows [r0, r0 + n); `done` last."""
    r1 = r0 + len(data.status)
    for name, v in data.outputs.items():
        g[name][r0:r1] = v
    for name, v in data.inputs.items():
        g[name][r0:r1] = v
    g["fail_time"][r0:r1] = data.fail_time
    g["fail_stock"][r0:r1] = data.fail_stock
    g["status"][r0:r1] = data.status
    g["done"][r0:r1] = True


def done_mask(g: zarr.Group) -> np.ndarray:
    return np.asarray(g["done"][:], bool)


LAYOUTS = ("paired", "flat")


def open_sweep(store: str | Path, layout: str = "paired", *, ok_only: bool = True) -> xr.Dataset:
    """The sweep as a lazy xarray Dataset, in one of two layouts.

    ``paired`` (default): dims (sample, replicate, policy, time[, region][, tier]). Every
    policy sees the same sampled inputs (common random numbers), so a paired difference is a
    subtraction: ``ds.real_gdp.sel(policy="gradient") - ds.real_gdp.sel(policy="market")``.
    With `ok_only`, values of runs that are not done and ok are NaN. Sampled inputs are
    coordinates with dims (sample, replicate[, region]); the attributes `n_runs`, `n_done`,
    `n_ok`, `n_failed`, `n_invalid` and `n_pending` count the runs.

    ``flat``: the store's own `run` dimension (run = (sample * replicates + replicate) *
    n_policies + policy) with coordinates sample, replicate, policy, status, done and the
    sampled inputs; runs not yet done hold NaN and status 0.
    """
    import xarray as xr

    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}, got {layout!r}")
    if layout == "paired":
        return _open_paired(store, ok_only)
    open_store(store)  # a clear error if it is not a gsim store
    ds = xr.open_zarr(str(store), consolidated=False)
    coords = ["sample", "replicate", "policy", "status", "done", "region_group", *_input_names(ds)]
    ds = ds.set_coords([c for c in coords if c in ds])
    return ds.assign_coords(run=ds["run"])


def paired_shape(g) -> tuple[int, int, int]:
    """(samples, replicates, policies) of an open store: its flat `run` axis reshaped to these
    three axes gives the paired layout (run = (sample * replicates + replicate) * P + policy)."""
    return int(g.attrs["samples"]), int(g.attrs["replicates"]), len(g.attrs["policies"])


def run_counts(status: np.ndarray) -> dict[str, int]:
    """Runs in all, done, ok, failed, invalid input and pending, from the `status` array."""
    return {
        "n_runs": int(status.size),
        "n_done": int((status != STATUS_PENDING).sum()),
        "n_ok": int((status == STATUS_OK).sum()),
        "n_failed": int((status == STATUS_FAILED).sum()),
        "n_invalid": int((status == STATUS_INVALID).sum()),
        "n_plugin_fault": int((status == STATUS_PLUGIN_FAULT).sum()),
        "n_pending": int((status == STATUS_PENDING).sum()),
    }


def _open_paired(store: str | Path, ok_only: bool = True) -> xr.Dataset:
    """The sweep as a lazy Dataset with dims (sample, replicate, policy, time[, region][, tier]).

    With `ok_only` (default), values of runs that are not done and ok (pending, failed,
    invalid input) are NaN, so paired statistics use only pairs where both runs are valid.
    Sampled inputs lose the policy axis (they are the same for every policy). The attributes
    `n_runs`, `n_done`, `n_ok`, `n_failed`, `n_invalid` and `n_pending` count the runs.
    """
    import xarray as xr

    g = open_store(store)
    flat = xr.open_zarr(str(store), consolidated=False)
    policies = list(g.attrs["policies"])
    S, Rp, P = paired_shape(g)
    status = np.asarray(g["status"][:])
    inputs = _input_names(flat)

    def unflatten(name: str, *, per_policy: bool = True) -> xr.DataArray:
        da = flat[name]
        rest = da.dims[1:]
        data = da.data.reshape((S, Rp, P) + da.shape[1:])
        dims: tuple[str, ...] = ("sample", "replicate", "policy") + rest
        if not per_policy:
            data, dims = data[:, :, 0], ("sample", "replicate") + rest
        return xr.DataArray(data, dims=dims, attrs=da.attrs)

    ok = (status == STATUS_OK).reshape(S, Rp, P)
    data_vars = {}
    for name in flat.data_vars:
        if "run" not in flat[name].dims or name in inputs or name in _RUN_COORDS:
            continue
        da = unflatten(name)
        if ok_only:
            mask = xr.DataArray(ok, dims=("sample", "replicate", "policy"))
            da = da.where(mask)
        data_vars[name] = da
    coords: dict[str, object] = {
        "sample": ("sample", np.arange(S)),
        "replicate": ("replicate", np.arange(Rp)),
        "policy": ("policy", policies),
        "status": (("sample", "replicate", "policy"), status.reshape(S, Rp, P),
                   flat["status"].attrs),
    }
    for c in ("time", "region", "region_group", "tier"):
        if c in flat.coords or c in flat:
            coords[c] = flat[c].load()
    for name in inputs:
        coords[name] = unflatten(name, per_policy=False)
    return xr.Dataset(data_vars, coords=coords, attrs={**dict(g.attrs), **run_counts(status)})


_RUN_COORDS = ("run", "sample", "replicate", "policy", "status", "done", "fail_time", "fail_stock")


def _input_names(flat: xr.Dataset) -> list[str]:
    """Arrays holding sampled inputs (they carry the `apply` attribute of their uncertainty)."""
    return [str(n) for n in flat.data_vars if "apply" in flat[n].attrs]
