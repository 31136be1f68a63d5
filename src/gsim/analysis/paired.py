"""The paired reading layout of a sweep store: dims (sample, replicate, policy, time, ...).

A store keeps one flat `run` axis (run = (sample * replicates + replicate) * n_policies +
policy). Every policy sees the same sampled inputs (common random numbers), so reading the
store with `sample`, `replicate` and `policy` as separate dimensions makes a paired
difference a plain subtraction:
``ds.real_gdp.sel(policy="gradient") - ds.real_gdp.sel(policy="market")``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from gsim.sweeps import store as st

if TYPE_CHECKING:
    import xarray as xr

STATUS_OK = st.STATUS_OK


def paired_shape(g) -> tuple[int, int, int]:
    """(samples, replicates, policies) of an open store: its flat `run` axis reshaped to these
    three axes gives the paired layout (run = (sample * replicates + replicate) * P + policy)."""
    return int(g.attrs["samples"]), int(g.attrs["replicates"]), len(g.attrs["policies"])


def run_counts(status: np.ndarray) -> dict[str, int]:
    """Runs in all, done, ok, failed, invalid input and pending, from the `status` array."""
    return {
        "n_runs": int(status.size),
        "n_done": int((status != st.STATUS_PENDING).sum()),
        "n_ok": int((status == STATUS_OK).sum()),
        "n_failed": int((status == st.STATUS_FAILED).sum()),
        "n_invalid": int((status == st.STATUS_INVALID).sum()),
        "n_pending": int((status == st.STATUS_PENDING).sum()),
    }


def open_paired(store: str | Path, *, ok_only: bool = True) -> xr.Dataset:
    """The sweep as a lazy Dataset with dims (sample, replicate, policy, time[, region][, tier]).

    With `ok_only` (default), values of runs that are not done and ok (pending, failed,
    invalid input) are NaN, so paired statistics use only pairs where both runs are valid.
    Sampled inputs lose the policy axis (they are the same for every policy). The attributes
    `n_runs`, `n_done`, `n_ok`, `n_failed`, `n_invalid` and `n_pending` count the runs.
    """
    import xarray as xr

    g = st.open_store(store)
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
    return [n for n in flat.data_vars if "apply" in flat[n].attrs]
