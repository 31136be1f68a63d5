"""Side-by-side cost of a NumPy policy *plugin* vs the equivalent built-in policy, which
runs in the compiled run loop, and vs the same built-in through the Python loop a plugin
policy takes (what the plugin machinery itself costs).

The plugin registers (through gsim_register_policies, like any external plugin) a policy whose
`decide` is a plain-NumPy copy of the built-in `gradient` rules. Both are run in the same
process, interleaved, on the default china31 scenario (R = 31, all pairs):

- single run: `run_batch` of one run over the full horizon 2023-2050 (dt 0.125);
- batch: `run_batch` of N runs (default 1000) over a shortened horizon (default 2023-2028).

Usage:  python benchmarks/bench_plugins.py [--repeats 21] [--batch 1000] [--batch-t1 2028]
        [--batch-repeats 5]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
import types

import numpy as np

import gsim
from gsim.api import simulate
from gsim.integrate import TimeGrid, batch_from_scenario, run_batch
from gsim.model.calibrate import calibrate
from gsim.plugins import make_plugin_manager, use_plugin_manager
from gsim.policies import Policy, PolicyContext, zero_decision
from gsim.scenario import load_scenario


def gradient_numpy(ctx: PolicyContext):
    """The built-in gradient rules (spec §8), re-implemented by the plugin in plain NumPy."""
    W, z, psi = zero_decision(ctx.n_runs, ctx.pairs, len(ctx.tiers))
    P = ctx.params
    m, u, recv = ctx["readiness"], ctx["utilization"], ctx.pairs.recv
    ready = m >= P["readiness"]
    S = m.shape[2]
    frontier = np.where(ready, np.arange(S), -1).max(axis=2)
    gpl = ctx["gdp"] / ctx["labor_force"]
    downhill = gpl[:, :, None] >= P["gradient_ratio"] * gpl[:, recv]
    below = np.arange(S)[None, None, :] < frontier[:, :, None]
    room = u >= P["min_utilization"]
    W[:] = downhill[..., None] & below[:, :, None, :] & ready[:, recv, :] & room[:, None, None, :]
    psi[:] = P["aid"]
    return W, z, psi


plugin = types.SimpleNamespace(__name__="bench_plugin")


@gsim.hookimpl
def _register(register):
    register(Policy("gradient_plugin", gradient_numpy,
                    {"gradient_ratio": 1.3, "readiness": 0.52, "min_utilization": 0.7,
                     "aid": 0.1}))


plugin.gsim_register_policies = _register


def _timeit(fn, repeats):
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=21)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--batch-t1", type=float, default=2028.0)
    ap.add_argument("--batch-repeats", type=int, default=5)
    a = ap.parse_args(argv)

    pm = make_plugin_manager(load_entrypoints=False, extra=(plugin,))
    sc = load_scenario()
    with use_plugin_manager(pm):
        builtin, plug = pm.policies()["gradient"], pm.policies()["gradient_plugin"]
        contestants = {"built-in, compiled run loop": builtin,
                       "built-in, Python loop": dataclasses.replace(builtin, compiled=None),
                       "plugin (NumPy)": plug}
        d1, d2 = simulate(sc, "gradient"), simulate(sc, "gradient_plugin")  # same results
        assert np.array_equal(d1.capital.values, d2.capital.values)

        def runs(n, t1):
            inp = batch_from_scenario(sc, n)
            cal = calibrate(inp)
            grid = TimeGrid(sc.run.t0, t1, sc.run.dt)
            return lambda pol: run_batch(inp, grid, pol, dict(pol.defaults), tiers=sc.tiers,
                                         regions=sc.regions.name, cal=cal, save=("real_gdp",))

        results = {}
        for title, run, repeats in (
                (f"single run, R=31, {sc.run.t0:g}-{sc.run.t1:g}, dt {sc.run.dt:g}", runs(1, sc.run.t1), a.repeats),
                (f"batch of {a.batch} runs, R=31, {sc.run.t0:g}-{a.batch_t1:g}, dt {sc.run.dt:g}",
                 runs(a.batch, a.batch_t1), a.batch_repeats)):
            for pol in contestants.values():
                run(pol)  # warm-up (compilation)
            times: dict[str, list[float]] = {k: [] for k in contestants}
            for _ in range(repeats):  # interleaved
                for k, pol in contestants.items():
                    times[k] += _timeit(lambda pol=pol, run=run: run(pol), 1)
            results[title] = times

    print(f"gsim {gsim.__version__}, python {sys.version.split()[0]}, numpy {np.__version__}")
    for title, res in results.items():
        print(f"\n{title} (median / min of {len(next(iter(res.values())))}, seconds)")
        med = {k: statistics.median(v) for k, v in res.items()}
        for k, v in res.items():
            print(f"  {k:30s} {med[k]:9.4f} {min(v):9.4f}")
        for ref in ("built-in, Python loop", "built-in, compiled run loop"):
            print(f"  plugin / {ref}: {med['plugin (NumPy)'] / med[ref]:.3f} (median), "
                  f"{min(res['plugin (NumPy)']) / min(res[ref]):.3f} (min)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
