"""Policy claims as data, and how often each holds in a sweep, paired over samples.

A claim says that one policy beats a baseline policy on one or more measures. In one sample
(x replicate) it holds when every measure moves the claimed way by more than its threshold of
practical relevance and every guard measure loses less than its threshold; it is equivalent
when every measure stays within its threshold both ways. Every policy of a sample sees the
same sampled inputs (common random numbers), so the comparison is paired. Over the samples
gsim reports the share in which a claim holds, with a 90 % Jeffreys interval, the share in
which it is equivalent, each measure's paired effect (policy minus baseline, median and
5-95 % range, in natural units and in % of the baseline's value), the whole time path, and
checks that a measure is neither constant by construction nor a duplicate of another.
Business as usual (the sweep's `business_as_usual` policy, `market` by default) is the
first baseline of every claim.

The six built-in claims are registered through the ``gsim_register_claims`` hook, like a
plugin's. See docs/claims.md.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

import numpy as np

from gsim.analysis import claim_checks as checks
from gsim.claims import LEVEL, Claim, ClaimError, Measure
from gsim.plugins import get_plugin_manager
from gsim.sweeps.analysis import verified, years_index
from gsim.sweeps.engine import save_names
from gsim.sweeps.spec import NROY, SAVE_LEVELS
from gsim.sweeps.store import STATUS_OK, open_store, paired_shape, run_counts

if TYPE_CHECKING:  # pragma: no cover
    import xarray as xr

INTERVAL = 0.90  # level of the interval of a share
BUSINESS_AS_USUAL = "market"  # the default baseline that every claim is read against first
DISCOUNT_RATE = 0.03  # per year, of the discounted cumulative effect (a social discount rate)


def registered_claims() -> dict[str, Claim]:
    """Every registered claim (built-in and plugins) by id, in registration order."""
    return dict(get_plugin_manager().claims())


# ----------------------------------------------------------------------------------------
# statistics of paired samples
# ----------------------------------------------------------------------------------------
def jeffreys_interval(k, n, level: float = INTERVAL) -> tuple[np.ndarray, np.ndarray]:
    """Equal-tailed Jeffreys interval of a binomial share k/n (Beta(k + 1/2, n - k + 1/2)
    quantiles), with the lower bound 0 when k = 0 and the upper bound 1 when k = n (Brown,
    Cai & DasGupta 2001). NaN where n = 0."""
    from scipy.special import betaincinv  # the Beta quantile function, lighter than scipy.stats

    k, n = np.asarray(k, float), np.asarray(n, float)
    tail = (1.0 - level) / 2.0
    empty = n <= 0
    a, b = k + 0.5, np.where(empty, 1.0, n - k + 0.5)
    lo = np.where((k > 0) & ~empty, betaincinv(a, b, tail), 0.0)
    hi = np.where((k < n) & ~empty, betaincinv(a, b, 1.0 - tail), 1.0)
    return np.where(empty, np.nan, lo), np.where(empty, np.nan, hi)


def _quantiles(x: np.ndarray) -> np.ndarray:
    """(3, Y): median, 5 % and 95 % quantiles of each column of (N, Y) over finite values."""
    out = np.full((3, x.shape[1]), np.nan)
    for j in range(x.shape[1]):
        v = x[:, j][np.isfinite(x[:, j])]
        if len(v):
            out[:, j] = np.quantile(v, [0.5, 0.05, 0.95])
    return out


STATS = ("n", "holds", "share", "share_lo", "share_hi", "equivalent", "share_equivalent",
         "effect", "effect_p5", "effect_p95", "effect_pct", "effect_pct_p5", "effect_pct_p95")


def _share_stats(held: np.ndarray, valid: np.ndarray,
                 equivalent: np.ndarray | None = None) -> dict[str, np.ndarray]:
    n, k = valid.sum(0), (held & valid).sum(0)
    lo, hi = jeffreys_interval(k, n)
    share = np.divide(k, n, out=np.full(n.shape, np.nan), where=n > 0)
    eq = np.zeros_like(k) if equivalent is None else (equivalent & valid).sum(0)
    share_eq = np.divide(eq, n, out=np.full(n.shape, np.nan), where=n > 0)
    return {"n": n, "holds": k, "share": share, "share_lo": lo, "share_hi": hi,
            "equivalent": eq, "share_equivalent": share_eq}


def classify(xp: np.ndarray, xb: np.ndarray, direction: int, threshold: float = 0.0,
             relative: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(better, worse, valid) per pair: the paired difference direction * (xp - xb) beats
    +threshold (better) or falls below -threshold (worse); threshold is a share of |xb| when
    `relative`. Neither: equivalent. With threshold 0 a tie is equivalent."""
    with np.errstate(invalid="ignore", over="ignore"):
        d = direction * (xp - xb)
        size = threshold * np.abs(xb) if relative else np.full(np.shape(xb), float(threshold))
        valid = np.isfinite(d) & np.isfinite(size)
        return valid & (d > size), valid & (d < -size), valid


