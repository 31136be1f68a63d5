"""Policy claims as data: the contract of a claim, and the six built-in claims.

A claim says that one policy beats a baseline policy on one or more measures, for each
(policy, baseline) pair it names, by more than each measure's threshold of practical
relevance; guard measures say what the policy may not lose. Claims are registered through the
``gsim_register_claims`` hook (the built-ins by `gsim.builtins`, like a plugin's);
`gsim.analysis.claims` computes how often each holds in a sweep store. See docs/claims.md.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

LEVEL, CUMULATIVE = "level", "cumulative"
DEFAULT_THRESHOLD = 0.01  # a measure without a threshold must move by more than 1 % of the baseline
DEFAULT_REASON = "project default: 1 % of the baseline's value"


class ClaimError(ValueError):
    """A claim, year, policy or store that cannot be evaluated; the message is one line."""


@dataclass(frozen=True)
class Measure:
    """One comparison of a policy with its baseline.

    `indicator` is an output saved in the sweep store; ``level`` compares its value at the
    year, ``cumulative`` its integral from t0 to the year (trapezoid over the saved times).
    `direction` is +1 when the claim is that the policy's value is higher, -1 lower; None
    takes the indicator's better direction when the claim is registered (a plugin
    indicator's `better`, or `gsim.indicators.BETTER` for a built-in output). Per-tier
    outputs need `tier` (a name, or an index: 0 = the least sophisticated tier); per-region
    outputs need `region` (a name; they are saved with ``--save regions``).

    Materiality: the policy beats the baseline in a sample only when the paired difference
    goes the claimed way by more than `threshold`: a share of the baseline's value when
    `relative` (0.01: 1 %), else in the measure's units; None takes `DEFAULT_THRESHOLD`
    (relative). `reason` says why that size matters. A `guard` measure is not a gain to show
    but a loss to avoid: it passes when the policy is not worse by more than its threshold.

    Derived measures: `per` divides by another output of the same aggregation (e.g. capital
    lost per unit of capital moved); `shortfall_vs` names a reference policy and measures how
    far the outcome ends below that policy's, as a share of it (0 when above).
    """

    indicator: str
    direction: int | None = None
    aggregation: str = LEVEL
    tier: str | int | None = None
    region: str | None = None
    threshold: float | None = None
    relative: bool = True
    reason: str = ""
    guard: bool = False
    per: str | None = None
    shortfall_vs: str | None = None

    @property
    def size(self) -> float:
        """The threshold in force (the project default when none is given)."""
        return DEFAULT_THRESHOLD if self.threshold is None else float(self.threshold)

    @property
    def sign(self) -> int:
        """The direction in force: a registered claim's measures always have one."""
        if self.direction is None:
            raise ClaimError(f"{self.indicator}: the measure has no direction (a claim gets its indicator's "
                             "when it is registered)")
        return self.direction

    @property
    def why(self) -> str:
        """Why the threshold has its size."""
        return self.reason or (DEFAULT_REASON if self.threshold is None else "")

    def label(self, tiers: Sequence[str] = ()) -> str:
        """E.g. ``real_gdp``, ``cumulative lost_capital``, ``overcapacity[labor]``."""
        name = self.indicator
        if self.tier is not None:
            tier = tiers[self.tier] if isinstance(self.tier, int) and tiers else self.tier
            name += f"[{tier}]"
        if self.region is not None:
            name += f"[{self.region}]"
        if self.per is not None:
            name += f" per {self.per}"
        if self.shortfall_vs is not None:
            name += f" shortfall vs {self.shortfall_vs}"
        name = f"cumulative {name}" if self.aggregation == CUMULATIVE else name
        return f"guard: {name}" if self.guard else name

    def threshold_text(self) -> str:
        """E.g. ``1 %`` (relative) or ``0.005`` (absolute, in the measure's units)."""
        return f"{100 * self.size:g} %" if self.relative else f"{self.size:g}"


