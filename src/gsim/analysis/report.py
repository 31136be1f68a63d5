"""One self-contained HTML report of a sweep store, readable offline in any browser.

The page holds everything it shows: figures are PNG images embedded as ``data:`` URLs, the
style sheet is inline, there is no script, font or any other file to fetch. Sections:
provenance, the claim verdicts, figures, sensitivity, scenario discovery and caveats. Each
section is built by a function of its results (`claims_section(gsim.claims(...))`,
`sensitivity_section(indices)`, `discovery_section({condition: boxes})`), so results computed
elsewhere can be passed in. The store is read one output at a time, like `gsim claims`, and
never written. The sections are built in `gsim.analysis.report_sections` (importable from here
too). See docs/report.md.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping, Sequence
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np

from gsim._version import __version__
from gsim.analysis import conditional as cond
from gsim.analysis import discovery as discovery_module
from gsim.analysis import figures as fg
from gsim.analysis import robustness as robust
from gsim.analysis import sensitivity as sensitivity_module
from gsim.analysis.claims import bau_policy, risk_table
from gsim.analysis.claims import claims as claim_verdicts
from gsim.analysis.indicator_section import plugin_indicator_sections
from gsim.analysis.report_sections import (
    CSS_PX_PER_INCH,
    MODEL_CAVEATS,
    TOP_INPUTS,
    _e,
    _figure,
    _note,
    caveats_section,
    claims_section,
    discovery_section,
    embed,
    history_section,
    provenance_section,
    risk_section,
    robustness_section,
    sensitivity_section,
    summary_section,
)
from gsim.claims import ClaimError
from gsim.output import atomic_write, check_writable
from gsim.sweeps.analysis import years_index
from gsim.sweeps.spec import NROY
from gsim.sweeps.store import open_checked, run_counts

if TYPE_CHECKING:  # pragma: no cover
    import xarray as xr

__all__ = [
    "caveats_section", "claims_section", "CSS_PX_PER_INCH", "discovery_section", "embed", "history_section",
    "MODEL_CAVEATS", "provenance_section", "risk_section", "robustness_section", "sensitivity_section",
    "summary_section", "TOP_INPUTS",
    "analysis_module", "contested_answers", "default_discovery", "default_robustness", "default_sensitivity",
    "report",
]

FAN_INDICATORS = ("real_gdp", "theil", "real_output_sending", "real_output_receiving")
PAIRED_INDICATORS = ("real_gdp", "theil")
SENSITIVITY_INDICATOR = "real_gdp"

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
 margin:0;color:#1b1f24;background:#fff;line-height:1.45}
main{max-width:1180px;margin:0 auto;padding:1.2rem 1.5rem 3rem}
h1{font-size:1.6rem;margin:.2rem 0 .3rem}h2{font-size:1.25rem;margin:2.2rem 0 .6rem;
 border-bottom:1px solid #d0d7de;padding-bottom:.25rem}h3{font-size:1.02rem;margin:1.4rem 0 .4rem}
nav{font-size:.9rem;margin:.4rem 0 1rem}nav a{margin-right:1rem;color:#0b5cad}
p.lead{color:#444;margin:.2rem 0}
table{border-collapse:collapse;font-size:.86rem;margin:.4rem 0 1rem;display:block;max-width:100%;overflow-x:auto}
th,td{padding:.28rem .6rem;border-bottom:1px solid #e4e7eb;text-align:left;vertical-align:top}
th{background:#f3f5f7;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
table.kv th{width:13rem;background:none;font-weight:600}
.verdict{font-weight:600;white-space:nowrap;border-radius:3px;padding:.1rem .4rem}
.holds,.mostly-holds{background:#e3f4e6;color:#185f2b}.inconclusive{background:#fdf3d7;color:#7a5a00}
.mostly-fails,.fails{background:#fbe4e2;color:#8c1d18}.no-data{background:#eee;color:#555}
tr.measure td{color:#555;font-size:.8rem;border-bottom:1px dotted #eee}
figure{margin:1rem 0 1.6rem}figure img{max-width:100%;height:auto;border:1px solid #eef0f2}
figcaption{font-size:.85rem;color:#444;margin-top:.3rem;max-width:62rem}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(460px,1fr));gap:0 1.4rem;align-items:start}
.note{background:#f6f8fa;border-left:4px solid #9aa4ae;padding:.5rem .8rem;font-size:.9rem;margin:.6rem 0}
ul.caveats li{margin:.3rem 0}code{font-size:.85em;background:#f3f5f7;padding:0 .2rem;border-radius:3px}
footer{margin-top:3rem;font-size:.8rem;color:#666}
"""


