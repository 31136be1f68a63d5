"""The store as lazy xarray Datasets: the paired layout (sample, replicate, policy) and the flat
one (run), both of verified runs only."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from gsim.sweeps.store.core import STATUS_FAILED, STATUS_INVALID, STATUS_OK, STATUS_PENDING, STATUS_PLUGIN_FAULT
from gsim.sweeps.store.verify import open_checked

if TYPE_CHECKING:
    import xarray as xr

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

    Either layout verifies the store first (`verify_store`: a whole read) and raises
    StoreDamaged rather than show a damaged one; `status` is that of the verified runs (0 for
    every run not verified done, whatever the array holds).
    """
    import xarray as xr

    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}, got {layout!r}")
    if layout == "paired":
        return _open_paired(store, ok_only)
    _, health = open_checked(store)  # not a store: StoreError; damaged: StoreDamaged
    ds = xr.open_zarr(str(store), consolidated=False)
    # only what verification found done: a run whose `done` chunk was lost is pending
    ds["status"] = ds["status"].copy(data=health.status)
    ds["done"] = ds["done"].copy(data=health.done)
    done = xr.DataArray(health.done, dims=("run",))
    for name in list(ds.data_vars):  # values of runs not verified done: NaN, as documented
        if ds[name].dims[:1] == ("run",) and ds[name].dtype.kind == "f":
            ds[name] = ds[name].where(done)
    coords = ["sample", "replicate", "policy", "status", "done", "fault", "region_group", *_input_names(ds)]
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

    g, health = open_checked(store)
    flat = xr.open_zarr(str(store), consolidated=False)
    policies = list(g.attrs["policies"])
    S, Rp, P = paired_shape(g)
    status = health.status  # verified: runs not verified done count as pending
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


_RUN_COORDS = ("run", "sample", "replicate", "policy", "status", "done", "fail_time", "fail_stock", "fault")


def _input_names(flat: xr.Dataset) -> list[str]:
    """Arrays holding sampled inputs (they carry the `apply` attribute of their uncertainty)."""
    return [str(n) for n in flat.data_vars if "apply" in flat[n].attrs]
