"""The sweep's Zarr store: preallocated for every run, one chunk (along `run`) per block.

Layout (Zarr v3, one array per variable, `dimension_names` set so xarray reads it):

- coordinates: ``run``, ``time``, ``region``, ``tier``; along ``run``: ``sample``,
  ``replicate``, ``policy`` (written at creation)
- outputs: the saved variables of gsim.output.VARIABLES, dims ``(run, time[, region][, tier])``
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

from gsim.integrate import RunStatus
from gsim.model.layout import STOCKS, VARIABLES, stock_offset
from gsim.output import TIME_ATTRS

if TYPE_CHECKING:
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


def open_sweep(store: str | Path):
    """The sweep as a lazy xarray Dataset: `run` dimension with coordinates sample, replicate,
    policy, status and the sampled inputs (runs not yet done hold NaN / status 0)."""
    import xarray as xr

    g = open_store(store)
    ds = xr.open_zarr(str(store), consolidated=False)
    coords = ["sample", "replicate", "policy", "status", "done"]
    coords += [n for n in ds.data_vars if "apply" in ds[n].attrs]  # the sampled inputs
    ds = ds.set_coords([c for c in coords if c in ds])
    del g
    return ds.assign_coords(run=ds["run"])
