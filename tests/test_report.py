"""Figures and the HTML report: what each figure draws against direct xarray computations on
the store, errors for stores that lack what a figure needs, the report's sections (with
stand-in sensitivity indices and discovery boxes), `gsim plot` / `gsim report`, and the report
in a real headless Chromium with the network blocked."""

from __future__ import annotations

import dataclasses
import io
import re
import types

import browser
import numpy as np
import pytest
import xarray as xr
from click.testing import CliRunner
from helpers import SMALL, SMALL_OPTS, FirstBlockOnly, tree_digest

import gsim
from gsim.analysis import figures as fg
from gsim.analysis import report as rp
from gsim.analysis.claims import ClaimError
from gsim.cli import main
from gsim.model.layout import label
from gsim.observed import province_outlines
from gsim.scenario import load_scenario
from gsim.sweeps.engine import LocalExecutor, sweep

SC = load_scenario()


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """Every output saved (the map and the flows need regions and full)."""
    p = tmp_path_factory.mktemp("report") / "full.zarr"
    sweep(p, SMALL, {**SMALL_OPTS, "save": "full"}, executor=LocalExecutor(2))
    return p


@pytest.fixture(scope="module")
def indicators(tmp_path_factory):
    p = tmp_path_factory.mktemp("report") / "ind.zarr"
    sweep(p, SMALL, {**SMALL_OPTS, "samples": 4}, executor=LocalExecutor(2))
    return p


# --- stand-ins for the sensitivity and discovery results ------------------------------------------
def stand_in_indices() -> xr.Dataset:
    """Indices shaped like a sensitivity result: dims (input, time), S1/ST with half-widths."""
    inputs = ["kappa", "beta", "mu", "sigma", "nu0", "phi_w", "c_d"]
    times = np.array([2024.0, 2025.0, 2026.0])
    s1 = np.outer(np.linspace(0.5, 0.02, len(inputs)), [0.6, 0.8, 1.0])
    s1[2] = [0.05, 0.3, 0.7]  # mu becomes the largest by 2026
    data = {"S1": (("input", "time"), s1, {"long_name": "first-order Sobol index"}),
            "S1_conf": (("input", "time"), 0.1 * s1),
            "ST": (("input", "time"), 1.2 * s1, {"long_name": "total Sobol index"}),
            "ST_conf": (("input", "time"), 0.1 * s1)}
    return xr.Dataset(data, coords={"input": inputs, "time": times},
                      attrs={"indicator": "real_gdp", "long_name": "national real GDP", "method": "sobol",
                             "contrast": "gradient-none", "samples": 8})


@dataclasses.dataclass(frozen=True)
class Box:
    coverage: float
    density: float
    mass: float
    n: int
    k: int
    restrictions: tuple

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


BOXES = [Box(0.82, 0.91, 0.2, 40, 36, ({"input": "kappa", "low": 1.0, "high": 1.7, "qp": 0.001},)),
         Box(0.1, 0.85, 0.04, 8, 7, ({"input": "beta", "low": 25.0, "high": 30.0, "qp": 0.02},
                                     {"input": "mu", "low": 0.01, "high": 0.02, "qp": 0.04}))]


# --- figures against direct computations ----------------------------------------------------------
def test_fan_chart_draws_each_policys_median_and_5_95_band(store):
    fig = fg.fan_chart(store, "overcapacity[labor]")
    ax = fig.axes[0]
    ds = gsim.open_sweep(store)
    v = ds.overcapacity.sel(tier="labor")
    lines = {line.get_label(): line for line in ax.lines}
    assert list(lines) == list(ds.policy.values)
    for k, pol in enumerate(ds.policy.values):
        x = v.sel(policy=pol).stack(n=("sample", "replicate")).transpose("n", "time").values
        np.testing.assert_allclose(lines[pol].get_ydata(), np.median(x, 0), rtol=1e-12)
        np.testing.assert_allclose(lines[pol].get_xdata(), ds.time.values)
        band = ax.collections[k].get_paths()[0].vertices[:, 1]
        for q in (np.quantile(x, 0.05, 0), np.quantile(x, 0.95, 0)):
            assert np.isclose(band[:, None], q[None, :], rtol=1e-12).any(0).all()
    assert ax.get_ylabel().startswith("Overcapacity") and "(labor)" in ax.get_ylabel().replace("\n", " ")


