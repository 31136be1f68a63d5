"""Figures of a sweep store and of single runs, drawn with matplotlib's Agg renderer (no window).

Every function returns a `matplotlib.figure.Figure`; `save(fig, "x.png")` writes PNG or SVG.
Axis labels come from the outputs' ``long_name`` and ``units``. Figures of a store read it like
the claims do (`PairedStore`: one output at a time, a slab of runs at a time, reduced to the
years drawn) and never write into it. A store that lacks what a figure needs is a
`FigureError` naming the ``--save`` level that has it. See docs/report.md.

The figures of a sweep's outcomes are here; what every figure shares is in `plotting`, the
figures on the map in `maps` (their public names are importable from here too).
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gsim.analysis.claims import (
    _quantiles,
    claims,
    paired_stats,
    percent,
    verdict,
)
from gsim.analysis.maps import (
    BOUNDARIES_LABEL,
    FLOW_OUTPUTS,
    REGION_OUTPUTS,
    province_map,
    store_run,
    store_scenario,
    transfer_flows,
)
from gsim.analysis.plotting import (
    _OTHER_COLOURS,
    DPI,
    FORMATS,
    POLICY_COLOURS,
    VERDICT_COLOURS,
    FigureError,
    _attrs,
    _counts_note,
    _human_tick,
    _measure,
    _policy_axis,
    _store,
    default_baseline,
    default_pair,
    default_policy,
    label,
    new_figure,
    parse_indicator,
    policy_colour,
    render,
    save,
    year_axis,
)
from gsim.analysis.quicklook import human, signed_pct
from gsim.model.layout import label as name_label

if TYPE_CHECKING:  # pragma: no cover
    import xarray as xr
    from matplotlib.figure import Figure

__all__ = [
    "BOUNDARIES_LABEL", "claim_paths_chart", "claims_chart", "default_baseline", "default_pair",
    "default_policy", "DPI", "fan_chart", "FigureError", "FLOW_OUTPUTS", "FORMATS", "KINDS", "label",
    "new_figure", "paired_chart", "parse_indicator", "plot", "policy_colour", "POLICY_COLOURS",
    "province_map", "REGION_OUTPUTS", "render", "save", "sensitivity_chart", "store_run", "store_scenario",
    "STRIP_POINTS", "transfer_flows", "VERDICT_COLOURS", "year_axis",
]

KINDS = ("fan", "paired", "claims", "sensitivity", "map", "flows")
STRIP_POINTS = 400  # at most this many samples drawn as dots per policy in `paired`


# ----------------------------------------------------------------------------------------
# store figures
# ----------------------------------------------------------------------------------------
def fan_chart(store: str | Path, indicator: str = "real_gdp", policies: Sequence[str] | None = None) -> Figure:
    """Per policy over time: the median over samples (line) and the 5-95 % range (band)."""
    ps = _store(store, all_years=True)
    m = _measure(ps, indicator)
    v = ps.values(m)  # (samples x replicates, policies, times)
    fig = new_figure(6.0, 3.8)
    ax = fig.add_subplot()
    for pol in _policy_axis(ps, policies):
        med, p5, p95 = _quantiles(v[:, ps.policy_index(pol)])
        colour = policy_colour(pol, ps.policies)
        ax.fill_between(ps.years, p5, p95, color=colour, alpha=0.18, linewidth=0)
        ax.plot(ps.years, med, color=colour, label=pol, linewidth=1.8)
    year_axis(ax)
    ax.yaxis.set_major_formatter(_human_tick)
    ax.set_ylabel(label(_attrs(ps, m), indicator))
    ax.set_title(f"{m.label()}: median, 5\u201395 % range ({_counts_note(ps)})", fontsize=9)
    ax.legend(frameon=False, fontsize=8)
    ax.grid(alpha=0.3)
    return fig


def paired_chart(store: str | Path, indicator: str = "real_gdp", year: float | None = None,
                 baseline: str | None = None, policies: Sequence[str] | None = None,
                 better: int | None = None) -> Figure:
    """The distribution over samples of each policy's paired difference against `baseline`
    at `year` (default: the last saved year): box from the 25 to the 75 % quantile, whiskers
    at 5 and 95 %, the median, and the samples as dots (at most STRIP_POINTS, evenly picked).
    `better` (+1 or -1: which way is better) labels the title and counts the samples better."""
    ps = _store(store, None if year is None else [year])
    m = _measure(ps, indicator)
    baseline = default_baseline(ps.policies, baseline)
    others = [p for p in _policy_axis(ps, policies) if p != baseline]
    v = ps.values(m)[:, :, -1]
    ib = ps.policy_index(baseline)
    fig = new_figure(6.0, 1.4 + 0.85 * len(others))
    ax = fig.add_subplot()
    rng = np.random.default_rng(0)  # vertical jitter of the dots only
    for k, pol in enumerate(others):
        xp, xb = v[:, ps.policy_index(pol)], v[:, ib]
        d = (xp - xb)[np.isfinite(xp - xb)]
        colour = policy_colour(pol, ps.policies)
        if len(d):
            dots = d[:: max(1, len(d) // STRIP_POINTS)]
            ax.plot(dots, k + rng.uniform(-0.18, 0.18, len(dots)), "o", color=colour, markersize=2, alpha=0.4,
                    zorder=2)
            ax.bxp([_box_stats(d)], positions=[k], orientation="horizontal", widths=0.5, showfliers=False,
                   patch_artist=True, boxprops={"facecolor": colour, "alpha": 0.45},
                   medianprops={"color": "black", "linewidth": 2}, zorder=3)
            st = {key: x[0] for key, x in paired_stats(xp[:, None], xb[:, None], better or +1).items()}
            ax.annotate(f"median {'+' if st['effect'] > 0 else ''}{human(st['effect'])}"
                        + (f" ({signed_pct(st['effect_pct'])})" if np.isfinite(st["effect_pct"]) else "")
                        + f", {'better' if better else 'higher'} in {percent(st['share'])} % of "
                          f"{int(st['n'])} samples",
                        (0.99, k + 0.42), xycoords=("axes fraction", "data"), ha="right", va="center", fontsize=7)
    ax.axvline(0.0, color="black", linewidth=0.8)
    ax.set_yticks(range(len(others)), [f"{p}\n\u2212 {baseline}" for p in others])
    ax.set_ylim(-0.6, len(others) - 0.4)
    ax.xaxis.set_major_formatter(_human_tick)
    attrs = _attrs(ps, m)
    ax.set_xlabel(label({**attrs, "long_name": f"change in {attrs.get('long_name', indicator)}"}, indicator))
    way = {1: "; higher is better", -1: "; lower is better"}.get(better or 0, "")
    ax.set_title(f"{m.label()} in {ps.years[-1]:g}, paired with {baseline} ({_counts_note(ps)}{way})", fontsize=9)
    ax.grid(axis="x", alpha=0.3)
    return fig


def _box_stats(d: np.ndarray) -> dict[str, float]:
    p5, q1, med, q3, p95 = np.quantile(d, [0.05, 0.25, 0.5, 0.75, 0.95])
    return {"med": med, "q1": q1, "q3": q3, "whislo": p5, "whishi": p95}


def claims_chart(verdicts: xr.Dataset, year: float | None = None) -> Figure:
    """Each claim and pair (the rows of `gsim.claims(...)` with ``overall``): the share of
    samples in which it holds at `year` (default: the last) with its 90 % interval, coloured
    by the verdict."""
    years = [float(y) for y in verdicts.year.values]
    if year is None:
        year = years[-1]
    if not np.isclose(years, year).any():
        raise FigureError(f"year {year:g} is not among the verdicts' years ({', '.join(f'{y:g}' for y in years)})")
    res = verdicts.isel(row=verdicts.overall.values.nonzero()[0]).sel(year=year, method="nearest")
    n = res.sizes["row"]
    fig = new_figure(8.0, 1.3 + 0.34 * n)
    ax = fig.add_subplot()
    share, lo, hi = (100 * res[k].values for k in ("share", "share_lo", "share_hi"))
    names = []
    for i in range(n):
        word = verdict(share[i] / 100, lo[i] / 100, hi[i] / 100)
        colour = VERDICT_COLOURS[word]
        y = n - 1 - i
        if np.isfinite(share[i]):
            ax.plot([lo[i], hi[i]], [y, y], color=colour, linewidth=3, solid_capstyle="butt")
            ax.plot([share[i]], [y], "o", color=colour, markeredgecolor="black", markersize=6)
        ax.annotate(word, (101, y), fontsize=8, va="center", annotation_clip=False)
        names.append(f"{res.claim.values[i]}: {res.policy.values[i]} vs {res.baseline.values[i]}")
    ax.set_yticks(range(n), names[::-1], fontsize=8)
    ax.set_xlim(0, 100)
    ax.set_ylim(-0.7, n - 0.3)
    ax.axvline(50, color="black", linewidth=0.8, linestyle=":")
    ax.set_xlabel("Share of samples in which the claim holds, with its 90 % Jeffreys interval [%]")
    ax.set_title(f"Claim verdicts in {year:g}", fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    return fig


def claim_paths_chart(verdicts: xr.Dataset) -> Figure:
    """Share of samples holding at every saved time, one panel per claim, one line per
    baseline (business as usual thick), with the 90 % band of the first baseline; dotted
    lines at 50 % and 90 % (the verdict words' bounds)."""
    rows = verdicts.isel(row=verdicts.overall.values.nonzero()[0])
    ids = list(dict.fromkeys(rows.claim.values.tolist()))
    cols = 3 if len(ids) > 4 else 2 if len(ids) > 1 else 1
    nrows = -(-len(ids) // cols)
    fig = new_figure(3.4 * cols, 0.6 + 2.3 * nrows)
    t = verdicts.time.values
    for k, cid in enumerate(ids):
        ax = fig.add_subplot(nrows, cols, k + 1)
        sub = rows.isel(row=(rows.claim == cid).values.nonzero()[0])
        for i in range(sub.sizes["row"]):
            r = sub.isel(row=i)
            base = str(r.baseline.values)
            colour = POLICY_COLOURS.get(base, _OTHER_COLOURS[i % len(_OTHER_COLOURS)])
            bau = bool(r.bau.values)
            ax.plot(t, 100 * r.path_share.values, color=colour, linewidth=2.2 if bau else 1.1,
                    label=base + (" (BAU)" if bau else ""))
            if i == 0:
                ax.fill_between(t, 100 * r.path_lo.values, 100 * r.path_hi.values, color=colour, alpha=0.15)
        for level in (50, 90):
            ax.axhline(level, color="black", linewidth=0.6, linestyle=":")
        ax.set_ylim(-2, 102)
        ax.set_title(cid, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=6, loc="best")
        if k % cols == 0:
            ax.set_ylabel("holds in % of samples", fontsize=7)
    return fig


def sensitivity_chart(indices: xr.Dataset, top: int = 6, **select: Any) -> Figure:
    """Sensitivity indices over time: for each index variable (those with an ``input`` dim,
    e.g. S1 and ST, or PAWN, or delta), the `top` inputs (by their largest index) as lines with
    their confidence band (``NAME_conf``, a half-width) and, where given, ``NAME_dummy`` (the
    level an input of no effect reaches). Other dims than input and time must be chosen with
    `select` (e.g. region="Guangxi") unless they have one value."""
    ds = indices
    for dim, value in select.items():
        if dim not in ds.dims:
            raise FigureError(f"the indices have no {dim} (dims: {', '.join(map(str, ds.dims))})")
        if value not in ds[dim].values:
            raise FigureError(f"unknown {dim} {value!r}; one of {', '.join(map(str, ds[dim].values))}")
        ds = ds.sel({dim: value})
    extra = [str(d) for d in ds.dims if d not in ("input", "time")]
    for d in extra:
        if ds.sizes[d] > 1:
            raise FigureError(f"the indices are per {d}: pick one, e.g. {d}={ds[d].values[0]!r}")
    ds = ds.isel({d: 0 for d in extra})
    names = [str(v) for v in ds.data_vars
             if "input" in ds[v].dims and "time" in ds[v].dims and not str(v).endswith("_conf")]
    if not names or "time" not in ds.dims:
        raise FigureError("no sensitivity indices with dims (input, time) to draw")
    times = ds["time"].values
    first = ds[names[0]].transpose("input", "time").values
    peak = np.where(np.isfinite(first), first, -np.inf).max(axis=1)
    order = np.argsort(-peak, kind="stable")[:top]
    inputs = [str(x) for x in ds["input"].values]
    fig = new_figure(max(7.0, 4.2 * len(names) + 1.5), 4.2)
    axes = fig.subplots(1, len(names), sharey=True, squeeze=False)[0]
    colours = [f"C{i}" for i in range(10)]
    for ax, name in zip(axes, names):
        v = ds[name].transpose("input", "time").values
        conf = ds[f"{name}_conf"].transpose("input", "time").values if f"{name}_conf" in ds else None
        style = "-o" if len(times) < 8 else "-"
        for k, i in enumerate(order):
            ax.plot(times, v[i], style, color=colours[k % 10], label=name_label(inputs[i]), markersize=4)
            if conf is not None:
                ax.fill_between(times, v[i] - conf[i], v[i] + conf[i], color=colours[k % 10], alpha=0.15, linewidth=0)
        if f"{name}_dummy" in ds:
            ax.plot(times, ds[f"{name}_dummy"].values, "--", color="grey", label="dummy (no effect)")
        ax.set_title(name, fontsize=10)
        year_axis(ax)
        ax.set_ylabel(label(ds[name].attrs, name))
        ax.grid(alpha=0.3)
    axes[-1].legend(frameon=False, fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5))
    a = ds.attrs
    what = str(a.get("long_name") or a.get("indicator") or "the indicator")
    if a.get("contrast"):
        what += " (" + str(a["contrast"]).replace("-", " \u2212 ") + ")"
    method = f" ({a['method']})" if a.get("method") else ""
    fig.suptitle(textwrap.fill(f"Sensitivity of {what} to the sampled inputs{method}", 90), fontsize=10)
    return fig


# ----------------------------------------------------------------------------------------
# by kind (gsim plot)
# ----------------------------------------------------------------------------------------
def plot(store: str | Path, kind: str, *, indicator: str | None = None, year: float | None = None,
         policy: str | None = None, baseline: str | None = None, sample: int = 0,
         sensitivity: xr.Dataset | None = None) -> Figure:
    """The figure `kind` (one of KINDS) of a store (for ``flows`` also a run's netCDF file),
    as `gsim plot` draws it. ``sensitivity`` draws the given indices (`sensitivity`)."""
    if kind not in KINDS:
        raise FigureError(f"unknown figure {kind!r}; one of {', '.join(KINDS)}")
    if kind == "flows":
        if Path(store).suffix == ".nc":
            import xarray as xr

            with xr.open_dataset(store) as run:
                return transfer_flows(run.load(), policy)
        return transfer_flows(store_run(store, sample, policy), policy)
    if kind == "fan":
        return fan_chart(store, indicator or "real_gdp", [p for p in (policy, baseline) if p] or None)
    if kind == "paired":
        return paired_chart(store, indicator or "real_gdp", year, baseline, [policy] if policy else None)
    if kind == "map":
        return province_map(store, indicator or "real_output", year, policy, baseline)
    if kind == "claims":
        return claims_chart(claims(store, None if year is None else [year]), year)
    if sensitivity is None:
        raise FigureError("the sensitivity figure needs sensitivity indices")
    return sensitivity_chart(sensitivity)