def paired_stats(xp: np.ndarray, xb: np.ndarray, direction: int, threshold: float = 0.0,
                 relative: bool = False) -> dict[str, np.ndarray]:
    """Statistics (each (Y,)) of a policy's values `xp` against its baseline's `xb`, both
    (N, Y) over the same N samples x replicates; NaN marks a run that is not ok.

    n: pairs with both runs ok; holds: pairs where direction * (xp - xb) > threshold (a share
    of |xb| when `relative`); share = holds/n and its interval; equivalent: pairs within the
    threshold both ways; effect: quantiles of xp - xb; effect_pct: of 100 (xp - xb) / |xb|
    over the pairs with xb != 0 (and a finite ratio).
    """
    d = xp - xb
    better, worse, valid = classify(xp, xb, direction, threshold, relative)
    out = _share_stats(better, valid, valid & ~better & ~worse)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        pct = np.where(xb != 0, 100.0 * d / np.abs(xb), np.nan)
    for name, q in (("effect", _quantiles(d)), ("effect_pct", _quantiles(pct))):
        out[name], out[f"{name}_p5"], out[f"{name}_p95"] = q
    return out


def combined_stats(parts: Sequence[tuple[np.ndarray, np.ndarray, int]]) -> dict[str, np.ndarray]:
    """Share statistics of "every measure holds", strictly: parts are (xp, xb, direction) per
    measure. Effects are NaN (the measures have different units)."""
    return claim_stats([(Measure("", s, threshold=0.0, relative=False), xp, xb) for xp, xb, s in parts])


