"""The compiled kernel (lane-major): a run's result does not depend on its lane, its group's
width, the batch around it or the thread count; batches agree with the NumPy twin."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import twin
from helpers import BUILTIN, assert_spec_agree, random_scenario
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gsim.api import resolve_policy
from gsim.integrate import TimeGrid, batch_from_scenario, run_batch
from gsim.model import kernel
from gsim.model.calibrate import calibrate
from gsim.model.inputs import BatchInputs
from gsim.model.kernel import Inputs, Kernels
from gsim.model.layout import GROUP_AGGREGATES, OBS, SP, STOCK, VARIABLES, state_size, state_slices, stock_offset
from gsim.policies import PolicyContext
from gsim.scenario import load_scenario

SC = load_scenario()
R, S = len(SC.regions), len(SC.tiers)
OUTPUTS = tuple(n for n in VARIABLES if n not in GROUP_AGGREGATES)  # the kernels' own outputs
OBS_SHAPES = ((6, R, S), (3, R), (3, S), (7,))


def batch(B: int, rng: np.random.Generator):
    """B different runs of the default scenario and a decision that uses every code path:
    fractional and zero weights (whole pairs switched off), subsidies, pairing aid."""
    inp = batch_from_scenario(SC, B)
    for name, lo, hi in (("phi_w", 0.5, 4.0), ("beta", 10.0, 30.0), ("lambda_T", 0.0, 0.08),
                         ("kappa", 1.5, 3.0), ("mu", 0.0, 0.06)):
        inp.sp[:, SP[name]] = rng.uniform(lo, hi, B)
    cal = calibrate(inp)
    k = inp.pairs.k
    W = rng.choice([0.0, 0.0, 0.4, 1.0], size=(B, R, k, S))
    W[:, rng.random((R, k)) < 0.3] = 0.0
    z = np.where(rng.random((B, R, S)) < 0.3, rng.uniform(0, 0.05, (B, R, S)), 0.0)
    psi = np.where(rng.random(B)[:, None] < 0.5, 0.1, 0.0) * np.ones((B, R))
    return inp, cal, (W, z, psi)


def advance_and_observe(kern: Kernels, inp, cal, decision, y, steps, dt, rk4, fail=None):
    """Advance (B, NY) states by `steps` steps, then observe them; returns every output."""
    B, inputs = y.shape[0], Inputs.of(inp, cal)
    y = y.copy()
    fs, fi = (np.full(B, -1), np.full(B, -1)) if fail is None else (fail[0].copy(), fail[1].copy())
    kern.advance(y, inputs, decision, 0, steps, dt, rk4, fs, fi)
    obs = [np.empty((B,) + s) for s in OBS_SHAPES]
    dy = np.empty_like(y)
    kern.observe(y, inputs, decision, obs, dy=dy)
    return [y, fs, fi, *obs, dy]


def take(inp, cal, decision, rows):
    """The runs `rows` of a batch, in that order."""
    sub = lambda a: np.ascontiguousarray(a[rows])  # noqa: E731
    inp2 = BatchInputs(sp=sub(inp.sp), tp=sub(inp.tp), reg=sub(inp.reg), shares=sub(inp.shares), pairs=inp.pairs)
    cal2 = dataclasses.replace(cal, y0=sub(cal.y0), wmin=sub(cal.wmin), D0=sub(cal.D0), Ytot0=sub(cal.Ytot0))
    return inp2, cal2, tuple(sub(a) for a in decision)


def assert_same_bits(a, b, what=""):
    """Equal including the sign of zeros; NaNs in the same places."""
    assert a.shape == b.shape
    nan = np.isnan(a)
    assert np.array_equal(nan, np.isnan(b)), what
    assert np.array_equal(a[~nan].view(np.int64), b[~nan].view(np.int64)), what


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), B=st.integers(1, 20), width=st.sampled_from([None, 8, 16, 24]),
       parallel=st.booleans(), rk4=st.booleans())
def test_a_run_does_not_depend_on_lane_block_size_or_threads(seed, B, width, parallel, rk4):
    """Each run alone (the one-lane kernel) against the same run at a random lane position
    of a batch cut into groups of `width` lanes (not always a multiple of the vector width
    in use), on one or two threads: bit-identical states, failures, outputs, derivatives.
    Euler and RK4 at dt = 0.5 make some runs fail (at different steps), others not."""
    rng = np.random.default_rng(seed)
    inp, cal, decision = batch(B, rng)
    perm = rng.permutation(B)
    groups = None if width is None else (-(-B // width), width)
    together = advance_and_observe(Kernels(parallel, groups), *take(inp, cal, decision, perm),
                                   take(inp, cal, decision, perm)[1].y0, 24, 0.5, rk4)
    for pos, b in enumerate(perm):
        i, c, d = take(inp, cal, decision, [b])
        alone = advance_and_observe(Kernels(), i, c, d, c.y0, 24, 0.5, rk4)
        for name, x, y in zip(("y", "fail_step", "fail_index", "rs", "r", "s", "o0", "dy"), together, alone):
            if x.dtype.kind == "f":
                assert_same_bits(x[pos], y[0], f"run {b} at lane {pos}: {name}")
            else:
                assert x[pos] == y[0], f"run {b} at lane {pos}: {name}"


def test_a_failed_lane_is_frozen_and_the_others_go_on():
    """Euler at dt = 0.5 with faster wage adjustment fails sooner (spec §9): each run fails
    at its own step and stock, exactly as alone, keeps its last valid state, and the runs
    that do not fail finish as they would alone."""
    B = 8
    inp = batch_from_scenario(SC, B)
    inp.sp[:, SP["phi_w"]] = np.linspace(0.5, 4.0, B)
    cal = calibrate(inp)
    decision = tuple(np.ones_like(a) if i == 0 else np.zeros_like(a)
                     for i, a in enumerate(lanes_zero_decision(B, inp)))
    steps = 30
    y, fs, fi = advance_and_observe(Kernels(), inp, cal, decision, cal.y0, steps, 0.5, False)[:3]
    assert (fs < 0).sum() >= 2 and len(set(fs[fs >= 0])) >= 3  # some fail, at different steps
    for b in range(B):
        i, c, d = take(inp, cal, decision, [b])
        y1, fs1, fi1 = advance_and_observe(Kernels(), i, c, d, c.y0, steps, 0.5, False)[:3]
        assert (fs[b], fi[b]) == (fs1[0], fi1[0])
        assert_same_bits(y[b], y1[0], f"run {b}")
        if fs[b] >= 0:  # frozen at y_{k-1}: one step less reproduces it, and it is valid
            y2 = advance_and_observe(Kernels(), i, c, d, c.y0, int(fs[b]) - 1, 0.5, False)[0]
            assert_same_bits(y[b], y2[0], f"run {b} frozen")
            assert np.isfinite(y[b]).all() and (y[b] >= 0).all()
    # a failed run stays as it is when advanced further
    y3, fs3, fi3 = advance_and_observe(Kernels(), inp, cal, decision, y, 5, 0.5, False, (fs, fi))[:3]
    assert_same_bits(y3[fs >= 0], y[fs >= 0])
    assert np.array_equal(fs3[fs >= 0], fs[fs >= 0]) and np.array_equal(fi3[fs >= 0], fi[fs >= 0])


def lanes_zero_decision(B, inp):
    from gsim.policies import zero_decision

    return zero_decision(B, inp.pairs, S)


def test_skipped_work_is_exact_zeros_even_for_non_finite_lanes():
    """The group-level shortcuts (no relocation block, pairs no lane allows, no aid) must
    not change a lane whose own state is not finite: alone it takes the shortcut, next to
    lanes that allow transfers and pay aid it does not. Derivatives compared bit for bit."""
    rng = np.random.default_rng(11)
    inp = batch_from_scenario(SC, 4)
    cal = calibrate(inp)
    sl = state_slices(R, S)
    y = cal.y0.copy()
    y[0, sl["technology"][0].start + 5] = np.inf
    y[0, sl["capital"][0].start + 9] = np.inf
    y[0, sl["wage"][0].start + 3] = np.nan
    y[1:] *= rng.uniform(0.9, 1.1, y[1:].shape)
    for senders in (0, 3):  # run 0 allows no transfer at all, or only those of a few senders
        W, z, psi = lanes_zero_decision(4, inp)
        W[0, :senders] = 1.0
        W[1:] = 1.0
        psi[1:] = 0.1  # run 0 pays no aid
        outs = []
        for rows in ([0], [0, 1, 2, 3]):
            i, c, (Wb, zb, pb) = take(inp, cal, (W, z, psi), rows)
            obs = [np.empty((len(rows),) + s) for s in OBS_SHAPES]
            dy = np.empty((len(rows), y.shape[1]))
            Kernels().observe(np.ascontiguousarray(y[rows]), Inputs.of(i, c), (Wb, zb, pb), obs, dy=dy)
            outs.append([o[0] for o in (*obs, dy)])
        assert np.isnan(outs[0][-1]).any() and np.isinf(outs[0][-1]).any()  # the lane is not finite
        for a, b in zip(*outs):
            assert_same_bits(a, b)


def test_derivatives_against_the_twin_on_random_states_and_decisions():
    """Spec §6-7 evaluated at perturbed states under arbitrary (fractional, sparse) decisions,
    on a few small random scenarios with nearest-receiver pairs: kernel vs twin."""
    rng = np.random.default_rng(3)
    for R_, nearest in ((5, None), (9, 3), (12, 11)):
        sc = random_scenario(rng, R_, nearest=nearest)
        B = 10
        inp = batch_from_scenario(sc, B)
        cal = calibrate(inp)
        pr = inp.pairs
        y = cal.y0 * rng.uniform(0.7, 1.3, cal.y0.shape)
        y[:, state_slices(R_, S)["pipeline"][0]] = rng.uniform(0, 50, (B, R_ * S))
        y[:, state_slices(R_, S)["pipeline_technology"][0]] = rng.uniform(0, 50, (B, R_ * S))
        W = rng.choice([0.0, 0.5, 1.0], size=(B, R_, pr.k, S))
        z = rng.uniform(0, 0.04, (B, R_, S))
        psi = rng.uniform(0, 0.2, (B, R_))
        obs = [np.empty((B,) + s) for s in ((6, R_, S), (3, R_), (3, S), (7,))]
        dy = np.empty_like(y)
        Kernels().observe(y, Inputs.of(inp, cal), (W, z, psi), obs, dy=dy)
        _, consts = twin.calibrate(sc)
        for b in range(B):
            state = {n: y[b, sl].reshape(shape) for n, (sl, shape) in
                     zip(twin.STOCKS, state_slices(R_, S).values())}
            Wd = np.zeros((R_, R_, S))
            for r in range(R_):
                Wd[r, pr.recv[r]] = W[b, r]
            aux = twin.auxiliaries(state, consts, sc, Wd, z[b], psi[b])
            ref = twin.derivatives(state, aux, consts, sc, Wd, z[b], psi[b])
            for n, (sl, _) in zip(twin.STOCKS, state_slices(R_, S).values()):
                got, want = dy[b, sl], ref[n].ravel()
                np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12 * np.abs(want).max(), err_msg=n)
            ind = twin.indicators(state, aux, consts, sc)
            for name, got in (("transfer_volume", obs[3][b, 4]), ("failed_transfer_share", obs[3][b, 5]),
                              ("lost_capital", obs[3][b, 6]), ("theil", obs[3][b, 1])):
                np.testing.assert_allclose(got, ind[name], rtol=1e-10, err_msg=name)


def scenario_batch(scenarios):
    """One batch whose run b is scenario b (same regions, different parameters)."""
    parts = [batch_from_scenario(sc) for sc in scenarios]
    cat = lambda n: np.concatenate([getattr(p, n) for p in parts])  # noqa: E731
    return BatchInputs(sp=cat("sp"), tp=cat("tp"), reg=cat("reg"), shares=cat("shares"), pairs=parts[0].pairs)


@pytest.mark.parametrize("method", ["euler", "rk4"])
@pytest.mark.parametrize("policy", BUILTIN)
def test_batches_agree_with_the_twin(policy, method):
    """Three runs with different parameters in one lane group, each against the twin."""
    scenarios = [dataclasses.replace(SC, params={**SC.params, **over}) for over in
                 ({}, {"beta": 25.0, "lambda_T": 0.03}, {"kappa": 2.5, "mu": 0.05, "phi_w": 3.0})]
    pol, params = resolve_policy(SC, policy)
    res = run_batch(scenario_batch(scenarios), TimeGrid.of(SC.run), pol, params, method=method,
                    tiers=SC.tiers, regions=SC.regions.name)
    assert res.ok.all()
    for b, sc in enumerate(scenarios):
        ours = {k: v[b] for k, v in res.values.items()}
        assert_spec_agree(ours, twin.simulate_twin(sc, policy, method), OUTPUTS)


def test_plan_pads_groups_to_the_vector_width():
    assert kernel.plan_groups(1) == (1, 1)
    for B in range(2, 300):
        for threads in (1, 2, 4):
            G, L = kernel.plan_groups(B, threads)
            assert L % kernel.LANES == 0 and G * L >= B > (G - 1) * L
            assert L <= kernel.MAX_GROUP or G == 1
            assert G >= min(threads, -(-B // kernel.LANES)) - 1


@pytest.mark.parametrize("B", [1, 3])
def test_calibration_rest_and_capital_accounting_per_step(B):
    """Spec §5 (wages start at rest) and the capital identity of an Euler step: the change
    of sum(K + X) is investment - depreciation - exit - losses, for each lane of a group
    (GTM-1: a constant investment share σ)."""
    inp = batch_from_scenario(SC.with_overrides(model="gtm1"), B)
    inp.sp[:, SP["beta"]] = np.linspace(20.0, 30.0, B)
    cal = calibrate(inp)
    W, z, psi = lanes_zero_decision(B, inp)
    sl, kern = state_slices(R, S), Kernels()
    inputs, decision = Inputs.of(inp, cal), (W, z, psi)
    obs = [np.empty((B,) + s) for s in OBS_SHAPES]
    dy = np.empty_like(cal.y0)
    kern.observe(cal.y0, inputs, decision, obs, dy=dy)
    wage = sl["wage"][0]
    assert np.abs(dy[:, wage]).max() <= 1e-12 * cal.y0[:, wage].max()

    W[:] = 1.0  # market: transfers, pipelines, failures and exits all active
    kern = Kernels()
    y, dt, fs, fi = cal.y0.copy(), 0.125, np.full(B, -1), np.full(B, -1)
    p = {k: inp.sp[:, SP[k]] for k in ("sigma", "delta", "delta_x")}
    for k in range(80):
        kern.observe(y, inputs, decision, obs)
        K = y[:, sl["capital"][0]]
        pi = obs[0][:, 2].reshape(B, -1)
        flows = (p["sigma"] * obs[3][:, 0] - p["delta"] * K.sum(axis=1)
                 - p["delta_x"] * (np.maximum(0.0, -pi) * K).sum(axis=1) - obs[3][:, 6])
        before = K.sum(axis=1) + y[:, sl["pipeline"][0]].sum(axis=1)
        kern.advance(y, inputs, decision, k, 1, dt, False, fs, fi)
        after = y[:, sl["capital"][0]].sum(axis=1) + y[:, sl["pipeline"][0]].sum(axis=1)
        np.testing.assert_allclose((after - before) / dt, flows, rtol=1e-9, atol=1e-9 * before.max())
        assert (obs[3][:, 4] > 0).all()  # transfers are flowing
    assert (fs == -1).all()


def decision_inputs(rng, B, R_, S_, even_ties=False):
    """Random observations a built-in policy reads, run-major, and the same as a group."""
    gdp = rng.uniform(1.0, 5.0, (B, R_))
    if even_ties:  # equal values around the median
        gdp[:, : R_ // 2] = gdp[:, :1]
    lf = rng.uniform(0.5, 2.0, (B, R_))
    m = rng.uniform(0.3, 0.8, (B, R_, S_))
    u = rng.uniform(0.6, 0.9, (B, S_))
    return {"gdp": gdp, "labor_force": lf, "readiness": m, "utilization": u}


def per_run_params(rng, pol, params, B):
    """The policy's numeric schema parameters drawn per run within plausible ranges."""
    out = dict(params)
    for name, s in pol.schema.items():
        hi = s.high if np.isfinite(s.high) else 2.0 * params[name] + 0.1
        out[name] = rng.uniform(s.low, hi, B)
    return out


