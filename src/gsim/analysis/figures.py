"""Figures of a sweep store and of single runs, drawn with matplotlib's Agg renderer (no window).

Every function returns a `matplotlib.figure.Figure`; `save(fig, "x.png")` writes PNG or SVG.
Axis labels come from the outputs' ``long_name`` and ``units``. Figures of a store read it like
the claims do (`PairedStore`: one output at a time, a slab of runs at a time, reduced to the
years drawn) and never write into it. A store that lacks what a figure needs is a
`FigureError` naming the ``--save`` level that has it. See docs/report.md.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gsim.analysis.claims import (
    SLAB_CHUNKS,
    PairedStore,
    _quantiles,
    _units,
    claims,
    paired_stats,
    percent,
    save_level_hint,
    verdict,
)
from gsim.analysis.quicklook import human, signed_pct
from gsim.claims import CUMULATIVE, Measure
from gsim.model.layout import VARIABLES
from gsim.model.layout import label as name_label
from gsim.observed import province_outlines
from gsim.output import atomic_write, region_coords
from gsim.scenario import Scenario, loads_scenario
from gsim.sweeps.store import STATUS_OK, open_checked, open_store, paired_shape

if TYPE_CHECKING:  # pragma: no cover
    import xarray as xr
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

KINDS = ("fan", "paired", "claims", "sensitivity", "map", "flows")
FORMATS = (".png", ".svg")
DPI = 150
POLICY_COLOURS = {"none": "#7f7f7f", "market": "#1f77b4", "subsidy_race": "#d62728", "gradient": "#2ca02c"}
VERDICT_COLOURS = {"holds": "#1a9850", "mostly holds": "#91cf60", "inconclusive": "#e6ab02",
                   "mostly fails": "#fc8d59", "fails": "#d73027", "no data": "#bdbdbd"}
_OTHER_COLOURS = ("#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf", "#ff7f0e")
STRIP_POINTS = 400  # at most this many samples drawn as dots per policy in `paired`
_NAME = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*(?:\[\s*([^\]]+?)\s*\])?\s*$")


class FigureError(ValueError):
    """A figure that cannot be drawn from what it was given; the message is one line."""


# ----------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------
def new_figure(width: float = 8.0, height: float = 4.5) -> Figure:
    """A figure on matplotlib's Agg canvas (no pyplot, no global state, no window)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def render(fig: Figure, target: Any, **kwargs: Any) -> None:
    """fig.savefig with every text shown literally: names come from users' files, and a `$`
    in one must not be read as matplotlib mathtext (`$\\undefined$` would raise)."""
    import matplotlib
    from matplotlib.text import Text

    for text in fig.findobj(Text):
        text.set_parse_math(False)
    with matplotlib.rc_context({"text.parse_math": False}):  # texts made while drawing (ticks)
        fig.savefig(target, **kwargs)


def save(fig: Figure, path: str | Path) -> Path:
    """Write `fig` as PNG or SVG, by the file's suffix (to a temporary file, then renamed)."""
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise FigureError(f"{path}: write .png or .svg")
    with atomic_write(path) as tmp:
        render(fig, tmp, dpi=DPI, format=path.suffix.lower()[1:])
    return path


def _human_tick(x: float, _pos: float) -> str:
    return human(x, 3)


def year_axis(ax: Axes) -> None:
    """Whole years on the x axis."""
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10]))
    ax.xaxis.set_major_formatter("{x:g}")
    ax.set_xlabel("Year")


def label(attrs: Mapping[str, Any], name: str, units: str | None = None, width: int = 48) -> str:
    """An axis label: the long name (else `name`), then the units unless dimensionless, in
    lines of at most `width` characters."""
    text = str(attrs.get("long_name") or name)
    units = str(attrs.get("units", "")) if units is None else units
    text = text[:1].upper() + text[1:]
    return textwrap.fill(f"{text} [{units}]" if units and units != "1" else text, width)


def policy_colour(policy: str, policies: Sequence[str]) -> str:
    if policy in POLICY_COLOURS:
        return POLICY_COLOURS[policy]
    others = [p for p in policies if p not in POLICY_COLOURS]
    return _OTHER_COLOURS[others.index(policy) % len(_OTHER_COLOURS)]


