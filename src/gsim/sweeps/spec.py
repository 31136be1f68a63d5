"""The `[sweep]` table: uncertainties, sampler, seeds, levers, outputs; validated here.

Every error is a `SweepSpecError` (a `ValueError`) with a one-line message
``FILE: sweep.field: what is wrong``. The format is documented in docs/sweep.md.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from gsim.model.layout import REGION_COLUMNS, SCALAR_NAMES, TIER_NAMES
from gsim.params import GTM2_ONLY, PARAM_BOUNDS, show
from gsim.plugins import get_plugin_manager
from gsim.scenario import Scenario, ScenarioError, replace_run

SAMPLERS = ("mc", "lhs", "sobol", "saltelli")
NROY = "nroy"  # the sampler of a sweep on stored points (`gsim sweep --from`), not a CLI choice
SAVE_LEVELS = ("indicators", "regions", "full")
APPLY = ("set", "scale")
SCOPES = ("sample", "run")

# distribution -> (required keys, optional keys)
DISTRIBUTIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "uniform": (("low", "high"), ()),
    "normal": (("mean", "sd"), ()),
    "truncnorm": (("mean", "sd", "low", "high"), ()),
    "lognormal": (("median", "sigma"), ()),
    "triangular": (("low", "mode", "high"), ()),
    "choice": (("values",), ("weights",)),
}
_ENTRY_KEYS = ("dist", "apply", "scope", "per_region", "note")
_TOP_KEYS = (
    "samples", "sampler", "replicates", "seed", "policies", "save", "block_size", "years",
    "uncertain", "business_as_usual",
)
DEFAULT_SEED = 20230101
DEFAULT_BLOCK_UNITS = 64  # samples x replicates per block (x policies = runs per block)

# names that may be overridden from the command line / the Python API
OVERRIDES = ("samples", "sampler", "replicates", "seed", "policies", "save", "block_size",
             "years", "t1")


class SweepSpecError(ValueError):
    """A bad sweep specification; the message is one line naming the field."""


@dataclass(frozen=True)
class Uncertainty:
    """One uncertain input.

    target: a scalar parameter (``kappa``), a per-tier element (``theta.labor``), a whole
    per-tier parameter (``alpha``: every tier), or a region data column (``region.gdp``,
    always multiplicative). apply: "set" (the sampled value replaces the scenario's) or
    "scale" (it multiplies it). scope: "sample" (part of the design, shared by replicates)
    or "run" (drawn afresh for every replicate). per_region: an independent draw per region.
    """

    target: str
    dist: str
    args: tuple[tuple[str, Any], ...]  # sorted (key, value) pairs of the distribution
    apply: str = "set"
    scope: str = "sample"
    per_region: bool = False

    @property
    def kwargs(self) -> dict[str, Any]:
        return dict(self.args)

    @property
    def in_design(self) -> bool:
        """Sampled by the sampler (mc/lhs/sobol) as one dimension of the design."""
        return self.scope == "sample" and not self.per_region

    def ppf(self, u: np.ndarray | float) -> np.ndarray:
        """Map uniform numbers in [0, 1) to values of this distribution."""
        return ppf(self.dist, self.kwargs, u)


def ppf(dist: str, a: Mapping[str, Any], u: np.ndarray | float) -> np.ndarray:
    from scipy import stats  # imported on use (slow to import)

    u = np.asarray(u, float)
    if dist == "uniform":
        return stats.uniform.ppf(u, loc=a["low"], scale=a["high"] - a["low"])
    if dist == "normal":
        return stats.norm.ppf(u, loc=a["mean"], scale=a["sd"])
    if dist == "truncnorm":
        lo, hi = (a["low"] - a["mean"]) / a["sd"], (a["high"] - a["mean"]) / a["sd"]
        return stats.truncnorm.ppf(u, lo, hi, loc=a["mean"], scale=a["sd"])
    if dist == "lognormal":
        return stats.lognorm.ppf(u, s=a["sigma"], scale=a["median"])
    if dist == "triangular":
        width = a["high"] - a["low"]
        return stats.triang.ppf(u, (a["mode"] - a["low"]) / width, loc=a["low"], scale=width)
    if dist == "choice":
        values = np.asarray(a["values"], float)
        w = np.asarray(a.get("weights", [1.0] * len(values)), float)
        cdf = np.cumsum(w) / w.sum()
        idx = np.minimum(np.searchsorted(cdf, u, side="right"), len(values) - 1)
        return values[idx]
    raise AssertionError(dist)


def support(dist: str, a: Mapping[str, Any]) -> tuple[float, float]:
    """Smallest and largest value the distribution can produce."""
    if dist in ("uniform", "truncnorm", "triangular"):
        return float(a["low"]), float(a["high"])
    if dist == "choice":
        return float(min(a["values"])), float(max(a["values"]))
    if dist == "lognormal":
        return 5e-324, math.inf  # positive, never 0
    return -math.inf, math.inf


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep: what is sampled, how, how often, under which policies."""

    samples: int
    sampler: str
    replicates: int
    seed: int
    policies: tuple[str, ...]
    save: str
    block_size: int  # samples x replicates per block
    years: tuple[float, ...]  # default years of `gsim summary` (empty: last saved year)
    uncertain: tuple[Uncertainty, ...]
    t1: float | None = None  # run end override (None: the scenario's)
    # sampler "nroy": the given points, one row of values per sample in `design` order (the
    # non-implausible set of a history match, `gsim.matching`); None for every other sampler
    points: tuple[tuple[float, ...], ...] | None = None
    business_as_usual: str = "market"  # the baseline claims are read against first (gsim claims)

    @property
    def groups(self) -> tuple[Uncertainty, ...]:
        """The inputs of a Saltelli design: every sample-scope uncertainty, in spec order (a
        per-region one is one group of a column per region)."""
        return tuple(u for u in self.uncertain if u.scope == "sample")

    @property
    def n_samples(self) -> int:
        """Samples in the store: `samples`, but for saltelli the N(D+2) rows of its design
        (N = `samples`, D = len(groups))."""
        if self.sampler == "saltelli":
            return self.samples * (len(self.groups) + 2)
        return self.samples

    @property
    def units(self) -> int:
        """Samples x replicates: the runs of one policy."""
        return self.n_samples * self.replicates

    @property
    def n_runs(self) -> int:
        return self.units * len(self.policies)

    @property
    def design(self) -> tuple[Uncertainty, ...]:
        return tuple(u for u in self.uncertain if u.in_design)

    def canonical(self) -> dict[str, Any]:
        """Everything that affects results (block_size, years and business_as_usual do not),
    JSON-ready."""
        d = asdict(self)
        d.pop("block_size")
        d.pop("years")
        if d["points"] is None:  # absent, so that stores without points keep their hash
            d.pop("points")
        d.pop("business_as_usual")
        d["uncertain"] = [
            {"target": u.target, "dist": u.dist, "args": {k: v for k, v in u.args},
             "apply": u.apply, "scope": u.scope, "per_region": u.per_region}
            for u in self.uncertain
        ]
        d["policies"] = list(self.policies)
        return d

    def to_json(self) -> str:
        d = asdict(self)
        if d["points"] is None:
            d.pop("points")
        d["uncertain"] = self.canonical()["uncertain"]
        return json.dumps(d, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "SweepSpec":
        d = json.loads(text)
        unc = tuple(
            Uncertainty(u["target"], u["dist"], _args_tuple(u["args"]), u["apply"], u["scope"],
                        u["per_region"])
            for u in d.pop("uncertain")
        )
        d["policies"] = tuple(d["policies"])
        d["years"] = tuple(d["years"])
        if d.get("points") is not None:
            d["points"] = tuple(tuple(row) for row in d["points"])
        return cls(uncertain=unc, **d)


def _args_tuple(a: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in a.items()))


def config_hash(sc: Scenario, spec: SweepSpec, scenario_hash: str, method: str) -> str:
    """sha256 of what determines a sweep's results: scenario, sweep spec, run settings."""
    run = sc.run
    doc = {
        "scenario_hash": scenario_hash,
        "sweep": spec.canonical(),
        "run": [run.t0, spec.t1 if spec.t1 is not None else run.t1, run.dt, run.save_every,
                run.policy_period, method],
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=list).encode()).hexdigest()


