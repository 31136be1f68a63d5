"""The compiled GTM-1 against its independent NumPy twin, and the spec's own claims."""

from __future__ import annotations

import numpy as np
import pytest
import twin
from helpers import BUILTIN, assert_spec_agree, compiled, random_scenario
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gsim.integrate import Observer, TimeGrid, batch_from_scenario, run_batch
from gsim.model.calibrate import calibrate
from gsim.model.kernel import Inputs, Kernels
from gsim.model.layout import GROUP_AGGREGATES, OBS, SP, VARIABLES, state_slices
from gsim.plugins import get_policy
from gsim.policies import zero_decision
from gsim.scenario import load_scenario

OUTPUTS = tuple(n for n in VARIABLES if n not in GROUP_AGGREGATES)  # the model's own outputs (spec §10)


@pytest.fixture(scope="module")
def default():
    return load_scenario()


@pytest.fixture(scope="module")
def spec(default):
    """The default scenario under GTM-1, the reference specification the statements below quote."""
    return default.with_overrides(model="gtm1")


def test_loader_default_matches_spec_by_hand(spec):
    default = spec
    by_hand = twin.default_scenario_by_hand()
    assert default.regions.name == by_hand.regions.name
    np.testing.assert_array_equal(default.regions.shares, by_hand.regions.shares)
    np.testing.assert_array_equal(default.regions.gdp, by_hand.regions.gdp)
    assert default.params == by_hand.params
    for k, v in by_hand.tier_params.items():
        np.testing.assert_array_equal(default.tier_params[k], v)


@pytest.mark.parametrize("method", ["euler", "rk4"])
@pytest.mark.parametrize("policy", BUILTIN)
def test_default_scenario_agrees_with_twin(default, policy, method):
    ours = compiled(default, policy, method)
    ref = twin.simulate_twin(default, policy, method)
    assert ours["status"] == "ok"
    np.testing.assert_array_equal(ours["time"], ref["time"])
    assert_spec_agree(ours, ref, OUTPUTS)


@pytest.mark.parametrize(
    "seed, R, nearest, method",
    [(1, 3, None, "euler"), (2, 7, None, "rk4"), (3, 12, 4, "euler"), (4, 9, 2, "rk4")],
)
def test_random_small_scenarios_agree_with_twin(seed, R, nearest, method):
    sc = random_scenario(np.random.default_rng(seed), R, nearest=nearest, t1=2040)
    for policy in BUILTIN:
        ours = compiled(sc, policy, method)
        try:
            ref = twin.simulate_twin(sc, policy, method)
        except twin.TwinRunFailed as e:  # both must then fail, at the same time
            assert ours["status"] != "ok", f"twin failed ({e}) but compiled did not"
            continue
        assert ours["status"] == "ok", ours["status"]
        assert_spec_agree(ours, ref, OUTPUTS)


def test_nearest_pairs_agree_with_twin(default):
    import dataclasses

    from gsim.scenario import replace_run  # noqa: F401  (nearest is a scenario field)

    sc = dataclasses.replace(default, nearest=5)
    for policy in ("market", "gradient"):
        assert_spec_agree(compiled(sc, policy, t1=2035),
                          twin.simulate_twin(sc, policy, t1=2035), OUTPUTS)


def _t0_state(sc):
    inp = batch_from_scenario(sc)
    cal = calibrate(inp)
    W, z, psi = zero_decision(1, inp.pairs, len(sc.tiers))
    return inp, cal, W, z, psi


def test_calibration_claims_at_t0(default):
    """Spec §5: labour demand = E0, wages at rest, equal profit rates per region, u = u0."""
    inp, cal, W, z, psi = _t0_state(default)
    obs = Observer(inp, cal, parallel=False)(cal.y0, W, z, psi)
    _, consts = twin.calibrate(default)
    np.testing.assert_allclose(obs["employment"][0], consts["E0"], rtol=1e-12)
    np.testing.assert_allclose(obs["gdp"][0], default.regions.gdp, rtol=1e-12)
    np.testing.assert_allclose(obs["utilization"][0], default.params["u0"], rtol=1e-12)
    pi = obs["profit_rate"][0]
    np.testing.assert_allclose(pi, pi[:, :1].repeat(pi.shape[1], axis=1), rtol=1e-10)
    dy = np.empty_like(cal.y0)
    Kernels().observe(cal.y0, Inputs.of(inp, cal), (W, z, psi), [np.empty_like(obs.raw[g]) for g in OBS], dy=dy)
    wage = state_slices(len(default.regions), len(default.tiers))["wage"][0]
    assert np.abs(dy[0, wage]).max() <= 1e-12 * cal.y0[0, wage].max()


