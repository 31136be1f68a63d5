"""Claims: the registry and its hook, the paired statistics (against direct NumPy and xarray
computations), partial and failed stores, errors, and the `gsim claims` / `gsim summary` tables."""

from __future__ import annotations

import dataclasses
import shutil

import numpy as np
import pytest
from click.testing import CliRunner
from helpers import SMALL, SMALL_OPTS, FirstBlockOnly, claims_plugin, tree_digest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.stats import binom

import gsim
from gsim import hookimpl
from gsim.analysis import claims as cl
from gsim.claims import DEFAULT_THRESHOLD
from gsim.cli import main
from gsim.plugins import PluginError, make_plugin_manager, use_plugin_manager
from gsim.scenario import load_scenario
from gsim.sweeps.engine import LocalExecutor, sweep

SC = load_scenario()


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    p = tmp_path_factory.mktemp("claims") / "s.zarr"
    sweep(p, SMALL, SMALL_OPTS, executor=LocalExecutor(2))
    return p


# --- statistics --------------------------------------------------------------------------------
finite = st.just(0.0) | st.floats(1e-3, 1e6) | st.floats(-1e6, -1e-3)
values = arrays(float, st.tuples(st.integers(1, 60), st.integers(1, 3)), elements=finite)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_share_is_a_direct_count_and_the_interval_contains_it(data):
    xb = data.draw(values)
    xp = data.draw(arrays(float, xb.shape, elements=finite | st.just(np.nan)))
    direction = data.draw(st.sampled_from([1, -1]))
    s = cl.paired_stats(xp, xb, direction)
    for j in range(xb.shape[1]):
        ok = ~np.isnan(xp[:, j])
        n = int(ok.sum())
        wins = int(np.count_nonzero(direction * (xp[ok, j] - xb[ok, j]) > 0))
        assert s["n"][j] == n and s["holds"][j] == wins
        if n == 0:
            assert np.isnan(s["share"][j]) and np.isnan(s["share_lo"][j]) and np.isnan(s["effect"][j])
            continue
        assert s["share"][j] == wins / n
        assert 0 <= s["share_lo"][j] <= s["share"][j] <= s["share_hi"][j] <= 1
        d = xp[ok, j] - xb[ok, j]
        close = dict(rel=1e-12, abs=1e-12 * max(1.0, np.abs(d).max()))  # interpolation round-off
        assert s["effect"][j] == pytest.approx(np.median(d), **close)
        assert s["effect_p5"][j] == pytest.approx(np.quantile(d, 0.05), **close)
        assert s["effect_p95"][j] == pytest.approx(np.quantile(d, 0.95), **close)
        nz = xb[ok, j] != 0
        if nz.any():
            assert s["effect_pct"][j] == pytest.approx(np.median(100 * d[nz] / np.abs(xb[ok, j][nz])))


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 400), st.data())
def test_interval_contains_every_share(n, data):
    k = data.draw(st.integers(0, n))
    lo, hi = cl.jeffreys_interval(k, n)
    assert lo <= k / n <= hi
    assert (lo == 0) == (k == 0) and (hi == 1) == (k == n)


def test_interval_covers_about_ninety_percent():
    """Exact coverage of the interval for a fixed share p, averaged over p: near 90 %."""
    n = 60
    k = np.arange(n + 1)
    lo, hi = cl.jeffreys_interval(k, np.full(n + 1, n))
    ps = np.linspace(0.02, 0.98, 49)
    cover = [binom.pmf(k, n, p)[(lo <= p) & (p <= hi)].sum() for p in ps]
    assert 0.88 < np.mean(cover) < 0.92 and min(cover) > 0.75


