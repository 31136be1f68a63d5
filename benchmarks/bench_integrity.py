"""What the integrity checks of issue 17 cost (a script, not a test).

    .venv/bin/python benchmarks/bench_integrity.py [--samples 1000] [--repeats 5] [-j 2]

One default sweep (the embedded scenario's [sweep], 4 policies, indicators, 2023-2050) is run
once, accounting the time spent inside the checks added to the computing: the finite-output
check of each block (`blocks.fail_not_finite`) and the manifest written at creation
(`store.seal`). Then, on its store, medians of `repeats` interleaved measurements of: the
manifest check alone (`metadata_damage`: every attribute and array metadata document), the
whole verification (`verify_store`), and `open_sweep` (paired) with and without the
verification it now runs first. Results are printed as JSON.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("-j", "--workers", type=int, default=2)
    args = ap.parse_args()

    from gsim.sweeps import blocks, engine
    from gsim.sweeps import store as st

    spent = {"finite": 0.0, "seal": 0.0}

    def timed(name, fn):
        def wrapper(*a, **k):
            t = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                spent[name] += time.perf_counter() - t
        return wrapper

    def replace(name: str, fn) -> None:
        """Replace `name` wherever the store's modules call it from (the package re-exports it)."""
        for module in (st, st.core, st.files, st.verify, st.views):
            if hasattr(module, name):
                setattr(module, name, fn)

    blocks.fail_not_finite = timed("finite", blocks.fail_not_finite)
    replace("seal", timed("seal", st.seal))
    tmp = Path(tempfile.mkdtemp(prefix="bench_integrity_"))
    try:
        path = tmp / "s.zarr"
        t0 = time.perf_counter()
        engine.sweep(path, None, {"samples": args.samples}, executor=engine.LocalExecutor(args.workers))
        sweep_s = time.perf_counter() - t0
        size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
        g = st.open_store(path)
        real_checked = st.open_checked

        def unchecked(store):
            gg = st.open_store(store)
            status = gg["status"][:]
            return gg, st.Verification(str(store), 1, status != 0, status, {}, [])

        times: dict[str, list[float]] = {"metadata_damage": [], "verify_store": [],
                                         "open_sweep_checked": [], "open_sweep_unchecked": []}
        for _ in range(args.repeats):
            t = time.perf_counter()
            st.metadata_damage(g, path)
            times["metadata_damage"].append(time.perf_counter() - t)
            t = time.perf_counter()
            st.verify_store(g, path)
            times["verify_store"].append(time.perf_counter() - t)
            for name, fn in (("open_sweep_checked", real_checked), ("open_sweep_unchecked", unchecked)):
                replace("open_checked", fn)
                t = time.perf_counter()
                st.open_sweep(path).real_gdp.load()
                times[name].append(time.perf_counter() - t)
            replace("open_checked", real_checked)
        print(json.dumps({
            "samples": args.samples, "runs": args.samples * 4, "store_MiB": round(size / 2**20, 2),
            "sweep_s": round(sweep_s, 2), "inside_finite_check_s": round(spent["finite"], 4),
            "inside_seal_s": round(spent["seal"], 4),
            **{f"{k}_median_s": round(statistics.median(v), 4) for k, v in times.items()},
        }, indent=2))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
