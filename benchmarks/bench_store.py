"""What the store's checksums and verification cost (a script, not a test).

    .venv/bin/python benchmarks/bench_store.py [--samples 1000] [--repeats 3] [-j 2]

A default sweep (the embedded scenario's [sweep], 4 policies, indicators, 2023-2050) is run
`repeats` times each way, interleaved in one process (A, B, A, B, ...):
- A: as shipped: every block's per-run checksums computed where it is computed, the store
  verified before computing (the time spent inside both is accounted);
- B: checksums and verification switched off (run_checksums returns zeros, verify_store
  reports a fresh store without reading it).
Then, on A's store: `verify_store` alone, and `summarize` with and without its verification
(interleaved). Medians are printed as JSON.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("-j", "--workers", type=int, default=2)
    args = ap.parse_args()

    from gsim.sweeps import analysis, engine
    from gsim.sweeps import store as st

    real_sums, real_verify = st.run_checksums, st.verify_store

    def no_sums(arrays, names):
        return np.zeros(len(arrays[names[0]]), np.uint64)

    def no_verify(g, path):
        n, chunk = g["done"].shape[0], g["done"].chunks[0]
        return st.Verification(str(path), chunk, np.zeros(n, bool), np.zeros(n, np.int8), {}, [])

    spent = {"checksums": 0.0, "verify": 0.0}  # seconds inside them during the A sweeps

    def timed(fn, key):
        def wrapper(*a):
            t = time.perf_counter()
            try:
                return fn(*a)
            finally:
                spent[key] += time.perf_counter() - t  # += from threads: float add under the GIL
        return wrapper

    def replace(name: str, fn) -> None:
        """Replace `name` wherever the store's modules call it from (the package re-exports it)."""
        for module in (st, st.core, st.files, st.verify, st.views):
            if hasattr(module, name):
                setattr(module, name, fn)

    def checks(on: bool) -> None:
        replace("run_checksums", timed(real_sums, "checksums") if on else no_sums)
        replace("verify_store", timed(real_verify, "verify") if on else no_verify)

    tmp = Path(tempfile.mkdtemp(prefix="gsim-bench-store-"))
    opts = {"samples": args.samples}

    def run_sweep(name: str) -> float:
        p = tmp / f"{name}.zarr"
        shutil.rmtree(p, ignore_errors=True)
        t = time.perf_counter()
        engine.sweep(p, None, opts, executor=engine.LocalExecutor(args.workers))
        return time.perf_counter() - t

    engine.sweep(tmp / "warm.zarr", None, {"samples": 4, "t1": 2025}, executor=engine.LocalExecutor(1))
    times: dict[str, list[float]] = {"with": [], "without": []}
    for _ in range(args.repeats):
        for on in (True, False):
            checks(on)
            times["with" if on else "without"].append(run_sweep("with" if on else "without"))
    spent_in_sweeps = dict(spent)
    checks(True)
    store = tmp / "with.zarr"
    g = st.open_store(store)
    n_runs = g["done"].shape[0]
    chunk = g["done"].chunks[0]
    verify_s, summary_on, summary_off = [], [], []
    analysis.summarize(store)  # warm up (pandas, first reads)
    for _ in range(args.repeats):
        checks(True)
        t = time.perf_counter()
        health = st.verify_store(g, store)
        assert health.ok, (health.headline(), health.damage()[:3])
        verify_s.append(time.perf_counter() - t)
        for on, out in ((True, summary_on), (False, summary_off)):
            checks(on)
            t = time.perf_counter()
            analysis.summarize(store)
            out.append(time.perf_counter() - t)
    checks(True)
    covers = list(g[st.CHECK].attrs["covers"])
    block = {name: np.asarray(g[name][:chunk]) for name in covers}
    t = time.perf_counter()
    for _ in range(20):
        real_sums(block, covers)
    per_block = (time.perf_counter() - t) / 20
    med = statistics.median
    out = {
        "runs": n_runs, "block_runs": chunk, "workers": args.workers, "repeats": args.repeats,
        "sweep_with_checks_s": round(med(times["with"]), 2),
        "sweep_without_checks_s": round(med(times["without"]), 2),
        "sweep_ratio_with_over_without": round(med(times["with"]) / med(times["without"]), 3),
        "sweep_min_ratio": round(min(times["with"]) / min(times["without"]), 3),
        "in_checksums_per_sweep_s": round(spent_in_sweeps["checksums"] / args.repeats, 3),
        "in_verify_per_sweep_s": round(spent_in_sweeps["verify"] / args.repeats, 3),
        "checksums_of_one_block_s": round(per_block, 4),
        "checksums_of_all_blocks_s": round(per_block * n_runs / chunk, 3),
        "verify_store_s": round(med(verify_s), 3),
        "summary_with_verify_s": round(med(summary_on), 3),
        "summary_without_verify_s": round(med(summary_off), 3),
        "store_mib": round(sum(f.stat().st_size for f in store.rglob("*") if f.is_file()) / 2**20, 1),
        "sweep_all_s": {k: [round(x, 2) for x in v] for k, v in times.items()},
    }
    print(json.dumps(out, indent=1))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
