"""Verdicts that could come out the other way: materiality thresholds (placebo and planted
effects), business as usual first, the time path, the degenerate and duplicate checks, broken
plugin claims, conditional answers and tables that fit 80 columns."""

from __future__ import annotations

import io

import numpy as np
import pytest
from click.testing import CliRunner
from helpers import SMALL, SMALL_OPTS, claims_plugin
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from synthetic import synthetic_store

import gsim
from gsim import hookimpl
from gsim.analysis import claim_checks as checks
from gsim.analysis import claims as cl
from gsim.analysis.conditional import conditional, contested
from gsim.analysis.discovery import inputs_frame
from gsim.analysis.robustness import provinces, robust_rows, robustness
from gsim.claims import BUILTIN_CLAIMS as BUILTIN
from gsim.cli import main
from gsim.cli.claims import risk_renderables, robustness_renderables, verdict_table
from gsim.plugins import make_plugin_manager, use_plugin_manager
from gsim.policies import Policy
from gsim.policies.builtin import BUILTIN_POLICIES
from gsim.sweeps.engine import LocalExecutor, sweep

MARKET = next(p for p in BUILTIN_POLICIES if p.name == "market")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    p = tmp_path_factory.mktemp("verdicts") / "s.zarr"
    sweep(p, SMALL, SMALL_OPTS, executor=LocalExecutor(2))
    return p


# --- materiality: planted effects and the placebo --------------------------------------------
@settings(max_examples=100, deadline=None)
@given(st.floats(0.001, 0.2), st.sampled_from([1, -1]), st.integers(0, 2**31 - 1))
def test_a_planted_effect_just_above_or_below_the_threshold_is_classified(threshold, direction, seed):
    """A relative effect of 1.02 x threshold in the claimed direction holds in every pair,
    0.98 x threshold is equivalent in every pair, and the verdict words follow."""
    rng = np.random.default_rng(seed)
    xb = rng.uniform(1.0, 100.0, size=(200, 1))
    for factor, holds in ((1.02, True), (0.98, False)):
        xp = xb * (1 + direction * factor * threshold)
        s = cl.paired_stats(xp, xb, direction, threshold, relative=True)
        assert s["share"][0] == (1.0 if holds else 0.0)
        assert s["share_equivalent"][0] == (0.0 if holds else 1.0)
        assert cl.verdict(s["share"][0], s["share_lo"][0], s["share_hi"][0]) == ("holds" if holds else "fails")
        worse = cl.paired_stats(xb * (1 - direction * factor * threshold), xb, direction, threshold, True)
        assert worse["share"][0] == 0 and worse["share_equivalent"][0] == (0.0 if holds else 1.0)


def test_an_absolute_threshold_and_a_guard():
    xb = np.array([[10.0], [10.0], [10.0], [10.0]])
    main_gain = np.array([[10.6], [10.4], [10.6], [10.6]])  # beats 0.5 in pairs 0, 2, 3
    guard_b = np.array([[100.0], [100.0], [100.0], [100.0]])
    guard_p = np.array([[99.0], [99.0], [97.0], [101.0]])  # loses 3 % in pair 2
    parts = [(cl.Measure("a", 1, threshold=0.5, relative=False), main_gain, xb),
             (cl.Measure("b", 1, threshold=0.02, guard=True), guard_p, guard_b)]
    held, equal, valid = cl.claim_outcome(parts)
    assert held[:, 0].tolist() == [True, False, False, True]
    assert equal[:, 0].tolist() == [False, True, False, False] and valid.all()


def market_with_noise(ctx):
    """Market relocation, with every pair's weight lowered by at most 0.1 % at random."""
    W, z, psi = MARKET.decide(ctx)
    rng = np.random.default_rng(int(round(ctx.t * 64)))
    return W * (1 - 1e-3 * rng.random(W.shape)), z, psi


