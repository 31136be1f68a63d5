"""Figures of the model against history and the mainstream projections: the backcast per
macro-region and per province (`gsim.analysis.backcast`), and the business-as-usual fan of
national real GDP beside the SSP band (`gsim.analysis.plausibility`)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from gsim.analysis.plotting import new_figure, year_axis

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

OBSERVED, MODEL = "#222222", "#1f77b4"


def _band(ax, ds: xr.Dataset, name: str, sel: dict) -> None:
    t = ds.time.values
    ax.plot(t, ds[f"{name}_observed"].sel(sel).values, color=OBSERVED, lw=1.6, label="observed")
    ax.plot(t, ds[f"{name}_model"].sel(sel).values, color=MODEL, lw=1.6, label="model (median)")
    if f"{name}_model_p05" in ds:
        ax.fill_between(t, ds[f"{name}_model_p05"].sel(sel).values, ds[f"{name}_model_p95"].sel(sel).values,
                        color=MODEL, alpha=0.2, lw=0, label="model 5-95 %")


def backcast_macro(ds: xr.Dataset) -> Figure:
    """GDP and population shares of each macro-region: observed against the model."""
    from matplotlib.ticker import MaxNLocator

    regions = ds.macro_region.values.tolist()
    fig = new_figure(10.0, 5.0)
    axes = fig.subplots(2, len(regions), sharex=True, squeeze=False)
    for j, m in enumerate(regions):
        for i, (name, what) in enumerate((("macro_gdp_share", "GDP share"), ("macro_population_share",
                                                                             "population share"))):
            ax = axes[i][j]
            _band(ax, ds, name, {"macro_region": m})
            ax.set_title(f"{m}: {what}", fontsize=9, loc="left")
            ax.set_ylabel("%", fontsize=8)
            year_axis(ax)
            ax.xaxis.set_major_locator(MaxNLocator(4, integer=True))
    axes[0][0].legend(fontsize=7, frameon=False)
    fig.suptitle(f"Backcast {int(ds.time.values[0])}-{int(ds.time.values[-1])} ({ds.attrs.get('model', '')}, "
                 f"{ds.attrs.get('policy', '')}) against the NBS panel", fontsize=10, x=0.01, ha="left")
    return fig


def backcast_provinces(ds: xr.Dataset, series: str = "gdp_share") -> Figure:
    """Small multiples: one panel per province, observed against the model."""
    from matplotlib.ticker import MaxNLocator

    names = ds.region.values.tolist()
    cols = 8
    rows = math.ceil(len(names) / cols)
    fig = new_figure(12.0, 1.5 * rows + 0.6)
    axes = np.atleast_2d(fig.subplots(rows, cols, sharex=True, squeeze=False))
    for k, ax in enumerate(axes.ravel()):
        if k >= len(names):
            ax.set_axis_off()
            continue
        _band(ax, ds, series, {"region": names[k]})
        ax.set_title(names[k], fontsize=7, loc="left")
        ax.tick_params(labelsize=6)
        ax.xaxis.set_major_locator(MaxNLocator(3, integer=True))
    fig.suptitle(f"{series.replace('_', ' ')} (%) by province: observed (black) and model (blue)",
                 fontsize=10, x=0.01, ha="left")
    return fig


def ssp_band(check: xr.Dataset) -> Figure:
    """The business-as-usual runs' national real GDP, end over start, beside each SSP's."""
    fig = new_figure(6.0, 3.5)
    ax = fig.subplots()
    ratios = check.gdp_ratio.values[np.isfinite(check.gdp_ratio.values)]
    ax.hist(ratios, bins=30, color=MODEL, alpha=0.7, label=f"model ({check.attrs['policy']}, {len(ratios)} runs)")
    lo, hi = check.attrs["ssp_low"], check.attrs["ssp_high"]
    ax.axvspan(lo, hi, color="#999999", alpha=0.25, lw=0, label=f"SSP1-SSP5 {lo:.2f}-{hi:.2f}")
    for ssp, r in zip(check.ssp.values.tolist(), check.ssp_gdp_ratio.values):
        ax.axvline(r, color="#555555", lw=0.8)
        ax.text(r, ax.get_ylim()[1] * 0.95, ssp, rotation=90, fontsize=7, va="top", ha="right")
    ax.set_xlabel(f"national real GDP {check.attrs['t1']} / {check.attrs['t0']}")
    ax.set_ylabel("runs")
    ax.set_title(f"{check.attrs['inside_share']:.0%} of the runs inside the SSP envelope", fontsize=10, loc="left")
    ax.legend(fontsize=7, frameon=False)
    return fig
