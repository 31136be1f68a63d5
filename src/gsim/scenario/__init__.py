"""Scenarios: the regions, tiers, parameters and run settings of one model set-up.

A scenario is a TOML file plus (optionally) a regions CSV. `load_scenario()` reads and
validates it and returns an immutable `Scenario`; the embedded default (31 provinces) is used
when no path is given. Validation errors are `ScenarioError`s whose message is one line,
``FILE: field: what is wrong``.

Public API:

- `load_scenario(path=None) -> Scenario`
- `scenario_to_toml(sc) -> str`: the canonical resolved scenario (self-contained, loadable)
- `scenario_hash(sc) -> str`: sha256 hex of the canonical TOML (the source path excluded)
- `replace_run(sc, **run_settings) -> Scenario` and `Scenario.with_overrides(**kw)`:
  re-validated copies
- `known_policy_defaults()`: the policies and their default parameters (plugin registry)

The parameters themselves (names, defaults, bounds, units) are in `gsim.params`; each policy
brings its own defaults and bounds (`gsim.policies.Policy.schema`).

The file format is documented in docs/scenario.md.
"""

from __future__ import annotations

import functools
import hashlib
import tomllib
from dataclasses import dataclass, field, fields
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np
import tomli_w

from gsim.events import EventError, EventSetup, build_events
from gsim.model import rules
from gsim.model.layout import REGION_COLUMNS
from gsim.model.pairs import Pairs, candidate_pairs
from gsim.observed import population_trend
from gsim.params import (
    DEFAULT_MODEL,
    DEFAULT_POPULATION_PATH,
    DEFAULT_TIERS,
    GTM2_ONLY,
    MAX_ABS_TIME,
    MAX_NESTING,
    MAX_RUN_MEMORY,
    MAX_STEPS,
    METHODS,
    MIN_DT,
    MODELS,
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
from gsim.scenario.reading import ScenarioError, _bytes, _Ctx, _default_text, _label, _read_file, _short, _typename
from gsim.scenario.regions import Regions, _region_attribute_names, _regions_csv, _regions_inline, _sending

DIVIDE_RTOL = 1e-9  # relative tolerance when checking that dt divides an interval

_TOP_KEYS = ("scenario", "run", "params", "policies", "indicators", "regions", "shares", "sweep", "events",
             "match")
_SCENARIO_KEYS = ("name", "model", "regions", "tiers", "pairs", "sending", "region_attributes", "population_path")
_HEADER = (
    "# gsim scenario, resolved: every parameter explicit, regions inline.\n"
    "# Load it with `gsim scenario check FILE` or `gsim run FILE`; see docs/scenario.md.\n\n"
)


@dataclass(frozen=True, eq=False)
class Scenario:
    """A validated scenario. Parameters use the ASCII names of SCALAR_DEFAULTS/TIER_DEFAULTS."""

    name: str
    tiers: tuple[str, ...]
    regions: Regions
    params: dict[str, float]  # every key of SCALAR_DEFAULTS (GTM2_ONLY ones at GTM-1's values under gtm1)
    tier_params: dict[str, np.ndarray]  # every key of TIER_DEFAULTS -> (S,)
    policy_params: dict[str, dict[str, Any]]  # policy name -> its parameters (overrides)
    run: RunSettings = field(default_factory=RunSettings)
    nearest: int | None = None  # candidate pairs: None = all ordered pairs, k = k nearest
    sweep: dict[str, Any] | None = None  # the raw [sweep] table, validated by gsim.sweep
    match: dict[str, Any] | None = None  # the raw [match] table, validated by gsim.matching
    events: tuple[dict[str, Any], ...] | None = None  # raw [[events]] tables (gsim.events)
    sending: tuple[str, ...] | None = None  # sending regions if listed (gsim.groups), else computed
    source: str = "<default>"
    model: str = DEFAULT_MODEL  # "gtm1" (the reference specification) or "gtm2" (docs/model.md)
    indicator_params: dict[str, dict[str, Any]] = field(default_factory=dict)  # plugin indicator -> overrides
    population_path: str | None = None  # GTM-2: the SSP the provinces' labour forces follow (None: GTM-1)

    # Equality and hashing follow the canonical TOML (so `source` is ignored).
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Scenario):
            return NotImplemented
        return self.hash == other.hash

    def __hash__(self) -> int:
        return hash(self.hash)

    @functools.cached_property
    def toml(self) -> str:
        """The canonical resolved scenario as TOML (see `scenario_to_toml`); computed once."""
        return _HEADER + tomli_w.dumps(_to_doc(self))

    @functools.cached_property
    def hash(self) -> str:
        """sha256 hex of the canonical TOML (see `scenario_hash`); computed once."""
        return hashlib.sha256(self.toml.encode("utf-8")).hexdigest()

    @functools.cached_property
    def pop_trend(self) -> np.ndarray:
        """d_r (1/yr), each region's population growth relative to the nation's (GTM-2
        mechanism 5, `gsim.observed.population_trend`); zeros under GTM-1. Derived from the
        scenario's regions, run years and population path, never stored."""
        if self.population_path is None:
            return np.zeros(len(self.regions))
        return np.array(population_trend(self.regions.name, self.run.t0, self.run.t1, self.population_path))

    @functools.cached_property
    def region_inputs(self) -> dict[str, np.ndarray]:
        """The region data the model reads, by `gsim.model.layout.REGION_COLUMNS` name."""
        return _region_inputs(self.regions, self.pop_trend)

    @functools.cached_property
    def pairs(self) -> Pairs:
        """The candidate (sender, receiver) pairs (spec §3); computed once."""
        return candidate_pairs(self.regions.lat, self.regions.lon, self.nearest)

    def with_overrides(self, **kw: Any) -> Scenario:
        """A re-validated copy with some values replaced (None values are ignored).

        Keys: model ("gtm1" or "gtm2"; GTM-1 drops GTM-2's parameters), run settings (t0, t1,
        dt, save_every, policy_period, method, policy), regions (a regions CSV file),
        population_path (GTM-2: "SSP1".."SSP5"), sweep (the
        whole [sweep] table), scalar
        parameters (delta, ...), per-tier parameters (alpha=... as {tier: value} or a sequence
        in tier order), name, pairs ("all", k or {"nearest": k}), nearest (k) and policies
        ({policy: {key: value}}, merged into the current policy parameters), indicators (the same
        for plugin indicators) and sending (a list of sending region names, see `gsim.groups`).
        """
        return _with_overrides(self, kw)


