"""The parameter table of GTM-1 (spec §2): names, defaults, bounds, units, symbols.

This is the one place that says which parameters exist. Everything else is derived from it:
the scenario loader's checks, the kernels' parameter columns (`gsim.model.layout`), the sweep's
bounds on sampled values, and the documentation tables. Also here: the run settings and the
integration methods.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

INF = math.inf


def fmt_num(v: float, digits: int | None = None) -> str:
    """A number as a user wrote it: 2 rather than 2.0, the shortest repr otherwise (plain
    Python formatting also for NumPy scalars: 0.7, never np.float64(0.7)); a computed number
    with `digits` significant digits (3.3, not 3.3000000000000682)."""
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        return show(int(v))
    v = float(v)
    if digits is not None:
        return f"{v:.{digits}g}"
    if v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return repr(v)


def show(v: Any) -> str:
    """A short one-line rendering of any value for messages (numbers plainly, long values cut)."""
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        v = int(v)
        if v.bit_length() > 14_000:  # str() refuses more than 4300 digits
            return f"an integer of about {int(v.bit_length() * math.log10(2)) + 1} digits"
        s = str(v)
        return s if len(s) <= 20 else f"an integer of {len(s.lstrip('-'))} digits"
    if isinstance(v, (float, np.floating)):
        return repr(float(v))
    if isinstance(v, dict):
        s = "a table"
    elif isinstance(v, (list, tuple)):
        s = "[" + ", ".join(show(x) for x in v[:6]) + (", ...]" if len(v) > 6 else "]")
    else:
        s = repr(v)
    s = " ".join(s.split())
    return s if len(s) <= 60 else s[:57] + "..."


class ParamSpec(NamedTuple):
    """Bounds, unit and meaning of one parameter: value v is valid when low (<|<=) v (<|<=) high.

    `default` is the value used when a scenario does not give one (a tuple in tier order for
    per-tier parameters); `calibration` marks constants used only by the calibration (§5),
    which therefore cannot change during a run.
    """

    low: float
    high: float
    low_inclusive: bool
    high_inclusive: bool
    unit: str
    description: str
    symbol: str = ""
    default: float | tuple[float, ...] | None = None
    calibration: bool = False

    def _within(self, v):
        """low (<|<=) v (<|<=) high, for a float or element-wise for an array."""
        lo_ok = v >= self.low if self.low_inclusive else v > self.low
        hi_ok = v <= self.high if self.high_inclusive else v < self.high
        return lo_ok & hi_ok

    def valid(self, v: np.ndarray | float) -> np.ndarray:
        """Element-wise: finite and within the bounds (vectorised over runs by the sweep)."""
        v = np.asarray(v, dtype=np.float64)
        return np.isfinite(v) & self._within(v)

    def contains(self, v: float) -> bool:
        """`valid` for one number, as the scenario loader checks it (an integer too large for
        a float is not contained)."""
        try:
            x = float(v)
        except OverflowError:
            return False
        return math.isfinite(x) and bool(self._within(x))

    @property
    def label(self) -> str:
        """A short name in words: the description up to its first comma, semicolon or
        parenthesis ("readiness steepness", "migration cost")."""
        return re.split(r" \(|, |; ", self.description)[0]

    def describe(self) -> str:
        """The valid range in words, e.g. 'in (0, 1]', '> 0', '>= 0', 'finite'."""
        lo, hi = self.low, self.high
        if lo == -INF and hi == INF:
            return "finite"
        if hi == INF:
            return f"{'>=' if self.low_inclusive else '>'} {fmt_num(lo)}"
        if lo == -INF:
            return f"{'<=' if self.high_inclusive else '<'} {fmt_num(hi)}"
        return (
            f"in {'[' if self.low_inclusive else '('}{fmt_num(lo)}, "
            f"{fmt_num(hi)}{']' if self.high_inclusive else ')'}"
        )


def spec(low, high, lo_inc, hi_inc, unit, desc, sym="", default=None, calibration=False) -> ParamSpec:
    """A ParamSpec from positional values (the tables below read better this way)."""
    return ParamSpec(float(low), float(high), lo_inc, hi_inc, unit, desc, sym, default, calibration)


# Per-tier parameters of spec §2, defaults in the order of DEFAULT_TIERS.
DEFAULT_TIERS: tuple[str, ...] = ("labor", "resource", "capital", "technology")
TIER_PARAMS: dict[str, ParamSpec] = {
    "alpha": spec(0, 1, False, False, "1", "capital share in production", "α_s", (0.30, 0.55, 0.50, 0.40)),
    "theta": spec(0, 1, True, True, "1", "readiness threshold (readiness Z is in (0, 1])", "θ_s",
                  (0.30, 0.45, 0.60, 0.80)),
    "epsilon": spec(0, INF, True, False, "1", "price elasticity of tier demand", "ε_s", (2.0, 1.0, 1.2, 1.5)),
    "eta": spec(0, INF, True, False, "1", "income elasticity of tier demand", "η_s", (0.6, 0.8, 1.0, 1.4)),
    "omega": spec(0, INF, True, False, "1", "skill-learning weight of employment", "ω_s", (0.0, 0.0, 0.5, 1.0)),
}

# Scalar parameters of spec §2 (ASCII names); the order is the kernels' column order.
SCALAR_PARAMS: dict[str, ParamSpec] = {
    "delta": spec(0, INF, True, False, "1/yr", "depreciation rate", "δ", 0.096),
    "delta_x": spec(0, INF, True, False, "1", "extra exit rate per unit of negative profit rate", "δ_x", 0.5),
    "sigma": spec(0, 1, True, True, "1", "investment share of regional GDP", "σ", 0.40),
    "beta": spec(0, INF, True, False, "yr", "logit sensitivity of investment to the profit rate", "β", 20.0),
    "phi_p": spec(0, INF, True, False, "1/yr", "price adjustment speed", "φ_p", 0.6),
    "u_star": spec(0, 1, False, True, "1", "normal capacity utilisation", "u*", 0.80),
    "phi_w": spec(0, INF, True, False, "1/yr", "wage adjustment speed", "φ_w", 2.0),
    "e_star": spec(0, 1, False, True, "1", "target employment rate", "e*", 0.95),
    "g0": spec(-INF, INF, False, False, "1/yr", "base TFP growth (may be negative)", "g0", 0.01),
    "chi": spec(0, INF, True, False, "1", "TFP return to R&D intensity", "χ", 0.4),
    "rho": spec(0, 1, True, True, "1", "R&D share of the profit margin", "ρ", 0.06),
    "nu0": spec(0, INF, True, False, "1/yr", "catch-up speed to the tier frontier", "ν0", 0.03),
    "H_bar": spec(0, INF, False, False, "years", "long-run schooling target (not a cap)", "H̄", 14.0),
    "gamma_H": spec(0, INF, True, False, "1/yr", "skills convergence speed", "γ_H", 0.015),
    "ell_H": spec(0, INF, True, False, "yr/yr", "learning from employment in advanced tiers", "ℓ_H", 0.1),
    "kappa": spec(0, INF, False, False, "1", "readiness steepness", "κ", 2.0),
    "iota": spec(0, 1, True, True, "1", "infrastructure investment share of GDP", "ι", 0.08),
    "delta_I": spec(0, INF, True, False, "1/yr", "infrastructure depreciation", "δ_I", 0.04),
    "mu": spec(0, INF, True, False, "1/yr", "migration rate", "μ", 0.03),
    "c_m": spec(0, INF, True, False, "1/(1000 km)", "migration cost, log-wage units per 1000 km", "c_m", 0.1),
    "n": spec(-1, 1, False, False, "1/yr", "natural labour-force growth (negative: shrinking)", "n", 0.0),
    "lambda_T": spec(0, INF, True, False, "1/yr", "maximum relocation rate of a region-tier's capital", "λ_T", 0.02),
    "G0": spec(0, INF, False, False, "1/yr", "half-saturation of the profit gap", "G0", 0.05),
    "c_d": spec(0, INF, True, False, "1/yr per 1000 km", "relocation cost, profit-rate units per 1000 km", "c_d",
                0.01),
    "tau_T": spec(0, INF, False, False, "yr", "relocation pipeline delay", "τ_T", 2.0),
    "ell_R": spec(0, 1, True, True, "1", "share of relocated capital lost in the move", "ℓ_R", 0.15),
    "ell_F": spec(0, 1, True, True, "1",
                  "share of arriving capital that fails where the receiver is unready (× (1 − m))", "ℓ_F", 0.2),
    "K_eps": spec(0, INF, False, False, "bn CNY", "floor used when dividing by capital", "K_eps", 1e-6),
    # calibration constants (§2, used by §5 only)
    "u0": spec(0, 1, False, True, "1", "initial capacity utilisation (calibration)", "u0", 0.75, True),
    "kappa_K": spec(0, INF, False, False, "yr", "initial capital / GDP (calibration)", "κ_K", 3.0, True),
    "kappa_I": spec(0, INF, False, False, "yr", "initial infrastructure / GDP (calibration)", "κ_I", 1.0, True),
    "lambda_LF": spec(0, 1, False, True, "1", "labour force / population (calibration)", "λ_LF", 0.55, True),
    "w_min_share": spec(0, 1, True, True, "1", "wage floor as a share of the initial wage (calibration)",
                        "w_min/w(0)", 0.5, True),
    # GTM-2 mechanisms (docs/model.md, "GTM-2"); these defaults are GTM-1's (the mechanism off),
    # GTM2_DEFAULTS below gives GTM-2's
    "pop_growth": spec(-0.1, 0.1, True, True, "1/yr", "national population growth driving the labour force",
                       "n_P", 0.0),
    "world_frontier": spec(0, 1, True, True, "1",
                           "weight of the world frontier (not the best province) in the catch-up target", "ω_F", 0.0),
    "invest_maturity": spec(0, 5, True, True, "1", "elasticity of the investment share to national income",
                            "ζ", 0.0),
    "frontier_gap": spec(1, 100, True, True, "1",
                         "world frontier TFP over the best province's at t0 (calibration)", "Γ", 1.0, True),
    "catchup_schooling": spec(0, 10, True, True, "1",
                              "elasticity of a province's catch-up target to its relative schooling", "ξ", 0.0),
    "national_catchup": spec(0, 1, True, True, "1",
                             "weight of the nation's catch-up gap against each province's own (1 keeps the "
                             "provinces' relative TFP)", "ω_N", 0.0),
    "province_paths": spec(0, 1, True, True, "1",
                           "weight of each province's own population path d_r in its labour force's growth",
                           "ω_P", 0.0),
    "spatial_equilibrium": spec(0, 1, True, True, "1",
                                "weight of the start year's wages in the migration gap (t0 as a spatial "
                                "equilibrium)", "ω_M", 0.0),
    "province_investment": spec(0, 5, True, True, "1",
                                "elasticity of a province's investment share to its observed relative "
                                "fixed-investment rate s_r (experimental)", "ω_I", 0.0),
}

# The models (docs/model.md): GTM-1 is the reference specification, exactly; GTM-2 adds the
# mechanisms above and takes some values from data. Each model has its own defaults: a
# scenario that leaves a parameter out gets its model's, and switching a scenario's model
# (`Scenario.with_overrides(model=...)`, `--model`) moves every parameter that is at the old
# model's default to the new model's. A GTM-1 scenario may not set GTM2_ONLY parameters.
MODELS: tuple[str, ...] = ("gtm1", "gtm2")
MODEL_LABELS: dict[str, str] = {"gtm1": "GTM-1", "gtm2": "GTM-2"}
DEFAULT_MODEL = "gtm2"
GTM2_DEFAULTS: dict[str, float] = {
    "u_star": 0.75,  # normal utilisation at the observed level (docs/model.md, GTM-2 mechanism 1)
    "n": -0.0037,  # labour force growth beyond population growth, 2013-2023 (mechanism 2)
    "pop_growth": -0.0025,  # SSP2 national population growth 2020-2050 (mechanism 2)
    "world_frontier": 1.0,  # the world frontier is the catch-up target (mechanism 3)
    "frontier_gap": 1.2,  # (mechanism 3; bounded by the history match)
    "invest_maturity": 0.13,  # the investment share's elasticity to real GDP, 2011-2023 (mechanism 4)
    "province_paths": 1.0,  # each province's labour force follows its own population path (mechanism 5)
    "spatial_equilibrium": 1.0,  # migration answers wage changes since t0, not levels (mechanism 6)
    "catchup_schooling": 0.5,  # schooling's labour-quality share of attainable TFP (mechanism 7)
    "national_catchup": 1.0,  # provinces catch up at the nation's pace, keeping relative TFP (mechanism 8)
}
GTM2_ONLY: frozenset[str] = frozenset({"pop_growth", "world_frontier", "invest_maturity", "frontier_gap",
                                       "catchup_schooling", "national_catchup", "province_paths",
                                       "spatial_equilibrium", "province_investment"})
# The population path a GTM-2 forward run's provinces follow unless [scenario] population_path
# names another (docs/model.md, GTM-2 mechanism 5); runs starting before the SSPs use the panel.
DEFAULT_POPULATION_PATH = "SSP2"


def model_defaults(model: str) -> dict[str, float]:
    """The scalar parameters' defaults under a model ("gtm1" or "gtm2")."""
    return {**SCALAR_DEFAULTS, **GTM2_DEFAULTS} if model == "gtm2" else dict(SCALAR_DEFAULTS)