def claim_outcome(parts: Sequence[tuple[Measure, np.ndarray, np.ndarray]]
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(holds, equivalent, valid) per pair of a claim: holds when every main measure is better
    and no guard worse than its threshold; equivalent when every main measure is within its
    threshold both ways."""
    held, equal, valid = None, None, None
    for m, xp, xb in parts:
        better, worse, ok = classify(xp, xb, m.sign, m.size, m.relative)
        valid = ok if valid is None else valid & ok
        if m.guard:
            held = ~worse if held is None else held & ~worse
            continue
        held = better if held is None else held & better
        equal = ~(better | worse) if equal is None else equal & ~(better | worse)
    assert held is not None and valid is not None and equal is not None  # a main measure exists
    return held & valid, equal & valid, valid


def claim_stats(parts: Sequence[tuple[Measure, np.ndarray, np.ndarray]]) -> dict[str, np.ndarray]:
    """Share statistics of a claim from (measure, xp, xb) per measure (`claim_outcome`);
    effects are NaN (the measures have different units)."""
    held, equal, valid = claim_outcome(parts)
    out = _share_stats(held, valid, equal)
    nan = np.full(valid.shape[1], np.nan)
    out.update({name: nan for name in STATS if name not in out})
    return out


# ----------------------------------------------------------------------------------------
# reading a store
# ----------------------------------------------------------------------------------------
def trapezoid_weights(times: np.ndarray, tis: Sequence[int]) -> np.ndarray:
    """(T, Y): column y integrates a series over times[0..tis[y]] by the trapezoid rule."""
    w = np.zeros((len(times), len(tis)))
    for j, ti in enumerate(tis):
        dt = np.diff(times[: ti + 1])
        w[:ti, j] += dt / 2
        w[1: ti + 1, j] += dt / 2
    return w


def save_level_hint(name: str, store_level: str) -> str:
    """How to get output `name` into a store: the smallest --save level that has it."""
    for level in SAVE_LEVELS:
        if name in save_names(level):
            if SAVE_LEVELS.index(level) <= SAVE_LEVELS.index(store_level):
                return "the store was written by an earlier gsim; run the sweep again"
            return f"run the sweep with --save {level}"
    return f"{name} is not an output of gsim sweep"


SLAB_CHUNKS = 32  # chunks of runs read in one call: bounded memory, few calls


class PairedStore:
    """A sweep store read pair-wise: each measure's values (samples x replicates, policies,
    years), one variable at a time, a slab of runs at a time, reduced to the chosen years
    before the next slab is read. Runs that are not done and ok are NaN."""

    def __init__(self, store: str | Path, years: Iterable[float] | None = None, *,
                 last_only: bool = False):
        """`years` as in `years_index`; `last_only`: only the last of them."""
        self.path = str(store)
        self.g: Any = open_store(store)
        self.attrs: dict[str, Any] = dict(self.g.attrs)
        status = verified(self.g, store).status  # damaged chunks: StoreDamaged, not wrong verdicts
        self.ok, self._counts = status == STATUS_OK, run_counts(status)
        self.shape = paired_shape(self.g)
        self.times = np.asarray(self.g["time"][:], float)
        try:
            self.tis = years_index(self.times, years, self.attrs)
        except ValueError as e:
            raise ClaimError(f"{self.path}: {e}") from None
        if last_only:
            self.tis = [max(self.tis)]
        self.years = self.times[self.tis]
        self.policies = [str(p) for p in self.attrs["policies"]]
        self.labels = {"tier": [str(t) for t in self.g["tier"][:]],
                       "region": [str(r) for r in self.g["region"][:]]}
        self.tiers = self.labels["tier"]
        self._cache: dict[Measure, np.ndarray] = {}

    def counts(self) -> dict[str, int]:
        """Runs in all, done, ok, failed, invalid input and pending."""
        return dict(self._counts)

    def has(self, name: str) -> bool:
        """Whether the store holds output `name`."""
        return name in self.g and self.dims(name)[:2] == ("run", "time")

    def dims(self, name: str) -> tuple[str, ...]:
        return tuple(self.g[name].metadata.dimension_names)

    def units(self, name: str) -> str:
        return str(self.g[name].attrs.get("units", ""))

    def policy_index(self, name: str) -> int:
        return self.policies.index(name)

    def values(self, m: Measure, needed_by: str = "", raw: bool = False) -> np.ndarray:
        """(samples x replicates, policies, years) values of measure `m`: its output, divided
        by its `per` output, or its shortfall below the `shortfall_vs` policy (0 when above;
        `raw`: not cut at 0)."""
        plain = Measure(m.indicator, 1, m.aggregation, m.tier, m.region)
        if plain not in self._cache:
            self._cache[plain] = self._read(plain, needed_by)
        x = self._cache[plain]
        if m.per is not None:
            dims = self.dims(m.per) if self.has(m.per) else ()
            per = Measure(m.per, 1, m.aggregation, m.tier if "tier" in dims else None,
                          m.region if "region" in dims else None)
            if per not in self._cache:
                self._cache[per] = self._read(per, needed_by)
            with np.errstate(divide="ignore", invalid="ignore"):
                x = np.where(self._cache[per] != 0, x / self._cache[per], np.nan)
        if m.shortfall_vs is not None:
            if m.shortfall_vs not in self.policies:
                raise ClaimError(f"{self.path}: {needed_by or 'a claim'} compares with "
                                 f"{m.shortfall_vs}, which the store lacks")
            ref = x[:, [self.policy_index(m.shortfall_vs)]]
            with np.errstate(divide="ignore", invalid="ignore"):
                x = (ref - x) / np.abs(ref)
            if not raw:
                x = np.maximum(x, 0.0)
        return x

    def _index(self, m: Measure, who: str) -> list[int]:
        """The index of `m`'s tier / region along the output's trailing dims."""
        dims, out = self.dims(m.indicator), []
        for dim, want in (("tier", m.tier), ("region", m.region)):
            if dim not in dims:
                if want is not None:
                    raise ClaimError(f"{who} {m.indicator} of {dim} {want}, but {m.indicator} has no {dim}s")
                continue
            labels = self.labels[dim]
            if want is None:
                raise ClaimError(f"{who} {m.indicator} of one {dim}; the measure names none")
            if isinstance(want, int) and dim == "tier" and -len(labels) <= want < len(labels):
                out.append((dims.index(dim), want % len(labels)))
            elif want in labels:
                out.append((dims.index(dim), labels.index(want)))
            else:
                raise ClaimError(f"{who} {m.indicator}[{want}], but the store's {dim}s are "
                                 f"{', '.join(labels[:8])}{', ...' if len(labels) > 8 else ''}")
        return [i for _, i in sorted(out)]

    def _read(self, m: Measure, needed_by: str) -> np.ndarray:
        who = f"{needed_by} needs" if needed_by else "needs"
        if not self.has(m.indicator):
            hint = save_level_hint(m.indicator, str(self.attrs.get("save", "indicators")))
            raise ClaimError(f"{self.path}: {who} {m.indicator}, which the store lacks; {hint}")
        a, trailing = self.g[m.indicator], self._index(m, who)
        last = max(self.tis) + 1
        w = None if m.aggregation == LEVEL else trapezoid_weights(self.times, self.tis)[:last]
        n, step = a.shape[0], a.chunks[0] * SLAB_CHUNKS
        out = np.empty((n, len(self.tis)))
        for r0 in range(0, n, step):
            block = a[(slice(r0, r0 + step), slice(0, last), *trailing)]
            out[r0:r0 + len(block)] = block[:, self.tis] if w is None else block @ w
        out[~self.ok] = np.nan
        S, Rp, P = self.shape
        return out.reshape(S * Rp, P, len(self.tis))


# ----------------------------------------------------------------------------------------
# claims
# ----------------------------------------------------------------------------------------
def select_claims(ids: Iterable[str] | None = None) -> list[Claim]:
    """The registered claims named by `ids` (all when None); ClaimError for an unknown id."""
    table = registered_claims()
    if ids is None:
        return list(table.values())
    out = []
    for cid in ids:
        if cid not in table:
            raise ClaimError(f"unknown claim {cid!r}; known: {', '.join(table)}")
        out.append(table[cid])
    return out


def _units(units: str, aggregation: str, m: Measure | None = None) -> str:
    if m is not None and (m.per is not None or m.shortfall_vs is not None):
        return "1"
    if aggregation == LEVEL:
        return units
    if units.endswith("/yr"):
        return units[:-3]
    return "yr" if units == "1" else f"{units} yr"


def bau_policy(attrs: Mapping[str, Any]) -> str:
    """The sweep's business-as-usual policy (its spec's `business_as_usual`, else market)."""
    spec = json.loads(attrs.get("sweep_spec", "{}"))
    return str(spec.get("business_as_usual") or BUSINESS_AS_USUAL)


def ordered_pairs(c: Claim, bau: str) -> list[tuple[str, str]]:
    """A claim's pairs with business as usual first, the others in their given order."""
    return sorted(c.pairs, key=lambda p: p[1] != bau)


