"""Scenario layer: the embedded default, TOML round trip and hash, overrides, validation."""

from __future__ import annotations

import copy
import math
import tomllib
import types
from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest
import tomli_w
from click.testing import CliRunner

import gsim
from gsim.cli import main
from gsim.cli.run import commented
from gsim.params import DEFAULT_TIERS, PARAM_BOUNDS, SCALAR_DEFAULTS, TIER_DEFAULTS, RunSettings, model_defaults
from gsim.plugins import make_plugin_manager, use_plugin_manager
from gsim.policies import Policy, zero_decision
from gsim.policies.builtin import BUILTIN_POLICIES
from gsim.scenario import (
    ScenarioError,
    load_scenario,
    replace_run,
    scenario_hash,
    scenario_to_toml,
)

SPEC_SHARES = {  # spec §3
    "East": (0.15, 0.10, 0.40, 0.35),
    "Central": (0.30, 0.20, 0.35, 0.15),
    "West": (0.25, 0.35, 0.30, 0.10),
    "Northeast": (0.15, 0.30, 0.45, 0.10),
}


# ----------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------
REAL_REGISTRY_TESTS = {"test_real_registry_knows_the_builtins"}


BUILTIN_POLICY_DEFAULTS = {p.name: dict(p.defaults) for p in BUILTIN_POLICIES}


@pytest.fixture(autouse=True)
def builtin_policies_only(request):
    """Tests never see whatever plugins are installed: the registry holds the four built-ins."""
    if request.node.name in REAL_REGISTRY_TESTS:
        yield
        return
    with use_plugin_manager(make_plugin_manager(load_entrypoints=False)):
        yield


def with_policy(name: str, defaults: dict):
    """A plugin manager with the built-ins and one more policy `name` with these defaults."""
    def gsim_register_policies(register):
        register(Policy(name, lambda ctx: zero_decision(ctx.n_runs, ctx.pairs, len(ctx.tiers)),
                        defaults))

    plugin = types.SimpleNamespace(__name__="quota_plugin",
                                   gsim_register_policies=gsim.hookimpl(gsim_register_policies))
    return use_plugin_manager(make_plugin_manager(load_entrypoints=False, extra=(plugin,)))


def base_doc() -> dict:
    """A small valid scenario with inline regions (3 regions, the default tiers)."""
    return {
        "scenario": {"name": "tiny", "tiers": list(DEFAULT_TIERS), "pairs": "all"},
        "run": {"t0": 2023, "t1": 2025, "dt": 0.125, "save_every": 0.5, "policy_period": 1.0,
                "method": "euler", "policy": "gradient"},
        "params": {"delta": 0.1, "alpha": {"labor": 0.3, "resource": 0.5, "capital": 0.5, "technology": 0.4}},
        "shares": {"East": [0.1, 0.2, 0.3, 0.4]},
        "policies": {"gradient": {"aid": 0.2}},
        "regions": [
            {"name": "A", "name_zh": "甲", "macro_region": "East", "lat": 30.0, "lon": 110.0,
             "gdp": 100.0, "population": 10.0, "schooling": 9.0},
            {"name": "B", "macro_region": "East", "lat": 35.0, "lon": 115.0,
             "gdp": 50.0, "population": 8.0, "schooling": 8.5},
            {"name": "C", "macro_region": "West", "lat": 25.0, "lon": 100.0,
             "gdp": 20.0, "population": 5.0, "schooling": 7.0,
             "shares": {"labor": 0.4, "resource": 0.3, "capital": 0.2, "technology": 0.1}},
        ],
    }


def write(tmp_path: Path, doc: dict | str, name: str = "sc.toml") -> Path:
    p = tmp_path / name
    p.write_text(doc if isinstance(doc, str) else tomli_w.dumps(doc), encoding="utf-8")
    return p


def check_cli(path: Path):
    return CliRunner().invoke(main, ["scenario", "check", str(path)])


CSV_HEADER = "region,name_zh,macro_region,lat,lon,gdp_bn_cny,population_m,schooling_years\n"
CSV_ROWS = "A,甲,East,30,110,100,10,9\nB,乙,West,35,115,50,8,8.5\nC,丙,West,25,100,20,5,7\n"


def csv_doc(tmp_path: Path, csv_text: str) -> dict:
    (tmp_path / "regions.csv").write_text(csv_text, encoding="utf-8")
    doc = base_doc()
    del doc["regions"]
    doc["scenario"]["regions"] = "regions.csv"
    doc["shares"] = {"East": [0.1, 0.2, 0.3, 0.4], "West": [0.4, 0.3, 0.2, 0.1]}
    return doc