def _known(policies: Sequence[str], name: str, what: str) -> str:
    if name not in policies:
        raise FigureError(f"unknown {what} {name!r}; the store has {', '.join(policies)}")
    return name


def default_policy(policies: Sequence[str], policy: str | None = None) -> str:
    """`policy`, by default gradient (else the last policy); an unknown one is a FigureError."""
    return _known(policies, policy or ("gradient" if "gradient" in policies else policies[-1]), "policy")


def default_baseline(policies: Sequence[str], baseline: str | None = None) -> str:
    """`baseline`, by default none (else the first policy); an unknown one is a FigureError."""
    return _known(policies, baseline or ("none" if "none" in policies else policies[0]), "baseline")


def default_pair(policies: Sequence[str], policy: str | None = None,
                 baseline: str | None = None) -> tuple[str, str]:
    """(policy, baseline) by the defaults above; the same policy twice is a FigureError."""
    policy, baseline = default_policy(policies, policy), default_baseline(policies, baseline)
    if policy == baseline:
        raise FigureError(f"the policy and the baseline are both {policy}; choose two different policies")
    return policy, baseline


def parse_indicator(text: str) -> tuple[str, str | None]:
    """'overcapacity[labor]' -> ('overcapacity', 'labor'); 'real_gdp' -> ('real_gdp', None)."""
    m = _NAME.match(text)
    if not m:
        raise FigureError(f"cannot read indicator {text!r}; write e.g. real_gdp or overcapacity[labor]")
    return m[1], m[2]


def _measure(ps: PairedStore, text: str) -> Measure:
    """The Measure of indicator `text` in a store: known, saved, and a tier or region named
    where the output has one."""
    name, pick = parse_indicator(text)
    if not ps.has(name):
        if name in VARIABLES:
            hint = save_level_hint(name, str(ps.attrs.get("save", "indicators")))
            raise FigureError(f"{ps.path}: the store lacks {name}; {hint}")
        outputs = [n for n in VARIABLES if ps.has(n)]
        raise FigureError(f"unknown indicator {name!r}; the store has {', '.join(outputs)}")
    dims = ps.dims(name)[2:]
    if len(dims) > 1:
        raise FigureError(f"{name} is per {' and '.join(dims)}; this figure draws outputs of at most one "
                          "region or tier")
    if not dims:
        if pick is not None:
            raise FigureError(f"{name} has no regions or tiers to pick {pick!r} from")
        return Measure(name, +1)
    dim = dims[0]
    labels = ps.labels[dim]
    if pick is None:
        raise FigureError(f"{name} is per {dim}: pick one, e.g. {name}[{labels[0]}]")
    if pick not in labels:
        raise FigureError(f"unknown {dim} {pick!r} of {name}; one of {', '.join(labels)}")
    return Measure(name, +1, tier=pick) if dim == "tier" else Measure(name, +1, region=pick)


def _attrs(ps: PairedStore, m: Measure) -> dict[str, Any]:
    attrs = dict(ps.g[m.indicator].attrs)
    pick = m.tier if m.tier is not None else m.region
    if pick is not None:
        attrs["long_name"] = f"{attrs.get('long_name', m.indicator)} ({pick})"
    return attrs


def _store(store: str | Path, years: Iterable[float] | None = None, *, all_years: bool = False) -> PairedStore:
    if all_years:
        years = [float(t) for t in open_store(store)["time"][:]]
    return PairedStore(store, years, last_only=years is None)


def _policy_axis(ps: PairedStore, policies: Sequence[str] | None) -> list[str]:
    chosen = list(policies) if policies else list(ps.policies)
    for p in chosen:
        if p not in ps.policies:
            raise FigureError(f"unknown policy {p!r}; the store has {', '.join(ps.policies)}")
    return chosen


def _counts_note(ps: PairedStore) -> str:
    c = ps.counts()
    note = f"{c['n_ok']} of {c['n_runs']} runs ok"
    if c["n_pending"]:
        note += f", {c['n_pending']} pending"
    return note


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


def _region_values(ps: PairedStore, name: str) -> np.ndarray:
    """(samples x replicates, policies, regions) values of per-region output `name` at the
    store's (last chosen) year; runs that are not ok are NaN."""
    a = ps.g[name]
    ti = ps.tis[-1]
    n, step = a.shape[0], a.chunks[0] * SLAB_CHUNKS
    out = np.empty((n, a.shape[2]))
    for r0 in range(0, n, step):
        out[r0:r0 + step] = a[r0:r0 + step, ti]
    out[~ps.ok] = np.nan
    S, Rp, P = ps.shape
    return out.reshape(S * Rp, P, -1)


