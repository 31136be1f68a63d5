"""The policy runtime: state kept between decisions, the regions table, indicators read as
inputs, and compiled plugin policies with parameters per lane (docs/plugins.md)."""

from __future__ import annotations

import dataclasses
import types
from importlib.resources import files

import numba
import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import gsim
from gsim.api import simulate
from gsim.cli import main
from gsim.context import IndicatorReader, region_data
from gsim.groups import sending_mask
from gsim.indicators import Indicator, IndicatorError
from gsim.integrate import PolicyInputs, RunStatus, TimeGrid, _decide, batch_from_scenario, run_batch
from gsim.model.layout import SP, VARIABLES
from gsim.optimize import evaluate as ev_module
from gsim.optimize import make_problem
from gsim.optimize.evaluate import Evaluator
from gsim.params import INF, spec
from gsim.plugins import PluginError, make_plugin_manager, use_plugin_manager
from gsim.policies import Policy, StateVar, compiled_policy, probe_context, zero_decision
from gsim.scenario import ScenarioError, load_scenario, loads_scenario
from gsim.sweeps.engine import LocalExecutor, resume, sweep
from gsim.sweeps.store import StoreError

SC = load_scenario()
T1 = 2035.0


def plugin(name, policies=(), indicators=()):
    ns = types.SimpleNamespace(__name__=name)
    ns.gsim_register_policies = gsim.hookimpl(lambda register: [register(p) for p in policies])
    ns.gsim_register_indicators = gsim.hookimpl(lambda register: [register(i) for i in indicators])
    return ns


def manager(*plugins):
    return make_plugin_manager(load_entrypoints=False, extra=plugins, strict=True)


# --- a budget: transfers until the cumulative transfer reaches a cap ----------------------------
def budget(ctx):
    """W = 1 everywhere while the capital moved so far is below the cap."""
    W, z, psi = zero_decision(ctx.n_runs, ctx.pairs, len(ctx.tiers))
    moved = ctx.state["moved"]
    moved += ctx["transfer_volume"] * ctx.period  # the period just ended, at the rate in force
    cap = np.broadcast_to(np.asarray(ctx.params["cap"], float), moved.shape)
    W[moved < cap] = 1.0
    return W, z, psi


BUDGET = Policy("budget", budget, {"cap": 100.0}, "market relocation up to a cumulative cap",
                schema={"cap": spec(0, INF, True, False, "bn CNY", "capital allowed to move")},
                state={"moved": StateVar((), "bn CNY")}, per_run_params=True)


def test_a_budget_policy_stops_transferring_once_its_cumulative_transfer_reaches_the_cap():
    market = simulate(SC, "market", t1=T1)
    cap = float(market.transfer_volume.sum()) / 2  # half of what market relocation moves
    with use_plugin_manager(manager(plugin("b", [BUDGET]))):
        ds = simulate(SC.with_overrides(policies={"budget": {"cap": cap}}), "budget", t1=T1)
    moved, tv = ds.state_moved.values, ds.transfer_volume.values
    assert ds.state_moved.attrs == {"units": "bn CNY", "long_name": "policy state", "gsim_policy": "budget"}
    stop = int(np.argmax(moved >= cap))
    assert moved[stop] >= cap > moved[stop - 1] and 1 < stop < len(moved) - 1
    assert (tv[:stop] > 0).all() and (tv[stop:] == 0).all()
    # the state is the policy's running sum of the volumes it observed before each decision:
    # zero at t0 (nothing moving yet), then the saved volumes of the years before, as long as
    # the decision did not change what was saved; constant once nothing moves
    np.testing.assert_allclose(moved[:stop], np.concatenate([[0.0], np.cumsum(tv[1:stop - 1 + 1])])[:stop],
                               rtol=1e-12)
    assert (moved[stop:] == moved[stop]).all()