def test_combined_claim_holds_only_when_every_measure_does():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(200, 2)), rng.normal(size=(200, 2))
    c, d = rng.normal(size=(200, 2)), rng.normal(size=(200, 2))
    c[5, 0] = np.nan
    s = cl.combined_stats([(a, b, 1), (c, d, -1)])
    ok = ~np.isnan(c)
    both = (a > b) & (c < d) & ok
    assert (s["n"] == ok.sum(0)).all() and (s["holds"] == both.sum(0)).all()
    assert np.isnan(s["effect"]).all()


def test_trapezoid_weights_integrate_like_numpy():
    t = np.array([2023.0, 2024.0, 2025.5, 2027.0, 2030.0])
    y = np.random.default_rng(0).normal(size=(7, len(t)))
    w = cl.trapezoid_weights(t, [0, 2, 4])
    for j, ti in enumerate([0, 2, 4]):
        want = np.trapezoid(y[:, : ti + 1], t[: ti + 1], axis=1) if ti else np.zeros(7)
        np.testing.assert_allclose(y @ w[:, j], want, rtol=1e-12, atol=1e-12)


# --- the verdicts of a store -------------------------------------------------------------------
def test_claims_equal_direct_xarray_computations(store):
    before = tree_digest(store)
    res = gsim.claims(store)
    assert tree_digest(store) == before  # nothing is written into the store it reads
    ds = gsim.open_sweep(store)
    assert list(res.year.values) == [2025.0, 2026.0] and res.attrs["n_ok"] == 32
    assert res.attrs["n_pending"] == res.attrs["n_failed"] == 0 and res.attrs["skipped"] == []

    def row(claim, baseline, measure):
        i = np.flatnonzero((res.claim == claim) & (res.baseline == baseline) & (res.measure == measure))
        assert len(i) == 1
        return res.isel(row=int(i[0]))

    gain = ds.real_gdp.sel(policy="gradient") - ds.real_gdp.sel(policy="market")
    r = row("efficiency", "market", "real_gdp")
    for y in (2025, 2026):
        g = gain.sel(time=y).values.ravel()
        base = ds.real_gdp.sel(policy="market", time=y).values.ravel()
        assert r.share.sel(year=y) == np.mean(g > 0.01 * base) and r.n.sel(year=y) == 8
        assert r.share_equivalent.sel(year=y) == np.mean(np.abs(g) <= 0.01 * base)
        assert r.effect.sel(year=y) == pytest.approx(np.median(g), rel=1e-12)
        base = ds.real_gdp.sel(policy="market", time=y).values.ravel()
        assert r.effect_pct.sel(year=y) == pytest.approx(np.median(100 * g / base))
    cum = row("efficiency", "market", "guard: cumulative real_gdp")
    integral = gain.sel(time=slice(2023, 2026)).integrate("time").values.ravel()
    base_cum = ds.real_gdp.sel(policy="market", time=slice(2023, 2026)).integrate("time").values.ravel()
    assert cum.effect.sel(year=2026) == pytest.approx(np.median(integral), rel=1e-9)
    assert cum.share.sel(year=2026) == np.mean(integral > 0.01 * base_cum)  # share beating the threshold
    both = row("efficiency", "market", "all measures")
    assert bool(both.overall) and not bool(cum.overall) and bool(both.bau)
    level = gain.sel(time=2026).values.ravel() > 0.01 * ds.real_gdp.sel(policy="market", time=2026).values.ravel()
    assert both.share.sel(year=2026) == np.mean(level & (integral >= -0.01 * base_cum))  # a guard
    theil = row("coordinated_development", "none", "theil")
    assert not bool(theil.overall) and int(theil.direction) == -1 and theil.threshold.item() == "1 %"
    t_none = ds.theil.sel(policy="none")
    lower = ((t_none - ds.theil.sel(policy="gradient")) > 0.01 * t_none).sel(time=2026)
    assert theil.share.sel(year=2026) == lower.mean()
    labor = row("no_homogeneous_competition", "subsidy_race", "overcapacity[labor]")
    assert labor.units.item() == "1" and cum.units.item() == "bn CNY"