# ----------------------------------------------------------------------------------------
# the embedded default
# ----------------------------------------------------------------------------------------
def test_default_has_31_regions_and_spec_shares():
    sc = load_scenario()
    assert sc is not None and sc.name == "china31" and sc.source == "<default>"
    rg = sc.regions
    assert len(rg) == 31 and rg.name[0] == "Beijing" and rg.name[-1] == "Xinjiang"
    assert rg.name_zh[0] == "北京市"
    assert sc.tiers == DEFAULT_TIERS
    counts = {m: rg.macro_region.count(m) for m in SPEC_SHARES}
    assert counts == {"East": 10, "Central": 6, "West": 12, "Northeast": 3}
    for i, m in enumerate(rg.macro_region):
        np.testing.assert_array_equal(rg.shares[i], SPEC_SHARES[m])
    assert rg.shares.shape == (31, 4)
    np.testing.assert_allclose(rg.shares.sum(axis=1), 1.0, atol=1e-12)
    assert rg.gdp[0] == pytest.approx(4376.07) and rg.population[0] == pytest.approx(21.86)
    assert rg.schooling[0] == pytest.approx(12.64) and rg.lat[0] == pytest.approx(39.904989)


def test_default_parameters_and_run_settings_match_spec():
    sc = load_scenario()
    assert sc.params == model_defaults("gtm2")
    assert sc.with_overrides(model="gtm1").params == SCALAR_DEFAULTS
    for k, v in TIER_DEFAULTS.items():
        np.testing.assert_array_equal(sc.tier_params[k], v)
    assert sc.run == RunSettings()
    assert sc.run == RunSettings(2023.0, 2050.0, 0.125, 1.0, 1.0, "euler", "market")
    assert sc.run.n_steps == 216
    assert sc.nearest is None and sc.sweep is not None  # [sweep] added by the sweep issue
    assert sc.policy_params["subsidy_race"] == {"rate": 0.03, "tiers": ["labor", "capital"]}
    assert sc.policy_params["gradient"] == BUILTIN_POLICY_DEFAULTS["gradient"]
    assert sc.policy_params["none"] == {} and sc.policy_params["market"] == {}


def test_default_is_immutable_and_package_api():
    sc = gsim.load_scenario()
    with pytest.raises(ValueError):
        sc.regions.gdp[0] = 1.0
    with pytest.raises(ValueError):
        sc.tier_params["alpha"][0] = 0.9
    # loading again gives an equal scenario
    assert gsim.load_scenario() == sc


def test_default_toml_comments_every_parameter():
    text = files("gsim").joinpath("data", "default.toml").read_text(encoding="utf-8")
    lines = text.splitlines()
    for k in list(SCALAR_DEFAULTS) + ["t0", "t1", "dt", "save_every", "policy_period", "method", "policy"]:
        hit = [ln for ln in lines if ln.split("=")[0].strip() == k]
        assert len(hit) == 1 and "#" in hit[0], k
    for k in TIER_DEFAULTS:
        hit = [ln for ln in lines if ln.startswith(f"[params.{k}]")]
        assert len(hit) == 1 and "#" in hit[0], k


def test_param_bounds_cover_every_parameter_and_hold_defaults():
    assert set(PARAM_BOUNDS) == set(SCALAR_DEFAULTS) | set(TIER_DEFAULTS)
    for k, v in SCALAR_DEFAULTS.items():
        assert PARAM_BOUNDS[k].contains(v), k
        assert PARAM_BOUNDS[k].unit and PARAM_BOUNDS[k].description
    for k, vs in TIER_DEFAULTS.items():
        assert all(PARAM_BOUNDS[k].contains(v) for v in vs), k
    assert not PARAM_BOUNDS["tau_T"].contains(0.0)
    assert not PARAM_BOUNDS["alpha"].contains(1.0)
    assert PARAM_BOUNDS["omega"].contains(0.0)
    assert not PARAM_BOUNDS["c_m"].contains(-0.1)
    assert not PARAM_BOUNDS["G0"].contains(math.nan)