def known_policy_defaults() -> dict[str, dict[str, Any]]:
    """Known policies (built-in and from plugins) and their default parameters."""
    return {
        str(name): {str(k): (list(v) if isinstance(v, tuple) else v) for k, v in dict(p.defaults).items()}
        for name, p in get_plugin_manager().policies().items()
    }


def _policy_schemas() -> dict[str, dict[str, ParamSpec]]:
    return {name: dict(p.schema) for name, p in get_plugin_manager().policies().items()}


BUILTIN_POLICY_NAMES: tuple[str, ...] = tuple(p.name for p in BUILTIN_POLICIES)


# ----------------------------------------------------------------------------------------
# loading
# ----------------------------------------------------------------------------------------
def load_scenario(path: str | Path | None = None) -> Scenario:
    """Read and validate a scenario TOML file; None gives the embedded default (china31).

    Raises ScenarioError with a one-line message ``FILE: field: what is wrong``.
    """
    if path is None:
        return _parse_text(_default_text(), "<default>", files("gsim").joinpath("data"))
    p = Path(path)
    ctx = _Ctx(_label(path))
    try:
        text = _read_file(p)
    except FileNotFoundError:
        ctx.fail("file", "not found")
    except IsADirectoryError:
        ctx.fail("file", "is a directory, not a scenario file")
    except (OSError, ValueError) as e:
        ctx.fail("file", f"cannot read: {e}")
    return _parse_text(text, ctx.file, p.parent)


def loads_scenario(text: str, source: str = "<string>", base_dir: str | Path | None = None) -> Scenario:
    """Validate a scenario given as TOML text (a regions CSV is looked up under base_dir)."""
    return _parse_text(text, source, Path(base_dir) if base_dir is not None else Path.cwd())


def _parse_text(text: str, label: str, base: Any) -> Scenario:
    ctx = _Ctx(label)
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        ctx.fail("toml", f"invalid TOML: {e}")
    except ValueError as e:  # raised by tomllib's number conversion, e.g. > 4300 digits
        ctx.fail("toml", f"invalid TOML: {str(e).split(';')[0]}")
    except RecursionError:
        ctx.fail("toml", f"invalid TOML: arrays or tables nested too deeply (the limit is {MAX_NESTING} levels)")
    _check_values(ctx, doc)
    return _from_doc(doc, ctx, base)


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