# ----------------------------------------------------------------------------------------
# sensitivity and discovery, where this gsim has them
# ----------------------------------------------------------------------------------------
def analysis_module(name: str) -> ModuleType | None:
    """The analysis module (sensitivity, discovery) a report section calls."""
    return {"sensitivity": sensitivity_module, "discovery": discovery_module}.get(name)


def default_sensitivity(store: str | Path, contrast: str) -> tuple[xr.Dataset | None, str]:
    """The indices of real GDP's paired difference `contrast` ('A-B') at the sweep's years, or
    None and why not."""
    mod = analysis_module("sensitivity")
    if mod is None:
        return None, "sensitivity analysis is not part of this gsim"
    try:
        return mod.sensitivity(store, SENSITIVITY_INDICATOR, contrast=contrast), ""
    except ValueError as e:  # bad input to the analysis, e.g. too few samples for the method
        return None, " ".join(str(e).split())


def default_robustness(store: str | Path, verdicts: xr.Dataset) -> str:
    """The robustness section at the verdicts' last year; win_win's provinces against no
    transfer where the store has the regional outputs."""
    year = float(verdicts.year.values[-1])
    rows = robust.robust_rows(robust.robustness(store, year, list(dict.fromkeys(verdicts.claim.values.tolist()))))
    prov = None
    if "none" in verdicts.attrs["policies"] and "gradient" in verdicts.attrs["policies"]:
        prov = robust.provinces(store, "gradient", "none", year)
        if prov is not None:
            prov = {**prov, "policy": "gradient", "baseline": "none"}
    why = "" if prov is not None else ("Sender definitions, per-worker and nominal variants and the "
                                       "provinces that gain need the regional outputs: run the sweep "
                                       "with --save regions.")
    return robustness_section(rows, prov, why)


def contested_answers(store: str | Path, verdicts: xr.Dataset, most: int = 2) -> dict[str, Any]:
    """The conditional answers (`gsim.analysis.conditional`) of the `most` most contested
    claims (holding in 10-90 % of samples at the last year), business-as-usual rows first;
    claim -> Conditional."""
    rows = cond.contested(verdicts)
    bau = {(str(r.claim.values), str(r.baseline.values)) for r in
           (verdicts.isel(row=i) for i in np.nonzero(verdicts.bau.values & verdicts.overall.values)[0])}
    rows.sort(key=lambda t: ((t[0], t[2]) not in bau, abs(t[3] - 0.5)))
    out: dict[str, Any] = {}
    year = float(verdicts.year.values[-1])
    for cid, pol, base, _ in rows:
        if cid in out or len(out) >= most:
            continue
        try:
            out[cid] = cond.conditional(store, cid, pol, base, year)
        except (ClaimError, ValueError):
            continue
    return out


def default_discovery(store: str | Path, conditions: Sequence[str],
                      given: bool = False) -> tuple[dict[str, Any], str]:
    """The PRIM boxes of each condition, or an empty dict and why not; a condition the user
    `given` that cannot be evaluated raises (a bad input, not a note in the report)."""
    mod = analysis_module("discovery")
    if mod is None:
        return {}, "scenario discovery is not part of this gsim"
    out = {}
    try:
        for cond in conditions:
            out[cond] = mod.discover(store, cond)
    except ValueError as e:
        if given:
            raise
        return {}, " ".join(str(e).split())
    return out, ""


