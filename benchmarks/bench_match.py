"""One wave of history matching: runs/s and wall time (a script, not a test).

    .venv/bin/python benchmarks/bench_match.py [--samples 100000] [-j 2] [--t1 2034]

The default china31 scenario (31 regions, all 930 pairs, Euler dt 0.125) from 2023 to --t1
(2034: eleven years, the length of a 2013-2024 backcast), market policy, its [sweep.uncertain]
inputs of scope sample without the per-region GDP factor (history matching matches one input
per column), and six targets (growth, two GDP shares, a population share, the Theil slope,
utilisation) with made-up observed values: the cost does not depend on the values. One wave =
sampling, calibration, integration, target values and implausibility of every point; the
store is not written (`--store` adds the write). Numba's compiled code is warmed up first.
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import tempfile
import time
from pathlib import Path

TARGETS = """
[[match.targets]]
kind = "growth"
years = [{a}, {b}]
value = 0.06
obs_sd = 0.005
obs_reason = "benchmark"
disc_sd = 0.005
disc_reason = "benchmark"
[[match.targets]]
kind = "gdp_share"
region = "Guangdong"
year = {b}
value = 0.105
obs_rel_sd = 0.03
obs_reason = "benchmark"
disc_rel_sd = 0.05
disc_reason = "benchmark"
[[match.targets]]
kind = "gdp_share"
region = ["Sichuan", "Chongqing", "Guizhou", "Yunnan"]
year = {b}
value = 0.12
obs_rel_sd = 0.03
obs_reason = "benchmark"
disc_rel_sd = 0.05
disc_reason = "benchmark"
[[match.targets]]
kind = "population_share"
region = "Guangdong"
year = {b}
value = 0.09
obs_rel_sd = 0.01
obs_reason = "benchmark"
disc_rel_sd = 0.03
disc_reason = "benchmark"
[[match.targets]]
kind = "theil_slope"
years = [{a}, {b}]
value = -0.0003
obs_sd = 0.0003
obs_reason = "benchmark"
disc_sd = 0.0005
disc_reason = "benchmark"
[[match.targets]]
kind = "utilisation"
year = {b}
value = 0.75
obs_sd = 0.01
obs_reason = "benchmark"
disc_sd = 0.02
disc_reason = "benchmark"
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=100_000, help="points of the wave")
    ap.add_argument("-j", "--workers", type=int, default=2)
    ap.add_argument("--t1", type=float, default=2034.0)
    ap.add_argument("--store", action="store_true", help="also write the match store")
    args = ap.parse_args()

    import tomllib

    import gsim
    from gsim.matching.store import write_store
    from gsim.matching.waves import make_problem, run_waves
    from gsim.scenario import loads_scenario

    base = gsim.load_scenario().with_overrides(t1=args.t1)
    unc = {k: v for k, v in base.sweep["uncertain"].items() if not v.get("per_region")}
    match = tomllib.loads(TARGETS.format(a=int(base.run.t0), b=int(args.t1)))["match"]
    sc = dataclasses.replace(base, sweep={**base.sweep, "uncertain": unc},
                             match={"waves": 1, "samples": args.samples, **match})
    sc = loads_scenario(sc.toml, source="bench")
    warm = make_problem(sc, {"samples": 128})
    run_waves(warm, args.workers)  # compile / load the kernels

    pb = make_problem(sc)
    cpu0 = _cpu_seconds()
    t = time.perf_counter()
    res = run_waves(pb, args.workers)
    wave = time.perf_counter() - t
    cpu = _cpu_seconds() - cpu0
    extra = ""
    if args.store:
        tmp = Path(tempfile.mkdtemp(prefix="gsim-bench-"))
        t = time.perf_counter()
        write_store(res, tmp / "m.zarr")
        extra = f"; store written in {time.perf_counter() - t:.1f} s"
        shutil.rmtree(tmp)
    n = res.last.runs
    print(f"one wave of {n:,} runs, china31 {base.run.t0:g}-{args.t1:g}, -j {args.workers}: {wave:.1f} s, "
          f"{n / wave:,.0f} runs/s; 10^5 runs at this rate: {1e5 / (n / wave):.0f} s; "
          f"survivors {res.last.survivors}{extra}")
    # on a shared machine the wall time says how many cores the process got, not what it
    # needs: CPU seconds per run / workers is the wall time per run on idle cores
    print(f"CPU time {cpu:.1f} s ({1e3 * cpu / n:.2f} ms a run; the process had {cpu / wave:.2f} cores on average); "
          f"10^5 runs on {args.workers} idle cores: {1e5 * cpu / n / args.workers:.0f} s")


def _cpu_seconds() -> float:
    """User + system CPU time of this process (all threads)."""
    import resource

    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


if __name__ == "__main__":
    main()
