"""Plugin indicators' parameters and better direction: `[indicators.NAME]` in scenarios, their
use by simulate, sweeps (components, resume), claims (`Measure` without a direction), the
summary's win share, `gsim optimize` objectives, `gsim plugins` and the report."""

from __future__ import annotations

import dataclasses
import json
import re
import types

import numpy as np
import pytest
import zarr
from click.testing import CliRunner
from helpers import SMALL, SMALL_OPTS, THREE_REGIONS_TOML, FirstBlockOnly, claims_plugin

import gsim
from gsim.analysis import report as rp
from gsim.analysis.discovery import discover
from gsim.analysis.select import AnalysisError
from gsim.api import simulate
from gsim.claims import Claim, Measure
from gsim.cli import main
from gsim.indicators import BETTER, Indicator
from gsim.optimize import make_problem
from gsim.optimize.evaluate import Evaluator
from gsim.optimize.problem import OptimizeError, parse_objectives
from gsim.params import spec
from gsim.plugins import PluginError, make_plugin_manager, use_plugin_manager
from gsim.scenario import ScenarioError, loads_scenario
from gsim.sweeps import open_sweep, summarize, sweep
from gsim.sweeps.engine import LocalExecutor, resume
from gsim.sweeps.store import StoreError

TOML = THREE_REGIONS_TOML


def emissions(ds, p):
    """An emissions proxy: an emission factor times real GDP."""
    return p["factor"] * ds.real_gdp


EMISSIONS = Indicator("emissions", emissions, "Mt", "emissions proxy", "factor x real GDP",
                      defaults={"factor": 2.0, "label": "co2"},
                      schema={"factor": spec(0, 10, True, True, "Mt/bn CNY", "emission factor")}, better=-1)
UNDIRECTED = Indicator("gdp_gap", lambda ds: ds.real_gdp * 0 + 1.0, "1", "a ratio without direction")


def indicator_plugin(*indicators, name="carbon"):
    def gsim_register_indicators(register):
        for ind in indicators:
            register(ind)

    return types.SimpleNamespace(__name__=name, gsim_register_indicators=gsim.hookimpl(gsim_register_indicators))


def manager(*indicators, extra=()):
    return make_plugin_manager(load_entrypoints=False, extra=(indicator_plugin(*indicators), *extra), strict=True)


# --- [indicators.NAME] in scenarios ------------------------------------------------------------
def test_scenario_overrides_an_indicators_parameters_and_simulate_uses_them():
    with use_plugin_manager(manager(EMISSIONS)):
        plain = loads_scenario(TOML)
        sc = loads_scenario(TOML + "[indicators.emissions]\nfactor = 3\n")
        assert sc.indicator_params == {"emissions": {"factor": 3.0}}  # the default's type: a float
        again = loads_scenario(sc.toml)  # the canonical TOML round trip
        assert again.indicator_params == sc.indicator_params and again.hash == sc.hash != plain.hash
        ds = simulate(sc, t1=2025.0)
        ds0 = simulate(plain, t1=2025.0)
    np.testing.assert_array_equal(ds.emissions.values, 3.0 * ds.real_gdp.values)
    np.testing.assert_array_equal(ds0.emissions.values, 2.0 * ds0.real_gdp.values)
    assert json.loads(ds.emissions.attrs["gsim_params"]) == {"factor": 3.0, "label": "co2"}
    assert ds.emissions.attrs["better"] == "lower"
    # a scenario that configures no indicator hashes the same with or without the plugin
    with use_plugin_manager(make_plugin_manager(load_entrypoints=False)):
        assert loads_scenario(TOML).hash == plain.hash
    with use_plugin_manager(manager(EMISSIONS)):
        assert plain.with_overrides(indicators={"emissions": {"factor": 3.0}}) == sc


@pytest.mark.parametrize("table,field,why", [
    ("[indicators.emissions]\nfactr = 3.0\n", "indicators.emissions.factr", "unknown key (did you mean 'factor'?)"),
    ("[indicators.emissions]\nfactor = \"high\"\n", "indicators.emissions.factor", "expected a number"),
    ("[indicators.emissions]\nfactor = 11.0\n", "indicators.emissions.factor", "must be in [0, 10], got 11"),
    ("[indicators.emissions]\nlabel = 3\n", "indicators.emissions.label", "expected a string"),
    ("[indicators.methane]\nfactor = 1.0\n", "indicators.methane", "no installed plugin provides this indicator"),
    ("[indicators]\nemissions = 2\n", "indicators.emissions", "expected a table"),
])
def test_bad_indicator_tables_are_one_line_errors(table, field, why, tmp_path):
    with use_plugin_manager(manager(EMISSIONS)):
        with pytest.raises(ScenarioError) as e:
            loads_scenario(TOML + table, source="s.toml")
        assert str(e.value).startswith(f"s.toml: {field}: ") and why in str(e.value)
        (tmp_path / "s.toml").write_text(TOML + table)
        r = CliRunner().invoke(main, ["scenario", "check", str(tmp_path / "s.toml")])
    assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1 and field in r.output
    if "methane" in table:
        assert "gsim plugins" in str(e.value)