@pytest.mark.parametrize("per_run", [False, True])
@pytest.mark.parametrize("policy", BUILTIN)
@pytest.mark.parametrize("R_, nearest, ties", [(5, None, False), (8, 3, True), (9, 4, False)])
def test_compiled_policies_decide_like_their_numpy_versions(policy, R_, nearest, ties, per_run):
    """Each built-in policy's compiled twin (kernel._decide) against the policy itself on the
    same observed values: the same W, z and psi bit for bit, and `changed` when they differ;
    with the parameters the same in every lane or different in each (a column per lane)."""
    rng = np.random.default_rng(R_)
    sc = random_scenario(rng, R_, nearest=nearest)
    pol, params = resolve_policy(sc, policy)
    B, S_, pr = 11, len(sc.tiers), sc.pairs
    vals = decision_inputs(rng, B, R_, S_, ties)
    vals["gdp"][3, 2] = np.nan  # a NaN in one run: the median of that run is NaN
    if per_run:
        params = per_run_params(rng, pol, params, B)
    want = pol.decide(PolicyContext(2030.0, params, sc.tiers, sc.regions.name, pr, vals))
    code, par, tiers = pol.compiled(params, sc.tiers)
    par = np.ascontiguousarray(np.broadcast_to(par, (B, par.shape[-1])).T)  # (NPAR, L)
    y = np.zeros((state_size(R_, S_), B))
    lf = stock_offset(STOCK["labor_force"], R_, S_)
    y[lf:lf + R_] = vals["labor_force"].T
    out = [np.zeros((len(OBS[g]),) + shape + (B,)) for g, shape in zip(OBS, ((R_, S_), (R_,), (S_,), ()))]
    out[0][OBS["rs"].index("readiness")] = np.moveaxis(vals["readiness"], 0, -1)
    out[1][OBS["r"].index("gdp")] = vals["gdp"].T
    out[2][OBS["s"].index("utilization")] = vals["utilization"].T
    dec = [np.moveaxis(np.full_like(a, 0.5), 0, -1).copy() for a in want]
    assert kernel._decide(code, par, tiers, y, tuple(out), pr.recv, tuple(dec))
    for got, ref in zip(dec, want):
        assert_same_bits(np.moveaxis(got, -1, 0), ref.astype(float))
    assert not kernel._decide(code, par, tiers, y, tuple(out), pr.recv, tuple(dec))