def test_paired_chart_draws_the_paired_differences(store):
    fig = fg.paired_chart(store, "real_gdp", 2025, baseline="market")
    ax = fig.axes[0]
    ds = gsim.open_sweep(store).sel(time=2025)
    others = ["none", "subsidy_race", "gradient"]
    assert [t.get_text().split("\n")[0] for t in ax.get_yticklabels()] == others
    dots = [line for line in ax.lines if line.get_marker() == "o"]
    for pol, line in zip(others, dots):
        d = (ds.real_gdp.sel(policy=pol) - ds.real_gdp.sel(policy="market")).values.ravel()
        np.testing.assert_allclose(line.get_xdata(), d)
        for q in (np.median(d), np.quantile(d, 0.05), np.quantile(d, 0.95)):  # median line and caps
            assert any(len(line.get_xdata()) == 2 and np.allclose(line.get_xdata(), [q, q]) for line in ax.lines), q
    assert "[bn CNY/yr]" in ax.get_xlabel()


def test_claims_chart_draws_each_share_and_interval(store):
    res = gsim.claims(store)
    fig = fg.claims_chart(res, 2025)
    ax = fig.axes[0]
    rows = res.isel(row=res.overall.values.nonzero()[0]).sel(year=2025)
    points = [line for line in ax.lines if line.get_marker() == "o"]
    intervals = [line for line in ax.lines if line.get_marker() != "o" and len(line.get_xdata()) == 2
                 and line.get_linewidth() == 3]
    n = rows.sizes["row"]
    assert len(points) == len(intervals) == n
    for i in range(n):
        assert points[i].get_xdata()[0] == pytest.approx(100 * float(rows.share[i]))
        assert points[i].get_ydata()[0] == n - 1 - i
        np.testing.assert_allclose(intervals[i].get_xdata(), 100 * np.array([rows.share_lo[i], rows.share_hi[i]]))
    labels = [t.get_text() for t in ax.get_yticklabels()][::-1]
    assert labels[0] == f"{rows.claim.values[0]}: gradient vs {rows.baseline.values[0]}"


def test_province_map_colours_by_the_median_paired_gain(store):
    fig = fg.province_map(store, "real_output", 2026, "market", "none")
    pts = fig.axes[0].collections[0]
    np.testing.assert_allclose(pts.get_offsets(), np.column_stack([SC.regions.lon, SC.regions.lat]))
    ds = gsim.open_sweep(store).sel(time=2026)
    xp, xb = ds.real_output.sel(policy="market"), ds.real_output.sel(policy="none")
    gain = (100 * (xp - xb) / abs(xb)).median(["sample", "replicate"])
    np.testing.assert_allclose(pts.get_array(), gain.values, rtol=1e-12)
    gdp = ds.gdp.sel(policy="none").median(["sample", "replicate"]).values
    assert (np.argsort(pts.get_sizes(), kind="stable") == np.argsort(gdp, kind="stable")).all()
    sending = np.array([str(g) == "sending" for g in ds.region_group.values])
    widths = np.asarray(pts.get_linewidths())
    assert 0 < sending.sum() < len(sending) and (widths[sending] > widths[~sending].max()).all()
    outlines = [c for c in fig.axes[0].collections if c.get_label() == fg.BOUNDARIES_LABEL]
    assert len(outlines) == 1 and len(outlines[0].get_segments()) == len(province_outlines(SC.regions.name)) > 31