PARAM_BOUNDS: dict[str, ParamSpec] = {**TIER_PARAMS, **SCALAR_PARAMS}
SCALAR_DEFAULTS: dict[str, float] = {k: float(p.default) for k, p in SCALAR_PARAMS.items()}  # type: ignore[arg-type]
TIER_DEFAULTS: dict[str, tuple[float, ...]] = {k: p.default for k, p in TIER_PARAMS.items()}  # type: ignore[misc]
CALIBRATION_ONLY: frozenset[str] = frozenset(k for k, p in SCALAR_PARAMS.items() if p.calibration)

# Readiness m below which a transfer into a region-tier counts as failed (§10 indicators).
READY_THRESHOLD = 0.5

# Region data (spec §3): per-region columns, bounds and units.
REGION_DATA: dict[str, ParamSpec] = {
    "lat": spec(-90, 90, True, True, "degrees north", "latitude"),
    "lon": spec(-180, 180, True, True, "degrees east", "longitude"),
    "gdp": spec(0, INF, False, False, "bn CNY", "GDP"),
    "population": spec(0, INF, False, False, "million", "population"),
    # at most a lifetime: larger values overflow the skills dynamics (1e308 gave NaN, exit 0)
    "schooling": spec(0, 100, False, True, "years", "mean years of schooling"),
}
# A tier output share y_rs (spec §3): positive, since calibration divides by the tier's output.
SHARE = spec(0, 1, False, True, "1", "tier output share")
# d_r (GTM-2 mechanism 5): derived from the shipped panel or SSP paths when a scenario is
# resolved (gsim.observed.population_trend), never read from a regions file
POP_TREND = spec(-0.1, 0.1, True, True, "1/yr", "population growth relative to the nation's", "d_r")
# s_r (experimental GTM-2 mechanism, ω_I): a province's gross fixed capital formation / GDP over the
# GDP-weighted mean, from shipped data (gsim.observed.investment_rate), never read from a regions file
INVEST_RATE = spec(0, 100, False, True, "1", "fixed-investment rate relative to the national mean", "s_r")
SHARE_TOL = 1e-6  # tolerance on Σ_s y_rs = 1

