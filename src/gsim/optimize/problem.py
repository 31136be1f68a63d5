"""What an optimisation asks: levers, objectives, robustness, constraints (parsed, validated).

Levers are a policy's declared numeric parameters (`Policy.schema`) within their bounds,
narrowed by ``name=low:high``. Objectives are time-only indicators a sweep saves
(`gsim.sweeps.engine.INDICATORS` with no region or tier axis, and plugin indicators with only
a time axis), read at a year or cumulated to it. Every bad value is an `OptimizeError`: one
line, exit code 2 on the command line.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gsim.indicators import Indicator, better_of
from gsim.model.layout import VARIABLES
from gsim.policies import Policy
from gsim.sweeps.engine import INDICATORS
from gsim.sweeps.spec import SweepSpecError

OBJECTIVE_NAMES = tuple(n for n in INDICATORS if VARIABLES[n].dims == ())
# a constraint may also hold in every region: on a per-region output of the model
REGION_NAMES = tuple(n for n in VARIABLES if VARIABLES[n].dims == ("region",))
DIRECTIONS = ("max", "min")
ALGORITHMS = ("auto", "nsga2", "nsga3")


class OptimizeError(SweepSpecError):
    """Bad optimisation input (lever, objective, robustness, constraint, store): one line."""


@dataclass(frozen=True)
class Lever:
    name: str
    low: float
    high: float
    default: float


@dataclass(frozen=True)
class Objective:
    indicator: str
    direction: str  # "max" | "min"
    threshold: float | None = None  # what satisficing counts as meeting it


@dataclass(frozen=True)
class Constraint:
    """`indicator op value` (relative: in % of business as usual, or minus it) in at least
    `share` of the scenarios; a per-region indicator must meet it in every region at once."""

    indicator: str
    op: str  # ">=" | "<="
    value: float
    percent: bool
    bau: bool
    share: float
    text: str
    per_region: bool = False


@dataclass(frozen=True)
class Robustness:
    """How a candidate's values over the scenarios become one score per objective."""

    kind: str  # mean | percentile | snr | regret | satisficing
    q: float = 100.0  # percentile of percentile / regret (regret: 100 = minimax)
    against: str = "generation"  # regret reference: best of the generation, or "bau"
    text: str = "mean"


@dataclass(frozen=True)
class Problem:
    policy: str
    levers: tuple[Lever, ...]
    objectives: tuple[Objective, ...]
    robustness: Robustness
    constraints: tuple[Constraint, ...]
    year: float
    cumulate: bool
    scenarios: int
    population: int
    generations: int
    seed: int
    epsilon: float
    algorithm: str
    bau_policy: str = "market"
    # the ensemble is the first `scenarios` NROY points of the history-match store with this
    # config hash (`--scenarios-from`); None: an LHS of [sweep.uncertain], or the scenario itself
    match_hash: str | None = None

    @property
    def indicators(self) -> tuple[str, ...]:
        """Every indicator an evaluation needs (objectives first, then constraints')."""
        names = [o.indicator for o in self.objectives]
        return tuple(dict.fromkeys(names + [c.indicator for c in self.constraints]))

    def columns(self, n_columns: int) -> dict[str, slice]:
        """Where each indicator sits among an evaluation's `n_columns` columns: one column,
        or one per region for a per-region indicator."""
        regional = [n for n in self.indicators if n in REGION_NAMES]
        R = (n_columns - (len(self.indicators) - len(regional))) // len(regional) if regional else 0
        out, j = {}, 0
        for n in self.indicators:
            w = R if n in REGION_NAMES else 1
            out[n], j = slice(j, j + w), j + w
        return out

    def score_directions(self) -> tuple[str, ...]:
        """Whether each robustness score is to be maximised or minimised."""
        k = self.robustness.kind
        if k == "regret":
            return ("min",) * len(self.objectives)
        if k == "satisficing":
            return ("max",) * len(self.objectives)
        return tuple(o.direction for o in self.objectives)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Problem:
        d = json.loads(text)
        return cls(
            **{**d, "levers": tuple(Lever(**x) for x in d["levers"]),
               "objectives": tuple(Objective(**x) for x in d["objectives"]),
               "robustness": Robustness(**d["robustness"]),
               "constraints": tuple(Constraint(**x) for x in d["constraints"])})