def _placebo_manager():
    class Placebo:
        gsim_plugin_name = "placebo"

        @staticmethod
        @hookimpl
        def gsim_register_policies(register):
            register(Policy("placebo", market_with_noise))

        @staticmethod
        @hookimpl
        def gsim_register_claims(register):
            register(cl.Claim("placebo_efficiency", "The placebo is efficient.",
                              next(c for c in BUILTIN if c.id == "efficiency").measures,
                              (("placebo", "market"),)))

    return make_plugin_manager(load_entrypoints=False, extra=(Placebo,))


def test_placebo_never_reads_holds_on_efficiency(tmp_path):
    """A policy equal to market up to tiny noise in its decisions: with the default thresholds
    the efficiency claim never reads holds or mostly holds against market, at any saved year;
    its pairs are equivalent. Under the old sign test it would hold in some pairs."""
    p = tmp_path / "placebo.zarr"
    with use_plugin_manager(_placebo_manager()):
        sweep(p, SMALL, {"samples": 16, "t1": 2030, "block_size": 8, "policies": "market,placebo"},
              executor=LocalExecutor(1))
        res = gsim.claims(p, claim=["placebo_efficiency"])
    rows = res.isel(row=res.overall.values.nonzero()[0])
    for i in range(rows.sizes["row"]):
        r = rows.isel(row=i)
        words = [cl.verdict(s, lo, hi) for s, lo, hi in zip(r.path_share.values, r.path_lo.values,
                                                            r.path_hi.values)]
        assert not {"holds", "mostly holds"} & set(words), words
    assert (rows.share_equivalent.values == 1).all()
    ds = gsim.open_sweep(p)
    d = (ds.real_gdp.sel(policy="placebo") - ds.real_gdp.sel(policy="market")).values
    assert np.abs(d).max() > 0  # the noise does reach the outcome: the threshold, not a tie, decides


# --- business as usual first, every baseline, the path ---------------------------------------
def test_business_as_usual_comes_first_and_every_built_in_claim_has_it(store):
    res = gsim.claims(store)
    assert res.attrs["business_as_usual"] == "market"
    for cid in dict.fromkeys(res.claim.values.tolist()):
        rows = res.isel(row=((res.claim == cid) & res.overall).values.nonzero()[0])
        assert rows.baseline.values[0] == "market" and bool(rows.bau.values[0])
    nhc = res.isel(row=((res.claim == "no_homogeneous_competition") & res.overall).values.nonzero()[0])
    assert set(nhc.baseline.values) == {"market", "none", "subsidy_race"}
    other = gsim.claims(store, business_as_usual="none")
    eff = other.isel(row=((other.claim == "efficiency") & other.overall).values.nonzero()[0])
    assert eff.baseline.values[0] == "none"


def test_the_path_is_the_share_at_every_saved_time(store):
    res = gsim.claims(store, claim=["coordinated_development"])
    ds = gsim.open_sweep(store)
    r = res.isel(row=0)
    theil = ds.theil.values.reshape(-1, 4, ds.sizes["time"])  # (cases, policy, time)
    gdp = ds.real_gdp.values.reshape(-1, 4, ds.sizes["time"])
    pols = list(ds.policy.values)
    g, b = pols.index("gradient"), pols.index(str(r.baseline.values))
    lower = (theil[:, b] - theil[:, g]) > 0.01 * np.abs(theil[:, b])
    guard = (gdp[:, g] - gdp[:, b]) >= -0.02 * np.abs(gdp[:, b])
    np.testing.assert_array_equal(r.path_share.values, (lower & guard).mean(0))
    assert res.time.size == ds.sizes["time"]


def test_path_summary_on_a_constructed_path():
    times = np.arange(2023.0, 2031.0)
    xb = np.full((50, 8), 100.0)
    effect = np.array([-3, -2, -1.5, 0, 2, 3, 4, 5], float)  # worse than 1 % in 2023-2025
    xp = xb + effect
    lo = np.array([0, 0, 0, 0.2, 0.9, 0.95, 0.95, 0.95])
    s = checks.path_summary(times, lo, lo, xp, xb, 1, 0.01, True, 0.0)
    assert s["first_year"] == 2027 and s["holds_at_horizon"] == 1
    assert (s["worse_from"], s["worse_to"], s["worse_years"]) == (2023, 2025, 3)
    loss = np.trapezoid(np.minimum(effect, 0), times)
    assert s["transition_loss"] == pytest.approx(loss)
    assert s["discounted_pct"] == pytest.approx(100 * np.trapezoid(effect, times) / np.trapezoid(xb[0], times))


