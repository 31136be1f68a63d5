"""A plugin's fault is a run's failure, never the sweep's: per-run isolation of policies and
events, statuses and messages in stores, exit codes."""

from __future__ import annotations

import types

import numpy as np
import pytest
from click.testing import CliRunner

import gsim
from gsim.cli import main
from gsim.events import EventError, EventSetup, parameter_change
from gsim.integrate import RunStatus, TimeGrid, batch_from_scenario, run_batch
from gsim.model.layout import SP
from gsim.plugins import make_plugin_manager, use_plugin_manager
from gsim.policies import Policy, PolicyError, zero_decision
from gsim.scenario import load_scenario
from gsim.sweeps import open_sweep, summarize, sweep
from gsim.sweeps.engine import LocalExecutor

SC = load_scenario()
KAPPA_CUT = 2.5  # runs whose sampled kappa is above this trip the faulty plugins


def market(ctx):
    W, z, psi = zero_decision(ctx.n_runs, ctx.pairs, len(ctx.tiers))
    W[:] = 1.0
    return W, z, psi


def picky(kind: str):
    """Like market, but from 2024 on it fails for runs whose kappa is above KAPPA_CUT."""

    def decide(ctx):
        W, z, psi = market(ctx)
        hit = ctx.model["kappa"] > KAPPA_CUT
        if ctx.t >= 2024 and hit.any():
            if kind == "raise":
                raise RuntimeError("cannot decide for a steep readiness curve")
            psi[hit] = np.nan
        return W, z, psi

    return Policy(f"picky_{kind}", decide)


def always_raises(ctx):
    raise RuntimeError("broken for everyone")


def plugin_manager():
    def gsim_register_policies(register):
        register(picky("raise"))
        register(picky("nan"))
        register(Policy("hopeless", lambda ctx: always_raises(ctx) if ctx.t > 2023 else market(ctx)))

    plug = types.SimpleNamespace(__name__="faulty_plugin",
                                 gsim_register_policies=gsim.hookimpl(gsim_register_policies))
    return make_plugin_manager(load_entrypoints=False, extra=(plug,))


OPTS = {"samples": 8, "t1": 2026, "block_size": 3, "seed": 5}


@pytest.mark.parametrize("kind", ["raise", "nan"])
def test_faulty_runs_are_set_aside_and_the_rest_completes(tmp_path, kind):
    with use_plugin_manager(plugin_manager()):
        rep = sweep(tmp_path / "s.zarr", SC, {**OPTS, "policies": f"market,picky_{kind}"},
                    executor=LocalExecutor(1))
    ds = open_sweep(tmp_path / "s.zarr", layout="flat")
    status = ds["status"].values.reshape(-1, 2)
    kappa = ds["kappa"].values.reshape(-1, 2)[:, 0]
    hit = kappa > KAPPA_CUT
    assert hit.any() and (~hit).any()  # the sample has both kinds of run
    assert (status[:, 0] == RunStatus.OK).all()  # market: untouched
    assert (status[hit, 1] == RunStatus.PLUGIN_FAULT).all()
    assert (status[~hit, 1] == RunStatus.OK).all()
    # a faulty run keeps its values before the fault and holds NaN from the fault on
    gdp = ds["real_gdp"].values.reshape(-1, 2, ds.sizes["time"])
    assert np.isfinite(gdp[hit, 1, 0]).all() and np.isnan(gdp[hit, 1, 1:]).all()
    assert (ds["fail_time"].values.reshape(-1, 2)[hit, 1] == 2024.0).all()
    assert len(rep.faults) == int(hit.sum())
    assert f"policy picky_{kind}" in rep.faults[0] and "plugin faulty_plugin" in rep.faults[0]
    assert "sample" in rep.faults[0] and "t=2024" in rep.faults[0]
    counts = summarize(tmp_path / "s.zarr").by_status[f"picky_{kind}"]
    assert counts["plugin_fault"] == int(hit.sum()) and counts["ok"] == int((~hit).sum())


def test_good_runs_are_bit_identical_with_or_without_a_faulty_neighbour(tmp_path):
    with use_plugin_manager(plugin_manager()):
        sweep(tmp_path / "a.zarr", SC, {**OPTS, "policies": "picky_raise"}, executor=LocalExecutor(1))
        sweep(tmp_path / "b.zarr", SC, {**OPTS, "policies": "picky_raise", "block_size": 1},
              executor=LocalExecutor(1))
    a, b = open_sweep(tmp_path / "a.zarr", layout="flat"), open_sweep(tmp_path / "b.zarr", layout="flat")
    np.testing.assert_array_equal(a["status"].values, b["status"].values)
    np.testing.assert_array_equal(a["real_gdp"].values, b["real_gdp"].values)