def store_scenario(g: Any) -> Scenario:
    """The resolved scenario an open store was written with (its ``scenario_toml`` attribute)."""
    return loads_scenario(g.attrs["scenario_toml"], source="the store's scenario_toml")


REGION_OUTPUTS = ("gdp", "real_output", "sui", "labor_force", "wage", "skills", "infrastructure")


def province_map(store: str | Path, indicator: str = "real_output", year: float | None = None,
                 policy: str | None = None, baseline: str | None = None) -> Figure:
    """Regions at their coordinates, sized by GDP (the baseline's median at `year`) and
    coloured by the median paired change of per-region output `indicator`, `policy` against
    `baseline`, in % of the baseline. Needs a store written with ``--save regions``."""
    ps = _store(store, None if year is None else [year])
    name, pick = parse_indicator(indicator)
    if pick is not None:
        raise FigureError(f"the map draws every region of {name}; leave out [{pick}]")
    missing = [n for n in dict.fromkeys(("gdp", name)) if not ps.has(n)]
    if missing:
        if name not in missing or name in REGION_OUTPUTS:
            hint = save_level_hint(missing[0], str(ps.attrs.get("save", "indicators")))
            raise FigureError(f"{ps.path}: the province map needs the per-region outputs "
                              f"{', '.join(missing)}, which the store lacks; {hint}")
        raise FigureError(f"unknown indicator {name!r}; the map draws a per-region output: {', '.join(REGION_OUTPUTS)}")
    if ps.dims(name)[2:] != ("region",):
        raise FigureError(f"{name} is not a per-region output; the map draws one of {', '.join(REGION_OUTPUTS)}")
    policy, baseline = default_pair(ps.policies, policy, baseline)
    ip, ib = ps.policy_index(policy), ps.policy_index(baseline)
    v = _region_values(ps, name)
    gdp = _region_values(ps, "gdp")[:, ib]
    size_gdp = np.array([np.median(c[np.isfinite(c)]) if np.isfinite(c).any() else np.nan for c in gdp.T])
    gain = np.array([paired_stats(v[:, ip, r:r + 1], v[:, ib, r:r + 1], +1)["effect_pct"][0]
                     for r in range(v.shape[2])])
    sc = store_scenario(ps.g)
    names = ps.labels["region"]
    if list(sc.regions.name) != names:
        raise FigureError(f"{ps.path}: the store's regions do not match its scenario's")
    groups = [str(x) for x in ps.g["region_group"][:]]
    fig = new_figure(8.0, 6.5)
    long_name = ps.g[name].attrs.get("long_name", name)
    _map(fig, fig.add_subplot(), sc.regions.lon, sc.regions.lat, names, groups, size_gdp, gain,
         size_label=f"{baseline}'s median gdp [{ps.units('gdp')}]",
         colour_label=f"{name}: median change, {policy} vs {baseline} [% of {baseline}]",
         title=f"{long_name[:1].upper()}{long_name[1:]} in {ps.years[-1]:g}: paired change, {policy} against "
               f"{baseline}\n({_counts_note(ps)})")
    return fig


BOUNDARIES_LABEL = "province boundaries"