@dataclass(frozen=True)
class Claim:
    """A claim: `measures` that must all move the claimed way for `policy` against
    `baseline`, for each (policy, baseline) of `pairs`."""

    id: str
    statement: str
    measures: tuple[Measure, ...]
    pairs: tuple[tuple[str, str], ...]
    plugin: str = ""

    def __post_init__(self) -> None:  # lists from a plugin become tuples (hashable, frozen)
        object.__setattr__(self, "measures", tuple(self.measures))
        object.__setattr__(self, "pairs", tuple(tuple(p) for p in self.pairs))

    @property
    def name(self) -> str:
        """The claim's id (the key of the claim registry)."""
        return self.id

    def directed(self, better: Callable[[str], int]) -> Claim:
        """The claim with each measure's missing direction taken from `better(indicator)`
        (+1, -1; 0: the indicator has none); ClaimError names a measure left without one."""
        measures = []
        for m in self.measures:
            if isinstance(m, Measure) and m.direction is None:
                way = better(m.indicator) if isinstance(m.indicator, str) else 0
                if way not in (1, -1):
                    raise ClaimError(f"claim {self.id!r}: {m.indicator}: no direction given and the indicator "
                                     "declares no better direction; give Measure(..., direction=+1 or -1)")
                m = replace(m, direction=way)
            measures.append(m)
        return replace(self, measures=tuple(measures))

    def problem(self) -> str | None:
        """What is wrong with the claim's definition, or None."""
        if not isinstance(self.id, str) or not self.id.isidentifier():
            return f"claim id {self.id!r} must be an identifier"
        if not isinstance(self.statement, str) or not self.statement.strip():
            return f"claim {self.id!r}: the statement must be a non-empty string"
        if not self.measures or not all(isinstance(m, Measure) for m in self.measures):
            return f"claim {self.id!r}: measures must be a non-empty sequence of Measure"
        for m in self.measures:
            if not isinstance(m.indicator, str) or not m.indicator:
                return f"claim {self.id!r}: a measure's indicator must be a name"
            if m.direction not in (1, -1) or isinstance(m.direction, bool):
                return f"claim {self.id!r}: {m.indicator}: direction must be +1 or -1, got {m.direction!r}"
            if m.aggregation not in (LEVEL, CUMULATIVE):
                return (f"claim {self.id!r}: {m.indicator}: aggregation must be {LEVEL!r} or "
                        f"{CUMULATIVE!r}, got {m.aggregation!r}")
            size = m.threshold
            if size is not None and (isinstance(size, bool) or not isinstance(size, (int, float))
                                     or not size >= 0 or size == float("inf")):
                return f"claim {self.id!r}: {m.indicator}: threshold must be a number >= 0, got {size!r}"
        if all(m.guard for m in self.measures):
            return f"claim {self.id!r}: give at least one measure that is not a guard"
        if not self.pairs:
            return f"claim {self.id!r}: give at least one (policy, baseline) pair"
        for pair in self.pairs:
            if (len(pair) != 2 or not all(isinstance(p, str) and p for p in pair)
                    or pair[0] == pair[1]):
                return f"claim {self.id!r}: pair {pair!r} must be two different policy names"
        return None


# Business as usual (`market`, the scenario's default) first, then no transfer and the race.
_VS_ALL = (("gradient", "market"), ("gradient", "none"), ("gradient", "subsidy_race"))
_GDP = ("1 % of real GDP: about a quarter of a year's growth at 4-5 %, and a fifth of the "
        "5 % error sampled on each province's GDP")
_RATIO = "1 % of the baseline's value (project default)"
BUILTIN_CLAIMS = (
    Claim("efficiency",
          "Gradient-ordered transfer raises national real output: real GDP is higher in the "
          "year by more than 1 %, and real output cumulated from t0 to the year is not more "
          "than 1 % lower.",
          (Measure("real_gdp", +1, threshold=0.01, reason=_GDP),
           Measure("real_gdp", +1, CUMULATIVE, threshold=0.01, guard=True,
                   reason="the gain may not be paid for by a larger loss on the way")), _VS_ALL),
    Claim("lower_risk",
          "It lowers risk: less capital is lost per unit of capital moved (cumulated from t0, "
          "by more than 5 %), without ending further below no transfer than the baseline does "
          "(by more than 0.5 % of real GDP).",
          (Measure("lost_capital", -1, CUMULATIVE, per="transfer_volume", threshold=0.05,
                   reason="5 % of the loss rate: the loss of a move is sampled between 5 and "
                          "30 %, so 5 % of it is under 1.5 points"),
           Measure("real_gdp", -1, shortfall_vs="none", threshold=0.005, relative=False,
                   guard=True, reason="0.5 % of real GDP without transfer: half the efficiency "
                                      "threshold")),
          _VS_ALL[::2]),
    Claim("no_homogeneous_competition",
          "It avoids homogeneous competition: less overcapacity in the labour-intensive tier "
          "(by more than half a point of capacity), a higher R&D share and more structural "
          "upgrading (each by more than 1 %).",
          (Measure("overcapacity", -1, tier=0, threshold=0.005, relative=False,
                   reason="half a point of capacity utilisation: reported utilisation moves by "
                          "about a point from quarter to quarter"),
           Measure("rd_share", +1, threshold=0.01, reason=_RATIO),
           Measure("sui_national", +1, threshold=0.01, reason=_RATIO)),
          _VS_ALL),
    Claim("continuous_upgrading",
          "Upgrading continues: sending regions move up the tier ladder (higher SUI) and "
          "receiving regions gain technology and skills, each by more than 1 %.",
          (Measure("sui_sending", +1, threshold=0.01, reason=_RATIO),
           Measure("technology_receiving", +1, threshold=0.01, reason=_RATIO),
           Measure("skills_receiving", +1, threshold=0.01,
                   reason="1 % of mean schooling: about a tenth of a school year")),
          _VS_ALL[:2]),
    Claim("win_win",
          "Win-win: sending and receiving regions both have higher real output, each by more "
          "than 1 %.",
          (Measure("real_output_sending", +1, threshold=0.01, reason=_GDP),
           Measure("real_output_receiving", +1, threshold=0.01, reason=_GDP)),
          _VS_ALL[:2]),
    Claim("coordinated_development",
          "Development is coordinated: regional inequality (the Theil index of GDP per "
          "labour-force member) is lower by more than 1 %, and real GDP not more than 2 % "
          "lower.",
          (Measure("theil", -1, threshold=0.01, reason=_RATIO),
           Measure("real_gdp", +1, threshold=0.02, guard=True,
                   reason="equality bought with more than 2 % of real GDP is a trade-off, "
                          "not coordination")),
          _VS_ALL),
)
