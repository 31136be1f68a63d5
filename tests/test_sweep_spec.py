"""Sweep specification, samplers and seeding (no model runs: fast)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from click.testing import CliRunner
from scipy import stats

from gsim.scenario import load_scenario
from gsim.sweeps.sampling import full_design, sampled_values, unit_rows
from gsim.sweeps.spec import SweepSpecError, parse_spec, ppf

SC = load_scenario()


def with_sweep(table: dict):
    return dataclasses.replace(SC, sweep=table)


def spec_of(table: dict, **over):
    return parse_spec(with_sweep(table), over)


UNC = {
    "kappa": {"dist": "uniform", "low": 1.0, "high": 4.0},
    "lambda_T": {"dist": "triangular", "low": 0.005, "mode": 0.02, "high": 0.05},
    "sigma": {"dist": "truncnorm", "mean": 0.4, "sd": 0.04, "low": 0.3, "high": 0.5},
    "theta.labor": {"dist": "uniform", "low": 0.2, "high": 0.4},
}


# --- the embedded default -------------------------------------------------------------
def test_default_scenario_has_a_valid_sweep_with_the_required_uncertainties():
    spec = parse_spec(SC)
    targets = {u.target for u in spec.uncertain}
    assert {"kappa", "lambda_T", "ell_F", "ell_R", "beta", "phi_p", "phi_w", "sigma", "nu0",
            "mu", "c_d"} <= targets
    assert spec.sampler == "lhs" and spec.policies == ("none", "market", "subsidy_race", "gradient")
    assert spec.n_runs == spec.samples * spec.replicates * 4


# --- samplers ------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [7, 64, 250])
def test_lhs_puts_one_point_in_every_stratum_of_every_dimension(n):
    spec = spec_of({"uncertain": UNC, "sampler": "lhs"}, samples=n)
    u = full_design(spec)
    assert u.shape == (n, 4)
    for j in range(u.shape[1]):
        strata = np.floor(u[:, j] * n).astype(int)
        assert sorted(strata) == list(range(n))


def test_mc_is_not_stratified_but_uniform():
    spec = spec_of({"uncertain": UNC, "sampler": "mc"}, samples=256)
    u = full_design(spec)
    strata = np.floor(u[:, 0] * 256).astype(int)
    assert len(set(strata)) < 256  # plain MC leaves strata empty (LHS would not)
    assert stats.kstest(u[:, 0], "uniform").pvalue > 1e-3


@pytest.mark.parametrize("m", [3, 6])
def test_sobol_is_balanced_in_dyadic_intervals(m):
    n = 2**m
    spec = spec_of({"uncertain": UNC, "sampler": "sobol"}, samples=n)
    u = full_design(spec)
    for j in range(u.shape[1]):
        for k in (1, m):  # halves, and intervals of width 1/n: one point each
            counts = np.bincount(np.floor(u[:, j] * 2**k).astype(int), minlength=2**k)
            assert (counts == n // 2**k).all()


def test_sobol_needs_a_power_of_two():
    with pytest.raises(SweepSpecError, match=r"sweep.samples: sobol needs a power of two, got 100 \(use 64 or 128\)"):
        spec_of({"uncertain": UNC, "sampler": "sobol"}, samples=100)


@pytest.mark.parametrize("sampler,n", [("mc", 20), ("lhs", 20), ("sobol", 32)])
def test_sample_rows_depend_only_on_the_sample_id(sampler, n):
    spec = spec_of({"uncertain": UNC, "sampler": sampler}, samples=n)
    full = full_design(spec)
    ids = np.array([13, 2, 7, 7, 19])
    np.testing.assert_array_equal(unit_rows(spec, ids), full[ids])
    np.testing.assert_array_equal(unit_rows(spec, np.arange(5, 9)), full[5:9])
    # another seed: another design
    other = spec_of({"uncertain": UNC, "sampler": sampler}, samples=n, seed=spec.seed + 1)
    assert not np.array_equal(full_design(other), full)


def test_sampled_values_stay_in_their_ranges():
    spec = spec_of({"uncertain": UNC, "sampler": "lhs"}, samples=500)
    ids = np.arange(500)
    v = sampled_values(spec, 31, ids, np.zeros(500, int))
    assert 1.0 <= v["kappa"].min() and v["kappa"].max() <= 4.0
    assert 0.005 <= v["lambda_T"].min() and v["lambda_T"].max() <= 0.05
    assert 0.3 <= v["sigma"].min() and v["sigma"].max() <= 0.5
    # LHS maps strata through the ppf: the sample follows the triangular law closely
    tri = stats.triang((0.02 - 0.005) / 0.045, loc=0.005, scale=0.045)
    assert stats.kstest(v["lambda_T"], tri.cdf).statistic < 1.5 / 500
    assert stats.kstest(v["lambda_T"], "uniform", args=(0.005, 0.045)).pvalue < 1e-6
    assert abs(np.median(v["sigma"]) - 0.4) < 0.005


def test_distribution_ppfs():
    u = np.array([0.0, 0.1, 0.5, 0.9, 0.999999])
    np.testing.assert_allclose(ppf("uniform", {"low": 2, "high": 4}, u), 2 + 2 * u)
    assert ppf("lognormal", {"median": 3.0, "sigma": 0.2}, np.array([0.5]))[0] == pytest.approx(3.0)
    assert ppf("normal", {"mean": 1.0, "sd": 2.0}, np.array([0.5]))[0] == pytest.approx(1.0)
    tri = ppf("triangular", {"low": 0, "mode": 1, "high": 3}, np.array([1 / 3]))[0]
    assert tri == pytest.approx(1.0)
    vals = ppf("choice", {"values": [1.0, 5.0, 9.0], "weights": [1, 2, 1]}, u)
    np.testing.assert_array_equal(vals, [1.0, 1.0, 5.0, 9.0, 9.0])


def test_replicates_share_the_design_and_redraw_run_scope_inputs():
    unc = dict(UNC)
    unc["mu"] = {"dist": "uniform", "low": 0.01, "high": 0.05, "scope": "run"}
    unc["region.gdp"] = {"dist": "lognormal", "median": 1.0, "sigma": 0.05, "per_region": True}
    unc["region.schooling"] = {"dist": "uniform", "low": 0.9, "high": 1.1, "per_region": True,
                               "scope": "run"}
    spec = spec_of({"uncertain": unc, "sampler": "lhs", "replicates": 3}, samples=10)
    s = np.array([4, 4, 4, 5])
    r = np.array([0, 1, 2, 0])
    v = sampled_values(spec, 31, s, r)
    assert v["kappa"][0] == v["kappa"][1] == v["kappa"][2] != v["kappa"][3]
    np.testing.assert_array_equal(v["region.gdp"][0], v["region.gdp"][2])  # sample scope
    assert v["region.gdp"].shape == (4, 31)
    assert len({v["mu"][0], v["mu"][1], v["mu"][2]}) == 3  # run scope: per replicate
    assert not np.array_equal(v["region.schooling"][0], v["region.schooling"][1])
    # each run's values depend only on (seed, sample, replicate): any subset agrees
    v2 = sampled_values(spec, 31, s[[3, 1]], r[[3, 1]])
    for k in v:
        np.testing.assert_array_equal(v2[k], v[k][[3, 1]])


def test_config_hash_tracks_results_not_layout():
    from gsim.sweeps.engine import make_plan

    base = {"uncertain": UNC}
    h = make_plan(with_sweep(base), spec_of(base, samples=10)).config_hash
    assert make_plan(with_sweep(base), spec_of(base, samples=10, block_size=3)).config_hash == h
    assert make_plan(with_sweep(base), spec_of(base, samples=11)).config_hash != h
    assert make_plan(with_sweep(base), spec_of(base, samples=10, seed=1)).config_hash != h
    assert make_plan(with_sweep(base), spec_of(base, samples=10, t1=2030)).config_hash != h


# --- bad specifications ------------------------------------------------------------------
BAD = [
    ({"samplez": 3}, "sweep.samplez: unknown key (did you mean 'samples'?)"),
    ({"samples": 0}, "sweep.samples: must be >= 1, got 0"),
    ({"samples": 2.5}, "sweep.samples: expected an integer"),
    ({"sampler": "halton"}, "sweep.sampler: must be one of mc, lhs, sobol, saltelli, got 'halton'"),
    ({"policies": ["market", "nope"]}, "sweep.policies: unknown policy 'nope'"),
    ({"policies": []}, "sweep.policies: expected a non-empty list"),
    ({"save": "all"}, "sweep.save: must be one of indicators, regions, full"),
    ({"uncertain": {"kapa": {"dist": "uniform", "low": 1, "high": 2}}},
     "sweep.uncertain.kapa: unknown parameter 'kapa' (did you mean 'kappa'?)"),
    ({"uncertain": {"kappa": {"dist": "beta", "low": 1, "high": 2}}},
     "sweep.uncertain.kappa.dist: must be one of uniform, normal, truncnorm, lognormal, triangular, choice"),
    ({"uncertain": {"kappa": {"dist": "uniform", "low": 1}}},
     "sweep.uncertain.kappa.high: missing (dist uniform needs low, high)"),
    ({"uncertain": {"kappa": {"dist": "uniform", "low": 3, "high": 2}}},
     "sweep.uncertain.kappa: low must be < high"),
    ({"uncertain": {"kappa": {"dist": "uniform", "low": -1, "high": 2}}},
     "sweep.uncertain.kappa: kappa must be > 0, but uniform reaches -1"),
    ({"uncertain": {"ell_F": {"dist": "uniform", "low": 0.1, "high": 1.5}}},
     "sweep.uncertain.ell_F: ell_F must be in [0, 1], but uniform reaches 1.5"),
    ({"uncertain": {"kappa": {"dist": "normal", "mean": 1, "sd": 0}}},
     "sweep.uncertain.kappa.sd: must be > 0"),
    ({"uncertain": {"theta.metal": {"dist": "uniform", "low": 0.1, "high": 0.2}}},
     "sweep.uncertain.theta.metal: unknown tier 'metal'"),
    ({"uncertain": {"kappa.labor": {"dist": "uniform", "low": 1, "high": 2}}},
     "sweep.uncertain.kappa.labor: kappa is a scalar parameter, it has no tiers"),
    ({"uncertain": {"region.area": {"dist": "uniform", "low": 0.9, "high": 1.1}}},
     "sweep.uncertain.region.area: unknown region column 'area'"),
    ({"uncertain": {"region.gdp": {"dist": "normal", "mean": 1, "sd": 0.1}}},
     "sweep.uncertain.region.gdp: a factor on region data must be > 0"),
    ({"uncertain": {"kappa": {"dist": "uniform", "low": 1, "high": 2, "per_region": True}}},
     "sweep.uncertain.kappa.per_region: only region data columns"),
    ({"uncertain": {"kappa": {"dist": "choice", "values": [1, 2], "weights": [1]}}},
     "sweep.uncertain.kappa.weights: expected 2 weights, one per value"),
    ({"uncertain": {"kappa": {"dist": "triangular", "low": 1, "mode": 5, "high": 2}}},
     "sweep.uncertain.kappa.mode: must be within [low, high]"),
    ({"uncertain": {"kappa": {"dist": "uniform", "low": 1, "high": 2, "scope": "block"}}},
     "sweep.uncertain.kappa.scope: must be one of sample, run"),
    ({"uncertain": {"kappa": 3}}, "sweep.uncertain.kappa: expected a table"),
]


@pytest.mark.parametrize("table,message", BAD, ids=[m.split(":")[1].strip() + str(i) for i, (_, m) in enumerate(BAD)])
def test_bad_specifications_give_one_line_errors(table, message):
    with pytest.raises(SweepSpecError) as e:
        parse_spec(with_sweep(table))
    text = str(e.value)
    assert "\n" not in text
    assert text.startswith("<default>: ")
    assert message in text


def test_bad_specification_via_cli_exits_2_with_one_line(tmp_path):
    from gsim.cli import main
    from gsim.scenario import scenario_to_toml

    text = scenario_to_toml(SC).split("\n[sweep]")[0]
    f = tmp_path / "bad.toml"
    f.write_text(text + '\n[sweep]\nsamples = 8\n[sweep.uncertain]\nkappa = { dist = "uniform", low = 2, high = 1 }\n')
    res = CliRunner().invoke(main, ["sweep", str(f), "-o", str(tmp_path / "s.zarr")])
    assert res.exit_code == 2, res.output
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert lines == [f"Error: {f}: sweep.uncertain.kappa: low must be < high, got low = 2, high = 1"]
    assert not (tmp_path / "s.zarr").exists()
    for args, msg in [
        (["--sampler", "sobol", "-n", "10"], "sobol needs a power of two"),
        (["--policies", "market,bogus", "-n", "4"], "unknown policy 'bogus'"),
        (["-n", "4", "-j", "0"], "-j/--workers must be >= 1"),
        (["-n", "4", "--scheduler", "tcp://x:1", "--dask-workers", "2"], "not both"),
    ]:
        res = CliRunner().invoke(main, ["sweep", "-o", str(tmp_path / "t.zarr"), *args])
        assert res.exit_code == 2 and msg in res.output, res.output
        assert len(res.output.strip().splitlines()) == 1


def test_public_api_and_env_fallback(monkeypatch):
    import gsim
    from gsim import sweeps
    from gsim.sweeps.engine import resolve_workers

    assert gsim.sweep is sweeps.sweep and gsim.open_sweep is sweeps.open_sweep
    monkeypatch.setenv("GSIM_WORKERS", "3")  # read at call time, not import time
    assert resolve_workers(None) == 3 and resolve_workers(1) == 1
    monkeypatch.setenv("GSIM_WORKERS", "lots")
    with pytest.raises(ValueError, match="GSIM_WORKERS must be a positive integer"):
        resolve_workers(None)