def test_transfer_flows_of_a_run_show_its_cumulated_outflow_and_inflow():
    run = gsim.simulate(policy="gradient", t1=2030)
    fig = fg.transfer_flows(run)
    ax_map, ax_bar = fig.axes[:2]
    out = run.transfer_out.integrate("time").sum("tier").values
    inn = run.transfer_in.integrate("time").sum("tier").values
    assert out.sum() > 0
    np.testing.assert_allclose(ax_map.collections[0].get_array(), inn - out, rtol=1e-9, atol=1e-9)
    widths = np.array([p.get_width() for p in ax_bar.patches])
    assert -widths[widths < 0].sum() == pytest.approx(out.sum()) and widths[widths > 0].sum() == pytest.approx(inn.sum())
    names = [t.get_text() for t in ax_bar.get_yticklabels()]
    net = dict(zip(run.region.values, inn - out))
    assert [net[n] for n in names] == sorted(net[n] for n in names)  # sorted by net inflow
    assert "bn CNY" in ax_bar.get_xlabel()


def test_a_store_run_is_the_run_of_the_paired_layout(store):
    run = fg.store_run(store, sample=3, policy="market")
    ds = gsim.open_sweep(store)
    np.testing.assert_array_equal(run.transfer_in.values, ds.transfer_in.sel(sample=3, replicate=0, policy="market").values)
    assert list(run.region_group.values) == list(ds.region_group.values) and "lat" in run.coords
    fg.transfer_flows(run)  # draws


def test_sensitivity_chart_draws_the_top_inputs_with_their_bands():
    ind = stand_in_indices()
    fig = fg.sensitivity_chart(ind, top=3)
    assert [ax.get_title() for ax in fig.axes] == ["S1", "ST"]
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.lines] == [label(n) for n in ("mu", "kappa", "beta")]  # largest S1 first
    np.testing.assert_allclose(ax.lines[0].get_ydata(), ind.S1.sel(input="mu").values)
    band = ax.collections[0].get_paths()[0].vertices[:, 1]
    hi = (ind.S1 + ind.S1_conf).sel(input="mu").values
    assert np.isclose(band[:, None], hi[None, :]).any(0).all()
    with pytest.raises(fg.FigureError, match="the indices are per region: pick one, e.g. region='A'"):
        fg.sensitivity_chart(ind.expand_dims(region=["A", "B"]))
    fg.sensitivity_chart(ind.expand_dims(region=["A", "B"]), region="B")


def test_figures_save_png_and_svg(store, tmp_path):
    fig = fg.fan_chart(store)
    assert fg.save(fig, tmp_path / "f.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in fg.save(fig, tmp_path / "f.svg").read_bytes()[:500]
    with pytest.raises(fg.FigureError, match="write .png or .svg"):
        fg.save(fig, tmp_path / "f.pdf")


# --- errors ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind,kwargs,message", [
    ("bars", {}, "unknown figure 'bars'; one of fan, paired, claims, sensitivity, map, flows"),
    ("fan", {"indicator": "gpd"}, "unknown indicator 'gpd'; the store has overcapacity, margin, real_gdp, theil"),
    ("fan", {"indicator": "overcapacity"}, "overcapacity is per tier: pick one, e.g. overcapacity[labor]"),
    ("fan", {"indicator": "overcapacity[steel]"}, "unknown tier 'steel' of overcapacity; one of labor, resource"),
    ("fan", {"indicator": "gdp"}, "the store lacks gdp; run the sweep with --save regions"),
    ("paired", {"policy": "gradual"}, "unknown policy 'gradual'; the store has none, market, subsidy_race, gradient"),
    ("paired", {"baseline": "nothing"}, "unknown baseline 'nothing'"),
    ("paired", {"year": 2031.0}, "year 2031 is not a saved time (saved: 2023 to 2026)"),
    ("claims", {"year": 2040.0}, "year 2040 is not a saved time"),
    ("map", {}, "the province map needs the per-region outputs gdp, real_output, which the store lacks; "
                "run the sweep with --save regions"),
    ("map", {"policy": "none", "baseline": "none"}, "needs the per-region outputs"),
    ("flows", {}, "the transfer flows need transfer_out, transfer_in, which the store lacks; run the sweep "
                  "with --save full"),
])
def test_what_a_figure_cannot_draw_is_a_one_line_error(indicators, kind, kwargs, message):
    with pytest.raises((fg.FigureError, ClaimError), match=re.escape(message)):
        fg.plot(indicators, kind, **kwargs)


