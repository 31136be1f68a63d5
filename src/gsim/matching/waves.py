"""Waves of history matching on the compiled batch kernel, without an emulator.

The inputs are the scenario's `[sweep.uncertain]` of scope `sample` (the prior box; each a
column of uniform numbers mapped by its distribution's ppf, as in a sweep). Wave 1 samples the
prior with the sweep's own sampler and seed (`gsim.sweeps.sampling.unit_rows`). Wave k+1 is a
Latin hypercube in the bounding box, in those uniform coordinates, of wave k's survivors,
widened by `margin` of their range on each side and clipped to wave k's box. The model runs at
every point (it is cheap enough: no emulator), so a point's implausibility is exact; the
non-implausible set of a deterministic model is the same in every wave, and a wave only
focuses the sample on it. The NROY share of the prior after wave k is
vol(box_k) x (survivors_k / points_k): the share of the prior (uniform coordinates measure
prior probability) that is not ruled out, exact in expectation while box_k holds the whole
non-implausible set (the margin is there for that).

Seeds: wave 1 = the sweep's design stream; wave k > 1 = ``SeedSequence(seed, spawn_key=(3, k))``;
scope `run` inputs of replicate j of point i = the sweep's run stream (seed, 1, i, j), i
numbering the points of all waves in order. Points are cut into blocks; nothing depends on the
block size or the number of threads.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gsim.api import resolve_policy, scenario_events, scenario_indicators
from gsim.context import checked_inputs
from gsim.integrate import RunStatus, TimeGrid, batch_from_scenario, run_batch
from gsim.matching.implausibility import implausibility, measure, target_values
from gsim.matching.targets import SAVE, MatchError, MatchSpec, Target, parse_match
from gsim.scenario import Scenario
from gsim.sweeps.engine import resolve_workers
from gsim.sweeps.sampling import apply_values, sampled_values, unit_rows
from gsim.sweeps.spec import SweepSpec, parse_spec

WAVE_SEED_KEY = 3  # spawn_key (3, k) of wave k's design; 0-2 are the sweep's streams


@dataclass(frozen=True)
class Problem:
    """What every block needs: scenario, validated specs, the resolved policy and events."""

    scenario: Scenario
    match: MatchSpec
    sweep: SweepSpec  # the uncertain inputs, replicates and seed
    grid: TimeGrid
    policy: Any
    params: Mapping[str, Any]
    events: tuple

    @property
    def inputs(self) -> tuple[str, ...]:
        return tuple(u.target for u in self.sweep.design)


def make_problem(sc: Scenario, options: Mapping[str, Any] | None = None, panel: Any = None) -> Problem:
    """Validate the `[match]` and `[sweep]` tables and resolve what the runs need."""
    opts = dict(options or {})
    m = parse_match(sc, opts, panel)
    spec = parse_spec(sc, {"seed": m.seed, "samples": m.samples,
                           "sampler": "lhs" if (sc.sweep or {}).get("sampler") == "saltelli" else None})
    where = f"{sc.source}: sweep.uncertain"
    if not spec.design:
        raise MatchError(f"{where}: no uncertain input of scope sample to match (add [sweep.uncertain])")
    for u in spec.uncertain:
        if u.scope == "sample" and u.per_region:
            raise MatchError(f"{where}.{u.target}: a per-region input of scope sample is not matched "
                             "(give it scope = \"run\", or remove it)")
    grid = TimeGrid.of(sc.run)
    pol, params = resolve_policy(sc, m.policy)
    return Problem(sc, m, spec, grid, pol, params, tuple(scenario_events(sc, grid)))


# ----------------------------------------------------------------------------------------
# evaluating points
# ----------------------------------------------------------------------------------------
@dataclass
class Evaluation:
    """Per point: mean target values over replicates, their variance, a status."""

    model: np.ndarray  # (n, targets); NaN where a replicate failed
    ens_var: np.ndarray  # (n, targets); 0 with one replicate
    status: np.ndarray  # (n,) RunStatus: OK, FAILED (a replicate failed), INVALID_INPUT


def point_values(sc: Scenario, spec: SweepSpec, units: np.ndarray, ids: np.ndarray) -> dict[str, np.ndarray]:
    """Sampled values of every run of the points (uniform coordinates `units`, global ids
    `ids`): points x replicates, replicate fastest."""
    reps = spec.replicates
    vals = {u.target: np.repeat(u.ppf(units[:, j]), reps) for j, u in enumerate(spec.design)}
    run_side = tuple(u for u in spec.uncertain if u.scope == "run")
    if run_side:
        only = dataclasses.replace(spec, uncertain=run_side, sampler="mc")
        vals.update(sampled_values(only, len(sc.regions), np.repeat(ids, reps),
                                   np.tile(np.arange(reps), len(ids))))
    return vals


def evaluate_block(pb: Problem, units: np.ndarray, ids: np.ndarray) -> Evaluation:
    """Run points (uniform coordinates `units`, global ids `ids`) and compute their targets."""
    sc, reps, n = pb.scenario, pb.sweep.replicates, len(ids)
    base = batch_from_scenario(sc, n * reps)
    inp, valid = apply_values(base, sc, pb.sweep, point_values(sc, pb.sweep, units, ids))
    res = run_batch(inp, pb.grid, pb.policy, pb.params, method=sc.run.method, tiers=sc.tiers,
                    regions=sc.regions.name, save=SAVE, parallel=False, events=pb.events,
                    policy_inputs=checked_inputs(sc, pb.policy, scenario_indicators(sc)))
    tv = target_values(pb.match.targets, res.times, res.values, sc.regions.name, sc.tiers)
    ok = valid & (res.status == RunStatus.OK)
    tv[~ok] = np.nan
    tv = tv.reshape(n, reps, -1)
    status = np.full(n, int(RunStatus.OK), np.int8)
    status[~ok.reshape(n, reps).all(axis=1)] = RunStatus.FAILED
    status[~valid.reshape(n, reps).all(axis=1)] = RunStatus.INVALID_INPUT
    ens = tv.var(axis=1, ddof=1) if reps > 1 else np.zeros((n, tv.shape[2]))
    return Evaluation(tv.mean(axis=1), ens, status)


def evaluate(pb: Problem, units: np.ndarray, ids: np.ndarray, workers: int = 1,
             progress: Callable[[int], None] | None = None) -> Evaluation:
    """All points, in blocks of `match.block_size` on `workers` threads (the compiled kernel
    releases the GIL); results in point order whatever the layout. progress(points) per block."""
    bs = pb.match.block_size
    cuts = [(i, min(i + bs, len(ids))) for i in range(0, len(ids), bs)]

    def one(c: tuple[int, int]) -> Evaluation:
        ev = evaluate_block(pb, units[c[0]:c[1]], ids[c[0]:c[1]])
        return ev

    parts: list[Evaluation] = []
    it: Iterator[Evaluation]
    if workers == 1:
        it = map(one, cuts)
    else:
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="gsim-match")
        it = pool.map(one, cuts)
    try:
        for ev in it:
            parts.append(ev)
            if progress is not None:
                progress(len(ev.status))
    finally:
        if workers != 1:
            pool.shutdown(cancel_futures=True)
    return Evaluation(np.concatenate([p.model for p in parts]), np.concatenate([p.ens_var for p in parts]),
                      np.concatenate([p.status for p in parts]))


# ----------------------------------------------------------------------------------------
# waves
# ----------------------------------------------------------------------------------------
@dataclass
class Wave:
    number: int  # 1, 2, ...
    low: np.ndarray  # (d,) the box sampled, in uniform coordinates
    high: np.ndarray
    units: np.ndarray  # (n, d)
    ids: np.ndarray  # (n,) global point ids
    evaluation: Evaluation
    imp: np.ndarray  # (n, targets) implausibility of every target (holdouts too)
    measure: np.ndarray  # (n,) the cutoff's implausibility over the targets used
    nroy: np.ndarray  # (n,) not ruled out
    seconds: float

    @property
    def runs(self) -> int:
        return len(self.ids)

    @property
    def survivors(self) -> int:
        return int(self.nroy.sum())

    @property
    def volume(self) -> float:
        return float(np.prod(self.high - self.low))

    @property
    def nroy_share(self) -> float:
        """Share of the prior not ruled out: box volume x surviving fraction."""
        return self.volume * self.survivors / self.runs

    @property
    def min_implausibility(self) -> float:
        return float(self.measure.min())

    def at_edge(self) -> np.ndarray:
        """(d,) True for inputs whose survivors come within one Latin-hypercube stratum of a
        face of this wave's box that is not a face of the prior: NROY may extend beyond the
        box there, and the NROY share may be underestimated (a larger `margin` helps)."""
        if not self.survivors:
            return np.zeros(len(self.low), bool)
        u = self.units[self.nroy]
        step = (self.high - self.low) / self.runs
        low_face = (self.low > 0) & (u.min(axis=0) - self.low < step)
        high_face = (self.high < 1) & (self.high - u.max(axis=0) < step)
        return low_face | high_face


@dataclass
class MatchResult:
    problem: Problem
    waves: list[Wave] = field(default_factory=list)

    @property
    def last(self) -> Wave:
        return self.waves[-1]

    def unmatched(self) -> dict[str, float]:
        """Each target used that no run of any wave brings within the cutoff: its smallest
        implausibility. Whatever the inputs, the model misses it; under a second or third
        maximum every surviving point spends its allowance there, so the cutoff falls on
        the other targets' maximum."""
        imp = np.concatenate([w.imp for w in self.waves])
        out = {}
        for j, t in enumerate(self.problem.match.targets):
            col = imp[:, j][np.isfinite(imp[:, j])]
            if not t.holdout and len(col) and col.min() > self.problem.match.cutoff:
                out[t.name] = float(col.min())
        return out

    def _held_out(self) -> Iterator[tuple[Target, np.ndarray]]:
        """Each held-out target with the NROY sample's finite model values of it."""
        w = self.last
        for j, t in enumerate(self.problem.match.targets):
            if t.holdout:
                v = w.evaluation.model[w.nroy, j]
                yield t, v[np.isfinite(v)]

    def holdout_band(self) -> dict[str, tuple[float, float, float, bool]]:
        """Each held-out target: (observed, 5 %, 95 % of the NROY sample's model values,
        observed within the band)."""
        out = {}
        for t, v in self._held_out():
            if len(v) == 0:
                out[t.name] = (t.value, np.nan, np.nan, False)
                continue
            lo, hi = np.quantile(v, [0.05, 0.95])
            out[t.name] = (t.value, float(lo), float(hi), bool(lo <= t.value <= hi))
        return out

    def holdout_coverage(self) -> float:
        """Share of held-out targets inside the NROY sample's 5-95 % band (NaN if there are none,
        or no NROY point to predict them with)."""
        band = self.holdout_band()
        if not band or not self.last.survivors:
            return float("nan")
        return float(np.mean([b[3] for b in band.values()]))

    def holdout_implausibility(self) -> dict[str, float]:
        """Each held-out target: the implausibility of its observation against the NROY
        sample's prediction, |z - mean| / sqrt(NROY variance + observation + discrepancy
        variance), the match's own measure with the plausible set as the ensemble. The band
        above leaves the declared variances out; above the cutoff here, even they do not
        cover what the plausible models miss out of sample (NaN without finite values)."""
        out = {}
        for t, v in self._held_out():
            ens = np.var(v, ddof=1) if len(v) > 1 else 0.0
            out[t.name] = float(implausibility(t.value, v.mean(), t.obs_var, t.disc_var, ens)) if len(v) else np.nan
        return out

    def prior_fifths(self) -> dict[str, np.ndarray]:
        """Per input, the share of the NROY sample in each fifth of its prior (`prior_fifths`):
        0.2 each where the match leaves the input as the prior had it; empty without NROY points."""
        w = self.last
        if not w.survivors:
            return {}
        return dict(zip(self.problem.inputs, prior_fifths(w.units[w.nroy]), strict=True))

    def holdout_consistent(self) -> int:
        """How many held-out targets the NROY prediction does not rule out (implausibility at
        most the cutoff)."""
        return sum(i <= self.problem.match.cutoff for i in self.holdout_implausibility().values())


