"""The checks of each table of a scenario document ([run], [params], [policies],
[indicators], scenario.tiers and scenario.pairs, the memory limit, nesting and integer range):
each turns a raw TOML value into a checked one or raises the one-line ScenarioError."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import numpy as np

from gsim.model import rules
from gsim.params import (
    DEFAULT_TIERS,
    GTM2_ONLY,
    MAX_ABS_TIME,
    MAX_NESTING,
    MAX_RUN_MEMORY,
    MAX_STEPS,
    METHODS,
    MIN_DT,
    PARAM_BOUNDS,
    POSITIVE_YEARS,
    SCALAR_DEFAULTS,
    TIER_DEFAULTS,
    ParamSpec,
    RunSettings,
    model_defaults,
)
from gsim.params import fmt_num as _num
from gsim.params import show as _show
from gsim.plugins import get_plugin_manager
from gsim.policies.builtin import BUILTIN_POLICIES
from gsim.scenario.reading import _bytes, _Ctx, _short, _typename

DIVIDE_RTOL = 1e-9  # relative tolerance when checking that dt divides an interval


def known_policy_defaults() -> dict[str, dict[str, Any]]:
    """Known policies (built-in and from plugins) and their default parameters."""
    return {
        str(name): {str(k): (list(v) if isinstance(v, tuple) else v) for k, v in dict(p.defaults).items()}
        for name, p in get_plugin_manager().policies().items()
    }


def _policy_schemas() -> dict[str, dict[str, ParamSpec]]:
    return {name: dict(p.schema) for name, p in get_plugin_manager().policies().items()}


BUILTIN_POLICY_NAMES: tuple[str, ...] = tuple(p.name for p in BUILTIN_POLICIES)


def _check_values(ctx: _Ctx, doc: dict) -> None:
    """Refuse arrays and tables nested more than MAX_NESTING levels, and integers outside the
    64-bit range that TOML allows (walked without recursion, before anything else)."""
    stack: list[tuple[Any, str, int]] = [(doc, "", 0)]
    while stack:
        v, path, depth = stack.pop()
        if depth > MAX_NESTING:
            ctx.fail(_short(path) or "toml", f"arrays or tables nested more than {MAX_NESTING} levels deep (MAX_NESTING)")
        if isinstance(v, int) and not isinstance(v, bool) and not -(2**63) <= v < 2**63:
            ctx.fail(_short(path), f"integers must be within the 64-bit range of TOML, got {_show(v)}")
        if isinstance(v, dict):
            stack.extend((x, f"{path}.{k}" if path else str(k), depth + 1) for k, x in v.items())
        elif isinstance(v, (list, tuple)):
            stack.extend((x, path, depth + 1) for x in v)


def _tiers(ctx: _Ctx, v: Any) -> tuple[str, ...]:
    if not isinstance(v, list):
        ctx.fail("scenario.tiers", f"expected an array of tier names, got {_typename(v)} {_show(v)}")
    if not v:
        ctx.fail("scenario.tiers", "must name at least one tier")
    seen: set[str] = set()
    for i, t in enumerate(v):
        ctx.string(t, f"scenario.tiers[{i}]")
        if t in seen:
            ctx.fail("scenario.tiers", f"duplicate tier {_show(t)}")
        seen.add(t)
    return tuple(v)


def _divides(dt: float, x: float) -> bool:
    k = round(x / dt)
    return k >= 1 and abs(x - k * dt) <= DIVIDE_RTOL * abs(x)


def _run_settings(ctx: _Ctx, v: Any) -> RunSettings:
    rt = ctx.table(v, "run")
    names = [f.name for f in fields(RunSettings)]
    ctx.keys(rt, names, "run.")
    d = RunSettings()
    times = {k: ctx.number(rt.get(k, getattr(d, k)), f"run.{k}") for k in ("t0", "t1")}
    spans = {k: ctx.number(rt.get(k, getattr(d, k)), f"run.{k}", POSITIVE_YEARS)
             for k in ("dt", "save_every", "policy_period")}
    for k, x in times.items():
        if abs(x) > MAX_ABS_TIME:
            ctx.fail(f"run.{k}", f"must be within ±{_num(MAX_ABS_TIME)} yr (MAX_ABS_TIME), got {_num(x)}")
    for k, x in spans.items():
        if x > 2 * MAX_ABS_TIME:
            ctx.fail(f"run.{k}", f"must be at most {_num(2 * MAX_ABS_TIME)} yr (2 x MAX_ABS_TIME), got {_num(x)}")
    t0, t1, dt = times["t0"], times["t1"], spans["dt"]
    if dt < MIN_DT:
        ctx.fail("run.dt", f"must be at least {_num(MIN_DT)} yr (the smallest step, MIN_DT), got {_num(dt)}")
    method = ctx.string(rt.get("method", d.method), "run.method")
    policy = ctx.string(rt.get("policy", d.policy), "run.policy")
    if t1 <= t0:
        ctx.fail("run.t1", f"must be greater than t0 = {_num(t0)}, got {_num(t1)}")
    steps = round((t1 - t0) / dt)
    if steps > MAX_STEPS:
        ctx.fail("run.dt", f"dt = {_num(dt)} gives {steps} steps from t0 = {_num(t0)} to t1 = {_num(t1)}, more "
                           f"than the limit of {MAX_STEPS} steps per run (MAX_STEPS); use a larger dt or a shorter run")
    if not _divides(dt, t1 - t0):
        ctx.fail("run.dt", f"dt = {_num(dt)} does not divide the horizon t1 - t0 = {_num(t1 - t0, 10)}")
    for k in ("save_every", "policy_period"):
        if not _divides(dt, spans[k]):
            ctx.fail("run.dt", f"dt = {_num(dt)} does not divide {k} = {_num(spans[k])}")
    if method not in METHODS:
        ctx.fail("run.method", f"unknown method {_show(method)} (known: {', '.join(METHODS)})")
    return RunSettings(t0=t0, t1=t1, method=method, policy=policy, **spans)


def _check_memory(ctx: _Ctx, run: RunSettings, R: int, nearest: int | None, S: int) -> None:
    """Refuse a scenario whose runs would need more than MAX_RUN_MEMORY (gsim.model.rules.run_memory)."""
    k = R - 1 if nearest is None else nearest
    terms = rules.memory_terms(R, k, S, run.n_saves)
    total = sum(terms.values())
    if total > MAX_RUN_MEMORY:
        fld, hint = {
            "regions": ("regions", "use fewer regions"),
            "pairs": ("scenario.pairs", "use pairs = { nearest = k } with a small k, or fewer regions"),
            "saves": ("run.save_every", "save less often or shorten the run"),
        }[max(terms, key=lambda t: terms[t])]
        ctx.fail(fld, f"one run would need about {_bytes(total)} of memory ({R} regions, {k} receivers per "
                      f"sender, {S} tiers, {run.n_saves} saved times), more than the limit of "
                      f"{_bytes(MAX_RUN_MEMORY)} (MAX_RUN_MEMORY); {hint}")


def _params(ctx: _Ctx, v: Any, tiers: tuple[str, ...], model: str) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    pt = ctx.table(v, "params")
    ctx.keys(pt, list(SCALAR_DEFAULTS) + list(TIER_DEFAULTS), "params.")
    params = {}
    for k, default in model_defaults(model).items():
        if model == "gtm1" and k in GTM2_ONLY and k in pt:
            ctx.fail(f"params.{k}", "a GTM-2 parameter, but scenario.model is \"gtm1\" (remove it, or use gtm2)")
        params[k] = ctx.number(pt.get(k, default), f"params.{k}", PARAM_BOUNDS[k])
    tier_params = {}
    for k, defaults in TIER_DEFAULTS.items():
        fld = f"params.{k}"
        spec = PARAM_BOUNDS[k]
        if k in pt:
            vals = ctx.tier_values(pt[k], fld, tiers, spec, f" (give a value for every tier: {', '.join(tiers)})")
        else:
            vals = []
            for t in tiers:
                if t not in DEFAULT_TIERS:
                    ctx.fail(fld, f"missing tier {_show(t)}: no default for it, give [params.{k}] for every tier")
                vals.append(float(defaults[DEFAULT_TIERS.index(t)]))
        arr = np.array(vals, dtype=np.float64)
        arr.setflags(write=False)
        tier_params[k] = arr
    return params, tier_params


def _pairs(ctx: _Ctx, v: Any, R: int) -> int | None:
    if isinstance(v, str):
        if v != "all":
            ctx.fail("scenario.pairs", f"expected \"all\" or {{ nearest = k }}, got {_show(v)}")
        return None
    if isinstance(v, dict):
        ctx.keys(v, ("nearest",), "scenario.pairs.")
        if "nearest" not in v:
            ctx.fail("scenario.pairs.nearest", "missing")
        k = ctx.integer(v["nearest"], "scenario.pairs.nearest")
        if not 1 <= k <= R - 1:
            ctx.fail("scenario.pairs.nearest", f"must be in 1..{R - 1} (R - 1 for {R} regions), got {_show(k)}")
        return k
    ctx.fail("scenario.pairs", f"expected \"all\" or {{ nearest = k }}, got {_typename(v)} {_show(v)}")
    raise AssertionError  # unreachable


def _policy_value(ctx: _Ctx, v: Any, default: Any, fld: str, tiers: tuple[str, ...], spec: ParamSpec | None) -> Any:
    key = fld.rsplit(".", 1)[-1]
    if isinstance(default, bool):
        if not isinstance(v, bool):
            ctx.fail(fld, f"expected a boolean, got {_typename(v)} {_show(v)}")
        return v
    if isinstance(default, float):
        return ctx.number(v, fld, spec)
    if isinstance(default, int):
        x = ctx.integer(v, fld)
        if spec is not None and not spec.contains(x):
            ctx.fail(fld, f"must be {spec.describe()}, got {_show(x)}")
        return x
    if isinstance(default, str):
        return ctx.string(v, fld, nonempty=False)
    if isinstance(default, list):
        if not isinstance(v, list):
            ctx.fail(fld, f"expected an array, got {_typename(v)} {_show(v)}")
        proto = default[0] if default else None
        out = [
            _policy_value(ctx, x, proto, f"{fld}[{i}]", tiers, None) if proto is not None else x
            for i, x in enumerate(v)
        ]
        if key == "tiers" or key.endswith("_tiers"):
            for i, t in enumerate(out):
                if not isinstance(t, str):
                    ctx.fail(f"{fld}[{i}]", f"expected a tier name, got {_typename(t)} {_show(t)}")
                if t not in tiers:
                    ctx.fail(fld, f"unknown tier {_show(t)} (tiers: {', '.join(tiers)})")
            if len(set(out)) != len(out):
                ctx.fail(fld, "duplicate tier")
        return out
    if isinstance(default, dict):
        return ctx.table(v, fld)
    if default is None:
        return v
    ctx.fail(fld, f"cannot check a value of default type {type(default).__name__}")


def _policies(ctx: _Ctx, v: Any, tiers: tuple[str, ...], in_force: str = "") -> dict[str, dict[str, Any]]:
    pt = ctx.table(v, "policies")
    known = known_policy_defaults()
    schemas = _policy_schemas()
    for name in pt:
        if name not in known:
            ctx.fail(f"policies.{name}", f"unknown policy (known: {', '.join(sorted(known))})")
    out: dict[str, dict[str, Any]] = {}
    # built-ins always, plugin policies only when the file configures them: installing a
    # plugin must not change the hash of scenarios that do not use it
    # (and the policy in force, so `run.policy = "a_plugin_policy"` needs no empty table)
    in_use = {in_force} if in_force in known else set()
    for name in sorted(set(BUILTIN_POLICY_NAMES) | set(pt) | in_use):
        defaults = known[name]
        given = ctx.table(pt.get(name, {}), f"policies.{name}")
        ctx.keys(given, list(defaults), f"policies.{name}.")
        resolved = {}
        for k, d in defaults.items():
            fld = f"policies.{name}.{k}"
            spec = schemas[name].get(k)
            resolved[k] = _policy_value(ctx, given.get(k, d), d, fld, tiers, spec)
        out[name] = resolved
    return out


def _indicators(ctx: _Ctx, v: Any, tiers: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """The ``[indicators.NAME]`` tables: overrides of plugin indicators' parameters, checked
    like a policy's (only the values given are kept, so a scenario's hash does not depend on
    the defaults of plugins it does not configure)."""
    it = ctx.table(v, "indicators")
    table = get_plugin_manager().indicators() if it else {}
    out: dict[str, dict[str, Any]] = {}
    for name in sorted(it):
        fld = f"indicators.{_short(str(name))}"
        if name not in table:
            ctx.fail(fld, f"no installed plugin provides this indicator (installed: "
                          f"{', '.join(sorted(table)) or 'none'}; see `gsim plugins`)")
        ind = table[name]
        given = ctx.table(it[name], fld)
        ctx.keys(given, list(ind.defaults), f"{fld}.")
        out[name] = {k: _policy_value(ctx, x, _listed(ind.defaults[k]), f"{fld}.{k}", tiers, ind.schema.get(k))
                     for k, x in sorted(given.items())}
    return out


def _listed(v: Any) -> Any:
    return list(v) if isinstance(v, tuple) else v