# ----------------------------------------------------------------------------------------
# show, round trip, hash
# ----------------------------------------------------------------------------------------
def test_show_round_trip_default_same_hash(tmp_path):
    res = CliRunner().invoke(main, ["scenario", "show"])
    assert res.exit_code == 0, res.output
    assert res.stdout == commented(scenario_to_toml(load_scenario()))  # each parameter commented
    doc = tomllib.loads(res.stdout)
    assert len(doc["regions"]) == 31 and doc["params"]["tau_T"] == 2.0
    assert doc["policies"]["gradient"]["readiness"] == 0.52
    p = write(tmp_path, res.stdout, "shown.toml")
    sc2 = load_scenario(p)
    sc = load_scenario()
    assert sc2 == sc
    assert scenario_hash(sc2) == scenario_hash(sc)
    assert sc2.source == str(p)
    # showing the shown file gives the same text (canonical form is a fixed point)
    res2 = CliRunner().invoke(main, ["scenario", "show", str(p)])
    assert res2.exit_code == 0 and res2.stdout == res.stdout


def test_round_trip_inline_nearest_sweep_custom_tiers(tmp_path):
    doc = {
        "scenario": {"name": "two", "tiers": ["low", "high"], "pairs": {"nearest": 2}},
        "run": {"t0": 0, "t1": 10, "dt": 0.5, "save_every": 2.0, "policy_period": 1.0,
                "method": "rk4", "policy": "none"},
        "params": {k: {"low": v[0], "high": v[3]} for k, v in TIER_DEFAULTS.items()},
        "policies": {"subsidy_race": {"tiers": ["low"], "rate": 1}},
        "regions": [
            {"name": n, "lat": 10.0 * i, "lon": 20.0 * i, "gdp": 1.0 + i, "population": 2.0,
             "schooling": 8.0, "shares": [0.5, 0.5]}
            for i, n in enumerate("XYZ")
        ],
        "sweep": {"n": 16, "params": {"beta": {"uniform": [10, 30]}}},
    }
    sc = load_scenario(write(tmp_path, doc))
    assert sc.nearest == 2 and sc.run.method == "rk4" and sc.tiers == ("low", "high")
    assert sc.policy_params["subsidy_race"] == {"rate": 1.0, "tiers": ["low"]}
    assert isinstance(sc.policy_params["subsidy_race"]["rate"], float)
    assert sc.sweep == doc["sweep"]
    sc2 = load_scenario(write(tmp_path, scenario_to_toml(sc), "again.toml"))
    assert sc2 == sc and scenario_hash(sc2) == scenario_hash(sc)
    assert sc2.sweep == doc["sweep"]


def test_hash_changes_with_a_parameter_and_ignores_source(tmp_path):
    doc = base_doc()
    h1 = scenario_hash(load_scenario(write(tmp_path, doc, "a.toml")))
    assert scenario_hash(load_scenario(write(tmp_path, doc, "b.toml"))) == h1
    assert len(h1) == 64 and int(h1, 16) >= 0
    doc2 = copy.deepcopy(doc)
    doc2["params"]["tau_T"] = 2.5
    assert scenario_hash(load_scenario(write(tmp_path, doc2, "c.toml"))) != h1
    doc3 = copy.deepcopy(doc)
    doc3["params"]["alpha"]["capital"] = 0.51
    assert scenario_hash(load_scenario(write(tmp_path, doc3, "d.toml"))) != h1
    doc4 = copy.deepcopy(doc)
    doc4["policies"]["gradient"]["aid"] = 0.3
    assert scenario_hash(load_scenario(write(tmp_path, doc4, "e.toml"))) != h1
    # the default's hash changes when one parameter changes
    sc = load_scenario()
    assert scenario_hash(sc.with_overrides(delta=0.1)) != scenario_hash(sc)


def test_inline_scenario_values(tmp_path):
    sc = load_scenario(write(tmp_path, base_doc()))
    assert sc.name == "tiny" and len(sc.regions) == 3
    np.testing.assert_array_equal(sc.regions.shares[0], [0.1, 0.2, 0.3, 0.4])
    np.testing.assert_array_equal(sc.regions.shares[2], [0.4, 0.3, 0.2, 0.1])
    assert sc.regions.name_zh == ("甲", "", "")
    assert sc.params["delta"] == 0.1 and sc.params["tau_T"] == 2.0
    np.testing.assert_array_equal(sc.tier_params["alpha"], [0.3, 0.5, 0.5, 0.4])
    np.testing.assert_array_equal(sc.tier_params["omega"], TIER_DEFAULTS["omega"])
    assert sc.policy_params["gradient"]["aid"] == 0.2
    assert sc.policy_params["gradient"]["readiness"] == 0.52
    assert sc.run.t0 == 2023.0 and isinstance(sc.run.t0, float) and sc.run.n_steps == 16


