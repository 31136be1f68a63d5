"""The sweep's Zarr store: preallocated for every run, one chunk (along `run`) per block.

Layout (Zarr v3, one array per variable, `dimension_names` set so xarray reads it):

- coordinates: ``run``, ``time``, ``region`` (with ``region_group``: sending or receiving,
  `gsim.groups`), ``tier``; along ``run``: ``sample``,
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

import datetime as _dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import zarr

from gsim import __version__
from gsim.groups import group_labels
from gsim.model.inputs import STOCKS
from gsim.output import REGION_GROUP_ATTRS, VARIABLES

STATUS_PENDING, STATUS_OK, STATUS_FAILED, STATUS_INVALID = 0, 1, 2, 3
STATUS_MEANINGS = "pending ok failed invalid_input"
STOCK_NAMES = tuple(s[0] for s in STOCKS)
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

    @property
    def n_failed(self) -> int:
        return int((self.status >= STATUS_FAILED).sum())


def create_store(path: str | Path, plan: Any, attrs: dict[str, Any]) -> zarr.Group:
    """Preallocate the whole sweep; refuses to overwrite an existing path."""
    path = Path(path)
    if path.exists():
        raise StoreError(f"{path} already exists; use --resume {path} to continue it, or remove it")
    sc, spec = plan.scenario, plan.spec
    n, chunk = spec.n_runs, plan.block_runs
    times = plan.grid.save_times
    R, S = len(sc.regions), len(sc.tiers)
    g = zarr.open_group(str(path), mode="w-", zarr_format=3)
    dimsize = {"time": len(times), "region": R, "tier": S}

    def arr(name, dims, dtype, fill, attributes=None):
        shape = tuple(n if d == "run" else dimsize[d] for d in dims)
        chunks = tuple(chunk if d == "run" else dimsize[d] for d in dims)
        return g.create_array(name, shape=shape, chunks=chunks, dtype=dtype, fill_value=fill,
                              dimension_names=list(dims), attributes=attributes or {})

    arr("time", ("time",), "f8", np.nan,
        {"units": "year", "long_name": "calendar year (decimal)"})[:] = times
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
        dims, units, long_name = VARIABLES[name]
        arr(name, ("run", "time") + dims, "f8", np.nan, {"units": units, "long_name": long_name})
    for u in spec.uncertain:
        dims = ("run", "region") if u.per_region else ("run",)
        what = "factor on" if u.apply == "scale" else "sampled value of"
        arr(u.target, dims, "f8", np.nan,
            {"long_name": f"{what} {u.target} ({u.dist}, scope {u.scope})",
             "distribution": json.dumps(u.kwargs), "apply": u.apply})
    arr("status", ("run",), "i1", STATUS_PENDING,
        {"long_name": "run status", "flag_values": [0, 1, 2, 3], "flag_meanings": STATUS_MEANINGS})
    arr("fail_time", ("run",), "f8", np.nan,
        {"units": "year", "long_name": "time of the first negative or non-finite stock"})
    arr("fail_stock", ("run",), "i1", -1,
        {"long_name": "stock that turned negative or non-finite (index into attribute stocks)"})
    arr("done", ("run",), bool, False, {"long_name": "run computed and written"})
    now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    g.attrs.update({
        "Conventions": "CF-1.10",
        "title": f"gsim GTM-1 Monte Carlo sweep of scenario {sc.name}",
        "source": f"gsim {__version__} (GTM-1 revision 3)",
        "history": f"{now} created by gsim {__version__}",
        "format": FORMAT,
        "stocks": list(STOCK_NAMES),
        **attrs,
    })
    return g


def open_store(path: str | Path, mode: str = "r") -> zarr.Group:
    p = Path(path)
    if not p.exists():
        raise StoreError(f"{path}: no such store")
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