def test_state_declarations_are_checked_when_registered():
    def reject(match, **kw):
        with pytest.raises(PluginError, match=match):
            manager(plugin("bad", [dataclasses.replace(BUDGET, **kw)])).policies()

    reject(r"dims \('tier', 'region'\) must be", state={"moved": ("tier", "region")})
    reject(r"dims \('year',\) must be", state={"moved": "year"})
    reject("must be an identifier", state={"not a name": ()})
    reject("initial value nan is not finite", state={"moved": StateVar(initial=float("nan"))})

    def replaces(ctx):  # a wrong shape assigned to a state array
        ctx.state["moved"] = np.zeros(5)
        return zero_decision(ctx.n_runs, ctx.pairs, len(ctx.tiers))

    reject("raised at t=2023: ValueError", decide=replaces)

    def poisons(ctx):
        ctx.state["moved"][:] = np.nan
        return zero_decision(ctx.n_runs, ctx.pairs, len(ctx.tiers))

    reject("state 'moved' has 2 non-finite value", decide=poisons)


@pytest.mark.parametrize("dims", [(), ("region",), ("tier",), ("region", "tier")])
def test_state_shapes_and_the_probe(dims):
    seen = []

    def decide(ctx):
        seen.append(ctx.state["s"].shape)
        ctx.state["s"] += 1.0
        return zero_decision(ctx.n_runs, ctx.pairs, len(ctx.tiers))

    pm = manager(plugin("s", [Policy("stateful", decide, state={"s": StateVar(dims, initial=2.0)})]))
    R, S = len(SC.regions), len(SC.tiers)
    with use_plugin_manager(pm):
        ds = simulate(SC, "stateful", t1=2026.0)
    size = {"region": R, "tier": S}
    assert seen[-1] == (1,) + tuple(size[d] for d in dims)
    assert ds.state_s.dims == ("time",) + dims
    assert (ds.state_s.values == 2.0 + np.arange(1, 5).reshape((4,) + (1,) * len(dims))).all()


def test_a_run_that_faults_keeps_its_state_up_to_the_fault_and_the_others_count_once():
    """The batch call updates every run's state and then raises: gsim restores the batch's
    state, asks each run alone, and so each good run's state moves once per decision."""
    def decide(ctx):
        ctx.state["n"] += 1.0
        if ctx.t >= 2025 and (ctx.model["lambda_T"] > SC.params["lambda_T"]).any():
            raise RuntimeError("no")
        return zero_decision(ctx.n_runs, ctx.pairs, len(ctx.tiers))

    pol = Policy("counter", decide, state={"n": ()})
    inp = batch_from_scenario(SC, 3).with_params()
    inp.sp[1, SP["lambda_T"]] *= 1.01
    grid = TimeGrid.of(SC.run, 2028.0)
    res = run_batch(inp, grid, pol, {}, tiers=SC.tiers, regions=SC.regions.name, parallel=False)
    n = res.values["state_n"]
    assert list(res.status) == [RunStatus.OK, RunStatus.PLUGIN_FAULT, RunStatus.OK]
    decisions = np.arange(1, len(grid.save_times) + 1, dtype=float)
    np.testing.assert_array_equal(n[0], decisions)
    np.testing.assert_array_equal(n[2], decisions)
    np.testing.assert_array_equal(n[1, :2], decisions[:2])  # 2023, 2024: before the fault
    assert np.isnan(n[1, 2:]).all()


