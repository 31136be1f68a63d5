"""Sweeps end to end: layout invariance, pairing, failures, resume, executors, readers.

Short horizons (t1 = 2025/2026) and a few samples keep this fast; the point is the
bookkeeping, not the horizon.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import zarr
from click.testing import CliRunner

import gsim
from gsim.scenario import load_scenario
from gsim.sweeps import store as st
from gsim.sweeps.engine import DaskExecutor, LocalExecutor, make_plan, resume, sweep
from gsim.sweeps.spec import parse_spec

SC = load_scenario()
UNC = {
    **SC.sweep["uncertain"],
    "mu": {"dist": "uniform", "low": 0.01, "high": 0.05, "scope": "run"},
    "region.schooling": {"dist": "uniform", "low": 0.95, "high": 1.05, "per_region": True,
                         "scope": "run"},
}
SMALL = dataclasses.replace(SC, sweep={**SC.sweep, "uncertain": UNC})
OPTS = {"samples": 6, "replicates": 2, "t1": 2025, "save": "regions"}


def assert_same_store(a, b):
    ga, gb = zarr.open_group(str(a), mode="r"), zarr.open_group(str(b), mode="r")
    names = sorted(ga.array_keys())
    assert names == sorted(gb.array_keys())
    for name in names:
        x, y = ga[name][:], gb[name][:]
        if x.dtype.kind == "f":
            assert np.array_equal(x, y, equal_nan=True), name
        else:
            assert (x == y).all(), name
    for k in ("config_hash", "scenario_hash", "root_seed", "gsim_version"):
        assert ga.attrs[k] == gb.attrs[k]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    path = tmp_path_factory.mktemp("ref") / "ref.zarr"
    rep = sweep(path, SMALL, {**OPTS, "block_size": 5}, executor=LocalExecutor(1))
    assert rep.computed == rep.n_runs == 6 * 2 * 4
    return path


def test_store_is_complete_and_paired(reference):
    ds = gsim.open_sweep(reference, layout="flat")
    assert ds.sizes["run"] == 48 and bool(ds["done"].all())
    assert (ds["status"] == st.STATUS_OK).all()
    assert list(ds["policy"].values[:4]) == ["none", "market", "subsidy_race", "gradient"]
    assert ds.attrs["root_seed"] == SC.sweep["seed"] and ds.attrs["config_hash"]
    assert set(ds["gdp"].dims) == {"run", "time", "region"}
    # common random numbers: the 4 runs of a (sample, replicate) share every input ...
    for name in ["sample", "replicate", "kappa", "beta", "mu", "region.gdp", "region.schooling"]:
        v = ds[name].values.reshape(12, 4, *ds[name].shape[1:])
        assert (v == v[:, :1]).all(), name
    # ... and differ between samples / replicates as specified
    kappa = ds["kappa"].values[::4].reshape(6, 2)
    assert (kappa[:, 0] == kappa[:, 1]).all() and len(set(kappa[:, 0])) == 6
    mu = ds["mu"].values[::4].reshape(6, 2)
    assert (mu[:, 0] != mu[:, 1]).all()
    # policies do differ in their outcomes
    tv = ds["transfer_volume"].isel(time=-1).values.reshape(12, 4)
    assert (tv[:, 0] == 0).all() and (tv[:, 1] > 0).all()


def test_sampled_scalars_reach_the_model(tmp_path):
    sc = dataclasses.replace(SC, sweep={"uncertain": {
        "kappa": SC.sweep["uncertain"]["kappa"], "beta": SC.sweep["uncertain"]["beta"]}})
    p = tmp_path / "s.zarr"
    sweep(p, sc, {"samples": 3, "t1": 2025, "policies": "gradient"}, executor=LocalExecutor(1))
    ds = gsim.open_sweep(p, layout="flat")
    for i in range(3):
        k, b = float(ds["kappa"][i]), float(ds["beta"][i])
        one = gsim.simulate(sc.with_overrides(kappa=k, beta=b), "gradient", t1=2025)
        np.testing.assert_array_equal(one["real_gdp"].values, ds["real_gdp"][i].values)
        np.testing.assert_array_equal(one["overcapacity"].values, ds["overcapacity"][i].values)


def test_scenario_events_apply_in_sweeps_as_in_single_runs(tmp_path):
    """A scenario's [[events]] shape every sweep run exactly as they shape `simulate`."""
    sc = dataclasses.replace(SC, sweep={"uncertain": {"kappa": SC.sweep["uncertain"]["kappa"]}},
                             events=({"type": "parameter_change", "name": "lambda_T",
                                      "value": 0.08, "year": 2024.0},))
    p = tmp_path / "s.zarr"
    sweep(p, sc, {"samples": 2, "t1": 2026, "policies": "market"}, executor=LocalExecutor(2))
    ds = gsim.open_sweep(p, layout="flat")
    for i in range(2):
        k = float(ds["kappa"][i])
        one = gsim.simulate(sc.with_overrides(kappa=k), "market", t1=2026)
        np.testing.assert_array_equal(one["transfer_volume"].values,
                                      ds["transfer_volume"][i].values)
        plain = dataclasses.replace(sc, events=None).with_overrides(kappa=k)
        without = gsim.simulate(plain, "market", t1=2026)
        assert float(without["transfer_volume"][-1]) < float(ds["transfer_volume"][i, -1])