def test_csv_regions_relative_path_share_columns_and_precedence(tmp_path):
    doc = csv_doc(tmp_path, CSV_HEADER + CSV_ROWS)
    doc["shares"]["B"] = [0.7, 0.1, 0.1, 0.1]  # region name beats its macro-region
    sc = load_scenario(write(tmp_path, doc))
    assert sc.regions.name == ("A", "B", "C") and sc.regions.macro_region[1] == "West"
    np.testing.assert_array_equal(sc.regions.shares[1], [0.7, 0.1, 0.1, 0.1])
    np.testing.assert_array_equal(sc.regions.shares[2], [0.4, 0.3, 0.2, 0.1])
    # share_<tier> columns beat [shares]
    hdr = CSV_HEADER.strip() + ",share_labor,share_resource,share_capital,share_technology,extra\n"
    rows = "".join(r + ",0.25,0.25,0.25,0.25,x\n" for r in CSV_ROWS.strip().split("\n"))
    sub = tmp_path / "sub"
    sub.mkdir()
    doc2 = csv_doc(sub, hdr + rows)
    sc2 = load_scenario(write(sub, doc2))
    np.testing.assert_array_equal(sc2.regions.shares, np.full((3, 4), 0.25))


def test_check_prints_one_line_ok(tmp_path):
    res = check_cli(write(tmp_path, base_doc()))
    assert res.exit_code == 0, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("OK ") and "3 regions" in lines[0]
    assert "'tiny'" in lines[0] and "policy gradient" in lines[0]
    res = CliRunner().invoke(main, ["scenario", "check", str(files("gsim").joinpath("data", "default.toml"))])
    assert res.exit_code == 0 and "31 regions" in res.output


# ----------------------------------------------------------------------------------------
# overrides
# ----------------------------------------------------------------------------------------
def test_replace_run_and_with_overrides():
    sc = load_scenario()
    sc2 = replace_run(sc, dt=0.25, method="rk4", policy="gradient", t1=2030)
    assert sc2.run == RunSettings(2023.0, 2030.0, 0.25, 1.0, 1.0, "rk4", "gradient")
    assert sc.run == RunSettings()  # original untouched
    assert replace_run(sc) == sc  # nothing replaced
    assert sc2.source == sc.source
    with pytest.raises(ScenarioError, match=r"^<default>: run\.dt: .*does not divide"):
        replace_run(sc, dt=0.3)
    with pytest.raises(ScenarioError, match=r"^<default>: run\.method: unknown method 'rk45'"):
        replace_run(sc, method="rk45")
    with pytest.raises(ScenarioError, match=r"^<default>: run\.policy: unknown policy 'foo'"):
        replace_run(sc, policy="foo")
    with pytest.raises(ScenarioError, match=r"run\.t1: must be greater than t0"):
        replace_run(sc, t1=2000)
    sc3 = sc.with_overrides(tau_T=3.0, alpha=[0.3, 0.5, 0.5, 0.45], nearest=5,
                            policies={"gradient": {"aid": 0.2}})
    assert sc3.params["tau_T"] == 3.0 and sc3.tier_params["alpha"][3] == 0.45 and sc3.nearest == 5
    assert sc3.policy_params["gradient"]["aid"] == 0.2
    assert sc3.policy_params["gradient"]["readiness"] == 0.52
    assert sc3.with_overrides(pairs="all").nearest is None
    with pytest.raises(ScenarioError, match=r"params\.tau_T: must be > 0"):
        sc.with_overrides(tau_T=0.0)
    with pytest.raises(ScenarioError, match=r"bogus: unknown override"):
        sc.with_overrides(bogus=1)


# ----------------------------------------------------------------------------------------
# the policy registry
# ----------------------------------------------------------------------------------------
def test_policies_come_from_the_registry(tmp_path):
    with with_policy("quota", {"cap": 0.5, "steps": 3, "label": "q", "on": True}):
        _policies_come_from_the_registry(tmp_path)


