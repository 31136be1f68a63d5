"""Minimum-implausibility and optical-depth plots of a history match (Vernon et al. 2010, §6).

For each pair of inputs, the plane of their prior quantiles is cut into bins. Below the
diagonal: the smallest implausibility measure of any point in the bin (over all waves),
i.e. whether some setting of the other inputs fits there. Above it: the optical depth, the
share of wave 1's points in the bin that are not ruled out (wave 1 samples the prior, so this
is the NROY probability of the bin with the other inputs integrated out). The diagonal shows
the optical depth of each input alone. Drawn on matplotlib's Agg canvas like
`gsim.analysis.figures` (no pyplot); `save_figure` writes PNG or SVG.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from gsim.matching.store import nroy_prior_fifths
from gsim.matching.targets import MatchError
from gsim.matching.waves import narrowing
from gsim.sweeps.spec import SweepSpec

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

BINS = 12
MAX_INPUTS = 6


def _new_figure(width: float, height: float) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def default_inputs(ds, n: int = MAX_INPUTS) -> list[str]:
    """All inputs, or the n the match narrowed most: by the last wave's box, then (boxes often
    span the whole prior) by how far the NROY sample departs from the prior (`nroy_prior_fifths`)."""
    names = [str(x) for x in ds["input"].values]
    if len(names) <= n:
        return names
    width = (ds["box_high"] - ds["box_low"]).isel(wave=-1).values
    departure = narrowing(nroy_prior_fifths(ds).values)
    order = np.lexsort((-departure, width))  # narrowest box first, then the largest departure
    return [names[i] for i in sorted(order[:n])]


def implausibility_figure(ds, inputs: Sequence[str] | None = None, bins: int = BINS) -> Figure:
    """The pairs plot of a match store's Dataset (`gsim.open_match`)."""
    names = [str(x) for x in ds["input"].values]
    inputs = list(inputs) if inputs else default_inputs(ds)
    for name in inputs:
        if name not in names:
            raise MatchError(f"unknown input {name!r} (inputs: {', '.join(names)})")
    cutoff = float(ds.attrs["cutoff"])
    spec = SweepSpec.from_json(ds.attrs["sweep_spec"])
    dist = {u.target: u for u in spec.design}
    unit = ds["unit"].values
    meas = np.minimum(ds["measure"].values, 1e6)
    nroy = ds["nroy"].values
    first = ds["point_wave"].values == 1
    d = len(inputs)
    fig = _new_figure(2.1 * d + 1.6, 2.1 * d + 0.6)
    axes = fig.subplots(d, d, squeeze=False)
    edges = np.linspace(0.0, 1.0, bins + 1)
    mesh_i = mesh_o = None
    for a, xa in enumerate(inputs):
        for b, xb in enumerate(inputs):
            ax = axes[a, b]
            ia, ib = names.index(xa), names.index(xb)
            if a == b:
                hit = np.histogram(unit[first, ib], edges, weights=nroy[first].astype(float))[0]
                cnt = np.histogram(unit[first, ib], edges)[0]
                with np.errstate(invalid="ignore"):
                    ax.stairs(hit / np.maximum(cnt, 1), edges, fill=True, color="#4c72b0")
                ax.set_ylim(0, 1)
            elif a > b:  # below the diagonal: minimum implausibility
                grid = _binned(unit[:, ib], unit[:, ia], meas, edges, np.minimum, np.inf)
                grid[~np.isfinite(grid)] = np.nan
                mesh_i = ax.pcolormesh(edges, edges, grid, cmap="viridis_r", vmin=0, vmax=2 * cutoff)
            else:  # above: optical depth on wave 1
                hit = _binned(unit[first, ib], unit[first, ia], nroy[first].astype(float), edges, np.add, 0.0)
                cnt = _binned(unit[first, ib], unit[first, ia], np.ones(first.sum()), edges, np.add, 0.0)
                with np.errstate(invalid="ignore", divide="ignore"):
                    mesh_o = ax.pcolormesh(edges, edges, np.where(cnt > 0, hit / cnt, np.nan), cmap="magma",
                                           vmin=0, vmax=1)
            _ticks(ax, dist[xb], "x")
            if a != b:
                _ticks(ax, dist[xa], "y")
            if a == d - 1:
                ax.set_xlabel(xb)
            if b == 0:
                ax.set_ylabel(xa)
    if mesh_i is not None:
        fig.colorbar(mesh_i, ax=axes[:, 0].tolist(), location="left", shrink=0.6,
                     label=f"min {ds.attrs['use']} implausibility (cutoff {cutoff:g})")
    if mesh_o is not None:
        fig.colorbar(mesh_o, ax=axes[:, -1].tolist(), location="right", shrink=0.6,
                     label="optical depth: NROY share (wave 1)")
    fig.suptitle(f"History match of {ds.attrs.get('scenario', '')}: below the diagonal minimum "
                 "implausibility, above optical depth", fontsize=9)
    return fig


def _binned(x, y, v, edges, op, empty: float) -> np.ndarray:
    """A (bins, bins) grid, rows by y, of v reduced with `op` (np.minimum or np.add)."""
    n = len(edges) - 1
    ix = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, n - 1)
    iy = np.clip(np.searchsorted(edges, y, side="right") - 1, 0, n - 1)
    grid = np.full((n, n), empty)
    op.at(grid, (iy, ix), v)
    return grid


def _ticks(ax, u, axis: str) -> None:
    """Ticks at prior quantiles 5, 50 and 95 %, labelled with the input's values."""
    q = np.array([0.05, 0.5, 0.95])
    labels = [f"{v:.3g}" for v in np.asarray(u.ppf(q), float)]
    if axis == "x":
        ax.set_xticks(q, labels, fontsize=7)
        ax.set_xlim(0, 1)
    else:
        ax.set_yticks(q, labels, fontsize=7)
        ax.set_ylim(0, 1)


def save_figure(fig: Figure, path: str | Path) -> Path:
    path = Path(path)
    if path.suffix.lower() not in (".png", ".svg"):
        raise MatchError(f"{path}: write .png or .svg")
    fig.savefig(path, dpi=150)
    return path
