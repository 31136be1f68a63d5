"""What a plugin policy's state and indicator inputs cost per run (docs/performance.md,
"Policy state and indicator inputs").

Four NumPy policies that decide alike (W = 1 on every pair), interleaved in one process on the
default china31 scenario (R = 31, all pairs, dt 0.125): a plain one; one keeping a state array
(a running sum of the transfer volume); one reading a plugin indicator (the national total
output times a factor, computed before each decision); and one doing both.

Usage:  python benchmarks/bench_policy_inputs.py [--repeats 11] [--batch 200] [--batch-t1 2028]
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

import gsim
from gsim.context import checked_inputs
from gsim.indicators import Indicator
from gsim.integrate import TimeGrid, batch_from_scenario, run_batch
from gsim.model.calibrate import calibrate
from gsim.plugins import make_plugin_manager, use_plugin_manager
from gsim.policies import Policy, zero_decision
from gsim.scenario import load_scenario

sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
from timing import interleaved, print_table  # noqa: E402


def everywhere(ctx):
    W, z, psi = zero_decision(ctx.n_runs, ctx.pairs, len(ctx.tiers))
    W[:] = 1.0
    if "moved" in ctx.state:
        ctx.state["moved"] += ctx["transfer_volume"] * ctx.period
    if "total" in ctx.state:
        ctx.state["total"][:] = ctx["total_output"]
    return W, z, psi


TOTAL = Indicator("total_output", lambda ds, p: p["factor"] * ds.output.sum(("region", "tier")), "bn CNY/yr",
                  "total output", defaults={"factor": 1.0})
POLICIES = {
    "plain": Policy("plain", everywhere),
    "state": Policy("with_state", everywhere, state={"moved": ()}),
    "indicator": Policy("with_indicator", everywhere, indicators=("total_output",)),
    "state + indicator": Policy("with_both", everywhere, state={"moved": (), "total": ()},
                                indicators=("total_output",)),
}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=11)
    ap.add_argument("--batch", type=int, default=200)
    ap.add_argument("--batch-t1", type=float, default=2028.0)
    a = ap.parse_args(argv)
    sc = load_scenario()
    plugin = type(sys)("bench_inputs")
    plugin.gsim_register_policies = gsim.hookimpl(lambda register: [register(p) for p in POLICIES.values()])
    plugin.gsim_register_indicators = gsim.hookimpl(lambda register: register(TOTAL))
    pm = make_plugin_manager(load_entrypoints=False, extra=(plugin,), strict=True)
    rows = []
    with use_plugin_manager(pm):
        pols = {k: pm.policies()[p.name] for k, p in POLICIES.items()}
        for n, t1 in ((1, sc.run.t1), (a.batch, a.batch_t1)):
            inp = batch_from_scenario(sc, n)
            cal = calibrate(inp)
            grid = TimeGrid(sc.run.t0, t1, sc.run.dt)
            fns = [lambda pol=pol, inp=inp, grid=grid, cal=cal: run_batch(
                       inp, grid, pol, {}, tiers=sc.tiers, regions=sc.regions.name, cal=cal, save=("real_gdp",),
                       policy_inputs=checked_inputs(sc, pol, pm.indicators()))
                   for pol in pols.values()]
            first = [f().values["real_gdp"] for f in fns]
            assert all(np.array_equal(first[0], x) for x in first)  # the same decisions
            med = interleaved(fns, a.repeats)
            decisions = grid.n_steps // grid.decision_every + 1
            for k, m in zip(pols, med):
                extra = f", +{(m - med[0]) / decisions * 1e3:.2f} ms per decision" if k != "plain" else ""
                rows.append((f"{n} run(s), {sc.run.t0:g}-{t1:g}: {k}", f"{m:.3f} s{extra}"))
    print_table(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
