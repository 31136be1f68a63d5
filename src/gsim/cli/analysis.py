"""`gsim sensitivity` and `gsim discover`: which sampled inputs drive an indicator, and where
(in the space of sampled inputs) a claim fails. Both read a store, never write it, and print
tables that fit the terminal (80 columns when its width is unknown), inputs by their labels."""

from __future__ import annotations

import math
import textwrap

import click
import numpy as np

from gsim.analysis.conditional import conditional, parse_claim_spec
from gsim.analysis.discovery import discover
from gsim.analysis.sensitivity import sensitivity
from gsim.claims import ClaimError
from gsim.cli.base import UsageFailure, finite, main, not_empty, one_line, plain_table, width
from gsim.model.layout import label
from gsim.output import atomic_write, check_writable
from gsim.sweeps.analysis import outside


def _years(text: str | None):
    if text is None or text == "all":
        return text
    try:
        return [float(y) for y in text.split(",")]
    except ValueError:
        raise UsageFailure(f"--years: expected numbers separated by commas or 'all', got {text!r}") from None


@main.command("sensitivity")
@click.argument("store")
@click.option("--indicator", "-i", required=True, help="Saved variable to analyse, e.g. real_gdp.")
@click.option("--contrast", default=None, metavar="A-B",
              help="Analyse the paired difference of two policies, e.g. gradient-market.")
@click.option("--policies", default=None, metavar="A,B,...",
              help="Without --contrast: the policies to analyse [default: all].")
@click.option("--years", default=None, metavar="Y1,Y2,...|all",
              help="Years [default: the sweep's report years, as gsim summary].")
@click.option("--method", type=click.Choice(["sobol", "pawn"]), default=None,
              help="sobol (needs --sampler saltelli) or pawn [default: sobol for a saltelli store].")
@click.option("--resamples", type=int, default=None, metavar="N",
              help="Bootstrap resamples for the intervals [default: sobol 100, pawn 30].")
@click.option("--labels", default=None, metavar="A,B,...",
              help="Only these regions or tiers, a table each [default: all; a table per tier, "
                   "the median and range over regions].")
@click.option("--csv", "csv_path", default=None, metavar="FILE", callback=not_empty,
              help="Also write every index as CSV.")
def sensitivity_command(store, indicator, contrast, policies, years, method, resamples, labels, csv_path):
    """Which sampled inputs drive an indicator (or a paired difference), by year.

    Sobol first-order (S1) and total (ST) indices on a saltelli store, PAWN indices on any
    other; 95% intervals. See docs/analysis.md.
    """
    if contrast is not None and policies is not None:
        raise UsageFailure("give either --contrast or --policies, not both")
    if csv_path:
        outside(store, csv_path, "--csv")
        check_writable(csv_path)
    res = sensitivity(store, indicator, contrast=contrast, years=_years(years), method=method,
                      policies=policies, labels=labels, num_resamples=resamples)
    text = format_sensitivity(res)
    click.echo(text, nl=False)
    if csv_path:
        with atomic_write(csv_path) as tmp:
            res.to_dataframe().to_csv(tmp)
        click.echo(f"wrote {csv_path}", err=True)

@main.command("discover")
@click.argument("store")
@click.option("--condition", "-c", default=None, metavar="CONDITION",
              help="e.g. real_gdp:gradient-market (the claim fails), theil:gradient>0.05, "
                   "gdp[Beijing]:gradient-market<0.")
@click.option("--claim", "claim_spec", default=None, metavar="CLAIM:POLICY-BASELINE",
              help="Where a claim fails (with its thresholds), e.g. efficiency:gradient-market; "
                   "also the input that decides it, by terciles.")
@click.option("--year", type=float, default=None,
              help="Year [default: the last of the sweep's report years].")
@click.option("--threshold", type=click.FloatRange(0, 1, min_open=True), default=None, callback=finite,
              help="Least density of a box [default: 0.8].")
@click.option("--max-boxes", type=click.IntRange(1), default=None, help="At most this many boxes [default: 3].")
@click.option("--csv", "csv_path", default=None, metavar="FILE", callback=not_empty,
              help="Also write the boxes as CSV (a row per box and restricted input).")
