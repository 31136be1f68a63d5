"""What a writer killed outright (SIGKILL) leaves beside its target, a `.NAME.TAG-PID`
temporary, is removed by the next writer of the same name, and only when its process is gone."""

from __future__ import annotations

import os
import subprocess
import sys

import matching_cases as mc
import numpy as np
import xarray as xr
from click.testing import CliRunner

from gsim.cli import main
from gsim.output import leftovers, write_netcdf


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_only_temporaries_of_gone_processes_are_leftovers(tmp_path):
    target = tmp_path / "b.nc"
    dead = tmp_path / f".b.nc.tmp-{_dead_pid()}"
    mine = tmp_path / f".b.nc.tmp-{os.getpid()}"  # a writer still running
    odd = tmp_path / ".b.nc.tmp-notapid"
    other = tmp_path / f".c.nc.tmp-{_dead_pid()}"  # another target's
    for p in (dead, mine, odd, other):
        p.write_bytes(b"partial")
    assert leftovers(target, "tmp") == [dead]
    assert leftovers(target, "creating") == []


def test_a_netcdf_write_removes_a_killed_writers_temporary(tmp_path):
    target = tmp_path / "b.nc"
    stale = tmp_path / f".b.nc.tmp-{_dead_pid()}"
    stale.write_bytes(b"half a netCDF file")
    write_netcdf(xr.Dataset({"x": ("t", np.arange(3.0))}), target)
    assert not stale.exists()
    assert xr.open_dataset(target).x.values.tolist() == [0.0, 1.0, 2.0]


def test_a_match_removes_a_killed_matchs_temporary_store(tmp_path):
    stale = tmp_path / f".m.zarr.creating-{_dead_pid()}"
    (stale / "wave1").mkdir(parents=True)
    path = tmp_path / "s.toml"
    targets = mc.planted_targets(mc.history(), np.random.default_rng(11), rel=0.002)
    path.write_text(mc.scenario("[match]\nwaves = 1\nsamples = 20\n" + targets).toml)
    res = CliRunner().invoke(main, ["match", str(path), "-o", str(tmp_path / "m.zarr"), "-j", "1"])
    assert res.exit_code == 0, res.output
    assert not stale.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.zarr", "s.toml"]
