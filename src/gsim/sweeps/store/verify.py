"""Verification of a store: every done block against its checksums, the coordinates against
their hashes, attributes and array metadata against the manifest written at creation."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from gsim.sweeps import manifest as mf
from gsim.sweeps.store.core import StoreDamaged, _digest, io_error, run_checksums
from gsim.sweeps.store.files import _check_group, open_store

if TYPE_CHECKING:
    import zarr

READ_BATCH_BYTES = 64 * 2**20  # verification reads this much at a time


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
