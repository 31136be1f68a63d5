"""Sweep throughput and memory (a script, not a test).

    .venv/bin/python benchmarks/bench_sweep.py [--samples 50] [--rss 2500,25000] [--rss-t1 2026]

Default scenario, 4 policies, indicator outputs, Euler, dt 0.125, 2023-2050:
- a loop calling the single-run API gsim.integrate.simulate once per run (inputs from the
  same sampled values, the way general-purpose sweep tools drive a model);
- the local executor with -j 1 and -j 2 (1 -> 2 core efficiency);
- a 2-worker Dask LocalCluster (cluster start-up included, and excluded);
- peak RSS of a `gsim sweep` subprocess for two sweep sizes (ru_maxrss of the child).
Numba's compiled code is warmed up (cached) before timing.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=50, help="samples per timing (x 4 policies)")
    ap.add_argument("--single", type=int, default=10, help="samples for the single-run loop")
    ap.add_argument("--rss", default="2500,25000", help="samples for the RSS runs (x 4 = runs)")
    ap.add_argument("--rss-t1", type=float, default=None, help="horizon of the RSS runs")
    args = ap.parse_args()

    import gsim
    from gsim.api import simulate
    from gsim.sweeps.engine import DaskExecutor, LocalExecutor, sweep

    tmp = Path(tempfile.mkdtemp(prefix="gsim-bench-"))
    out: dict[str, object] = {}
    sc = gsim.load_scenario()
    n = args.samples

    def timed(name, executor, samples=n):
        p = tmp / f"{name}.zarr"
        t = time.perf_counter()
        rep = sweep(p, sc, {"samples": samples}, executor=executor)
        wall = time.perf_counter() - t
        shutil.rmtree(p)
        return rep.computed / wall, rep

    timed("warm1", LocalExecutor(1), 2)
    timed("warm2", LocalExecutor(2), 2)
    r1, _ = timed("j1", LocalExecutor(1))
    r2, _ = timed("j2", LocalExecutor(2))
    out["local_j1_runs_per_s"] = round(r1, 1)
    out["local_j2_runs_per_s"] = round(r2, 1)
    out["efficiency_1_to_2"] = round(r2 / (2 * r1), 3)

    rd, rep = timed("dask", DaskExecutor(n_workers=2))
    out["dask2_runs_per_s_with_startup"] = round(rd, 1)
    # without start-up: a bigger sweep amortises it; report the difference of two sizes
    rd2, rep2 = timed("dask2", DaskExecutor(n_workers=2), 2 * n)
    t_small, t_big = rep.computed / rd, rep2.computed / rd2
    out["dask2_runs_per_s_marginal"] = round((rep2.computed - rep.computed) / (t_big - t_small), 1)

    # the single-run API in a loop, same sampled inputs
    p = tmp / "inputs.zarr"
    sweep(p, sc, {"samples": args.single, "policies": "gradient", "t1": 2024},
          executor=LocalExecutor(1))
    ds = gsim.open_sweep(p, layout="flat").load()
    scalar = [c for c in ds.coords if ds[c].dims == ("run",) and c in sc.params]
    t = time.perf_counter()
    runs = 0
    for i in range(args.single):
        over = {c: float(ds[c][i]) for c in scalar}
        for pol in ("none", "market", "subsidy_race", "gradient"):
            try:
                simulate(sc.with_overrides(**over), pol)
            except gsim.RunFailed:
                pass
            runs += 1
    out["single_run_loop_runs_per_s"] = round(runs / (time.perf_counter() - t), 1)

    # peak RSS of whole sweeps in a child process
    for samples in [int(s) for s in args.rss.split(",") if s]:
        p = tmp / f"rss{samples}.zarr"
        cmd = [sys.executable, "-c", "from gsim.cli import main; main()", "sweep",
               "-n", str(samples), "-o", str(p), "-j", "2", "--no-summary", "--no-progress"]
        if args.rss_t1:
            cmd += ["--t1", str(args.rss_t1)]
        # a fresh wrapper per size, so ru_maxrss of its children is this sweep's alone
        wrap = ("import resource, subprocess, sys, json; subprocess.run(json.loads(sys.argv[1]), "
                "check=True, capture_output=True); "
                "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
        t = time.perf_counter()
        kib = int(subprocess.run([sys.executable, "-c", wrap, json.dumps(cmd)], check=True,
                                 capture_output=True, text=True).stdout)
        key = f"rss_{samples * 4}_runs"
        out[key + "_MiB"] = round(kib / 1024, 1)
        out[key + "_seconds"] = round(time.perf_counter() - t, 1)
        shutil.rmtree(p)
    shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
