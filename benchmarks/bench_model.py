"""Single-run benchmarks of the compiled GTM-1 model (results go to docs/performance.md).

Run:  .venv/bin/python benchmarks/bench_model.py [--quick]

1. one default run (market, Euler, dt 0.125, 2023-2050): compiled gsim vs the NumPy twin of
   tests/twin.py, side by side in this process, median of >= 5 runs after a warm-up;
2. first-call latency in a fresh process, with an empty and with a warm numba cache;
   (timings that are compared are taken interleaved, so machine noise hits both alike)
3. `gsim run` end to end with a warm cache;
4. scaling with synthetic regions R = 31, 310, 3100 (nearest = 32): warm gsim.simulate
   calls, and the peak RSS of a fresh process making one such call;
5. a batch of runs on 1 vs 2 threads (the parallel kernel).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numba
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import twin  # noqa: E402
from timing import interleaved, print_table  # noqa: E402

from gsim.api import resolve_policy, simulate  # noqa: E402
from gsim.integrate import TimeGrid, batch_from_scenario, run_batch  # noqa: E402
from gsim.scenario import Regions, load_scenario  # noqa: E402


def median_time(fn, repeat: int) -> float:
    return interleaved([fn], repeat)[0]


def with_threads(fn, n: int):
    def call():
        numba.set_num_threads(n)
        fn()
    return call


def compiled_run(sc, policy="market", n_runs=1, parallel=None, t1=None):
    pol, params = resolve_policy(sc, policy)
    grid = TimeGrid.of(sc.run, t1)
    inp = batch_from_scenario(sc, n_runs)
    return lambda: run_batch(inp, grid, pol, params, tiers=sc.tiers, regions=sc.regions.name,
                             parallel=parallel)


def synthetic(sc, R: int, nearest: int | None, seed: int = 0):
    """R regions drawn from the spread of the 31 provinces (positions jittered)."""
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(sc.regions), R)
    rg = sc.regions
    regions = Regions(
        name=tuple(f"s{i}" for i in range(R)), name_zh=tuple(f"s{i}" for i in range(R)),
        macro_region=tuple(rg.macro_region[i] for i in pick),
        lat=np.clip(rg.lat[pick] + rng.normal(0, 2, R), -89, 89),
        lon=rg.lon[pick] + rng.normal(0, 2, R),
        gdp=rg.gdp[pick] * rng.uniform(0.5, 1.5, R) / (R / 31),
        population=rg.population[pick] * rng.uniform(0.5, 1.5, R) / (R / 31),
        schooling=rg.schooling[pick], shares=rg.shares[pick],
    )
    return dataclasses.replace(sc, regions=regions, nearest=nearest)


def fresh_process_seconds(code: str, env: dict) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env=env, capture_output=True)
    return time.perf_counter() - t


def peak_rss_simulate(R: int) -> float:
    """Peak RSS (MiB) of a fresh process that imports gsim and simulates R synthetic regions."""
    code = (f"import resource, sys; sys.path.insert(0, {str(ROOT / 'benchmarks')!r}); "
            f"sys.path.insert(0, {str(ROOT / 'tests')!r}); import gsim; from bench_model import synthetic; "
            f"gsim.simulate(synthetic(gsim.load_scenario(), {R}, nearest={min(32, R - 1)}), 'market'); "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    return int(out.split()[-1]) / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer repeats, skip R = 3100")
    ap.add_argument("--ratio", action="store_true", help="only the side-by-side comparison (1.)")
    args = ap.parse_args()
    repeat = 3 if args.quick else 7
    sc = load_scenario()
    rows = []

    # 1. compiled vs twin
    t_ours, t_sim, t_twin = interleaved(
        [compiled_run(sc, parallel=False), lambda: simulate(sc, "market"),
         lambda: twin.simulate_twin(sc, "market", "euler")],
        max(5, repeat))
    rows.append(("default run, market, Euler (compiled run_batch, one thread)", f"{t_ours * 1e3:.2f} ms"))
    rows.append(("same run through `gsim.simulate` (with its xarray Dataset)", f"{t_sim * 1e3:.2f} ms"))
    rows.append(("same run, NumPy twin", f"{t_twin * 1e3:.1f} ms"))
    rows.append(("speed-up run_batch / twin", f"{t_twin / t_ours:.1f}x"))
    rows.append(("**speed-up `gsim.simulate` / twin**", f"{t_twin / t_sim:.1f}x"))
    if args.ratio:
        print_table(rows)
        return
    for policy in ("none", "subsidy_race", "gradient"):
        t = median_time(compiled_run(sc, policy, parallel=False), repeat)
        rows.append((f"default run, {policy}, Euler (compiled)", f"{t * 1e3:.2f} ms"))

    # 2-3. first call and end to end, in fresh processes
    code = "import gsim; gsim.simulate()"
    env = dict(os.environ)
    with tempfile.TemporaryDirectory() as cache:
        env["NUMBA_CACHE_DIR"] = cache
        rows.append(("import + first simulate(), empty numba cache",
                     f"{fresh_process_seconds(code, env):.1f} s"))
        rows.append(("import + first simulate(), warm numba cache",
                     f"{fresh_process_seconds(code, env):.2f} s"))
    gsim_cli = str(Path(sys.executable).with_name("gsim"))
    t = time.perf_counter()
    subprocess.run([gsim_cli, "run"], check=True, capture_output=True)
    rows.append(("`gsim run` end to end, warm cache", f"{time.perf_counter() - t:.2f} s"))

    # 4. scaling with regions (nearest = 32), through gsim.simulate
    sizes = (31, 310) if args.quick else (31, 310, 3100)
    scenarios = [synthetic(sc, R, nearest=min(32, R - 1)) for R in sizes]
    runs = [lambda s=s: simulate(s, "market") for s in scenarios]
    per_size = dict(zip(sizes, interleaved(runs, 5)))
    for R in sizes:
        rows.append((f"gsim.simulate, R = {R}, nearest 32, market, Euler",
                     f"{per_size[R] * 1e3:.1f} ms, peak RSS of a process making one call "
                     f"{peak_rss_simulate(R):.0f} MiB"))
    if 3100 in per_size:
        ratio = per_size[3100] / (10 * per_size[310])
        rows.append(("R = 3100 time / (10 x R = 310 time)", f"{ratio:.2f}"))

    # 5. threads: a batch of 64 runs on 1 vs 2 threads
    batch = compiled_run(sc, "market", n_runs=64, parallel=True)
    t1, t2 = interleaved([with_threads(batch, 1), with_threads(batch, 2)], 5)
    rows.append(("batch of 64 market runs, 1 thread", f"{t1:.3f} s ({64 / t1:.0f} runs/s)"))
    rows.append(("batch of 64 market runs, 2 threads", f"{t2:.3f} s ({64 / t2:.0f} runs/s)"))
    rows.append(("parallel efficiency 1 -> 2 threads", f"{t1 / (2 * t2):.2f}"))

    print_table(rows)


if __name__ == "__main__":
    main()
