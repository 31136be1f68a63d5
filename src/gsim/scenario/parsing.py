"""The `Scenario` and how it is parsed: TOML text (a file, a string or the embedded default)
to a validated, frozen Scenario, table by table (the checks are in `validation`, the regions in
`regions`), and back through its canonical document for overrides."""

from __future__ import annotations

import functools
import hashlib
import tomllib
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np
import tomli_w

from gsim.events import EventError, EventSetup, build_events
from gsim.model import rules
from gsim.model.layout import REGION_COLUMNS
from gsim.model.pairs import Pairs, candidate_pairs
from gsim.observed import investment_rate, population_trend
from gsim.params import DEFAULT_MODEL, DEFAULT_POPULATION_PATH, DEFAULT_TIERS, MAX_NESTING, MODELS, RunSettings
from gsim.params import show as _show
from gsim.plugins import get_plugin_manager
from gsim.scenario.canonical import _HEADER, _plain, _to_doc
from gsim.scenario.overrides import apply_overrides
from gsim.scenario.reading import _Ctx, _default_text, _label, _read_file, _typename
from gsim.scenario.regions import Regions, _region_attribute_names, _regions_csv, _regions_inline, _sending
from gsim.scenario.validation import (
    _check_memory,
    _check_values,
    _indicators,
    _pairs,
    _params,
    _policies,
    _run_settings,
    _tiers,
)

_TOP_KEYS = ("scenario", "run", "params", "policies", "indicators", "regions", "shares", "sweep", "events",
             "match")
_SCENARIO_KEYS = ("name", "model", "regions", "tiers", "pairs", "sending", "region_attributes", "population_path")


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
        scenario's regions, start year and population path, never stored."""
        if self.population_path is None:
            return np.zeros(len(self.regions))
        return np.array(population_trend(self.regions.name, self.run.t0, self.population_path))

    @functools.cached_property
    def invest_rate(self) -> np.ndarray:
        """s_r, each region's fixed-investment rate relative to the national mean (experimental
        GTM-2 mechanism, weight ω_I, `gsim.observed.investment_rate`); ones under GTM-1."""
        if self.population_path is None:
            return np.ones(len(self.regions))
        return np.array(investment_rate(self.regions.name, self.run.t0))

    @functools.cached_property
    def region_inputs(self) -> dict[str, np.ndarray]:
        """The region data the model reads, by `gsim.model.layout.REGION_COLUMNS` name."""
        return _region_inputs(self.regions, self.pop_trend, self.invest_rate)

    @functools.cached_property
    def pairs(self) -> Pairs:
        """The candidate (sender, receiver) pairs (spec §3); computed once."""
        return candidate_pairs(self.regions.lat, self.regions.lon, self.nearest)

    def with_overrides(self, **kw: Any) -> Scenario:
        """A re-validated copy with some values replaced (None values are ignored).

        Keys: model ("gtm1" or "gtm2"; GTM-1 drops GTM-2's parameters), run settings (t0, t1,
        dt, save_every, policy_period, method, policy), regions (a regions CSV file),
        population_path (GTM-2: "SSP1".."SSP5"), sweep (the whole [sweep] table), scalar
        parameters (delta, ...), per-tier parameters (alpha=... as {tier: value} or a sequence
        in tier order), name, pairs ("all", k or {"nearest": k}), nearest (k) and policies
        ({policy: {key: value}}, merged into the current policy parameters), indicators (the same
        for plugin indicators) and sending (a list of sending region names, see `gsim.groups`).
        """
        ctx = _Ctx(self.source)
        doc = _to_doc(self)
        apply_overrides(ctx, doc, self, kw)
        _check_values(ctx, doc)
        return _from_doc(_plain(doc), ctx, Path.cwd())


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
    trend, invest = np.zeros(len(regions)), np.ones(len(regions))
    if population_path is not None:
        try:
            trend = np.array(population_trend(regions.name, run.t0, population_path))
        except ValueError as e:
            ctx.fail("scenario.population_path", str(e))
        invest = np.array(investment_rate(regions.name, run.t0))
    region_data = _region_inputs(regions, trend, invest)
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


def _region_inputs(regions: Regions, trend: np.ndarray, invest: np.ndarray) -> dict[str, np.ndarray]:
    derived = {"pop_trend": trend, "invest_rate": invest}
    return {c: derived[c] if c in derived else getattr(regions, c) for c in REGION_COLUMNS}


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
