"""What a claim verdict needs besides its share: the whole time path of a claim, checks that
a measure is not constant by construction or a duplicate of another, and risk measured as
risk (downside, tail and spread of outcomes against a reference policy).

Plain functions of paired arrays (samples x replicates, times), so they can be tested on
constructed data; `gsim.analysis.claims` calls them on every evaluation. See docs/claims.md.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

DUPLICATE_R = 0.99  # |correlation| of paired differences above which two measures count once
TAIL = 0.05  # the tail of the conditional value at risk (the mean of the worst 5 %)

PATH_LONG = {
    "first_year": ("year", "first saved time from which the claim at least mostly holds to "
                           "the horizon (NaN: it never does)"),
    "holds_at_horizon": ("1", "1 when the claim at least mostly holds at the last saved time"),
    "worse_from": ("year", "first saved time at which the median paired effect of the first "
                           "measure is worse than its threshold (NaN: none)"),
    "worse_to": ("year", "last such saved time"),
    "worse_years": ("1", "saved times at which the median paired effect of the first measure "
                         "is worse than its threshold"),
    "transition_loss": ("", "median over pairs of the losses of the first measure cumulated "
                            "over time (trapezoid; in its units times years)"),
    "transition_loss_pct": ("%", "transition_loss in % of the baseline's cumulated value"),
    "discounted_pct": ("%", "median over pairs of the first measure's discounted cumulative "
                            "effect, in % of the baseline's discounted cumulative value"),
    "discounted_share": ("1", "share of pairs whose discounted cumulative effect beats the "
                              "first measure's threshold"),
}


def no_path(n_times: int) -> dict[str, np.ndarray | float]:
    """The path fields of a row that has none (a measure row): NaN."""
    nan = np.full(n_times, np.nan)
    return {"path_share": nan, "path_lo": nan, "path_hi": nan, **{k: np.nan for k in PATH_LONG}}


def _trapezoid(times: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Integral of each row of x (N, T) over times."""
    if len(times) < 2:
        return np.zeros(len(x))
    dt = np.diff(times)
    return ((x[:, 1:] + x[:, :-1]) / 2 * dt).sum(1)


def path_summary(times: np.ndarray, lo: np.ndarray, hi: np.ndarray, xp: np.ndarray,
                 xb: np.ndarray, direction: int, threshold: float, relative: bool,
                 rate: float) -> dict[str, float]:
    """The time path of a claim in a few numbers (see `PATH_LONG`): from the share interval
    (lo, hi per saved time) and the first measure's level (xp, xb: (N, T)) under the policy
    and the baseline. Losses and discounting use the level at every saved time."""
    mostly = lo > 0.5
    first = np.nan
    for i in range(len(times)):
        if mostly[i:].all():
            first = float(times[i])
            break
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        d = direction * (xp - xb)
        size = threshold * np.abs(xb) if relative else np.full(xb.shape, threshold)
        ok = np.isfinite(d).all(1) & np.isfinite(size).all(1)
        med, med_size = np.full(len(times), np.nan), np.full(len(times), np.nan)
        if ok.any():
            med, med_size = np.median(d[ok], 0), np.median(size[ok], 0)
        worse = np.nonzero(med < -med_size)[0]
        loss = _trapezoid(times, np.minimum(d[ok], 0.0))
        base = _trapezoid(times, np.abs(xb[ok]))
        w = (1.0 + rate) ** -(times - times[0])
        disc, disc_base = _trapezoid(times, d[ok] * w), _trapezoid(times, np.abs(xb[ok]) * w)
        disc_size = _trapezoid(times, size[ok] * w)
        pct = lambda a, b: float(np.median(np.where(b != 0, 100 * a / b, np.nan))) if len(a) else np.nan
    return {
        "first_year": first,
        "holds_at_horizon": float(bool(mostly[-1])) if len(mostly) else np.nan,
        "worse_from": float(times[worse[0]]) if len(worse) else np.nan,
        "worse_to": float(times[worse[-1]]) if len(worse) else np.nan,
        "worse_years": float(len(worse)),
        "transition_loss": float(np.median(loss)) if len(loss) else np.nan,
        "transition_loss_pct": pct(loss, base),
        "discounted_pct": pct(disc, disc_base),
        "discounted_share": float(np.mean(disc > disc_size)) if len(disc) else np.nan,
    }


def degenerate(where: str, measures: Sequence[tuple[str, np.ndarray, np.ndarray, str, str]]
               ) -> list[str]:
    """One line per measure whose value (before any cut at 0) is the same in every pair for
    the policy or the baseline: it holds or fails by construction, not by what the sweep
    samples. measures: (label, values under the policy, under the baseline, policy,
    baseline), values (N,)."""
    out = []
    for label, xp, xb, pol, base in measures:
        for name, x in ((pol, xp), (base, xb)):
            v = x[np.isfinite(x)]
            if len(v) > 1 and np.ptp(v) == 0:
                out.append(f"{where}: degenerate: {label} is {v[0]:.6g} in every sample under "
                           f"{name}, so it holds or fails by construction")
    return out


def duplicates(where: str, measures: Sequence[tuple[str, np.ndarray, np.ndarray]],
               limit: float = DUPLICATE_R) -> list[str]:
    """One line per two measures whose paired differences (policy - baseline, (N,)) correlate
    beyond `limit` in absolute value: they count the same thing twice."""
    out = []
    diffs = [(label, xp - xb) for label, xp, xb in measures]
    for i in range(len(diffs)):
        for j in range(i + 1, len(diffs)):
            (a, da), (b, db) = diffs[i], diffs[j]
            ok = np.isfinite(da) & np.isfinite(db)
            if ok.sum() < 3 or np.ptp(da[ok]) == 0 or np.ptp(db[ok]) == 0:
                continue
            r = float(np.corrcoef(da[ok], db[ok])[0, 1])
            if abs(r) > limit:
                out.append(f"{where}: duplicate: the paired differences of {a} and {b} "
                           f"correlate {r:+.3f}; they measure one thing")
    return out


def risk_profile(x: np.ndarray, ref: np.ndarray, tail: float = TAIL) -> dict[str, float]:
    """Risk of one policy's outcome `x` (N,) relative to a reference policy's `ref` (N,),
    paired: r = 100 (x - ref) / |ref| in %. downside: the share of pairs with r < 0 (ending
    below the reference); p5: the 5 % quantile of r; cvar: the mean of r over its worst
    `tail`; spread: its 5-95 % range."""
    with np.errstate(divide="ignore", invalid="ignore"):
        r = 100 * (x - ref) / np.abs(ref)
    r = r[np.isfinite(r)]
    if not len(r):
        return {k: np.nan for k in ("downside", "p5", "cvar", "spread", "median")}
    worst = np.sort(r)[: max(1, int(np.ceil(tail * len(r))))]
    p5, p95 = np.quantile(r, [0.05, 0.95])
    return {"downside": float(np.mean(r < 0)), "p5": float(p5), "cvar": float(worst.mean()),
            "spread": float(p95 - p5), "median": float(np.median(r))}
