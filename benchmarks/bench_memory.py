"""The scenario loader's memory estimate of one run against the peak that a run allocates.

For synthetic scenarios (tests/helpers.random_scenario) of R regions, k receivers per sender
and T saved times, each built-in policy: the peak of `tracemalloc` (NumPy allocations) during
`run_scenario`, pair table included, next to `gsim.model.rules.run_memory(R, k, 4, T)`. The
ratio estimate / peak should stay above 1 (results go to docs/performance.md).

Run:  .venv/bin/python benchmarks/bench_memory.py
"""

from __future__ import annotations

import sys
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from helpers import BUILTIN, random_scenario  # noqa: E402

from gsim.api import RunFailed, run_scenario  # noqa: E402
from gsim.model.rules import run_memory  # noqa: E402

CASES = [  # R, nearest (None: all pairs), t1 (T = t1 - 2023 + 1 saved times)
    (100, None, 2026.0), (400, None, 2026.0), (1000, None, 2025.0), (1000, 5, 2025.0),
    (2000, 5, 2025.0), (300, 5, 2223.0), (300, None, 2123.0),
]


def main() -> None:
    rng = np.random.default_rng(0)
    warm = random_scenario(rng, 20)
    for pol in BUILTIN:  # compile and import outside the measurement
        run_scenario(warm, pol)
    ratios = []
    print(f"{'R':>5} {'k':>5} {'T':>4} {'policy':13s} {'peak MiB':>9} {'estimate MiB':>13} {'ratio':>6}")
    for R, nearest, t1 in CASES:
        for pol in BUILTIN:
            sc = random_scenario(rng, R, nearest=nearest, t1=t1)
            tracemalloc.start()
            try:
                run_scenario(sc, pol)
            except RunFailed:  # the synthetic data may make a run fail: its peak is not comparable
                tracemalloc.stop()
                continue
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            k = R - 1 if nearest is None else nearest
            est = run_memory(R, k, len(sc.tiers), sc.run.n_saves)
            ratios.append(est / peak)
            print(f"{R:5d} {k:5d} {sc.run.n_saves:4d} {pol:13s} {peak / 2**20:9.1f} {est / 2**20:13.1f} "
                  f"{est / peak:6.2f}")
    print(f"estimate / peak: {min(ratios):.2f} to {max(ratios):.2f} over {len(ratios)} runs")


if __name__ == "__main__":
    main()