def prior_fifths(units: np.ndarray) -> np.ndarray:
    """(inputs, 5): the share of the points (rows of prior CDF coordinates, as `Wave.units`) in
    each fifth of each input's prior. Where the match does not narrow an input its NROY points
    spread as the prior does, 0.2 a fifth; the range alone (min to max) hides a thinned end."""
    edges = np.linspace(0.0, 1.0, 6)
    counts = np.stack([np.histogram(u, bins=edges)[0] for u in np.asarray(units, float).T])
    return counts / max(len(units), 1)


def narrowing(fifths: np.ndarray) -> np.ndarray:
    """How far shares per fifth (`prior_fifths`, fifths on the last axis) depart from the
    prior's 0.2 each: the largest departure; the order in which inputs are shown and drawn."""
    return np.abs(np.asarray(fifths) - 0.2).max(axis=-1)


def wave_design(pb: Problem, k: int, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Uniform coordinates of wave k's points: the sweep's sampler on the prior for k = 1,
    else a scrambled Latin hypercube in [low, high)."""
    n, d = pb.match.samples, len(low)
    if k == 1:
        return unit_rows(pb.sweep, np.arange(n))
    from scipy.stats import qmc

    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(pb.match.seed, spawn_key=(WAVE_SEED_KEY, k))))
    return low + (high - low) * qmc.LatinHypercube(d, scramble=True, rng=rng).random(n)


def next_box(w: Wave, margin: float) -> tuple[np.ndarray, np.ndarray]:
    """The survivors' bounding box, widened by `margin` x its range (at least one stratum of
    the wave's Latin hypercube) on each side, clipped to the wave's box."""
    u = w.units[w.nroy]
    lo, hi = u.min(axis=0), u.max(axis=0)
    pad = np.maximum(margin * (hi - lo), (w.high - w.low) / w.runs)
    return np.maximum(lo - pad, w.low), np.minimum(hi + pad, w.high)


def run_waves(pb: Problem, workers: int | None = 1,
              progress: Callable[[int, int, int], None] | None = None) -> MatchResult:
    """All waves; stops early when a wave leaves no survivor. progress(wave, points done,
    points of the wave) after every block."""
    m = pb.match
    j = resolve_workers(workers)
    d = len(pb.sweep.design)
    used = np.array([not t.holdout for t in m.targets])
    z = np.array([t.value for t in m.targets])
    v_obs = np.array([t.obs_var for t in m.targets])
    v_disc = np.array([t.disc_var for t in m.targets])
    low, high = np.zeros(d), np.ones(d)
    result = MatchResult(pb)
    next_id = 0
    for k in range(1, m.waves + 1):
        t0 = time.perf_counter()
        units = wave_design(pb, k, low, high)
        ids = np.arange(next_id, next_id + len(units))
        next_id += len(units)
        def tick(n: int, k: int = k, total: int = len(units), done: list[int] = [0]) -> None:  # noqa: B006
            done[0] += n
            if progress is not None:
                progress(k, done[0], total)

        if progress is not None:
            progress(k, 0, len(units))
        ev = evaluate(pb, units, ids, j, tick)
        imp = implausibility(z, ev.model, v_obs, v_disc, ev.ens_var)
        meas = measure(imp[:, used], m.use)
        wave = Wave(k, low, high, units, ids, ev, imp, meas, meas <= m.cutoff, time.perf_counter() - t0)
        result.waves.append(wave)
        if wave.survivors == 0:
            break
        low, high = next_box(wave, m.margin)
    return result