@pytest.mark.parametrize("method", ["euler", "rk4"])
@pytest.mark.parametrize("policy", BUILTIN)
def test_the_compiled_run_loop_gives_the_python_loops_bits(policy, method):
    """A built-in policy in the compiled run loop (Kernels.run) against the same policy
    through run_batch's Python loop: every saved value, failure step and stock bit for bit,
    for one run and for batches whose size is not a multiple of the vector width, on one or
    two threads. Fast wage adjustment at dt = 0.5 makes some runs fail at different steps."""
    rng = np.random.default_rng(5)
    grid = dataclasses.replace(TimeGrid.of(SC.run), t1=2033.0, dt=0.5)
    pol, params = resolve_policy(SC, policy)
    python = dataclasses.replace(pol, compiled=None)
    for B, parallel in ((1, False), (13, False), (21, True)):
        inp, _, _ = batch(B, rng)
        inp.sp[:, SP["phi_w"]] = np.linspace(0.5, 6.0, B)
        res = [run_batch(inp, grid, p, params, method=method, tiers=SC.tiers, regions=SC.regions.name,
                         parallel=parallel) for p in (pol, python)]
        assert np.array_equal(res[0].fail_step, res[1].fail_step)
        assert np.array_equal(res[0].fail_index, res[1].fail_index)
        for name in res[0].values:
            assert_same_bits(res[0].values[name], res[1].values[name], f"{B} runs: {name}")
        if B > 1 and method == "euler":
            assert 0 < res[0].ok.sum() < B  # some runs failed, others did not


