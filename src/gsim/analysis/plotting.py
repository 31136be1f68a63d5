"""What every figure shares: a figure on matplotlib's Agg canvas, saving it (PNG, SVG), axis
labels, colours, the default policies of a comparison, and reading an indicator of a store
(`FigureError` when it cannot be drawn)."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gsim.analysis.claims import (
    PairedStore,
    save_level_hint,
)
from gsim.analysis.quicklook import human
from gsim.claims import Measure
from gsim.model.layout import VARIABLES
from gsim.output import atomic_write
from gsim.sweeps.store import open_store

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

FORMATS = (".png", ".svg")
DPI = 150
POLICY_COLOURS = {"none": "#7f7f7f", "market": "#1f77b4", "subsidy_race": "#d62728", "gradient": "#2ca02c"}
VERDICT_COLOURS = {"holds": "#1a9850", "mostly holds": "#91cf60", "inconclusive": "#e6ab02",
                   "mostly fails": "#fc8d59", "fails": "#d73027", "no data": "#bdbdbd"}
_OTHER_COLOURS = ("#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf", "#ff7f0e")
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