def test_a_policy_faulty_for_every_run_does_not_stop_the_others(tmp_path):
    with use_plugin_manager(plugin_manager()):
        r = CliRunner().invoke(main, ["sweep", "-n", "4", "--t1", "2025", "--policies",
                                      "market,hopeless", "-o", str(tmp_path / "s.zarr"),
                                      "--no-progress", "-j", "1"])
    assert r.exit_code == 3, r.output
    assert "4 run(s) with a plugin fault" in r.output and "--faults" in r.output
    assert "4 stopped by a plugin" in r.output  # the summary counts them
    status = open_sweep(tmp_path / "s.zarr", layout="flat")["status"].values.reshape(-1, 2)
    assert (status[:, 0] == RunStatus.OK).all() and (status[:, 1] == RunStatus.PLUGIN_FAULT).all()


def test_a_single_run_still_raises_the_plugins_error():
    with use_plugin_manager(plugin_manager()):
        with pytest.raises(PolicyError, match=r"policy 'hopeless' \(plugin faulty_plugin\) raised at t=2024"):
            gsim.simulate(SC, "hopeless", t1=2025)


def test_event_faults_are_isolated_per_run():
    """An event whose apply fails for some runs only: those runs stop, the others go on."""
    grid = TimeGrid(2023.0, 2025.0, 0.125)
    setup = EventSetup(grid.t0, grid.dt, grid.n_steps, SC.regions.name, SC.tiers, SC.pairs, SC)
    inner = parameter_change(setup, "tau_T", 1.0, 2024.0)

    def apply(step, t, y, inputs):
        if (inputs.sp[:, SP["delta"]] > 0.1).any():  # raised below for run 1 only
            raise EventError("refuses a high depreciation rate")
        inner.apply(step, t, y, inputs)

    ev = type(inner)(inner.steps, apply)
    inp = batch_from_scenario(SC, 3)
    inp.sp[1, SP["delta"]] = 0.2
    with use_plugin_manager(plugin_manager()):
        pol = gsim.api.resolve_policy(SC, "market")
        res = run_batch(inp, grid, *pol, tiers=SC.tiers, regions=SC.regions.name, events=[ev])
    assert list(res.status) == [RunStatus.OK, RunStatus.PLUGIN_FAULT, RunStatus.OK]
    assert "refuses a high depreciation rate" in res.reason(1, SC.regions.name, SC.tiers)
    assert (inp.sp[[0, 2], SP["tau_T"]] == 1.0).all()  # the event reached the others
    assert inp.sp[1, SP["tau_T"]] == SC.params["tau_T"]  # and nothing of it reached run 1


def test_resuming_a_store_whose_plugin_is_gone_is_a_clear_error(tmp_path):
    with use_plugin_manager(plugin_manager()):
        sweep(tmp_path / "s.zarr", SC, {**OPTS, "samples": 2, "policies": "market,picky_nan"},
              executor=LocalExecutor(1))
    with use_plugin_manager(make_plugin_manager(load_entrypoints=False)):
        r = CliRunner().invoke(main, ["sweep", "--resume", str(tmp_path / "s.zarr"), "--no-progress"])
    assert r.exit_code == 2, r.output
    assert "unknown policy 'picky_nan'" in r.output and "gsim plugins" in r.output
    assert "Traceback" not in r.output


# --- plugin indicators in sweeps -------------------------------------------------------------
def gdp_gap(ds):
    """Real output of the richest region over the poorest's (a plugin indicator, time only)."""
    return ds.real_output.max("region") / ds.real_output.min("region")


def indicator_manager(*indicators):
    def gsim_register_indicators(register):
        for ind in indicators:
            register(ind)

    plug = types.SimpleNamespace(__name__="ind_plugin",
                                 gsim_register_indicators=gsim.hookimpl(gsim_register_indicators))
    return make_plugin_manager(load_entrypoints=False, extra=(plug,), strict=True)


def test_plugin_indicators_are_saved_in_sweeps_and_summarised(tmp_path):
    from gsim.indicators import Indicator

    ind = Indicator("gdp_gap", gdp_gap, "1", "richest over poorest region's real output")
    with use_plugin_manager(indicator_manager(ind)):
        sweep(tmp_path / "s.zarr", SC, {**OPTS, "samples": 3, "policies": "none,market", "save": "regions"},
              executor=LocalExecutor(1))
        r = CliRunner().invoke(main, ["summary", str(tmp_path / "s.zarr")])
    flat = open_sweep(tmp_path / "s.zarr", layout="flat")
    assert flat["gdp_gap"].attrs["gsim_plugin"] == "ind_plugin"
    assert flat["gdp_gap"].dims == ("run", "time")
    # each run's value is the indicator of that run's saved per-region output
    ro = flat["real_output"].values
    np.testing.assert_array_equal(flat["gdp_gap"].values, ro.max(axis=2) / ro.min(axis=2))
    assert r.exit_code == 0 and "gdp_gap" in r.output
    assert any(row.indicator == "gdp_gap" for row in summarize(tmp_path / "s.zarr").stats.itertuples())