def _policies_come_from_the_registry(tmp_path):
    doc = base_doc()
    doc["run"]["policy"] = "quota"
    doc["policies"]["quota"] = {"cap": 1, "steps": 4}
    sc = load_scenario(write(tmp_path, doc))
    assert sc.policy_params["quota"] == {"cap": 1.0, "steps": 4, "label": "q", "on": True}
    doc["policies"]["quota"] = {"steps": 2.5}
    with pytest.raises(ScenarioError, match=r"policies\.quota\.steps: expected an integer"):
        load_scenario(write(tmp_path, doc))
    doc["policies"]["quota"] = {"on": 1}
    with pytest.raises(ScenarioError, match=r"policies\.quota\.on: expected a boolean"):
        load_scenario(write(tmp_path, doc))


def test_real_registry_knows_the_builtins():
    """Integration with gsim.plugins as it is (built-ins only, no entry points)."""
    from gsim.scenario import known_policy_defaults

    real = known_policy_defaults()
    for name, params in BUILTIN_POLICY_DEFAULTS.items():
        assert real[name] == params, name


def test_plugin_policies_are_resolved_only_when_configured(tmp_path):
    """Installing a plugin policy must not change scenarios that do not use it."""
    before = load_scenario(write(tmp_path, base_doc()))
    with with_policy("quota", {"cap": 0.5}):
        after = load_scenario(write(tmp_path, base_doc()))
    assert set(after.policy_params) == set(BUILTIN_POLICY_DEFAULTS)
    assert scenario_hash(after) == scenario_hash(before)


# ----------------------------------------------------------------------------------------
# validation errors: each through the CLI (exit 2, one line naming the field) and the API
# ----------------------------------------------------------------------------------------
def _set(path: str, value):
    """A mutation of base_doc(): set a dotted path (list indexes as integers)."""

    def f(doc):
        keys = [int(k) if k.isdigit() else k for k in path.split(".")]
        d = doc
        for k in keys[:-1]:
            d = d[k]
        d[keys[-1]] = value

    return f


def _del(path: str):
    def f(doc):
        keys = [int(k) if k.isdigit() else k for k in path.split(".")]
        d = doc
        for k in keys[:-1]:
            d = d[k]
        del d[keys[-1]]

    return f


def _seq(*fs):
    def f(doc):
        for g in fs:
            g(doc)

    return f


NAN, INF = float("nan"), float("inf")
THREE_TIERS = {"low": 0.3, "mid": 0.3, "high": 0.4}