def test_same_policy_twice_and_per_region_picks(store):
    with pytest.raises(fg.FigureError, match="the policy and the baseline are both none"):
        fg.province_map(store, policy="none", baseline="none")
    with pytest.raises(fg.FigureError, match="the map draws every region of gdp; leave out"):
        fg.province_map(store, "gdp[Beijing]")
    with pytest.raises(fg.FigureError, match="real_gdp is not a per-region output"):
        fg.province_map(store, "real_gdp")
    with pytest.raises(fg.FigureError, match="capital is per region and tier"):
        fg.fan_chart(store, "capital")
    fig = fg.fan_chart(store, "gdp[Beijing]")  # one region of a per-region output
    assert "(Beijing)" in fig.axes[0].get_ylabel().replace("\n", " ")


# --- the report ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def page(store, tmp_path_factory):
    """The report of the full store, with stand-in sensitivity indices and discovery boxes."""
    out = tmp_path_factory.mktemp("page") / "report.html"
    before = tree_digest(store)
    rp.report(store, out, sensitivity=stand_in_indices(),
              discovery={"real_gdp:gradient-market": BOXES, "theil:gradient-none": []})
    assert tree_digest(store) == before  # nothing written into the store
    return out


def test_report_holds_every_section_and_fetches_nothing(page, store):
    text = page.read_text(encoding="utf-8")
    for sid in ("summary", "provenance", "claims", "robustness", "figures", "sensitivity", "discovery",
                "caveats"):
        assert f'<section id="{sid}">' in text
    assert text.index('<section id="summary">') < text.index('<section id="provenance">')
    summary = text.split('<section id="summary">')[1].split("</section>")[0]
    assert summary.count("against market (business as usual)") == 6
    attrs = gsim.open_sweep(store).attrs
    for fact in (attrs["scenario_hash"], str(attrs["root_seed"]), "lhs: 8 samples x 1 replicates",
                 "32: 32 done (32 ok, 0 failed, 0 invalid input, 0 stopped by a plugin), 0 pending"):
        assert fact in text
    res = gsim.claims(store)
    assert text.count('<span class="verdict') == int(res.overall.sum())
    assert text.count('<tr class="measure">') == int((~res.overall).sum())
    # figures: claims over time, claims, 4 fans, 2 paired, map, flows, sensitivity; all embedded
    # 11 of the sweep, and the backcast of its scenario by macro-region and by province
    assert len(re.findall(r"<img ", text)) == 13 == len(re.findall(r'<img src="data:image/png;base64,', text))
    assert not re.search(r"(?i)<script|<link|@import|url\(|https?://", text)
    # the stand-ins: sensitivity table in 2026 (mu first), both boxes with their restrictions
    sens = text.split('<section id="sensitivity">')[1].split("</section>")[0]
    mu, kappa = "migration rate (μ)", "readiness steepness (κ)"  # inputs by their labels
    assert "<h3>In 2026</h3>" in sens and sens.index(f"<td>{mu}</td>") < sens.index(f"<td>{kappa}</td>")
    assert f"{kappa} in [1, 1.7] \u00b7 qp 0.001" in text and "0.82" in text
    assert "No box: the condition holds in no sample" in text
    assert "What the model does not capture" in text


