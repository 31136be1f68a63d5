"""Scenario discovery: boxes of sampled inputs where a condition holds (e.g. a claim fails).

PRIM (patient rule induction, Friedman & Fisher 1999; for scenario discovery Bryant & Lempert
2010) from EMA workbench (``ema_workbench.analysis.prim``) peels the input space down to boxes
(a range per restricted input) dense in *cases of interest*. Each box reports:

- coverage: the share of all cases of interest that fall inside it,
- density: the share of its cases that are of interest,
- mass: the share of all cases inside it,
- per restricted input its range and quasi-p value (a one-sided binomial test of whether the
  restriction matters; small is significant).

`discover_cases(X, y)` takes any boolean case-of-interest array (one case per row of X);
`discover(store, condition)` builds X and y from a sweep store. See docs/analysis.md.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gsim.analysis import select as sel
from gsim.sweeps.analysis import BETTER
from gsim.sweeps.store import open_store, open_sweep, plugin_better

if TYPE_CHECKING:
    import pandas as pd
    import xarray as xr

THRESHOLD = 0.8  # least density of a box
MASS_MIN = 0.05  # least share of all cases in a box
PEEL_ALPHA = 0.05  # share of cases peeled off per step
MAX_BOXES = 3
QP_MAX = 0.05  # restrictions whose quasi-p value exceeds this are dropped


@dataclass(frozen=True)
class Restriction:
    """One restricted input of a box: low <= input <= high (its range in the data: lo..hi)."""

    input: str
    low: float
    high: float
    data_low: float
    data_high: float
    qp: float  # quasi-p value (the larger of the lower and upper limit's)


@dataclass(frozen=True)
class Box:
    coverage: float
    density: float
    mass: float
    n: int  # cases inside
    k: int  # cases of interest inside
    restrictions: tuple[Restriction, ...]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Discovery:
    """PRIM boxes for `condition` at `year` over the store's sampled inputs."""

    condition: str
    year: float
    n_cases: int  # cases (sample x replicate) whose runs are all ok
    n_interest: int  # cases where the condition holds
    n_excluded: int  # cases left out: a run they need is not ok
    inputs: tuple[str, ...]
    boxes: tuple[Box, ...]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_frame(self) -> pd.DataFrame:
        """One row per (box, restricted input) with the box's statistics."""
        import pandas as pd

        rows = [{"box": i + 1, "coverage": b.coverage, "density": b.density, "mass": b.mass,
                 "n": b.n, "k": b.k, **asdict(r)}
                for i, b in enumerate(self.boxes) for r in b.restrictions]
        cols = ["box", "coverage", "density", "mass", "n", "k", "input", "low", "high",
                "data_low", "data_high", "qp"]
        return pd.DataFrame(rows, columns=cols)


