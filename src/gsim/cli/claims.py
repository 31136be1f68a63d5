"""`gsim claims`: the verdicts of the policy claims in a sweep store, business as usual
first, with thresholds, time paths and the checks (every table fits 80 columns)."""

from __future__ import annotations

import re
import sys
import textwrap
from typing import Any, NamedTuple

import click
import numpy as np
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from gsim.analysis import claim_words as words
from gsim.analysis.claims import (
    VERDICT_RULE,
    ClaimError,
    claims,
    counts_line,
    percent,
    risk_table,
    share_text,
    verdict,
)
from gsim.analysis.quicklook import signed_pct
from gsim.analysis.robustness import robust_rows
from gsim.analysis.robustness import robustness as robustness_rows
from gsim.cli.base import UsageFailure, failure, fitted_console, main, not_empty, one_line, parse_years
from gsim.output import atomic_write, check_writable
from gsim.sweeps.analysis import outside

_STYLE = {"holds": "green", "mostly holds": "green", "inconclusive": "yellow",
          "mostly fails": "red", "fails": "red", "no data": "dim"}
SKIPPED_EXIT = 1  # the table is printed, but a claim (a plugin's) could not be evaluated
_BARS = "_\u2581\u2582\u2583\u2584\u2585\u2586\u2587\u2588"


def sparkline(shares) -> str:
    """One character per saved time: the share holding, from blank (0) to a full block (1)."""
    return "".join("\u00b7" if not np.isfinite(s) else _BARS[int(round(s * (len(_BARS) - 1)))]
                   for s in shares)


GAP = 2  # columns between two table columns (padding and the box's blank separator)


def _grid(header: bool) -> Table:
    """A verdict table; the same box with or without its header, so that columns align."""
    return Table(box=box.SIMPLE_HEAD, show_header=header, show_edge=False, pad_edge=False,
                 collapse_padding=True)


class _Row(NamedTuple):
    """One overall row of a claim as text."""

    vs: str  # the baseline, "(BAU)" marked
    shares: list[str]  # the share holding in each year before the last
    word: str  # the verdict in the last year
    share: str  # its share and 90 % interval
    equivalent: str
    baseline: str
    spark: str  # the share at every saved time
    path: str  # the path in words


def _rows(res) -> list[tuple[str, Any, list[_Row]]]:
    """Per claim its id, its rows of `res`, and its overall rows as text."""
    out = []
    for cid in dict.fromkeys(res.claim.values.tolist()):
        sub = res.isel(row=(res.claim == cid).values.nonzero()[0])
        rows = []
        for i in np.nonzero(sub.overall.values)[0]:
            r = sub.isel(row=i)
            share, lo, hi = (r[k].values for k in ("share", "share_lo", "share_hi"))
            rows.append(_Row(str(r.baseline.values) + (" (BAU)" if bool(r.bau) else ""),
                         [f"{percent(x)} %" for x in share[:-1]], verdict(share[-1], lo[-1], hi[-1]),
                         share_text(share[-1], lo[-1], hi[-1]), f"{percent(r.share_equivalent.values[-1])} %",
                         str(r.baseline.values), sparkline(r.path_share.values), words.path_words(r)))
        out.append((cid, sub, rows))
    return out


