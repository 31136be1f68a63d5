"""Plugin machinery: hooks, registration checks, faulty plugins, events, indicators, CLI.

Every test registers its plugins explicitly (make_plugin_manager(load_entrypoints=False, ...))
and never depends on what happens to be installed.
"""

from __future__ import annotations

import dataclasses
import json
import types

import numpy as np
import pytest
from click.testing import CliRunner
from helpers import THREE_REGIONS_TOML

import gsim
from gsim import hookspecs
from gsim.api import simulate
from gsim.cli import main
from gsim.events import EventError, EventType, build_events, parameter_change
from gsim.indicators import Indicator, IndicatorError
from gsim.plugins import (
    PluginDisabledWarning,
    PluginError,
    disabled_from_env,
    make_plugin_manager,
    use_plugin_manager,
)
from gsim.policies import Policy, PolicyError, compiled_policy, probe_context, zero_decision
from gsim.scenario import ScenarioError, loads_scenario

T1 = 2025.0  # short runs


def plugin(name: str, **hooks) -> types.SimpleNamespace:
    """A plugin object named `name` implementing the given hooks."""
    ns = types.SimpleNamespace(__name__=name)
    for hook, fn in hooks.items():
        setattr(ns, hook, gsim.hookimpl(fn))
    return ns


def policy_plugin(name: str, *policies: Policy) -> types.SimpleNamespace:
    def gsim_register_policies(register):
        for p in policies:
            register(p)

    return plugin(name, gsim_register_policies=gsim_register_policies)


def market_like(ctx):
    W, z, psi = zero_decision(ctx.n_runs, ctx.pairs, len(ctx.tiers))
    W[:] = 1.0
    return W, z, psi


def manager(*plugins, strict=True, **kw):
    """A manager with these plugins; strict (a faulty plugin raises) unless told otherwise."""
    return make_plugin_manager(load_entrypoints=False, extra=plugins, strict=strict, **kw)


# --- hooks and discovery --------------------------------------------------------------------
def test_hookimpl_exported_and_hooks_declared():
    assert gsim.hookimpl is hookspecs.hookimpl
    names = {n for n in dir(hookspecs) if n.startswith("gsim_")}
    assert names == {"gsim_register_policies", "gsim_register_events",
                     "gsim_register_indicators", "gsim_register_claims", "gsim_register_commands"}
    for n in names:
        doc = getattr(hookspecs, n).__doc__
        assert "firstresult" in doc and "historic" in doc


def test_builtins_register_like_plugins():
    pm = manager()
    assert set(pm.policies()) == {"none", "market", "subsidy_race", "gradient"}
    assert {"pipeline_inflow", "parameter_change", "scale_region"} <= set(pm.event_types())
    infos = {i.name: i for i in pm.plugin_infos()}
    assert infos["gsim.policies.builtin"].builtin
    assert infos["gsim.policies.builtin"].hooks == ("gsim_register_policies",)


def test_disable_env_read_when_manager_is_built(monkeypatch):
    p = policy_plugin("extra_one", Policy("extra", market_like))
    monkeypatch.setenv("GSIM_DISABLE_PLUGINS", "extra_one, other")
    assert disabled_from_env() == {"extra_one", "other"}
    assert "extra" not in manager(p).policies()
    monkeypatch.delenv("GSIM_DISABLE_PLUGINS")
    assert "extra" in manager(p).policies()


def test_entry_point_plugins_can_be_disabled(monkeypatch):
    """Entry points are loaded unless disabled; fake the entry-point table."""
    import importlib.metadata as md

    mod = types.ModuleType("fake_ep_plugin")
    mod.gsim_register_policies = gsim.hookimpl(
        lambda register: register(Policy("from_ep", market_like)))

    class EP:
        name, dist = "fake", None

        def load(self):
            return mod

    monkeypatch.setattr(md, "entry_points", lambda group: [EP()] if group == "gsim" else [])
    assert "from_ep" in make_plugin_manager(disabled=frozenset()).policies()
    pm = make_plugin_manager(disabled=frozenset({"fake"}))
    assert "from_ep" not in pm.policies()
    assert [i.name for i in pm.plugin_infos() if i.disabled] == ["fake"]


