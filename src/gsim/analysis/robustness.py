"""Robustness of verdicts to definitions: each claim evaluated side by side under declared
alternatives, and called robust only if its verdict word is the same under all of them.

Alternatives for every claim: thresholds halved and doubled, and any gain at all (the former
sign test); for a measure of one tier, every other tier and the mean over tiers; for win_win,
where the store has the regional outputs (``--save regions``), the sending regions by GDP per capita above the mean
(the scenario's), above the median, the top five and the NBS East, each as totals and per
worker, real and nominal; with the number of provinces that gain and whether none loses
(Pareto); a claim on real GDP, read as nominal GDP and per worker. See docs/claims.md.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from gsim.analysis.claims import (
    Claim,
    PairedStore,
    _share_stats,
    bau_policy,
    claim_outcome,
    ordered_pairs,
    select_claims,
    verdict,
)
from gsim.analysis.maps import store_scenario
from gsim.claims import Measure

TOP = 5  # regions of the "top k" sender definition
FORMER = "any gain"  # every threshold 0: the sign test of gsim before thresholds (not a definition)
WIN_WIN = ("real_output_sending", "real_output_receiving")


def _scaled(c: Claim, factor: float) -> Claim:
    return dataclasses.replace(c, measures=tuple(dataclasses.replace(m, threshold=m.size * factor)
                                                 for m in c.measures))


def variants(c: Claim, tiers: list[str]) -> list[tuple[str, Claim]]:
    """The declared alternatives of claim `c` that a store's indicators can answer."""
    out = [("as declared", c), ("thresholds \u00bd", _scaled(c, 0.5)), ("thresholds \u00d72", _scaled(c, 2.0)),
           (FORMER, _scaled(c, 0.0))]
    tiered = [m.tier if isinstance(m.tier, str) else tiers[m.tier] for m in c.measures if m.tier is not None]
    for k, name in enumerate(tiers):
        if tiered and name not in tiered:
            out.append((f"tier {name}", dataclasses.replace(c, measures=tuple(
                dataclasses.replace(m, tier=k) if m.tier is not None else m for m in c.measures))))
    return out


def _tier_mean(ps: PairedStore, m: Measure) -> np.ndarray:
    """A measure's values, averaged over every tier when it names one (equal weights)."""
    if m.tier is None:
        return ps.values(m)
    return np.mean([ps.values(dataclasses.replace(m, tier=k)) for k in range(len(ps.tiers))], axis=0)


def robustness(store: str | Path, year: float | None = None, claim: list[str] | None = None) -> list[dict]:
    """One row per claim, pair and definition at `year` (default: the last of the sweep's
    years): share holding, its interval and the verdict word; `robust_rows` sums them up."""
    ps = PairedStore(store, None if year is None else [year], last_only=True)
    bau = bau_policy(ps.attrs)
    rows = []
    regional = _regional(ps)
    for c in select_claims(claim):
        for pol, base in ordered_pairs(c, bau):
            if pol not in ps.policies or base not in ps.policies:
                continue
            ip, ib = ps.policy_index(pol), ps.policy_index(base)
            try:
                for name, v in variants(c, ps.tiers):
                    parts = [(m, x[:, ip], x[:, ib]) for m in v.measures for x in [ps.values(m)]]
                    rows.append(_row(c.id, pol, base, name, *claim_outcome(parts)))
                if any(m.tier is not None for m in c.measures):
                    parts = [(m, x[:, ip], x[:, ib]) for m in c.measures for x in [_tier_mean(ps, m)]]
                    rows.append(_row(c.id, pol, base, "mean over tiers", *claim_outcome(parts)))
            except Exception:  # a claim that cannot be evaluated is reported by gsim.claims
                continue
            if regional is not None and {m.indicator for m in c.measures} == set(WIN_WIN):
                rows += _win_win_rows(c, ps, regional, ip, ib, pol, base)
            elif regional is not None and any(_national(m) for m in c.measures):
                rows += _national_rows(c, ps, regional, ip, ib, pol, base)
    return rows


def _row(cid: str, pol: str, base: str, name: str, held, equal, valid) -> dict:
    s = _share_stats(held, valid, equal)
    share, lo, hi = (float(s[k][0]) for k in ("share", "share_lo", "share_hi"))
    return {"claim": cid, "policy": pol, "baseline": base, "definition": name, "share": share,
            "share_lo": lo, "share_hi": hi, "verdict": verdict(share, lo, hi)}


def robust_rows(rows: list[dict]) -> list[dict]:
    """Per claim and pair: the verdict as declared, under the former sign test (`FORMER`, kept
    apart: it is not a definition), the words under every definition, and robust (one word
    under all of them)."""
    out: dict[tuple[str, str, str], dict] = {}
    for r in rows:
        key = (r["claim"], r["policy"], r["baseline"])
        o = out.setdefault(key, {"claim": key[0], "policy": key[1], "baseline": key[2],
                                 "declared": r["verdict"], "former": "", "words": {}, "shares": {}})
        if r["definition"] == FORMER:
            o["former"] = r["verdict"]
            continue
        o["words"][r["definition"]] = r["verdict"]
        o["shares"][r["definition"]] = r["share"]
    for o in out.values():
        o["robust"] = len(set(o["words"].values())) == 1
    return list(out.values())