def parse_levers(policy: Policy, params: Mapping[str, Any], text: str | None) -> tuple[Lever, ...]:
    """'readiness,gradient_ratio=0.5:3' -> levers; every declared numeric parameter if None."""
    numeric = {n: s for n, s in policy.schema.items()
               if isinstance(params.get(n), (int, float)) and not isinstance(params.get(n), bool)}
    known = ", ".join(sorted(numeric)) or "none"
    unbounded = sorted(n for n, v in params.items()
                       if n not in policy.schema and isinstance(v, (int, float)) and not isinstance(v, bool))
    why = (f" (its numeric parameters {', '.join(unbounded)} have no bounds: declare them in the policy's "
           "schema, Policy(schema={NAME: gsim.params.spec(...)}), to make them levers)") if unbounded else ""
    if not numeric:
        raise OptimizeError(f"--policy: policy {policy.name!r} declares no numeric parameter to vary{why}")
    items = [t.strip() for t in text.split(",")] if text else sorted(numeric)
    if not items or any(not t for t in items):
        raise OptimizeError(f"--levers: expected NAME[=LOW:HIGH],... got {text!r}")
    levers = []
    for item in items:
        name, _, rng = item.partition("=")
        name = name.strip()
        if name not in numeric:
            raise OptimizeError(f"--levers: {name!r} is not a numeric parameter of policy {policy.name!r} "
                                f"(levers: {known})")
        s = numeric[name]
        low, high = s.low, s.high
        if rng:
            try:
                low, high = (float(v) for v in rng.split(":"))
            except ValueError:
                raise OptimizeError(f"--levers: {name}: expected LOW:HIGH, got {rng!r}") from None
            if not (s.low <= low < high <= s.high) or not (math.isfinite(low) and math.isfinite(high)):
                raise OptimizeError(f"--levers: {name}: range {low:g}:{high:g} is not an interval within "
                                    f"the parameter's bounds [{s.low:g}, {s.high:g}]")
        if not (math.isfinite(low) and math.isfinite(high)):
            raise OptimizeError(f"--levers: {name} has bounds [{s.low:g}, {s.high:g}]: give a finite range, "
                                f"e.g. {name}=LOW:HIGH")
        levers.append(Lever(name, float(low), float(high), float(params[name])))
    if len({lv.name for lv in levers}) != len(levers):
        raise OptimizeError(f"--levers: a lever is named twice in {text!r}")
    return tuple(levers)


def parse_objectives(text: str, plugin: Mapping[str, Indicator] | None = None) -> tuple[Objective, ...]:
    """'real_gdp:max,theil:min' (optionally ':THRESHOLD' for satisficing); a name alone takes
    its better direction (a plugin indicator's `better`, else `gsim.indicators.BETTER`).
    `plugin`: the plugin indicators that may be objectives too (those with only a time axis:
    `Evaluator` checks the axes)."""
    plugin = plugin or {}
    known = OBJECTIVE_NAMES + tuple(sorted(plugin))
    out = []
    for item in (t.strip() for t in (text or "").split(",")):
        parts = item.split(":")
        name = parts[0]
        if name not in known and (len(parts) > 1 or name):
            raise OptimizeError(f"--objectives: {name!r} is not an indicator saved by sweeps with only a time "
                                f"axis (known: {', '.join(known)})")
        if len(parts) == 1 and name:
            parts.append({1: "max", -1: "min"}.get(better_of(name, plugin), ""))
            if not parts[1]:
                raise OptimizeError(f"--objectives: {name!r} declares no better direction; give "
                                    f"{name}:max or {name}:min")
        if len(parts) not in (2, 3) or parts[1] not in DIRECTIONS:
            raise OptimizeError(f"--objectives: expected NAME[:max|min[:THRESHOLD]], got {item!r}")
        threshold = None
        if len(parts) == 3:
            try:
                threshold = float(parts[2])
            except ValueError:
                raise OptimizeError(f"--objectives: {name}: threshold {parts[2]!r} is not a number") from None
        out.append(Objective(name, parts[1], threshold))
    if len({o.indicator for o in out}) != len(out):
        raise OptimizeError(f"--objectives: an indicator is named twice in {text!r}")
    return tuple(out)