def _year_tables(years: list[float], claims: list, width: int) -> tuple[list[list[int]], list[int], dict[str, int]]:
    """Which saved years go in which table: the last year's verdict, share and equivalent
    share with as many of the years before it as fit `width`; the rest, in order, in tables
    of their own before it. Returns (the earlier tables' year indices, the main table's
    year indices, the column widths)."""
    rows = [row for _, _, rs in claims for row in rs]
    w = {"vs": max([len("vs")] + [len(r.vs) for r in rows]),
         "year": max([len(f"{y:g}") for y in years] + [len(c) for r in rows for c in r.shares]),
         "word": max([len(f"{years[-1]:g}")] + [len(r.word) for r in rows]),
         "share": max([len("share [90 %]")] + [len(r.share) for r in rows]),
         "eq": max([1] + [len(r.equivalent) for r in rows])}
    w["vs"] = min(w["vs"], max(12, width - (w["word"] + w["share"] + w["eq"] + 3 * GAP + GAP)))
    fixed = w["vs"] + w["word"] + w["share"] + w["eq"] + 3 * GAP
    fit_main = max(0, (width - fixed) // (w["year"] + GAP))
    fit_alone = max(1, (width - w["vs"]) // (w["year"] + GAP))
    earlier = list(range(len(years) - 1))
    main = earlier[len(earlier) - min(fit_main, len(earlier)):]
    rest = earlier[:len(earlier) - len(main)]
    return [rest[k:k + fit_alone] for k in range(0, len(rest), fit_alone)], main, w


def hanging(head: str, parts: list[str], width: int) -> str:
    """`head` then `parts` joined by "; ", wrapped within `width` under the first part (or on
    lines of their own, indented, where the head leaves less than 20 columns); a part breaks
    only where it is longer than a line."""
    indent = len(head) if len(head) + 20 <= width else 4
    room = width - indent
    lines: list[str] = []
    for k, part in enumerate(parts):
        piece = part + (";" if k < len(parts) - 1 else "")
        if lines and len(lines[-1]) + 1 + len(piece) <= room:
            lines[-1] += " " + piece
        else:
            lines += textwrap.wrap(piece, room, break_on_hyphens=False) or [""]
    body = ("\n" + " " * indent).join(lines)
    return head + body if indent == len(head) else head.rstrip() + "\n" + " " * indent + body


def verdict_table(res, measures: bool = False, width: int = 80) -> list:
    """Rich renderables for a `gsim.claims` Dataset within `width` columns: the run counts,
    per claim its verdicts (business as usual first) and time path, the checks, skipped
    claims and statements. Names wrap; numbers and verdict words never do."""
    a = res.attrs
    years = [float(y) for y in res.year.values]
    claims_ = _rows(res)
    split, main, w = _year_tables(years, claims_, width)
    out: list = [Text(counts_line(a))]
    for k, (cid, sub, rows) in enumerate(claims_):
        out.append(Text.assemble((cid, "bold"), f": {sub.policy.values[0]} vs"))
        for ys in split:  # years that do not fit beside the verdict: a table of their own
            t = _grid(True)
            t.add_column("vs", width=w["vs"], overflow="fold")
            for y in ys:
                t.add_column(f"{years[y]:g}", justify="right", width=w["year"], no_wrap=True)
            for r in rows:
                t.add_row(r.vs, *[r.shares[y] for y in ys])
            out.append(t)
        t = _grid(k == 0 or bool(split))
        t.add_column("vs", width=w["vs"], overflow="fold")
        for y in main:
            t.add_column(f"{years[y]:g}", justify="right", width=w["year"], no_wrap=True)
        t.add_column(f"{years[-1]:g}", width=w["word"], no_wrap=True)
        t.add_column("share [90 %]", width=w["share"], no_wrap=True)
        t.add_column("\u2248", justify="right", width=w["eq"], no_wrap=True)
        for r in rows:
            t.add_row(r.vs, *[r.shares[y] for y in main], Text(r.word, style=_STYLE[r.word]), r.share, r.equivalent)
        out.append(t)
        label = max((len(r.baseline) for r in rows), default=0) + 1
        for r in rows:
            out.append(Text(hanging(f"  {r.baseline + ':':<{label}} {r.spark} ", r.path.split("; "), width), style="dim"))
        if measures:
            out.append(_measures(sub, width))
    out.append(Text(f"Share of samples (pairs of ok runs, same inputs) in which the claim holds: "
                    f"every measure beats the baseline by more than its threshold; \u2248: every "
                    f"measure within its threshold (equivalent). Verdict: {VERDICT_RULE}. Path: "
                    f"the share at every saved time ({a['discount_rate']:.0%}/yr discounting).",
                    style="dim"))
    for line in a.get("checks", ()):
        out.append(Text("check: " + line, style="yellow"))
    if a.get("skipped"):
        out.append(Text("Not in the store, skipped: " + "; ".join(a["skipped"]), style="dim"))
    for line in a.get("skipped_claims", ()):
        out.append(Text("skipped claim " + line, style="red"))
    statements = dict(zip(res.claim.values.tolist(), res.statement.values.tolist()))
    for cid, statement in statements.items():
        out.append(Text.assemble((f"{cid}: ", "bold"), str(statement)))
    return out


def wrap_name(name: str, room: int) -> list[str]:
    """Lines of at most `room` characters of a name, broken at blanks or after an underscore
    ("technology_" / "receiving"), and inside a word only where one is longer than a line."""
    lines = [""]
    for token in re.findall(r"[^\s_]+_?|_|\s+", name):
        if token.isspace():
            lines[-1] += " " if lines[-1] else ""
        elif len(lines[-1].rstrip()) + len(token) <= room or not lines[-1].strip():
            lines[-1] += token
        else:
            lines.append(token)
    out = []
    for line in lines:
        line = line.rstrip()
        out += [line[k:k + room] for k in range(0, len(line), room)] or [""]
    return out


def _measures(sub, width: int = 80) -> Table:
    """Each measure of a claim at the last year, per baseline: the median paired effect in %
    [5-95 %] and in its units, the threshold, and the shares beating it and within it. A
    measure's name wraps (continued lines indented as it) where the numbers need the room."""
    heads = ("  measure, vs", "median [5\u201395 %]", "in units", "thr.", "beats", "\u2248")
    rows = [sub.isel(row=i, year=-1) for i in range(sub.sizes["row"])]
    rows = [r for r in rows if str(r.measure.values) != "all measures"]
    cells = {}
    for r in rows:
        pct, natural = words.effect_parts(r)
        cells[id(r)] = ["    " + str(r.baseline.values), pct, natural, str(r.threshold.values),
                        f"{percent(r.share.values)} %", f"{percent(r.share_equivalent.values)} %"]
    numbers = [max([len(heads[c])] + [len(v[c]) for v in cells.values()]) for c in range(1, len(heads))]
    room = max([len(heads[0]), 14] + [len(v[0]) for v in cells.values()]
               + [width - sum(numbers) - len(numbers)])  # one blank between columns without a box
    t = Table(box=None, show_edge=False, pad_edge=False, collapse_padding=True)
    t.add_column(heads[0], style="dim", no_wrap=True)
    t.add_column(heads[1], style="dim")  # where even the numbers need more: wraps before "["
    for head in heads[2:]:
        t.add_column(head, justify="left" if head in heads[2:4] else "right", style="dim", no_wrap=True)
    for label in dict.fromkeys(str(r.measure.values) for r in rows):
        t.add_row("\n".join("  " + line for line in wrap_name(label, room - 2)))
        for r in rows:
            if str(r.measure.values) == label:
                t.add_row(*cells[id(r)])
    return t


def risk_renderables(risk: list[dict]) -> list:
    """The risk table (`gsim.analysis.claims.risk_table`), 80 columns."""
    if not risk:
        return []
    ref, year = risk[0]["reference"], risk[0]["year"]
    t = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True)
    for name in ("policy", f"below {ref}", "5 %", "CVaR 5 %", "spread", "median", "lost/moved"):
        t.add_column(name, justify="left" if name == "policy" else "right", no_wrap=True)
    for r in risk:
        t.add_row(r["policy"], f"{percent(r['downside'])} %", signed_pct(r["p5"]), signed_pct(r["cvar"]),
                  f"{r['spread']:.2f}", signed_pct(r["median"]), f"{r['loss_per_moved']:.3f}")
    return [Text(f"Risk in {year:g}: real GDP against {ref} in the same sample", style="bold"), t,
            Text(f"below {ref}: share of samples ending below it; 5 %, CVaR 5 % (mean of the worst "
                 "5 %), median: of the change in %; spread: its 5-95 % range in points; lost/moved: "
                 "capital lost per unit moved, cumulated from t0 (median).", style="dim")]


def robustness_renderables(rows: list[dict]) -> list:
    """The robustness table: per claim and pair the verdict as declared, whether every
    definition gives the same word, the range of shares and the definitions that differ."""
    t = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True)
    t.add_column("claim vs", overflow="fold")
    t.add_column("declared", no_wrap=True)
    t.add_column("any gain", no_wrap=True)
    t.add_column("robust", no_wrap=True)
    t.add_column("shares", justify="right", no_wrap=True)
    t.add_column("other words under", overflow="fold")
    for r in rows:
        shares = [v for v in r["shares"].values() if np.isfinite(v)]
        lo, hi = (percent(f(shares)) for f in (min, max)) if shares else ("-", "-")
        span = f"{lo} %" if lo == hi else f"{lo}\u2013{hi} %"
        other = "; ".join(f"{d}: {w}" for d, w in r["words"].items() if w != r["declared"])
        t.add_row(f"{r['claim']} vs {r['baseline']}", r["declared"], r["former"],
                  "yes" if r["robust"] else "no", span, other)
    return [Text("Robustness of verdicts to definitions", style="bold"), t,
            Text("declared: the verdict with the claim's thresholds; any gain: with every threshold "
                 "0 (the former sign test, not counted in robust); robust: the same word under every "
                 "definition (thresholds halved and doubled, other tiers or their mean, sender definitions); "
                 "shares: "
                 "their range.", style="dim")]