# --- the regions table ----------------------------------------------------------------------------
def test_the_policy_sees_the_regions_table():
    got = {}

    def decide(ctx):
        got.update(ctx.region_data)
        return zero_decision(ctx.n_runs, ctx.pairs, len(ctx.tiers))

    inp = batch_from_scenario(SC, 2).with_params()
    inp.reg[1] *= 1.1  # a sweep varies the model's region inputs by run
    gsim_inputs = region_data(SC)
    run_batch(inp, TimeGrid.of(SC.run, 2024.0), Policy("look", decide), {}, tiers=SC.tiers,
              regions=SC.regions.name, parallel=False, policy_inputs=PolicyInputs(gsim_inputs))
    rg = SC.regions
    assert tuple(got["name"]) == rg.name and tuple(got["macro_region"]) == rg.macro_region
    np.testing.assert_array_equal(got["lat"], rg.lat)
    np.testing.assert_array_equal(got["sending"], sending_mask(SC))
    assert got["gdp"].shape == (2, len(rg)) and got["schooling"].shape == (2, len(rg))
    np.testing.assert_array_equal(got["gdp"][1], rg.gdp * 1.1)
    ctx = probe_context({}, policy=Policy("x", decide))
    assert {"name", "macro_region", "lat", "lon", "sending", "gdp"} <= set(ctx.region_data)


def _scenario_with_columns(tmp_path, declare, header_extra=",tier_one,zone", values=lambda i: f",{i * 0.5},z{i % 2}"):
    lines = files("gsim").joinpath("data/china31.csv").read_text(encoding="utf-8").splitlines()
    out = [lines[0] + header_extra] + [line + values(i) for i, line in enumerate(lines[1:])]
    (tmp_path / "r.csv").write_text("\n".join(out) + "\n", encoding="utf-8")
    toml = SC.toml.split("[[regions]]")[0].replace(
        "[scenario]\n", f'[scenario]\nregions = "r.csv"\nregion_attributes = {declare}\n', 1)
    return toml


def test_declared_region_columns_reach_the_policy_and_round_trip(tmp_path):
    toml = _scenario_with_columns(tmp_path, '["tier_one", "zone"]')
    sc = loads_scenario(toml, source="s.toml", base_dir=tmp_path)
    cols = region_data(sc)
    np.testing.assert_array_equal(cols["tier_one"], np.arange(len(sc.regions)) * 0.5)
    assert cols["zone"][0] == "z0" and cols["zone"][1] == "z1" and cols["tier_one"].dtype == np.float64
    again = loads_scenario(sc.toml, source="dump.toml")  # the canonical dump holds them inline
    assert again.hash == sc.hash and again.regions.attributes == sc.regions.attributes
    plain = loads_scenario(_scenario_with_columns(tmp_path, "[]"), source="p.toml", base_dir=tmp_path)
    assert plain.regions.attributes == () and plain.hash != sc.hash  # undeclared columns are ignored
    ds = simulate(sc, "market", t1=2024.0)  # indicators see them as region coordinates
    np.testing.assert_array_equal(ds.tier_one, cols["tier_one"])
    assert list(ds.zone.values[:2]) == ["z0", "z1"]


@pytest.mark.parametrize("declare, says", [
    ('["missing"]', "r.csv: missing: missing column (declared in scenario.region_attributes)"),
    ('["lat"]', "scenario.region_attributes: 'lat' must be an identifier other than a standard column"),
    ('"zone"', "scenario.region_attributes: expected a list of column names"),
])
def test_bad_region_columns_are_one_line(tmp_path, declare, says):
    with pytest.raises(ScenarioError) as e:
        loads_scenario(_scenario_with_columns(tmp_path, declare), source="s.toml", base_dir=tmp_path)
    assert says in str(e.value) and "\n" not in str(e.value)


# --- indicators as inputs -----------------------------------------------------------------------
def total_output(ds, params):
    return params["factor"] * ds.output.sum(("region", "tier"))


TOTAL = Indicator("total_output", total_output, "bn CNY/yr", "total output", defaults={"factor": 1.0})


def reads_total(ctx):
    W, z, psi = zero_decision(ctx.n_runs, ctx.pairs, len(ctx.tiers))
    W[:] = 1.0
    ctx.state["seen"][:] = ctx["total_output"]
    return W, z, psi


READER = Policy("reader", reads_total, state={"seen": ()}, indicators=("total_output",))