def _map(fig: Figure, ax: Axes, lon, lat, names, groups, size, colour, *, size_label: str, colour_label: str,
         title: str, cmap: str = "RdBu") -> None:
    """Regions as circles at (lon, lat): area by `size`, colour by `colour` (diverging, centred
    on 0), a thick black edge for sending regions; the three highest and lowest colours named.
    Under the circles, thin grey province boundaries where the regions are the shipped provinces
    (added after the circles, so the circles stay the axes' first collection)."""
    from matplotlib.colors import Normalize
    from matplotlib.lines import Line2D

    lon, lat = np.asarray(lon, float), np.asarray(lat, float)
    size, colour = np.asarray(size, float), np.asarray(colour, float)
    top = np.nanmax(size) if np.isfinite(size).any() else 1.0
    area = 600.0 * np.nan_to_num(size) / (top or 1.0) + 8.0
    lim = np.nanmax(np.abs(colour)) if np.isfinite(colour).any() else 1.0
    norm = Normalize(-(lim or 1.0), lim or 1.0)
    sending = [g == "sending" for g in groups]
    pts = ax.scatter(lon, lat, s=area, c=colour, cmap=cmap, norm=norm,
                     edgecolors=["black" if s else "grey" for s in sending],
                     linewidths=[1.4 if s else 0.4 for s in sending])
    finite = np.flatnonzero(np.isfinite(colour))
    ranked = finite[np.argsort(colour[finite])]
    for i in {*ranked[:3], *ranked[-3:]}:
        ax.annotate(names[i], (lon[i], lat[i]), xytext=(5, 5), textcoords="offset points", fontsize=7)
    fig.colorbar(pts, ax=ax, label=colour_label, shrink=0.8)
    outlines = province_outlines(names)
    if outlines:
        from matplotlib.collections import LineCollection

        ax.add_collection(LineCollection(outlines, colors="0.6", linewidths=0.5, zorder=0.5,
                                         label=BOUNDARIES_LABEL))
    ax.set_aspect(1.0 / np.cos(np.deg2rad(np.nanmean(lat))))
    ax.set_xlabel("Longitude [degrees east]")
    ax.set_ylabel("Latitude [degrees north]")
    ax.set_title(title, fontsize=10)
    ref = [x for x in (top / 10, top / 2, top) if x > 0]
    handles = [Line2D([], [], marker="o", linestyle="", markersize=np.sqrt(600.0 * x / top + 8.0),
                      markerfacecolor="none", markeredgecolor="grey", label=human(x, 2)) for x in ref]
    handles.append(Line2D([], [], marker="o", linestyle="", markersize=8, markerfacecolor="lightgrey",
                          markeredgecolor="black", markeredgewidth=1.4, label="sending region"))
    ax.legend(handles=handles, title=f"circle area: {size_label}", fontsize=7, title_fontsize=7, frameon=False,
              loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=len(handles), columnspacing=2.5,
              handletextpad=1.2, borderpad=1.0, handleheight=2.4)
    ax.grid(alpha=0.3)


# ----------------------------------------------------------------------------------------
# one run: transfer flows
# ----------------------------------------------------------------------------------------
FLOW_OUTPUTS = ("transfer_out", "transfer_in")


def store_run(store: str | Path, sample: int = 0, policy: str | None = None, replicate: int = 0) -> xr.Dataset:
    """One run of a sweep store as a run Dataset (like `gsim.simulate`'s: region coordinates
    with lat, lon and region_group) holding its per-region-tier outputs; `policy` defaults to
    gradient (else the store's last). Needs a store written with ``--save full``."""
    import xarray as xr

    g, health = open_checked(store)
    attrs = dict(g.attrs)
    missing = [n for n in FLOW_OUTPUTS if n not in g]
    if missing:
        raise FigureError(f"{store}: the transfer flows need {', '.join(missing)}, which the store lacks; "
                          f"{save_level_hint(missing[0], str(attrs.get('save', 'indicators')))}")
    S, Rp, P = paired_shape(g)
    policies = [str(p) for p in attrs["policies"]]
    policy = default_policy(policies, policy)
    if not (0 <= sample < S and 0 <= replicate < Rp):
        raise FigureError(f"{store}: no sample {sample}, replicate {replicate} (samples 0..{S - 1}, "
                          f"replicates 0..{Rp - 1})")
    run = (sample * Rp + replicate) * P + policies.index(policy)
    status = int(health.status[run])  # verified: a run not verified done is pending
    if status != STATUS_OK:
        flags = str(g["status"].attrs.get("flag_meanings", "")).split()
        raise FigureError(f"{store}: run {run} (sample {sample}, {policy}) is "
                          f"{flags[status] if status < len(flags) else status}, not ok")
    sc = store_scenario(g)
    times = np.asarray(g["time"][:], float)
    data = {n: (("time", "region", "tier"), np.asarray(g[n][run]), dict(g[n].attrs)) for n in FLOW_OUTPUTS}
    coords = region_coords(sc)
    coords["time"] = ("time", times, dict(g["time"].attrs))
    return xr.Dataset(data, coords=coords, attrs={"policy": policy, "sample": sample, "replicate": replicate,
                                                  "run": run, "scenario": attrs.get("scenario", ""),
                                                  "store": str(store)})


