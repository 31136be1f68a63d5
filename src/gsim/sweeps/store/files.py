"""The store on disk: its atomic creation, opening, the write lock, and writing a block's rows
(data, checksums, `done` last)."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gsim.groups import group_labels
from gsim.integrate import RunStatus
from gsim.model.layout import VARIABLES
from gsim.output import REGION_GROUP_ATTRS, TIME_ATTRS, leftovers, remove_leftovers, temporary_name
from gsim.sweeps import manifest as mf
from gsim.sweeps.manifest import CHECK
from gsim.sweeps.store.core import (
    BLOCK_EXTRA,
    FORMAT,
    STATUS_MEANINGS,
    STATUS_PENDING,
    STOCK_NAMES,
    STR,
    BlockData,
    StoreBusy,
    StoreDamaged,
    StoreError,
    _digest,
    io_error,
)

if TYPE_CHECKING:
    import zarr


# ----------------------------------------------------------------------------------------
# the write lock
# ----------------------------------------------------------------------------------------
@contextlib.contextmanager
def _write_lock(root: Path, shown: str | Path, check: zarr.Group | None) -> Iterator[None]:
    """Hold an exclusive flock on ROOT/zarr.json until the block ends (or the process dies).

    `check`: the store's check group, to record this process as the writer (None while the
    store is being created: its check group does not exist yet)."""
    try:
        fd = os.open(root / "zarr.json", os.O_RDWR)  # write access: NFS needs it for flock
    except OSError as e:
        raise io_error(shown, "open it for writing", e) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StoreBusy(f"{shown} is being written by another gsim process{_holder(check)}; "
                            "wait for it to finish, or stop it") from None
        except OSError as e:
            raise io_error(shown, "lock it (file system without flock?)", e) from None
        if check is not None:
            _record_writer(check, shown)
        yield
    finally:
        os.close(fd)  # releases the lock


def _writer() -> dict[str, Any]:
    return {"pid": os.getpid(), "host": socket.gethostname()}


def _record_writer(check: zarr.Group, shown: str | Path) -> None:
    try:
        check.attrs["writer"] = _writer()
    except OSError as e:
        raise io_error(shown, "write to it", e) from None


def _holder(check: zarr.Group | None) -> str:
    """' (pid N)' or ' (pid N on HOST)' of the recorded writer, '' if unknown."""
    try:
        w = dict(check.attrs["writer"]) if check is not None else {}
    except Exception:  # noqa: BLE001 - the pid is a courtesy; any failure means: unknown
        return ""
    if "pid" not in w:
        return ""
    host = "" if w.get("host") == socket.gethostname() else f" on {w.get('host')}"
    return f" (pid {w['pid']}{host})"


# ----------------------------------------------------------------------------------------
# creation
# ----------------------------------------------------------------------------------------
def _coordinates(plan: Any) -> dict[str, tuple[tuple[str, ...], Any, Any, dict, np.ndarray]]:
    """The arrays written at creation: name -> (dims, dtype, fill, attributes, values)."""
    sc, spec = plan.scenario, plan.spec
    run = np.arange(spec.n_runs, dtype=np.int64)
    unit = run // len(spec.policies)
    return {
        "time": (("time",), "f8", np.nan, TIME_ATTRS, np.asarray(plan.grid.save_times, float)),
        "region": (("region",), STR, "", {"long_name": "region"}, np.array(sc.regions.name, STR)),
        "region_group": (("region",), STR, "", REGION_GROUP_ATTRS, np.array(group_labels(sc), STR)),
        "tier": (("tier",), STR, "", {"long_name": "industry tier, least to most sophisticated"},
                 np.array(sc.tiers, STR)),
        "run": (("run",), "i8", -1, {"long_name": "run index"}, run),
        "sample": (("run",), "i8", -1, {"long_name": "sample id"}, unit // spec.replicates),
        "replicate": (("run",), "i4", -1, {"long_name": "replicate"},
                      (unit % spec.replicates).astype(np.int32)),
        "policy": (("run",), STR, "", {"long_name": "policy (lever)"},
                   np.array(spec.policies, STR)[run % len(spec.policies)]),
    }


def write_coordinates(g: zarr.Group, plan: Any, names: list[str] | None = None) -> None:
    """(Re)write the coordinate arrays (all, or `names`) from the plan."""
    for name, (*_, values) in _coordinates(plan).items():
        if names is None or name in names:
            g[name][:] = values


def _build(g: zarr.Group, plan: Any) -> None:
    """Create every array of the sweep in the (new, empty) group g."""
    sc, spec = plan.scenario, plan.spec
    n, chunk = spec.n_runs, plan.block_runs
    dimsize = {"time": len(plan.grid.save_times), "region": len(sc.regions), "tier": len(sc.tiers)}

    def arr(group, name, dims, dtype, fill, attributes=None):
        shape = tuple(n if d == "run" else dimsize[d] for d in dims)
        chunks = tuple(chunk if d == "run" else dimsize[d] for d in dims)
        return group.create_array(name, shape=shape, chunks=chunks, dtype=dtype, fill_value=fill,
                                  dimension_names=list(dims), attributes=attributes or {})

    coords = _coordinates(plan)
    for name, (dims, dtype, fill, attributes, _) in coords.items():
        arr(g, name, dims, dtype, fill, attributes)
    write_coordinates(g, plan)
    for name in plan.save_names:
        var = VARIABLES[name]
        arr(g, name, ("run", "time") + var.dims, "f8", np.nan, {"units": var.units, "long_name": var.long_name})
    for ind, dims in plan.indicators:  # plugin indicators
        arr(g, ind.name, ("run", "time") + dims, "f8", np.nan,
            {"units": ind.units, "long_name": ind.long_name, "gsim_plugin": ind.plugin})
    for name, var, policies in getattr(plan, "states", ()):  # policy state (NaN for other policies' runs)
        arr(g, f"state_{name}", ("run", "time") + var.dims, "f8", np.nan,
            {"units": var.units, "long_name": var.long_name or "policy state", "gsim_policy": ",".join(policies)})
    for u in spec.uncertain:
        dims = ("run", "region") if u.per_region else ("run",)
        what = "factor on" if u.apply == "scale" else "sampled value of"
        arr(g, u.target, dims, "f8", np.nan,
            {"long_name": f"{what} {u.target} ({u.dist}, scope {u.scope})",
             "distribution": json.dumps(u.kwargs), "apply": u.apply})
    arr(g, "status", ("run",), "i1", STATUS_PENDING,
        {"long_name": "run status", "flag_values": [int(s) for s in RunStatus],
         "flag_meanings": STATUS_MEANINGS})
    arr(g, "fail_time", ("run",), "f8", np.nan,
        {"units": "year", "long_name": "time of the first negative or non-finite stock"})
    arr(g, "fail_stock", ("run",), "i1", -1,
        {"long_name": "stock that turned negative or non-finite (index into attribute stocks)"})
    arr(g, "fault", ("run",), STR, "",
        {"long_name": "plugin faults of the run, in words (a policy, event or indicator that raised)"})
    covers = sorted([*plan.save_names, *(ind.name for ind, _ in plan.indicators),
                     *(f"state_{name}" for name, _, _ in getattr(plan, "states", ())),
                     *(u.target for u in spec.uncertain), *BLOCK_EXTRA])
    check = g.create_group(CHECK, attributes={
        "covers": covers, "coordinates": {k: _digest(v[-1]) for k, v in coords.items()},
        "writer": _writer()})
    arr(check, "checksum", ("run",), "u8", 0,
        {"long_name": "hash (blake2b, 64 bit) of the run's row of every array in attribute covers"})
    arr(g, "done", ("run",), bool, False, {"long_name": "run computed and written"})


def seal(g: zarr.Group, path: str | Path) -> None:
    """Write the manifest (and the seal over the check group's bookkeeping): the last step of
    a store's creation."""
    check = g[CHECK]
    check.attrs.update(mf.sealed(dict(g.attrs), dict(check.attrs), Path(path)))


def interrupted_creations(path: Path) -> list[Path]:
    """Temporary stores of `path` whose creating process (on this machine) is gone."""
    return leftovers(path, "creating")


@contextlib.contextmanager
def new_store(path: str | Path, plan: Any, attrs: dict[str, Any]) -> Iterator[zarr.Group]:
    """Create the whole sweep's store at `path`, atomically, and hold its write lock.

    The store is built as `.NAME.creating-PID` in the same directory and renamed to `path`
    once every array, attribute and coordinate is written: an interruption leaves no store at
    `path` (the temporary one is removed now on errors and Ctrl-C, else by the next creation).
    Refuses an existing `path`."""
    import zarr  # imported on use: `gsim run` needs no zarr

    shown, path = path, Path(path)
    if path.exists() or path.is_symlink():
        raise StoreError(f"{shown} already exists; use --resume {shown} to continue it, or remove it")
    remove_leftovers(path, "creating")
    tmp = temporary_name(path, "creating")
    try:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(tmp, ignore_errors=True)  # our pid's leftover: ours to remove
            g = zarr.create_group(str(tmp), zarr_format=3, overwrite=False,
                                  attributes={**attrs, "format": FORMAT, "stocks": list(STOCK_NAMES)})
        except OSError as e:
            raise io_error(shown, "create it", e) from None
        with _write_lock(tmp, shown, None):
            try:
                _build(g, plan)
                seal(g, tmp)
                os.rename(tmp, path)
            except OSError as e:
                if e.errno in (errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR, errno.EISDIR) and path.exists():
                    raise StoreError(f"{shown} appeared while it was being created; remove it or "
                                     "choose another --out") from None
                raise io_error(shown, "create it", e) from None
            yield open_store(path, mode="r+")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


# ----------------------------------------------------------------------------------------
# opening, writing
# ----------------------------------------------------------------------------------------
def open_store(path: str | Path, mode: str = "r") -> zarr.Group:
    p = Path(path)
    if not p.exists():
        hint = ("; its creation was interrupted before it was complete, start the sweep again"
                if interrupted_creations(p) else "")
        raise StoreError(f"{path}: no such store{hint}")
    if not p.is_dir() or not (p / "zarr.json").is_file():
        what = "a directory" if p.is_dir() else "a file"
        raise StoreError(f"{path}: not a gsim sweep store ({what} without a Zarr group's zarr.json)")
    import zarr

    try:
        g = zarr.open_group(str(p), mode=mode)
    except OSError as e:
        raise io_error(path, "read it", e) from None
    except Exception as e:  # noqa: BLE001 - any other failure means: not a readable store
        raise StoreError(f"{path}: not a Zarr store ({type(e).__name__}: {e})") from None
    fmt = g.attrs.get("format")
    if fmt != FORMAT and _sealed_as_ours(g):
        raise StoreDamaged(f"{path}: its attribute 'format' is altered or missing (its manifest says "
                           f"{FORMAT}); the store cannot be repaired, start a new one")
    if fmt != FORMAT:
        if isinstance(fmt, str) and fmt.startswith("gsim-sweep-"):
            raise StoreError(f"{path}: a store of format {fmt}; this gsim reads {FORMAT}, start a new store")
        raise StoreError(f"{path}: not a gsim sweep store")
    return g


def _sealed_as_ours(g: zarr.Group) -> bool:
    """Whether the store's manifest records this gsim's FORMAT (so an other `format` attribute
    is damage, not another kind of store)."""
    try:
        recorded = dict(g[CHECK].attrs)["manifest"]["attributes"].get("format")
    except Exception:  # noqa: BLE001 - no readable manifest: not a store of this format
        return False
    return recorded == mf.json_digest(FORMAT)


@contextlib.contextmanager
def open_for_writing(path: str | Path) -> Iterator[zarr.Group]:
    """The store, opened read-write, with this process its only writer until the block ends.
    Raises StoreBusy at once when another process writes it."""
    g = open_store(path, mode="r+")
    with _write_lock(Path(path), path, _check_group(g, path)):
        yield g


def _check_group(g: zarr.Group, path: str | Path) -> zarr.Group:
    try:
        check = g[CHECK]
        if {"covers", "coordinates"} <= set(check.attrs):
            return check
    except OSError as e:
        raise io_error(path, "read it", e) from None
    except Exception:  # noqa: BLE001 - missing or unreadable: the bookkeeping is lost
        pass
    raise StoreDamaged(f"{path}: its check group (checksums) is missing or unreadable; "
                       "the store cannot be verified, start a new one")


def write_block(g: zarr.Group, r0: int, data: BlockData, arrays: dict[str, Any] | None = None) -> None:
    """Write one block's rows [r0, r0 + n): the data, then its checksums, `done` last.

    `arrays`, a dict the caller keeps between blocks, remembers the array handles: looking one
    up reads and parses its metadata, which costs more than writing a block's rows."""
    arrays = {} if arrays is None else arrays

    def array(name: str) -> Any:
        if name not in arrays:
            arrays[name] = g[name]
        return arrays[name]

    r1 = r0 + len(data.status)
    for name, v in data.arrays().items():
        array(name)[r0:r1] = v
    array(f"{CHECK}/checksum")[r0:r1] = data.checksum
    array("done")[r0:r1] = True


def clear_done(g: zarr.Group, r0: int, r1: int) -> None:
    """Mark runs [r0, r1) not done (before rewriting a damaged block)."""
    g["done"][r0:r1] = False