# ----------------------------------------------------------------------------------------
# regional definitions (stores saved with --save regions)
# ----------------------------------------------------------------------------------------
def _regional(ps: PairedStore) -> dict[str, np.ndarray] | None:
    """Per-region real output, nominal GDP and labour force at the year, (N, P, R), and the
    sender definitions, or None when the store lacks them."""
    if not all(ps.has(n) for n in ("real_output", "gdp", "labor_force")):
        return None
    sc = store_scenario(ps.g)
    R = len(ps.labels["region"])
    vals = {}
    for name in ("real_output", "gdp", "labor_force"):
        vals[name] = np.stack([ps.values(Measure(name, 1, region=r)) for r in ps.labels["region"]], -1)[:, :, 0]
    rg = sc.regions
    gpc = rg.gdp / rg.population
    top = np.zeros(R, bool)
    top[np.argsort(-gpc)[:TOP]] = True
    vals["senders"] = np.array([gpc > rg.gdp.sum() / rg.population.sum(), gpc > np.median(gpc), top,
                                np.asarray(rg.macro_region) == "East"])
    return vals


_SENDERS = ("above the mean", "above the median", f"top {TOP}", "NBS East")


def _win_win_rows(c: Claim, ps: PairedStore, v: dict, ip: int, ib: int, pol: str, base: str) -> list[dict]:
    rows = []
    size = next(m.size for m in c.measures)
    for k, senders in enumerate(v["senders"]):
        for output, real in (("real_output", "real"), ("gdp", "nominal")):
            for per_worker in (False, True):
                held, equal, valid = None, None, None
                for group in (senders, ~senders):
                    y = v[output][..., group].sum(-1)
                    if per_worker:
                        y = y / v["labor_force"][..., group].sum(-1)
                    m = Measure(output, +1, threshold=size)
                    h, e, ok = claim_outcome([(m, y[:, ip, None], y[:, ib, None])])
                    held = h if held is None else held & h
                    equal = e if equal is None else equal & e
                    valid = ok if valid is None else valid & ok
                name = f"senders {_SENDERS[k]}, {real}, {'per worker' if per_worker else 'totals'}"
                rows.append(_row(c.id, pol, base, name, held, equal, valid))
    return rows


def _national(m: Measure) -> bool:
    return m.indicator == "real_gdp" and m.aggregation == "level" and m.per is None and m.shortfall_vs is None


def _national_rows(c: Claim, ps: PairedStore, v: dict, ip: int, ib: int, pol: str, base: str) -> list[dict]:
    """A claim on real GDP at the year, with real GDP read as nominal GDP (the sum of the
    regions' GDP) and as real output per labour-force member; other measures as declared."""
    rows = []
    for name, y in (("nominal", v["gdp"].sum(-1)),
                    ("per worker", v["real_output"].sum(-1) / v["labor_force"].sum(-1))):
        parts = []
        for m in c.measures:
            x = y[:, :, None] if _national(m) else ps.values(m)
            parts.append((m, x[:, ip], x[:, ib]))
        rows.append(_row(c.id, pol, base, f"real GDP {name}", *claim_outcome(parts)))
    return rows


def provinces(store: str | Path, policy: str, baseline: str, year: float | None = None,
              threshold: float = 0.0) -> dict[str, Any] | None:
    """How many provinces gain real output (by more than `threshold`, relative) under
    `policy` against `baseline` (median and range over samples), the share of samples in
    which none loses (Pareto), and the provinces that lose in most samples; None without
    regional outputs."""
    ps = PairedStore(store, None if year is None else [year], last_only=True)
    v = _regional(ps)
    if v is None:
        return None
    ip, ib = ps.policy_index(policy), ps.policy_index(baseline)
    x = v["real_output"]
    d = x[:, ip] - x[:, ib]
    ok = np.isfinite(d).all(1)
    gain = d[ok] > threshold * np.abs(x[ok, ib])
    lose = d[ok] < -threshold * np.abs(x[ok, ib])
    names = ps.labels["region"]
    mostly = [names[i] for i in np.nonzero(lose.mean(0) > 0.5)[0]]
    n = gain.sum(1)
    return {"regions": len(names), "gain_median": float(np.median(n)) if len(n) else np.nan,
            "gain_min": int(n.min()) if len(n) else 0, "gain_max": int(n.max()) if len(n) else 0,
            "pareto": float((~lose.any(1)).mean()) if len(n) else np.nan, "mostly_lose": mostly}