# ----------------------------------------------------------------------------------------
# validation
# ----------------------------------------------------------------------------------------
INT64_MAX = 2**63 - 1


class _Ctx:
    def __init__(self, file: str):
        self.file = file

    def fail(self, fld: str, what: str):
        raise SweepSpecError(" ".join(f"{self.file}: {fld}: {what}".split()))

    def keys(self, table: Mapping, allowed, prefix: str) -> None:
        for k in table:
            if k not in allowed:
                close = difflib.get_close_matches(str(k), list(allowed), n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                self.fail(f"{prefix}{k}", f"unknown key{hint}")

    def number(self, v: Any, fld: str) -> float:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(_float(v)):
            self.fail(fld, f"expected a finite number, got {show(v)}")
        return float(v)

    def integer(self, v: Any, fld: str, low: int = 1) -> int:
        if isinstance(v, bool) or not isinstance(v, int):
            self.fail(fld, f"expected an integer, got {show(v)}")
        if v < low:
            self.fail(fld, f"must be >= {low}, got {show(v)}")
        if v > INT64_MAX:  # as in a TOML file: a larger seed cannot be stored in netCDF or int64
            self.fail(fld, f"must be <= {INT64_MAX} (the 64-bit range of TOML), got {show(v)}")
        return int(v)

    def choice(self, v: Any, fld: str, options) -> str:
        if not isinstance(v, str) or v not in options:
            self.fail(fld, f"must be one of {', '.join(options)}, got {show(v)}")
        return v


def _float(v: int | float) -> float:
    """float(v), or inf for an integer beyond the float range."""
    try:
        return float(v)
    except OverflowError:
        return math.inf


def parse_spec(
    sc: Scenario,
    overrides: Mapping[str, Any] | None = None,
    known_policies: Mapping[str, Any] | None = None,
) -> SweepSpec:
    """Validate the scenario's `[sweep]` table with `overrides` (CLI options) applied on top."""
    ctx = _Ctx(sc.source)
    raw = dict(sc.sweep or {})
    ctx.keys(raw, _TOP_KEYS, "sweep.")
    over = {k: v for k, v in (overrides or {}).items() if v is not None}
    for k in over:
        if k not in OVERRIDES:
            raise SweepSpecError(f"unknown sweep option {show(k)}")
    merged = {**raw, **{k: v for k, v in over.items() if k != "t1"}}

    samples = ctx.integer(merged.get("samples", 100), "sweep.samples")
    sampler = ctx.choice(merged.get("sampler", "lhs"), "sweep.sampler", SAMPLERS)
    if sampler in ("sobol", "saltelli") and samples & (samples - 1):
        lo = 1 << (samples.bit_length() - 1)
        ctx.fail("sweep.samples", f"{sampler} needs a power of two, got {samples} (use {lo} or {2 * lo})")
    replicates = ctx.integer(merged.get("replicates", 1), "sweep.replicates")
    seed = ctx.integer(merged.get("seed", DEFAULT_SEED), "sweep.seed", low=0)
    save = ctx.choice(merged.get("save", "indicators"), "sweep.save", SAVE_LEVELS)
    block = ctx.integer(merged.get("block_size", DEFAULT_BLOCK_UNITS), "sweep.block_size")

    pols = merged.get("policies", ["none", "market", "subsidy_race", "gradient"])
    if isinstance(pols, str):
        pols = [p.strip() for p in pols.split(",") if p.strip()]
    if not isinstance(pols, (list, tuple)) or not pols:
        ctx.fail("sweep.policies", f"expected a non-empty list of policy names, got {show(pols)}")
    if known_policies is None:
        known_policies = get_plugin_manager().policies()
    for p in pols:
        if p not in known_policies:
            ctx.fail("sweep.policies", f"unknown policy {show(p)} (known: {', '.join(sorted(known_policies))})")
    if len(set(pols)) != len(pols):
        ctx.fail("sweep.policies", f"duplicate policy in {list(pols)}")

    years = merged.get("years", [])
    if isinstance(years, (int, float)) and not isinstance(years, bool):
        years = [years]
    if not isinstance(years, (list, tuple)):
        ctx.fail("sweep.years", f"expected a list of years, got {show(years)}")
    years = tuple(ctx.number(y, f"sweep.years[{i}]") for i, y in enumerate(years))

    t1 = over.get("t1")
    if t1 is not None:  # validated like the scenario file's run.t1 (grid, limits)
        try:
            t1 = replace_run(sc, t1=t1).run.t1
        except ScenarioError as e:
            ctx.fail("t1", e.reason)  # type: ignore[attr-defined]

    unc_raw = raw.get("uncertain", {})
    if not isinstance(unc_raw, dict):
        ctx.fail("sweep.uncertain", "expected a table of uncertainties")
    unc = tuple(_uncertainty(ctx, sc, name, unc_raw[name]) for name in sorted(unc_raw))
    bau = raw.get("business_as_usual", "market")
    if "business_as_usual" in raw and bau not in pols:
        ctx.fail("sweep.business_as_usual", f"must be one of the sweep's policies ({', '.join(pols)}), "
                                            f"got {show(bau)}")
    spec = SweepSpec(samples, sampler, replicates, seed, tuple(pols), save, block, years, unc, t1,
                     business_as_usual=bau)
    if sampler == "saltelli" and len(spec.groups) < 2:
        ctx.fail("sweep.sampler", f"saltelli needs at least two uncertainties of scope sample, got {len(spec.groups)}")
    return spec


def _uncertainty(ctx: _Ctx, sc: Scenario, target: str, v: Any) -> Uncertainty:
    fld = f"sweep.uncertain.{target}"
    if not isinstance(v, dict):
        ctx.fail(fld, f"expected a table like {{ dist = \"uniform\", low = ..., high = ... }}, got {show(v)}")
    dist = v.get("dist")
    if dist is None:
        ctx.fail(f"{fld}.dist", f"missing (one of {', '.join(DISTRIBUTIONS)})")
    ctx.choice(dist, f"{fld}.dist", tuple(DISTRIBUTIONS))
    req, opt = DISTRIBUTIONS[dist]
    ctx.keys(v, _ENTRY_KEYS + req + opt, f"{fld}.")
    for k in req:
        if k not in v:
            ctx.fail(f"{fld}.{k}", f"missing (dist {dist} needs {', '.join(req)})")

    # target
    region_col = target.startswith("region.")
    base, _, tier = target.partition(".")
    if region_col:
        if tier not in REGION_COLUMNS:
            ctx.fail(fld, f"unknown region column {show(tier)} (known: {', '.join(REGION_COLUMNS)})")
    elif base in SCALAR_NAMES:
        if tier:
            ctx.fail(fld, f"{base} is a scalar parameter, it has no tiers")
        if sc.model == "gtm1" and base in GTM2_ONLY:
            ctx.fail(fld, f"{base} is a GTM-2 parameter, but scenario.model is \"gtm1\"")
    elif base in TIER_NAMES:
        if tier and tier not in sc.tiers:
            ctx.fail(fld, f"unknown tier {show(tier)} (tiers: {', '.join(sc.tiers)})")
    else:
        close = difflib.get_close_matches(base, list(SCALAR_NAMES) + list(TIER_NAMES) + ["region"], n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        ctx.fail(fld, f"unknown parameter {show(base)}{hint}")

    apply = ctx.choice(v.get("apply", "scale" if region_col else "set"), f"{fld}.apply", APPLY)
    if region_col and apply != "scale":
        ctx.fail(f"{fld}.apply", "region data columns are always scaled (apply = \"scale\")")
    scope = ctx.choice(v.get("scope", "sample"), f"{fld}.scope", SCOPES)
    per_region = v.get("per_region", False)
    if not isinstance(per_region, bool):
        ctx.fail(f"{fld}.per_region", f"expected true or false, got {show(per_region)}")
    if per_region and not region_col:
        ctx.fail(f"{fld}.per_region", "only region data columns (region.*) can vary per region")
    if "note" in v and not isinstance(v["note"], str):
        ctx.fail(f"{fld}.note", "expected a string")

    # distribution arguments
    a: dict[str, Any] = {}
    if dist == "choice":
        vals = v["values"]
        if not isinstance(vals, list) or not vals:
            ctx.fail(f"{fld}.values", "expected a non-empty list of numbers")
        a["values"] = [ctx.number(x, f"{fld}.values[{i}]") for i, x in enumerate(vals)]
        if "weights" in v:
            w = v["weights"]
            if not isinstance(w, list) or len(w) != len(vals):
                ctx.fail(f"{fld}.weights", f"expected {len(vals)} weights, one per value")
            a["weights"] = [ctx.number(x, f"{fld}.weights[{i}]") for i, x in enumerate(w)]
            if min(a["weights"]) < 0 or sum(a["weights"]) <= 0:
                ctx.fail(f"{fld}.weights", "must be >= 0 with a positive sum")
    else:
        for k in req:
            a[k] = ctx.number(v[k], f"{fld}.{k}")
    if "sd" in a and a["sd"] <= 0:
        ctx.fail(f"{fld}.sd", f"must be > 0, got {a['sd']:g}")
    if dist == "lognormal":
        if a["median"] <= 0:
            ctx.fail(f"{fld}.median", f"must be > 0, got {a['median']:g}")
        if a["sigma"] <= 0:
            ctx.fail(f"{fld}.sigma", f"must be > 0, got {a['sigma']:g}")
    if "low" in a and "high" in a and not a["low"] < a["high"]:
        ctx.fail(fld, f"low must be < high, got low = {a['low']:g}, high = {a['high']:g}")
    if dist == "triangular" and not a["low"] <= a["mode"] <= a["high"]:
        ctx.fail(f"{fld}.mode", f"must be within [low, high], got {a['mode']:g}")
    if dist == "truncnorm" and (a["low"] > a["mean"] + 30 * a["sd"] or a["high"] < a["mean"] - 30 * a["sd"]):
        ctx.fail(fld, "the truncation interval lies too far in the tail")

    # sampled values must be able to stay within the parameter's bounds
    lo, hi = support(dist, a)
    if region_col:
        if lo <= 0:
            ctx.fail(fld, f"a factor on region data must be > 0, but {dist} reaches {lo:g}; "
                          "use lognormal, or uniform/triangular/truncnorm with low > 0")
    elif apply == "set":
        spec = PARAM_BOUNDS[base]
        for end in (lo, hi):
            if math.isfinite(end) and not spec.contains(end):
                ctx.fail(fld, f"{base} must be {spec.describe()}, but {dist} reaches {end:g}")
    return Uncertainty(target, dist, _args_tuple(a), apply, scope, per_region)
