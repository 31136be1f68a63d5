"""Samplers and seeding: a run's inputs depend only on (root seed, sample id, replicate).

Random streams (numpy SeedSequence, keyed by ids, never by block or worker):

- design of `lhs` / `sobol` / `saltelli`: ``SeedSequence(seed, spawn_key=(2,))`` drives one
  scrambled design of all samples; sample i is row i of it. LHS is generated whole (cached per
  process, samples x dimensions floats); Sobol rows are generated on demand with
  ``fast_forward``, so any contiguous range of samples costs only its own rows. Saltelli is
  SALib's design (``SALib.sample.sobol.sample``, first-order and total indices: N(D+2) rows),
  generated whole and cached like LHS; its columns are the sample-scope inputs, a per-region
  one as a group of one column per region.
- sample stream ``SeedSequence(seed, spawn_key=(0, i))``: with `mc`, the design row of
  sample i (first d numbers); then the per-region draws of sample-scope region uncertainties
  (except with `saltelli`, whose design holds them).
- run stream ``SeedSequence(seed, spawn_key=(1, i, j))`` for replicate j of sample i:
  uncertainties with ``scope = "run"``, in name order.

Uniform numbers are mapped to values with the distributions' scipy.stats ppf.
"""

from __future__ import annotations

import functools

import numpy as np

from gsim.model import rules
from gsim.model.inputs import BatchInputs
from gsim.model.layout import REGION_COLUMNS, SP, TP
from gsim.scenario import Scenario
from gsim.sweeps.spec import NROY, SweepSpec, Uncertainty


def _ss(seed: int, *key: int) -> np.random.SeedSequence:
    return np.random.SeedSequence(seed, spawn_key=tuple(int(k) for k in key))


def _gen(seed: int, *key: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(_ss(seed, *key)))


# Saltelli designs without the extra rows for second-order indices: N(D+2) rows, not N(2D+2)
SALTELLI_SECOND_ORDER = False


@functools.lru_cache(maxsize=4)
def _saltelli_design(widths: tuple[int, ...], n: int, seed: int) -> np.ndarray:
    """SALib's Saltelli design on [0, 1): group k (an input) has widths[k] columns."""
    from SALib.sample import sobol as saltelli

    cols = sum(widths)
    problem = {"num_vars": cols, "names": [f"x{j}" for j in range(cols)], "bounds": [[0.0, 1.0]] * cols,
               "groups": [f"g{k}" for k, w in enumerate(widths) for _ in range(w)]}
    out = saltelli.sample(problem, n, calc_second_order=SALTELLI_SECOND_ORDER, scramble=True,
                          seed=_gen(seed, 2))
    out.setflags(write=False)
    return out


def saltelli_widths(spec: SweepSpec, n_regions: int) -> tuple[int, ...]:
    """Columns of each input (spec.groups) in the Saltelli design."""
    return tuple(n_regions if u.per_region else 1 for u in spec.groups)


def saltelli_attrs(spec: SweepSpec) -> dict[str, object]:
    """Store attributes that identify a Saltelli design: sample i is row i of SALib's design,
    N = `saltelli_base_samples` groups of D + 2 rows (A, AB_1 ... AB_D, B), D = the
    `saltelli_inputs` (targets in design order)."""
    if spec.sampler != "saltelli":
        return {}
    return {"saltelli_base_samples": spec.samples, "saltelli_inputs": [u.target for u in spec.groups]}


@functools.lru_cache(maxsize=4)
def _lhs_design(d: int, n: int, seed: int) -> np.ndarray:
    from scipy.stats import qmc  # imported on use (slow to import)

    eng = qmc.LatinHypercube(d, scramble=True, rng=_gen(seed, 2))
    out = eng.random(n)
    out.setflags(write=False)
    return out


def unit_rows(spec: SweepSpec, samples: np.ndarray, n_regions: int = 1) -> np.ndarray:
    """Uniform [0, 1) design coordinates (len(samples), d) of the given sample ids: a column per
    input of spec.design; for saltelli, the columns of spec.groups (saltelli_widths)."""
    samples = np.asarray(samples, np.int64)
    if spec.sampler == "saltelli":
        return _saltelli_design(saltelli_widths(spec, n_regions), spec.samples, spec.seed)[samples]
    d = len(spec.design)
    if d == 0:
        return np.empty((len(samples), 0))
    if spec.sampler == "mc":
        return np.array([_gen(spec.seed, 0, s).random(d) for s in samples]).reshape(len(samples), d)
    if spec.sampler == "lhs":
        return _lhs_design(d, spec.samples, spec.seed)[samples]
    # sobol: generate the covered range only
    lo, hi = int(samples.min()), int(samples.max()) + 1
    from scipy.stats import qmc

    eng = qmc.Sobol(d, scramble=True, rng=_gen(spec.seed, 2))
    if lo:
        eng.fast_forward(lo)
    return eng.random(hi - lo)[samples - lo]


