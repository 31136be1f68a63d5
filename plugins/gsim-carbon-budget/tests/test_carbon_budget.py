"""The carbon-budget plugin: its budget holds, it transfers only into its macro region, a sweep
with it resumes bit for bit after an interrupted block or kill -9, it is a lever of
`gsim optimize`, and the report shows its emissions indicator."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time

import gsim_carbon_budget as cb
import numpy as np
import pytest
import zarr

import gsim
from gsim.api import simulate
from gsim.optimize import evaluate as ev_module
from gsim.optimize import make_problem, optimize
from gsim.optimize.evaluate import Evaluator
from gsim.plugins import make_plugin_manager, use_plugin_manager
from gsim.scenario import load_scenario
from gsim.sweeps.engine import LocalExecutor, resume, sweep

T1 = 2035.0
SC = load_scenario()


@pytest.fixture(autouse=True)
def with_plugin():
    pm = make_plugin_manager(load_entrypoints=False, extra=(cb,), strict=True)
    with use_plugin_manager(pm):
        yield


def _with(**params):
    return SC.with_overrides(policies={"carbon_budget": params}) if params else SC


def run(t1=T1, **params):
    return simulate(_with(**params), "carbon_budget", t1=t1)


def test_the_budget_is_never_exceeded_and_transfers_stop_once_it_is_reached():
    # the cap: half of what the policy books with a budget that never binds
    free = run(cap=1e12)
    assert float(free.state_closed.max()) == 0.0
    cap = float(free.state_booked[-1]) / 2
    assert cap > 0
    ds = run(cap=cap)
    booked, closed = ds.state_booked.values, ds.state_closed.values
    assert (booked <= cap).all()
    assert (np.diff(booked) >= 0).all()
    assert ds.state_booked.attrs["units"] == "Mt CO2" and ds.state_booked.attrs["gsim_policy"] == "carbon_budget"
    shut = np.flatnonzero(closed == 1)
    assert shut.size and shut[0] > 1, "the budget must close within the horizon, after transfers"
    assert (closed[shut[0]:] == 1).all()
    tv = ds.transfer_volume.values
    assert (tv[shut[0]:] == 0).all()  # nothing moves once the budget is closed
    assert (tv[1:shut[0]] > 0).all()  # and relocation went on before
    # the booking is the policy's own: the free run's bookings up to the closing are the same
    np.testing.assert_array_equal(booked[:shut[0]], free.state_booked.values[:shut[0]])


@pytest.mark.parametrize("macro", ["West", "Central"])
def test_transfers_only_into_receivers_of_the_macro_region(macro):
    ds = run(t1=2030.0, macro_region=macro)
    inflow = ds.transfer_in.sum("tier")
    inside = ds.macro_region == macro
    assert float(inflow.where(~inside, 0).max()) == 0.0
    assert float(inflow.where(inside, 0).max()) > 0.0


def test_the_indicator_scales_with_its_emission_factor():
    ds = run(t1=2026.0)
    ind = gsim.plugins.get_plugin_manager().indicators()["relocation_emissions"]
    assert ind.better == -1
    np.testing.assert_array_equal(ds.relocation_emissions, 0.5 * ds.transfer_volume)
    np.testing.assert_array_equal(ind(ds, {"factor": 2.0}), 2.0 * ds.transfer_volume)


# --- sweeps: state in the store, resume after an interrupted block ------------------------------
OPTS = {"samples": 8, "block_size": 2, "t1": 2030, "policies": "market,carbon_budget", "seed": 5}


def arrays(path):
    g = zarr.open_group(str(path), mode="r")
    return {name: g[name][:] for name in g.array_keys()}


def assert_same_store(a, b):
    x, y = arrays(a), arrays(b)
    assert sorted(x) == sorted(y)
    for name in x:
        assert np.array_equal(x[name], y[name], equal_nan=x[name].dtype.kind == "f"), name


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    pm = make_plugin_manager(load_entrypoints=False, extra=(cb,), strict=True)
    p = tmp_path_factory.mktemp("ref") / "ref.zarr"
    with use_plugin_manager(pm):
        sweep(p, _with(cap=5000.0), OPTS, executor=LocalExecutor(1))
    return p


def test_the_sweep_stores_the_state_of_the_budget_policy_only(reference):
    runs = gsim.open_sweep(reference)
    booked = runs.state_booked
    assert booked.attrs["gsim_policy"] == "carbon_budget"
    assert booked.sel(policy="market").isnull().all()
    b = booked.sel(policy="carbon_budget").values
    assert np.isfinite(b).all() and (b <= 5000.0).all() and (b[..., -1] > 0).all()


def test_the_report_shows_the_emissions_indicator_and_the_budget_policy(reference, tmp_path):
    from gsim.analysis.report import report

    out = tmp_path / "report.html"
    report(reference, out)
    page = out.read_text(encoding="utf-8")
    section = page.split('<section id="indicator-relocation_emissions">', 1)[1].split("</section>", 1)[0]
    assert "lower is better" in section and "factor = 0.5" in section and section.count("<img") == 2
    assert "carbon_budget" in page


def test_an_interrupted_block_resumes_bit_identically(reference, tmp_path):
    p = tmp_path / "r.zarr"
    sweep(p, _with(cap=5000.0), OPTS, executor=LocalExecutor(1))
    g = zarr.open_group(str(p), mode="r+")
    # block 1 (runs 4..7) half written when interrupted: done flags off, state overwritten
    g["done"][4:8] = False
    g["state_booked"][4:8] = -1.0
    rep = resume(p, executor=LocalExecutor(2))
    assert rep.computed == 4
    assert_same_store(reference, p)


def _cli(*args):
    return [sys.executable, "-c", "from gsim.cli import main; main()", *args]


def test_a_sweep_killed_with_sigkill_resumes_to_the_uninterrupted_store(tmp_path):
    """Through the installed entry point, as a user runs it: kill -9 midway, then resume."""
    scen = tmp_path / "budget.toml"
    scen.write_text(_with(cap=5000.0).toml)
    args = ["-n", "120", "--t1", "2040", "--block-size", "2", "--policies", "market,carbon_budget",
            "--no-summary", "--no-progress"]
    whole = tmp_path / "whole.zarr"
    res = subprocess.run(_cli("sweep", str(scen), "-o", str(whole), *args, "-j", "2"),
                         capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stderr
    p = tmp_path / "k.zarr"
    proc = subprocess.Popen(_cli("sweep", str(scen), "-o", str(p), *args, "-j", "1"), stderr=subprocess.PIPE,
                            text=True)
    n = 0
    while proc.poll() is None and n < 8:
        try:
            n = int(zarr.open_group(str(p), mode="r")["done"][:].sum())
        except Exception:  # noqa: BLE001 - store still being created
            n = 0
        time.sleep(0.02)
    assert proc.poll() is None, "the sweep finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    done = zarr.open_group(str(p), mode="r")["done"][:]
    assert 0 < done.sum() < done.size
    res = subprocess.run(_cli("sweep", "--resume", str(p), "--no-summary", "--no-progress", "-j", "2"),
                         capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stderr
    assert_same_store(whole, p)


# --- gsim optimize ----------------------------------------------------------------------------
SMALL = dict(policy="carbon_budget", levers="cap=0:20000", objectives="real_gdp:max,theil:min", year=2026,
             scenarios=3, population=4, generations=2, seed=3)


def test_the_cap_is_a_lever_evaluated_per_lane():
    """A generation runs as one batch (the cap per run): the same bits as one candidate at a time."""
    problem = make_problem(SC, **SMALL)
    X = np.array([[1000.0], [4000.0], [12000.0]])
    batch = Evaluator(SC, problem, parallel=False).candidates(X)
    real = ev_module.resolve_policy

    def one_at_a_time(sc, name):
        pol, params = real(sc, name)
        return dataclasses.replace(pol, per_run_params=False), params

    mp = pytest.MonkeyPatch()
    mp.setattr(ev_module, "resolve_policy", one_at_a_time)
    try:
        single = Evaluator(SC, problem, parallel=False).candidates(X)
    finally:
        mp.undo()
    np.testing.assert_array_equal(batch, single)
    assert np.isfinite(batch).all()


def test_gsim_optimize_with_the_budget_policy(tmp_path):
    out = optimize(tmp_path / "o.zarr", **SMALL)
    front = gsim.open_optimization(out)
    cap = front.levers.sel(lever="cap").values
    assert ((cap >= 0) & (cap <= 20000)).all() and np.isfinite(front.objectives.values).all()
