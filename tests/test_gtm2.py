"""GTM-2 against its NumPy twin, and GTM-1 unchanged: the selectable reference model gives
bit-identical outputs to the ones recorded before GTM-2 existed (tests/data/gtm1_digest.json,
every `gsim.simulate` array of the default scenario, 4 policies x 2 integrators)."""

from __future__ import annotations

import hashlib
import json
from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest
import twin

import gsim
from gsim.params import GTM2_DEFAULTS, GTM2_ONLY, SCALAR_DEFAULTS
from gsim.scenario import ScenarioError, loads_scenario

DIGEST = json.loads((Path(__file__).parent / "data" / "gtm1_digest.json").read_text())


@pytest.mark.parametrize("method", ["euler", "rk4"])
@pytest.mark.parametrize("policy", ["none", "market", "subsidy_race", "gradient"])
def test_gtm1_bit_identical_to_recorded(policy, method):
    sc = gsim.load_scenario().with_overrides(model="gtm1")
    ds = gsim.simulate(sc, policy=policy, method=method)
    recorded = {k.split("/")[2]: v for k, v in DIGEST.items() if k.startswith(f"{policy}/{method}/")}
    assert recorded
    for name, digest in recorded.items():
        got = hashlib.sha256(np.ascontiguousarray(ds[name].values).tobytes()).hexdigest()
        assert got == digest, name


def test_gtm1_scenario_has_neutral_mechanisms():
    sc = gsim.load_scenario().with_overrides(model="gtm1")
    assert sc.model == "gtm1"
    assert sc.params == SCALAR_DEFAULTS  # the specification's values, GTM-2's mechanisms off
    assert not any(f"{k} =" in sc.toml for k in GTM2_ONLY) and 'model = "gtm1"' in sc.toml
    gtm2 = gsim.load_scenario()
    assert gtm2.model == "gtm2" and {k: gtm2.params[k] for k in GTM2_DEFAULTS} == GTM2_DEFAULTS
    # back again; a value the user chose (not at a model default) stays through both switches
    assert sc.with_overrides(model="gtm2").params == gtm2.params
    assert not set(sc.sweep["uncertain"]) & GTM2_ONLY  # nor does GTM-1 sample them
    custom = gtm2.with_overrides(g0=0.02).with_overrides(model="gtm1")
    assert custom.params["g0"] == 0.02 and custom.params["u_star"] == SCALAR_DEFAULTS["u_star"]


def test_gtm1_refuses_gtm2_parameters(tmp_path):
    text = gsim.load_scenario().with_overrides(model="gtm1").toml.replace(
        "[params]\n", "[params]\nworld_frontier = 0.5\n", 1)
    with pytest.raises(ScenarioError, match="params.world_frontier: a GTM-2 parameter"):
        loads_scenario(text)


def test_unknown_model_is_one_line_error():
    text = gsim.load_scenario().toml.replace('model = "gtm2"', 'model = "gtm3"')
    with pytest.raises(ScenarioError, match=r"scenario.model: unknown model 'gtm3' \(known: gtm1, gtm2\)"):
        loads_scenario(text)


@pytest.mark.parametrize("method", ["euler", "rk4"])
@pytest.mark.parametrize("policy", ["market", "gradient"])
def test_gtm2_matches_twin(policy, method):
    sc = gsim.load_scenario().with_overrides(t1=2035.0, pop_growth=-0.01, frontier_gap=2.0, world_frontier=0.7,
                                             invest_maturity=0.8, province_paths=0.6, spatial_equilibrium=0.5,
                                             catchup_schooling=1.5, national_catchup=0.6,
                                             population_path="SSP3")
    assert np.abs(sc.pop_trend).max() > 0.005  # the provinces' own paths are in play
    ds = gsim.simulate(sc, policy=policy, method=method)
    ref = twin.simulate_twin(sc, policy=policy, method=method)
    for name in twin.OUTPUTS:
        a, b = ds[name].values, ref[name]
        scale = np.max(np.abs(b))
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9 * scale + 1e-300, err_msg=name)