# --- degenerate and duplicate measures --------------------------------------------------------
def test_checks_on_constructed_measures():
    rng = np.random.default_rng(1)
    x = rng.normal(size=40)
    assert checks.degenerate("c: a vs b", [("m", np.zeros(40), x, "a", "b")]) == [
        "c: a vs b: degenerate: m is 0 in every sample under a, so it holds or fails by construction"]
    assert checks.degenerate("c", [("m", x, x + 1, "a", "b")]) == []
    y = rng.normal(size=40)
    dup = checks.duplicates("c", [("u", x, y), ("v", -2 * x, -2 * y), ("w", rng.normal(size=40), y)])
    assert len(dup) == 1 and "u and v correlate -1.000" in dup[0]


OLD_LOWER_RISK = cl.Claim("old_lower_risk", "The former claim.",
                          (cl.Measure("failed_transfer_share", -1, threshold=0),
                           cl.Measure("lost_capital", -1, "cumulative", threshold=0)),
                          (("gradient", "market"),))
OLD_NHC = cl.Claim("old_nhc", "The former claim.",
                   (cl.Measure("overcapacity", -1, tier=0, threshold=0),
                    cl.Measure("margin", +1, tier=0, threshold=0)),
                   (("gradient", "subsidy_race"),))


def test_checks_fire_on_the_former_claims_and_stay_quiet_on_the_revised_ones(store):
    with use_plugin_manager(make_plugin_manager(load_entrypoints=False,
                                                extra=(claims_plugin(OLD_LOWER_RISK, OLD_NHC),))):
        res = gsim.claims(store, claim=["old_lower_risk", "old_nhc"])
    found = res.attrs["checks"]
    assert any("degenerate: failed_transfer_share is 0 in every sample under gradient" in f for f in found)
    assert any("duplicate: the paired differences of overcapacity[labor] and margin[labor]" in f for f in found)
    assert gsim.claims(store).attrs["checks"] == []


# --- broken plugin claims ---------------------------------------------------------------------
BROKEN = cl.Claim("broken", "Needs an output nobody saves.", (cl.Measure("no_such_output", 1),),
                  (("gradient", "market"),))


def test_a_broken_plugin_claim_leaves_the_other_verdicts_intact(store):
    intact = gsim.claims(store)
    with use_plugin_manager(make_plugin_manager(load_entrypoints=False, extra=(claims_plugin(BROKEN),))):
        res = gsim.claims(store)
        out = CliRunner().invoke(main, ["claims", str(store)])
    assert res.attrs["skipped_claims"] == [
        f"broken: {store}: claim broken needs no_such_output, which the store lacks; "
        "no_such_output is not an output of gsim sweep"]
    np.testing.assert_array_equal(res.share.values, intact.share.values)
    assert out.exit_code == 1 and "skipped claim broken" in out.output
    assert "efficiency" in out.output and "Traceback" not in out.output
    from gsim.analysis.report import claims_section

    html = claims_section(res)
    assert "<h3>Skipped claims</h3>" in html and "claim broken needs no_such_output" in html


# --- presentation -----------------------------------------------------------------------------
def _render(res, measures: bool, width: int = 80) -> str:
    con = Console(width=width, file=io.StringIO(), record=True, highlight=False)
    for item in verdict_table(res, measures):
        con.print(item)
    return con.export_text()


