"""What every part of a sweep store shares: the format, the errors, and the rows a block writes
(`BlockData`) with their per-run checksums."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from hashlib import blake2b
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from gsim.integrate import RunStatus
from gsim.model.layout import STOCKS, stock_offset

if TYPE_CHECKING:
    import zarr

STATUS_PENDING, STATUS_OK, STATUS_FAILED, STATUS_INVALID, STATUS_PLUGIN_FAULT = (
    RunStatus.PENDING, RunStatus.OK, RunStatus.FAILED, RunStatus.INVALID_INPUT, RunStatus.PLUGIN_FAULT)
STATUS_MEANINGS = " ".join(s.name.lower() for s in RunStatus)
STOCK_NAMES = STOCKS
FORMAT = "gsim-sweep-3"  # 2: checksums (group `check`), atomic creation, write lock; 3: manifest, faults
STR = np.dtypes.StringDType()
BLOCK_EXTRA = ("fail_stock", "fail_time", "fault", "status")  # BlockData fields written besides outputs, inputs


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
