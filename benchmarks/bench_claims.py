"""Memory and time of reading a sweep store: `gsim claims` and `gsim summary` (a script, not a test).

    .venv/bin/python benchmarks/bench_claims.py [--runs 10000,100000] [--keep DIR]

Builds synthetic stores of the default sweep's layout (4 policies, indicator outputs with the
group aggregates, 2023-2050) without running the model: every block is written with random
values, so building a 10^5-run store takes seconds. Then runs `gsim claims STORE` and
`gsim summary STORE` as subprocesses, each twice, and reports the wall time and the peak
RSS (ru_maxrss of the child, reported by the child itself) for each store size, plus the RSS of a bare `gsim --version`
(the interpreter and imports) for comparison.
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

import numpy as np


def build(path: Path, runs: int) -> None:
    from gsim.scenario import load_scenario
    from gsim.sweeps import store as st
    from gsim.sweeps.engine import make_plan
    from gsim.sweeps.spec import parse_spec

    sc = load_scenario()
    plan = make_plan(sc, parse_spec(sc, {"samples": runs // 4}))
    rng = np.random.default_rng(0)
    T, S, R = len(plan.grid.save_times), len(sc.tiers), len(sc.regions)
    with st.new_store(path, plan, plan.attrs()) as g:
        for b in range(plan.n_blocks):
            r0, r1 = plan.runs(b)
            n = r1 - r0
            outputs = {name: rng.uniform(0.5, 1.5, (n, T, S) if name in ("overcapacity", "margin") else (n, T))
                       for name in plan.save_names}
            inputs = {u.target: np.full((n, R) if u.per_region else n, np.nan) for u in plan.spec.uncertain}
            st.write_block(g, r0, st.BlockData(outputs, inputs, np.ones(n, np.int8), np.full(n, np.nan),
                                               np.full(n, -1, np.int8)))


def store_for(tmp: Path, runs: int, out: dict[str, object]) -> Path:
    """The synthetic store of `runs` runs in tmp, built (and its build time put in out)
    unless it is there already."""
    p = tmp / f"s{runs}.zarr"
    if not p.exists():
        t = time.perf_counter()
        build(p, runs)
        out[f"build_{runs}_s"] = round(time.perf_counter() - t, 1)
    return p


RUN = """
import resource, sys
from gsim.cli import main
try:
    main()
finally:
    sys.stderr.write("RSS %d\\n" % resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def child(*args: str) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB) of `gsim ARGS` in a fresh process."""
    t = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", RUN, *args], capture_output=True, text=True)
    wall = time.perf_counter() - t
    assert r.returncode == 0, r.stderr[-2000:]
    rss_kb = int(r.stderr.rsplit("RSS ", 1)[1].split()[0])
    return wall, rss_kb / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", default="10000,100000")
    ap.add_argument("--keep", default=None, help="build the stores here and keep them")
    args = ap.parse_args()
    tmp = Path(args.keep or tempfile.mkdtemp(prefix="gsim-bench-claims-"))
    tmp.mkdir(parents=True, exist_ok=True)
    out: dict[str, object] = {"version_rss_mb": round(child("--version")[1], 1)}
    for runs in (int(r) for r in args.runs.split(",")):
        p = store_for(tmp, runs, out)
        for cmd in ("claims", "summary"):
            results = [child(cmd, str(p)) for _ in range(2)]
            out[f"{cmd}_{runs}_s"] = [round(w, 1) for w, _ in results]
            out[f"{cmd}_{runs}_rss_mb"] = round(max(r for _, r in results), 1)
    print(json.dumps(out, indent=1))
    if not args.keep:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
