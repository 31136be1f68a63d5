"""`gsim plugins`: every plugin, and what each registers with its parameters (defaults,
bounds, units, meaning), indicators with their units and better direction."""

from __future__ import annotations

import json
import math
import textwrap
from collections.abc import Mapping
from typing import Any

import click

from gsim.cli import base
from gsim.cli.base import PLUGIN_ERRORS, PluginFailure, main, one_line
from gsim.params import ParamSpec
from gsim.plugins import DISABLE_ENV, GsimPluginManager, get_plugin_manager, registered_by

BETTER_WORDS = {1: "higher is better", -1: "lower is better", None: "no better direction"}


def _plain(v: Any) -> Any:
    """A JSON value for a default (tuples as lists, anything else odd as text)."""
    return json.loads(json.dumps(v, default=str))


def _finite(x: float) -> float | None:
    """A bound for JSON: None where there is none (infinite)."""
    return x if math.isfinite(x) else None


def parameters(defaults: Mapping[str, Any], schema: Mapping[str, ParamSpec]) -> list[dict[str, Any]]:
    """One row per parameter: name, default and, where declared, bounds, unit and meaning."""
    rows = []
    for k, d in defaults.items():
        sp = schema.get(k)
        row: dict[str, Any] = {"name": k, "default": _plain(d)}
        if sp is not None:
            row.update(bounds=sp.describe(), low=_finite(sp.low), high=_finite(sp.high), unit=sp.unit,
                       meaning=sp.description)
        rows.append(row)
    return rows


def details(pm: GsimPluginManager, commands: Mapping[str, list[str]]) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """plugin -> kind -> one entry per registered thing: name, description, parameters (and
    units, better direction for indicators; measures for claims; help for commands)."""
    out: dict[str, dict[str, list[dict[str, Any]]]] = {}

    def add(plugin: str, kind: str, entry: dict[str, Any]) -> None:
        out.setdefault(plugin, {}).setdefault(kind, []).append(entry)

    for name, pol in sorted(pm.policies().items()):
        add(pol.plugin, "policies", {"name": name, "description": pol.description,
                                     "parameters": parameters(pol.defaults, pol.schema)})
    for name, et in sorted(pm.event_types().items()):
        add(et.plugin, "events", {"name": name, "description": et.description,
                                  "parameters": parameters(et.defaults, et.schema)})
    for name, ind in sorted(pm.indicators().items()):
        add(ind.plugin, "indicators", {"name": name, "description": ind.description or ind.long_name,
                                       "units": ind.units, "better": ind.better,
                                       "parameters": parameters(ind.defaults, ind.schema)})
    for name, claim in sorted(pm.claims().items()):
        add(claim.plugin, "claims", {"name": name, "description": claim.statement,
                                     "measures": [m.label() + (" (+)" if m.direction == 1 else " (-)")
                                                  for m in claim.measures]})
    cli = main
    for plugin, names in commands.items():
        for name in names:
            cmd = cli.commands.get(name)
            add(plugin, "commands", {"name": name,
                                     "description": (cmd.get_short_help_str(200) if cmd else "")})
    return out


def _param_line(p: dict[str, Any]) -> str:
    """E.g. ``factor = 2.0 t/unit, in [0, 10]: emission factor``; ``year (required)``."""
    text = f"{p['name']} (required)" if p["default"] is None else f"{p['name']} = {json.dumps(p['default'])}"
    if "bounds" in p:
        text += (f" {p['unit']}" if p["unit"] and p["unit"] != "1" else "") + f", {p['bounds']}"
        if p["meaning"]:
            text += f": {p['meaning']}"
    return text


@main.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--brief", is_flag=True, help="Names only, without parameters and descriptions.")
def plugins_cmd(as_json: bool, brief: bool) -> None:
    """List every plugin (built-in and external): version, hooks, what it registers, each
    with its parameters (default, bounds, unit, meaning); indicators with units and which
    way is better."""
    pm = get_plugin_manager()
    ctx = click.get_current_context()
    main.list_commands(ctx)  # plugin commands are added on first listing
    try:
        things = registered_by(pm)  # collects the registries: broken plugins are found here
        more = details(pm, pm.commands)
    except PLUGIN_ERRORS as e:
        raise PluginFailure(one_line(e)) from None
    for plugin, commands in pm.commands.items():
        if commands:
            things.setdefault(plugin, {})["commands"] = commands
    rows: list[dict[str, Any]] = []
    for i in pm.plugin_infos():
        rows.append({
            "name": i.name, "version": i.version, "distribution": i.distribution,
            "builtin": i.builtin, "disabled": i.disabled, "broken": i.broken, "hooks": list(i.hooks),
            **{k: sorted(v) for k, v in things.get(i.name, {}).items()},
            "details": more.get(i.name, {}),
        })
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return

    def echo(line: str, indent: str = "  ") -> None:  # the terminal's width, continued lines indented
        click.echo("\n".join(textwrap.wrap(line, base.width(), initial_indent=indent,
                                           subsequent_indent=indent + "    ", break_on_hyphens=False)))
    for r in rows:
        kind = "built-in" if r["builtin"] else ("disabled" if r["disabled"] else "external")
        if r["broken"]:
            kind = f"disabled, broken: {r['broken']}"
        dist = f" [{r['distribution']}]" if r["distribution"] and not r["builtin"] else ""
        echo(f"{r['name']} {r['version']}{dist} ({kind})", "")
        if r["hooks"]:
            echo(f"hooks: {', '.join(r['hooks'])}")
        for k in ("policies", "events", "indicators", "claims", "commands"):
            if r.get(k):
                echo(f"{k}: {', '.join(r[k])}")
        if brief:
            continue
        for k, entries in r["details"].items():
            for entry in entries:
                _echo_entry(echo, k, entry)
    if not any(r["disabled"] for r in rows):
        click.echo(f"(disable plugins with {DISABLE_ENV}=name1,name2; --brief: names only)")


_NOUN = {"policies": "policy", "events": "event", "indicators": "indicator", "claims": "claim",
         "commands": "command"}


def _echo_entry(echo: Any, kind: str, e: dict[str, Any]) -> None:
    head = f"{_NOUN[kind]} {e['name']}"
    if kind == "indicators":
        head += f" ({e['units']}; {BETTER_WORDS[e['better']]})"
    echo(head + (f": {e['description']}" if e["description"] else ""))
    for p in e.get("parameters", []):
        echo(_param_line(p), "      ")
    if e.get("measures"):
        echo(f"measures: {', '.join(e['measures'])}", "      ")
