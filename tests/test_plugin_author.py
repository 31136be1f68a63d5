"""What a third-party plugin author meets: a policy with its own levers, an event, an
indicator, used together in runs, sweeps, claims and optimisation."""

from __future__ import annotations

import re
import types

import numpy as np
import pytest
from helpers import THREE_REGIONS_TOML

import gsim
from gsim.indicators import Indicator, IndicatorError
from gsim.params import spec
from gsim.plugins import PluginError, make_plugin_manager, use_plugin_manager
from gsim.policies import Policy
from gsim.scenario import loads_scenario
from gsim.sweeps import open_sweep, sweep
from gsim.sweeps.engine import LocalExecutor


def east_share(ds):
    """The East's share of labour-tier capital."""
    cap = ds.capital.isel(tier=0)
    return cap.where(ds.macro_region == "East", 0).sum("region") / cap.sum("region")


EAST = Indicator("east_share", east_share, "1", "East's share of labour-tier capital")


def indicator_plugin():
    def gsim_register_indicators(register):
        register(EAST)

    return types.SimpleNamespace(__name__="author", gsim_register_indicators=gsim.hookimpl(gsim_register_indicators))


def test_sweep_with_indicator_and_late_event(tmp_path):
    """A plugin indicator's dimensions are probed on a short run; an event acting after that
    probe's end must not make the sweep fail."""
    sc = loads_scenario(THREE_REGIONS_TOML + """
[[events]]
type = "parameter_change"
name = "tau_T"
value = 1.0
year = 2025.0
""")
    pm = make_plugin_manager(load_entrypoints=False, extra=(indicator_plugin(),), strict=True)
    with use_plugin_manager(pm):
        sweep(tmp_path / "s.zarr", sc, {"samples": 2, "policies": "market", "block_size": 2},
              executor=LocalExecutor(1))
        share = open_sweep(tmp_path / "s.zarr").east_share
    assert share.dims[-1] == "time" and "region" not in share.dims
    assert np.isfinite(share.values).all() and ((share > 0) & (share < 1)).all()


def test_a_plugin_indicator_is_a_constraint_as_it_is_an_objective(tmp_path):
    """`--constraint east_share<=X` works as `--objectives east_share:min` does; a bound no
    run can meet leaves the front empty, one every run meets leaves it as without it."""
    from gsim.optimize import optimize

    small = dict(levers="readiness", objectives="real_gdp:max,east_share:min", year=2025, scenarios=2,
                 population=4, generations=1, seed=3, workers=1)
    pm = make_plugin_manager(load_entrypoints=False, extra=(indicator_plugin(),), strict=True)
    with use_plugin_manager(pm):
        free = gsim.open_optimization(optimize(tmp_path / "free.zarr", **small))
        loose = gsim.open_optimization(optimize(tmp_path / "loose.zarr", constraints=("east_share<=1",), **small))
        tight = gsim.open_optimization(optimize(tmp_path / "tight.zarr", constraints=("east_share<=0",), **small))
    np.testing.assert_array_equal(loose.levers.values, free.levers.values)
    assert tight.sizes.get("candidate", 0) == 0


def _decide(ctx):
    from gsim.policies import zero_decision

    return zero_decision(ctx.n_runs, ctx.pairs, len(ctx.tiers))


@pytest.mark.parametrize("kind", ["policy", "event type", "indicator"])
@pytest.mark.parametrize("schema, says", [
    ({"w": spec(1, 0, True, True, "1", "weight")}, "w: bounds [1, 0] hold no value"),
    ({"w": spec(float("nan"), 1, True, True, "1", "weight")}, "w: bounds [nan, 1] hold no value"),
    ({"w": spec(0, 0, False, True, "1", "weight")}, "w: bounds (0, 0] hold no value"),
    ({"w": spec(0.6, 1, True, True, "1", "weight")}, "default w = 0.5 is outside its bounds"),
    ({"v": spec(0, 1, True, True, "1", "weight")}, "schema names parameters without a default: v"),
])
def test_a_bad_schema_is_the_plugins_error_at_registration_not_the_scenarios(kind, schema, says):
    """A schema whose bounds hold no value, or exclude the default, would otherwise reject
    every scenario naming the policy with an error blaming a value the scenario never gave."""
    from gsim.events import EventType

    thing = {"policy": lambda: Policy("p", _decide, {"w": 0.5}, schema=schema),
             "event type": lambda: EventType("e", lambda p, s: [], {"w": 0.5}, schema=schema),
             "indicator": lambda: Indicator("i", lambda ds, p: ds.real_gdp, "1", "i", defaults={"w": 0.5},
                                            schema=schema)}[kind]()
    hook = {"policy": "gsim_register_policies", "event type": "gsim_register_events",
            "indicator": "gsim_register_indicators"}[kind]

    def register_it(register):
        register(thing)

    plugin = types.SimpleNamespace(__name__="author", **{hook: gsim.hookimpl(register_it)})
    with pytest.raises(PluginError, match=re.escape(f"plugin author: {kind} ")) as e:
        pm = make_plugin_manager(load_entrypoints=False, extra=(plugin,), strict=True)
        pm.policies(), pm.event_types(), pm.indicators()
    assert says in str(e.value)