def claims(store: str | Path, years: Iterable[float] | None = None,
           claim: Iterable[str] | None = None, *, business_as_usual: str | None = None,
           discount: float = DISCOUNT_RATE) -> xr.Dataset:
    """The verdict of each claim (all registered, or those named in `claim`) at `years` (by
    default the sweep's years) for each of its (policy, baseline) pairs the store holds,
    against business as usual first (default: the sweep's, else market).

    Returns a Dataset with dims (row, year, time): one row per claim and pair with
    ``overall`` True (the claim holds), followed, for claims of several measures, by one row
    per measure. Per year: n, holds, share, share_lo, share_hi (the 90 % Jeffreys interval),
    equivalent, share_equivalent (within every threshold both ways), effect, effect_p5,
    effect_p95 (policy - baseline, natural units), effect_pct... (% of the baseline). Per
    saved time: path_share, path_lo, path_hi. Per row: the path summary (`claim_checks.path_
    summary`). Attributes: the run counts, the pairs and claims skipped (with why), the
    checks that fired, business as usual and the discount rate. Nothing is written.
    """
    chosen = select_claims(claim)
    ps = PairedStore(store, None)
    try:
        ps_all = years_index(ps.times, list(ps.times), ps.attrs)
        asked = years_index(ps.times, years, ps.attrs)
    except ValueError as e:
        raise ClaimError(f"{ps.path}: {e}") from None
    ps.tis, ps.years = ps_all, ps.times
    bau = business_as_usual or bau_policy(ps.attrs)
    if business_as_usual is not None and bau not in ps.policies:  # else silently no BAU row
        raise ClaimError(f"{ps.path}: business as usual {bau!r}: not a policy of the store "
                         f"({', '.join(ps.policies)})")
    rows: list[dict] = []
    skipped: list[str] = []
    skipped_claims: list[str] = []
    found: list[str] = []
    for c in chosen:
        pairs = [p for p in ordered_pairs(c, bau) if p[0] in ps.policies and p[1] in ps.policies]
        skipped += [f"{c.id}: {a} vs {b}" for a, b in c.pairs if (a, b) not in pairs]
        if not pairs and claim is not None:
            raise ClaimError(f"{ps.path}: claim {c.id} compares "
                             + ", ".join(f"{a} with {b}" for a, b in c.pairs)
                             + f"; the store has the policies {', '.join(ps.policies)}")
        try:
            new = [row for pol, base in pairs
                   for row in _claim_rows(ps, c, pol, base, bau, asked, discount, found)]
        except Exception as e:  # a claim that cannot be evaluated is skipped, the others go on
            if isinstance(e, ClaimError) and claim is not None and len(chosen) == 1:
                raise
            if not isinstance(e, ClaimError) and c.plugin.startswith("gsim."):
                raise  # a fault of gsim's own claims is a bug, not a skipped claim
            reason = str(e) if isinstance(e, ClaimError) else f"{type(e).__name__}: {e}"
            skipped_claims.append(f"{c.id}: {' '.join(reason.split())}")
            continue
        rows += new
    if not rows:
        why = "; ".join(skipped_claims) or ("the claims compare " + "; ".join(skipped))
        raise ClaimError(f"{ps.path}: no claim can be evaluated: the store has the policies "
                         f"{', '.join(ps.policies)}; {why}")
    return _dataset(rows, ps, asked, skipped, skipped_claims, found, bau, discount)