CASES = {
    # unknown keys, at every level
    "unknown_top": (_set("scenaro", {"name": "x"}), "scenaro", "unknown key (did you mean 'scenario'?)"),
    "unknown_scenario": (_set("scenario.tier", ["labor"]), "scenario.tier", "unknown key"),
    "unknown_param": (_set("params.delt", 0.1), "params.delt", "unknown key (did you mean 'delta'?)"),
    "unknown_tier_param_key": (_set("params.alpha.labour", 0.3), "params.alpha.labour", "unknown key"),
    "unknown_run": (_set("run.dtt", 0.1), "run.dtt", "unknown key (did you mean 'dt'?)"),
    "unknown_region_key": (_set("regions.1.gdpp", 1.0), "regions[B].gdpp", "unknown key"),
    "unknown_policy_key": (_set("policies.gradient.ratio", 1.2), "policies.gradient.ratio", "unknown key"),
    "unknown_policy_table": (_set("policies.lottery", {}), "policies.lottery", "unknown policy"),
    "unknown_pairs_key": (_set("scenario.pairs", {"k": 1}), "scenario.pairs.k", "unknown key"),
    "unknown_shares_key": (_set("shares.Nowhere", [0.25] * 4), "shares.Nowhere", "unknown key"),
    # wrong types
    "type_dt": (_set("run.dt", "0.1"), "run.dt", "expected a number, got a string '0.1'"),
    "type_bool_param": (_set("params.beta", True), "params.beta", "expected a number, got a boolean"),
    "type_tier_param": (_set("params.alpha", 0.3), "params.alpha", "expected a table"),
    "type_tiers": (_set("scenario.tiers", "labor"), "scenario.tiers", "expected an array of tier names"),
    "type_method": (_set("run.method", 4), "run.method", "expected a string"),
    "type_name": (_set("scenario.name", 1), "scenario.name", "expected a string"),
    "type_region_lat": (_set("regions.0.lat", "north"), "regions[A].lat", "expected a number"),
    "type_policy_float": (_set("policies.gradient.aid", "lots"), "policies.gradient.aid", "expected a number"),
    "type_policy_list": (_set("policies.subsidy_race", {"tiers": "labor"}), "policies.subsidy_race.tiers",
                         "expected an array"),
    "type_run_table": (_set("run", 3), "run", "expected a table"),
    "type_nearest": (_set("scenario.pairs", {"nearest": 2.5}), "scenario.pairs.nearest", "expected an integer"),
    "type_pairs": (_set("scenario.pairs", "some"), "scenario.pairs", "expected \"all\" or { nearest = k }"),
    # missing and duplicate regions
    "missing_regions": (_del("regions"), "regions", "missing"),
    "missing_region_name": (_del("regions.1.name"), "regions[1].name", "missing region name"),
    "missing_region_gdp": (_del("regions.1.gdp"), "regions[B].gdp", "missing"),
    "missing_region_shares": (_set("regions.1.macro_region", "North"), "regions[B].shares", "missing: no tier shares"),
    "empty_region_name": (_set("regions.1.name", " "), "regions[1].name", "must not be empty"),
    "duplicate_region": (_set("regions.1.name", "A"), "regions[A].name", "duplicate region 'A'"),
    "one_region": (_set("regions", [base_doc()["regions"][0]]), "regions", "need at least 2 regions, got 1"),
    "both_region_sources": (_set("scenario.regions", "r.csv"), "regions", "given both inline"),
    # NaN / inf / negative / zero
    "nan_tau_T": (_set("params.tau_T", NAN), "params.tau_T", "must be a finite number, got nan"),
    "inf_delta": (_set("params.delta", INF), "params.delta", "must be a finite number, got inf"),
    "zero_tau_T": (_set("params.tau_T", 0.0), "params.tau_T", "must be > 0, got 0.0"),
    "zero_G0": (_set("params.G0", 0), "params.G0", "must be > 0, got 0"),
    "negative_K_eps": (_set("params.K_eps", -1e-6), "params.K_eps", "must be > 0"),
    "negative_c_m": (_set("params.c_m", -0.1), "params.c_m", "must be >= 0, got -0.1"),
    "negative_omega": (_set("params.omega", {"labor": 0, "resource": 0, "capital": 0.5, "technology": -1}),
                       "params.omega.technology", "must be >= 0"),
    "alpha_one": (_set("params.alpha.labor", 1.0), "params.alpha.labor", "must be in (0, 1), got 1.0"),
    "u_star_zero": (_set("params.u_star", 0.0), "params.u_star", "must be in (0, 1]"),
    "e_star_big": (_set("params.e_star", 1.2), "params.e_star", "must be in (0, 1]"),
    "u_star_calibration": (_set("params.u0", 0.5), "params.u_star", "calibration needs"),
    "zero_dt": (_set("run.dt", 0.0), "run.dt", "must be > 0"),
    "negative_save_every": (_set("run.save_every", -1.0), "run.save_every", "must be > 0"),
    "zero_policy_period": (_set("run.policy_period", 0), "run.policy_period", "must be > 0"),
    "negative_gdp": (_set("regions.0.gdp", -5.0), "regions[A].gdp", "must be > 0, got -5.0"),
    "zero_population": (_set("regions.0.population", 0.0), "regions[A].population", "must be > 0"),
    "nan_schooling": (_set("regions.2.schooling", NAN), "regions[C].schooling", "must be a finite number"),
    "negative_policy_rate": (_set("policies.subsidy_race", {"rate": -0.1}), "policies.subsidy_race.rate", "must be >= 0"),
    "nan_policy_aid": (_set("policies.gradient.aid", NAN), "policies.gradient.aid", "finite"),
    # shares
    "shares_sum": (_set("shares.East", [0.5, 0.4, 0.1, 0.1]), "shares.East", "tier shares sum to 1.1, not 1"),
    "shares_sum_region": (_set("regions.2.shares", [0.4, 0.3, 0.2, 0.2]), "regions[C].shares", "sum to 1.1"),
    "shares_negative": (_set("shares.East", [-0.5, 0.5, 0.5, 0.5]), "shares.East[0]", "must be in (0, 1]"),
    "shares_length": (_set("shares.East", [0.5, 0.5]), "shares.East", "expected 4 shares"),
    "shares_missing_tier": (_set("regions.2.shares", {"labor": 1.0}), "regions[C].shares", "missing tier 'resource'"),
    # coordinates
    "lat_range": (_set("regions.0.lat", 95.0), "regions[A].lat", "must be in [-90, 90], got 95.0"),
    "lon_range": (_set("regions.1.lon", -190.0), "regions[B].lon", "must be in [-180, 180], got -190.0"),
    # policy and method
    "unknown_run_policy": (_set("run.policy", "lottery"), "run.policy",
                           "unknown policy 'lottery' (known: gradient, market, none, subsidy_race)"),
    "unknown_method": (_set("run.method", "rk45"), "run.method", "unknown method 'rk45' (known: euler, rk4)"),
    "policy_unknown_tier": (_set("policies.subsidy_race", {"tiers": ["labor", "services"]}),
                            "policies.subsidy_race.tiers", "unknown tier 'services'"),
    # time grid
    "dt_horizon": (_seq(_set("run.t1", 2024), _set("run.dt", 0.3), _set("run.save_every", 0.9),
                        _set("run.policy_period", 0.9)), "run.dt", "does not divide the horizon t1 - t0 = 1"),
    "dt_save": (_set("run.save_every", 0.3), "run.dt", "does not divide save_every = 0.3"),
    "dt_policy": (_set("run.policy_period", 0.2), "run.dt", "does not divide policy_period = 0.2"),
    "t1_le_t0": (_set("run.t1", 2023), "run.t1", "must be greater than t0 = 2023, got 2023"),
    "t1_lt_t0": (_set("run.t1", 2000.0), "run.t1", "must be greater than t0"),
    # pairs
    "nearest_zero": (_set("scenario.pairs", {"nearest": 0}), "scenario.pairs.nearest", "must be in 1..2"),
    "nearest_too_big": (_set("scenario.pairs", {"nearest": 3}), "scenario.pairs.nearest",
                        "must be in 1..2 (R - 1 for 3 regions), got 3"),
    # tiers
    "tiers_empty": (_set("scenario.tiers", []), "scenario.tiers", "must name at least one tier"),
    "tiers_duplicate": (_set("scenario.tiers", ["labor", "labor"]), "scenario.tiers", "duplicate tier 'labor'"),
    "tier_param_missing_tier": (_del("params.alpha.technology"), "params.alpha", "missing tier 'technology'"),
    "custom_tiers_no_param": (_seq(_set("scenario.tiers", ["low", "mid", "high"]), _set("params.alpha", THREE_TIERS)),
                              "params.theta", "missing tier 'low'"),
}