def test_only_done_runs_are_analysed_and_outputs_say_so(tmp_path):
    p = tmp_path / "partial.zarr"
    sweep(p, SMALL, SMALL_OPTS, executor=FirstBlockOnly())
    res = gsim.claims(p, years=[2026])
    assert res.attrs["n_pending"] == 16 and res.attrs["n_ok"] == 16
    assert (res.n == 4).all()  # the 4 samples of the one block done
    out = CliRunner().invoke(main, ["claims", str(p)])
    assert out.exit_code == 0 and "16 ok, 0 failed, 0 invalid input, 16 pending" in " ".join(out.output.split())
    out = CliRunner().invoke(main, ["summary", str(p)])
    assert out.exit_code == 0 and "16 pending" in " ".join(out.output.split())


def test_failed_runs_are_left_out_of_the_pairs(tmp_path):
    sc = dataclasses.replace(SC, sweep={"uncertain": {"phi_w": {"dist": "choice", "values": [2.0, 50.0]}}})
    p = tmp_path / "f.zarr"
    sweep(p, sc, {"samples": 12, "sampler": "mc", "t1": 2025, "policies": "none,gradient"},
          executor=LocalExecutor(1))
    ds = gsim.open_sweep(p)
    ok = (ds.status == 1).all("policy").values.ravel()
    assert 0 < ok.sum() < 12
    res = gsim.claims(p, claim=["coordinated_development"])
    assert res.attrs["n_failed"] > 0 and (res.n.values == ok.sum()).all()
    assert res.attrs["skipped"] == ["coordinated_development: gradient vs market",
                                    "coordinated_development: gradient vs subsidy_race"]


@pytest.mark.parametrize("kwargs,message", [
    ({"claim": ["efficency"]}, "unknown claim 'efficency'; known: efficiency, lower_risk"),
    ({"years": [2031]}, "year 2031 is not a saved time (saved: 2023 to 2026)"),
])
def test_bad_claims_and_years_are_one_line_errors(store, kwargs, message):
    with pytest.raises(cl.ClaimError, match=message.replace("(", r"\(").replace(")", r"\)")):
        gsim.claims(store, **kwargs)


def test_a_store_without_the_policies_of_an_asked_claim(tmp_path):
    p = tmp_path / "two.zarr"
    sweep(p, SMALL, {**SMALL_OPTS, "samples": 2, "policies": "none,market"}, executor=LocalExecutor(1))
    with pytest.raises(cl.ClaimError, match="claim win_win compares gradient with market, gradient with "
                                            "none; the store has the policies none, market"):
        gsim.claims(p, claim=["win_win"])
    with pytest.raises(cl.ClaimError, match="no claim can be evaluated"):
        gsim.claims(p)


def test_a_store_lacking_an_output_names_the_save_level(store, tmp_path):
    region_claim = cl.Claim("beijing", "Beijing gains.", (cl.Measure("gdp", +1, region="Beijing"),),
                            (("gradient", "none"),))

    class Plugin:
        @staticmethod
        @hookimpl
        def gsim_register_claims(register):
            register(region_claim)

    with use_plugin_manager(make_plugin_manager(load_entrypoints=False, extra=(Plugin,))):
        with pytest.raises(cl.ClaimError, match="claim beijing needs gdp, which the store lacks; "
                                                "run the sweep with --save regions"):
            gsim.claims(store, claim=["beijing"])
    lost = tmp_path / "lost.zarr"  # an output the store's checksums cover has gone missing
    shutil.copytree(store, lost)
    shutil.rmtree(lost / "real_output_sending")
    with pytest.raises(gsim.sweeps.StoreDamaged, match="real_output_sending"):
        gsim.claims(lost, claim=["win_win"])


