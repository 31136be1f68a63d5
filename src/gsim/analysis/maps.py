"""Figures of regions on the map: the province map of a store's paired change (`province_map`)
and the capital one run relocated (`transfer_flows`, of a run or `store_run`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gsim.analysis.claims import (
    SLAB_CHUNKS,
    PairedStore,
    _units,
    paired_stats,
    save_level_hint,
)
from gsim.analysis.plotting import (
    FigureError,
    _counts_note,
    _store,
    default_pair,
    default_policy,
    new_figure,
    parse_indicator,
)
from gsim.analysis.quicklook import human
from gsim.claims import CUMULATIVE
from gsim.observed import province_outlines
from gsim.output import region_coords
from gsim.scenario import Scenario, loads_scenario
from gsim.sweeps.store import STATUS_OK, open_checked, paired_shape

if TYPE_CHECKING:  # pragma: no cover
    import xarray as xr
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


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