def test_report_computes_sensitivity_and_discovery_with_their_modules(store, tmp_path, monkeypatch):
    calls = []

    def fake(name):
        if name == "sensitivity":
            return types.SimpleNamespace(sensitivity=lambda s, i, contrast: calls.append((i, contrast))
                                         or stand_in_indices())
        return types.SimpleNamespace(discover=lambda s, cond: calls.append(cond) or BOXES[:1])

    monkeypatch.setattr(rp, "analysis_module", fake)
    text = rp.report(store, tmp_path / "r.html", policy="gradient", baseline="market").read_text()
    assert calls == [("real_gdp", "gradient-market")]  # discovery: the most contested claim's boxes
    assert "<h3>In 2026</h3>" in text and "Condition <code>claim efficiency:gradient-market fails</code>" in text
    text = rp.report(store, tmp_path / "r.html", conditions=["real_gdp:gradient-market"]).read_text()
    assert calls[-1] == "real_gdp:gradient-market" and "Condition <code>real_gdp:gradient-market</code>" in text

    monkeypatch.setattr(rp, "analysis_module", lambda name: None)
    text = rp.report(store, tmp_path / "r.html").read_text()
    assert "No sensitivity indices: sensitivity analysis is not part of this gsim." in text
    assert "No scenario discovery: scenario discovery is not part of this gsim." in text


def test_report_of_a_partial_indicators_store_says_what_is_missing(tmp_path, monkeypatch):
    p = tmp_path / "partial.zarr"
    sweep(p, SMALL, SMALL_OPTS, executor=FirstBlockOnly())
    monkeypatch.setattr(rp, "analysis_module", lambda name: None)
    text = rp.report(p, tmp_path / "r.html").read_text()
    assert "16 of 32 runs are pending" in text and "0 pending" not in text.split("Provenance")[0]
    assert "province map: not drawn." in text and "run the sweep with --save regions" in text
    assert "transfer flows: not drawn." in text and "run the sweep with --save full" in text
    assert len(re.findall(r"<img ", text)) == 10  # claims, claims over time, 4 fans, 2 paired, 2 backcast


def test_report_of_a_one_policy_store_says_what_it_cannot_compare(tmp_path):
    p = tmp_path / "one.zarr"
    sweep(p, SMALL, {**SMALL_OPTS, "samples": 2, "policies": "gradient"}, executor=LocalExecutor(1))
    text = rp.report(p, tmp_path / "r.html").read_text()
    assert "No verdicts:" in text and "no claim can be evaluated: the store has the policies gradient" in text
    assert "No sensitivity indices: the store has one policy." in text
    assert "No scenario discovery: the store has one policy." in text
    assert len(re.findall(r"<img ", text)) == 6  # the four fan charts, the two of the backcast


def test_report_refuses_to_write_into_its_store(store):
    with pytest.raises(fg.FigureError, match="write the report outside the store"):
        rp.report(store, store / "report.html")


# --- command line ----------------------------------------------------------------------------------
def test_plot_command_writes_each_kind(store, tmp_path):
    for kind, extra in (("fan", ["--indicator", "theil"]), ("paired", ["--year", "2025"]), ("claims", []),
                        ("map", ["--policy", "market"]), ("flows", ["--sample", "2"])):
        out = tmp_path / f"{kind}.svg"
        res = CliRunner().invoke(main, ["plot", str(store), kind, "-o", str(out), *extra])
        assert res.exit_code == 0, res.output
        assert out.read_bytes().startswith(b"<?xml") and f"wrote {out}" in res.output


def test_plot_command_draws_a_run_file(tmp_path):
    nc = tmp_path / "run.nc"
    assert CliRunner().invoke(main, ["run", "--policy", "all", "--t1", "2026", "--out", str(nc)]).exit_code == 0
    res = CliRunner().invoke(main, ["plot", str(nc), "flows", "-o", str(tmp_path / "f.png")])
    assert res.exit_code == 2 and "pick one of none, market, subsidy_race, gradient" in res.output
    res = CliRunner().invoke(main, ["plot", str(nc), "flows", "--policy", "market", "-o", str(tmp_path / "f.png")])
    assert res.exit_code == 0, res.output