def test_an_indicator_gone_since_the_scenario_was_loaded_names_the_plugins_command():
    with use_plugin_manager(manager(EMISSIONS)):
        sc = loads_scenario(TOML + "[indicators.emissions]\nfactor = 3.0\n")
    with use_plugin_manager(make_plugin_manager(load_entrypoints=False)):
        with pytest.raises(ScenarioError, match=r"indicators.emissions: no installed plugin .*gsim plugins"):
            simulate(sc, t1=2024.0)


# --- sweeps: components, resume, the summary's win share -----------------------------------------
def test_sweeps_record_the_parameters_and_refuse_a_resume_with_other_ones(tmp_path):
    sc = SMALL
    path = tmp_path / "s.zarr"
    opts = {**SMALL_OPTS, "policies": "none,market"}
    with use_plugin_manager(manager(EMISSIONS)):
        sc3 = sc.with_overrides(indicators={"emissions": {"factor": 3.0}})
        sweep(path, sc3, opts, executor=FirstBlockOnly())
    comp = {c["name"]: c for c in zarr.open_group(str(path), mode="r").attrs["components"]}["emissions"]
    assert comp["parameters"]["params.factor"] == 3.0 and comp["parameters"]["better"] == -1
    changed = dataclasses.replace(EMISSIONS, defaults={"factor": 2.0, "label": "ch4"})
    with use_plugin_manager(manager(changed)):
        with pytest.raises(StoreError, match=r"indicator emissions: parameter params.label 'co2' -> 'ch4'"):
            resume(path, executor=LocalExecutor(1))
    with use_plugin_manager(manager(EMISSIONS)):
        resume(path, executor=LocalExecutor(1))
        s = summarize(path)
    ds = open_sweep(path)
    np.testing.assert_allclose(ds.emissions.values, 3.0 * ds.real_gdp.values)
    # the win share of a plugin indicator follows its better direction (lower is better)
    year = float(ds.time[-1])
    e = ds.emissions.sel(time=year)
    want = float((e.sel(policy="none") < e.sel(policy="market")).mean())
    w = s.wins[(s.wins.indicator == "emissions") & (s.wins.a == "none") & (s.wins.b == "market")
               & (s.wins.year == year)]
    assert len(w) == 1 and w.share.iloc[0] == want


# --- claims: a measure's direction from its indicator -------------------------------------------
def _claim(*measures):
    return Claim("cleaner", "Gradient transfer emits less.", measures, (("gradient", "market"),))


def test_a_measure_without_direction_takes_the_indicators():
    pm = manager(EMISSIONS, extra=(claims_plugin(_claim(Measure("emissions"), Measure("theil"),
                                                        Measure("real_gdp", -1))),))
    got = [m.direction for m in pm.claims()["cleaner"].measures]
    assert got == [EMISSIONS.better, BETTER["theil"], -1]  # an explicit direction is kept


@pytest.mark.parametrize("measure", [Measure("gdp_gap"), Measure("transfer_volume"),
                                     Measure("real_output_receiving"), Measure("no_such_output")])
def test_a_measure_without_any_direction_is_rejected_at_registration(measure):
    pm = manager(EMISSIONS, UNDIRECTED, extra=(claims_plugin(_claim(measure)),))
    with pytest.raises(PluginError, match=rf"plugin my_claims: claim 'cleaner': {measure.indicator}: no direction "
                                          r"given .*direction=\+1 or -1"):
        pm.claims()


# --- gsim optimize: plugin indicators as objectives ----------------------------------------------
def test_objectives_take_the_better_direction():
    plugin = {"emissions": EMISSIONS, "gdp_gap": UNDIRECTED}
    objs = parse_objectives("emissions,real_gdp,theil:max", plugin)
    assert [(o.indicator, o.direction) for o in objs] == [("emissions", "min"), ("real_gdp", "max"),
                                                          ("theil", "max")]
    for text, why in (("gdp_gap", "declares no better direction; give gdp_gap:max or gdp_gap:min"),
                      ("transfer_volume", "declares no better direction"),
                      ("emissions:up", "expected NAME[:max|min[:THRESHOLD]]"),
                      ("methane", "'methane' is not an indicator saved by sweeps")):
        with pytest.raises(OptimizeError, match=re.escape(why)):
            parse_objectives(text, plugin)
    with pytest.raises(OptimizeError, match="not an indicator saved by sweeps"):
        parse_objectives("emissions")  # no plugin indicators installed


