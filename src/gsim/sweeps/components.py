"""What a sweep depends on besides its scenario and spec, and what it needs: the resolved
components (policies with their state and indicator inputs, events, plugin indicators with
their parameters, providing package and version) that a resume must find again, the arrays
they add to a store (plugin indicators' dims, policies' state arrays), and the memory check
made before anything is allocated."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from gsim.api import run_scenario, scenario_indicators
from gsim.indicators import Indicator
from gsim.model import rules
from gsim.model.layout import VARIABLES
from gsim.plugins import get_plugin_manager
from gsim.policies import Policy, StateVar
from gsim.scenario import Scenario
from gsim.sweeps.spec import SweepSpec, SweepSpecError


def components(policies: Sequence[tuple[Any, Mapping[str, Any]]], events: Sequence[Mapping[str, Any]] | None,
               indicators: Sequence[tuple[Any, tuple[str, ...]]]) -> list[dict[str, Any]]:
    """Every policy (with its resolved parameters), event (the scenario's values over its
    type's defaults) and plugin indicator (units, dims, better direction, its parameters
    with the scenario's overrides) the runs depend on, each with the
    plugin, package and version that provide it."""
    pm = get_plugin_manager()

    def entry(kind: str, name: str, plugin: str, params: Mapping[str, Any]) -> dict[str, Any]:
        package, version = pm.provider(plugin) if plugin else ("?", "-")
        return {"kind": kind, "name": name, "plugin": plugin, "package": package, "version": version,
                "parameters": json.loads(json.dumps(dict(params), sort_keys=True, default=_plain))}

    out = [entry("policy", pol.name, pol.plugin, params) for pol, params in policies]
    for pol, _ in policies:  # what a policy keeps and reads: a resume with another declaration is refused
        out += [entry("state", f"{pol.name}.{k}", pol.plugin,
                      {"dims": list(v.dims), "units": v.units, "initial": float(v.initial)})
                for k, v in getattr(pol, "state", {}).items()]
        out += [entry("policy input", f"{pol.name}.{k}", pol.plugin, {"dims": list(v)})
                for k, v in getattr(pol, "indicators", {}).items()]
    table = pm.event_types()
    for i, ev in enumerate(events or ()):
        et = table.get(str(ev.get("type")))
        given = {k: v for k, v in ev.items() if k != "type"}
        out.append(entry("event", f"events[{i}] ({ev.get('type')})", et.plugin if et else "",
                         {**(et.defaults if et else {}), **given}))
    out += [entry("indicator", ind.name, ind.plugin,
                  {"units": ind.units, "dims": list(dims), "better": ind.better,
                   **{f"params.{k}": v for k, v in ind.resolve().items()}})
            for ind, dims in indicators]
    return out


def _plain(x: Any) -> Any:
    """JSON for numpy scalars and arrays in parameters."""
    return x.tolist() if hasattr(x, "tolist") else str(x)


def component_changes(stored: list[dict[str, Any]], now: list[dict[str, Any]]) -> list[str]:
    """What differs between the components a store recorded and those resolved now, in words."""
    key = {(c["kind"], c["name"]): c for c in stored}
    new = {(c["kind"], c["name"]): c for c in now}
    out = []
    for k in sorted(set(key) | set(new)):
        a, b = key.get(k), new.get(k)
        what = f"{k[0]} {k[1]}"
        if a is None:
            out.append(f"{what} is new")
        elif b is None:
            out.append(f"{what} is no longer provided")
        else:
            for field_ in ("package", "version", "plugin"):
                if a[field_] != b[field_]:
                    out.append(f"{what}: {field_} {a[field_]} -> {b[field_]}")
            pa, pb = a["parameters"], b["parameters"]
            for p in sorted(set(pa) | set(pb)):
                if pa.get(p) != pb.get(p):
                    out.append(f"{what}: parameter {p} {pa.get(p)!r} -> {pb.get(p)!r}")
    return out


def machine_memory() -> int:
    """Physical memory of this machine in bytes (0 if unknown)."""
    try:
        return int(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, OSError, ValueError):
        return 0


def memory_excess(need: int, available: int | None = None) -> str:
    """'' where `need` bytes fit in half of `available` (default: this machine's memory; an
    unknown size fits), else 'about X GiB, more than half of this machine's Y GiB': the one
    rule by which sweeps, matches and backcast ensembles refuse what would exhaust memory."""
    available = machine_memory() if available is None else available
    if not available or need <= available // 2:
        return ""
    return f"about {need / 2**30:.3g} GiB, more than half of this machine's {available / 2**30:.1f} GiB"


def check_memory(plan: Any, available: int | None = None) -> None:
    """Refuse, before anything is allocated, a sweep whose blocks or store set-up would need
    more than half of `available` (default: this machine's memory): one block holds
    block_size runs at a time (the loader's estimate `model.rules.run_memory` each, plus the
    saved values of every policy, whose chunks zarr allocates whole); the set-up holds a few
    numbers per run and the design."""
    sc, spec = plan.scenario, plan.spec
    R, S = len(sc.regions), len(sc.tiers)
    k = R - 1 if sc.nearest is None else sc.nearest
    T = len(plan.grid.save_times)
    size = {"region": R, "tier": S}
    row = sum(int(np.prod([size[d] for d in VARIABLES[n].dims], dtype=np.int64)) for n in plan.save_names)
    row += sum(int(np.prod([size[d] for d in dims], dtype=np.int64)) for _, dims in plan.indicators)
    row += sum(int(np.prod([size[d] for d in var.dims], dtype=np.int64)) for _, var, _ in getattr(plan, "states", ()))
    # zarr holds a whole chunk (block_size x policies runs) of an array when it writes one
    block = (min(spec.block_size, spec.units) * rules.run_memory(R, k, S, T)
             + spec.block_size * plan.n_policies * T * row * 8)
    if over := memory_excess(block, available):
        raise SweepSpecError(f"sweep.block_size: a block of {spec.block_size} samples x replicates needs {over}; "
                             "use a smaller --block-size")
    setup = spec.n_runs * 64 + spec.n_samples * max(1, len(spec.uncertain)) * R * 8 * 3
    if over := memory_excess(setup, available):
        raise SweepSpecError(f"sweep.samples: {spec.n_samples} samples ({spec.n_runs} runs) need {over} to set "
                             "up the store; use fewer --samples (or several stores)")


def state_arrays(policies: tuple[tuple[Policy, dict[str, Any]], ...]) -> tuple[tuple[str, StateVar, tuple[str, ...]], ...]:
    """Every state array the sweep's policies declare (stored as ``state_<name>``, NaN for the
    runs of other policies); two policies may share a name only with the same declaration."""
    found: dict[str, tuple[StateVar, list[str]]] = {}
    for pol, _ in policies:
        for name, var in pol.state.items():
            if name in found and found[name][0] != var:
                raise SweepSpecError(f"sweep.policies: policies {found[name][1][0]} and {pol.name} both keep a "
                                     f"state {name!r}, declared differently; sweep them separately")
            found.setdefault(name, (var, []))[1].append(pol.name)
    return tuple((name, var, tuple(pols)) for name, (var, pols) in found.items())


def indicator_dims(sc: Scenario, spec: SweepSpec) -> tuple[tuple[Indicator, tuple[str, ...]], ...]:
    """Each plugin indicator (the scenario's parameters merged) with its dimensions (after
    time), from one short run (without the scenario's events: one acting after the probe's
    end would make the shortened scenario invalid, and events change no dimension)."""
    table = scenario_indicators(sc)
    if not table:
        return ()
    short = dataclasses.replace(sc, events=None)
    probe = run_scenario(short, spec.policies[0], t1=sc.run.t0 + sc.run.policy_period).to_dataset()
    return tuple((ind, tuple(str(d) for d in probe[name].dims[1:])) for name, ind in table.items())