def discover_command(store, condition, claim_spec, year, threshold, max_boxes, csv_path):
    """Boxes of sampled inputs where a condition holds (PRIM scenario discovery).

    Give --condition, or --claim for where a claim fails. Coverage: share of the cases where
    the condition holds that lie in the box; density: share of the box's cases where it
    holds. See docs/analysis.md and docs/claims.md.
    """
    if (condition is None) == (claim_spec is None):
        raise UsageFailure("give --condition or --claim (one of them)")
    opts = {k: v for k, v in (("threshold", threshold), ("max_boxes", max_boxes)) if v is not None}
    if csv_path:
        outside(store, csv_path, "--csv")
        check_writable(csv_path)
    if claim_spec is not None:
        if opts:
            raise UsageFailure("--threshold and --max-boxes apply to --condition only")
        try:
            c = conditional(store, *parse_claim_spec(claim_spec), year=year)
        except ClaimError as e:
            raise UsageFailure(one_line(e)) from None
        d = c.discovery
        click.echo(format_discovery(d), nl=False)
        click.echo("\n".join(textwrap.wrap(c.words(), 80)))
    else:
        d = discover(store, condition, year=year, **opts)
        click.echo(format_discovery(d), nl=False)
    if csv_path:
        with atomic_write(csv_path) as tmp:
            d.to_frame().to_csv(tmp, index=False)
        click.echo(f"wrote {csv_path}", err=True)


# ----------------------------------------------------------------------------------------
# formatting
# ----------------------------------------------------------------------------------------
def _pm(v: float, c: float) -> str:
    return "-" if not math.isfinite(v) else f"{round(v, 2) + 0.0:5.2f} ±{c:4.2f}"  # no "-0.00"


def format_sensitivity(res) -> str:
    """Plain-text tables, one per policy (or the contrast) and region/tier: inputs by year,
    most influential (at the last year) first."""
    a = res.attrs
    sobol = a["method"] == "sobol"
    units = "" if a["units"] in ("", "1") else f", {a['units']}"  # "1": a ratio, no unit to show
    what = f"{a['indicator']} ({a['long_name']}{units})"
    out: list[str] = []

    def prose(text: str) -> None:  # a sentence, wrapped to the width; the tables fit it themselves
        out.extend(textwrap.wrap(text, width(), break_on_hyphens=False) or [""])

    prose(f"{what}: {a['contrast'].replace('-', ' - ')}" if a["contrast"] else what)
    if sobol:
        n = a["saltelli_base_samples"]
        prose(f"Sobol indices, Saltelli design N = {n:,} x ({res.sizes['input']} inputs + 2) = "
                   f"{a['samples']:,} samples; 95% intervals ({a['num_resamples']} resamples)")
    else:
        prose(f"PAWN indices from given data ({a['sampler']}, {a['samples']:,} samples); "
                   f"95% bootstrap intervals ({a['num_resamples']} resamples)")
    pols = [None] if "policy" not in res.dims else [str(p) for p in res["policy"].values]
    extra = [d for d in res["S1" if sobol else "PAWN"].dims if d not in ("input", "policy", "time")]
    picks = _picks(res, extra)
    for pol in pols:
        r = res if pol is None else res.sel(policy=pol)
        n_used = int(r["n_samples"].values)
        head = f"under {pol}, " if pol else ""
        if n_used < a["samples"]:
            which = ("the design's A and B rows with every run ok" if a["sampler"] == "saltelli"
                     else "the others have a run that is not ok")
            head += f"{n_used:,} of {a['samples']:,} samples used ({which}), "
        for pick in picks:
            rr = r.sel(pick) if pick else r
            where = ", ".join(f"{k} {v}" for k, v in pick.items()) if pick else ""
            summary = not pick and extra
            over = " x ".join(f"{r.sizes[d]} {d}s" for d in extra)
            title = head + (where or (f"median [min, max] over {over}" if summary else ""))
            prose("")
            if title.strip(", "):
                prose(title.strip(", ") + ":")
            out.extend(_table(rr, sobol, extra if summary else []))
    prose("")
    if sobol:
        prose("S1: share of the variance due to the input alone; ST: including its interactions.")
    else:
        prose("PAWN: how far the output's distribution moves when the input is fixed (0 to 1).")
        prose("(dummy): a random input without effect; an input within its interval has no detectable effect.")
    if bool(np.isnan(res["S1" if sobol else "PAWN"].values).any()):
        prose("-: the output does not vary across samples in that year (e.g. the first year).")
    return "\n".join(out) + "\n"


