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
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import glob
import json
import os
import shutil
import socket
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from hashlib import blake2b
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gsim.groups import group_labels
from gsim.integrate import RunStatus
from gsim.model.layout import STOCKS, VARIABLES, stock_offset
from gsim.output import REGION_GROUP_ATTRS, TIME_ATTRS
from gsim.sweeps import manifest as mf
from gsim.sweeps.manifest import CHECK

if TYPE_CHECKING:
    import xarray as xr
    import zarr

STATUS_PENDING, STATUS_OK, STATUS_FAILED, STATUS_INVALID, STATUS_PLUGIN_FAULT = (
    RunStatus.PENDING, RunStatus.OK, RunStatus.FAILED, RunStatus.INVALID_INPUT, RunStatus.PLUGIN_FAULT)
STATUS_MEANINGS = " ".join(s.name.lower() for s in RunStatus)
STOCK_NAMES = STOCKS
FORMAT = "gsim-sweep-3"  # 2: checksums (group `check`), atomic creation, write lock; 3: manifest, faults
STR = np.dtypes.StringDType()
BLOCK_EXTRA = ("fail_stock", "fail_time", "fault", "status")  # BlockData fields written besides outputs, inputs
READ_BATCH_BYTES = 64 * 2**20  # verification reads this much at a time


class StoreError(RuntimeError):
    """A store is missing, not a gsim sweep, or does not match what is asked of it (exit 2)."""

    exit_code = 2


class StoreIOError(StoreError):
    """The store cannot be created, read or written (permission, not a directory, disk full)."""

    exit_code = 74  # EX_IOERR


class StoreBusy(StoreError):
    """Another process holds the store's write lock."""

    exit_code = 75  # EX_TEMPFAIL: try again later


class StoreDamaged(StoreError):
    """Done runs whose chunks are missing or corrupt (or damaged coordinates/metadata)."""

    exit_code = 65  # EX_DATAERR


def io_error(path: str | Path, doing: str, e: OSError) -> StoreIOError:
    """One line: the path, what failed, the OS's reason."""
    where = f" ({e.filename})" if e.filename and str(e.filename) != str(path) else ""
    return StoreIOError(f"{path}: cannot {doing}: {e.strerror or e}{where}")


# ----------------------------------------------------------------------------------------
# checksums
# ----------------------------------------------------------------------------------------
def run_checksums(arrays: Mapping[str, np.ndarray], names: tuple[str, ...] | list[str]) -> np.ndarray:
    """One 64-bit hash per row (run) over the rows of `arrays[name]` for `names` in order.

    NaN is hashed as the canonical NaN: zarr does not write a chunk equal to the fill value
    (NaN) and reads it back as the canonical NaN, whatever NaN bits were written."""
    parts = []
    n = len(arrays[names[0]])
    for name in names:
        a = np.asarray(arrays[name])
        if a.dtype.kind == "T":  # text: each row's UTF-8 hash, so rows have one width
            a = np.array([blake2b(str(x).encode(), digest_size=8).digest() for x in a.reshape(-1)],
                         "S8").reshape(a.shape)
        elif a.dtype.kind == "f":
            a = np.where(np.isnan(a), np.nan, a)
        a = np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("<") if a.dtype.kind != "S" else a.dtype)
        parts.append(a.reshape(n, -1).view(np.uint8))
    rows = np.concatenate(parts, axis=1)
    return np.array([int.from_bytes(blake2b(r, digest_size=8).digest(), "little") for r in rows], np.uint64)


def _digest(values: np.ndarray) -> str:
    """Hash of a whole (coordinate) array: numbers by their bytes, strings NUL-separated."""
    v = np.asarray(values)
    raw = "\0".join(map(str, v.tolist())).encode() if v.dtype.kind == "T" else np.ascontiguousarray(
        v, dtype=v.dtype.newbyteorder("<")).tobytes()
    return blake2b(raw, digest_size=16).hexdigest()


