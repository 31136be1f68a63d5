"""The report's section on the plugin indicators a sweep store holds: for each, what it is
(units, which way is better, its parameters as the sweep ran it), its fan over time under
each policy and its paired difference against business as usual, like the built-in outputs."""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gsim.analysis import figures as fg
from gsim.sweeps.store import plugin_better, plugin_indicators

if TYPE_CHECKING:
    from matplotlib.figure import Figure

BETTER_WORDS = {1: "higher is better", -1: "lower is better", 0: "no better direction declared"}
# (draw, alt text, caption) -> the figure's HTML (the report's `_figure`, which notes failures)
FigureFn = Callable[[Callable[[], "Figure"], str, str], str]


def _e(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _parameters(component: Mapping[str, Any]) -> str:
    """The indicator's parameters the sweep ran with, as recorded in its components."""
    params = {k.removeprefix("params."): v for k, v in component.get("parameters", {}).items()
              if k.startswith("params.")}
    return ", ".join(f"{k} = {v}" for k, v in sorted(params.items()))


def plugin_indicator_sections(store: str | Path, g: Any, policies: list[str], bau: str,
                              figure: FigureFn) -> list[tuple[str, str, str]]:
    """(id, title, HTML) of one section per plugin indicator of the store. One with a region
    or tier axis gets its description and how to draw one region or tier of it."""
    comps = {c.get("name"): c for c in g.attrs.get("components", []) if c.get("kind") == "indicator"}
    better = plugin_better(g)
    out = []
    for name in plugin_indicators(g):
        attrs = dict(g[name].attrs)
        dims = [d for d in g[name].metadata.dimension_names if d not in ("run", "time")]
        way = better.get(name, 0)
        comp = comps.get(name, {})
        facts = [f"units {attrs.get('units', '?')}", BETTER_WORDS[way],
                 f"plugin {attrs.get('gsim_plugin', '?')} ({comp.get('package', '?')} {comp.get('version', '')})"]
        params = _parameters(comp)
        if params:
            facts.append(f"parameters {params}")
        body = [f"<p><b>{_e(attrs.get('long_name', name))}</b> (<code>{_e(name)}</code>): "
                f"{_e('; '.join(facts))}.</p>"]
        if dims:
            body.append(f"<p>Per {_e(' and '.join(dims))}: draw one with <code>gsim plot STORE fan --indicator "
                        f"{_e(name)}[LABEL]</code>.</p>")
        else:
            body.append('<div class="grid">' + figure(
                partial(fg.fan_chart, store, name), f"fan chart of {name}",
                f"{name}: median over samples (line) and 5\u201395 % range (band) under each policy."))
            if len(policies) > 1 and bau in policies:
                body.append(figure(
                    partial(fg.paired_chart, store, name, baseline=bau, better=way),
                    f"paired differences of {name}",
                    f"{name} at the last year: each policy minus {bau} (business as usual) in the same "
                    f"sample; {BETTER_WORDS[way]}. Box: 25\u201375 %, whiskers: 5\u201395 %."))
            body.append("</div>")
        out.append((f"indicator-{_e(name)}", f"Plugin indicator {name}", "".join(body)))
    return out
