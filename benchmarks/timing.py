"""Timing helpers of the benchmark scripts: interleaved repeats and the results table."""

from __future__ import annotations

import os
import statistics
import time

import numba

FASTEST: dict[int, float] = {}  # id(fn) -> its fastest repeat in the last `interleaved` call


def interleaved(fns, repeat: int) -> list[float]:
    """Median seconds of each fn, calls alternating (A, B, A, B, ...) so that machine noise
    hits all alike; after one warm-up call each (compilation excluded)."""
    for fn in fns:
        fn()
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeat):
        for fn, ts in zip(fns, times):
            t = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t)
    FASTEST.update({id(fn): min(ts) for fn, ts in zip(fns, times)})
    return [statistics.median(ts) for ts in times]


def print_table(rows: list[tuple[str, str]]) -> None:
    """The rows as a Markdown table, headed by the machine's core count and numba version."""
    print(f"| measurement ({os.cpu_count()} cores, numba {numba.__version__}) | result |")
    print("|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")