def test_entry_point_that_fails_to_import_names_itself(monkeypatch):
    import importlib.metadata as md

    class EP:
        name, dist = "broken", None

        def load(self):
            raise ImportError("no module named nowhere")

    monkeypatch.setattr(md, "entry_points", lambda group: [EP()])
    with pytest.raises(PluginError, match="plugin broken .*GSIM_DISABLE_PLUGINS=broken"):
        make_plugin_manager(disabled=frozenset(), strict=True)
    # by default the plugin is disabled with one warning and everything else works
    with pytest.warns(PluginDisabledWarning, match="plugin broken disabled: .*no module named nowhere"):
        pm = make_plugin_manager(disabled=frozenset())
    assert "gradient" in pm.policies()
    [info] = [i for i in pm.plugin_infos() if i.name == "broken"]
    assert info.disabled and "failed to load" in info.broken


# --- the policy contract: registration checks ----------------------------------------------------
def _reject(p: Policy, match: str):
    with pytest.raises(PluginError, match=match):
        manager(policy_plugin("faulty", p)).policies()


def test_plugin_policy_registered_with_its_plugin_name():
    pm = manager(policy_plugin("mine", Policy("mine_market", market_like, {"x": 1})))
    assert pm.policies()["mine_market"].plugin == "mine"


def test_reusing_a_builtin_name_names_both_plugins():
    _reject(Policy("gradient", market_like),
            r"plugin faulty: policy name 'gradient' is already registered by plugin "
            r"gsim.policies.builtin")


def test_probe_rejects_a_policy_that_raises():
    def boom(ctx):
        raise ZeroDivisionError("oops")

    _reject(Policy("boom", boom),
            r"plugin faulty: rejected at registration: policy 'boom' \(plugin faulty\) raised "
            r"at t=2023: ZeroDivisionError: oops")


def test_probe_rejects_wrong_shape():
    def wrong(ctx):
        W, z, psi = market_like(ctx)
        return W[:, :, :1], z, psi

    _reject(Policy("wrong", wrong), r"'wrong' \(plugin faulty\).*transfer weights W has shape "
                                    r"\(2, 3, 1, 4\), expected \(2, 3, 2, 4\)")


def test_probe_rejects_nan():
    def nan(ctx):
        W, z, psi = market_like(ctx)
        W[0, 0, 0, 0] = np.nan
        return W, z, psi

    _reject(Policy("nan", nan), r"'nan' \(plugin faulty\).*W has 1 non-finite value")


def test_probe_rejects_negative_subsidy():
    def neg(ctx):
        W, z, psi = market_like(ctx)
        z[:] = -0.1
        return W, z, psi

    _reject(Policy("neg", neg), r"'neg' \(plugin faulty\).*subsidy z has negative values")


def test_probe_rejects_w_above_one_bad_dtype_and_non_tuple():
    _reject(Policy("big", lambda c: (market_like(c)[0] * 2, *market_like(c)[1:])),
            "values above 1")
    _reject(Policy("strs", lambda c: (market_like(c)[0].astype(str), *market_like(c)[1:])),
            "dtype")
    _reject(Policy("single", lambda c: market_like(c)[0]), "must return a tuple")


def test_register_wrong_object_and_bad_name():
    pm = manager(plugin("junk", gsim_register_policies=lambda register: register("x")))
    with pytest.raises(PluginError, match="plugin junk: register\\(\\) takes a gsim"):
        pm.policies()
    _reject(Policy("has space", market_like), "must be an identifier")


def test_hook_that_raises_names_the_plugin():
    def bad(register):
        raise KeyError("k")

    with pytest.raises(PluginError, match="plugin crashy: gsim_register_policies raised KeyError"):
        manager(plugin("crashy", gsim_register_policies=bad)).policies()


def test_compiled_policy():
    numba = pytest.importorskip("numba")

    @numba.njit(cache=False)
    def kern(t, recv, dist, par, W, z, psi, readiness):
        B, R, S = readiness.shape
        for b in range(B):
            for q in range(R):
                psi[b, q] = par[b, 0]

    p = compiled_policy("njit_aid", kern, inputs=("readiness",), params=("aid",),
                        defaults={"aid": 0.2})
    pm = manager(policy_plugin("compiled", p))
    W, z, psi = pm.policies()["njit_aid"].decide(probe_context({"aid": 0.2}))
    assert (psi == 0.2).all() and (W == 0).all()
    W, z, psi = pm.policies()["njit_aid"].decide(probe_context({"aid": np.array([0.1, 0.3])}))
    assert (psi[0] == 0.1).all() and (psi[1] == 0.3).all()  # a parameter per lane
    _reject(Policy("raw", kern), "wrap it with gsim.policies.compiled_policy")


