"""Each NROY point's state at the forward start, carried from its own history-match run.

A match runs the model from a past start (the default backcast: 2013); a forward sweep on its
NROY points (`gsim sweep --from`) starts later (2023) and calibrates afresh from that year's
data. The data re-anchor every observed stock (capital, labour, wages, skills,
infrastructure). Two inputs describe a state that is not observed, and would start again at
their values of the match's start although the point's own run has moved them since:

- the world frontier gap Γ (`frontier_gap`, GTM-2 mechanism 3): F_s / max_r A_rs is Γ at the
  start and shrinks as the best province catches up with the frontier;
- the investment share σ (`sigma`, mechanism 4): the share in force is
  σ·(Yc_tot/Ŷtot0)^(−ζ), lower by the capacity grown since the start.

`carried_inputs` runs each point's match run again (its input values, its run-scope draws,
the match's policy and events), stopped at the forward start, and returns what these two
inputs are there: the geometric mean over tiers of F_s / max_r A_rs (the scalar Γ cannot hold
one gap per tier; the spread is small, docs/matching.md) and σ·(Yc_tot/Ŷtot0)^(−ζ); with
replicates, the geometric mean over them. `gsim.matching.nroy_spec` puts them in place of the
stored values. Inputs that are not matched (not in the design) are left to the forward
scenario.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gsim.api import resolve_policy, scenario_events, scenario_indicators
from gsim.context import checked_inputs
from gsim.integrate import TimeGrid, batch_from_scenario, run_batch
from gsim.matching.targets import MatchError
from gsim.matching.waves import point_values
from gsim.model.layout import SP
from gsim.scenario import Scenario, ScenarioError, replace_run
from gsim.sweeps.sampling import apply_values
from gsim.sweeps.spec import SweepSpec

CARRIED = ("frontier_gap", "sigma")  # the matched inputs whose value the forward start inherits
SAVE = ("frontier", "technology", "output", "utilization")


def frontier_gap(frontier: np.ndarray, technology: np.ndarray) -> np.ndarray:
    """Γ of runs at one time: geometric mean over tiers of F_s / max_r A_rs (frontier (B, S),
    technology (B, R, S)); never below 1, the frontier's definition (round-off aside)."""
    return np.maximum(np.exp(np.log(frontier / technology.max(axis=1)).mean(axis=1)), 1.0)


def capacity(output: np.ndarray, utilization: np.ndarray) -> np.ndarray:
    """Yc_tot of runs, (B, T): Σ_rs Y_rs / u_s (output (B, T, R, S), utilization (B, T, S))."""
    return (output / utilization[:, :, None, :]).sum(axis=(2, 3))


def carried_inputs(sc: Scenario, spec: SweepSpec, policy: str, units: np.ndarray, ids: np.ndarray,
                   t: float) -> dict[str, np.ndarray]:
    """The CARRIED inputs of the design, per point, at time `t` of the points' match runs.

    sc, spec, policy: the match's scenario, sweep spec and policy; units, ids: the points'
    uniform coordinates and global ids in the match (they fix the run-scope draws). Empty
    when none is matched, when the match is GTM-1 (no frontier, constant σ) or t is the
    match's own start. MatchError when t is before the start or off its time grid.
    """
    design = [u.target for u in spec.design]
    todo = [name for name in CARRIED if name in design]
    t0 = sc.run.t0
    if not todo or sc.model != "gtm2" or t == t0 or len(ids) == 0:
        return {}
    if t < t0:
        raise MatchError(f"the forward scenario starts in {t:g}, before the match's runs ({t0:g}): "
                         "their state cannot be carried back")
    try:
        run = replace_run(sc, t1=t).run
    except ScenarioError as e:
        raise MatchError(f"the forward start {t:g} is not a step of the match's runs ({e})") from None
    grid = TimeGrid.of(run)
    pol, params = resolve_policy(sc, policy)
    n, reps = len(ids), spec.replicates
    inp, valid = apply_values(batch_from_scenario(sc, n * reps), sc, spec, point_values(sc, spec, units, ids))
    res = run_batch(inp, grid, pol, params, method=sc.run.method, tiers=sc.tiers, regions=sc.regions.name,
                    save=SAVE, events=tuple(scenario_events(sc, grid)),
                    policy_inputs=checked_inputs(sc, pol, scenario_indicators(sc)))
    if not (valid & res.ok).all():
        bad = int(np.flatnonzero(~(valid & res.ok))[0]) // reps
        raise MatchError(f"the match run of NROY point {int(ids[bad])} fails before {t:g}: "
                         "its state cannot be carried to the forward start")
    out: dict[str, Any] = {}
    per_point = lambda log_x: np.exp(log_x.reshape(n, reps).mean(axis=1))  # noqa: E731
    if "frontier_gap" in todo:
        v = res.values
        out["frontier_gap"] = per_point(np.log(frontier_gap(v["frontier"][:, -1], v["technology"][:, -1])))
    if "sigma" in todo:
        cap = capacity(res.values["output"], res.values["utilization"])
        zeta = inp.sp[:, SP["invest_maturity"]]
        sigma = inp.sp[::reps, SP["sigma"]]
        out["sigma"] = sigma * per_point(-zeta * np.log(cap[:, -1] / cap[:, 0]))
    return out