# ----------------------------------------------------------------------------------------
# the report
# ----------------------------------------------------------------------------------------
def report(store: str | Path, out: str | Path, *, years: Iterable[float] | None = None,
           policy: str | None = None, baseline: str | None = None,
           sensitivity: xr.Dataset | None = None, discovery: Mapping[str, Any] | None = None,
           conditions: Sequence[str] | None = None) -> Path:
    """Write the HTML report of sweep `store` to `out` and return its path.

    years: of the claims table (default: the sweep's years). policy, baseline: the pair of the
    paired figures, the map, sensitivity and discovery (default: gradient against none).
    sensitivity: indices to show (default: real GDP's paired difference policy - baseline,
    computed when this gsim has `gsim.analysis.sensitivity`). discovery: {condition: boxes}
    (default: the PRIM boxes of `conditions`, by default real GDP not higher under the policy,
    computed when this gsim has `gsim.analysis.discovery`).
    """
    out = Path(out)
    store_path = Path(store).resolve()
    if store_path == out.resolve() or store_path in out.resolve().parents:
        raise fg.FigureError(f"{out}: write the report outside the store {store}")
    g, health = open_checked(store)  # a damaged store: StoreDamaged, no report
    out.parent.mkdir(parents=True, exist_ok=True)
    check_writable(out)  # a bad output path fails now, not after the figures
    attrs = dict(g.attrs)
    try:
        years_index(np.asarray(g["time"][:], float), years, attrs)
    except ValueError as e:
        raise fg.FigureError(f"{store}: {e}") from None
    counts = run_counts(health.status)
    policies = [str(p) for p in attrs["policies"]]
    if len(policies) > 1:
        policy, baseline = fg.default_pair(policies, policy, baseline)
    notes: list[str] = []
    if counts["n_pending"]:
        notes.append(f"The store is partial: {counts['n_pending']} of {counts['n_runs']} runs are pending; "
                     "everything here uses the runs done.")
    if counts["n_runs"] - counts["n_pending"] - counts["n_ok"]:
        notes.append(f"{counts['n_runs'] - counts['n_pending'] - counts['n_ok']} runs are done but not ok "
                     "(failed, invalid input or stopped by a plugin); a pair of runs counts only when "
                     "both are ok.")

    sections: list[tuple[str, str, str]] = [("provenance", "Provenance", provenance_section(attrs, counts))]
    conditionals: dict[str, Any] = {}
    try:
        verdicts = claim_verdicts(store, years)
    except ClaimError as e:
        verdicts = None
        notes.append(f"Claims: {e}")
        sections.append(("claims", "Claim verdicts", _note(f"No verdicts: {e}")))
    if verdicts is not None:
        if analysis_module("discovery") is not None:
            conditionals = contested_answers(store, verdicts)
        condition_words = {cid: c.words() for cid, c in conditionals.items()}
        sections.insert(0, ("summary", "The claims against business as usual",
                            summary_section(verdicts, condition_words)))
        try:
            risk = risk_table(store, float(verdicts.year.values[-1]))
        except ClaimError as e:
            risk = []
            notes.append(f"Risk table: {e}")
        sections.append(("claims", "Claim verdicts", claims_section(verdicts, risk)))
        sections.append(("robustness", "Robustness of verdicts", default_robustness(store, verdicts)))
        if verdicts.attrs.get("skipped_claims"):
            notes.append("Skipped claims: " + "; ".join(verdicts.attrs["skipped_claims"]))

    figs: list[str] = []
    if verdicts is not None:
        figs.append(_figure(lambda: fg.claims_chart(verdicts), "claim verdicts",
                            "Share of samples in which each claim holds at the last year, with its 90 % "
                            "interval; dotted line: 50 %.", notes))
    fans = [name for name in FAN_INDICATORS if name in g]
    figs.append('<div class="grid">' + "".join(
        _figure(partial(fg.fan_chart, store, name), f"fan chart of {name}",
                f"{name}: median over samples (line) and 5\u201395 % range (band) under each policy.", notes)
        for name in fans) + "</div>")
    if len(policies) > 1:
        figs.append('<div class="grid">' + "".join(
            _figure(partial(fg.paired_chart, store, name, baseline=baseline),
                    f"paired differences of {name}",
                    f"{name} at the last year: each policy minus {baseline} in the same sample. Box: "
                    "25\u201375 %, whiskers: 5\u201395 %, dots: the samples (at most 400).", notes)
            for name in PAIRED_INDICATORS if name in g) + "</div>")
        figs.append(_figure(lambda: fg.province_map(store, policy=policy, baseline=baseline), "province map",
                            f"Each region's median paired change in real output, {policy} against {baseline}, "
                            f"at the last year; circle area: {baseline}'s GDP; thick edge: sending region.",
                            notes))
    figs.append(_figure(lambda: fg.transfer_flows(fg.store_run(store, 0, policy)), "transfer flows",
                        f"Capital relocated in one run (sample 0, {policy}), cumulated over the run: the "
                        "model saves each region-tier's outflow and inflow, not the sender-receiver pairs.",
                        notes))
    sections.append(("figures", "Figures", "".join(figs)))
    sections += plugin_indicator_sections(store, g, policies, bau_policy(attrs),
                                          lambda draw, alt, caption: _figure(draw, alt, caption, notes))

    contrast = f"{policy}-{baseline}"
    why = "" if len(policies) > 1 else "the store has one policy"
    if sensitivity is None and not why:
        sensitivity, why = default_sensitivity(store, contrast)
    body = ""
    if sensitivity is not None:
        try:
            body = sensitivity_section(sensitivity)
        except fg.FigureError as e:
            why = str(e)
    if not body:
        notes.append(f"Sensitivity: {why or 'no indices given'}.")
        body = _note(f"No sensitivity indices: {why or 'none given'}.")
    sections.append(("sensitivity", "Sensitivity", body))

    why = "" if len(policies) > 1 else "the store has one policy"
    if discovery is None and not why and not conditions and conditionals:
        discovery = {c.discovery.condition: c.discovery for c in conditionals.values()}
        body_words = "".join(f"<p>{_e(c.words())}</p>" for c in conditionals.values())
    else:
        body_words = ""
    if discovery is None and not why:
        discovery, why = default_discovery(store, conditions or [f"{SENSITIVITY_INDICATOR}:{contrast}"],
                                           given=bool(conditions))
    if discovery:
        body = body_words + discovery_section(discovery)
    else:
        notes.append(f"Scenario discovery: {why or 'no boxes given'}.")
        body = _note(f"No scenario discovery: {why or 'none given'}.")
    sections.append(("discovery", "Scenario discovery", body))
    sections.append(("history", "History and projections", history_section(store, attrs, notes)))
    sections.append(("caveats", "Caveats", caveats_section(notes)))

    with atomic_write(out) as tmp:
        tmp.write_text(_page(attrs, counts, store, sections), encoding="utf-8")
    return out


