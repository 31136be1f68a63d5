"""Claim verdicts in words: effects with their thresholds, the time path in one line, and
one plain-language paragraph per claim against business as usual (CLI, report, docs)."""

from __future__ import annotations

from typing import Any

import numpy as np

from gsim.analysis.claims import percent, share_text, verdict
from gsim.analysis.quicklook import human, signed_pct


def _year(y: Any) -> str:
    return f"{float(y):g}"


def effect_parts(r: Any) -> tuple[str, str]:
    """A measure row's median paired effect at one year: ('+1.3 % [-0.1, +2.9]', '+1.2k bn
    CNY/yr'); the first is the range in the row's units where the baseline's value is 0."""
    pct, eff = float(r.effect_pct.values), float(r.effect.values)
    units = str(r.units.values)
    natural = f"{'+' if eff > 0 else ''}{human(eff, 3)}{' ' + units if units not in ('', '1') else ''}"
    if not np.isfinite(pct):
        return (f"[{human(float(r.effect_p5.values), 3)}, {human(float(r.effect_p95.values), 3)}]", natural)
    p5, p95 = (signed_pct(float(v)).replace(" %", "") for v in (r.effect_pct_p5.values, r.effect_pct_p95.values))
    return f"{signed_pct(pct)} [{p5}, {p95}]", natural


def effect_text(r: Any) -> str:
    """A measure row's median paired effect at one year with its 5-95 % range, in % of the
    baseline and in natural units: '+1.3 % [-0.1, +2.9] (+1.2k bn CNY/yr)'."""
    pct, eff = float(r.effect_pct.values), float(r.effect.values)
    units = str(r.units.values)
    natural = f"{'+' if eff > 0 else ''}{human(eff, 3)}{' ' + units if units not in ('', '1') else ''}"
    if not np.isfinite(pct):
        return f"{natural} [{human(float(r.effect_p5.values), 3)}, {human(float(r.effect_p95.values), 3)}]"
    return (f"{signed_pct(pct)} [{signed_pct(float(r.effect_pct_p5.values))}, "
            f"{signed_pct(float(r.effect_pct_p95.values))}] ({natural})")


def path_words(r: Any) -> str:
    """The time path of an overall row in one line: from when the claim at least mostly
    holds, whether it does at the horizon, the years it is worse and the discounted effect."""
    if not np.isfinite(np.asarray(r.path_share.values, float)).any():
        return "no pair of ok runs at any saved time: nothing to judge"  # not "never holds"
    first = float(r.first_year.values)
    parts = [f"mostly holds from {_year(first)}" if np.isfinite(first) else
             ("never mostly holds to the horizon" if not float(r.holds_at_horizon.values)
              else "mostly holds at the horizon")]
    if np.isfinite(float(r.worse_from.values)):
        span = f"{_year(r.worse_from.values)}\u2013{_year(r.worse_to.values)}"
        loss = float(r.transition_loss_pct.values)
        parts.append(f"worse {span}" + (f" ({signed_pct(loss)} cum.)" if np.isfinite(loss) else ""))
    disc = float(r.discounted_pct.values)
    if np.isfinite(disc):
        parts.append(f"discounted {signed_pct(disc)}")
    return "; ".join(parts)


def paragraph(res: Any, cid: str, condition: str = "") -> str:
    """One plain-language paragraph of claim `cid` against business as usual (its first
    baseline where the store lacks it): the verdict, its size, the years, the condition."""
    rows = res.isel(row=((res.claim == cid) & res.overall).values.nonzero()[0])
    if not rows.sizes["row"]:
        return ""
    bau = np.nonzero(rows.bau.values)[0]
    r = rows.isel(row=int(bau[0]) if len(bau) else 0)
    last = r.isel(year=-1)
    share, lo, hi = (float(last[k].values) for k in ("share", "share_lo", "share_hi"))
    word = verdict(share, lo, hi)
    base = str(r.baseline.values)
    who = f"{base} (business as usual)" if bool(r.bau) else base
    text = (f"{cid}, {r.policy.values} against {who}: {word} in {_year(last.year.values)}; "
            f"the claim holds in {share_text(share, lo, hi)} of samples and is within its "
            f"thresholds (equivalent) in {percent(float(last.share_equivalent.values))} %.")
    measures = res.isel(row=((res.claim == cid) & (res.baseline == base)).values.nonzero()[0])
    sizes = []
    for i in range(measures.sizes["row"]):
        m = measures.isel(row=i, year=-1)
        if str(m.measure.values) != "all measures":
            sizes.append(f"{m.measure.values} {effect_text(m)} (threshold {m.threshold.values})")
    if sizes:
        text += " Median effects: " + "; ".join(sizes) + "."
    text += " Over time it " + path_words(r) + "."
    if condition:
        text += " " + condition
    return text
