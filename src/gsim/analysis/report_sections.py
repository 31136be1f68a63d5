"""The sections of the HTML report, each a function of its results returning HTML
(`claims_section(gsim.claims(...))`, `sensitivity_section(indices)`, `discovery_section({condition:
boxes})`, ...), so results computed elsewhere can be passed in; figures are embedded as PNG
data URLs (`embed`)."""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gsim._version import __version__
from gsim.analysis import backcast as bc
from gsim.analysis import claim_words as words
from gsim.analysis import figures as fg
from gsim.analysis import history_figures as hf
from gsim.analysis import plausibility
from gsim.analysis.claims import VERDICT_RULE, counts_line, percent, share_text, verdict
from gsim.analysis.quicklook import human, signed_pct
from gsim.claims import ClaimError
from gsim.model.layout import label
from gsim.scenario import loads_scenario

if TYPE_CHECKING:  # pragma: no cover
    import xarray as xr
    from matplotlib.figure import Figure

TOP_INPUTS = 6  # inputs drawn and listed in the sensitivity section
CSS_PX_PER_INCH = 100  # shown size of a figure (drawn at fg.DPI: sharp on high-density screens)

# What GTM-1 leaves out (docs/model.md, the reference specification): said on every report.
MODEL_CAVEATS = (
    "The results are statements about the model named in the provenance (GTM-1 or GTM-2) with "
    "this scenario's data and the sampled input "
    "ranges, not forecasts for the regions it names. A share of samples is a share in the sweep's "
    "input distribution; it says nothing about inputs outside the sampled ranges.",
    "The model is a closed national economy: tier demand is national, with no foreign trade, "
    "exchange rates or external demand shocks.",
    "Public finance is reduced to an infrastructure budget that pays subsidies and pairing aid; "
    "there is no public debt, taxation, land market, housing, environment or energy constraint.",
    "Each region-tier is one representative sector; firms, ownership, supply chains between "
    "tiers and the flow between each sender and receiver are not represented (transfers are saved "
    "per region and tier, as outflow and inflow).",
    "Migration follows wage and employment gaps net of distance (GTM-1) or their change since the "
    "start year, taken as a spatial equilibrium (GTM-2); the hukou system, housing costs and age "
    "structure enter only through that equilibrium and the exogenous population paths.",
    "The model is deterministic: replicates differ only through inputs sampled per run, and "
    "policies follow fixed rules (no learning, anticipation or political economy).",
)


def _e(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _note(text: str) -> str:
    return f'<p class="note">{_e(text)}</p>'


def embed(fig: Figure, alt: str, caption: str = "") -> str:
    """A figure as an HTML <figure> holding a PNG data URL (nothing to fetch)."""
    buf = io.BytesIO()
    fg.render(fig, buf, format="png", dpi=fg.DPI)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    width, height = (int(round(v * CSS_PX_PER_INCH)) for v in fig.get_size_inches())
    cap = f"<figcaption>{_e(caption)}</figcaption>" if caption else ""
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{_e(alt)}" width="{width}" '
            f'height="{height}">{cap}</figure>')


def _figure(draw: Callable[[], Figure], alt: str, caption: str, notes: list[str]) -> str:
    """`draw()` embedded, or, where the store lacks what it needs, a note saying so (also
    collected into `notes` for the caveats)."""
    try:
        return embed(draw(), alt, caption)
    except (fg.FigureError, ClaimError) as e:
        notes.append(f"{alt}: {e}")
        return _note(f"{alt}: not drawn. {e}")