def test_an_indicator_read_by_a_policy_is_computed_from_the_observed_values():
    with use_plugin_manager(manager(plugin("r", [READER], [TOTAL]))):
        ds = simulate(SC, "reader", t1=2030.0)
    # after t0 the decision (W = 1) does not change, so what the policy saw is what was saved
    np.testing.assert_allclose(ds.state_seen[1:], ds.total_output[1:], rtol=1e-13)
    reader = IndicatorReader(SC, (dataclasses.replace(TOTAL, defaults=TOTAL.resolve({"factor": 2.0})),))
    values = {n: ds[n].values[None, -1] for n in ds.data_vars if n in VARIABLES}
    np.testing.assert_allclose(reader(2030.0, values)["total_output"], [2.0 * float(ds.total_output[-1])],
                               rtol=1e-13)


def test_a_missing_indicator_names_the_plugin_and_a_failing_one_stops_the_run():
    with use_plugin_manager(manager(plugin("lonely", [READER]))):
        with pytest.raises(ScenarioError, match=r"policy 'reader' \(plugin lonely\) reads the indicator\(s\) "
                                                r"total_output, which no installed plugin provides"):
            simulate(SC, "reader", t1=2025.0)

    def broken(ds, params):
        raise ZeroDivisionError("boom")

    bad = dataclasses.replace(TOTAL, compute=broken)
    with use_plugin_manager(manager(plugin("r", [READER], [bad]))):
        with pytest.raises(IndicatorError, match="indicator 'total_output' .* raised ZeroDivisionError: boom"):
            simulate(SC, "reader", t1=2025.0)


# --- compiled plugin policies: per-lane parameters, state, a NumPy twin, a lever ------------------
@numba.njit(cache=True)
def budget_kernel(t, recv, dist, par, W, z, psi, volume, moved):
    """The compiled twin of `budget` (a policy period of one year)."""
    for b in range(W.shape[0]):
        moved[b] += volume[b] * 1.0
        if moved[b] < par[b, 0]:
            W[b] = 1.0


NJIT_BUDGET = compiled_policy(
    "njit_budget", budget_kernel, inputs=("transfer_volume",), params=("cap",), defaults={"cap": 100.0},
    schema={"cap": spec(0, INF, True, False, "bn CNY", "capital allowed to move")},
    state={"moved": StateVar((), "bn CNY")})


def test_compiled_parameters_are_per_lane():
    pm = manager(plugin("c", [NJIT_BUDGET]))
    pol = pm.policies()["njit_budget"]
    assert pol.per_run_params and pol.schema["cap"].unit == "bn CNY"
    ctx = probe_context({"cap": np.array([0.0, 1e9])}, policy=pol)
    W, _, _ = pol.decide(ctx)
    assert (W[0] == 0).all() and (W[1] == 1).all()
    assert (ctx.state["moved"] == ctx["transfer_volume"]).all()


def test_the_compiled_budget_equals_its_numpy_twin():
    with use_plugin_manager(manager(plugin("c", [NJIT_BUDGET, BUDGET]))):
        sc = SC.with_overrides(policies={"budget": {"cap": 20000.0}, "njit_budget": {"cap": 20000.0}})
        a, b = simulate(sc, "budget", t1=T1), simulate(sc, "njit_budget", t1=T1)
    assert float(a.transfer_volume[-1]) == 0 and float(a.transfer_volume[1]) > 0  # the cap binds
    for name in a.data_vars:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


SMALL = dict(policy="njit_budget", levers="cap=0:5000", objectives="real_gdp:max,theil:min", year=2026,
             scenarios=3, population=4, generations=2, seed=3)