@pytest.mark.parametrize("args,message", [
    (["bars"], "unknown figure 'bars'"),
    (["fan", "--indicator", "gpd"], "unknown indicator 'gpd'"),
    (["paired", "--policy", "gradual"], "unknown policy 'gradual'"),
    (["paired", "--year", "2031"], "year 2031 is not a saved time"),
    (["map"], "run the sweep with --save regions"),
    (["flows"], "run the sweep with --save full"),
    (["fan", "-o", "x.pdf"], "write .png or .svg"),
])
def test_plot_command_errors_are_one_line_exit_2(indicators, tmp_path, args, message):
    out = ["-o", str(tmp_path / "x.png")] if "-o" not in args else []
    res = CliRunner().invoke(main, ["plot", str(indicators), *args, *out])
    assert res.exit_code == 2 and message in res.output, res.output
    assert "Traceback" not in res.output and len(res.output.strip().splitlines()) == 1


def test_report_command(indicators, tmp_path, monkeypatch):
    monkeypatch.setattr(rp, "analysis_module", lambda name: None)
    out = tmp_path / "out" / "r.html"
    res = CliRunner().invoke(main, ["report", str(indicators), "-o", str(out), "--baseline", "market"])
    assert res.exit_code == 0, res.output
    assert f"wrote {out}; open it in a browser" in res.output and "gradient vs market" in out.read_text()
    for args, message in ((["--baseline", "nothing"], "unknown baseline 'nothing'"),
                          (["--years", "2031"], "year 2031 is not a saved time (saved: 2023 to 2026)"),
                          (["--years", "soon"], "--years: expected numbers separated by commas")):
        res = CliRunner().invoke(main, ["report", str(indicators), "-o", str(tmp_path / "bad.html"), *args])
        assert res.exit_code == 2 and message in res.output, res.output
        assert len(res.output.strip().splitlines()) == 1 and not (tmp_path / "bad.html").exists()


# --- in a real browser -----------------------------------------------------------------------------
def _chromium() -> str:
    exe = browser.chromium()
    if exe is None:
        pytest.fail("chromium is not installed: the report is tested in a real browser. Install it "
                    "(Debian/Ubuntu: apt-get install -y chromium; .ci/run does this)")
    return exe


def _blank(png: bytes, img: dict) -> bool:
    """Whether the screenshot's region of an <img> is one flat colour."""
    from PIL import Image

    shot = np.asarray(Image.open(io.BytesIO(png)).convert("L"), float)
    x, y, w, h = (int(round(img[k])) for k in ("x", "y", "width", "height"))
    region = shot[y:y + h, x:x + w]
    return region.size == 0 or region.std() < 1.0


def test_report_in_headless_chromium_with_the_network_blocked(page, tmp_path):
    shown = browser.load(page, _chromium())
    (tmp_path / "report.png").write_bytes(shown.screenshot)  # for a look when it fails
    assert shown.title == "gsim report: china31 sweep"
    assert shown.console_errors == [] and shown.exceptions == [] and shown.log_errors == []
    assert shown.external == [] and shown.failed == []
    assert len(shown.images) == 13  # as test_report_holds_every_section_and_fetches_nothing
    for img in shown.images:
        assert img["complete"] and img["naturalWidth"] > 0 and img["naturalHeight"] > 0, img["alt"]
        assert img["width"] > 300 and not _blank(shown.screenshot, img), img["alt"]


def test_the_browser_check_catches_fetches_errors_and_blank_figures(tmp_path):
    """The checks above can fail: a page that fetches, logs an error and shows a blank and a
    broken figure is caught on each count."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (400, 200), "white").save(buf, format="PNG")
    import base64

    white = base64.b64encode(buf.getvalue()).decode()
    bad = tmp_path / "bad.html"
    bad.write_text(f'<html><body><img alt="blank" src="data:image/png;base64,{white}" width="400" height="200">'
                   '<img alt="remote" src="https://example.org/figure.png" width="400" height="200">'
                   '<script>console.error("boom")</script></body></html>')
    shown = browser.load(bad, _chromium())
    assert shown.console_errors == ["boom"]
    assert shown.external == ["https://example.org/figure.png"] and len(shown.failed) == 1
    blank, remote = shown.images
    assert blank["naturalWidth"] == 400 and _blank(shown.screenshot, blank)
    assert remote["naturalWidth"] == 0