@pytest.mark.parametrize("block,j", [(1, 1), (3, 2), (12, 2), (7, 1)])
def test_bit_identical_across_block_sizes_and_threads(reference, tmp_path, block, j):
    p = tmp_path / "s.zarr"
    sweep(p, SMALL, {**OPTS, "block_size": block}, executor=LocalExecutor(j))
    assert_same_store(reference, p)


def test_bit_identical_local_vs_dask_localcluster(reference, tmp_path, capfd):
    p = tmp_path / "d.zarr"
    rep = sweep(p, SMALL, {**OPTS, "block_size": 4}, executor=DaskExecutor(n_workers=2))
    assert rep.computed == 48
    assert_same_store(reference, p)
    assert "Traceback" not in capfd.readouterr().err  # nor at the cluster's shutdown


def test_an_interrupted_dask_sweep_shuts_down_quietly(capfd):
    written = []

    def stop_after_two(b, data):
        if len(written) == 2:
            raise KeyboardInterrupt
        written.append(b)

    plan = make_plan(SMALL, parse_spec(SMALL, {**OPTS, "block_size": 4}))
    with pytest.raises(KeyboardInterrupt):
        DaskExecutor(n_workers=2).run(plan, range(plan.n_blocks), stop_after_two)
    assert len(written) == 2 and "Traceback" not in capfd.readouterr().err


def test_failed_runs_are_recorded_while_others_complete(tmp_path):
    sc = dataclasses.replace(SC, sweep={"uncertain": {
        "phi_w": {"dist": "choice", "values": [2.0, 50.0]},
        "kappa": {"dist": "normal", "mean": 0.3, "sd": 1.0},  # often < 0: invalid input
    }})
    p = tmp_path / "f.zarr"
    told = []
    rep = sweep(p, sc, {"samples": 16, "sampler": "mc", "t1": 2025, "policies": "none,market",
                        "block_size": 4}, executor=LocalExecutor(2), progress=told.append)
    ds = gsim.open_sweep(p, layout="flat").load()
    status = ds["status"].values
    invalid = ds["kappa"].values <= 0
    blown = (ds["phi_w"].values == 50.0) & ~invalid
    fine = ~invalid & ~blown
    assert invalid.any() and blown.any() and fine.any()
    assert (status[invalid] == st.STATUS_INVALID).all()
    assert (status[blown] == st.STATUS_FAILED).all()
    assert (status[fine] == st.STATUS_OK).all()
    # failed and invalid are counted apart (both were "failed"), by the report and the progress
    assert (rep.failed, rep.invalid) == (int(blown.sum()), int(invalid.sum()))
    assert (told[-1].failed, told[-1].invalid) == (int(blown.sum()), int(invalid.sum()))
    stocks = ds.attrs["stocks"]
    assert all(stocks[i] == "wage" for i in ds["fail_stock"].values[blown])
    ft = ds["fail_time"].values
    assert ((ft[blown] > 2023) & (ft[blown] < 2025)).all() and np.isnan(ft[fine]).all()
    rg = ds["real_gdp"].values
    assert np.isnan(rg[invalid]).all() and np.isfinite(rg[fine]).all()
    assert np.isnan(rg[blown][:, -1]).all() and np.isfinite(rg[blown][:, 0]).all()
    assert ds["done"].values.all()


def test_resume_computes_only_missing_runs_and_equals_uninterrupted(reference, tmp_path):
    p = tmp_path / "r.zarr"
    sweep(p, SMALL, {**OPTS, "block_size": 5}, executor=LocalExecutor(1))
    g = zarr.open_group(str(p), mode="r+")
    # forget blocks 1 and 3 (runs 20..39 and 60..: block = 5 units x 4 policies)
    for r0, r1 in [(20, 40), (40, 48)]:
        g["done"][r0:r1] = False
        g["status"][r0:r1] = 0
        g["real_gdp"][r0:r1] = -1.0
    rep = resume(p, executor=LocalExecutor(2))
    assert rep.computed == 28
    assert_same_store(reference, p)
    assert resume(p).computed == 0


def test_resume_refuses_other_sweeps_and_versions(reference, tmp_path):
    import shutil

    p = tmp_path / "v.zarr"
    shutil.copytree(reference, p)
    with pytest.raises(st.StoreError, match="holds a different sweep"):
        resume(p, SMALL, {**OPTS, "samples": 7})
    with pytest.raises(st.StoreError, match="holds a different sweep"):
        resume(p, SMALL, {**OPTS, "seed": 1})
    assert resume(p, SMALL, OPTS).computed == 0  # the same sweep: accepted
    g = zarr.open_group(str(p), mode="r+")
    g.attrs["gsim_version"] = "0.0.1"
    st.seal(g, p)  # as that version would have written it: the manifest agrees
    with pytest.raises(st.StoreError, match="written by gsim 0.0.1"):
        resume(p)
    from gsim.cli import main

    res = CliRunner().invoke(main, ["sweep", "--resume", str(p)])
    assert res.exit_code == 2 and "written by gsim 0.0.1" in res.output
    assert len(res.output.strip().splitlines()) == 1
    with pytest.raises(st.StoreError, match="already exists"):
        sweep(p, SMALL, OPTS)


