"""Scenarios: the regions, tiers, parameters and run settings of one model set-up.

A scenario is a TOML file plus a regions CSV. `load_scenario()` reads and validates it and
returns an immutable `Scenario`; the embedded default (31 provinces) is used when no path is
given. Validation errors are `ScenarioError`s naming the file and the field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

# Scalar parameters of spec §2 (ASCII names) with their defaults.
SCALAR_DEFAULTS: dict[str, float] = {
    "delta": 0.096,
    "delta_x": 0.5,
    "sigma": 0.40,
    "beta": 20.0,
    "phi_p": 0.6,
    "u_star": 0.80,
    "phi_w": 2.0,
    "e_star": 0.95,
    "g0": 0.01,
    "chi": 0.4,
    "rho": 0.06,
    "nu0": 0.03,
    "H_bar": 14.0,
    "gamma_H": 0.015,
    "ell_H": 0.1,
    "kappa": 2.0,
    "iota": 0.08,
    "delta_I": 0.04,
    "mu": 0.03,
    "c_m": 0.1,
    "n": 0.0,
    "lambda_T": 0.02,
    "G0": 0.05,
    "c_d": 0.01,
    "tau_T": 2.0,
    "ell_R": 0.15,
    "ell_F": 0.2,
    "K_eps": 1e-6,
    # calibration constants (§2, used by §5 only)
    "u0": 0.75,
    "kappa_K": 3.0,
    "kappa_I": 1.0,
    "lambda_LF": 0.55,
    "w_min_share": 0.5,
}

# Per-tier parameters of spec §2, in the order of DEFAULT_TIERS.
DEFAULT_TIERS: tuple[str, ...] = ("labor", "resource", "capital", "technology")
TIER_DEFAULTS: dict[str, tuple[float, ...]] = {
    "alpha": (0.30, 0.55, 0.50, 0.40),
    "theta": (0.30, 0.45, 0.60, 0.80),
    "epsilon": (2.0, 1.0, 1.2, 1.5),
    "eta": (0.6, 0.8, 1.0, 1.4),
    "omega": (0.0, 0.0, 0.5, 1.0),
}

METHODS: tuple[str, ...] = ("euler", "rk4")


class ScenarioError(ValueError):
    """A scenario file or value is invalid; the message is one line naming file and field."""


@dataclass(frozen=True, eq=False)
class Regions:
    """Per-region data, one entry per region in file order (arrays of length R)."""

    name: tuple[str, ...]
    name_zh: tuple[str, ...]
    macro_region: tuple[str, ...]
    lat: np.ndarray  # degrees north
    lon: np.ndarray  # degrees east
    gdp: np.ndarray  # bn CNY
    population: np.ndarray  # million
    schooling: np.ndarray  # years
    shares: np.ndarray  # (R, S) tier output shares, rows sum to 1

    def __len__(self) -> int:
        return len(self.name)


@dataclass(frozen=True)
class RunSettings:
    t0: float = 2023.0
    t1: float = 2050.0
    dt: float = 0.125
    save_every: float = 1.0
    policy_period: float = 1.0
    method: str = "euler"
    policy: str = "market"


@dataclass(frozen=True, eq=False)
class Scenario:
    """A validated scenario. Parameters use the ASCII names of SCALAR_DEFAULTS/TIER_DEFAULTS."""

    name: str
    tiers: tuple[str, ...]
    regions: Regions
    params: dict[str, float]  # every key of SCALAR_DEFAULTS
    tier_params: dict[str, np.ndarray]  # every key of TIER_DEFAULTS -> (S,)
    policy_params: dict[str, dict[str, Any]]  # policy name -> its parameters (overrides)
    run: RunSettings = field(default_factory=RunSettings)
    nearest: int | None = None  # candidate pairs: None = all ordered pairs, k = k nearest
    sweep: dict[str, Any] | None = None  # the raw [sweep] table, validated by gsim.sweep
    source: str = "<default>"


def load_scenario(path=None) -> Scenario:  # placeholder, replaced by the full loader
    raise NotImplementedError
