"""History matching: recovery of planted inputs, the implausibility measure, reproducibility,
bad input, the observed-panel path and sweeps on the NROY points."""

from __future__ import annotations

import dataclasses
import math
import statistics

import matching_cases as mc
import numpy as np
import pytest
import xarray as xr
from click.testing import CliRunner
from helpers import without_rates
from hypothesis import given, settings
from hypothesis import strategies as st

import gsim
from gsim.cli import main
from gsim.integrate import batch_from_scenario, run_batch
from gsim.matching import MatchError, implausibility, kth_max, measure, parse_match
from gsim.matching.implausibility import target_values
from gsim.matching.waves import evaluate_block, make_problem, prior_fifths
from gsim.sweeps.sampling import apply_values

WAVES = "[match]\nwaves = 3\nsamples = 200\nblock_size = 50\n"


@pytest.fixture(scope="module")
def planted():
    """The model's own history at the planted inputs, with 0.2 % relative noise."""
    ds = mc.history()
    return ds, mc.planted_targets(ds, np.random.default_rng(11), rel=0.002)


@pytest.fixture(scope="module")
def matched(planted, tmp_path_factory):
    out = tmp_path_factory.mktemp("hm") / "m.zarr"
    sc = mc.scenario(WAVES + planted[1])
    return sc, gsim.match(sc, out, workers=1), out


def _truth_units() -> np.ndarray:
    return np.array([[(mc.TRUTH[k] - lo) / (hi - lo) for k, (lo, hi) in sorted(mc.UNCERTAIN.items())]])


# --- (a) recovery of planted parameters -----------------------------------------------------
def test_planted_inputs_stay_in_nroy_and_90_percent_is_ruled_out(matched):
    sc, res, _ = matched
    m = res.problem.match
    truth = _truth_units()
    # the truth lies in every wave's box (never cut away) ...
    for w in res.waves:
        assert np.all((w.low <= truth[0]) & (truth[0] <= w.high)), w.number
    # ... and is not implausible, evaluated through the same kernel path
    ev = evaluate_block(res.problem, truth, np.array([10**6]))
    used = np.array([not t.holdout for t in m.targets])
    z = np.array([t.value for t in m.targets])
    imp = implausibility(z, ev.model, [t.obs_var for t in m.targets], [t.disc_var for t in m.targets])
    assert measure(imp[:, used], m.use)[0] <= m.cutoff
    # at least 90 % of the prior volume is ruled out after three waves
    assert res.last.nroy_share <= 0.10
    assert res.last.survivors > 0


def test_planted_holdout_is_covered(matched):
    _, res, _ = matched
    assert res.unmatched() == {}  # the planted inputs match every target
    band = res.holdout_band()
    assert len(band) == 2
    for z, lo, hi, ok in band.values():
        assert ok == (lo <= z <= hi)
    assert res.holdout_coverage() == np.mean([b[3] for b in band.values()])


def test_holdout_implausibility_is_the_nroy_prediction_against_the_observation(matched):
    # recomputed from the store with the standard library: the NROY points' model values give
    # the prediction's mean and variance, to which the declared variances add
    _, res, out = matched
    ds = gsim.open_match(out)
    nroy = ds["point_wave"].values == res.last.number
    nroy &= ds["nroy"].values
    imp = res.holdout_implausibility()
    assert sorted(imp) == sorted(res.holdout_band())
    for j, name in enumerate(ds["target"].values):
        if not ds["holdout"].values[j]:
            assert np.isnan(ds["holdout_implausibility"].values[j])
            continue
        v = [float(x) for x in ds["model"].values[nroy, j]]
        var = statistics.variance(v) + float(ds["obs_var"][j]) + float(ds["disc_var"][j])
        expected = abs(float(ds["observed"][j]) - statistics.fmean(v)) / math.sqrt(var)
        assert imp[str(name)] == pytest.approx(expected, rel=1e-12)
        assert float(ds["holdout_implausibility"][j]) == imp[str(name)]
    assert res.holdout_consistent() == sum(i <= res.problem.match.cutoff for i in imp.values())
    assert ds.attrs["holdout_consistent"] == res.holdout_consistent()