# --- the policy contract during a run --------------------------------------------------------
def late_failure(kind: str):
    """A policy fine at the probe (t=2023) that goes bad from t >= 2024."""

    def decide(ctx):
        W, z, psi = market_like(ctx)
        if ctx.t >= 2024:
            if kind == "raise":
                raise RuntimeError("exploded")
            if kind == "nan":
                psi[:] = np.nan
            if kind == "shape":
                return W, z[:, :1], psi
        return W, z, psi

    return Policy("late", decide)


@pytest.mark.parametrize("kind,match", [
    ("raise", r"policy 'late' \(plugin lateplug\) raised at t=2024: RuntimeError: exploded"),
    ("nan", r"policy 'late' \(plugin lateplug\) at t=2024: pairing aid psi has 31 non-finite"),
    ("shape", r"policy 'late' \(plugin lateplug\) at t=2024: subsidy z has shape"),
])
def test_bad_policy_stops_the_run_naming_plugin_policy_time(kind, match):
    with use_plugin_manager(manager(policy_plugin("lateplug", late_failure(kind)))):
        with pytest.raises(PolicyError, match=match):
            simulate(None, "late", t1=T1)


def test_plugin_policy_equals_builtin():
    with use_plugin_manager(manager(policy_plugin("p", Policy("mkt2", market_like)))):
        a = simulate(None, "market", t1=T1)
        b = simulate(None, "mkt2", t1=T1)
    np.testing.assert_array_equal(a.capital.values, b.capital.values)


# --- CLI ------------------------------------------------------------------------------------
def _cli(pm, args, env=None):
    with use_plugin_manager(pm):
        return CliRunner().invoke(main, args, env=env)


def test_cli_lists_plugins_with_versions_and_hooks():
    mod = types.ModuleType("listed_plugin")
    mod.__version__ = "9.9"
    mod.gsim_register_policies = gsim.hookimpl(
        lambda register: register(Policy("listed", market_like)))
    r = _cli(manager(mod), ["plugins"])
    assert r.exit_code == 0, r.output
    assert "gsim.policies.builtin " + gsim.__version__ + " (built-in)" in r.output
    assert "listed_plugin 9.9 (external)" in r.output
    assert "hooks: gsim_register_policies" in r.output and "policies: listed" in r.output
    r = _cli(manager(mod), ["plugins", "--json"])
    assert '"name": "listed_plugin"' in r.output


@pytest.mark.parametrize("bad", [
    Policy("gradient", market_like),
    Policy("neg", lambda c: (market_like(c)[0], -np.ones_like(market_like(c)[1]),
                             market_like(c)[2])),
])
def test_cli_faulty_plugin_is_one_line_not_a_traceback(bad):
    pm = manager(policy_plugin("faulty", bad))
    for args in (["plugins"], ["run", "--policy", "market", "--t1", "2024"]):
        r = _cli(pm, args)
        assert r.exit_code == 1, r.output
        assert "Traceback" not in r.output
        assert isinstance(r.exception, SystemExit), r.exception  # a clean exit, no crash
        err = r.output.strip()
        assert err.startswith("Error: plugin faulty") and "\n" not in err


def test_cli_bad_policy_during_run_is_one_line():
    pm = manager(policy_plugin("lateplug", late_failure("raise")))
    r = _cli(pm, ["run", "--policy", "late", "--t1", "2025"])
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert "policy 'late' (plugin lateplug) raised at t=2024" in r.output


def test_plugin_command_added_and_cannot_replace_builtin():
    import click

    @click.command("hello")
    def hello():
        click.echo("hello from a plugin")

    @click.command("run")
    def fake_run():
        pass

    from gsim import cli as cli_mod

    good = plugin("cmds", gsim_register_commands=lambda cli: cli.add_command(hello))
    bad = plugin("hijack", gsim_register_commands=lambda cli: cli.add_command(fake_run))
    for pm, check in ((manager(good), "hello from a plugin"), (manager(bad), "hijack")):
        saved = dict(main.commands)
        main._plugins_loaded = False
        try:
            r = _cli(pm, ["hello"] if check.startswith("hello") else ["plugins"])
            assert check in r.output, r.output
        finally:
            main.commands.clear()
            main.commands.update(saved)
            main._plugins_loaded = False
    assert cli_mod.main.commands["run"] is saved["run"]


