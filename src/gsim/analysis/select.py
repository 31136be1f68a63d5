"""Choosing what to analyse in a paired store: indicator, policies, contrast, years, inputs.

Every bad choice is an `AnalysisError` with a one-line message naming what exists instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Sequence

import numpy as np

from gsim.model.layout import VARIABLES
from gsim.sweeps.analysis import years_index
from gsim.sweeps.engine import save_names
from gsim.sweeps.spec import SAVE_LEVELS, SweepSpec
from gsim.sweeps.store import STATUS_OK

if TYPE_CHECKING:
    import xarray as xr

PAIRED_DIMS = ("sample", "replicate", "policy", "time")


class AnalysisError(ValueError):
    """Bad input to an analysis (unknown indicator, policy or year; unusable store)."""


def indicator(ds: xr.Dataset, name: str) -> xr.DataArray:
    """The saved variable `name`, dims (sample, replicate, policy, time[, region][, tier])."""
    if name in ds.data_vars and ds[name].dims[:4] == PAIRED_DIMS:
        return ds[name]
    if name in VARIABLES:
        level = next(lv for lv in SAVE_LEVELS if name in save_names(lv))
        raise AnalysisError(f"{name} is not saved in this store (saved with --save {level} or more; "
                            f"this store: --save {ds.attrs.get('save')})")
    saved = [str(v) for v in ds.data_vars if ds[v].dims[:4] == PAIRED_DIMS]
    raise AnalysisError(f"unknown indicator {name!r} (saved: {', '.join(saved)})")


def labels(da: xr.DataArray, names: str | Sequence[str] | None) -> xr.DataArray:
    """`da` at some of its regions (or tiers): a comma-separated string or list; None: all."""
    if names is None:
        return da
    if isinstance(names, str):
        names = [p.strip() for p in names.split(",") if p.strip()]
    extra = [str(d) for d in da.dims[len(PAIRED_DIMS):]]
    if len(extra) != 1:
        raise AnalysisError(f"{da.name} has no region or tier to pick {', '.join(names)} from" if not extra else
                            f"{da.name} has dims {', '.join(extra)}: labels pick from one of region or tier")
    known = [str(v) for v in da[extra[0]].values]
    for n in names:
        if n not in known:
            raise AnalysisError(f"unknown {extra[0]} {n!r} (one of {', '.join(known)})")
    return da.sel({extra[0]: list(names)})


def policy(ds: xr.Dataset, name: str) -> str:
    pols = [str(p) for p in ds["policy"].values]
    if name not in pols:
        raise AnalysisError(f"unknown policy {name!r} (in this store: {', '.join(pols)})")
    return name


def contrast(ds: xr.Dataset, text: str) -> tuple[str, str]:
    """'A-B' -> (A, B): the paired difference A - B of two policies of the store."""
    a, sep, b = text.partition("-")
    if not sep or not a or not b:
        raise AnalysisError(f"contrast must be POLICY_A-POLICY_B, e.g. gradient-market, got {text!r}")
    if a == b:
        raise AnalysisError(f"contrast {text!r} compares a policy with itself")
    return policy(ds, a), policy(ds, b)


def policies(ds: xr.Dataset, names: str | Sequence[str] | None) -> list[str]:
    """A comma-separated string or list of policies; None: all policies of the store."""
    if names is None:
        return [str(p) for p in ds["policy"].values]
    if isinstance(names, str):
        names = [p.strip() for p in names.split(",") if p.strip()]
    if not names:  # else an empty selection reaches numpy as an empty stack
        known = ", ".join(str(p) for p in ds["policy"].values)
        raise AnalysisError(f"policies: none given (in this store: {known})")
    return [policy(ds, p) for p in names]


def year_indices(ds: xr.Dataset, years: Iterable[float] | str | None) -> list[int]:
    """Indices into ds.time: the given years, "all" saved times, or None: the sweep's report
    years (its [sweep] years that were saved, else the last saved year) as `gsim summary`."""
    times = np.asarray(ds["time"].values, float)
    if isinstance(years, str):
        if years != "all":
            raise AnalysisError(f"years must be a list of years or 'all', got {years!r}")
        return list(range(len(times)))
    try:
        return years_index(times, years, ds.attrs)
    except ValueError as e:
        raise AnalysisError(str(e)) from None


def spec(ds: xr.Dataset) -> SweepSpec:
    return SweepSpec.from_json(ds.attrs["sweep_spec"])


def paired_values(ds: xr.Dataset, da: xr.DataArray, tis: Sequence[int],
                  series: Sequence[tuple[str, ...]]) -> tuple[np.ndarray, np.ndarray]:
    """Values of `da` at time indices `tis` for each series: ``(a,)`` is policy a, ``(a, b)``
    the paired difference a - b. Reads only those times and policies from the store.

    Returns y (sample, replicate, series, time, ...) and ok (sample, replicate, series): every
    run the value needs is ok (elsewhere y is NaN).
    """
    used = list(dict.fromkeys(p for s in series for p in s))
    raw = da.isel(time=list(tis)).sel(policy=used).values
    status = ds["status"].sel(policy=used).values == STATUS_OK
    col = {p: i for i, p in enumerate(used)}
    y = np.stack([raw[:, :, col[s[0]]] - (raw[:, :, col[s[1]]] if len(s) > 1 else 0) for s in series], axis=2)
    ok = np.stack([status[:, :, [col[p] for p in s]].all(axis=-1) for s in series], axis=2)
    return y, ok