# ----------------------------------------------------------------------------------------
# sections
# ----------------------------------------------------------------------------------------
def provenance_section(attrs: Mapping[str, Any], counts: Mapping[str, int]) -> str:
    """Where the results come from: versions, scenario and its hash, seed, sampler, the run
    counts, and the sampled inputs."""
    spec = json.loads(attrs.get("sweep_spec", "{}"))
    c = counts
    rows = [
        ("store written by", attrs.get("source", attrs.get("gsim_version", ""))),
        ("report written by", f"gsim {__version__}"),
        ("created", attrs.get("history", "")),
        ("scenario", attrs.get("scenario", "")),
        ("scenario hash (sha256)", attrs.get("scenario_hash", "")),
        ("sweep configuration hash", attrs.get("config_hash", "")),
        ("root seed", attrs.get("root_seed", "")),
        ("sampler", f"{attrs.get('sampler', '')}: {attrs.get('samples', '')} samples x "
                    f"{attrs.get('replicates', '')} replicates"),
        ("policies", ", ".join(map(str, attrs.get("policies", [])))),
        ("saved outputs", f"--save {attrs.get('save', '')}"),
        ("integration", f"{attrs.get('method', '')}, dt = {attrs.get('dt', '')} yr, "
                        f"{attrs.get('t0', 0):g}\u2013{attrs.get('t1', 0):g}"),
        ("runs", f"{c['n_runs']}: {c['n_done']} done ({c['n_ok']} ok, {c['n_failed']} failed, "
                 f"{c['n_invalid']} invalid input, {c.get('n_plugin_fault', 0)} stopped by a plugin), "
                 f"{c['n_pending']} pending"),
    ]
    table = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows)
    out = f'<table class="kv">{table}</table>'
    uncertain = spec.get("uncertain", [])
    if uncertain:
        body = "".join(
            f"<tr><td><code>{_e(u['target'])}</code></td><td>{_e(u['dist'])}</td>"
            f"<td>{_e(', '.join(f'{k} = {_fmt(v)}' for k, v in u['args'].items()))}</td>"
            f"<td>{_e(u['apply'])}</td><td>{_e(u['scope'])}{', per region' if u.get('per_region') else ''}</td></tr>"
            for u in uncertain)
        out += ("<h3>Sampled inputs</h3><table><tr><th>input</th><th>distribution</th><th>arguments</th>"
                f"<th>apply</th><th>scope</th></tr>{body}</table>")
    return out


def _verdict_cell(share: float, lo: float, hi: float) -> str:
    word = verdict(share, lo, hi)
    text = "no pairs of ok runs" if word == "no data" else f"{word}: {share_text(share, lo, hi)} of samples"
    return f'<td><span class="verdict {word.replace(" ", "-")}">{_e(text)}</span></td>'


def summary_section(res: xr.Dataset, conditions: Mapping[str, str] | None = None) -> str:
    """One plain-language paragraph per claim against business as usual: the verdict, its
    size, the years and (from `conditions`: claim -> words) the condition it depends on."""
    conditions = conditions or {}
    paras = [words.paragraph(res, cid, conditions.get(cid, ""))
             for cid in dict.fromkeys(res.claim.values.tolist())]
    bau = res.attrs.get("business_as_usual", "")
    return (f"<p>Business as usual is <code>{_e(bau)}</code>; the other baselines follow in the "
            "verdict table.</p>" + "".join(f"<p>{_e(p)}</p>" for p in paras if p))


def claims_section(res: xr.Dataset, risk: Sequence[Mapping[str, Any]] = ()) -> str:
    """The verdict table of `gsim.claims(...)`: per claim and pair (business as usual first)
    the share of samples in which it holds at each year, the verdict in words with its 90 %
    interval and the share equivalent at the last, the time path in one line; then each
    measure's median paired effect with its threshold; the share-holding figure over time;
    the risk table; the checks, skipped claims and the claims' statements."""
    years = [float(y) for y in res.year.values]
    head = "".join(f'<th class="num">{y:g}</th>' for y in years[:-1])
    rows = []
    for i in range(res.sizes["row"]):
        r = res.isel(row=i)
        share, lo, hi = (r[k].values for k in ("share", "share_lo", "share_hi"))
        if bool(r.overall):
            cells = "".join(f'<td class="num">{percent(x)} %</td>' for x in share[:-1])
            bau = " (business as usual)" if bool(r.bau) else ""
            rows.append(f"<tr><td><b>{_e(r.claim.values)}</b></td><td>{_e(r.policy.values)} vs "
                        f"{_e(r.baseline.values)}{bau}</td>{cells}{_verdict_cell(share[-1], lo[-1], hi[-1])}"
                        f'<td class="num">{percent(r.share_equivalent.values[-1])} %</td>'
                        f"<td>{_e(words.path_words(r))}</td></tr>")
            if str(r.measure.values) != "all measures":
                rows.append(_measure_row(r, len(years)))
            continue
        rows.append(_measure_row(r, len(years)))
    table = (f"<table><tr><th>claim</th><th>policy vs baseline</th>{head}<th>{years[-1]:g}: verdict</th>"
             "<th>equivalent</th><th>time path</th></tr>" + "".join(rows) + "</table>")
    a = res.attrs
    note = ("Share of samples (pairs of ok runs with the same sampled inputs) in which the policy beats "
            "the baseline on every measure of the claim by more than the measure's threshold (and "
            "no guard measure loses more than its threshold), with the 90 % Jeffreys interval, "
            f"rounded outward. Verdict: {VERDICT_RULE}. Equivalent: every measure within its "
            "threshold both ways. Time path: from when the claim at least mostly holds to the "
            "horizon, the years in which the first measure's median effect is worse than its "
            f"threshold, and its cumulative effect discounted at {a.get('discount_rate', 0):.0%} a "
            "year. Grey rows: each measure's median paired change in % of the baseline [5–95 %] "
            "(natural units), its threshold, and the share in which that measure alone beats it.")
    out = f"<p>{_e(counts_line(a))}</p>{table}<p class=\"lead\">{_e(note)}</p>"
    out += _figure(lambda: fg.claim_paths_chart(res), "claims over time",
                   "Share of samples in which each claim holds at every saved time, against each "
                   "baseline (business as usual thick; band: the first baseline's 90 % interval); "
                   "dotted: 50 % and 90 %.", [])
    if risk:
        out += risk_section(risk)
    for line in a.get("checks", ()):
        out += _note("Check: " + str(line))
    if a.get("skipped"):
        out += _note("Not in the store, skipped: " + "; ".join(map(str, a["skipped"])))
    if len(a.get("skipped_claims", ())):
        out += "<h3>Skipped claims</h3><ul>" + "".join(
            f"<li>{_e(x)}</li>" for x in a["skipped_claims"]) + "</ul>"
    statements = dict(zip(res.claim.values.tolist(), res.statement.values.tolist()))
    out += "<h3>The claims</h3><ul>" + "".join(
        f"<li><b>{_e(cid)}</b>: {_e(text)}</li>" for cid, text in statements.items()) + "</ul>"
    return out