# --- the registry and its hook -----------------------------------------------------------------
def test_builtin_claims_are_registered_through_the_hook():
    pm = make_plugin_manager(load_entrypoints=False)
    assert list(pm.claims()) == ["efficiency", "lower_risk", "no_homogeneous_competition",
                                 "continuous_upgrading", "win_win", "coordinated_development"]
    assert {c.plugin for c in pm.claims().values()} == {"gsim.claims"}
    out = CliRunner().invoke(main, ["plugins"])
    assert "claims: continuous_upgrading, coordinated_development, efficiency" in out.output


GOOD = cl.Claim("receivers", "Receivers gain.", (cl.Measure("real_output_receiving", +1),),
                (("gradient", "market"),))


def test_plugin_claims_are_evaluated(store):
    with use_plugin_manager(make_plugin_manager(load_entrypoints=False, extra=(claims_plugin(GOOD),))):
        res = gsim.claims(store, claim=["receivers"], years=[2026])
    ds = gsim.open_sweep(store)
    gain = (ds.real_output_receiving.sel(policy="gradient") - ds.real_output_receiving.sel(policy="market"))
    base = ds.real_output_receiving.sel(policy="market", time=2026).values
    assert res.share.item() == np.mean(gain.sel(time=2026).values > DEFAULT_THRESHOLD * base)  # no threshold given
    assert res.threshold.item() == "1 %" and "project default" in res.reason.item()


@pytest.mark.parametrize("bad,message", [
    (dataclasses.replace(GOOD, id="efficiency"), "claim name 'efficiency' is already registered by plugin gsim.claims"),
    (dataclasses.replace(GOOD, id="two words"), "claim id 'two words' must be an identifier"),
    (dataclasses.replace(GOOD, measures=()), "measures must be a non-empty sequence of Measure"),
    (dataclasses.replace(GOOD, measures=(cl.Measure("theil", 2),)), "direction must be +1 or -1"),
    (dataclasses.replace(GOOD, measures=(cl.Measure("theil", 1, "mean"),)), "aggregation must be"),
    (dataclasses.replace(GOOD, measures=(cl.Measure("theil", 1, threshold=-0.1),)), "threshold must be a number >= 0"),
    (dataclasses.replace(GOOD, measures=(cl.Measure("theil", 1, guard=True),)), "not a guard"),
    (dataclasses.replace(GOOD, pairs=(("gradient", "gradient"),)), "must be two different policy names"),
    (dataclasses.replace(GOOD, pairs=()), "give at least one (policy, baseline) pair"),
    ("not a claim", "register() takes a gsim.claims.Claim, got str"),
])
def test_invalid_plugin_claims_are_rejected_naming_theclaims_plugin(bad, message):
    pm = make_plugin_manager(load_entrypoints=False, extra=(claims_plugin(bad),), strict=True)
    with pytest.raises(PluginError, match="plugin my_claims: ") as e:
        pm.claims()
    assert message in str(e.value)


# --- command line ------------------------------------------------------------------------------
def _fits(output: str, width: int = 100) -> None:
    lines = output.splitlines()
    assert max(len(line) for line in lines) <= width
    assert "\u2026" not in output  # nothing cut off


@pytest.mark.parametrize("args", [[], ["--measures"], ["--years", "2024,2025,2026"]])
def test_claims_command_fits_100_columns(store, args):
    out = CliRunner().invoke(main, ["claims", str(store), *args])
    assert out.exit_code == 0, out.output
    _fits(out.output)
    assert "efficiency: gradient vs" in out.output and "market (BAU)" in out.output
    assert "32 ok, 0 failed, 0 invalid input, 0 pending" in " ".join(out.output.split())


def test_claims_command_csv_and_selection(store, tmp_path):
    import pandas as pd

    f = tmp_path / "c.csv"
    out = CliRunner().invoke(main, ["claims", str(store), "--claim", "win_win,lower_risk", "--csv", str(f)])
    assert out.exit_code == 0, out.output
    df = pd.read_csv(f)
    assert set(df["claim"]) == {"win_win", "lower_risk"} and {"share", "share_lo", "effect_pct"} <= set(df)