def _from_doc(doc: dict, ctx: _Ctx, base: Any) -> Scenario:
    ctx.keys(doc, _TOP_KEYS, "")

    # [scenario]
    sct = ctx.table(doc.get("scenario", {}), "scenario")
    ctx.keys(sct, _SCENARIO_KEYS, "scenario.")
    if "name" in sct:
        name = ctx.string(sct["name"], "scenario.name")
    else:
        stem = Path(ctx.file).stem if not ctx.file.startswith("<") else ""
        name = stem or "scenario"
    tiers = _tiers(ctx, sct.get("tiers", list(DEFAULT_TIERS)))
    model = ctx.string(sct.get("model", DEFAULT_MODEL), "scenario.model")
    if model not in MODELS:
        ctx.fail("scenario.model", f"unknown model {_show(model)} (known: {', '.join(MODELS)})")
    population_path = None
    if model == "gtm1" and "population_path" in sct:
        ctx.fail("scenario.population_path", "a GTM-2 setting, but scenario.model is \"gtm1\" (remove it, or use gtm2)")
    if model == "gtm2":
        population_path = ctx.string(sct.get("population_path", DEFAULT_POPULATION_PATH), "scenario.population_path")

    # [run]
    run = _run_settings(ctx, doc.get("run", {}))

    # [params]
    params, tier_params = _params(ctx, doc.get("params", {}), tiers, model)

    # regions (CSV or inline) and [shares]
    if "regions" in sct and "regions" in doc:
        ctx.fail("regions", "regions given both inline ([[regions]]) and as scenario.regions = file")
    extra = _region_attribute_names(ctx, sct.get("region_attributes", []))
    if "regions" in sct:
        regions = _regions_csv(ctx, sct["regions"], base, tiers, doc.get("shares"), extra)
    elif "regions" in doc:
        regions = _regions_inline(ctx, doc["regions"], tiers, doc.get("shares"), extra)
    else:
        ctx.fail("regions", "missing: give scenario.regions = \"file.csv\" or [[regions]] tables")

    # pairs
    nearest = _pairs(ctx, sct.get("pairs", "all"), len(regions))
    sending = _sending(ctx, sct.get("sending"), regions)

    # limits that protect the machine, then the rules on the model inputs (gsim.model.rules)
    _check_memory(ctx, run, len(regions), nearest, len(tiers))
    trend = np.zeros(len(regions))
    if population_path is not None:
        try:
            trend = np.array(population_trend(regions.name, run.t0, run.t1, population_path))
        except ValueError as e:
            ctx.fail("scenario.population_path", str(e))
    region_data = _region_inputs(regions, trend)
    problem = rules.first_problem(rules.one_run(params, tier_params, region_data, regions.shares),
                                  tiers, regions.name)
    if problem is not None:
        ctx.fail(*problem)

    # [policies]
    policy_params = _policies(ctx, doc.get("policies", {}), tiers, run.policy)
    if run.policy not in policy_params:
        ctx.fail("run.policy", f"unknown policy {_show(run.policy)} (known: {', '.join(sorted(policy_params))})")

    indicator_params = _indicators(ctx, doc.get("indicators", {}), tiers)

    sweep = doc.get("sweep")
    if sweep is not None:
        sweep = ctx.table(sweep, "sweep")
    match = doc.get("match")
    if match is not None:
        match = ctx.table(match, "match")

    # [[events]]: kept raw here, validated against the event types by gsim.events
    events = doc.get("events")
    if events is not None:
        if not isinstance(events, list):
            ctx.fail("events", f"expected an array of tables ([[events]]), got {_typename(events)}")
        for i, ev in enumerate(events):
            ctx.table(ev, f"events[{i}]")
            if not isinstance(ev.get("type"), str):
                ctx.fail(f"events[{i}].type", "missing: give the event type's name")
        events = tuple(events)

    sc = Scenario(
        name=name,
        tiers=tiers,
        regions=regions,
        params=params,
        tier_params=tier_params,
        policy_params=policy_params,
        run=run,
        nearest=nearest,
        sweep=sweep,
        match=match,
        events=events,
        sending=sending,
        source=ctx.file,
        model=model,
        indicator_params=indicator_params,
        population_path=population_path,
    )
    _check_events(ctx, sc)
    return sc