def test_summary_matches_the_data(reference):
    from gsim.sweeps.analysis import summarize

    s = summarize(reference, [2025])
    ds = gsim.open_sweep(reference, layout="flat")
    v = ds["real_gdp"].sel(time=2025).values.reshape(12, 4)
    row = s.stats[(s.stats.indicator == "real_gdp") & (s.stats.policy == "gradient")].iloc[0]
    assert row["median"] == np.median(v[:, 3]) and row["n"] == 12
    assert row["p5"] == np.quantile(v[:, 3], 0.05)
    w = s.wins[(s.wins.indicator == "real_gdp") & (s.wins.a == "gradient") & (s.wins.b == "market")]
    assert w["share"].iloc[0] == np.mean(v[:, 3] > v[:, 1])
    w = s.wins[(s.wins.indicator == "lost_capital") & (s.wins.a == "none") & (s.wins.b == "market")]
    lc = ds["lost_capital"].sel(time=2025).values.reshape(12, 4)
    assert w["share"].iloc[0] == np.mean(lc[:, 0] < lc[:, 1]) == 1.0  # lower is better
    assert "transfer_volume" not in set(s.wins.indicator)


def test_export_netcdf_and_csv(reference, tmp_path):
    import pandas as pd
    import xarray as xr

    from gsim.cli import main

    nc, csv = tmp_path / "s.nc", tmp_path / "s.csv"
    res = CliRunner().invoke(main, ["export", str(reference), "--netcdf", str(nc), "--csv", str(csv)])
    assert res.exit_code == 0, res.output
    a = xr.open_dataset(nc)
    b = gsim.open_sweep(reference, layout="flat")
    np.testing.assert_array_equal(a["gdp"].values, b["gdp"].values)
    assert list(a["policy"].values[:2]) == ["none", "market"]
    a.close()
    df = pd.read_csv(csv)
    assert len(df) == 48 * 3
    assert {"run", "sample", "policy", "kappa", "time", "real_gdp", "gdp[Beijing]",
            "overcapacity[labor]", "region.gdp[Tibet]"} <= set(df.columns)
    assert df["real_gdp"].to_numpy() == pytest.approx(b["real_gdp"].values.reshape(-1))
    res = CliRunner().invoke(main, ["summary", str(reference), "--years", "2024,2025", "--all"])
    assert res.exit_code == 0 and "== 2024" in res.output and "== 2025" in res.output
    res = CliRunner().invoke(main, ["summary", str(reference), "--years", "2031"])
    assert res.exit_code == 2 and "year 2031 is not a saved time" in res.output


# --- subprocess: kill -9 and Ctrl-C ------------------------------------------------------------
def _cli(*args):
    return [sys.executable, "-c", "from gsim.cli import main; main()", *args]


def _wait_for_done(path, at_least, proc, timeout=120):
    t_end = time.time() + timeout
    while time.time() < t_end:
        if proc.poll() is not None:
            return None
        try:
            n = int(zarr.open_group(str(path), mode="r")["done"][:].sum())
        except Exception:  # noqa: BLE001 - store still being created
            n = 0
        if n >= at_least:
            return n
        time.sleep(0.02)
    return None


# 60 blocks of 27 years: long enough that a kill after the first blocks lands midway
SAMPLES, T1 = 240, 2050
ARGS = ["-n", str(SAMPLES), "--t1", str(T1), "--block-size", "4", "-j", "1", "--policies",
        "none,market", "--no-summary", "--no-progress"]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    p = tmp_path_factory.mktemp("u") / "u.zarr"
    sweep(p, None, {"samples": SAMPLES, "t1": T1, "block_size": 8, "policies": "none,market"},
          executor=LocalExecutor(2))
    return p


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_killed_sweep_resumes_to_the_uninterrupted_result(uninterrupted, tmp_path, sig):
    p = tmp_path / "k.zarr"
    # Ctrl-C as a terminal delivers it, even where this test runs in the background (a
    # background job inherits SIGINT ignored, and Python then never raises KeyboardInterrupt)
    proc = subprocess.Popen(_cli("sweep", "-o", str(p), *ARGS), stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    n = _wait_for_done(p, 8, proc)
    assert n is not None, "sweep finished or stalled before it could be interrupted"
    os.kill(proc.pid, sig)
    _, err = proc.communicate(timeout=60)
    done = zarr.open_group(str(p), mode="r")["done"][:]
    assert 0 < done.sum() < 2 * SAMPLES, "the sweep must have been interrupted midway"
    if sig == signal.SIGINT:
        assert proc.returncode == 130 and f"gsim sweep --resume {p}" in err
    else:
        assert proc.returncode == -signal.SIGKILL
    res = subprocess.run(_cli("sweep", "--resume", str(p), "--no-summary", "--no-progress", "-j", "2"),
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert_same_store(uninterrupted, p)