@pytest.mark.parametrize("years", [None, [2024, 2025, 2026]])
def test_every_table_fits_80_columns_and_no_number_is_cut(store, years):
    res = gsim.claims(store, years)
    text = _render(res, measures=True)
    assert max(len(line) for line in text.splitlines()) <= 80 and "\u2026" not in text
    flat = " ".join(text.split())
    for i in np.nonzero(res.overall.values)[0]:
        r = res.isel(row=i, year=-1)
        assert cl.share_text(float(r.share), float(r.share_lo), float(r.share_hi)) in flat
        assert cl.verdict(float(r.share), float(r.share_lo), float(r.share_hi)) in flat
    for word in ("holds", "fails", "inconclusive"):
        assert word in cl.VERDICT_RULE
    risk = cl.risk_table(store)
    rows = robust_rows(robustness(store, years[-1] if years else None))
    con = Console(width=80, file=io.StringIO(), record=True, highlight=False)
    for item in risk_renderables(risk) + robustness_renderables(rows):
        con.print(item)
    text = con.export_text()
    assert max(len(line) for line in text.splitlines()) <= 80 and "\u2026" not in text
    for r in risk:
        assert f"{cl.percent(r['downside'])} %" in text and f"{r['loss_per_moved']:.3f}" in text


@pytest.mark.parametrize("lo,hi,text", [(0.9981, 0.9999, "99"), (0.29, 0.31, "29"), (0.0012, 0.3, "0.1")])
def test_intervals_are_rounded_outward(lo, hi, text):
    assert cl.percent(lo, outward=-1) == text
    assert float(cl.percent(hi, outward=1)) >= 100 * hi - 1e-9
    assert float(cl.percent(lo, outward=-1)) <= 100 * lo + 1e-9
    assert cl.percent(0.9981, outward=1) == "99.9"


# --- conditional answers ----------------------------------------------------------------------
def test_conditional_answer_and_discover_by_claim(store):
    res = gsim.claims(store)
    rows = contested(res, 0.0, 1.0)
    assert rows == sorted(rows, key=lambda t: abs(t[3] - 0.5))
    cid, pol, base, share = rows[0]
    c = conditional(store, cid, pol, base)
    assert c.share == pytest.approx(share) and c.n == 8
    if c.input:
        assert sum(n for *_, n in c.terciles) == 8 and c.input in c.words()
    out = CliRunner().invoke(main, ["discover", str(store), "--claim", f"{cid}:{pol}-{base}"])
    assert out.exit_code == 0, out.output
    assert f"condition claim {cid}:{pol}-{base} fails" in out.output
    bad = CliRunner().invoke(main, ["discover", str(store), "--claim", "efficiency"])
    assert bad.exit_code == 2 and "CLAIM:POLICY-BASELINE" in bad.output


PLANTED = {"kappa": {"dist": "uniform", "low": 1.0, "high": 4.0},
           "ell_F": {"dist": "uniform", "low": 0.05, "high": 0.40},
           "nu0": {"dist": "uniform", "low": 0.01, "high": 0.05}}


def _planted_efficiency(v, pol, times):
    """Real GDP under gradient 5 % above market's where kappa > 2.5 and ell_F > 0.1, 5 %
    below elsewhere: efficiency against market holds exactly there."""
    holds = (v["kappa"] > 2.5) & (v["ell_F"] > 0.1)
    gdp = 1000.0 * (1 + 0.05 * np.where(holds, 1.0, -1.0) * (pol == "gradient"))
    return {"real_gdp": np.outer(gdp, np.linspace(1.0, 1.5, len(times)))}


def _pawn_of_binary(x: np.ndarray, held: np.ndarray, slides: int) -> float:
    """PAWN's median over slices of the KS distance, written out for a yes/no outcome: the KS
    distance between two Bernoulli samples is the difference of their shares of yes."""
    edges = np.quantile(x, np.linspace(0, 1, slides + 1))
    return float(np.median([abs(held[(x >= lo) & (x < hi)].mean() - held.mean())
                            for lo, hi in zip(edges[:-1], edges[1:])]))