def test_gtm2_frontier_grows_at_g0_and_labour_force_follows_population():
    sc = gsim.load_scenario().with_overrides(t1=2033.0, method="rk4", mu=0.0)
    ds = gsim.simulate(sc, policy="none")
    years = ds.time.values - ds.time.values[0]
    F = ds.frontier.values
    growth = np.exp(sc.params["g0"] * years)[:, None] * np.ones(F.shape[1])
    np.testing.assert_allclose(F / F[0], growth, rtol=1e-9)
    Lf = ds.labor_force.values  # no migration: each province grows at n + n_P + d_r
    rate = sc.params["n"] + sc.params["pop_growth"] + sc.pop_trend
    assert np.ptp(sc.pop_trend) > 0.01
    np.testing.assert_allclose(Lf / Lf[0], np.exp(np.outer(years, rate)), rtol=1e-9)


def test_gtm2_defaults_come_from_the_shipped_data():
    """GTM-2's data-based defaults, recomputed from the observed series they cite (rounded
    as stated in docs/model.md)."""
    from gsim.observed import load_national, load_panel, load_ssp

    nat, pop = load_national(), load_panel().population.sum("region")
    growth = lambda x, a, b: float(np.log(x.sel(year=b) / x.sel(year=a))) / (b - a)  # noqa: E731
    # labour force growth beyond population growth, 2013-2023
    assert GTM2_DEFAULTS["n"] == round(growth(nat.labour_force, 2013, 2023) - growth(pop, 2013, 2023), 4)
    # SSP2 national population growth 2020-2050
    ssp2 = load_ssp().population.sel(ssp="SSP2").sum("region")
    assert GTM2_DEFAULTS["pop_growth"] == round(growth(ssp2, 2020, 2050), 4)
    # the investment share's elasticity to real GDP, 2011-2023 (least squares in logs)
    s = nat.sel(year=slice(2011, 2023))
    slope = np.polyfit(np.log(s.real_gdp.values), np.log(s.investment_share.values), 1)[0]
    assert GTM2_DEFAULTS["invest_maturity"] == round(-slope, 2)
    # schooling's labour-quality share of attainable TFP: (1 - mean α)·φ·mean schooling, with
    # φ = 0.09 the world average Mincerian return (Psacharopoulos and Patrinos 2018)
    sc = gsim.load_scenario()
    quality = (1 - np.mean(sc.tier_params["alpha"])) * 0.09 * np.mean(sc.regions.schooling)
    assert GTM2_DEFAULTS["catchup_schooling"] == round(quality, 2)


@pytest.mark.parametrize("weight", [0.0, 1.0])
def test_national_catchup_keeps_relative_tfp(tmp_path, weight):
    """Mechanism 8: with ω_N = 1 every province's TFP grows at the nation's catch-up rate, so
    provinces alike in all that sets the catch-up speed (schooling, R&D's weight χ = 0) keep
    their relative TFP exactly; with ω_N = 0 each closes its own gap and they converge."""
    rows = files("gsim").joinpath("data", "china31.csv").read_text(encoding="utf-8").splitlines()
    col = rows[0].split(",").index("schooling_years")
    equal = [rows[0]] + [",".join(v if i != col else "10.0" for i, v in enumerate(r.split(","))) for r in rows[1:]]
    (tmp_path / "equal.csv").write_text("\n".join(equal) + "\n", encoding="utf-8")
    sc = gsim.load_scenario().with_overrides(regions=str(tmp_path / "equal.csv"), chi=0.0, ell_H=0.0, t1=2035.0,
                                             national_catchup=weight)
    A = gsim.simulate(sc, policy="none").technology.values  # (time, region, tier)
    relative = A / A[:, :1, :]
    drift = np.abs(relative[-1] / relative[0] - 1).max()
    if weight == 1.0:
        assert drift < 1e-12
    else:
        assert drift > 0.01
