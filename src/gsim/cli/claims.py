"""`gsim claims`: the verdict table of the policy claims in a sweep store (fits 100 columns)."""

from __future__ import annotations

import click
import numpy as np
from rich import box
from rich.table import Table
from rich.text import Text

from gsim.analysis.claims import ClaimError, claims, counts_line, percent, share_text, verdict
from gsim.analysis.quicklook import human, signed_pct
from gsim.cli.base import UsageFailure, console, main, one_line, parse_years

_STYLE = {"holds": "green", "mostly holds": "green", "uncertain": "yellow",
          "mostly fails": "red", "fails": "red", "no data": "dim"}


def verdict_table(res) -> list:
    """Rich renderables for a `gsim.claims` Dataset: a header, the table, the statements."""
    a = res.attrs
    years = [float(y) for y in res.year.values]
    head = Text(counts_line(a))
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True)
    policies = set(res.policy.values.tolist())
    one = policies.pop() if len(policies) == 1 else None
    table.add_column("claim", no_wrap=True)
    table.add_column(f"{one} vs" if one else "policy vs baseline", no_wrap=True)
    for y in years[:-1]:
        table.add_column(f"{y:g}", justify="right", no_wrap=True)
    table.add_column(f"{years[-1]:g}: verdict", no_wrap=True)
    last, after_measure = None, False
    for i in range(res.sizes["row"]):
        r = res.isel(row=i)
        share, lo, hi = (r[k].values for k in ("share", "share_lo", "share_hi"))
        key = (str(r.claim.values), str(r.baseline.values) if one else f"{r.policy.values} vs {r.baseline.values}")
        if bool(r.overall):
            if after_measure:
                table.add_section()
            after_measure = False
            word = verdict(share[-1], lo[-1], hi[-1])
            name = key[0] if key[0] != last else ""
            cells = [f"{percent(x)} %" for x in share[:-1]]
            text = "no pairs of ok runs" if word == "no data" else \
                f"holds in {share_text(share[-1], lo[-1], hi[-1])} of samples"
            table.add_row(name, key[1], *cells, Text(text, style=_STYLE[word]))
            last = key[0]
        else:
            pct, eff = r.effect_pct.values, r.effect.values
            change = [signed_pct(p) if np.isfinite(p) else human(e, 3) for p, e in zip(pct, eff)]
            j = len(years) - 1
            rng = (f"[{signed_pct(r.effect_pct_p5.values[j])}, {signed_pct(r.effect_pct_p95.values[j])}]"
                   if np.isfinite(pct[j]) else
                   f"[{human(r.effect_p5.values[j], 3)}, {human(r.effect_p95.values[j], 3)}]")
            table.add_row(Text("  " + str(r.measure.values), style="dim"), "",
                          *change[:j],
                          Text(f"{change[j]} {rng} \u00b7 {percent(share[j])} %", style="dim"))
            after_measure = True
    out: list = [head, table]
    note = ("Share of samples (pairs of ok runs, same inputs) in which the policy beats the "
            "baseline on every measure of the claim, with the 90 % Jeffreys interval.")
    if not res.overall.values.all():
        note += (" Measure rows: median paired change in % of the baseline (in the output's units "
                 "where the baseline is 0) [5-95 %] \u00b7 share in which that measure holds.")
    out.append(Text(note, style="dim"))
    if a.get("skipped"):
        out.append(Text("Not in the store, skipped: " + "; ".join(a["skipped"]), style="dim"))
    statements = dict(zip(res.claim.values.tolist(), res.statement.values.tolist()))
    for cid, statement in statements.items():
        out.append(Text.assemble((f"{cid}: ", "bold"), str(statement)))
    return out


@main.command("claims")
@click.argument("store")
@click.option("--years", default=None, metavar="Y1,Y2,...",
              help="Years [default: the sweep's years, else its last year].")
@click.option("--claim", "claim_ids", multiple=True, metavar="ID",
              help="Only this claim (repeat, or separate ids by commas) [default: all].")
@click.option("--measures", is_flag=True,
              help="Also show each measure of a claim: its paired change and share.")
@click.option("--csv", "csv_path", default=None, metavar="FILE",
              help="Also write every row, year and statistic as CSV.")
def claims_command(store, years, claim_ids, measures, csv_path):
    """Verdicts of the policy claims in a sweep STORE, paired over its samples.

    For each claim and baseline: the share of samples in which the claim holds, with a
    90 % interval. Built-in claims: efficiency, lower_risk, no_homogeneous_competition,
    continuous_upgrading, win_win, coordinated_development (docs/claims.md).
    """
    ids = [c for arg in claim_ids for c in arg.split(",") if c] or None
    try:
        res = claims(store, parse_years(years), claim=ids)
    except ClaimError as e:
        raise UsageFailure(one_line(e)) from None
    shown = res if measures else res.isel(row=res.overall.values.nonzero()[0])
    con = console()
    for item in verdict_table(shown):
        con.print(item)
    if csv_path:
        res.to_dataframe().to_csv(csv_path)
        click.echo(f"wrote {csv_path}", err=True)