def metadata_damage(g: zarr.Group, path: str | Path) -> list[str]:
    """What differs from the manifest written at creation (`gsim.sweeps.manifest`):
    attributes added, removed or altered, array metadata altered or lost, arrays added; []
    when all agree."""
    check = _check_group(g, path)
    try:
        return mf.differences(dict(g.attrs), dict(check.attrs), Path(path))
    except OSError as e:
        raise io_error(path, "read it", e) from None


@dataclass
class BlockData:
    """A block's results, rows in run order: name -> (n_runs_in_block, ...); `checksum` is the
    per-run hash over `arrays()` (computed where the block was computed)."""

    outputs: dict[str, np.ndarray]
    inputs: dict[str, np.ndarray]  # target -> (n,) or (n, R)
    status: np.ndarray  # int8
    fail_time: np.ndarray
    fail_stock: np.ndarray  # int8
    faults: dict[int, str] = field(default_factory=dict)  # row -> plugin fault, in words
    checksum: np.ndarray = field(init=False)
    fault: np.ndarray = field(init=False)  # per row: its plugin faults in words, "" if none

    def __post_init__(self) -> None:
        # the store's dtypes, so the checksum is that of what is read back
        self.inputs = {k: np.asarray(v, np.float64) for k, v in self.inputs.items()}
        self.status, self.fail_stock = np.asarray(self.status, np.int8), np.asarray(self.fail_stock, np.int8)
        self.fail_time = np.asarray(self.fail_time, np.float64)
        self.fault = np.array([self.faults.get(i, "") for i in range(len(self.status))], STR)
        arrays = self.arrays()
        self.checksum = run_checksums(arrays, sorted(arrays))

    def arrays(self) -> dict[str, np.ndarray]:
        """Every array a block writes, by store name."""
        return {**self.outputs, **self.inputs, **{name: getattr(self, name) for name in BLOCK_EXTRA}}

    @property
    def n_failed(self) -> int:
        return int((self.status >= STATUS_FAILED).sum())


def plugin_indicators(g: zarr.Group) -> list[str]:
    """The plugin indicators a store holds (named in its attributes when it was created)."""
    return sorted(g.attrs.get("plugin_indicators", []))


def plugin_better(g: zarr.Group) -> dict[str, int]:
    """Each plugin indicator of a store -> which way is better (+1, -1; 0: no direction), as
    its components recorded when the sweep ran."""
    out = dict.fromkeys(plugin_indicators(g), 0)
    for c in g.attrs.get("components", []):
        if c.get("kind") == "indicator" and c.get("name") in out:
            out[c["name"]] = int(c.get("parameters", {}).get("better") or 0)
    return out


def stock_of_index(index: np.ndarray, R: int, S: int) -> np.ndarray:
    """The stock number (index into STOCK_NAMES) of each flat state index; -1 stays -1."""
    starts = np.array([stock_offset(i, R, S) for i in range(len(STOCKS) + 1)])
    out = np.searchsorted(starts, index, side="right") - 1
    return np.where(index < 0, -1, out).astype(np.int8)


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