def _region_inputs(regions: Regions, trend: np.ndarray) -> dict[str, np.ndarray]:
    return {c: trend if c == "pop_trend" else getattr(regions, c) for c in REGION_COLUMNS}


def _check_events(ctx: _Ctx, sc: Scenario) -> None:
    """Build the scenario's events once, so a bad event is a load error, not a run's."""
    if not sc.events:
        return
    r = sc.run
    setup = EventSetup(r.t0, r.dt, r.n_steps, tuple(sc.regions.name), tuple(sc.tiers), sc.pairs, sc)
    try:
        build_events(sc.events, setup, get_plugin_manager().event_types())
    except EventError as e:
        fld, _, why = str(e).partition(": ")
        ctx.fail(fld, why)


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
            tv = ctx.table(pt[k], fld)
            ctx.keys(tv, tiers, fld + ".")
            for t in tiers:
                if t not in tv:
                    ctx.fail(fld, f"missing tier {_show(t)} (give a value for every tier: {', '.join(tiers)})")
            vals = [ctx.number(tv[t], f"{fld}.{t}", spec) for t in tiers]
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


# ----------------------------------------------------------------------------------------
# writing, hashing, overrides
# ----------------------------------------------------------------------------------------
def _plain(v: Any) -> Any:
    """Python scalars/lists/dicts only (no numpy types), for tomli_w."""
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, np.ndarray):
        return [_plain(x) for x in v.tolist()]
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return float(v)
    return v


def _to_doc(sc: Scenario) -> dict[str, Any]:
    """The canonical document of a scenario (every value explicit, regions inline)."""
    rg = sc.regions
    r = sc.run
    doc: dict[str, Any] = {
        "scenario": {
            "name": sc.name,
            "model": sc.model,
            "tiers": list(sc.tiers),
            "pairs": "all" if sc.nearest is None else {"nearest": int(sc.nearest)},
            **({} if sc.population_path is None else {"population_path": sc.population_path}),
        },
        "run": {
            "t0": float(r.t0), "t1": float(r.t1), "dt": float(r.dt),
            "save_every": float(r.save_every), "policy_period": float(r.policy_period),
            "method": r.method, "policy": r.policy,
        },
        "params": {k: float(sc.params[k]) for k in SCALAR_DEFAULTS
                   if not (sc.model == "gtm1" and k in GTM2_ONLY)},
    }
    for k in TIER_DEFAULTS:
        doc["params"][k] = {t: float(x) for t, x in zip(sc.tiers, sc.tier_params[k])}
    doc["policies"] = {name: _plain(sc.policy_params[name]) for name in sorted(sc.policy_params)}
    if sc.indicator_params:
        doc["indicators"] = {name: _plain(sc.indicator_params[name]) for name in sorted(sc.indicator_params)}
    doc["regions"] = [
        {
            "name": rg.name[i],
            "name_zh": rg.name_zh[i],
            "macro_region": rg.macro_region[i],
            "lat": float(rg.lat[i]),
            "lon": float(rg.lon[i]),
            "gdp": float(rg.gdp[i]),
            "population": float(rg.population[i]),
            "schooling": float(rg.schooling[i]),
            "shares": {t: float(x) for t, x in zip(sc.tiers, rg.shares[i])},
            **{col: values[i] for col, values in rg.attributes},
        }
        for i in range(len(rg))
    ]
    if rg.attributes:
        doc["scenario"]["region_attributes"] = [col for col, _ in rg.attributes]
    if sc.sending is not None:
        doc["scenario"]["sending"] = list(sc.sending)
    if sc.sweep is not None:
        doc["sweep"] = _plain(sc.sweep)
    if sc.match is not None:
        doc["match"] = _plain(sc.match)
    if sc.events:
        doc["events"] = [_plain(dict(ev)) for ev in sc.events]
    return doc


def scenario_to_toml(sc: Scenario) -> str:
    """The canonical resolved scenario as TOML: self-contained, loadable, `source` left out."""
    return sc.toml


def scenario_hash(sc: Scenario) -> str:
    """sha256 hex digest of `scenario_to_toml(sc)` (independent of where it was loaded from)."""
    return sc.hash