@pytest.mark.parametrize("args,message", [
    (["--claim", "nope"], "unknown claim 'nope'"),
    (["--years", "2031"], "year 2031 is not a saved time"),
    (["--years", "soon"], "--years: expected numbers separated by commas"),
])
def test_claims_command_errors_are_one_line_exit_2(store, args, message):
    out = CliRunner().invoke(main, ["claims", str(store), *args])
    assert out.exit_code == 2 and message in out.output
    assert "Traceback" not in out.output and len(out.output.strip().splitlines()) == 1


def test_claims_command_on_a_missing_store(tmp_path):
    out = CliRunner().invoke(main, ["claims", str(tmp_path / "nothing.zarr")])
    assert out.exit_code == 2 and "no such store" in out.output


def test_summary_fits_one_screen_and_all_keeps_the_full_tables(store):
    out = CliRunner().invoke(main, ["summary", str(store)])
    assert out.exit_code == 0, out.output
    _fits(out.output)
    assert len(out.output.splitlines()) <= 30 and "2026:" in out.output and "2025:" not in out.output
    ds = gsim.open_sweep(store)
    gdp = ds.real_gdp.sel(time=2026).values.reshape(8, 4)
    bau = list(ds.policy.values).index("market")  # the business-as-usual policy is the baseline
    assert "market (median)" in out.output
    assert f"{np.median(gdp[:, bau]) / 1e3:.4g}k" in out.output  # its median real GDP, human format
    full = CliRunner().invoke(main, ["summary", str(store), "--all"])
    assert full.exit_code == 0 and "== 2025" in full.output and "== 2026" in full.output
    bad = CliRunner().invoke(main, ["summary", str(store), "--baseline", "laissez_faire"])
    assert bad.exit_code == 2 and "--baseline laissez_faire: not a policy of the store" in bad.output


@pytest.mark.parametrize("x,text", [(580717.0, "580.7k"), (1694.0, "1694"), (0.06285, "0.06285"),
                                    (-12345.0, "-12.35k"), (2.5e6, "2.5M"), (np.nan, "-")])
def test_human_numbers(x, text):
    from gsim.analysis.quicklook import human

    assert human(x) == text


@settings(max_examples=200, deadline=None)
@given(st.floats(0, 1), st.integers(0, 1))
def test_percent_shows_0_and_100_only_when_exact(x, decimals):
    text = cl.percent(x, decimals)
    assert (float(text) == 0) == (x == 0) and (float(text) == 100) == (x == 1)
    assert abs(float(text) - 100 * x) <= 10.0 ** -decimals


def test_share_text_never_hides_the_interval():
    assert cl.share_text(0.94, 0.93, 0.95) == "94 % [93\u201395]"
    assert cl.share_text(0.994, 0.988, 0.997) == "99.4 % [98.8\u201399.7]"
    assert cl.share_text(1.0, 0.997, 1.0) == "100 % [99\u2013100]"
    assert cl.share_text(np.nan, np.nan, np.nan) == "no pairs"


def test_a_tier_for_an_output_without_tiers_is_an_error(store):
    bad = cl.Claim("tiered_theil", "Theil of a tier.", (cl.Measure("theil", -1, tier=0),), (("gradient", "none"),))
    with use_plugin_manager(make_plugin_manager(load_entrypoints=False, extra=(claims_plugin(bad),))):
        with pytest.raises(cl.ClaimError, match="claim tiered_theil needs theil of tier 0, but theil has no tiers"):
            gsim.claims(store, claim=["tiered_theil"])
    untiered = cl.Claim("any_margin", "A margin.", (cl.Measure("margin", 1),), (("gradient", "none"),))
    with use_plugin_manager(make_plugin_manager(load_entrypoints=False, extra=(claims_plugin(untiered),))):
        with pytest.raises(cl.ClaimError, match="claim any_margin needs margin of one tier; the measure names none"):
            gsim.claims(store, claim=["any_margin"])