def _final_state(sc, method, dt):
    out = compiled(sc, "none", method, dt=dt)
    assert out["status"] == "ok"
    return np.concatenate([out[n][-1].ravel() for n in
                           ("capital", "technology", "labor_force", "wage", "skills",
                            "infrastructure", "price")])


@pytest.mark.parametrize("method, low, high", [("euler", 0.9, 1.1), ("rk4", 3.0, 6.0)])
def test_convergence_order(default, method, low, high):
    """Observed order over the first two halvings of dt from 0.25 (policy none)."""
    y = [_final_state(default, method, dt) for dt in (0.25, 0.125, 0.0625)]
    scale = np.abs(y[2]) + 1e-12
    e1 = np.max(np.abs(y[0] - y[1]) / scale)
    e2 = np.max(np.abs(y[1] - y[2]) / scale)
    order = np.log2(e1 / e2)
    assert low <= order <= high, f"{method}: observed order {order:.3f}"


def test_unstable_step_is_reported_not_returned(spec):
    """Spec §9: Euler with dt = 0.5 fails; the run says when and which stock, like the twin."""
    default = spec
    out = compiled(default, "none", "euler", dt=0.5)
    assert out["status"] != "ok"
    with pytest.raises(twin.TwinRunFailed) as info:
        twin.simulate_twin(default, "none", "euler", dt=0.5)
    t_twin = float(str(info.value).split("t=")[1])
    assert f"t={t_twin:g}" in out["status"], (out["status"], str(info.value))
    assert "capital[" in out["status"]
    assert np.isnan(out["real_gdp"][-1]) and np.isfinite(out["real_gdp"][0])
    from gsim.api import RunFailed, simulate

    with pytest.raises(RunFailed, match=r"capital\[.*t=2033"):
        simulate(default, "none", dt=0.5)


def test_batch_runs_are_independent_of_their_neighbours(default):
    """A run gives bit-identical results alone or inside a batch of different runs."""
    inp = batch_from_scenario(default, n_runs=3)
    inp.sp[1, SP["beta"]] = 30.0
    inp.sp[2, SP["lambda_T"]] = 0.05
    grid = TimeGrid(2023, 2030, 0.125)
    pol = get_policy("market")
    kw = dict(tiers=default.tiers, regions=default.regions.name)
    together = run_batch(inp, grid, pol, {}, parallel=True, **kw)
    alone = run_batch(batch_from_scenario(default), grid, pol, {}, parallel=False, **kw)
    for name, v in alone.values.items():
        np.testing.assert_array_equal(together.values[name][0], v[0], err_msg=name)
    assert not np.array_equal(together.values["capital"][1], together.values["capital"][0])


STOCK_NAMES = ("capital", "technology", "pipeline", "pipeline_technology", "labor_force",
               "wage", "skills", "infrastructure", "price")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    R=st.integers(2, 12),
    policy=st.sampled_from(BUILTIN),
    method=st.sampled_from(["euler", "rk4"]),
    beta=st.floats(5.0, 40.0),
    lambda_T=st.floats(0.0, 0.1),
    phi_w=st.floats(0.5, 4.0),
)
def test_stocks_stay_valid_or_the_run_is_failed(seed, R, policy, method, beta, lambda_T, phi_w):
    """Over random valid scenarios: every saved stock is finite and >= 0, or the run says
    it failed (and then its values after the failure are NaN, never silent garbage)."""
    sc = random_scenario(np.random.default_rng(seed), R, beta=beta, lambda_T=lambda_T,
                         phi_w=phi_w)
    out = compiled(sc, policy, method)
    stocks = np.concatenate([out[n].reshape(len(out["time"]), -1) for n in STOCK_NAMES], axis=1)
    if out["status"] == "ok":
        assert np.isfinite(stocks).all() and (stocks >= 0).all()
    else:
        assert "became negative or non-finite at t=" in out["status"]
        rows_ok = np.isfinite(stocks).all(axis=1)
        first_bad = np.argmin(rows_ok)
        assert not rows_ok[first_bad:].any() and (stocks[:first_bad] >= 0).all()


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), policy=st.sampled_from(BUILTIN))
def test_deterministic(seed, policy):
    sc = random_scenario(np.random.default_rng(seed), 6, t1=2030)
    a, b = compiled(sc, policy), compiled(sc, policy)
    for name in OUTPUTS:
        np.testing.assert_array_equal(a[name], b[name])