def test_store_matches_result(matched):
    _, res, out = matched
    ds = gsim.open_match(out)
    assert list(ds["runs"].values) == [w.runs for w in res.waves]
    assert list(ds["survivors"].values) == [w.survivors for w in res.waves]
    np.testing.assert_array_equal(ds["nroy_share"].values, [w.nroy_share for w in res.waves])
    pts = gsim.matching.nroy_sample(ds)
    assert pts.sizes["point"] == res.last.survivors
    # the stored measure is the second-largest implausibility of the targets used
    used = ~ds["holdout"].values
    np.testing.assert_array_equal(ds["measure"].values, np.sort(ds["implausibility"].values[:, used], axis=1)[:, -2])
    for k in ("config_hash", "root_seed", "gsim_version", "scenario_hash"):
        assert ds.attrs[k] not in (None, "")


def test_prior_fifths_of_the_result_and_the_store_agree_with_a_count(matched):
    # counted again with the standard library from the stored prior coordinates of the NROY sample
    sc, res, out = matched
    ds = gsim.open_match(out)
    fifths = gsim.matching.nroy_prior_fifths(ds)
    idx = gsim.matching.nroy_sample(ds)["point"].values
    for j, name in enumerate(res.problem.inputs):
        u = ds["unit"].values[idx, j]
        counted = [sum(1 for x in u if k / 5 <= x < (k + 1) / 5) / len(u) for k in range(5)]
        assert res.prior_fifths()[name].tolist() == pytest.approx(counted)
        assert fifths.sel(input=name).values.tolist() == pytest.approx(counted)


def test_figure_picks_the_inputs_the_match_narrowed_most(matched):
    from gsim.matching.figures import default_inputs

    _, res, out = matched
    ds = gsim.open_match(out)
    width = {n: w.high[j] - w.low[j] for w in res.waves[-1:] for j, n in enumerate(res.problem.inputs)}
    departure = {n: max(abs(x - 0.2) for x in f) for n, f in res.prior_fifths().items()}
    for k in range(1, len(width)):
        expected = sorted(width, key=lambda n: (width[n], -departure[n]))[:k]
        assert sorted(default_inputs(ds, k)) == sorted(expected)


@given(st.lists(st.floats(0, 1, exclude_max=True), min_size=1, max_size=50), st.integers(1, 4))
def test_prior_fifths_are_shares_of_the_points(column, d):
    units = np.tile(np.array(column)[:, None], (1, d))
    f = prior_fifths(units)
    assert f.shape == (d, 5)
    np.testing.assert_allclose(f.sum(axis=1), 1.0)
    first = sum(x < 0.2 for x in column) / len(column)
    assert f[0, 0] == pytest.approx(first)


def test_prior_fifths_of_a_spread_sample_are_even():
    # a Latin-hypercube-like sample (one point per stratum of 1/100) is spread as the prior
    units = (np.arange(100)[:, None] + 0.5) / 100
    np.testing.assert_allclose(prior_fifths(units), 0.2)


def test_nroy_share_is_box_volume_times_survivor_share(matched):
    _, res, _ = matched
    for w in res.waves:
        assert w.nroy_share == pytest.approx(np.prod(w.high - w.low) * w.nroy.mean())
        assert np.all((w.units >= w.low) & (w.units <= w.high))


# --- (b) the implausibility measure ---------------------------------------------------------
finite = st.floats(-1e3, 1e3, allow_nan=False)
positive = st.floats(1e-3, 1e3, allow_nan=False)


@given(z=finite, f=finite, so=positive, sd=positive, se=st.floats(0, 1e3), c=st.floats(1e-3, 1e3))
def test_implausibility_is_scale_invariant(z, f, so, sd, se, c):
    a = implausibility(z, f, so**2, sd**2, se**2)
    b = implausibility(c * z, c * f, (c * so) ** 2, (c * sd) ** 2, (c * se) ** 2)
    assert b == pytest.approx(a, rel=1e-9, abs=1e-12)


@given(z=finite, f=finite, so=positive, d1=st.floats(0, 1e6), d2=st.floats(0, 1e6))
def test_implausibility_does_not_grow_with_discrepancy(z, f, so, d1, d2):
    lo, hi = sorted((d1, d2))
    assert implausibility(z, f, so, hi) <= implausibility(z, f, so, lo)