def _pending_name(path: Path, pid: int | str) -> Path:
    return path.with_name(f".{path.name}.creating-{pid}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        pass
    return True


def interrupted_creations(path: Path) -> list[Path]:
    """Temporary stores of `path` whose creating process (on this machine) is gone."""
    out = []
    for p in glob.glob(glob.escape(str(_pending_name(path, ""))) + "*"):
        pid = p.rsplit("-", 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            out.append(Path(p))
    return out


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
    for stale in interrupted_creations(path):
        shutil.rmtree(stale, ignore_errors=True)
    tmp = _pending_name(path, os.getpid())
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


# ----------------------------------------------------------------------------------------
# verification
# ----------------------------------------------------------------------------------------
@dataclass
class Verification:
    """What `verify_store` found. `done`: runs done and verified; `status`: their status (0 for
    every other run); `damaged`: block -> why its runs cannot be trusted; `coordinates`: the
    coordinate arrays whose content is damaged."""

    path: str
    block_runs: int
    done: np.ndarray
    status: np.ndarray
    damaged: dict[int, str]
    coordinates: list[str]
    metadata: list[str] = field(default_factory=list)  # attributes / array metadata that differ

    @property
    def ok(self) -> bool:
        return not self.damaged and not self.coordinates and not self.metadata

    @property
    def n_runs(self) -> int:
        return len(self.done)

    def runs(self, b: int) -> tuple[int, int]:
        return b * self.block_runs, min((b + 1) * self.block_runs, self.n_runs)

    @property
    def n_damaged(self) -> int:
        return sum(r1 - r0 for r0, r1 in map(self.runs, self.damaged))

    @property
    def n_pending(self) -> int:
        return self.n_runs - int(self.done.sum()) - self.n_damaged

    def headline(self) -> str:
        if self.metadata:
            return (f"{self.path}: damaged metadata, no run is trusted: {'; '.join(self.metadata)}")
        return (f"{self.path}: {self.n_runs} runs: {int(self.done.sum())} done and verified, "
                f"{self.n_pending} pending, {self.n_damaged} damaged"
                + (f"; damaged coordinate arrays: {', '.join(self.coordinates)}" if self.coordinates else ""))

    def damage(self) -> list[str]:
        """One line per damaged block: its runs and the reason."""
        return [f"runs {r0}-{r1 - 1} (block {b}): {why}"
                for b, why in sorted(self.damaged.items()) for r0, r1 in [self.runs(b)]]

    def repair_hint(self) -> str:
        if self.metadata:
            return ("the attributes and array metadata describe the whole store and have no other copy: "
                    "it cannot be repaired, start a new store")
        return f"repair: gsim sweep --resume {self.path} (or gsim sweep --verify {self.path} --repair)"

    def refusal(self) -> str:
        """One line for commands that refuse to read a damaged store."""
        return f"{self.path}: {self.problems()}; {self.repair_hint()}"

    def problems(self) -> str:
        """What is damaged, in one line ('' if nothing)."""
        what = []
        if self.damaged:
            lines = self.damage()
            what.append(f"{self.n_damaged} done runs cannot be trusted ({'; '.join(lines[:3])}"
                        + (f"; and {len(lines) - 3} more blocks" if len(lines) > 3 else "") + ")")
        if self.coordinates:
            what.append(f"coordinate arrays {', '.join(self.coordinates)} are damaged")
        if self.metadata:
            what.append(f"its metadata differ from its manifest ({'; '.join(self.metadata[:3])}"
                        + (f"; and {len(self.metadata) - 3} more" if len(self.metadata) > 3 else "") + ")")
        return " and ".join(what)


def _reason(e: BaseException) -> str:
    return " ".join(f"{type(e).__name__}: {e}".split())[:120]


def _read(a: zarr.Array, r0: int, r1: int, chunk: int, path: str | Path) -> tuple[np.ndarray, dict[int, str]]:
    """Rows [r0, r1) of `a`, and the blocks whose chunk could not be decoded (-> why)."""
    try:
        return np.asarray(a[r0:r1]), {}
    except OSError as e:
        raise io_error(path, "read it", e) from None
    except Exception:  # noqa: BLE001 - a chunk does not decode: find which, below
        pass
    out = np.zeros((r1 - r0,) + a.shape[1:], a.dtype)
    bad: dict[int, str] = {}
    for s in range(r0, r1, chunk):
        end = min(s + chunk, r1)
        try:
            out[s - r0:end - r0] = a[s:end]
        except OSError as exc:
            raise io_error(path, "read it", exc) from None
        except Exception as exc:  # noqa: BLE001 - undecodable (truncated, garbled) chunk
            bad[s // chunk] = _reason(exc)
    return out, bad


def _array(g: zarr.Group, name: str, path: str | Path) -> zarr.Array:
    try:
        return g[name]
    except OSError as e:
        raise io_error(path, "read it", e) from None
    except Exception:  # noqa: BLE001 - missing or unreadable metadata
        raise StoreDamaged(f"{path}: the metadata of array {name!r} is missing or unreadable; "
                           "the store cannot be repaired, start a new one") from None


def verify(store: str | Path) -> Verification:
    """Open `store` and verify it (see verify_store); reads only, takes no lock."""
    return verify_store(open_store(store), store)


def checked(g: zarr.Group, store: str | Path) -> Verification:
    """verify_store, raising StoreDamaged (one line: what is damaged, how to repair) unless the
    store is clean: what readers call before they answer."""
    health = verify_store(g, store)
    if not health.ok:
        raise StoreDamaged(health.refusal())
    return health


def open_checked(store: str | Path) -> tuple[zarr.Group, Verification]:
    """The store, opened for reading, and its verification; StoreDamaged unless clean."""
    g = open_store(store)
    return g, checked(g, store)


def verify_store(g: zarr.Group, path: str | Path) -> Verification:
    """Check every block marked done: its chunks decode, and every run's row hashes to its
    stored checksum; check the coordinate arrays against their hashes. Reads the whole store,
    READ_BATCH_BYTES at a time. Attributes and array metadata are checked against the manifest
    first; if they differ, nothing else is read (no run is trusted). Raises StoreDamaged only
    for damage that leaves nothing to check against (a lost check group)."""
    check = _check_group(g, path)
    meta = metadata_damage(g, path)
    if meta:
        return Verification(str(path), 1, np.zeros(0, bool), np.zeros(0, np.int8), {}, [], meta)
    covers = list(check.attrs["covers"])
    done_a, sums_a = _array(g, "done", path), _array(check, "checksum", path)
    arrays = {name: _array(g, name, path) for name in covers}
    n, chunk = done_a.shape[0], done_a.chunks[0]
    for name, a in {**arrays, "checksum": sums_a}.items():
        if a.shape[0] != n or a.chunks[0] != chunk:
            raise StoreDamaged(f"{path}: array {name!r} has shape {a.shape}, chunks {a.chunks}; "
                               f"expected {n} runs in chunks of {chunk}; start a new store")
    row_bytes = sum(a.dtype.itemsize * int(np.prod(a.shape[1:])) for a in arrays.values())
    step = max(1, READ_BATCH_BYTES // max(1, row_bytes * chunk)) * chunk
    done = np.zeros(n, bool)
    status = np.zeros(n, np.int8)
    damaged: dict[int, str] = {}
    for r0 in range(0, n, step):
        r1 = min(r0 + step, n)
        flags, bad_done = _read(done_a, r0, r1, chunk, path)
        sums, bad_sums = _read(sums_a, r0, r1, chunk, path)
        data: dict[str, np.ndarray] = {}
        bad: dict[int, str] = {}
        for name, a in arrays.items():
            data[name], bad_a = _read(a, r0, r1, chunk, path)
            for b, why in bad_a.items():
                bad.setdefault(b, f"{name}: unreadable chunk ({why})")
        for s in range(r0, r1, chunk):
            b, e = s // chunk, min(s + chunk, r1)
            rows = slice(s - r0, e - r0)
            if b in bad_done:
                damaged[b] = f"done flags unreadable ({bad_done[b]})"
                continue
            f = flags[rows]
            if not f.any():
                continue  # pending
            if not f.all():
                damaged[b] = "done flags partly set"
            elif b in bad:
                damaged[b] = bad[b]
            elif b in bad_sums:
                damaged[b] = f"checksums unreadable ({bad_sums[b]})"
            else:
                want = sums[rows]
                got = run_checksums({k: v[rows] for k, v in data.items()}, covers)
                wrong = np.nonzero(got != want)[0]
                if len(wrong):
                    damaged[b] = (f"checksum mismatch in {len(wrong)} of {e - s} runs "
                                  "(a chunk is missing, altered or was not completely written)")
                else:
                    done[s:e] = True
                    status[s:e] = data["status"][rows]
    coords = []
    expected = dict(check.attrs["coordinates"])
    for name, digest in expected.items():
        try:
            ok = _digest(_array(g, name, path)[:]) == digest
        except OSError as e:
            raise io_error(path, "read it", e) from None
        except StoreDamaged:
            raise
        except Exception:  # noqa: BLE001 - undecodable chunk
            ok = False
        if not ok:
            coords.append(name)
    return Verification(str(path), chunk, done, status, damaged, coords)


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