def full_design(spec: SweepSpec, n_regions: int = 1) -> np.ndarray:
    """The whole (samples, d) unit design (for tests and diagnostics)."""
    return unit_rows(spec, np.arange(spec.n_samples), n_regions)


def sampled_values(
    spec: SweepSpec, n_regions: int, samples: np.ndarray, replicates: np.ndarray
) -> dict[str, np.ndarray]:
    """target -> sampled values, (n,) or (n, R) for per-region ones, for runs (sample, rep)."""
    samples = np.asarray(samples, np.int64)
    replicates = np.asarray(replicates, np.int64)
    n = len(samples)
    out: dict[str, np.ndarray] = {}
    saltelli = spec.sampler == "saltelli"
    design = spec.groups if saltelli else spec.design
    if design and spec.sampler == NROY:  # stored points: values, not uniform numbers
        rows = np.asarray(spec.points, float)[samples]
        for j, u in enumerate(design):
            out[u.target] = rows[:, j]
    elif design:
        # rows of distinct samples, then spread to replicates
        uniq, inv = np.unique(samples, return_inverse=True)
        rows = unit_rows(spec, uniq, n_regions)[inv]
        j = 0
        for u in design:
            w = n_regions if u.per_region else 1
            out[u.target] = u.ppf(rows[:, j:j + w] if u.per_region else rows[:, j])
            j += w
    sample_side = [u for u in spec.uncertain if u.scope == "sample" and u.per_region and not saltelli]
    run_side = [u for u in spec.uncertain if u.scope == "run"]
    for u in sample_side + run_side:
        out[u.target] = np.empty((n, n_regions) if u.per_region else (n,))
    d = len(design) if spec.sampler == "mc" else 0
    for i in range(n):
        if sample_side:
            g = _gen(spec.seed, 0, samples[i])
            if d:
                g.random(d)  # the design row comes first in the sample stream
            for u in sample_side:
                out[u.target][i] = u.ppf(g.random(n_regions))
        if run_side:
            g = _gen(spec.seed, 1, samples[i], replicates[i])
            for u in run_side:
                out[u.target][i] = u.ppf(g.random(n_regions) if u.per_region else g.random())
    return out


def apply_values(
    base: BatchInputs, sc: Scenario, spec: SweepSpec, values: dict[str, np.ndarray]
) -> tuple[BatchInputs, np.ndarray]:
    """Copies of `base` (n runs) with the sampled values applied; and a (n,) validity mask:
    False where a run breaks a rule a scenario file must obey (`gsim.model.rules.check`:
    bounds, e.g. a normal's tail, the calibration's profit share, a finite initial state).
    Invalid runs get the scenario's own values, so the batch stays integrable; their results
    are to be discarded (status invalid_input)."""
    sp, tp, reg = base.sp.copy(), base.tp.copy(), base.reg.copy()
    with np.errstate(all="ignore"):  # a product may overflow: the rules catch it below
        for u in spec.uncertain:
            v = values[u.target]
            name, _, tier = u.target.partition(".")
            if name == "region":
                reg[:, REGION_COLUMNS.index(tier)] *= v if u.per_region else v[:, None]
            elif name in SP:
                sp[:, SP[name]] = sp[:, SP[name]] * v if u.apply == "scale" else v
            else:
                cols = [sc.tiers.index(tier)] if tier else list(range(len(sc.tiers)))
                for c in cols:
                    tp[:, TP[name], c] = tp[:, TP[name], c] * v if u.apply == "scale" else v
    inp = BatchInputs(sp=sp, tp=tp, reg=reg, shares=base.shares, pairs=base.pairs)
    valid = rules.check(inp) == rules.OK
    if not valid.all():
        bad = ~valid
        sp[bad], tp[bad], reg[bad] = base.sp[bad], base.tp[bad], base.reg[bad]
    return inp, valid


# (index into REGION_COLUMNS is what `reg` uses)
__all__ = ["unit_rows", "full_design", "sampled_values", "apply_values", "saltelli_attrs", "saltelli_widths",
           "Uncertainty"]
