"""`gsim optimize` throughput end to end, in runs per second (a script, not a test).

    .venv/bin/python benchmarks/bench_optimize.py [--scenarios 20] [--population 50] [--generations 4] [-j 2]

Default scenario, gradient policy, levers readiness, gradient_ratio=1:2, min_utilization,
aid=0:0.3, objectives real_gdp:max, theil:min, lost_capital:min in 2050, mean over an LHS
ensemble. Everything from the problem to the closed store is timed (ensemble, business as
usual and the defaults, every generation's batch, pymoo, the archive, Zarr writes); runs =
(population x generations + 2) x scenarios. Numba's compiled code is warmed up first.
As a baseline, a `gsim sweep` of as many runs under gradient transfer (-j the same) is
timed right after it. The target of issue 16: 10^6 runs in 20 minutes on 2 cores, i.e. >= 850 runs/s.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

TARGET = 850.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenarios", type=int, default=20)
    ap.add_argument("--population", type=int, default=50)
    ap.add_argument("--generations", type=int, default=4)
    ap.add_argument("-j", "--workers", type=int, default=2)
    args = ap.parse_args()

    import gsim
    from gsim import optimize as opt

    sc = gsim.load_scenario()
    tmp = Path(tempfile.mkdtemp(prefix="gsim-bench-opt-"))
    problem = dict(levers="readiness,gradient_ratio=1:2,min_utilization,aid=0:0.3",
                   objectives="real_gdp:max,theil:min,lost_capital:min", year=2050.0)
    try:
        opt.optimize(tmp / "warm.zarr", sc, workers=args.workers, scenarios=2, population=4, generations=1,
                     **problem)  # compile / load the kernels
        rates = []
        t = time.perf_counter()
        opt.optimize(tmp / "o.zarr", sc, workers=args.workers, scenarios=args.scenarios,
                     population=args.population, generations=args.generations, seed=1,
                     progress=lambda done, total, hv, rate: rates.append(rate), **problem)
        wall = time.perf_counter() - t
        # the baseline on the same machine at the same time: a sweep of as many gradient runs
        from gsim.sweeps.engine import LocalExecutor, sweep

        runs = (args.population * args.generations + 2) * args.scenarios
        t = time.perf_counter()
        sweep(tmp / "s.zarr", sc, {"samples": runs, "policies": "gradient"}, executor=LocalExecutor(args.workers))
        sweep_wall = time.perf_counter() - t
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    out = {"runs": runs, "seconds": round(wall, 2), "runs_per_s": round(runs / wall, 1),
           "generation_runs_per_s_last": round(rates[-1], 1), "target_runs_per_s": TARGET,
           "sweep_gradient_runs_per_s": round(runs / sweep_wall, 1),
           "scenarios": args.scenarios, "population": args.population, "generations": args.generations,
           "workers": args.workers}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