def print_all(items, con: Console) -> None:
    for item in items:
        con.print(item)


@main.command("claims")
@click.argument("store")
@click.option("--years", default=None, metavar="Y1,Y2,...",
              help="Years [default: the sweep's years, else its last year].")
@click.option("--claim", "claim_ids", multiple=True, metavar="ID",
              help="Only this claim (repeat, or separate ids by commas) [default: all].")
@click.option("--measures", is_flag=True,
              help="Also show each measure: its paired effect, threshold and shares.")
@click.option("--bau", "bau", default=None, metavar="POLICY",
              help="Business as usual, read first [default: the sweep's, else market].")
@click.option("--robustness", is_flag=True,
              help="Also evaluate each claim under the declared alternative definitions.")
@click.option("--csv", "csv_path", default=None, metavar="FILE", callback=not_empty,
              help="Also write every row, year and statistic as CSV.")
def claims_command(store, years, claim_ids, measures, bau, robustness, csv_path):
    """Verdicts of the policy claims in a sweep STORE, paired over its samples.

    For each claim, against business as usual first: the share of samples in which the
    claim holds by more than its thresholds (90 % interval), the verdict in words, the share
    that is equivalent, and the time path. Built-in claims: efficiency, lower_risk,
    no_homogeneous_competition, continuous_upgrading, win_win, coordinated_development
    (docs/claims.md). Exit code 1: a claim was skipped (listed), the others are shown.
    """
    ids = [c for arg in claim_ids for c in arg.split(",") if c] or None
    if csv_path:  # a bad output path fails now; never inside the store read
        outside(store, csv_path, "--csv")
        check_writable(csv_path)
    try:
        res = claims(store, parse_years(years), claim=ids, business_as_usual=bau)
    except ClaimError as e:
        raise UsageFailure(one_line(e)) from None
    con = fitted_console()
    print_all(verdict_table(res, measures, con.width), con)
    if "lower_risk" in res.claim.values and "none" in res.attrs["policies"]:
        print_all(risk_renderables(risk_table(store, float(res.year.values[-1]))), con)
    if robustness:
        rows = robust_rows(robustness_rows(store, float(res.year.values[-1]), ids))
        print_all(robustness_renderables(rows), con)
    if csv_path:
        with atomic_write(csv_path) as tmp:
            res.drop_dims("time").to_dataframe().to_csv(tmp)
        click.echo(f"wrote {csv_path}", err=True)
    if res.attrs["skipped_claims"]:
        sys.stdout.flush()
        raise failure(f"{len(res.attrs['skipped_claims'])} claim(s) skipped: "
                      + "; ".join(res.attrs["skipped_claims"]), SKIPPED_EXIT)