def _one_line_error(res) -> str:
    assert res.exit_code == 2, res.output
    assert isinstance(res.exception, SystemExit)
    assert "Traceback" not in res.output
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1, res.output
    return lines[0]


@pytest.mark.parametrize("case", sorted(CASES))
def test_validation_error_cli_and_api(tmp_path, case):
    mutate, fld, what = CASES[case]
    doc = base_doc()
    mutate(doc)
    path = write(tmp_path, doc)
    line = _one_line_error(check_cli(path))
    assert line == f"Error: {path}: {fld}: " + line.split(f"{path}: {fld}: ", 1)[1]
    assert what in line, line
    with pytest.raises(ScenarioError) as ei:
        load_scenario(path)
    msg = str(ei.value)
    assert msg.startswith(f"{path}: {fld}: ") and what in msg and "\n" not in msg
    assert ei.value.field == fld  # type: ignore[attr-defined]


CSV_CASES = {
    "csv_duplicate_region": (CSV_HEADER + CSV_ROWS + "A,x,East,1,1,1,1,1\n", "regions[A].name", "duplicate region 'A'"),
    "csv_missing_column": (CSV_HEADER.replace(",population_m", "") + "A,甲,East,30,110,100,9\nB,乙,West,35,115,50,8.5\n",
                           "population_m", "missing column"),
    "csv_missing_value": (CSV_HEADER + CSV_ROWS.replace("A,甲,East,30,110,100", "A,甲,East,30,110,"),
                          "regions[A].gdp (gdp_bn_cny)", "missing value"),
    "csv_missing_name": (CSV_HEADER + CSV_ROWS + ",x,East,1,1,1,1,1\n", "line 5: region", "missing region name"),
    "csv_not_a_number": (CSV_HEADER + CSV_ROWS.replace("30,110", "thirty,110"), "regions[A].lat (lat)", "expected a number"),
    "csv_lat": (CSV_HEADER + CSV_ROWS.replace("30,110", "-91,110"), "regions[A].lat (lat)", "must be in [-90, 90]"),
    "csv_lon": (CSV_HEADER + CSV_ROWS.replace("30,110", "30,181"), "regions[A].lon (lon)", "must be in [-180, 180]"),
    "csv_negative_population": (CSV_HEADER + CSV_ROWS.replace("50,8,8.5", "50,-8,8.5"),
                                "regions[B].population (population_m)", "must be > 0"),
    "csv_nan_schooling": (CSV_HEADER + CSV_ROWS.replace("20,5,7", "20,5,nan"),
                          "regions[C].schooling (schooling_years)", "must be a finite number"),
    "csv_share_sum": (CSV_HEADER.strip() + ",share_labor,share_resource,share_capital,share_technology\n"
                      + "".join(r + ",0.3,0.3,0.3,0.3\n" for r in CSV_ROWS.strip().split("\n")),
                      "regions[A].shares", "sum to 1.2"),
    "csv_share_unknown_tier": (CSV_HEADER.strip() + ",share_labour\n"
                               + "".join(r + ",0.3\n" for r in CSV_ROWS.strip().split("\n")),
                               "share_labour", "unknown tier 'labour'"),
}