def _prim():
    """EMA workbench's PRIM module; its import warns about optional extras it does not need."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="ipyparallel not installed")
        warnings.filterwarnings("ignore", category=ImportWarning)
        from ema_workbench.analysis import prim
    return prim


def discover_cases(
    X: pd.DataFrame,
    y: np.ndarray,
    *,
    threshold: float = THRESHOLD,
    mass_min: float = MASS_MIN,
    peel_alpha: float = PEEL_ALPHA,
    max_boxes: int = MAX_BOXES,
) -> list[Box]:
    """PRIM boxes of the rows of X (numeric columns: inputs) where y (bool) is True.

    Of each peeling trajectory, the box at least `threshold` dense that covers the most cases
    of interest beyond its share of all cases (largest coverage - mass, i.e. weighted relative
    accuracy: mass x (density - overall share)) is kept; then restrictions that are not
    significant (quasi-p > 0.05) are dropped, which makes the box simpler and can make it less
    dense than `threshold` (its density says so). Boxes are sought until PRIM finds none at
    the threshold, a box restricts nothing or is no denser than the cases overall, or
    `max_boxes` are found; cases in a box are removed before the next is sought.
    """
    y = np.asarray(y, bool)
    if len(y) != len(X):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)}")
    if not 0 < threshold <= 1:  # also refuses NaN, which PRIM would divide by
        raise sel.AnalysisError(f"threshold must be in (0, 1], got {threshold}")
    if not y.any() or y.all():
        return []
    prim = _prim()
    X = X.reset_index(drop=True).astype(float)
    boxes: list[Box] = []
    with warnings.catch_warnings():  # pandas deprecations inside ema_workbench
        warnings.filterwarnings("ignore", module=r"ema_workbench\.")
        p = prim.Prim(X, y.astype(int), threshold=threshold, mass_min=mass_min, peel_alpha=peel_alpha)
        for _ in range(max_boxes):
            box = p.find_box()
            if box is None or box.mean < threshold:
                break
            traj = box.peeling_trajectory
            dense = traj[traj["density"] >= threshold]
            i = int(dense.index[int(np.argmax((dense["coverage"] - dense["mass"]).values))])
            box.select(i)
            for name, (qp_lo, qp_hi) in box.qp[i].items():
                if max(qp_lo, qp_hi) > QP_MAX:
                    box.drop_restriction(name)  # appends the wider box to the trajectory
                    i = len(box.box_lims) - 1
            b = _box(box, i, X)
            if not b.restrictions or b.density <= y.mean():
                break
            boxes.append(b)
    return boxes


def _box(box, i: int, X: pd.DataFrame) -> Box:
    stats = box.peeling_trajectory.iloc[i]
    lims = box.box_lims[i]
    qp = box.qp[i]
    restr = tuple(
        Restriction(str(name), float(lims[name].iloc[0]), float(lims[name].iloc[1]),
                    float(X[name].min()), float(X[name].max()), float(max(qp[name])))
        for name in qp)
    return Box(float(stats["coverage"]), float(stats["density"]), float(stats["mass"]),
               int(stats["n"]), int(stats["k"]), restr)


# ----------------------------------------------------------------------------------------
# conditions on a store
# ----------------------------------------------------------------------------------------
_CONDITION = re.compile(
    r"^\s*(?P<ind>[A-Za-z_]\w*)(?:\[(?P<label>[^\]]+)\])?"
    r"(?::(?P<pols>[A-Za-z_]\w*(?:-[A-Za-z_]\w*)?))?"
    r"\s*(?:(?P<op><=|>=|<|>)\s*(?P<value>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?))?\s*$")
_OPS = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal}


def discover(
    store: str | Path,
    condition: str,
    *,
    year: float | None = None,
    threshold: float = THRESHOLD,
    mass_min: float = MASS_MIN,
    peel_alpha: float = PEEL_ALPHA,
    max_boxes: int = MAX_BOXES,
) -> Discovery:
    """PRIM boxes of the sweep's sampled inputs where `condition` holds at `year`.

    condition: ``INDICATOR[LABEL]:A-B`` (the paired claim "A is better than B" fails:
    A is not above B for indicators where higher is better, not below where lower is; a
    plugin indicator's better direction is the one its sweep recorded),
    ``INDICATOR[LABEL]:A-B OP VALUE`` (the paired difference A - B compared with VALUE) or
    ``INDICATOR[LABEL]:A OP VALUE`` (the level under policy A; the policy may be left out
    in a one-policy store). LABEL picks a region or tier of per-region/per-tier outputs.
    OP is one of < <= > >=. year: default the last of the sweep's report years.
    """
    m = _CONDITION.match(condition)
    if not m:
        raise sel.AnalysisError(
            f"cannot read condition {condition!r}; write e.g. real_gdp:gradient-market, "
            "theil:gradient>0.05 or gdp[Beijing]:gradient-market<0")
    ds = open_sweep(store)
    ind = m["ind"]
    da = sel.indicator(ds, ind)
    region = m["label"] if "region" in da.dims else None
    da = _label(da, m["label"], ind)
    pols: tuple[str, ...]
    if m["pols"] is None:
        all_pols = sel.policies(ds, None)
        if len(all_pols) > 1:
            raise sel.AnalysisError(f"name a policy in the condition, e.g. {ind}:{all_pols[-1]}>0 "
                                    f"(this store has {', '.join(all_pols)})")
        pols = (all_pols[0],)
    elif "-" in m["pols"]:
        pols = sel.contrast(ds, m["pols"])
    else:
        pols = (sel.policy(ds, m["pols"]),)
    if m["op"] is None:
        if len(pols) == 1:
            raise sel.AnalysisError(f"a condition on a level needs a comparison, e.g. {condition.strip()}>0")
        better = {**BETTER, **plugin_better(open_store(store))}  # a plugin indicator's, as the sweep ran
        if not better.get(ind):
            raise sel.AnalysisError(f"{ind} has no better direction; compare the difference, "
                                    f"e.g. {condition.strip()}>0")
    ti = sel.year_indices(ds, None if year is None else [year])[-1]
    y, ok = sel.paired_values(ds, da, [ti], [pols])
    v, ok = y[:, :, 0, 0].reshape(-1), ok[:, :, 0].reshape(-1)  # cases: (sample, replicate)
    if m["op"] is None:
        holds = better[ind] * v <= 0  # the claim "first policy better" fails
    else:
        holds = _OPS[m["op"]](v, float(m["value"]))
    X = inputs_frame(ds, region)
    boxes = discover_cases(X[ok], holds[ok], threshold=threshold, mass_min=mass_min,
                           peel_alpha=peel_alpha, max_boxes=max_boxes)
    return Discovery(condition.strip(), float(ds["time"].values[ti]), int(ok.sum()), int(holds[ok].sum()),
                     int((~ok).sum()), tuple(X.columns), tuple(boxes))


def _label(da, label: str | None, ind: str):
    """The indicator at one region or tier (LABEL of the condition), without that dimension."""
    extra = da.dims[4:]
    if label is None:
        if extra:
            raise sel.AnalysisError(f"{ind} is per {' and '.join(extra)}: pick one, e.g. "
                                    f"{ind}[{da[extra[0]].values[0]}]")
        return da
    return sel.labels(da, [label]).squeeze(extra[0], drop=True)


def inputs_frame(ds: xr.Dataset, region: str | None = None) -> pd.DataFrame:
    """The sampled inputs of a paired store (open_sweep) as one row per case (sample x
    replicate, in that order). A per-region input enters only for a condition on one region's
    output, as that region's own factor (as in sensitivity): with 31 regions, its factors for
    every region would give PRIM 31 more columns to overfit on."""
    import pandas as pd

    cols: dict[str, np.ndarray] = {}
    for u in sel.spec(ds).uncertain:
        if u.per_region and region is None:
            continue
        v = ds[u.target].sel(region=region) if u.per_region else ds[u.target]
        cols[u.target] = v.values.reshape(-1)  # (sample, replicate) -> case
    return pd.DataFrame(cols)
