"""Policy claims as data: the contract of a claim, and the six built-in claims.

A claim says that one policy beats a baseline policy on one or more measures, for each
(policy, baseline) pair it names. Claims are registered through the ``gsim_register_claims``
hook (the built-ins by `gsim.builtins`, like a plugin's); `gsim.analysis.claims` computes how
often each holds in a sweep store. See docs/claims.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

LEVEL, CUMULATIVE = "level", "cumulative"


class ClaimError(ValueError):
    """A claim, year, policy or store that cannot be evaluated; the message is one line."""


@dataclass(frozen=True)
class Measure:
    """One comparison of a policy with its baseline.

    `indicator` is an output saved in the sweep store; ``level`` compares its value at the
    year, ``cumulative`` its integral from t0 to the year (trapezoid over the saved times).
    `direction` is +1 when the claim is that the policy's value is higher, -1 lower. Per-tier
    outputs need `tier` (a name, or an index: 0 = the least sophisticated tier); per-region
    outputs need `region` (a name; they are saved with ``--save regions``).
    """

    indicator: str
    direction: int
    aggregation: str = LEVEL
    tier: str | int | None = None
    region: str | None = None

    def label(self, tiers: Sequence[str] = ()) -> str:
        """E.g. ``real_gdp``, ``cumulative lost_capital``, ``overcapacity[labor]``."""
        name = self.indicator
        if self.tier is not None:
            tier = tiers[self.tier] if isinstance(self.tier, int) and tiers else self.tier
            name += f"[{tier}]"
        if self.region is not None:
            name += f"[{self.region}]"
        return f"cumulative {name}" if self.aggregation == CUMULATIVE else name


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
        if not self.pairs:
            return f"claim {self.id!r}: give at least one (policy, baseline) pair"
        for pair in self.pairs:
            if (len(pair) != 2 or not all(isinstance(p, str) and p for p in pair)
                    or pair[0] == pair[1]):
                return f"claim {self.id!r}: pair {pair!r} must be two different policy names"
        return None


_VS_ALL = (("gradient", "none"), ("gradient", "market"), ("gradient", "subsidy_race"))
BUILTIN_CLAIMS = (
    Claim("efficiency",
          "Gradient-ordered transfer raises national real output: real GDP is higher in the "
          "year, and so is real output cumulated from t0 to the year.",
          (Measure("real_gdp", +1), Measure("real_gdp", +1, CUMULATIVE)), _VS_ALL),
    Claim("lower_risk",
          "It lowers risk: a smaller share of transfers goes into receivers not ready for the "
          "tier, and less capital is lost (cumulated from t0).",
          (Measure("failed_transfer_share", -1), Measure("lost_capital", -1, CUMULATIVE)),
          _VS_ALL[1:]),
    Claim("no_homogeneous_competition",
          "It avoids homogeneous competition: against a subsidy race, less overcapacity and a "
          "higher margin in the labour-intensive tier, a higher R&D share and more structural "
          "upgrading.",
          (Measure("overcapacity", -1, tier=0), Measure("margin", +1, tier=0),
           Measure("rd_share", +1), Measure("sui_national", +1)),
          (("gradient", "subsidy_race"),)),
    Claim("continuous_upgrading",
          "Upgrading continues: sending regions move up the tier ladder (higher SUI) and "
          "receiving regions gain technology and skills.",
          (Measure("sui_sending", +1), Measure("technology_receiving", +1),
           Measure("skills_receiving", +1)),
          _VS_ALL[:2]),
    Claim("win_win",
          "Win-win: sending and receiving regions both have higher real output than with no "
          "transfer.",
          (Measure("real_output_sending", +1), Measure("real_output_receiving", +1)),
          (("gradient", "none"),)),
    Claim("coordinated_development",
          "Development is coordinated: regional inequality (the Theil index of GDP per "
          "labour-force member) is lower.",
          (Measure("theil", -1),), _VS_ALL),
)