def _measure_row(r: Any, n_years: int) -> str:
    j = n_years - 1
    last = r.isel(year=j)
    pct, eff = r.effect_pct.values, r.effect.values
    change = [signed_pct(p) if np.isfinite(p) else human(e, 3) for p, e in zip(pct, eff)]
    cells = "".join(f'<td class="num">{_e(c)}</td>' for c in change[:j])
    return (f'<tr class="measure"><td>&nbsp;&nbsp;{_e(r.measure.values)}</td><td></td>{cells}'
            f"<td>{_e(words.effect_text(last))} \u00b7 threshold {_e(r.threshold.values)} \u00b7 "
            f"beats it in {percent(float(last.share.values))} %</td>"
            f'<td class="num">{percent(float(last.share_equivalent.values))} %</td>'
            f"<td>{_e(r.reason.values)}</td></tr>")


def robustness_section(rows: Sequence[Mapping[str, Any]], provinces: Mapping[str, Any] | None = None,
                       why: str = "") -> str:
    """The robustness of verdicts (`gsim.analysis.robustness.robust_rows`): per claim and pair
    the verdict as declared, under the former sign test, whether it is robust, the range of
    shares and the definitions that give another word; win_win's provinces that gain."""
    body = ""
    for r in rows:
        shares = [v for v in r["shares"].values() if np.isfinite(v)]
        span = f"{percent(min(shares))}\u2013{percent(max(shares))} %" if shares else "-"
        other = "; ".join(f"{d}: {w}" for d, w in r["words"].items() if w != r["declared"])
        body += (f"<tr><td><b>{_e(r['claim'])}</b> vs {_e(r['baseline'])}</td><td>{_e(r['declared'])}</td>"
                 f"<td>{_e(r['former'])}</td><td>{'yes' if r['robust'] else 'no'}</td>"
                 f'<td class="num">{span}</td><td>{_e(other)}</td></tr>')
    out = ("<table><tr><th>claim vs baseline</th><th>declared</th><th>any gain (former rule)</th>"
           "<th>robust</th><th>shares</th><th>other words under</th></tr>" + body + "</table>"
           '<p class="lead">A verdict is robust when its word is the same under every declared '
           "definition: thresholds halved and doubled, every other tier and the mean over tiers for a "
           "measure of one tier, "
           "and for win_win, where the store has the regional outputs, the sending regions by GDP per "
           "capita above the mean, above the median, the top five and the NBS East, as totals and per "
           "worker, real and nominal; real GDP also as nominal GDP and per worker. Any gain: every "
           "threshold 0, the sign test gsim used before thresholds (not counted in robust).</p>")
    if why:
        out += _note(why)
    if provinces:
        p = provinces
        out += (f"<p>win_win, {_e(p['policy'])} against {_e(p['baseline'])}: of {p['regions']} provinces, "
                f"a median of {p['gain_median']:g} gain real output (from {p['gain_min']} to {p['gain_max']} "
                f"over samples); no province loses (Pareto) in {percent(p['pareto'])} % of samples. "
                f"Provinces that lose in most samples: {_e(', '.join(p['mostly_lose']) or 'none')}.</p>")
    return out