_ROBUST = re.compile(r"^(mean|snr|satisficing|p(\d+(?:\.\d+)?)|regret(\d+(?:\.\d+)?)?(:bau)?)$")


def parse_robustness(text: str, objectives: tuple[Objective, ...], scenarios: int) -> Robustness:
    """mean | pNN | snr | regret[NN][:bau] | satisficing."""
    m = _ROBUST.match(text or "")
    if not m:
        raise OptimizeError(f"--robustness: expected mean, pNN, snr, regret[NN][:bau] or satisficing, got {text!r}")
    word = m.group(1)
    if word.startswith("p"):
        q = float(m.group(2))
        if not 0 <= q <= 100:
            raise OptimizeError(f"--robustness: percentile {q:g} is not within 0-100")
        return Robustness("percentile", q, text=text)
    if word.startswith("regret"):
        q = float(m.group(3)) if m.group(3) else 100.0
        if not 0 < q <= 100:
            raise OptimizeError(f"--robustness: percentile {q:g} is not within (0, 100]")
        return Robustness("regret", q, "bau" if m.group(4) else "generation", text)
    if word == "snr" and scenarios < 2:
        raise OptimizeError("--robustness: snr needs --scenarios 2 or more")
    if word == "satisficing":
        missing = [o.indicator for o in objectives if o.threshold is None]
        if missing:
            raise OptimizeError(f"--robustness: satisficing needs a threshold on every objective "
                                f"(NAME:DIR:THRESHOLD); none on {', '.join(missing)}")
    return Robustness(word, text=text)


_CONSTRAINT = re.compile(r"^(\w+)\s*(>=|<=)\s*([-+]?[0-9.]+(?:[eE][-+]?\d+)?)(%)?(:bau)?(?:@(\d+(?:\.\d+)?))?$")


def parse_constraint(text: str, plugin: Mapping[str, Indicator] | None = None) -> Constraint:
    """'real_gdp>=-2%:bau@90': real GDP no more than 2 % below business as usual in 90 % of
    scenarios; 'real_output>=-2%:bau@90': no region's real output more than 2 % below it;
    'theil<=0.02@80': absolute; without @, in every scenario. `plugin`: the plugin indicators
    that may be constrained too (as for `parse_objectives`)."""
    m = _CONSTRAINT.match(text.replace(" ", ""))
    if not m:
        raise OptimizeError(f"--constraint: expected NAME>=|<=VALUE[%][:bau][@SHARE], got {text!r}")
    name, op, value, pct, bau, share = m.groups()
    if name not in OBJECTIVE_NAMES + REGION_NAMES + tuple(plugin or ()):
        raise OptimizeError(f"--constraint: {name!r} is neither an indicator saved by sweeps with only a time axis "
                            f"(a plugin one too) nor a per-region one ({', '.join(REGION_NAMES)})")
    if pct and not bau:
        raise OptimizeError(f"--constraint: {text!r}: a percentage is relative to business as usual, add :bau")
    q = float(share) if share else 100.0
    if not 0 < q <= 100:
        raise OptimizeError(f"--constraint: {text!r}: share {q:g} is not within (0, 100]")
    return Constraint(name, op, float(value), bool(pct), bool(bau), q / 100.0, text, name in REGION_NAMES)
