"""Shared test helpers: random small scenarios, the compiled path as plain dicts, tolerance."""

from __future__ import annotations

import dataclasses
import hashlib
import re
from pathlib import Path

import numpy as np

from gsim.api import resolve_policy
from gsim.hookspecs import hookimpl
from gsim.integrate import Observer, TimeGrid, batch_from_scenario, run_batch
from gsim.model.calibrate import calibrate
from gsim.model.kernel import Inputs, Kernels
from gsim.model.layout import OBS
from gsim.params import DEFAULT_TIERS, SCALAR_DEFAULTS, TIER_DEFAULTS, RunSettings
from gsim.policies import zero_decision
from gsim.scenario import Regions, Scenario, load_scenario
from gsim.sweeps.engine import compute_block

BUILTIN = ("none", "market", "subsidy_race", "gradient")

# a small real sweep for analysis tests: two saved years, short horizon, blocks of 4 samples;
# under GTM-1, whose outputs these tests' derived expectations were read from
_DEFAULT = load_scenario().with_overrides(model="gtm1")
SMALL = dataclasses.replace(_DEFAULT, sweep={**_DEFAULT.sweep, "years": [2025, 2026]})
SMALL_OPTS = {"samples": 8, "t1": 2026, "block_size": 4}
# three regions, two macro regions: a scenario TOML that tests extend with their own tables
THREE_REGIONS_TOML = """
[scenario]
name = "small"
[run]
t0 = 2023.0
t1 = 2026.0
policy = "market"
[[regions]]
name = "A"
macro_region = "East"
lat = 30.0
lon = 120.0
gdp = 1000.0
population = 40.0
schooling = 10.5
[[regions]]
name = "B"
macro_region = "West"
lat = 30.0
lon = 105.0
gdp = 300.0
population = 30.0
schooling = 9.0
[[regions]]
name = "C"
macro_region = "West"
lat = 35.0
lon = 100.0
gdp = 200.0
population = 20.0
schooling = 8.5
[shares]
East = [0.15, 0.10, 0.40, 0.35]
West = [0.25, 0.35, 0.30, 0.10]
"""


def claims_plugin(*claims_):
    """A plugin (class) that registers the given claims, as a third party's package would."""
    class Plugin:
        gsim_plugin_name = "my_claims"

        @staticmethod
        @hookimpl
        def gsim_register_claims(register):
            for c in claims_:
                register(c)

    return Plugin


class FirstBlockOnly:
    """A sweep executor that computes the first block only: a partial store, as a killed
    sweep leaves it."""

    def run(self, plan, blocks, write):
        b = next(iter(blocks))
        write(b, compute_block(plan, b, parallel=False))


def tree_digest(path: Path) -> str:
    """sha256 of every file name and content under path (to show nothing was written)."""
    h = hashlib.sha256()
    for f in sorted(path.rglob("*")):
        h.update(str(f.relative_to(path)).encode())
        if f.is_file():
            h.update(f.read_bytes())
    return h.hexdigest()


def random_scenario(rng: np.random.Generator, R: int, nearest: int | None = None,
                    t1: float = 2050.0, **param_overrides) -> Scenario:
    """R regions with plausible data: the spread of China's provinces, random positions."""
    shares = rng.dirichlet(np.full(len(DEFAULT_TIERS), 2.0), size=R)
    regions = Regions(
        name=tuple(f"r{i}" for i in range(R)),
        name_zh=tuple(f"区{i}" for i in range(R)),
        macro_region=tuple(rng.choice(["East", "Central", "West"], size=R)),
        lat=rng.uniform(20, 48, R),
        lon=rng.uniform(85, 130, R),
        gdp=rng.uniform(200, 14000, R),
        population=rng.uniform(3, 130, R),
        schooling=rng.uniform(6.5, 13, R),
        shares=shares,
    )
    params = dict(SCALAR_DEFAULTS)
    params.update(param_overrides)
    return Scenario(
        name=f"random{R}", tiers=DEFAULT_TIERS, regions=regions, params=params,
        tier_params={k: np.array(v, float) for k, v in TIER_DEFAULTS.items()},
        policy_params={}, run=RunSettings(t1=t1), nearest=nearest,
    )


def compiled(sc: Scenario, policy: str, method: str = "euler", dt: float | None = None,
             t1: float | None = None):
    """The compiled model's saved values for one run as name -> (T, ...), plus status."""
    run = dataclasses.replace(sc.run, dt=sc.run.dt if dt is None else dt)
    grid = TimeGrid.of(run, t1)
    pol, params = resolve_policy(sc, policy)
    res = run_batch(batch_from_scenario(sc), grid, pol, params, method=method,
                    tiers=sc.tiers, regions=sc.regions.name)
    out = {k: v[0] for k, v in res.values.items()}
    out["time"] = res.times
    out["status"] = res.reason(0, sc.regions.name, sc.tiers) or "ok"
    return out


def spec_close(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spec tolerance: |a-b| <= 1e-6 max(|a|,|b|) + 1e-9 scale (scale = max |value| of run)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    scale = max(np.abs(a).max(initial=0.0), np.abs(b).max(initial=0.0))
    return np.abs(a - b) <= 1e-6 * np.maximum(np.abs(a), np.abs(b)) + 1e-9 * scale


def assert_spec_agree(ours: dict, ref: dict, names) -> None:
    for name in names:
        ok = spec_close(ours[name], ref[name])
        if not ok.all():
            i = np.unravel_index(np.argmin(ok), ok.shape)
            raise AssertionError(
                f"{name}{list(i)}: compiled {ours[name][i]!r} vs twin {ref[name][i]!r} "
                f"({(~ok).sum()} of {ok.size} values outside the spec tolerance)"
            )


def t0_derivatives(sc):
    """The compiled evaluation at t0 without a policy (no transfers): the batch inputs, the
    calibration, the observation and dy/dt of run 0's state, for checks of one equation."""
    inp = batch_from_scenario(sc)
    cal = calibrate(inp)
    W, z, psi = zero_decision(1, inp.pairs, len(sc.tiers))
    obs = Observer(inp, cal, parallel=False)(cal.y0, W, z, psi)
    dy = np.empty_like(cal.y0)
    Kernels().observe(cal.y0, Inputs.of(inp, cal), (W, z, psi), [np.empty_like(obs.raw[g]) for g in OBS], dy=dy)
    return inp, cal, obs, dy


_WAVE_ROW = re.compile(r"^(\s+\d+\s+[\d,]+\s+[\d,]+\s+\S+\s+\S+)\s+[\d,]+$")


def without_rates(text: str) -> list[str]:
    """`gsim match` output as lines, each wave row without its last column, runs/s: the
    machine's speed, which no doc can show as the tests print it."""
    return [_WAVE_ROW.sub(r"\1", line.rstrip()) for line in text.strip("\n").splitlines()]