@pytest.mark.parametrize("policy", ["subsidy_race", "gradient"])
def test_per_lane_policy_parameters_give_the_bits_of_separate_runs(policy):
    """One batch whose runs each have their own policy parameters (lanes of the compiled run
    loop, and (B,) arrays for the NumPy policy in the Python loop) against each run alone with
    its parameters as plain numbers: the same bits."""
    rng = np.random.default_rng(11)
    grid = dataclasses.replace(TimeGrid.of(SC.run), t1=2030.0)
    pol, params = resolve_policy(SC, policy)
    python = dataclasses.replace(pol, compiled=None)
    B = 13
    inp, _, _ = batch(B, rng)
    per_run = per_run_params(rng, pol, params, B)
    run = dict(method="euler", tiers=SC.tiers, regions=SC.regions.name)
    together = [run_batch(inp.with_params(), grid, p, per_run, parallel=True, **run) for p in (pol, python)]
    for b in range(B):
        alone_params = {k: float(v[b]) if isinstance(v, np.ndarray) else v for k, v in per_run.items()}
        one = take(inp, calibrate(inp), (), [b])[0]
        alone = run_batch(one, grid, pol, alone_params, parallel=False, **run)
        for res in together:
            for name, v in alone.values.items():
                assert_same_bits(res.values[name][b:b + 1], v, f"run {b}: {name}")
    assert len({float(v[0]) for v in together[0].values["real_gdp"][:, -1:]}) > 1  # the settings matter


@settings(max_examples=60, deadline=None)
@given(R=st.integers(1, 12), L=st.integers(1, 4), data=st.data())
def test_median_lanes_is_numpys_median(R, L, data):
    """The compiled median (an insertion sort per lane) gives numpy.median's value for each
    lane: odd and even R, ties, infinities and NaN. (With signed zeros the median's zero may
    carry either sign, as np.sort and np.partition order them differently; they compare equal,
    which is all the subsidy race does with it.)"""
    values = st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=64),
                       st.sampled_from([0.0, -0.0, 1.0, -1.0]))
    x = np.array(data.draw(st.lists(values, min_size=R * L, max_size=R * L))).reshape(R, L)
    with np.errstate(invalid="ignore", over="ignore"):
        expected = np.median(x, axis=0)
    got = kernel._median_lanes(x)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    keep = ~np.isnan(expected)
    np.testing.assert_array_equal(got[keep], expected[keep])