def test_the_deciding_input_is_the_largest_pawn_index(tmp_path):
    store = synthetic_store(tmp_path / "p.zarr", PLANTED, _planted_efficiency, sampler="lhs", samples=200,
                            t1=2030, policies=["market", "gradient"])
    c = conditional(store, "efficiency", "gradient", "market")
    X = inputs_frame(gsim.open_sweep(store))
    held = ((X["kappa"] > 2.5) & (X["ell_F"] > 0.1)).values
    assert c.n == 200 and c.share == pytest.approx(held.mean())
    want = {name: _pawn_of_binary(X[name].values, held, 10) for name in PLANTED}
    assert c.input == "kappa" == max(want, key=want.get)
    assert c.pawn == pytest.approx(want["kappa"], abs=1e-12) and want["nu0"] < c.pawn / 3
    assert f"It depends most on kappa (PAWN index {want['kappa']:.2f})" in c.words()
    low, _, high = (share for _, _, share, _ in c.terciles)
    top = X["kappa"].values >= np.quantile(X["kappa"].values, 2 / 3)
    assert low == 0.0 and high == pytest.approx(held[top].mean())  # kappa below 2 never holds


# --- robustness to definitions ----------------------------------------------------------------
def test_robustness_to_definitions_and_win_win_provinces(tmp_path):
    p = tmp_path / "regions.zarr"
    sweep(p, SMALL, {**SMALL_OPTS, "save": "regions"}, executor=LocalExecutor(2))
    rows = robustness(p, claim=["win_win", "no_homogeneous_competition", "efficiency"])
    by = {(r["claim"], r["baseline"], r["definition"]): r for r in rows}
    # the scenario's senders (above the mean), real totals, recomputed from the regional outputs,
    # give the verdict of the saved group aggregates
    for base in ("market", "none"):
        assert by[("win_win", base, "as declared")]["share"] == \
            by[("win_win", base, "senders above the mean, real, totals")]["share"]
    assert ("win_win", "none", "senders NBS East, nominal, per worker") in by
    assert {("efficiency", "market", f"real GDP {d}") for d in ("nominal", "per worker")} <= set(by)
    tiers = [str(t) for t in gsim.open_sweep(p).tier.values]
    assert {f"tier {t}" for t in tiers[1:]} | {"mean over tiers"} <= \
        {d for c, _, d in by if c == "no_homogeneous_competition"}
    for r in robust_rows(rows):
        assert r["robust"] == (len(set(r["words"].values())) == 1) and "any gain" not in r["words"]
    prov = provinces(p, "gradient", "none")
    ds = gsim.open_sweep(p)
    gdp = ds.real_output.sel(time=2026)
    d = (gdp.sel(policy="gradient") - gdp.sel(policy="none")).values.reshape(-1, ds.sizes["region"])
    assert prov["gain_median"] == np.median((d > 0).sum(1)) and prov["pareto"] == np.mean((d >= 0).all(1))
    assert prov["regions"] == ds.sizes["region"]


def test_business_as_usual_from_the_sweep_table(tmp_path):
    import dataclasses

    from gsim.sweeps.spec import SweepSpecError, parse_spec

    sc = dataclasses.replace(SMALL, sweep={**SMALL.sweep, "business_as_usual": "none"})
    assert parse_spec(sc).canonical() == parse_spec(SMALL).canonical()  # results do not change
    p = tmp_path / "b.zarr"
    sweep(p, sc, {**SMALL_OPTS, "samples": 2}, executor=LocalExecutor(1))
    res = gsim.claims(p, claim=["efficiency"])
    assert res.attrs["business_as_usual"] == "none" and res.baseline.values[0] == "none"
    bad = dataclasses.replace(SMALL, sweep={**SMALL.sweep, "business_as_usual": "laissez_faire"})
    with pytest.raises(SweepSpecError, match="sweep.business_as_usual: must be one of the sweep's policies"):
        parse_spec(bad)


def test_claims_csv_is_checked_before_work_and_never_inside_the_store(store, tmp_path):
    from click.testing import CliRunner

    from gsim.cli import main

    inside = CliRunner().invoke(main, ["claims", str(store), "--csv", str(store / "x.csv")])
    assert inside.exit_code == 2 and "inside the store" in inside.output
    assert not (store / "x.csv").exists()
    empty = CliRunner().invoke(main, ["claims", str(store), "--csv", ""])
    assert empty.exit_code == 2 and "--csv: empty value" in empty.output
    out = tmp_path / "c.csv"
    ok = CliRunner().invoke(main, ["claims", str(store), "--csv", str(out)])
    assert ok.exit_code in (0, 1) and len(out.read_text().splitlines()) > 1