@settings(max_examples=200)
@given(st.lists(st.floats(0, 1e6, allow_nan=False), min_size=3, max_size=12))
def test_max_second_third(vals):
    imp = np.array(vals)
    m1, m2, m3 = (kth_max(imp, k) for k in (1, 2, 3))
    assert m1 >= m2 >= m3
    assert m1 == max(vals) and m3 == sorted(vals)[-3]
    assert measure(imp, "second_max") == m2


def test_failed_run_is_implausible():
    assert implausibility(1.0, np.nan, 1.0, 1.0) == np.inf


# --- (c) reproducibility --------------------------------------------------------------------
def test_same_seed_same_store_under_any_worker_count(planted, tmp_path):
    sc = mc.scenario("[match]\nwaves = 2\nsamples = 40\nblock_size = 7\n" + planted[1])
    a = gsim.match(sc, tmp_path / "a.zarr", workers=1)
    sc2 = mc.scenario("[match]\nwaves = 2\nsamples = 40\nblock_size = 7\n" + planted[1])
    b = gsim.match(sc2, tmp_path / "b.zarr", workers=2)
    assert a.last.survivors == b.last.survivors
    da, db = gsim.open_match(tmp_path / "a.zarr"), gsim.open_match(tmp_path / "b.zarr")
    assert set(da.variables) == set(db.variables)
    for name in da.variables:
        np.testing.assert_array_equal(da[name].values, db[name].values, err_msg=name)
    assert {k: v for k, v in da.attrs.items() if k != "history"} == {k: v for k, v in db.attrs.items() if k != "history"}


def test_block_size_does_not_change_results(planted):
    sc = mc.scenario("[match]\nwaves = 1\nsamples = 12\n" + planted[1])
    pb1 = make_problem(sc, {"block_size": 12})
    pb2 = make_problem(sc, {"block_size": 5})
    from gsim.matching.waves import evaluate

    units = np.random.default_rng(0).random((12, 3))
    e1 = evaluate(pb1, units, np.arange(12), 1)
    e2 = evaluate(pb2, units, np.arange(12), 2)
    np.testing.assert_array_equal(e1.model, e2.model)


# --- (d) bad input --------------------------------------------------------------------------
ROW = ('[[match.targets]]\nkind = "gdp_share"\nregion = "A"\nyear = 2019\nvalue = 0.6\nobs_sd = 0.01\n'
       'obs_reason = "x"\ndisc_sd = 0.01\ndisc_reason = "y"\n')


@pytest.mark.parametrize("row, field, reason", [
    ("", "match.targets", "no history-matching targets"),
    (ROW.replace('"gdp_share"', '"gdp_shar"'), "match.targets[0].kind", "unknown target kind"),
    (ROW.replace('"A"', '"Atlantis"'), "match.targets[0].region", "unknown region"),
    (ROW.replace("2019", "2030"), "match.targets[0].year", "outside the run"),
    (ROW.replace("obs_sd = 0.01", "obs_sd = nan"), "match.targets[0].obs_sd", "finite number"),
    (ROW.replace("disc_sd = 0.01", "disc_sd = -0.01"), "match.targets[0].disc_sd", "must be >= 0"),
    (ROW.replace('disc_reason = "y"\n', ""), "match.targets[0].disc_reason", "one-line reason"),
    (ROW.replace("year = 2019", "years = [2019, 2013]").replace("gdp_share", "growth").replace('region = "A"\n', ""),
     "match.targets[0].years", "a must be before b"),
])
def test_bad_match_table_is_one_line(row, field, reason):
    sc = mc.scenario("[match]\nuse = \"max\"\n" + row)
    with pytest.raises(MatchError) as e:
        parse_match(sc)
    msg = str(e.value)
    assert msg.startswith(f"hm3.toml: {field}: ") and reason in msg and "\n" not in msg


def test_second_max_needs_two_targets():
    with pytest.raises(MatchError, match=r"hm3.toml: match.use: second_max needs at least 2 targets"):
        parse_match(mc.scenario("[match]\n" + ROW))