def _claim_rows(ps: PairedStore, c: Claim, pol: str, base: str, bau: str, asked: list[int],
                discount: float, found: list[str]) -> list[dict]:
    """The rows of claim `c` for one pair: overall (with its time path), then each measure."""
    ip, ib = ps.policy_index(pol), ps.policy_index(base)
    parts = []
    for m in c.measures:
        v = ps.values(m, needed_by=f"claim {c.id}")
        parts.append((m, v[:, ip], v[:, ib]))
    at = [ps.tis.index(t) for t in asked]
    where = f"{c.id}: {pol} vs {base}"
    raws = [(m, ps.values(m, raw=True)[:, ip, at[-1]], ps.values(m, raw=True)[:, ib, at[-1]])
            for m in c.measures]
    found += checks.degenerate(where, [(m.label(ps.tiers), xp, xb, pol, base) for m, xp, xb in raws])
    found += checks.duplicates(where, [(m.label(ps.tiers), xp[:, at[-1]], xb[:, at[-1]])
                                       for m, xp, xb in parts if not m.guard])
    common = {"claim": c.id, "statement": c.statement, "policy": pol, "baseline": base,
              "bau": base == bau}
    held, _, valid = claim_outcome(parts)
    path = _share_stats(held, valid)
    main = next(m for m in c.measures if not m.guard)
    level = Measure(main.indicator, main.direction, LEVEL, main.tier, main.region,
                    main.threshold, main.relative, per=main.per, shortfall_vs=main.shortfall_vs)
    lv = ps.values(level, needed_by=f"claim {c.id}")
    summary = checks.path_summary(ps.times, path["share_lo"], path["share_hi"], lv[:, ip], lv[:, ib],
                                  level.sign, level.size, level.relative, discount)
    whole = {"path_share": path["share"], "path_lo": path["share_lo"], "path_hi": path["share_hi"],
             **summary}
    at_years = [(m, xp[:, at], xb[:, at]) for m, xp, xb in parts]  # the quantiles: asked years only
    stats = claim_stats(at_years)
    rows = [{**common, "measure": "all measures" if len(parts) > 1 else main.label(ps.tiers),
             "overall": True, "indicator": "" if len(parts) > 1 else main.indicator,
             "aggregation": "" if len(parts) > 1 else main.aggregation,
             "direction": 0 if len(parts) > 1 else main.direction,
             "units": "" if len(parts) > 1 else _units(ps.units(main.indicator), main.aggregation, main),
             "threshold": "" if len(parts) > 1 else main.threshold_text(),
             "reason": "" if len(parts) > 1 else main.why, "guard": False,
             **stats, **whole}]
    if len(parts) == 1:
        one = paired_stats(at_years[0][1], at_years[0][2], main.sign, main.size, main.relative)
        rows[0].update({k: v for k, v in one.items() if k.startswith("effect")})
        return rows
    for m, xp, xb in at_years:
        st = paired_stats(xp, xb, m.sign, m.size, m.relative)
        if m.shortfall_vs is not None:  # a shortfall is a share already; % of a share of 0 misleads
            st.update({k: np.full_like(v, np.nan) for k, v in st.items() if k.startswith("effect_pct")})
        rows.append({**common, "measure": m.label(ps.tiers), "overall": False,
                     "indicator": m.indicator, "aggregation": m.aggregation,
                     "direction": m.direction, "units": _units(ps.units(m.indicator), m.aggregation, m),
                     "threshold": m.threshold_text(), "reason": m.why, "guard": m.guard,
                     **st, **checks.no_path(len(ps.times))})
    return rows


