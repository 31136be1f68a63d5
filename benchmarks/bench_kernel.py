"""The compiled kernel's lane layout, side by side in one process.

Run:  .venv/bin/python benchmarks/bench_kernel.py [--quick] [--asm]

1. kernel alone, default scenario (31 regions, all 930 pairs), market (W = 1), Euler, 216 steps
   from t0, one thread: one lane per group (what a single run uses), and groups of 8 to 64
   lanes; microseconds per right-hand-side evaluation per run and milliseconds per 216-step
   run;
2. the same through run_batch (policy decisions, observation, saving) for a block of 64 runs,
   and the default sweep end to end with the local executor, -j 1 and -j 2;
3. exp / log / pow: gsim.model.vmath in a vectorised loop against the C library, ns per call;
4. candidate_pairs at R = 310 and 3,100 with nearest = 32: the dense implementation it
   replaced against the KD-tree one, time and peak memory (tracemalloc);
5. with --asm: vector instructions in the lane kernel's machine code (compiled afresh in a
   temporary cache, which takes minutes).
Timings are medians of interleaved repeats (A, B, A, B, ...), so machine noise hits all alike.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numba
import numpy as np
from numba import njit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_model import synthetic  # noqa: E402
from test_pairs import dense_candidate_pairs  # noqa: E402

from gsim.api import resolve_policy  # noqa: E402
from gsim.integrate import TimeGrid, batch_from_scenario, run_batch  # noqa: E402
from gsim.model import kernel, vmath  # noqa: E402
from gsim.model.calibrate import calibrate  # noqa: E402
from gsim.model.pairs import candidate_pairs  # noqa: E402
from gsim.policies import zero_decision  # noqa: E402
from gsim.scenario import load_scenario  # noqa: E402
from gsim.sweeps.engine import LocalExecutor, sweep  # noqa: E402

STEPS = 216


MINIMA: dict[int, float] = {}  # id(fn) -> fastest repeat, reported next to the median


def interleaved(fns, repeat: int) -> list[float]:
    """Median seconds of each fn, calls alternating so that machine noise hits all alike."""
    for fn in fns:
        fn()  # warm-up (and compilation)
    times = [[] for _ in fns]
    for _ in range(repeat):
        for fn, ts in zip(fns, times):
            t = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t)
    MINIMA.update({id(fn): min(ts) for fn, ts in zip(fns, times)})
    return [statistics.median(ts) for ts in times]


def kernel_runs(sc, B: int, how: str):
    """A function advancing B market runs by STEPS Euler steps in groups of `how` lanes."""
    inp = batch_from_scenario(sc, B)
    cal = calibrate(inp)
    decision = zero_decision(B, inp.pairs, len(sc.tiers))
    decision[0][:] = 1.0
    inputs = kernel.Inputs.of(inp, cal)
    groups = (B, 1) if how == "one lane" else (-(-B // int(how)), int(how))
    step = kernel.Kernels(groups=groups).advance

    def run():
        y, fs, fi = cal.y0.copy(), np.full(B, -1), np.full(B, -1)
        step(y, inputs, decision, 0, STEPS, 0.125, False, fs, fi)
        assert (fs < 0).all()
    return run


@njit
def _libm_exp(x):
    return math.exp(x)


@njit
def _libm_log(x):
    return math.log(x)


@njit
def _libm_pow(x, y):
    return x ** y


def _loop(f, two: bool):
    """A compiled loop applying f to an array (each its own function, so each vectorises)."""
    if two:
        def apply(x, out):
            for i in range(x.size):
                out[i] = f(x[i], 1.7)
    else:
        def apply(x, out):
            for i in range(x.size):
                out[i] = f(x[i])
    return njit(error_model="numpy", nogil=True)(apply)


def transcendentals(repeat: int) -> list[tuple[str, str]]:
    x = np.random.default_rng(0).uniform(0.01, 30.0, 4096)  # stays in L1
    out = np.empty_like(x)
    reps = 200
    loops = [_loop(f, two) for f, two in ((vmath.exp, False), (_libm_exp, False), (vmath.log, False),
                                          (_libm_log, False), (vmath.pow, True), (_libm_pow, True))]
    fns = [lambda g=g: [g(x, out) for _ in range(reps)] for g in loops]
    t = [v / reps / x.size * 1e9 for v in interleaved(fns, repeat)]
    return [(f"{name}: gsim.model.vmath / C library, ns per call", f"{t[i]:.2f} / {t[i + 1]:.2f}")
            for i, name in zip((0, 2, 4), ("exp", "log", "pow"))]


def pairs_cost(sc, R: int, repeat: int):
    reg = synthetic(sc, R, nearest=32).regions
    lat, lon = np.asarray(reg.lat), np.asarray(reg.lon)
    new, old = candidate_pairs(lat, lon, 32), dense_candidate_pairs(lat, lon, 32)
    assert np.array_equal(new.recv, old[0]) and np.array_equal(new.dist, old[1])
    t_old, t_new = interleaved([lambda: dense_candidate_pairs(lat, lon, 32), lambda: candidate_pairs(lat, lon, 32)],
                               repeat)
    peaks = []
    for fn in (dense_candidate_pairs, candidate_pairs):
        tracemalloc.start()
        fn(lat, lon, 32)
        peaks.append(tracemalloc.get_traced_memory()[1] / 2**20)
        tracemalloc.stop()
    return t_old, t_new, peaks


def vector_instructions() -> str:
    """Compile the lane kernel afresh (cached code cannot be inspected) and count vector ops."""
    code = """
