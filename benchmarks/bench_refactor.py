"""The same measurements on several checkouts of gsim, interleaved (a script, not a test).

    git worktree add --detach /tmp/gs-before ff307fb    # and so on, one per version
    .venv/bin/python benchmarks/bench_refactor.py /tmp/gs-before/src /tmp/gs-after/src /tmp/gs-now/src

Each round starts one child process per version (PYTHONPATH=<src>, so that checkout's gsim is
imported, not the installed one), in turn: before, after, now, before, after, now, ... Machine
load that drifts over the run then touches every version alike, and the ratios stay meaningful.
Each child warms Numba up first (compilation or cache load excluded), then measures, default
scenario, through the public API that every version has:
- simulate_<policy>_ms: one warm gsim.simulate(scenario, policy), median of --calls calls
  (and _best_ms, the fastest of them: less sensitive to other work on a shared machine);
- sweep_j1_runs_per_s: gsim.sweeps.engine.sweep with LocalExecutor(1) (one thread),
  --samples samples x the 4 default policies, wall time of the call, store removed after.
Two tables: each version's median over the rounds, and its best round (fastest), each with the
ratio to the first version (ms: < 1 is faster; runs/s: > 1 is faster). On a shared machine a
child can land in a slow state for its whole life, so compare both.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

POLICIES = ("market", "gradient")


def child(src: str, calls: int, samples: int) -> None:
    import gsim
    from gsim.sweeps.engine import LocalExecutor, sweep

    assert Path(gsim.__file__).is_relative_to(Path(src).resolve()), f"imported {gsim.__file__}, not {src}"
    sc = gsim.load_scenario()
    out: dict[str, float] = {}
    for policy in POLICIES:
        gsim.simulate(sc, policy)  # warm-up
        times = []
        for _ in range(calls):
            t = time.perf_counter()
            gsim.simulate(sc, policy)
            times.append(time.perf_counter() - t)
        out[f"simulate_{policy}_ms"] = 1e3 * statistics.median(times)
        out[f"simulate_{policy}_best_ms"] = 1e3 * min(times)
    tmp = Path(tempfile.mkdtemp(prefix="gsim-bench-refactor-"))
    try:
        sweep(tmp / "warm.zarr", sc, {"samples": 2}, executor=LocalExecutor(1))  # warm-up
        t = time.perf_counter()
        rep = sweep(tmp / "timed.zarr", sc, {"samples": samples}, executor=LocalExecutor(1))
        out["sweep_j1_runs_per_s"] = rep.computed / (time.perf_counter() - t)
    finally:
        shutil.rmtree(tmp)
    print(json.dumps(out))


def measure(src: str, calls: int, samples: int) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=src)
    cmd = [sys.executable, __file__, "--child", src, "--calls", str(calls), "--samples", str(samples)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("srcs", nargs="*", help="src folders of the checkouts; the first is the reference")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--calls", type=int, default=20, help="timed simulate calls per policy and child")
    ap.add_argument("--samples", type=int, default=32, help="sweep samples (x 4 policies = runs)")
    ap.add_argument("--child", metavar="SRC", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(args.child, args.calls, args.samples)
    if not args.srcs:
        ap.error("give at least one src folder")

    names = [Path(s).resolve().parent.name for s in args.srcs]
    results: dict[str, list[dict[str, float]]] = {n: [] for n in names}
    for r in range(args.rounds):
        for name, src in zip(names, args.srcs):
            results[name].append(measure(src, args.calls, args.samples))
            print(f"round {r + 1}/{args.rounds} {name}: {results[name][-1]}", file=sys.stderr, flush=True)

    ref = names[0]
    ratios = [f"{n}/{ref}" for n in names[1:]]
    w, rw = max([12, *(len(n) + 2 for n in names)]), max([12, *(len(r) + 2 for r in ratios)])
    for title, agg in (("median", statistics.median), ("best", None)):
        head = f"\n{title} over {args.rounds} rounds"
        print(f"{head:29}" + "".join(f"{n:>{w}}" for n in names) + "".join(f"{r:>{rw}}" for r in ratios))
        for metric in results[ref][0]:
            pick = agg or (max if metric.endswith("_per_s") else min)
            v = {n: pick(row[metric] for row in results[n]) for n in names}
            cells = "".join(f"{v[n]:{w}.2f}" for n in names)
            print(f"{metric:28}{cells}" + "".join(f"{v[n] / v[ref]:{rw}.3f}" for n in names[1:]))


if __name__ == "__main__":
    main()