_COORDS = ("claim", "statement", "policy", "baseline", "bau", "measure", "overall", "indicator",
           "aggregation", "direction", "units", "threshold", "reason", "guard")
_LONG = {
    "n": ("1", "pairs of runs (samples x replicates) with both runs ok"),
    "holds": ("1", "pairs in which the claim holds"),
    "share": ("1", "share of pairs in which the claim holds"),
    "share_lo": ("1", "lower bound of the 90 % Jeffreys interval of the share"),
    "share_hi": ("1", "upper bound of the 90 % Jeffreys interval of the share"),
    "equivalent": ("1", "pairs within every measure's threshold both ways"),
    "share_equivalent": ("1", "share of pairs within every measure's threshold both ways"),
    "effect": ("", "median paired effect, policy minus baseline, in the row's units"),
    "effect_p5": ("", "5 % quantile of the paired effect, in the row's units"),
    "effect_p95": ("", "95 % quantile of the paired effect, in the row's units"),
    "effect_pct": ("%", "median paired effect in % of the baseline's value"),
    "effect_pct_p5": ("%", "5 % quantile of the paired effect in % of the baseline's value"),
    "effect_pct_p95": ("%", "95 % quantile of the paired effect in % of the baseline's value"),
    "path_share": ("1", "share of pairs in which the claim holds, at every saved time"),
    "path_lo": ("1", "lower bound of the 90 % interval of path_share"),
    "path_hi": ("1", "upper bound of the 90 % interval of path_share"),
    **checks.PATH_LONG,
}


def _dataset(rows: list[dict], ps: PairedStore, asked: list[int], skipped: list[str],
             skipped_claims: list[str], found: list[str], bau: str, discount: float) -> xr.Dataset:
    import xarray as xr

    coords: dict[str, object] = {c: ("row", [r[c] for r in rows]) for c in _COORDS}
    coords["year"] = ("year", ps.times[asked], {"units": "year", "long_name": "calendar year"})
    coords["time"] = ("time", ps.times, {"units": "year", "long_name": "every saved time"})
    data = {}
    for name, (units, long_name) in _LONG.items():
        var_attrs = {"long_name": long_name, **({"units": units} if units else {})}
        values = np.stack([np.asarray(r[name]) for r in rows])
        dims = ("row", "year") if name in STATS else ("row", "time") if values.ndim == 2 else ("row",)
        data[name] = (dims, values, var_attrs)
    a = ps.attrs
    attrs: dict[str, object] = {
        "title": f"gsim claim verdicts of {ps.path}",
        "store": ps.path,
        "scenario": a.get("scenario", ""),
        "scenario_hash": a.get("scenario_hash", ""),
        "gsim_version": a.get("gsim_version", ""),
        "samples": int(a["samples"]),
        "sampler": str(a.get("sampler", "")),
        "replicates": int(a["replicates"]),
        "policies": list(ps.policies),
        "business_as_usual": bau,
        "discount_rate": discount,
        "interval": "Jeffreys, 90 %, equal-tailed",
        "skipped": skipped,
        "skipped_claims": skipped_claims,
        "checks": list(dict.fromkeys(found)),
        **ps.counts(),
    }
    return xr.Dataset(data, coords=coords, attrs=attrs)


