"""Monte Carlo sweeps: sampling, seeding, blocks, executors, a resumable Zarr store.

Public API (`sweep` and `open_sweep` also as ``gsim.sweep``, ``gsim.open_sweep``):

- `sweep(store, scenario=None, options=None, *, executor=None, progress=None)`
- `resume(store, scenario=None, options=None, *, executor=None, progress=None)`
- `open_sweep(store, layout="paired") -> xarray.Dataset` (lazy; layout "paired" or "flat")
- `summarize(store, years=None)`, `export_netcdf(store, path)`, `export_csv(store, path)`
- executors `LocalExecutor(workers)`, `DaskExecutor(scheduler=..., n_workers=...)`

Submodules: spec (the [sweep] table), sampling (samplers, seeding), store (Zarr layout),
engine (blocks, executors, resume), analysis (summary, export), cli (commands).
Imported lazily, so `import gsim` stays light. See docs/sweep.md.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "DaskExecutor": "engine", "LocalExecutor": "engine", "SweepInterrupted": "engine",
    "SweepReport": "engine", "open_sweep": "engine", "resume": "engine", "sweep": "engine",
    "SweepSpec": "spec", "SweepSpecError": "spec", "parse_spec": "spec",
    "StoreError": "store", "summarize": "analysis", "export_netcdf": "analysis",
    "export_csv": "analysis",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"gsim.sweeps.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'gsim.sweeps' has no attribute {name!r}")
