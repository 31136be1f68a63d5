"""The quick look at a sweep that `gsim summary` prints: one table per year, as wide as the terminal.

Per indicator: the baseline policy's median and 5-95 % range over its ok runs, and for each
other policy the median paired change against the baseline (in % of the baseline's value,
or absolute where that is 0) with the share of samples in which the policy is better. The
store is read one variable and the chosen years at a time, like the claims.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rich import box
from rich.table import Table
from rich.text import Text

from gsim.analysis.claims import (
    Measure,
    PairedStore,
    _quantiles,
    bau_policy,
    counts_line,
    paired_stats,
    percent,
)
from gsim.claims import ClaimError
from gsim.model.layout import label
from gsim.sweeps.analysis import BETTER
from gsim.sweeps.store import plugin_better, plugin_indicators

GROUP_ROWS = {"real_output_sending": +1, "real_output_receiving": +1}  # after BETTER's rows


@dataclass
class QuickLook:
    """rows: one dict per (indicator, year): label, units, year, base (median, p5, p95) and,
    per other policy, its paired stats (`gsim.analysis.claims.paired_stats`)."""

    store: str
    baseline: str
    policies: list[str]
    years: np.ndarray
    counts: dict[str, int]
    samples: int
    replicates: int
    rows: list[dict]


def quicklook(store: str | Path, years: Iterable[float] | None = None,
              baseline: str | None = None) -> QuickLook:
    """The quick look at `years` (default: the last of the sweep's years) against `baseline`
    (default: the sweep's business-as-usual policy, as for the claims; else ``none``, else its
    first policy)."""
    ps = PairedStore(store, years, last_only=years is None)
    if baseline is None:
        found = [p for p in (bau_policy(ps.attrs), "none") if p in ps.policies]
        baseline = found[0] if found else ps.policies[0]
    if baseline not in ps.policies:
        raise ClaimError(f"{ps.path}: --baseline {baseline}: not a policy of the store "
                         f"({', '.join(ps.policies)})")
    ib = ps.policy_index(baseline)
    rows = []
    better_of = plugin_better(ps.g)  # as the plugins declared it when the sweep ran
    plugin_rows = {name: better_of[name] for name in plugin_indicators(ps.g) if "region" not in ps.dims(name)}
    for name, better in {**BETTER, **GROUP_ROWS, **plugin_rows}.items():
        if not ps.has(name):
            continue
        units = ps.units(name)
        tiers = range(len(ps.tiers)) if "tier" in ps.dims(name) else [None]
        for s in tiers:
            m = Measure(name, better or 1, tier=s)
            v = ps.values(m)
            base = _quantiles(v[:, ib])
            for j, year in enumerate(ps.years):
                row = {"label": label(name) + ("" if s is None else f" [{ps.tiers[s]}]"), "units": units,
                       "year": year, "better": better,
                       "base": base[:, j], "vs": {}}
                for p, pol in enumerate(ps.policies):
                    if p != ib:
                        st = paired_stats(v[:, p, j:j + 1], v[:, ib, j:j + 1], better or 1)
                        row["vs"][pol] = {k: float(x[0]) for k, x in st.items()}
                rows.append(row)
    return QuickLook(ps.path, baseline, ps.policies, ps.years, ps.counts(),
                     int(ps.attrs["samples"]), int(ps.attrs["replicates"]), rows)


def human(x: float, sig: int = 4) -> str:
    """`sig` significant digits, large numbers with a suffix: 580717 -> '580.7k', 1694 ->
    '1694' (3 digits: '1.69k'), 0.06285 -> '0.06285'; NaN -> '-'."""
    if not np.isfinite(x):
        return "-"
    s = f"{x:.{sig}g}"
    if "e+" in s:
        for size, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
            if abs(x) >= size:
                return f"{x / size:.{sig}g}{suffix}"
    return s


def signed_pct(x: float) -> str:
    """+1.8 %, -0.25 %, -0.0043 %, +12 %."""
    if not np.isfinite(x):
        return "-"
    return f"{x:+.0f} %" if abs(x) >= 10 else f"{x:+.1f} %" if abs(x) >= 1 else f"{x:+.2g} %"


def _change(st: dict, better: int) -> str:
    """The median paired change and the share of samples better, without inner spaces so
    that four policies fit 80 columns: +1.8% (94%)."""
    change = signed_pct(st["effect_pct"]).replace(" %", "%") if np.isfinite(st["effect_pct"]) else \
        ("+" if st["effect"] > 0 else "") + human(st["effect"], 3)
    return f"{change} ({percent(st['share'])}%)" if better else change


def render(q: QuickLook) -> list:
    """Rich renderables: a header line, then one table per year (within 80 columns: the
    indicators by their labels, their units in the note below)."""
    out: list = [Text(counts_line({**q.counts, "store": q.store, "samples": q.samples,
                                  "replicates": q.replicates, "policies": q.policies}))]
    others = [p for p in q.policies if p != q.baseline]
    units: dict[str, list[str]] = {}
    for year in q.years:
        table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True,
                      title=f"{year:g}: {q.baseline} (median), each other policy's change against it",
                      title_justify="left", title_style="bold")
        # names wrap (overflow "fold") when space is short; the numbers never do
        table.add_column("indicator", overflow="fold", min_width=12)
        table.add_column(q.baseline, justify="right", no_wrap=True)
        for p in others:
            table.add_column(p, justify="right", no_wrap=True)
        for row in (r for r in q.rows if r["year"] == year):
            if row["units"] != "1":
                units.setdefault(row["units"], []).append(row["label"].split(" [")[0].split(",")[0])
            table.add_row(Text(row["label"]), Text(human(row["base"][0])),
                          *[Text(_change(row["vs"][p], row["better"])) for p in others])
        out.append(table)
    in_units = "; ".join(f"{', '.join(dict.fromkeys(names))} in {u}" for u, names in units.items())
    out.append(Text(f"{in_units}; the others ratios. {q.baseline}: median of its ok runs; others: "
                    f"median paired change against {q.baseline} in % (share of samples better). "
                    "--all: ranges, every pair.", style="dim"))
    return out
