"""Policy claims as data, and how often each holds in a sweep, paired over samples.

A claim says that one policy beats a baseline policy on one or more measures. In one sample
(x replicate) it holds when every measure moves the claimed way, strictly (a tie does not
hold). Every policy of a sample sees the same sampled inputs (common random numbers), so the
comparison is paired. Over the samples gsim reports the share in which a claim holds, with a
90 % Jeffreys interval, and each measure's paired effect (policy minus baseline): the median
and the 5-95 % range, in natural units and in % of the baseline's value.

The six built-in claims are registered through the ``gsim_register_claims`` hook, like a
plugin's. See docs/claims.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

import numpy as np

from gsim.claims import LEVEL, Claim, ClaimError, Measure
from gsim.plugins import get_plugin_manager
from gsim.sweeps.analysis import verified, years_index
from gsim.sweeps.engine import save_names
from gsim.sweeps.spec import SAVE_LEVELS
from gsim.sweeps.store import STATUS_OK, open_store, paired_shape, run_counts

if TYPE_CHECKING:  # pragma: no cover
    import xarray as xr

INTERVAL = 0.90  # level of the interval of a share


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


STATS = ("n", "holds", "share", "share_lo", "share_hi", "effect", "effect_p5", "effect_p95",
         "effect_pct", "effect_pct_p5", "effect_pct_p95")


def _share_stats(held: np.ndarray, valid: np.ndarray) -> dict[str, np.ndarray]:
    n, k = valid.sum(0), (held & valid).sum(0)
    lo, hi = jeffreys_interval(k, n)
    share = np.divide(k, n, out=np.full(n.shape, np.nan), where=n > 0)
    return {"n": n, "holds": k, "share": share, "share_lo": lo, "share_hi": hi}


def paired_stats(xp: np.ndarray, xb: np.ndarray, direction: int) -> dict[str, np.ndarray]:
    """Statistics (each (Y,)) of a policy's values `xp` against its baseline's `xb`, both
    (N, Y) over the same N samples x replicates; NaN marks a run that is not ok.

    n: pairs with both runs ok; holds: pairs where direction * (xp - xb) > 0; share = holds/n
    and its interval; effect: quantiles of xp - xb; effect_pct: of 100 (xp - xb) / |xb| over
    the pairs with xb != 0 (and a finite ratio).
    """
    d = xp - xb
    valid = np.isfinite(d)
    out = _share_stats(direction * d > 0, valid)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        pct = np.where(xb != 0, 100.0 * d / np.abs(xb), np.nan)
    for name, q in (("effect", _quantiles(d)), ("effect_pct", _quantiles(pct))):
        out[name], out[f"{name}_p5"], out[f"{name}_p95"] = q
    return out


def combined_stats(parts: Sequence[tuple[np.ndarray, np.ndarray, int]]) -> dict[str, np.ndarray]:
    """Share statistics of "every measure holds": parts are (xp, xb, direction) per measure.
    Effects are NaN (the measures have different units)."""
    valid = np.logical_and.reduce([np.isfinite(xp - xb) for xp, xb, _ in parts])
    held = np.logical_and.reduce([s * (xp - xb) > 0 for xp, xb, s in parts])
    out = _share_stats(held, valid)
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

    def values(self, m: Measure, needed_by: str = "") -> np.ndarray:
        """(samples x replicates, policies, years) values of measure `m`."""
        if m not in self._cache:
            self._cache[m] = self._read(m, needed_by)
        return self._cache[m]

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


def _units(units: str, aggregation: str) -> str:
    if aggregation == LEVEL:
        return units
    if units.endswith("/yr"):
        return units[:-3]
    return "yr" if units == "1" else f"{units} yr"


def claims(store: str | Path, years: Iterable[float] | None = None,
           claim: Iterable[str] | None = None) -> xr.Dataset:
    """The verdict of each claim (all registered, or those named in `claim`) at `years` (by
    default the sweep's years) for each of its (policy, baseline) pairs the store holds.

    Returns a Dataset with dims (row, year): one row per claim and pair with ``overall``
    True (every measure holds), followed, for claims of several measures, by one row per
    measure. Variables: n, holds, share, share_lo, share_hi (the 90 % Jeffreys interval),
    effect, effect_p5, effect_p95 (policy - baseline, natural units), effect_pct... (% of the
    baseline). Attributes count the runs (n_ok, n_failed, n_pending, ...) and list the pairs
    skipped because the store lacks a policy. Nothing is written into the store.
    """
    chosen = select_claims(claim)
    ps = PairedStore(store, years)
    rows: list[dict] = []
    skipped: list[str] = []
    for c in chosen:
        pairs = [p for p in c.pairs if p[0] in ps.policies and p[1] in ps.policies]
        for pol, base in c.pairs:
            if (pol, base) not in pairs:
                skipped.append(f"{c.id}: {pol} vs {base}")
        if not pairs and claim is not None:
            raise ClaimError(f"{ps.path}: claim {c.id} compares "
                             + ", ".join(f"{a} with {b}" for a, b in c.pairs)
                             + f"; the store has the policies {', '.join(ps.policies)}")
        for pol, base in pairs:
            ip, ib = ps.policy_index(pol), ps.policy_index(base)
            parts = []
            for m in c.measures:
                v = ps.values(m, needed_by=f"claim {c.id}")
                parts.append((m, v[:, ip], v[:, ib]))
            common = {"claim": c.id, "statement": c.statement, "policy": pol, "baseline": base}
            if len(parts) > 1:
                rows.append({**common, "measure": "all measures", "overall": True,
                             "indicator": "", "aggregation": "", "direction": 0, "units": "",
                             **combined_stats([(xp, xb, m.direction) for m, xp, xb in parts])})
            for m, xp, xb in parts:
                units = _units(ps.units(m.indicator), m.aggregation)
                rows.append({**common, "measure": m.label(ps.tiers), "overall": len(parts) == 1,
                             "indicator": m.indicator, "aggregation": m.aggregation,
                             "direction": m.direction, "units": units,
                             **paired_stats(xp, xb, m.direction)})
    if not rows:
        raise ClaimError(f"{ps.path}: no claim can be evaluated: the store has the policies "
                         f"{', '.join(ps.policies)}; the claims compare "
                         + "; ".join(skipped))
    return _dataset(rows, ps, skipped)


_COORDS = ("claim", "statement", "policy", "baseline", "measure", "overall", "indicator",
           "aggregation", "direction", "units")
_LONG = {
    "n": ("1", "pairs of runs (samples x replicates) with both runs ok"),
    "holds": ("1", "pairs in which the claim holds"),
    "share": ("1", "share of pairs in which the claim holds"),
    "share_lo": ("1", "lower bound of the 90 % Jeffreys interval of the share"),
    "share_hi": ("1", "upper bound of the 90 % Jeffreys interval of the share"),
    "effect": ("", "median paired effect, policy minus baseline, in the row's units"),
    "effect_p5": ("", "5 % quantile of the paired effect, in the row's units"),
    "effect_p95": ("", "95 % quantile of the paired effect, in the row's units"),
    "effect_pct": ("%", "median paired effect in % of the baseline's value"),
    "effect_pct_p5": ("%", "5 % quantile of the paired effect in % of the baseline's value"),
    "effect_pct_p95": ("%", "95 % quantile of the paired effect in % of the baseline's value"),
}


def _dataset(rows: list[dict], ps: PairedStore, skipped: list[str]) -> xr.Dataset:
    import xarray as xr

    coords: dict[str, object] = {c: ("row", [r[c] for r in rows]) for c in _COORDS}
    coords["year"] = ("year", ps.years, {"units": "year", "long_name": "calendar year"})
    data = {}
    for name in STATS:
        units, long_name = _LONG[name]
        var_attrs = {"long_name": long_name, **({"units": units} if units else {})}
        data[name] = (("row", "year"), np.stack([np.asarray(r[name]) for r in rows]), var_attrs)
    a = ps.attrs
    attrs: dict[str, object] = {
        "title": f"gsim claim verdicts of {ps.path}",
        "store": ps.path,
        "scenario": a.get("scenario", ""),
        "scenario_hash": a.get("scenario_hash", ""),
        "gsim_version": a.get("gsim_version", ""),
        "samples": int(a["samples"]),
        "replicates": int(a["replicates"]),
        "policies": list(ps.policies),
        "interval": "Jeffreys, 90 %, equal-tailed",
        "skipped": skipped,
        **ps.counts(),
    }
    return xr.Dataset(data, coords=coords, attrs=attrs)


def counts_line(attrs: Mapping[str, Any]) -> str:
    """'STORE: 1000 samples x 4 policies, 4000 runs: 3990 ok, 10 failed, ..., 0 pending'."""
    a = attrs
    reps = f" x {a['replicates']} replicates" if int(a["replicates"]) > 1 else ""
    fault = f", {a['n_plugin_fault']} stopped by a plugin" if a.get("n_plugin_fault") else ""
    return (f"{a['store']}: {a['samples']} samples{reps} x {len(a['policies'])} policies, "
            f"{a['n_runs']} runs: {a['n_ok']} ok, {a['n_failed']} failed, {a['n_invalid']} "
            f"invalid input{fault}, {a['n_pending']} pending")


def verdict(share: float, lo: float, hi: float) -> str:
    """A word for a share and its interval: holds (lower bound >= 90 %), mostly holds (> 50 %),
    uncertain (the interval contains 50 %), mostly fails (< 50 %), fails (upper bound <= 10 %)."""
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
    return "uncertain"


def percent(x: float, decimals: int = 0) -> str:
    """A share in %, never shown as 0 or 100 unless it is exactly so (0.996 -> '99')."""
    if not np.isfinite(x):
        return "-"
    v, step = round(100 * x, decimals), 10.0 ** -decimals
    if 0.0 < x < 1.0:
        v = min(max(v, step), 100 - step)
    return f"{v:.{decimals}f}"


def share_text(share: float, lo: float, hi: float) -> str:
    """'94 % [91-96]'; with one decimal where whole numbers would hide the interval."""
    if not np.isfinite(share):
        return "no pairs"
    decimals = 1 if percent(lo) == percent(hi) and lo < hi else 0
    return f"{percent(share, decimals)} % [{percent(lo, decimals)}\u2013{percent(hi, decimals)}]"