def transfer_flows(run: xr.Dataset, policy: str | None = None) -> Figure:
    """Capital relocated in one run (a `gsim.simulate` result, a `gsim run --out` file or
    `store_run`), cumulated over its saved times: a map (circle area: capital moved out plus
    in; colour: net inflow) and, per region, the outflow (left, negative) and inflow (right)
    by tier. GTM-1 saves each region-tier's total outflow and inflow, not the flow of each
    (sender, receiver) pair, so the figure shows who sends and who receives, not who to whom."""
    ds = run
    if "policy" in ds.dims:
        pols = [str(p) for p in ds["policy"].values]
        if policy is None:
            if len(pols) > 1:
                raise FigureError(f"the run file holds several policies: pick one of {', '.join(pols)}")
            policy = pols[0]
        if policy not in pols:
            raise FigureError(f"unknown policy {policy!r}; the run file has {', '.join(pols)}")
        ds = ds.sel(policy=policy)
    missing = [n for n in (*FLOW_OUTPUTS, "lat", "lon") if n not in ds.variables]
    if missing:
        raise FigureError(f"the run lacks {', '.join(missing)}: use a gsim.simulate result, a "
                          "gsim run --out file or one run of a store written with --save full")
    times = ds["time"].values.astype(float)
    out_c = np.trapezoid(ds["transfer_out"].transpose("time", "region", "tier").values, times, axis=0)
    in_c = np.trapezoid(ds["transfer_in"].transpose("time", "region", "tier").values, times, axis=0)
    if not (np.isfinite(out_c).all() and np.isfinite(in_c).all()):
        raise FigureError("the run failed (its transfers hold NaN); draw a run that is ok")
    units = _units(str(ds["transfer_out"].attrs.get("units", "")), CUMULATIVE)
    names = [str(r) for r in ds["region"].values]
    tiers = [str(t) for t in ds["tier"].values]
    groups = [str(g) for g in ds["region_group"].values] if "region_group" in ds.coords else [""] * len(names)
    pol = policy or ds.attrs.get("policy", "")
    span = f"{times[0]:g}\u2013{times[-1]:g}"
    fig = new_figure(13.0, 6.5)
    ax_map, ax_bar = fig.subplots(1, 2, width_ratios=[1.1, 1.0])
    gross, net = out_c.sum(1) + in_c.sum(1), in_c.sum(1) - out_c.sum(1)
    _map(fig, ax_map, ds["lon"].values, ds["lat"].values, names, groups, gross, net, cmap="PuOr",
         size_label=f"capital moved out + in [{units}]",
         colour_label=f"Net inflow, in \u2212 out [{units}]",
         title=f"Capital relocated {span} under {pol}")
    moving = np.flatnonzero(gross > 0)
    if not len(moving):
        ax_bar.text(0.5, 0.5, f"No capital relocated under {pol}", ha="center", va="center",
                    transform=ax_bar.transAxes)
        ax_bar.set_axis_off()
        return fig
    rows = moving[np.argsort(net[moving], kind="stable")]
    y = np.arange(len(rows))
    colours = [f"C{i}" for i in range(len(tiers))]
    left_out, left_in = np.zeros(len(rows)), np.zeros(len(rows))
    for s, tier in enumerate(tiers):
        ax_bar.barh(y, -out_c[rows, s], left=-left_out, color=colours[s], label=tier, height=0.75)
        ax_bar.barh(y, in_c[rows, s], left=left_in, color=colours[s], height=0.75)
        left_out += out_c[rows, s]
        left_in += in_c[rows, s]
    ax_bar.axvline(0.0, color="black", linewidth=0.8)
    ax_bar.set_yticks(y, [names[i] for i in rows], fontsize=7)
    ax_bar.set_ylim(-0.6, len(rows) - 0.4)
    ax_bar.set_xlabel(f"Capital relocated, out (\u2212) and in (+) [{units}]")
    ax_bar.set_title(f"By region and tier, {span}\n(each region's outflow and inflow; pairs are not saved)", fontsize=10)
    ax_bar.legend(title="tier", frameon=False, fontsize=8, loc="lower right")
    ax_bar.grid(axis="x", alpha=0.3)
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

