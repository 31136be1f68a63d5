"""Monte Carlo sweeps: sampling, seeding, blocks, executors, a resumable Zarr store.

Public API (`sweep`, `resume` and `open_sweep` also as ``gsim.sweep`` etc.):

- `sweep(store, scenario=None, options=None, *, executor=None, progress=None)`
- `resume(store, scenario=None, options=None, *, executor=None, progress=None)`
- `open_sweep(store, layout="paired") -> xarray.Dataset` (lazy; layout "paired" or "flat")
- `verify(store) -> Verification`, `repair(store, *, executor=None, progress=None)`; errors
  `StoreError` and its kinds `StoreBusy`, `StoreDamaged`, `StoreIOError`
- `summarize(store, years=None)`, `export_netcdf(store, path)`, `export_csv(store, path)`
- executors `LocalExecutor(workers)`, `DaskExecutor(scheduler=..., n_workers=...)`

Submodules: spec (the [sweep] table), sampling (samplers, seeding), store (Zarr layout,
writing, verification and its readers), blocks (the plan, one block's runs), executors (local,
Dask), engine (sweep, resume, repair), analysis (summary, export). Heavy libraries
(zarr, xarray, dask, scipy.stats) are imported when first used. See docs/sweep.md.
"""

from gsim.sweeps.analysis import export_csv, export_netcdf, summarize
from gsim.sweeps.engine import (
    DaskExecutor,
    LocalExecutor,
    Progress,
    SweepInterrupted,
    SweepReport,
    repair,
    resume,
    sweep,
)
from gsim.sweeps.spec import SweepSpec, SweepSpecError, parse_spec
from gsim.sweeps.store import StoreBusy, StoreDamaged, StoreError, StoreIOError, Verification, open_sweep, verify

__all__ = [
    "DaskExecutor", "LocalExecutor", "Progress", "StoreBusy", "StoreDamaged", "StoreError", "StoreIOError",
    "SweepInterrupted", "SweepReport", "SweepSpec", "SweepSpecError", "Verification", "export_csv",
    "export_netcdf", "open_sweep", "parse_spec", "repair", "resume", "summarize", "sweep", "verify",
]