def counts_line(attrs: Mapping[str, Any]) -> str:
    """'STORE: 1000 samples x 4 policies, 4000 runs: 3990 ok, 10 failed, ..., 0 pending'; samples
    from a history match's plausible set (`gsim sweep --from`) are called so."""
    a = attrs
    reps = f" x {a['replicates']} replicates" if int(a["replicates"]) > 1 else ""
    fault = f", {a['n_plugin_fault']} stopped by a plugin" if a.get("n_plugin_fault") else ""
    plausible = " plausible (NROY)" if a.get("sampler") == NROY else ""
    return (f"{a['store']}: {a['samples']}{plausible} samples{reps} x {len(a['policies'])} policies, "
            f"{a['n_runs']} runs: {a['n_ok']} ok, {a['n_failed']} failed, {a['n_invalid']} "
            f"invalid input{fault}, {a['n_pending']} pending")


VERDICT_RULE = ("holds: the lower bound of the 90 % interval is at least 90 %; mostly holds: "
                "it is above 50 %; fails: the upper bound is at most 10 %; mostly fails: it is "
                "below 50 %; inconclusive: the interval contains 50 %")
VERDICTS = ("holds", "mostly holds", "inconclusive", "mostly fails", "fails")


def verdict(share: float, lo: float, hi: float) -> str:
    """A word for a share and its interval (`VERDICT_RULE`): holds, mostly holds,
    inconclusive, mostly fails, fails; 'no data' without pairs."""
    if not np.isfinite(share):
        return "no data"
    if lo >= 0.9:
        return "holds"
    if hi <= 0.1:
        return "fails"
    if lo > 0.5:
        return "mostly holds"
    if hi < 0.5:
        return "mostly fails"
    return "inconclusive"


def percent(x: float, decimals: int = 0, *, outward: int = 0) -> str:
    """A share in %, never shown as 0 or 100 unless it is exactly so (0.996 -> '99').
    outward = -1 rounds down (a lower bound), +1 up (an upper bound), adding decimals (up to
    two) rather than showing a bound as 0 or 100 that is not (0.9981 -> '99.9' as +1)."""
    import math

    if not np.isfinite(x):
        return "-"
    for d in range(decimals, max(decimals, 2) + 1):
        step = 10.0 ** -d
        v = 100 * x / step
        v = (math.floor(v + 1e-7) if outward < 0 else math.ceil(v - 1e-7) if outward > 0
             else round(v)) * step
        if not outward or not (0.0 < x < 1.0) or 0 < v < 100:
            break
    if 0.0 < x < 1.0:
        v = min(max(v, step), 100 - step)
    return f"{v:.{d}f}"


def share_text(share: float, lo: float, hi: float) -> str:
    """'94 % [91-96]', the interval rounded outward; with one decimal where whole numbers
    would hide the interval."""
    if not np.isfinite(share):
        return "no pairs"
    decimals = 1 if percent(lo) == percent(hi) and lo < hi else 0
    return (f"{percent(share, decimals)} % [{percent(lo, decimals, outward=-1)}\u2013"
            f"{percent(hi, decimals, outward=1)}]")


def risk_table(store: str | Path, year: float | None = None, reference: str = "none",
               indicator: str = "real_gdp") -> list[dict[str, Any]]:
    """Risk as risk, per policy other than `reference` at `year` (default: the last of the
    sweep's years): `claim_checks.risk_profile` of `indicator` against `reference` (downside
    probability, 5 % quantile, CVaR, spread, median, in %) and the median capital lost per unit
    of capital moved, both cumulated from t0 (NaN where nothing moves)."""
    ps = PairedStore(store, None if year is None else [year], last_only=True)
    if reference not in ps.policies:
        raise ClaimError(f"{ps.path}: the risk table compares with {reference}, which the store lacks")
    x = ps.values(Measure(indicator, 1), needed_by="the risk table")[:, :, 0]
    ratio = np.full(x.shape, np.nan)
    if ps.has("lost_capital") and ps.has("transfer_volume"):
        ratio = ps.values(Measure("lost_capital", -1, "cumulative", per="transfer_volume"))[:, :, 0]
    iref = ps.policy_index(reference)
    out = []
    for i, pol in enumerate(ps.policies):
        if i == iref:
            continue
        r = ratio[:, i][np.isfinite(ratio[:, i])]
        out.append({"policy": pol, "year": float(ps.years[0]), "reference": reference,
                    **checks.risk_profile(x[:, i], x[:, iref]),
                    "loss_per_moved": float(np.median(r)) if len(r) else np.nan})
    return out
