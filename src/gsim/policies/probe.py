"""The probe: a small synthetic context every policy is tried on when it is registered."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from gsim.model.inputs import ModelParams
from gsim.model.layout import REGION_COLUMNS, VARIABLES
from gsim.model.pairs import candidate_pairs
from gsim.params import SCALAR_DEFAULTS, TIER_DEFAULTS
from gsim.policies.contract import Policy, PolicyContext, PolicyError, State, call_policy

PROBE_RUNS = 2
PROBE_REGIONS = ("probe_a", "probe_b", "probe_c")
PROBE_TIERS = ("labor", "resource", "capital", "technology")
_PROBE_LATLON = ((39.9, 116.4), (30.6, 104.1), (22.8, 108.3), (45.8, 126.5))
_PROBE_MACRO = ("East", "West", "Central", "Northeast")
PROBE_NEAREST = 2  # the second probe: 4 regions, each with its 2 nearest receivers only


class ProbeRegionData(Mapping[str, np.ndarray]):
    """The probe's regions table: the standard columns, and numbers in [0, 1] for any other
    column a policy asks for (the probe cannot know a scenario's own columns)."""

    def __init__(self, columns: dict[str, np.ndarray], R: int):
        self.columns, self.R = columns, R

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self.columns:
            self.columns[name] = np.linspace(0.0, 1.0, self.R)
        return self.columns[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.columns)

    def __len__(self) -> int:
        return len(self.columns)


def probe_region_data(regions: tuple[str, ...], B: int, rng: np.random.Generator) -> ProbeRegionData:
    R = len(regions)
    lat, lon = np.array(_PROBE_LATLON[:R]).T
    cols: dict[str, np.ndarray] = {
        "name": np.array(regions), "macro_region": np.array(_PROBE_MACRO[:R]),
        "lat": lat, "lon": lon, "sending": np.arange(R) % 2 == 0,
    }
    typical = {"gdp": (500.0, 10000.0), "population": (5.0, 100.0), "schooling": (8.0, 13.0),
               "pop_trend": (-0.01, 0.01), "invest_rate": (0.6, 2.0)}
    for c in REGION_COLUMNS:
        cols[c] = rng.uniform(*typical.get(c, (0.0, 1.0)), (B, R))
    return ProbeRegionData(cols, R)


def probe_context(params: Mapping[str, Any], tiers: tuple[str, ...] = PROBE_TIERS,
                  nearest: int | None = None, policy: Policy | None = None) -> PolicyContext:
    """A synthetic context with plausible values of every stock and auxiliary (the same names
    and shapes as in a real run): B=2 runs, R=3 regions and all pairs, or with `nearest`, 4
    regions and that many receivers per sender (so k < R - 1, as with ``pairs = {nearest}``).
    With `policy`: its state at t0 and values in [0, 1] of the indicators it reads."""
    regions = PROBE_REGIONS if nearest is None else (*PROBE_REGIONS, "probe_d")
    B, R, S = PROBE_RUNS, len(regions), len(tiers)
    rng = np.random.default_rng(20230101)
    lat, lon = np.array(_PROBE_LATLON[:R]).T
    pairs = candidate_pairs(lat, lon, nearest)
    shape = {"rs": (B, R, S), "r": (B, R), "s": (B, S), "0": (B,)}
    typical = {  # name -> (dims, low, high)
        "capital": ("rs", 100.0, 3000.0), "technology": ("rs", 0.5, 2.0),
        "pipeline": ("rs", 0.0, 10.0), "pipeline_technology": ("rs", 0.0, 10.0),
        "labor_force": ("r", 5.0, 60.0), "wage": ("r", 50.0, 150.0), "skills": ("r", 8.0, 13.0),
        "infrastructure": ("r", 500.0, 5000.0), "price": ("s", 0.8, 1.2),
        "output": ("rs", 50.0, 2000.0), "employment": ("rs", 1.0, 20.0),
        "profit_rate": ("rs", -0.05, 0.2), "readiness": ("rs", 0.2, 0.95),
        "transfer_out": ("rs", 0.0, 5.0), "transfer_in": ("rs", 0.0, 5.0),
        "gdp": ("r", 500.0, 10000.0), "real_output": ("r", 500.0, 10000.0), "sui": ("r", 1.5, 3.0),
        "utilization": ("s", 0.6, 1.0), "margin": ("s", 0.1, 0.5),
        "real_gdp": ("0", 5e3, 2e4), "theil": ("0", 0.0, 0.2), "sui_national": ("0", 1.5, 3.0),
        "rd_share": ("0", 0.0, 0.05), "transfer_volume": ("0", 0.0, 20.0),
        "failed_transfer_share": ("0", 0.0, 0.5), "lost_capital": ("0", 0.0, 5.0),
    }
    values: dict[str, np.ndarray] = {}
    for n in VARIABLES:
        if n == "overcapacity":
            continue
        dims, lo, hi = typical.get(n, ("0", 0.0, 1.0))
        values[n] = rng.uniform(lo, hi, shape[dims])
    values["overcapacity"] = 1.0 - values["utilization"]
    state = State({})
    if policy is not None:
        size = {"region": R, "tier": S}
        for name, dims in policy.indicators.items():
            values[name] = rng.uniform(0.0, 1.0, (B,) + tuple(size[d] for d in dims))
        state = policy.new_state(B, R, S)
    return PolicyContext(2023.0, dict(params), tuple(tiers), regions, pairs, values,
                         probe_model_params(B, len(tiers)), state, probe_region_data(regions, B, rng))


def probe_model_params(B: int, S: int) -> ModelParams:
    """The default model parameters for B runs of S tiers (tiers beyond the defaults' four
    repeat the last default)."""
    sp = np.tile(np.array(list(SCALAR_DEFAULTS.values())), (B, 1))
    tp = np.array([[d[min(s, len(d) - 1)] for s in range(S)] for d in TIER_DEFAULTS.values()])
    return ModelParams(sp, np.tile(tp, (B, 1, 1)))


def probe_policy(policy: Policy) -> None:
    """Call `policy` with its defaults on both probe contexts (all pairs; nearest k), twice on
    each (its state carried from the first decision to the second); a PolicyError says which
    one failed."""
    problems = policy.problems()
    if problems:
        raise PolicyError(f"policy {policy.name!r}: {'; '.join(problems)}")
    for nearest in (None, PROBE_NEAREST):
        ctx = probe_context(policy.defaults, nearest=nearest, policy=policy)
        try:
            call_policy(policy, ctx)
            call_policy(policy, ctx)
        except PolicyError as e:
            pairs = "all pairs" if nearest is None else f"{nearest} nearest receivers per sender"
            raise PolicyError(f"{e} (probe call at registration, {PROBE_RUNS} runs, "
                              f"{len(ctx.regions)} regions, {pairs})") from e.__cause__