# Limits that protect the machine: the scenario loader refuses what would exceed them, with
# a one-line error naming the limit (docs/scenario.md, "Limits").
MAX_STEPS = 1_000_000  # integration steps per run, round((t1 - t0)/dt)
MIN_DT = 1e-6  # yr: the smallest step
MAX_ABS_TIME = 1e6  # yr: |t0|, |t1| at most this (times keep ~1e-10 yr resolution)
MAX_RUN_MEMORY = 8 * 2**30  # bytes: the estimated peak memory of one run (gsim.model.rules.run_memory)
MAX_FILE_BYTES = 64 * 2**20  # bytes: a scenario TOML or regions CSV file
MAX_NESTING = 32  # levels of arrays and tables in a scenario file

POSITIVE_YEARS = spec(0, INF, False, False, "yr", "")  # dt, save_every, policy_period (and the limits)


# Integration methods (spec §9): name -> whether the step uses the four RK4 stages.
METHODS: dict[str, bool] = {"euler": False, "rk4": True}


@dataclass(frozen=True)
class RunSettings:
    """The [run] table: time horizon, step, save and decision intervals, method, policy."""

    t0: float = 2023.0
    t1: float = 2050.0
    dt: float = 0.125
    save_every: float = 1.0
    policy_period: float = 1.0
    method: str = "euler"
    policy: str = "market"

    @property
    def n_steps(self) -> int:
        """N = round((t1 − t0)/dt)."""
        return int(round((self.t1 - self.t0) / self.dt))

    @property
    def n_saves(self) -> int:
        """Saved times: every round(save_every/dt) steps from t0, and t1."""
        every = max(1, round(self.save_every / self.dt))
        return self.n_steps // every + 1 + (self.n_steps % every != 0)



def param_label(name: str) -> str:
    """A parameter's label with its symbol in brackets, "readiness steepness (κ)"; a per-tier
    parameter's as "capital share in production (α_s, labor)" for "alpha.labor"; else the name."""
    head, _, tier = name.partition(".")
    p = SCALAR_PARAMS.get(name) or TIER_PARAMS.get(head)
    if p is None:
        return name
    sym = p.symbol or name
    return f"{p.label} ({sym}, {tier})" if tier else f"{p.label} ({sym})"
