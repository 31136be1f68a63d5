"""`gsim plot` (one figure of a store or a run) and `gsim report` (the offline HTML report)."""

from __future__ import annotations

import click

from gsim.analysis import figures as fg
from gsim.analysis.optreport import optimization_report
from gsim.analysis.report import analysis_module, report
from gsim.cli.base import UsageFailure, main, not_empty, one_line, parse_years
from gsim.sweeps.store import open_store


@main.command("plot")
@click.argument("store")
@click.argument("kind", metavar="KIND")
@click.option("-o", "--out", required=True, metavar="FILE.png|FILE.svg", callback=not_empty,
              help="The figure file (PNG or SVG).")
@click.option("--indicator", default=None, metavar="NAME[LABEL]",
              help="Output to draw, e.g. real_gdp, overcapacity[labor] [default: real_gdp; map: real_output].")
@click.option("--year", type=float, default=None, help="Year of paired, map and claims [default: the last saved].")
@click.option("--policy", default=None, callback=not_empty, help="Policy [default: gradient, else the store's last].")
@click.option("--baseline", default=None, callback=not_empty,
              help="Baseline policy [default: none, else the store's first].")
@click.option("--sample", type=int, default=0, show_default=True, help="Sample of the flows of a store run.")
def plot_command(store, kind, out, indicator, year, policy, baseline, sample):
    """Draw figure KIND of a sweep STORE into a PNG or SVG file.

    \b
    KIND is one of
      fan          each policy's median and 5-95 % range over time
      paired       each policy minus the baseline at a year, over samples
      claims       the share of samples in which each claim holds, with its interval
      sensitivity  sensitivity indices of --indicator (policy minus baseline) over time
      map          regions sized by GDP, coloured by the median paired change (--save regions)
      flows        capital relocated in one run (--save full; or a `gsim run --out` file)
    """
    try:
        if not str(out).lower().endswith(fg.FORMATS):
            raise fg.FigureError(f"{out}: write .png or .svg")
        indices = _sensitivity(store, indicator, policy, baseline) if kind == "sensitivity" else None
        fig = fg.plot(store, kind, indicator=indicator, year=year, policy=policy, baseline=baseline,
                      sample=sample, sensitivity=indices)
        fg.save(fig, out)
    except fg.FigureError as e:
        raise UsageFailure(one_line(e)) from None
    click.echo(f"wrote {out}", err=True)


def _sensitivity(store: str, indicator: str | None, policy: str | None, baseline: str | None):
    """The sensitivity indices `gsim plot sensitivity` draws: of policy minus baseline."""
    mod = analysis_module("sensitivity")
    if mod is None:
        raise fg.FigureError("sensitivity analysis is not part of this gsim")
    policy, baseline = fg.default_pair([str(p) for p in open_store(store).attrs["policies"]], policy, baseline)
    try:
        return mod.sensitivity(store, indicator or "real_gdp", contrast=f"{policy}-{baseline}", years="all")
    except ValueError as e:  # the analysis's own bad-input error
        raise fg.FigureError(str(e)) from None


@main.command("report")
@click.argument("store")
@click.option("-o", "--out", default="report.html", show_default=True, metavar="FILE.html", callback=not_empty,
              help="The report: one HTML file that works offline.")
@click.option("--years", default=None, metavar="Y1,Y2,...",
              help="Years of the claims table [default: the sweep's years].")
@click.option("--policy", default=None, help="Policy of the paired figures, map, sensitivity and discovery "
                                             "[default: gradient].")
@click.option("--baseline", default=None, help="Their baseline [default: none].")
@click.option("--condition", "conditions", multiple=True, metavar="COND",
              help="Scenario-discovery condition (repeat) [default: real_gdp:POLICY-BASELINE].")
@click.option("--optimization", is_flag=True, default=False,
              help="STORE is a `gsim optimize` store: report its front instead.")
def report_command(store, out, years, policy, baseline, conditions, optimization):
    """Write the report of a sweep STORE: one self-contained HTML file.

    Provenance, the claim verdicts, figures, sensitivity, scenario discovery and caveats; it
    loads no file and contacts no server, so it can be mailed or opened offline. Open it
    with any browser (e.g. `xdg-open report.html`, `open report.html` on macOS).
    """
    if optimization:
        path = optimization_report(store, out)
        click.echo(f"wrote {path}; open it in a browser, e.g. xdg-open {path}", err=True)
        return
    try:
        path = report(store, out, years=parse_years(years), policy=policy, baseline=baseline,
                      conditions=list(conditions) or None)
    except fg.FigureError as e:
        raise UsageFailure(one_line(e)) from None
    click.echo(f"wrote {path}; open it in a browser, e.g. xdg-open {path}", err=True)