def _picks(res, extra: list[str]) -> list[dict]:
    """Which tables to show: one per region or tier up to 6 of them (tiers, chosen regions),
    else one table of the median and range over them."""
    if len(extra) == 1 and res.sizes[extra[0]] <= 6:
        return [{extra[0]: str(lab)} for lab in res[extra[0]].values]
    return [{}]


def _table(r, sobol: bool, over: list[str]) -> list[str]:
    """Rows: inputs, most influential in the last year first (then PAWN's dummy); columns:
    years, as many as fit. Cells: index ±interval, or over regions/tiers median [min, max]."""
    main = "ST" if sobol else "PAWN"
    heads = [main] if over else ["S1", "ST"] if sobol else ["PAWN"]
    cw = 20 if over else 13
    if over:
        span = np.vectorize(lambda m, a, b: "-" if not math.isfinite(m) else f"{m:.2f} [{a:.2f}, {b:.2f}]",
                            otypes=[object])

        def cells(name: str) -> np.ndarray:
            v = r[name]
            return span(v.median(over).values, v.min(over).values, v.max(over).values)
        key = r[main].median(over).values
    else:
        pm = np.vectorize(_pm, otypes=[object])

        def cells(name: str) -> np.ndarray:
            return pm(r[name].values, r[f"{name}_conf"].values)
        key = r[main].values
    cols = [cells(h) for h in heads]  # (input, time) each
    order = sorted(range(r.sizes["input"]), key=lambda i: -np.nan_to_num(key[i, -1], nan=-1.0))
    rows = [(label(str(r["input"].values[i])), [c[i] for c in cols]) for i in order]
    if not sobol:
        rows.append(("(dummy)", [cells("PAWN_dummy")]))
    years = [f"{t:g}" for t in r["time"].values]
    block = len(heads) * cw + 2
    W = width()
    # names wrap where that lets two years sit side by side
    w0 = min(max(12, *(len(name) for name, _ in rows)), max(20, W - 2 * block - 2)) + 2
    per = max(1, (W - w0) // block)
    out = []
    for c0 in range(0, len(years), per):
        ts = range(c0, min(c0 + per, len(years)))
        out.append(" " * w0 + "".join(f"{years[t]:>{block}}" for t in ts))
        out.append(f"{'input':<{w0}}" + "".join("  " + "".join(f"{h:>{cw}}" for h in heads) for _ in ts))
        for name, cs in rows:
            names = textwrap.wrap(name, w0 - 2)  # a long label wraps; numbers stay on its first line
            out.append(f"{names[0]:<{w0}}" + "".join("  " + "".join(f"{c[t]:>{cw}}" for c in cs) for t in ts))
            out.extend(names[1:])
    return out


def format_discovery(d) -> str:
    """The condition's share of cases, then each box: statistics and restricted ranges."""
    out = [f"condition {d.condition} at {d.year:g}"]
    share = d.n_interest / d.n_cases if d.n_cases else float("nan")
    left = f"; {d.n_excluded:,} cases left out (a run they need is not ok)" if d.n_excluded else ""
    out.extend(textwrap.wrap(f"holds in {d.n_interest:,} of {d.n_cases:,} cases ({share:.1%}){left}", width()))
    if not d.boxes:
        why = ("it never holds" if d.n_interest == 0 else "it always holds" if d.n_interest == d.n_cases
               else "no box of sampled inputs is dense enough (try a lower --threshold)")
        out.append(f"no boxes: {why}")
    for i, b in enumerate(d.boxes, 1):
        out.append("")
        out.extend(textwrap.wrap(f"box {i}: coverage {b.coverage:.2f}, density {b.density:.2f} ({b.density / share:.1f} "
                                 f"x overall), mass {b.mass:.2f}; holds in {b.k:,} of its {b.n:,} cases", width()))
        rows = [[label(r.input), _range(r.low, r.high), _range(r.data_low, r.data_high), f"{r.qp:.1g}"]
                for r in b.restrictions]
        out.extend(plain_table(["input", "in the box", "in the data", "quasi-p"], rows, width(), "  "))
    out.append("")
    out.extend(textwrap.wrap("coverage: share of the cases where it holds that are in the box; density: "
                             "share of the box's cases where it holds; mass: share of all cases in the box.",
                             width()))
    return "\n".join(out) + "\n"


def _range(lo: float, hi: float) -> str:
    return f"{lo:.4g} .. {hi:.4g}"