def risk_section(risk: Sequence[Mapping[str, Any]]) -> str:
    """The risk table (`gsim.analysis.claims.risk_table`): per policy, its real GDP against
    the reference policy: downside probability, 5 % quantile, CVaR, spread; loss per unit
    moved."""
    if not risk:
        return ""
    ref, year = risk[0]["reference"], risk[0]["year"]
    body = "".join(
        f"<tr><td>{_e(r['policy'])}</td><td class=\"num\">{percent(r['downside'])} %</td>"
        f'<td class="num">{signed_pct(r["p5"])}</td><td class="num">{signed_pct(r["cvar"])}</td>'
        f'<td class="num">{r["spread"]:.2f} points</td><td class="num">{signed_pct(r["median"])}</td>'
        f'<td class="num">{_fmt(r["loss_per_moved"])}</td></tr>' for r in risk)
    return (f"<h3>Risk against {_e(ref)} in {year:g}</h3><table><tr><th>policy</th><th>ends below "
            f"{_e(ref)}</th><th>5 % quantile</th><th>CVaR 5 %</th><th>spread (5\u201395 %)</th>"
            "<th>median</th><th>capital lost per unit moved</th></tr>" + body + "</table>"
            f'<p class="lead">Real GDP of each policy relative to {_e(ref)} in the same sample, '
            "in %: the share of samples ending below it, the 5 % quantile, the mean of the worst "
            "5 % (CVaR), the 5\u201395 % range; capital lost per unit of capital moved, both "
            "cumulated from t0 (median over samples).</p>")


def sensitivity_section(indices: xr.Dataset, top: int = TOP_INPUTS) -> str:
    """The sensitivity figure of `indices` (dims input, time; variables such as S1 and ST, PAWN
    or delta, each with ``NAME_conf``) and a table of the `top` inputs at the last time."""
    a = indices.attrs
    what = a.get("long_name") or a.get("indicator", "")
    contrast = ", paired difference " + str(a["contrast"]).replace("-", " \u2212 ") if a.get("contrast") else ""
    intro = (f"<p>Which sampled inputs drive {_e(what)}{_e(contrast)}: method {_e(a.get('method', ''))}"
             f"{_e(', ' + str(a['samples']) + ' samples') if a.get('samples') else ''}. Bands and \u00b1 "
             "values: the confidence interval of each index.</p>")
    fig = embed(fg.sensitivity_chart(indices, top), f"sensitivity of {what}",
                "Sensitivity indices over time, the inputs with the largest index.")
    names = [str(v) for v in indices.data_vars
             if "input" in indices[v].dims and "time" in indices[v].dims and not str(v).endswith("_conf")]
    last = indices.isel(time=-1)
    first = last[names[0]].values
    order = np.argsort(-np.where(np.isfinite(first), first, -np.inf), kind="stable")[:top]
    head = "".join(f'<th class="num">{_e(n)}</th>' for n in names)
    body = ""
    for i in order:
        cells = ""
        for n in names:
            v = float(last[n].values[i])
            conf = f" \u00b1 {float(last[n + '_conf'].values[i]):.2f}" if n + "_conf" in last else ""
            cells += f'<td class="num">{v:.2f}{conf}</td>'
        body += f"<tr><td>{_e(label(str(last['input'].values[i])))}</td>{cells}</tr>"
    if any(f"{n}_dummy" in last for n in names):  # the level an input of no effect reaches
        cells = "".join(f'<td class="num">{float(last[n + "_dummy"]):.2f}</td>' if n + "_dummy" in last
                        else "<td></td>" for n in names)
        body += f"<tr><td>dummy (no effect)</td>{cells}</tr>"
    year = float(last["time"].values)
    table = f"<h3>In {year:g}</h3><table><tr><th>input</th>{head}</tr>{body}</table>"
    return intro + fig + table


def _boxes(result: Any) -> list[Any]:
    """The boxes of a discovery result: a sequence of boxes, or an object holding `.boxes`."""
    return list(getattr(result, "boxes", result))