@pytest.mark.parametrize("case", sorted(CSV_CASES))
def test_validation_error_csv(tmp_path, case):
    text, fld, what = CSV_CASES[case]
    path = write(tmp_path, csv_doc(tmp_path, text))
    csv_path = tmp_path / "regions.csv"
    line = _one_line_error(check_cli(path))
    assert f"Error: {csv_path}: {fld}: " in line and what in line, line
    with pytest.raises(ScenarioError, match=r"^" + r"\S+regions\.csv: "):
        load_scenario(path)


def test_missing_csv_file_and_bad_toml_and_missing_file(tmp_path):
    doc = csv_doc(tmp_path, CSV_HEADER + CSV_ROWS)
    doc["scenario"]["regions"] = "nowhere.csv"
    path = write(tmp_path, doc)
    line = _one_line_error(check_cli(path))
    assert f"{path}: scenario.regions: regions file not found" in line
    with pytest.raises(ScenarioError, match="scenario.regions: regions file not found"):
        load_scenario(path)

    bad = write(tmp_path, "[run]\ndt = = 1\n", "bad.toml")
    line = _one_line_error(check_cli(bad))
    assert f"{bad}: toml: invalid TOML" in line and "line 2" in line
    with pytest.raises(ScenarioError, match=r"toml: invalid TOML"):
        load_scenario(bad)

    gone = tmp_path / "gone.toml"
    line = _one_line_error(check_cli(gone))
    assert line == f"Error: {gone}: file: not found"
    res = CliRunner().invoke(main, ["scenario", "show", str(gone)])
    assert _one_line_error(res) == f"Error: {gone}: file: not found"
    with pytest.raises(ScenarioError, match="file: not found"):
        load_scenario(gone)


# ----------------------------------------------------------------------------------------
# docs/scenario.md stays in step with the code
# ----------------------------------------------------------------------------------------
DOC = Path(__file__).resolve().parents[1] / "docs" / "scenario.md"


def _blocks(text: str, lang: str) -> list[str]:
    parts = text.split(f"```{lang}\n")[1:]
    return [p.split("```", 1)[0] for p in parts]


def test_docs_example_loads_and_lists_every_parameter(tmp_path):
    text = DOC.read_text(encoding="utf-8")
    for k in PARAM_BOUNDS:
        assert f"| `{k}` |" in text, k
    example = text.split("### Complete example", 1)[1]
    (tmp_path / "regions.csv").write_text(_blocks(example, "csv")[0], encoding="utf-8")
    sc = load_scenario(write(tmp_path, _blocks(example, "toml")[0], "east-west.toml"))
    assert sc.name == "east-west" and len(sc.regions) == 3 and sc.nearest == 2
    np.testing.assert_array_equal(sc.regions.shares[1], [0.30, 0.20, 0.35, 0.15])  # by name
    np.testing.assert_array_equal(sc.regions.shares[2], [0.25, 0.35, 0.30, 0.10])  # by macro
    assert sc.run == RunSettings(2023.0, 2040.0, 0.0625, 0.5, 1.0, "rk4", "gradient")
    assert sc.policy_params["subsidy_race"]["tiers"] == ["labor"]
    assert sc.policy_params["gradient"]["readiness"] == 0.6 and sc.sweep == {}
    # the inline-region snippet is valid too
    snippet = _blocks(text.split("### Regions", 1)[1], "toml")[0]
    two = snippet + snippet.replace('"Beijing"', '"Beijing2"')
    sc2 = load_scenario(write(tmp_path, two, "inline.toml"))
    assert sc2.regions.name == ("Beijing", "Beijing2") and sc2.regions.gdp[1] == 4376.07