def _page(attrs: Mapping[str, Any], counts: Mapping[str, int], store: str | Path,
          sections: Sequence[tuple[str, str, str]]) -> str:
    title = f"gsim report: {attrs.get('scenario', '')} sweep"
    now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    nav = "".join(f'<a href="#{sid}">{_e(name)}</a>' for sid, name, _ in sections)
    body = "".join(f'<section id="{sid}"><h2>{_e(name)}</h2>{content}</section>' for sid, name, content in sections)
    plausible = " plausible (NROY)" if attrs.get("sampler") == NROY else ""
    lead = (f"Store <code>{_e(store)}</code>: {attrs.get('samples')}{plausible} samples x {len(attrs.get('policies', []))} "
            f"policies, {counts['n_ok']} of {counts['n_runs']} runs ok, {counts['n_pending']} pending.")
    if plausible:
        lead += (" The samples are the inputs a history match did not rule out (<code>gsim sweep --from</code>): "
                 "every verdict below is read on the models the match keeps.")
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{_e(title)}</title><style>{_STYLE}</style></head><body><main>"
            f'<h1>{_e(title)}</h1><p class="lead">{lead}</p><nav>{nav}</nav>{body}'
            f"<footer>Written {now} by gsim {_e(__version__)}; self-contained: it fetches nothing.</footer>"
            "</main></body></html>\n")