def _fmt(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def discovery_section(results: Mapping[str, Any]) -> str:
    """Per condition, its PRIM boxes (objects with ``to_dict()``: coverage, density, ... and
    ``restrictions``, each a dict with ``input``, ``low``, ``high``)."""
    out = []
    for condition, result in results.items():
        boxes = [b.to_dict() for b in _boxes(result)]
        out.append(f"<h3>Condition <code>{_e(condition)}</code></h3>")
        if hasattr(result, "n_interest") and hasattr(result, "n_cases"):
            out.append(f"<p>It holds in {result.n_interest} of {result.n_cases} cases.</p>")
        if not boxes:
            out.append(_note("No box: the condition holds in no sample, in every sample, or in no "
                             "region of the inputs dense enough to report."))
            continue
        stats = [k for k in boxes[0] if k != "restrictions"]
        head = "".join(f'<th class="num">{_e(k)}</th>' for k in stats)
        body = ""
        for i, b in enumerate(boxes, 1):
            restr = "<br>".join(
                f"{_e(label(r['input']))} in [{_fmt(r['low'])}, {_fmt(r['high'])}]"
                + "".join(f" \u00b7 {_e(k)} {_e(_fmt(v))}" for k, v in r.items() if k not in ("input", "low", "high"))
                for r in b.get("restrictions", ()))
            body += (f"<tr><td>{i}</td>" + "".join(f'<td class="num">{_e(_fmt(b[k]))}</td>' for k in stats)
                     + f"<td>{restr}</td></tr>")
        out.append(f"<table><tr><th>box</th>{head}<th>restricted inputs</th></tr>{body}</table>")
    out.append('<p class="lead">Coverage: the share of all samples where the condition holds that fall '
               "in the box; density: the share of the box's samples where it holds; mass: the share "
               "of all samples in the box.</p>")
    return "".join(out)


def history_section(store: str | Path, attrs: Mapping[str, Any], notes: list[str]) -> str:
    """The model against history (the backcast of the store's scenario, docs/validation.md) and
    the store's business-as-usual runs against the SSP projections, where the store allows."""
    out = ""
    try:
        sc = loads_scenario(str(attrs["scenario_toml"]))
        ds = bc.backcast(bc.backcast_scenario(sc))
    except (KeyError, ValueError) as e:
        notes.append(f"Backcast: {' '.join(str(e).split())}")
        out += _note(f"No backcast: {' '.join(str(e).split())}.")
    else:
        rows = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in r) + "</tr>" for r in bc.fit_table(ds))
        out += ("<p>The store's scenario started in 2013 from that year's data and run to 2023 under "
                "business as usual, against the NBS panel (skill: 1 − RMSE/RMSE of persistence in 2023, "
                "in 2019 for real_gdp_share, the provincial real index's last year; ≤ 0 means no better "
                "than every province keeping its 2013 share).</p>"
                "<div><table><tr><th>series</th><th>units</th><th>RMSE</th><th>bias</th>"
                f"<th>rank r</th><th>coverage</th><th>skill</th></tr>{rows}</table></div>")
        out += _figure(lambda: hf.backcast_macro(ds), "backcast by macro-region",
                       "Observed (black) and model (blue) shares of each macro-region, 2013-2023.", notes)
        out += _figure(lambda: hf.backcast_provinces(ds), "backcast by province",
                       "GDP share of each province, observed and model.", notes)
    bau = str(attrs.get("business_as_usual", "market"))
    try:
        check = plausibility.forward_plausibility(store, bau)
    except (KeyError, ValueError) as e:
        out += _note(f"No comparison with the SSP projections: {' '.join(str(e).split())}.")
    else:
        out += _figure(lambda: hf.ssp_band(check), "SSP band",
                       f"National real GDP {check.attrs['t1']}/{check.attrs['t0']} of the {bau} runs beside the "
                       "provincial SSP1-SSP5 projections summed (china31_ssp.csv).", notes)
        if "population_inside_provinces" in check.attrs:
            out += (f"<p>Provincial population in {check.attrs['t1']} (median of the {bau} runs) lies inside "
                    f"the SSP range in {check.attrs['population_inside_provinces']} of "
                    f"{check.sizes['region']} provinces.</p>")
    return out


def caveats_section(notes: Iterable[str]) -> str:
    items = "".join(f"<li>{_e(c)}</li>" for c in MODEL_CAVEATS)
    this = "".join(f"<li>{_e(n)}</li>" for n in notes)
    out = f'<h3>What the model does not capture</h3><ul class="caveats">{items}</ul>'
    if this:
        out += f'<h3>This report</h3><ul class="caveats">{this}</ul>'
    return out