def test_cli_errors_exit_2(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(mc.scenario("").toml)
    r = CliRunner().invoke(main, ["match", str(path), "-o", str(tmp_path / "m.zarr")])
    assert r.exit_code == 2
    assert r.output.strip().count("\n") == 0 and "match.targets: the scenario has no history-matching targets" in r.output
    r = CliRunner().invoke(main, ["match", str(path), "--figure", "x.pdf"])
    assert r.exit_code == 2 and "write .png or .svg" in r.output


def test_match_table_survives_the_canonical_toml():
    sc = mc.scenario("[match]\ncutoff = 2.5\n" + ROW + ROW.replace("2019", "2016"))
    again = gsim.scenario.loads_scenario(sc.toml, source="again.toml")
    assert again.match == sc.match and again.hash == sc.hash
    assert parse_match(again) == parse_match(sc)


# --- the observed panel ---------------------------------------------------------------------
def test_values_from_a_synthetic_panel(planted):
    ds = planted[0]
    years = ds["time"].values.astype(int)
    lam = 0.55  # lambda_LF of the small scenario (defaults): population = Lf / lambda_LF
    panel = xr.Dataset(
        {"gdp": (("year", "region"), ds["gdp"].values), "population": (("year", "region"), ds["labor_force"].values / lam),
         "real_gdp": (("year",), ds["real_gdp"].values)},
        coords={"year": years, "region": ["A", "B", "C"]})
    exact = mc.planted_targets(ds)  # values computed directly from the run
    rows = exact.split("[[match.targets]]")[1:]
    strip = ["\n".join(ln for ln in r.splitlines() if not ln.startswith("value")) for r in rows]
    no_values = "".join("[[match.targets]]" + (r if "utilisation" in r else s) + "\n" for r, s in zip(rows, strip))
    sc_panel, sc_exact = mc.scenario("[match]\n" + no_values), mc.scenario("[match]\n" + exact)
    got, want = parse_match(sc_panel, panel=panel), parse_match(sc_exact)
    kinds = [t.kind for t in want.targets]
    for t_got, t_want in zip(got.targets, want.targets):
        if t_want.kind == "utilisation":
            continue
        assert t_got.value == pytest.approx(t_want.value, rel=1e-9, abs=1e-12), t_want.name
    assert "utilisation" in kinds
    all_strip = "".join("[[match.targets]]" + s + "\n" for s in strip)
    with pytest.raises(MatchError, match=r"match.targets\[6\].value: utilisation has no observed series"):
        parse_match(mc.scenario("[match]\n" + all_strip), panel=panel)
    with pytest.raises(MatchError, match=r"match.targets\[0\].value: the observed panel has no 'real_gdp'"):
        parse_match(mc.scenario("[match]\n" + no_values), panel=panel.drop_vars("real_gdp"))


# --- (e) a sweep on the NROY points ---------------------------------------------------------
def test_sweep_from_runs_exactly_the_nroy_points(matched, tmp_path):
    _, res, out = matched
    sc = mc.scenario()
    rep = gsim.sweep_from_nroy(tmp_path / "s.zarr", out, sc, {"block_size": 16})
    pts = gsim.matching.nroy_sample(gsim.open_match(out))
    runs = gsim.open_sweep(tmp_path / "s.zarr")
    assert rep.samples == pts.sizes["point"] == runs.sizes["sample"]
    assert runs.attrs["sampler"] == "nroy"
    for name in pts["input"].values:
        np.testing.assert_array_equal(runs[str(name)].isel(replicate=0).values, pts.sel(input=name).values)
    with pytest.raises(gsim.sweeps.store.StoreError, match="already exists"):
        gsim.sweep_from_nroy(tmp_path / "s.zarr", out, sc)
    with pytest.raises(MatchError, match="--samples cannot be given with --from"):
        gsim.sweep_from_nroy(tmp_path / "t.zarr", out, sc, {"samples": 3})


def test_verdicts_on_the_nroy_set_say_so(matched, tmp_path):
    # the claims header and the report's lead tell a reader that the samples are the match's
    from gsim.analysis.claims import counts_line
    from gsim.analysis.report import _page

    _, _, out = matched
    gsim.sweep_from_nroy(tmp_path / "s.zarr", out, mc.scenario(), {"block_size": 16})
    attrs = dict(gsim.open_sweep(tmp_path / "s.zarr").attrs)
    counts = {"n_runs": 4, "n_ok": 4, "n_failed": 0, "n_invalid": 0, "n_pending": 0}
    line = counts_line({**attrs, **counts, "store": "s.zarr"})
    assert line.startswith(f"s.zarr: {attrs['samples']} plausible (NROY) samples x 1 policies, ")
    assert "history match did not rule out" in _page(attrs, counts, "s.zarr", [])
    lhs = {**attrs, "sampler": "lhs"}
    assert counts_line({**lhs, **counts, "store": "s.zarr"}).startswith(f"s.zarr: {attrs['samples']} samples x ")
    assert "history match" not in _page(lhs, counts, "s.zarr", [])


def test_cli_sweep_from_and_sobol_refused(matched, tmp_path):
    _, _, out = matched
    path = tmp_path / "s.toml"
    path.write_text(mc.scenario().toml)
    r = CliRunner().invoke(main, ["sweep", str(path), "--from", str(out), "-o", str(tmp_path / "s.zarr"),
                                  "--no-summary", "-j", "1"])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(main, ["sensitivity", str(tmp_path / "s.zarr"), "--indicator", "real_gdp",
                                  "--method", "sobol", "--policies", "market"])
    assert r.exit_code == 2 and "sobol indices need a store written with --sampler saltelli" in r.output


def test_cli_match_table_and_figure(planted, tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(mc.scenario("[match]\nwaves = 2\nsamples = 30\n" + planted[1]).toml)
    fig = tmp_path / "f.png"
    r = CliRunner().invoke(main, ["match", str(path), "-o", str(tmp_path / "m.zarr"), "-j", "1", "--figure", str(fig)])
    assert r.exit_code == 0, r.output
    lines = [ln for ln in r.stdout.splitlines() if ln]
    assert lines[0].split() == ["wave", "runs", "survivors", "NROY", "share", "min", "I", "runs/s"]
    assert max(map(len, lines)) <= 80
    assert fig.stat().st_size > 0
    # where the NROY sample lies in each input's prior: one line per input, as the store counts it
    fifths = gsim.matching.nroy_prior_fifths(gsim.open_match(tmp_path / "m.zarr"))
    start = lines.index("NROY sample per fifth of each input's prior (%; 20 each if not narrowed)")
    rows = {ln.split()[0]: ln.split() for ln in lines[start + 1:start + 1 + fifths.sizes["input"]]}
    assert sorted(rows) == sorted(str(x) for x in fifths.input.values)
    for name, row in rows.items():
        assert [int(x) for x in row[1:6]] == [round(100 * x) for x in fifths.sel(input=name).values]


def test_matching_doc_planted_block_is_what_gsim_match_prints(planted, tmp_path):
    """docs/matching.md's `gsim match planted.toml` block, but for the wave rows' runs/s."""
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[1] / "docs" / "matching.md").read_text(encoding="utf-8")
    block = doc.split("$ gsim match planted.toml", 1)[1].split("```", 1)[0]
    path = tmp_path / "planted.toml"
    path.write_text(mc.scenario("[match]\n" + planted[1]).toml)
    r = CliRunner().invoke(main, ["match", str(path), "--waves", "3", "--samples", "400", "-j", "1",
                                  "--out", str(tmp_path / "m.zarr")])
    assert r.exit_code == 0, r.output
    assert without_rates(block.split("\n", 1)[1]) == without_rates(r.stdout)


# --- replicates and refused inputs ----------------------------------------------------------
def test_replicates_give_the_ensemble_variance(planted):
    """With an input of scope run, each point's model value is the mean of its replicates and
    V_ens their variance (ddof 1), computed here from the replicates run one by one."""
    extra = ('replicates = 3\n[sweep.uncertain."region.gdp"]\ndist = "lognormal"\nmedian = 1.0\n'
             'sigma = 0.05\nper_region = true\nscope = "run"\n')
    sc = mc.scenario("[match]\nwaves = 1\nsamples = 4\n" + planted[1], sweep_extra=extra)
    pb = make_problem(sc)
    units = np.random.default_rng(1).random((4, 3))
    ev = evaluate_block(pb, units, np.arange(4))
    one = dataclasses.replace(pb, sweep=dataclasses.replace(pb.sweep, replicates=1))
    for i in range(4):
        reps = []
        for j in range(3):
            # replicate j of point i alone: its run-scope draw comes from stream (seed, 1, i, j)
            vals = gsim.matching.waves.point_values(sc, pb.sweep, units[i:i + 1], np.array([i]))
            sub = {k: v[j:j + 1] for k, v in vals.items()}
            inp, _ = apply_values(batch_from_scenario(sc, 1), sc, one.sweep, sub)
            res = run_batch(inp, pb.grid, pb.policy, pb.params, method=sc.run.method, tiers=sc.tiers,
                            regions=sc.regions.name)
            reps.append(target_values(pb.match.targets, res.times, res.values, sc.regions.name, sc.tiers)[0])
        reps = np.array(reps)
        np.testing.assert_allclose(ev.model[i], reps.mean(axis=0), rtol=1e-12)
        np.testing.assert_allclose(ev.ens_var[i], reps.var(axis=0, ddof=1), rtol=1e-9, atol=1e-30)
    assert (ev.ens_var > 0).any()


def test_per_region_sample_input_is_refused(planted):
    extra = '[sweep.uncertain."region.gdp"]\ndist = "lognormal"\nmedian = 1.0\nsigma = 0.05\nper_region = true\n'
    sc = mc.scenario("[match]\n" + planted[1], sweep_extra=extra)
    with pytest.raises(MatchError, match=r"^hm3.toml: sweep.uncertain.region.gdp: a per-region input of scope sample"):
        make_problem(sc)


def test_damaged_store_is_refused(matched, tmp_path):
    import shutil

    import zarr

    _, _, out = matched
    copy = tmp_path / "copy.zarr"
    shutil.copytree(out, copy)
    assert len(gsim.matching.store.damaged_points(gsim.open_match(copy))) == 0
    g = zarr.open_group(str(copy), mode="r+")
    g["measure"][5] = 0.0  # a changed value: point 5 no longer matches its checksum
    with pytest.raises(MatchError, match=r"copy.zarr: 1 points fail their checksums \(first: point 5\)"):
        gsim.open_match(copy)
    assert gsim.open_match(copy, verify=False)["measure"].values[5] == 0.0


def test_at_edge_flags_survivors_at_an_inner_face(matched):
    _, res, _ = matched
    w = res.waves[0]
    assert not w.at_edge().any()  # wave 1's box is the prior: no inner face
    for w in res.waves[1:]:
        u = w.units[w.nroy]
        step = (w.high - w.low) / w.runs
        expect = [(lo > 0 and u[:, j].min() - lo < step[j]) or (hi < 1 and hi - u[:, j].max() < step[j])
                  for j, (lo, hi) in enumerate(zip(w.low, w.high))]
        assert list(w.at_edge()) == expect


def test_no_nroy_point_predicts_no_held_out_target(tmp_path):
    """A match that rules out the whole prior has no prediction to hold out: its coverage is
    unknown (NaN), not 0 %, and the output says why instead of printing empty bands."""
    impossible = ('[match]\nuse = "max"\nsamples = 20\nwaves = 2\n'
                  '[[match.targets]]\nkind = "gdp_share"\nregion = "A"\nyear = 2019\nvalue = 0.01\n'
                  'obs_sd = 0.0001\nobs_reason = "x"\ndisc_sd = 0.0001\ndisc_reason = "y"\n'
                  '[[match.targets]]\nkind = "gdp_share"\nregion = "A"\nyear = 2021\nvalue = 0.5\n'
                  'obs_sd = 0.01\nobs_reason = "x"\ndisc_sd = 0.01\ndisc_reason = "y"\nholdout = true\n')
    path = tmp_path / "none.toml"
    path.write_text(mc.scenario(impossible).toml)
    res = gsim.match(gsim.load_scenario(path), tmp_path / "m.zarr")
    assert res.last.survivors == 0
    assert np.isnan(res.holdout_coverage())
    assert res.holdout_consistent() == 0
    # the target nothing matches is named, with its smallest implausibility over every run
    imp = gsim.open_match(tmp_path / "m.zarr")["implausibility"].sel(target="gdp_share[A:2019]").values
    assert res.unmatched() == {"gdp_share[A:2019]": float(imp.min())}
    assert imp.min() > 3
    out = CliRunner().invoke(main, ["match", str(path), "--out", str(tmp_path / "m2.zarr")])
    assert out.exit_code == 0, out.output
    assert "held out: 1 targets, not predicted (no NROY point)" in out.output
    assert "per fifth" not in out.output and res.prior_fifths() == {}
    assert "nan" not in out.output
    assert f"no run within the cutoff on gdp_share[A:2019] (min I {imp.min():.2f})" in out.output
