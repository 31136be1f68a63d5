"""The sweep store under faults: kills during creation and writing, damaged chunks, two
writers, an unwritable target, a full disk. Whatever happens, a store is absent, resumable
or reported damaged, and resuming gives the store an uninterrupted sweep gives, bit for bit.

Stores are tiny (6 samples, t1 = 2025, blocks of 2 samples x 4 policies = 8 runs); the point is
the bookkeeping.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import zarr
import zarr.storage._local as zarr_local
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as hs

from gsim.cli import main
from gsim.scenario import load_scenario
from gsim.sweeps import analysis
from gsim.sweeps import store as st
from gsim.sweeps.engine import LocalExecutor, SweepInterrupted, repair, resume, sweep
from gsim.sweeps.store import files as store_files

OPTS = {"samples": 6, "t1": 2025, "block_size": 2}  # 24 runs in 3 blocks of 8 (4 policies)
BLOCK = 8


def sweep_of(path: Path, opts=OPTS) -> Path:
    sweep(path, None, opts, executor=LocalExecutor(1))
    return path


def arrays(path: Path) -> dict[str, np.ndarray]:
    g = zarr.open_group(str(path), mode="r")
    out = {name: g[name][:] for name in g.array_keys()}
    out.update({f"check/{n}": g[st.CHECK][n][:] for n in g[st.CHECK].array_keys()})
    return out


def assert_same_store(a: Path, b: Path) -> None:
    """Every array, the checksums included, equal value for value (NaN equal to NaN)."""
    x, y = arrays(a), arrays(b)
    assert sorted(x) == sorted(y)
    for name in x:
        if x[name].dtype.kind == "f":
            assert np.array_equal(x[name], y[name], equal_nan=True), name
        else:
            assert np.array_equal(x[name], y[name]), name
    ga, gb = zarr.open_group(str(a), mode="r"), zarr.open_group(str(b), mode="r")
    for k in ("config_hash", "scenario_hash", "root_seed", "gsim_version", "format"):
        assert ga.attrs[k] == gb.attrs[k]


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    return sweep_of(tmp_path_factory.mktemp("ref") / "ref.zarr")


@pytest.fixture
def copy(reference, tmp_path) -> Path:
    p = tmp_path / "s.zarr"
    shutil.copytree(reference, p)
    return p


def chunk_file(store: Path, name: str, block: int) -> Path:
    """The chunk file of `block` (along run) of array `name` (e.g. 'real_gdp', 'check/checksum')."""
    p = store / name / "c" / str(block)
    while p.is_dir():
        p = p / "0"
    return p


def health(path: Path) -> st.Verification:
    return st.verify(path)


def cli(*args: str):
    return CliRunner().invoke(main, list(args))


def one_line(res) -> str:
    lines = res.output.strip().splitlines()
    assert len(lines) == 1, res.output
    return lines[0]


# --- checksums ---------------------------------------------------------------------------
def test_a_clean_store_verifies(reference):
    h = health(reference)
    assert h.ok and h.done.all() and h.n_pending == 0 and h.n_damaged == 0
    assert (h.status == st.STATUS_OK).all()
    res = cli("sweep", "--verify", str(reference))
    assert res.exit_code == 0 and "24 done and verified, 0 pending, 0 damaged" in res.output


@settings(max_examples=50, deadline=None)
@given(seed=hs.integers(0, 2**32 - 1), n=hs.integers(1, 6), cols=hs.integers(1, 5))
def test_a_changed_value_changes_its_runs_checksum_only(seed, n, cols):
    rng = np.random.default_rng(seed)
    data = {"a": rng.normal(size=(n, cols)), "b": rng.integers(-3, 3, n).astype(np.int8),
            "c": rng.normal(size=(n, 2, cols))}
    names = sorted(data)
    before = st.run_checksums(data, names)
    name = names[rng.integers(len(names))]
    flat = data[name].reshape(-1).view(np.uint8)  # flip one bit of one byte
    i = int(rng.integers(flat.size))
    flat[i] ^= np.uint8(1 << int(rng.integers(8)))
    after = st.run_checksums(data, names)
    row = (i // data[name].dtype.itemsize) // int(np.prod(data[name].shape[1:]))
    assert list(np.nonzero(before != after)[0]) == [row]


def test_nan_bits_do_not_matter():
    """Any NaN hashes as the canonical one (zarr reads an unwritten all-NaN chunk as that)."""
    nans = np.array([[0x7FF8000000000000, 0xFFF8000000000000, 0x7FF0000000000001]], np.uint64).view(np.float64)
    assert np.isnan(nans).all()
    assert st.run_checksums({"x": nans}, ["x"]) == st.run_checksums({"x": np.full((1, 3), np.nan)}, ["x"])


def test_checksums_do_not_depend_on_the_block_size(reference, tmp_path):
    assert_same_store(reference, sweep_of(tmp_path / "b3.zarr", {**OPTS, "block_size": 3}))


def test_failed_and_invalid_runs_verify(tmp_path):
    """All-NaN blocks (zarr then writes no chunk) and NaN after a failure verify clean."""
    sc = load_scenario()
    sc = dataclasses.replace(sc, sweep={"uncertain": {
        "phi_w": {"dist": "choice", "values": [2.0, 50.0]},
        "kappa": {"dist": "normal", "mean": 0.3, "sd": 1.0}}})
    p = tmp_path / "f.zarr"
    sweep(p, sc, {"samples": 8, "sampler": "mc", "t1": 2025, "policies": "none,market", "block_size": 1},
          executor=LocalExecutor(1))
    status = zarr.open_group(str(p))["status"][:].reshape(8, 2)
    assert (status == st.STATUS_INVALID).all(axis=1).any(), "want a block of invalid runs only"
    assert (status == st.STATUS_FAILED).any()
    h = health(p)
    assert h.ok and h.done.all()


# --- damaged chunks ----------------------------------------------------------------------
def _damage(store: Path, name: str, block: int, how: str) -> None:
    path = chunk_file(store, name, block)
    data = path.read_bytes()
    if how == "delete":
        path.unlink()
    elif how == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif how == "garble":
        path.write_bytes(bytes(b ^ 0x5A for b in data))
    else:  # "swap": a valid chunk of another block (right shape, wrong runs)
        path.write_bytes(chunk_file(store, name, 0).read_bytes())


CASES = [(name, how) for name in ("real_gdp", "overcapacity", "kappa", "status", "check/checksum")
         for how in ("delete", "truncate", "garble")]
CASES += [("real_gdp", "swap"), ("kappa", "swap"), ("check/checksum", "swap"),
          ("done", "truncate"), ("done", "garble")]


@pytest.mark.parametrize("name,how", CASES)
def test_a_damaged_block_is_found_refused_and_repaired(reference, copy, name, how):
    _damage(copy, name, 1, how)
    h = health(copy)
    assert list(h.damaged) == [1] and not h.coordinates
    assert h.done.sum() == 16 and h.n_damaged == BLOCK
    # summary refuses, in one line naming the runs and the repair
    res = cli("summary", str(copy))
    assert res.exit_code == st.StoreDamaged.exit_code
    line = one_line(res)
    assert "runs 8-15 (block 1)" in line and f"gsim sweep --resume {copy}" in line
    with pytest.raises(st.StoreDamaged, match="8 done runs cannot be trusted"):
        analysis.summarize(copy)
    # --verify: the report, a distinct exit code
    res = cli("sweep", "--verify", str(copy))
    assert res.exit_code == st.StoreDamaged.exit_code and "damaged: runs 8-15 (block 1)" in res.output
    # resume recomputes exactly that block, says so, and restores the uninterrupted store
    rep = resume(copy, executor=LocalExecutor(1))
    assert rep.computed == BLOCK and len(rep.repaired) == 1 and "block 1" in rep.repaired[0]
    assert_same_store(reference, copy)
    assert health(copy).ok


def test_a_lost_done_flag_makes_its_block_pending(reference, copy):
    chunk_file(copy, "done", 2).unlink()
    h = health(copy)
    assert h.ok and h.n_pending == BLOCK and not h.done[16:].any()
    s = analysis.summarize(copy)
    assert s.pending == {"none": 2, "market": 2, "subsidy_race": 2, "gradient": 2}
    assert f"pending runs (not computed yet; gsim sweep --resume {copy}" in analysis.format_summary(s)
    assert resume(copy, executor=LocalExecutor(1)).computed == BLOCK
    assert_same_store(reference, copy)


def test_damaged_coordinates_are_rewritten(reference, copy):
    _damage(copy, "time", 0, "truncate")
    chunk_file(copy, "policy", 2).unlink()
    h = health(copy)
    assert h.coordinates == ["time", "policy"] and not h.damaged
    for args in (["summary", str(copy)], ["export", str(copy), "--csv", str(copy.parent / "x.csv")]):
        res = cli(*args)
        assert res.exit_code == st.StoreDamaged.exit_code
        assert "coordinate arrays time, policy are damaged" in one_line(res)
    rep = resume(copy)
    assert rep.computed == 0 and rep.repaired == ("coordinate arrays time, policy: rewritten",)
    assert_same_store(reference, copy)


def test_verify_repair_recomputes_damage_only(reference, copy):
    _damage(copy, "real_gdp", 0, "delete")
    chunk_file(copy, "done", 2).unlink()  # pending: stays pending
    res = cli("sweep", "--verify", str(copy), "--repair", "-j", "1", "--no-progress")
    assert res.exit_code == 0, res.output
    assert "repaired runs 0-7 (block 0)" in res.output and "8 runs pending" in res.output
    h = health(copy)
    assert h.ok and h.n_pending == BLOCK
    assert repair(copy).computed == 0
    assert cli("sweep", "--resume", str(copy), "--no-progress", "--no-summary").exit_code == 0
    assert_same_store(reference, copy)


def test_verify_takes_no_sweep_options(copy):
    for args in (["sweep", "--verify", str(copy), "-n", "5"], ["sweep", "--resume", str(copy), "--repair"],
                 ["sweep", "--verify", str(copy), "--resume", str(copy)]):
        res = cli(*args)
        assert res.exit_code == 2 and "--verify" in one_line(res)


def test_unrepairable_damage_is_one_line(copy):
    (copy / "real_gdp" / "zarr.json").unlink()
    for args in (["summary", str(copy)], ["sweep", "--resume", str(copy)], ["sweep", "--verify", str(copy)]):
        res = cli(*args)
        assert res.exit_code == st.StoreDamaged.exit_code, (args, res.output)
        assert "metadata of array 'real_gdp' is missing" in one_line(res)


def test_a_store_of_another_format_is_named(copy):
    g = zarr.open_group(str(copy), mode="r+")
    g.attrs["format"] = "gsim-sweep-1"
    del g[st.CHECK].attrs["manifest"]  # an older format has no manifest
    res = cli("sweep", "--resume", str(copy))
    assert res.exit_code == 2 and "format gsim-sweep-1; this gsim reads gsim-sweep-3" in one_line(res)


def test_resume_options_are_compared_with_the_stores_settings(reference, copy):
    res = cli("sweep", "--resume", str(copy), "-n", "6", "--t1", "2025", "--no-progress", "--no-summary")
    assert res.exit_code == 0, res.output
    res = cli("sweep", "--resume", str(copy), "-n", "7")
    assert res.exit_code == 2 and "holds a different sweep" in one_line(res)


# --- the write lock ------------------------------------------------------------------------
def test_a_second_writer_is_refused(copy):
    with st.open_for_writing(copy):
        with pytest.raises(st.StoreBusy, match=f"being written by another gsim process \\(pid {os.getpid()}\\)"):
            resume(copy)
        for args in (["sweep", "--resume", str(copy)], ["sweep", "--verify", str(copy), "--repair"]):
            res = cli(*args)
            assert res.exit_code == st.StoreBusy.exit_code
            assert str(copy) in one_line(res) and f"pid {os.getpid()}" in res.output
        assert cli("sweep", "--verify", str(copy)).exit_code == 0  # readers need no lock
        assert cli("summary", str(copy)).exit_code == 0
    assert resume(copy).computed == 0  # released


def _cli(*args):
    return [sys.executable, "-c", "from gsim.cli import main; main()", *args]


def test_a_killed_writer_leaves_no_stale_lock(reference, copy):
    g = zarr.open_group(str(copy), mode="r+")
    g["done"][:] = False  # everything to compute again
    proc = subprocess.Popen(_cli("sweep", "--resume", str(copy), "-j", "1", "--no-progress", "--no-summary"),
                            stderr=subprocess.PIPE, text=True)
    try:
        t_end = time.time() + 120
        while time.time() < t_end and proc.poll() is None:
            if zarr.open_group(str(copy), mode="r")[st.CHECK].attrs["writer"]["pid"] == proc.pid:
                break
            time.sleep(0.005)
        assert proc.poll() is None, proc.communicate()[1]
        os.kill(proc.pid, signal.SIGSTOP)  # holds the lock, does nothing
        with pytest.raises(st.StoreBusy, match=f"pid {proc.pid}"):
            resume(copy)
    finally:
        proc.kill()
        proc.communicate(timeout=60)
    resume(copy, executor=LocalExecutor(1))
    assert_same_store(reference, copy)


# --- interruptions -------------------------------------------------------------------------
ARGS = ["-n", "6", "--t1", "2025", "--block-size", "2", "-j", "1", "--no-summary", "--no-progress"]


def _creating(path: Path) -> list[Path]:
    return list(path.parent.glob(f".{path.name}.creating-*"))


def _done_runs(path: Path) -> int:
    try:
        return int(zarr.open_group(str(path), mode="r")["done"][:].sum())
    except Exception:  # noqa: BLE001 - not there yet
        return 0


# when to kill: the event (the temporary store appears / the store appears / a block is done),
# then a delay in seconds
KILLS = [("creating", 0.0), ("creating", 0.003), ("creating", 0.02), ("creating", 0.1),
         ("created", 0.0), ("created", 0.01), ("block", 0.0)]


@pytest.mark.parametrize("event,delay", KILLS)
def test_a_kill_at_any_early_time_leaves_no_store_or_a_resumable_one(reference, tmp_path, event, delay):
    p = tmp_path / "k.zarr"
    seen = {"creating": lambda: bool(_creating(p)) or p.exists(), "created": p.exists,
            "block": lambda: _done_runs(p) >= BLOCK}[event]
    proc = subprocess.Popen(_cli("sweep", "-o", str(p), *ARGS), stderr=subprocess.PIPE, text=True)
    t_end = time.time() + 120
    while not seen() and proc.poll() is None and time.time() < t_end:
        time.sleep(0.001)
    time.sleep(delay)
    proc.kill()
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL, "the sweep ended before it could be killed"
    if event == "creating" and delay == 0.0:
        assert not p.exists() and _creating(p), "killed while the store was being built"
    if event == "block":
        assert BLOCK <= _done_runs(p) < 24, "killed midway"
    if p.exists():
        st.open_store(p)  # complete: resumable
        resume(p, executor=LocalExecutor(1))
    else:
        res = cli("sweep", "--resume", str(p))
        assert res.exit_code == 2
        assert "no such store; its creation was interrupted before it was complete" in one_line(res)
        assert cli("sweep", "-o", str(p), *ARGS).exit_code == 0  # recreated ...
        assert not _creating(p)  # ... and the interrupted one removed
    assert_same_store(reference, p)


# --- I/O failures ----------------------------------------------------------------------------
def test_ctrl_c_while_creating_leaves_nothing(tmp_path, monkeypatch):
    def interrupted(g, plan):
        raise KeyboardInterrupt

    monkeypatch.setattr(store_files, "_build", interrupted)
    with pytest.raises(SweepInterrupted, match="interrupted while creating .*; nothing was created"):
        sweep_of(tmp_path / "i.zarr")
    assert os.listdir(tmp_path) == []


def test_an_unwritable_out_is_one_line(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    res = cli("sweep", "-o", str(f / "s.zarr"), *ARGS)
    assert res.exit_code == st.StoreIOError.exit_code
    assert f"{f / 's.zarr'}: cannot create it" in one_line(res)
    res = cli("sweep", "-o", str(f), *ARGS)
    assert res.exit_code == 2 and "already exists" in one_line(res)
    assert sorted(os.listdir(tmp_path)) == ["file"]


def _full_disk_after(monkeypatch, block: int | None, writes_ok: int = 0) -> None:
    """zarr's writes raise ENOSPC: those of a block's chunks (along run; coordinates, written
    at creation, excepted) after `writes_ok` of them succeeded; block None: every write."""
    real, seen = zarr_local._put, []

    def put(path, value, exclusive=False):
        parts = Path(path).parts
        mine = block is None or ("c" in parts and parts[parts.index("c") + 1] == str(block)
                                 and parts[parts.index("c") - 1] not in ("run", "sample", "replicate", "policy"))
        if mine:
            seen.append(path)
            if len(seen) > writes_ok:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real(path, value, exclusive)

    monkeypatch.setattr(zarr_local, "_put", put)


def test_a_full_disk_midway_keeps_earlier_blocks_and_resumes(reference, tmp_path, monkeypatch):
    p = tmp_path / "d.zarr"
    _full_disk_after(monkeypatch, block=1, writes_ok=5)
    with pytest.raises(st.StoreIOError, match="cannot write runs 8-15: No space left on device") as e:
        sweep_of(p)
    assert "the 8 runs done are kept" in str(e.value) and f"gsim sweep --resume {p}" in str(e.value)
    monkeypatch.undo()
    h = health(p)
    assert h.ok and h.done[:BLOCK].all() and h.n_pending == 16
    resume(p, executor=LocalExecutor(1))
    assert_same_store(reference, p)


def test_a_full_disk_on_the_cli_is_one_line(reference, copy, monkeypatch):
    g = zarr.open_group(str(copy), mode="r+")
    g["done"][8:] = False
    _full_disk_after(monkeypatch, block=2)
    res = cli("sweep", "--resume", str(copy), "-j", "1", "--no-progress")
    assert res.exit_code == st.StoreIOError.exit_code
    assert "No space left on device" in one_line(res) and "the 16 runs done are kept" in res.output
    monkeypatch.undo()
    assert health(copy).done.sum() == 16
    resume(copy)
    assert_same_store(reference, copy)


def test_a_full_disk_during_creation_leaves_nothing(tmp_path, monkeypatch):
    p = tmp_path / "c.zarr"
    _full_disk_after(monkeypatch, block=None)
    res = cli("sweep", "-o", str(p), *ARGS)
    assert res.exit_code == st.StoreIOError.exit_code
    assert "cannot create it: No space left on device" in one_line(res)
    assert os.listdir(tmp_path) == []