def _indicator_manager(compute):
    ind = Indicator("bad", compute, "1", "a faulty indicator")

    def gsim_register_indicators(register):
        register(ind)

    plugin = types.SimpleNamespace(__name__="author", gsim_register_indicators=gsim.hookimpl(gsim_register_indicators))
    return make_plugin_manager(load_entrypoints=False, extra=(plugin,), strict=True)


def test_an_indicator_cannot_change_the_outputs_it_reads():
    """An indicator writing into its input used to change the run's saved outputs silently."""
    def overwrite(ds):
        ds["real_gdp"][:] = 0.0
        return ds.theil

    sc = loads_scenario(THREE_REGIONS_TOML)
    clean = gsim.simulate(sc, "market")
    with use_plugin_manager(_indicator_manager(overwrite)), \
            pytest.raises(IndicatorError, match=r"indicator 'bad' \(plugin author\).*must not modify"):
        gsim.simulate(sc, "market")
    assert (clean.real_gdp > 0).all()


@pytest.mark.parametrize("compute, says", [
    (lambda ds: ds.real_gdp * np.inf, "infinite"),
    (lambda ds: ds.real_gdp * np.nan, "no finite value"),
])
def test_an_indicator_returning_inf_or_only_nan_is_the_plugins_error(compute, says):
    with use_plugin_manager(_indicator_manager(compute)), \
            pytest.raises(IndicatorError, match=rf"indicator 'bad' \(plugin author\).*{says}"):
        gsim.simulate(loads_scenario(THREE_REGIONS_TOML), "market")


def test_an_indicator_with_some_nan_is_kept():
    """A growth rate is undefined at t0: NaN there is a value, not a fault."""
    with use_plugin_manager(_indicator_manager(lambda ds: ds.real_gdp.diff("time").reindex(time=ds.time))):
        ds = gsim.simulate(loads_scenario(THREE_REGIONS_TOML), "market")
    assert np.isnan(ds.bad[0]) and np.isfinite(ds.bad[1:]).all()


@pytest.mark.parametrize("target", ["state", "parameter"])
def test_an_event_that_makes_values_non_finite_is_named(target):
    """An event writing NaN used to surface as the model's 'capital ... became non-finite',
    naming neither the event nor its plugin."""
    from gsim.events import Event, EventType
    from gsim.model.layout import SP

    def build(params, setup):
        def apply(step, t, y, inputs):
            if target == "state":
                y[:, 0] = np.nan
            else:
                inputs.sp[:, SP["delta"]] = np.inf
        return [Event([setup.step_of(2024.0)], apply)]

    def gsim_register_events(register):
        register(EventType("spoil", build, {}, "writes NaN"))

    plugin = types.SimpleNamespace(__name__="author", gsim_register_events=gsim.hookimpl(gsim_register_events))
    with use_plugin_manager(make_plugin_manager(load_entrypoints=False, extra=(plugin,), strict=True)):
        sc = loads_scenario(THREE_REGIONS_TOML + '[[events]]\ntype = "spoil"\n')
        with pytest.raises(Exception, match=r"events\[0\] \(type 'spoil', plugin author\).*non-finite"):
            gsim.simulate(sc, "market")


def test_a_policy_writing_into_its_inputs_is_told_they_are_read_only():
    """numpy's bare 'assignment destination is read-only' named no remedy."""
    def decide(ctx):
        ctx["readiness"][:] = 0.0
        return _decide(ctx)

    def gsim_register_policies(register):
        register(Policy("writer", decide))

    plugin = types.SimpleNamespace(__name__="author", gsim_register_policies=gsim.hookimpl(gsim_register_policies))
    with pytest.raises(PluginError, match=r"policy 'writer' \(plugin author\) raised .*read-only.*\(the "
                                          r"context's values are read-only: compute on copies; a policy's own "
                                          r"arrays are ctx.state\)"):
        make_plugin_manager(load_entrypoints=False, extra=(plugin,), strict=True).policies()


def test_a_policy_cannot_change_the_saved_outputs_through_its_context():
    """Writing into ctx["capital"] used to change the run's saved capital silently."""
    tried = []

    def writer(ctx):
        for name in ("capital", "readiness"):
            try:
                ctx[name][...] = 0.0
            except ValueError:
                tried.append(name)
        return _decide(ctx)

    def gsim_register_policies(register):
        register(Policy("writer", writer))
        register(Policy("still", _decide))

    plugin = types.SimpleNamespace(__name__="author", gsim_register_policies=gsim.hookimpl(gsim_register_policies))
    sc = loads_scenario(THREE_REGIONS_TOML)
    with use_plugin_manager(make_plugin_manager(load_entrypoints=False, extra=(plugin,), strict=True)):
        a, b = gsim.simulate(sc, "writer"), gsim.simulate(sc, "still")
    assert tried and set(tried) == {"capital", "readiness"}
    for name in ("capital", "readiness", "real_gdp"):
        np.testing.assert_array_equal(a[name].values, b[name].values)