# --- events ---------------------------------------------------------------------------------
SMALL = THREE_REGIONS_TOML


def small(events: str = ""):
    return loads_scenario(SMALL + events)


def test_scenario_events_are_applied_and_hashed():
    ev = """
[[events]]
type = "pipeline_inflow"
receiver = "C"
senders = ["A"]
amount = 12.0
tier_shares = { labor = 0.5, capital = 0.5 }
start = 2024.0
end = 2025.0
"""
    with use_plugin_manager(manager()):
        base = simulate(small(), t1=2026.0)
        shocked = simulate(small(ev), t1=2026.0)
    assert small(ev).hash != small().hash
    gain = shocked.pipeline.sel(region="C", tier="labor") - base.pipeline.sel(region="C",
                                                                                tier="labor")
    assert float(gain.sel(time=2025.0)) > 3.0  # ~ 6 x (1 - ell_R) minus arrivals


def test_parameter_change_and_scale_region_events():
    ev = """
[[events]]
type = "scale_region"
region = "B"
variable = "labor_force"
factor = 1.1
year = 2024.0
"""
    with use_plugin_manager(manager()):
        base = simulate(small(), t1=2026.0)
        shocked = simulate(small(ev), t1=2026.0)
    lf = shocked.labor_force.sel(region="B") / base.labor_force.sel(region="B")
    assert float(lf.sel(time=2023.0)) == 1.0 and float(lf.sel(time=2024.0)) == pytest.approx(1.1)
    sc = small()
    from gsim.events import EventSetup
    from gsim.integrate import batch_from_scenario
    from gsim.model.layout import SP

    setup = EventSetup(2023.0, 0.125, 24, sc.regions.name, sc.tiers)
    e = parameter_change(setup, "tau_T", 1.0, 2024.0)
    assert e.steps == {8}
    inp = batch_from_scenario(sc, 2)
    e.apply(8, 2024.0, None, inp)
    assert (inp.sp[:, SP["tau_T"]] == 1.0).all()
    with pytest.raises(EventError, match="out of range"):
        parameter_change(setup, "tau_T", -1.0, 2024.0)
    # calibration constants act only at t0: changing one later is an error, not a no-op
    with pytest.raises(EventError, match="u0 is a calibration constant"):
        parameter_change(setup, "u0", 0.7, 2024.0)


@pytest.mark.parametrize("ev,match", [
    ('type = "nope"', r"events\[0\]: unknown event type 'nope'"),
    ('type = "scale_region"\nregion = "B"', r"missing parameter\(s\) variable, factor, year"),
    ('type = "scale_region"\nregion = "Z"\nvariable = "wage"\nfactor = 2.0\nyear = 2024.0',
     "unknown region 'Z'"),
    ('type = "parameter_change"\nname = "x"\nvalue = 1.0\nyear = 2024.0\ncolour = 1',
     r"unknown parameter\(s\) colour"),
])
def test_bad_events_are_clear_errors_when_the_scenario_is_loaded(ev, match):
    """`gsim scenario check` catches them (exit 2): nothing has run or been created yet."""
    with use_plugin_manager(manager()):
        with pytest.raises(ScenarioError, match=match):
            small("\n[[events]]\n" + ev + "\n")


def test_plugin_event_type_failures_name_the_plugin():
    def build(params, setup):
        from gsim.events import Event

        def apply(step, t, y, inputs):
            raise ValueError("bad apply")

        return [Event(frozenset({8}), apply)]

    pm = manager(plugin("evplug", gsim_register_events=lambda register: register(
        EventType("crash", build, {}))))
    with use_plugin_manager(pm):
        with pytest.raises(EventError, match=r"type 'crash', plugin evplug\) failed at t=2024"):
            simulate(small('\n[[events]]\ntype = "crash"\n'), t1=2026.0)
        r = CliRunner().invoke(main, ["plugins"])
        assert "events: crash" in r.output
    dup = manager(plugin("dup", gsim_register_events=lambda register: register(
        EventType("scale_region", build, {}))))
    with pytest.raises(PluginError, match="already registered by plugin gsim.events"):
        dup.event_types()
    assert build_events([], None, {}) == []