_RUN_FIELDS = tuple(f.name for f in fields(RunSettings))


def _with_overrides(sc: Scenario, kw: dict[str, Any]) -> Scenario:
    ctx = _Ctx(sc.source)
    doc = _to_doc(sc)
    for k, v in kw.items():
        if v is None:
            continue
        if k in _RUN_FIELDS:
            doc["run"][k] = v
        elif k in SCALAR_DEFAULTS:
            doc["params"][k] = v
        elif k in TIER_DEFAULTS:
            if isinstance(v, np.ndarray):
                v = v.ravel().tolist()
            if isinstance(v, dict):
                doc["params"][k] = dict(v)
            elif isinstance(v, (list, tuple)) and len(v) == len(sc.tiers):
                doc["params"][k] = dict(zip(sc.tiers, v))
            else:
                ctx.fail(f"params.{k}", f"expected {len(sc.tiers)} values (one per tier: {', '.join(sc.tiers)}) "
                                        f"or a table by tier, got {_typename(v)} {_show(v)}")
        elif k == "name":
            doc["scenario"]["name"] = v
        elif k == "population_path":
            doc["scenario"]["population_path"] = v
        elif k == "model":
            _switch_model(doc, sc.model, v)
        elif k == "sweep":  # the whole [sweep] table
            doc["sweep"] = ctx.table(v, "sweep")
        elif k == "regions":  # a regions CSV file (a path, relative to the working directory)
            doc.pop("regions", None)
            doc["scenario"]["regions"] = str(v)
        elif k == "nearest":
            doc["scenario"]["pairs"] = {"nearest": v}
        elif k == "pairs":
            doc["scenario"]["pairs"] = v if isinstance(v, (str, dict)) else {"nearest": v}
        elif k == "sending":
            doc["scenario"]["sending"] = list(v) if isinstance(v, (list, tuple)) else v
        elif k == "policies":
            for pname, pvals in ctx.table(v, "policies").items():
                doc["policies"].setdefault(pname, {}).update(ctx.table(pvals, f"policies.{pname}"))
        elif k == "indicators":
            for iname, ivals in ctx.table(v, "indicators").items():
                doc.setdefault("indicators", {}).setdefault(iname, {}).update(ctx.table(ivals, f"indicators.{iname}"))
        else:
            ctx.fail(_short(str(k)), "unknown override")
    _check_values(ctx, doc)
    return _from_doc(_plain(doc), ctx, Path.cwd())


def _switch_model(doc: dict[str, Any], old: str, new: Any) -> None:
    """Move a canonical document to another model: each parameter at the old model's default
    takes the new model's; GTM-2's own parameters are dropped under GTM-1, sampled ones too."""
    doc["scenario"]["model"] = new
    if new not in MODELS or new == old:
        return  # an unknown model is reported by the loader
    if new == "gtm1":
        doc["scenario"].pop("population_path", None)
    before, after = model_defaults(old), model_defaults(new)
    uncertain = (doc.get("sweep") or {}).get("uncertain")
    if new == "gtm1" and isinstance(uncertain, dict):  # GTM-1 samples none of GTM-2's parameters
        doc["sweep"]["uncertain"] = {k: v for k, v in uncertain.items() if k not in GTM2_ONLY}
    for k in SCALAR_DEFAULTS:
        if new == "gtm1" and k in GTM2_ONLY:
            doc["params"].pop(k, None)
        elif doc["params"].get(k, before[k]) == before[k]:
            doc["params"][k] = after[k]


def replace_run(
    sc: Scenario,
    *,
    t0: float | None = None,
    t1: float | None = None,
    dt: float | None = None,
    save_every: float | None = None,
    policy_period: float | None = None,
    method: str | None = None,
    policy: str | None = None,
) -> Scenario:
    """A re-validated copy with run settings replaced (None leaves a setting as it is)."""
    return _with_overrides(
        sc,
        dict(t0=t0, t1=t1, dt=dt, save_every=save_every, policy_period=policy_period,
             method=method, policy=policy),
    )


__all__ = ["BUILTIN_POLICY_NAMES", "Regions", "Scenario", "ScenarioError", "known_policy_defaults", "load_scenario",
           "loads_scenario", "replace_run", "scenario_hash", "scenario_to_toml"]