import re, numpy as np
from gsim.model import kernel
from gsim.model.calibrate import calibrate
from gsim.integrate import batch_from_scenario
from gsim.policies import zero_decision
from gsim.scenario import load_scenario
sc = load_scenario(); B = 16
inp = batch_from_scenario(sc, B); cal = calibrate(inp)
y, fs, fi = cal.y0.copy(), np.full(B, -1), np.full(B, -1)
kernel.Kernels().advance(y, kernel.Inputs.of(inp, cal), zero_decision(B, inp.pairs, 4), 0, 1, 0.125, False, fs, fi)
adv = kernel._WIDE[0]
asm = adv.inspect_asm(adv.signatures[0])
ir = adv.inspect_llvm(adv.signatures[0])
ops = {k: len(re.findall(k, asm)) for k in ("vdivpd", "vdivsd", "vmulpd", "vmulsd", "vfmadd")}
regs = {k: len(re.findall(k, asm)) for k in ("%zmm", "%ymm")}
print(ops, regs, "fma in IR:", len(re.findall(r"@llvm\\.fma|fmuladd", ir)))
"""
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer repeats, no R = 3,100")
    ap.add_argument("--asm", action="store_true", help="count vector instructions (compiles afresh)")
    args = ap.parse_args()
    repeat = 3 if args.quick else 7
    numba.set_num_threads(1)
    sc = load_scenario()
    rows = []

    # 1. kernel alone
    B = 64
    hows = ["one lane", "8", "16", "32", "64"]
    fns = [kernel_runs(sc, B, h) for h in hows]
    t = dict(zip(hows, interleaved(fns, repeat)))
    for h, fn in zip(hows, fns):
        label = "one lane per group" if h == "one lane" else f"groups of {h} lanes"
        rows.append((f"kernel alone, market, all pairs, {label}",
                     f"{t[h] / (STEPS * B) * 1e6:.2f} us/evaluation, {t[h] / B * 1e3:.2f} ms/run "
                     f"(fastest repeat {MINIMA[id(fn)] / (STEPS * B) * 1e6:.2f} us)"))
    best = min(hows[1:], key=lambda h: t[h])
    rows.append(("speed-up of the best lane group over one lane per group", f"{t['one lane'] / t[best]:.2f}x"))
    fns = [kernel_runs(sc, 1, "one lane"), kernel_runs(sc, 1, "8")]
    t1 = interleaved(fns, repeat)
    rows.append(("one run: one lane / one lane padded to 8, ms per run",
                 " / ".join(f"{v * 1e3:.2f}" for v in t1)
                 + " (fastest " + " / ".join(f"{MINIMA[id(f)] * 1e3:.2f}" for f in fns) + ")"))

    # 2. end to end through run_batch, one thread, and the default sweep (sampling, 4 policies,
    # indicators, store writes) on one and two threads
    grid = TimeGrid.of(sc.run)
    inp = batch_from_scenario(sc, B)
    def batch(policy):
        pol, params = resolve_policy(sc, policy)
        return lambda: run_batch(inp, grid, pol, params, tiers=sc.tiers, regions=sc.regions.name, parallel=False)
    batches = [batch("market"), batch("gradient")]
    n = 4 * (32 if args.quick else 64)
    with tempfile.TemporaryDirectory() as tmp:
        def one_sweep(j):
            path = Path(tmp) / "s.zarr"
            sweep(path, sc, {"samples": n // 4}, executor=LocalExecutor(j))
            shutil.rmtree(path)
        fns = [*batches, lambda: one_sweep(1), lambda: one_sweep(2)]
        t = interleaved(fns, max(3, repeat // 2))
    for policy, v, fn in zip(("market", "gradient"), t, fns):
        rows.append((f"run_batch, {B} runs, {policy}, one thread",
                     f"{v / B * 1e3:.2f} ms/run (fastest {MINIMA[id(fn)] / B * 1e3:.2f})"))
    for j, v, fn in zip((1, 2), t[2:], fns[2:]):
        rows.append((f"default sweep, {n} runs, -j {j}", f"{n / v:.0f} runs/s (fastest {n / MINIMA[id(fn)]:.0f})"))
    rows.append(("1 -> 2 core efficiency of the sweep", f"{t[2] / (2 * t[3]):.2f}"))

    # 3. transcendentals
    rows += transcendentals(repeat)

    # 4. candidate pairs
    for R in (310,) if args.quick else (310, 3100):
        t_old, t_new, (m_old, m_new) = pairs_cost(sc, R, repeat)
        rows.append((f"candidate_pairs R = {R}, nearest 32: dense sort / KD-tree",
                     f"{t_old * 1e3:.1f} / {t_new * 1e3:.1f} ms, peak {m_old:.1f} / {m_new:.1f} MiB"))

    if args.asm:
        rows.append(("lane kernel machine code (advance)", vector_instructions()))

    print(f"| measurement ({os.cpu_count()} cores, numba {numba.__version__}) | result |")
    print("|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()