def test_a_compiled_plugin_policy_is_a_lever_evaluated_per_lane(tmp_path):
    with use_plugin_manager(manager(plugin("c", [NJIT_BUDGET]))):
        problem = make_problem(SC, **SMALL)
        X = np.array([[10.0], [800.0], [4000.0]])
        batch = Evaluator(SC, problem, parallel=False).candidates(X)
        real = ev_module.resolve_policy
        mp = pytest.MonkeyPatch()
        mp.setattr(ev_module, "resolve_policy",
                   lambda sc, name: (dataclasses.replace(real(sc, name)[0], per_run_params=False), real(sc, name)[1]))
        try:
            single = Evaluator(SC, problem, parallel=False).candidates(X)
        finally:
            mp.undo()
        np.testing.assert_array_equal(batch, single)
        res = CliRunner().invoke(main, ["optimize", "--policy", "njit_budget", "--levers", "cap=0:5000",
                                        "--objectives", "real_gdp:max,theil:min", "--year", "2026",
                                        "--scenarios", "3", "--population", "4", "--generations", "2",
                                        "--seed", "3", "-j", "1", "--out", str(tmp_path / "o.zarr")])
    assert res.exit_code == 0, res.output
    front = gsim.open_optimization(tmp_path / "o.zarr")
    cap = front.levers.sel(lever="cap").values
    assert ((cap >= 0) & (cap <= 5000)).all()


def test_the_probe_gives_declared_indicator_dims():
    shapes = []

    def decide(ctx):
        shapes.append(ctx["per_region"].shape)
        return zero_decision(ctx.n_runs, ctx.pairs, len(ctx.tiers))

    manager(plugin("p", [Policy("dims", decide, indicators={"per_region": ("region",)})])).policies()
    assert shapes[0] == (2, 3) and shapes[-1] == (2, 4)  # both probe contexts, twice each


def test_a_sweep_stores_the_state_and_refuses_a_resume_with_another_declaration(tmp_path):
    p = tmp_path / "s.zarr"
    with use_plugin_manager(manager(plugin("b", [BUDGET]))):
        sweep(p, SC, {"samples": 2, "t1": 2026, "policies": "market,budget", "block_size": 1},
              executor=LocalExecutor(1))
        runs = gsim.open_sweep(p)
        moved = runs.state_moved
        assert moved.attrs["gsim_policy"] == "budget" and moved.sel(policy="market").isnull().all()
        np.testing.assert_array_equal(moved.sel(policy="budget").isel(time=0), 0.0)
        assert (moved.sel(policy="budget").isel(time=-1) > 0).all()
    other_units = dataclasses.replace(BUDGET, state={"moved": StateVar((), "kt")})
    with use_plugin_manager(manager(plugin("b", [other_units]))):
        with pytest.raises(StoreError, match=r"state budget.moved: parameter units 'bn CNY' -> 'kt'"):
            resume(p, executor=LocalExecutor(1))


@settings(max_examples=60, deadline=None)
@given(flags=st.lists(st.tuples(st.booleans(), st.booleans()), min_size=1, max_size=8))
def test_fault_isolation_moves_each_good_runs_state_once(flags):
    """Whatever runs fail (and whichever already stopped), a run's state moves once per
    decision if it decided, and not at all if it faulted or the batch had to be asked run by run
    and it had stopped."""
    bad = np.array([f for f, _ in flags])
    live = np.array([a for _, a in flags])

    def decide(ctx):
        ctx.state["n"] += 1.0
        if ctx["bad"].any():
            raise RuntimeError("bad run")
        return zero_decision(ctx.n_runs, ctx.pairs, len(ctx.tiers))

    pol = Policy("counting", decide, state={"n": ()})
    probe = probe_context({})
    B = len(flags)
    ctx = dataclasses.replace(probe, values={"bad": bad}, state=pol.new_state(B, len(probe.regions), 4))
    _, faults = _decide(pol, ctx, live)
    n = ctx.state["n"]
    if not live.any():
        assert not faults and (n == 0).all()
    elif not bad.any():
        assert not faults and (n == 1).all()
    else:
        assert set(faults) == set(np.flatnonzero(live & bad).tolist())
        np.testing.assert_array_equal(n, (live & ~bad).astype(float))