# --- indicators -----------------------------------------------------------------------------
def test_indicator_added_to_results():
    from gsim.indicators import gini

    ind = Indicator("gini_gdp_pc", lambda ds: gini(ds.gdp / ds.labor_force, ds.labor_force),
                    "1", "Gini of GDP per labour-force member")
    pm = manager(plugin("ineq", gsim_register_indicators=lambda register: register(ind)))
    with use_plugin_manager(pm):
        ds = simulate(small(), t1=2025.0)
    g = ds["gini_gdp_pc"]
    assert g.dims == ("time",) and g.attrs["gsim_plugin"] == "ineq" and g.attrs["units"] == "1"
    assert 0.0 < float(g[0]) < 1.0


def test_indicator_parameters_and_direction():
    from gsim.params import spec

    ind = Indicator("emissions", lambda ds, p: p["factor"] * ds.real_gdp, "t", "emissions",
                    defaults={"factor": 2.0}, schema={"factor": spec(0, 10, True, True, "t/unit", "f")},
                    better=-1)
    pm = manager(plugin("carbon", gsim_register_indicators=lambda register: register(ind)))
    with use_plugin_manager(pm):
        ds = simulate(small(), t1=2025.0)
    e = ds["emissions"]
    np.testing.assert_array_equal(e.values, 2.0 * ds.real_gdp.values)
    assert e.attrs["better"] == "lower" and json.loads(e.attrs["gsim_params"]) == {"factor": 2.0}
    np.testing.assert_array_equal(ind(ds, {"factor": 3.0}).values, 3.0 * ds.real_gdp.values)
    for bad, why in ((dict(better=2), "better must be"), (dict(defaults={"factor": 20.0}), "outside"),
                     (dict(defaults={}), "without a default"), (dict(name="state_booked"), "policies' state")):
        wrong = dataclasses.replace(ind, **bad)
        pm = manager(plugin("wrong", gsim_register_indicators=lambda register, w=wrong: register(w)))
        with pytest.raises(PluginError, match=why):
            pm.indicators()


def test_faulty_indicators():
    bad = Indicator("bad", lambda ds: ds.gdp.isel(time=0), "1", "no time axis")
    pm = manager(plugin("indplug", gsim_register_indicators=lambda register: register(bad)))
    with use_plugin_manager(pm):
        with pytest.raises(IndicatorError, match=r"indicator 'bad' \(plugin indplug\).*'time'"):
            simulate(small(), t1=2024.0)
    shadow = Indicator("theil", lambda ds: ds.theil, "1", "x")
    pm = manager(plugin("shadow", gsim_register_indicators=lambda register: register(shadow)))
    with pytest.raises(PluginError, match="plugin shadow: indicator 'theil' would shadow"):
        pm.indicators()


# --- a broken plugin disables itself (the default, non-strict manager) ---------------------------
@pytest.mark.filterwarnings("ignore::gsim.plugins.PluginDisabledWarning")
def test_a_plugin_failing_its_probe_is_disabled_and_the_rest_works():
    bad = Policy("neg", lambda c: (market_like(c)[0], -np.ones_like(market_like(c)[1]), market_like(c)[2]))
    good = policy_plugin("good_one", Policy("fine", market_like))
    pm = manager(policy_plugin("faulty", bad), good, strict=False)
    assert {"fine", "gradient", "market"} <= set(pm.policies()) and "neg" not in pm.policies()
    assert "subsidy z has negative values" in pm.broken["faulty"]
    for args in (["plugins"], ["run", "--policy", "gradient", "--t1", "2024"]):
        r = _cli(pm, args)
        assert r.exit_code == 0, r.output
    r = _cli(pm, ["plugins"])
    assert "faulty - (disabled, broken: plugin faulty: rejected at registration" in r.output


def test_disabling_warns_once_naming_the_plugin_and_the_switch():
    pm = manager(policy_plugin("faulty", Policy("gradient", market_like)), strict=False)
    with pytest.warns(PluginDisabledWarning) as rec:
        pm.policies()
        pm.policies()
    assert len(rec) == 1
    assert "plugin faulty disabled" in str(rec[0].message)
    assert "GSIM_DISABLE_PLUGINS=faulty" in str(rec[0].message)


def test_the_probe_also_uses_a_nearest_k_pair_table():
    def all_pairs_only(ctx):  # assumes k = R - 1, as some plugin authors do
        W, z, psi = market_like(ctx)
        R = len(ctx.regions)
        W[:] = np.ones((R, R - 1))[None, :, :, None]
        return W, z, psi

    _reject(Policy("allpairs", all_pairs_only), r"transfer weights W|2 nearest receivers per sender")
