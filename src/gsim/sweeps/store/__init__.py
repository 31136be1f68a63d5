"""The sweep's Zarr store: preallocated for every run, one chunk (along `run`) per block.

Layout (Zarr v3, one array per variable, `dimension_names` set so xarray reads it):

- coordinates: ``run``, ``time``, ``region`` (with ``region_group``: sending or receiving,
  `gsim.groups`), ``tier``; along ``run``: ``sample``,
  ``replicate``, ``policy`` (written at creation)
- outputs: the saved variables of gsim.model.layout.VARIABLES, dims ``(run, time[, region][, tier])``
- inputs: one array per uncertainty, named by its target (``kappa``, ``theta.labor``,
  ``region.gdp``), dims ``(run,)`` or ``(run, region)``: the sampled value (a factor for
  ``apply = "scale"``)
- ``status`` (0 pending, 1 ok, 2 failed, 3 invalid input, 4 plugin fault), ``fail_time`` (the
  time of the first bad state, NaN if none), ``fail_stock`` (index into the ``stocks``
  attribute, -1 if none) and ``done``: written last for each block, so a block is done only
  once all of it is on disk.
- the group ``check`` (not part of the xarray view): ``checksum`` (run,), a hash of each run's
  row of every array a block writes (attribute ``covers`` names them, in hash order), written
  just before ``done``; attribute ``coordinates``: a hash of each coordinate array; attribute
  ``writer``: pid and host of the last process that held the write lock.

Run order: run = (sample * replicates + replicate) * n_policies + policy, so one block (a
range of sample x replicate units, all policies) is one contiguous chunk of every array.

Crash safety: a store is built under a temporary name next to its target (``.NAME.creating-PID``)
and renamed when complete, so the target is either absent or complete; chunk files are written
atomically by zarr's LocalStore (temporary file, then rename), and ``done`` is written last, so
a kill leaves whole blocks or pending ones. A writer holds an exclusive ``flock`` on the store's
root ``zarr.json`` (written once at creation, never replaced), released by the kernel when the
process ends, however it ends. `verify_store` checks every done block against its checksums.

Its parts: `core` (format, errors, a block's rows and checksums), `files` (creation, opening,
the write lock, writing), `verify` (checksums, coordinates, manifest), `views` (the xarray
Datasets). Everything public is importable from `gsim.sweeps.store`.
"""

from gsim.sweeps.manifest import CHECK
from gsim.sweeps.store.core import (
    BLOCK_EXTRA,
    FORMAT,
    STATUS_FAILED,
    STATUS_INVALID,
    STATUS_MEANINGS,
    STATUS_OK,
    STATUS_PENDING,
    STATUS_PLUGIN_FAULT,
    STOCK_NAMES,
    STR,
    BlockData,
    StoreBusy,
    StoreDamaged,
    StoreError,
    StoreIOError,
    io_error,
    plugin_better,
    plugin_indicators,
    run_checksums,
    stock_of_index,
)
from gsim.sweeps.store.files import (
    clear_done,
    interrupted_creations,
    new_store,
    open_for_writing,
    open_store,
    seal,
    write_block,
    write_coordinates,
)
from gsim.sweeps.store.verify import (
    READ_BATCH_BYTES,
    Verification,
    checked,
    metadata_damage,
    open_checked,
    verify,
    verify_store,
)
from gsim.sweeps.store.views import LAYOUTS, open_sweep, paired_shape, run_counts

__all__ = [
    "BLOCK_EXTRA", "CHECK", "FORMAT", "LAYOUTS", "READ_BATCH_BYTES", "STATUS_FAILED", "STATUS_INVALID",
    "STATUS_MEANINGS", "STATUS_OK", "STATUS_PENDING", "STATUS_PLUGIN_FAULT", "STOCK_NAMES", "STR", "BlockData",
    "StoreBusy", "StoreDamaged", "StoreError", "StoreIOError", "Verification", "checked", "clear_done",
    "interrupted_creations", "io_error", "metadata_damage", "new_store", "open_checked", "open_for_writing",
    "open_store", "open_sweep", "paired_shape", "plugin_better", "plugin_indicators", "run_checksums", "run_counts",
    "seal", "stock_of_index", "verify", "verify_store", "write_block", "write_coordinates",
]
