"""The report of an optimisation store (`gsim report --optimization STORE`): one offline HTML
file with the front's trade-offs, its settings in parallel coordinates (the defaults and
business as usual marked) and, in words, which settings dominate the defaults."""

from __future__ import annotations

import html
import itertools
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from gsim._version import __version__
from gsim.analysis import figures as fg
from gsim.analysis.report_sections import embed
from gsim.optimize import store as ost
from gsim.optimize.front import Comparison, compare, describe

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def tradeoffs(c: Comparison) -> Figure:
    """Every pair of objectives: the front, the defaults and business as usual."""
    names = [o.indicator for o in c.problem.objectives]
    pairs = list(itertools.combinations(range(len(names)), 2)) or [(0, 0)]
    fig = fg.new_figure(4.2 * len(pairs), 4.0)
    axes = fig.subplots(1, len(pairs), squeeze=False)[0]
    for ax, (i, j) in zip(axes, pairs):
        dom = c.dominates_defaults
        ax.scatter(c.scores[~dom, i], c.scores[~dom, j], s=18, color="#4c72b0", label="front")
        ax.scatter(c.scores[dom, i], c.scores[dom, j], s=22, color="#2a9d8f", label="front, dominates defaults")
        ax.scatter([c.default_scores[i]], [c.default_scores[j]], marker="*", s=160, color="#e76f51", label="defaults")
        ax.scatter([c.bau_scores[i]], [c.bau_scores[j]], marker="X", s=90, color="#555555",
                   label=f"business as usual ({c.problem.bau_policy})")
        dirs = c.problem.score_directions()
        ax.set_xlabel(f"{names[i]} ({c.problem.robustness.text}, {dirs[i]})")
        ax.set_ylabel(f"{names[j]} ({c.problem.robustness.text}, {dirs[j]})")
    axes[0].legend(fontsize=7)
    return fig


def parallel_levers(c: Comparison) -> Figure:
    """The front's settings on each lever's range (0 = low, 1 = high); the defaults marked."""
    lv = c.problem.levers
    lo, hi = np.array([x.low for x in lv]), np.array([x.high for x in lv])
    fig = fg.new_figure(max(4.0, 1.8 * len(lv)), 3.8)
    ax = fig.subplots()
    xs = np.arange(len(lv))
    labelled: set[bool] = set()
    for row, dom in zip((c.levers - lo) / (hi - lo), c.dominates_defaults):
        label = None if dom in labelled else ("front, dominates defaults" if dom else "front")
        labelled.add(bool(dom))
        ax.plot(xs, row, color="#2a9d8f" if dom else "#4c72b0", alpha=0.6, lw=1, label=label)
    dflt = (np.array([x.default for x in lv]) - lo) / (hi - lo)
    ax.plot(xs, dflt, color="#e76f51", lw=2.5, marker="*", ms=12, label="defaults")
    ax.set_xticks(xs, [f"{x.name}\n{x.low:g}-{x.high:g}" for x in lv])
    ax.set_ylabel("share of the lever's range")
    ax.set_ylim(-0.05, 1.05)
    ax.legend(fontsize=7)
    return fig


def optimization_report(store: str | Path, out: str | Path) -> Path:
    """Write the report of optimisation `store` to `out` (HTML, self-contained)."""
    c = compare(store)
    attrs = dict(ost.open_group(store).attrs)
    e = html.escape
    words = "".join(f"<p>{e(line)}</p>" for line in describe(c))
    rows = "".join(
        "<tr>" + "".join(f"<td>{v:.4g}</td>" for v in (*c.levers[k], *c.scores[k]))
        + f"<td>{'yes' if c.dominates_defaults[k] else ''}</td></tr>" for k in range(len(c.scores)))
    head = "".join(f"<th>{e(x.name)}</th>" for x in c.problem.levers) + "".join(
        f"<th>{e(o.indicator)}</th>" for o in c.problem.objectives) + "<th>dominates defaults</th>"
    ref = ("<tr>" + "".join(f"<td>{x.default:.4g}</td>" for x in c.problem.levers)
           + "".join(f"<td>{v:.4g}</td>" for v in c.default_scores) + "<td>(defaults)</td></tr>")
    body = (f"<h1>gsim optimisation: {e(str(attrs.get('scenario', '')))}, policy {e(c.problem.policy)}</h1>"
            f"<p>Store <code>{e(str(store))}</code>; seed {attrs.get('root_seed')}, config {attrs.get('config_hash')}, "
            f"gsim {e(str(attrs.get('gsim_version')))}; {attrs.get('generations_done')} of "
            f"{c.problem.generations} generations of {c.problem.population}.</p>{words}"
            + embed(tradeoffs(c), "trade-offs", "Robustness scores of the front, the defaults and business as usual")
            + embed(parallel_levers(c), "settings", "The front's settings; the defaults in red")
            + f"<table><tr>{head}</tr>{ref}{rows}</table>")
    page = (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>gsim optimisation</title>'
            f"<style>body{{font-family:sans-serif;max-width:70rem;margin:auto}}td,th{{padding:0 .5rem;"
            f"text-align:right}}</style></head><body>{body}<footer>gsim {e(__version__)}; self-contained."
            f"</footer></body></html>\n")
    path = Path(out)
    path.write_text(page, encoding="utf-8")
    return path