def test_optimize_evaluates_plugin_indicators_as_sweeps_do():
    with use_plugin_manager(manager(EMISSIONS)):
        sc = loads_scenario(TOML + "[indicators.emissions]\nfactor = 3.0\n")
        problem = make_problem(sc, policy="gradient", objectives="real_gdp,emissions", scenarios=1,
                               levers="readiness")
        assert [o.direction for o in problem.objectives] == ["max", "min"]
        ev = Evaluator(sc, problem, parallel=False)
        bau = ev.bau()
        cand = ev.candidates(np.array([[0.4], [0.6]]))
        ds = simulate(sc, "market")
    where = problem.columns(bau.shape[-1])
    np.testing.assert_allclose(bau[:, where["emissions"]], 3.0 * bau[:, where["real_gdp"]])
    np.testing.assert_allclose(cand[..., where["emissions"]], 3.0 * cand[..., where["real_gdp"]])
    assert bau[0, where["real_gdp"]][0] == pytest.approx(float(ds.real_gdp[-1]), rel=1e-9)
    regional = dataclasses.replace(EMISSIONS, compute=lambda ds, p: p["factor"] * ds.gdp)
    with use_plugin_manager(manager(regional)):
        problem = make_problem(sc, objectives="emissions", scenarios=1, levers="readiness")
        with pytest.raises(OptimizeError, match="only a time axis"):
            Evaluator(sc, problem, parallel=False).bau()


# --- gsim plugins ----------------------------------------------------------------------------------
def test_plugins_lists_parameters_bounds_units_and_direction():
    with use_plugin_manager(manager(EMISSIONS)):
        r = CliRunner().invoke(main, ["plugins"], env={"COLUMNS": "80"})
        j = CliRunner().invoke(main, ["plugins", "--json"])
    assert r.exit_code == 0, r.output
    assert max(len(line) for line in r.output.splitlines()) <= 80
    text = " ".join(r.output.split())
    assert "indicator emissions (Mt; lower is better): factor x real GDP" in text
    assert 'factor = 2.0 Mt/bn CNY, in [0, 10]: emission factor label = "co2"' in text
    assert "aid = 0.1, >= 0: pairing-aid rate" in text  # a built-in policy's parameters too
    assert "event parameter_change:" in text and "year (required)" in text
    rows = {row["name"]: row for row in json.loads(j.output)}
    ind = rows["carbon"]["details"]["indicators"][0]
    assert ind["units"] == "Mt" and ind["better"] == -1
    assert ind["parameters"][0] == {"name": "factor", "default": 2.0, "bounds": "in [0, 10]", "low": 0.0,
                                    "high": 10.0, "unit": "Mt/bn CNY", "meaning": "emission factor"}
    assert rows["carbon"]["indicators"] == ["emissions"]


# --- the report: a section per plugin indicator ----------------------------------------------------
def test_the_report_has_a_section_per_plugin_indicator(tmp_path):
    hostile = dataclasses.replace(UNDIRECTED, name="gap", long_name="<script>alert(1)</script> gap")
    path, out = tmp_path / "s.zarr", tmp_path / "r.html"
    with use_plugin_manager(manager(EMISSIONS, hostile)):
        sweep(path, SMALL, {**SMALL_OPTS, "samples": 4, "policies": "market,gradient"}, executor=LocalExecutor(1))
        rp.report(path, out)
    page = out.read_text()
    section = re.search(r'<section id="indicator-emissions">(.*?)</section>', page, re.S)
    assert section is not None
    body = section.group(1)
    assert "Plugin indicator emissions" in body and "lower is better" in body
    assert "factor = 2.0" in body and body.count("<img") == 2  # the fan and the paired figure
    assert "minus market (business as usual)" in body
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; gap" in page
    assert 'id="indicator-gap"' in page and "no better direction declared" in page
    assert not re.search(r"(?i)<script|<link|@import|url\(|https?://", page)  # offline, nothing fetched
    # scenario discovery reads the better direction the sweep recorded
    found = discover(path, "emissions:gradient-market")
    e = open_sweep(path).emissions.isel(time=-1)
    fails = (e.sel(policy="gradient") >= e.sel(policy="market")).values
    assert found.n_interest == int(fails.sum())
    with pytest.raises(AnalysisError, match="gap has no better direction"):
        discover(path, "gap:gradient-market")
