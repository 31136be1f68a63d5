"""Real sweep stores with synthetic outputs: the sweep's own spec, sampler, layout and
attributes, but each output is a given function of the sampled inputs instead of a model run.
No kernel runs, so analysis tests are fast and their true answers are known."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable, Mapping

import numpy as np

from gsim.model.layout import VARIABLES
from gsim.scenario import load_scenario
from gsim.sweeps import store as st
from gsim.sweeps.engine import make_plan
from gsim.sweeps.sampling import sampled_values
from gsim.sweeps.spec import parse_spec

SC = load_scenario()

# outputs(values, policy, times) -> {name: (n, T) array}; values: target -> (n,) or (n, R)
Outputs = Callable[[Mapping[str, np.ndarray], str, np.ndarray], Mapping[str, np.ndarray]]


def synthetic_store(path: Path, uncertain: dict, outputs: Outputs, *, status: Callable | None = None,
                    **options) -> Path:
    """A store of the default scenario with `uncertain` sampled under `options` (sampler,
    samples, policies, t1, ...), every block written with `outputs` of its sampled values.
    status(samples, policy) -> (n,) int8 status per run (default: all ok)."""
    sc = dataclasses.replace(SC, sweep={"uncertain": uncertain})
    opts = {"policies": ["market", "gradient"], "t1": 2025, **options}
    spec = parse_spec(sc, opts)
    plan = make_plan(sc, spec)
    with st.new_store(path, plan, plan.attrs()) as g:
        _write_blocks(g, plan, sc, outputs, status)
    return path


def _write_blocks(g, plan, sc, outputs: Outputs, status: Callable | None) -> None:
    spec = plan.spec
    times = plan.grid.save_times
    P = len(spec.policies)
    size = {"region": len(sc.regions), "tier": len(sc.tiers)}
    for b in range(plan.n_blocks):
        u0, u1 = plan.units(b)
        units = np.arange(u0, u1)
        samples, reps = units // spec.replicates, units % spec.replicates
        values = sampled_values(spec, len(sc.regions), samples, reps)
        n = len(units)
        outs: dict[str, np.ndarray] = {}
        stat = np.empty(n * P, np.int8)
        for p, pol in enumerate(spec.policies):
            for name, v in outputs(values, pol, times).items():
                outs.setdefault(name, np.empty((n * P,) + v.shape[1:]))[p::P] = v
            stat[p::P] = st.STATUS_OK if status is None else status(samples, pol)
        for name in plan.save_names:  # every output the store holds (NaN where not given)
            shape = (n * P, len(times)) + tuple(size[d] for d in VARIABLES[name].dims)
            outs.setdefault(name, np.full(shape, np.nan))
        inputs = {k: np.repeat(v, P, axis=0) for k, v in values.items()}
        nan = np.full(n * P, np.nan)
        st.write_block(g, plan.runs(b)[0], st.BlockData(outs, inputs, stat, nan, np.full(n * P, -1, np.int8)))
