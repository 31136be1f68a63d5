"""The compiled kernel: lane layouts, the compiled run loop, the roofline of one evaluation,
side by side in one process.

Run:  .venv/bin/python benchmarks/bench_kernel.py [--quick] [--asm]

1. kernel alone, default scenario (31 regions, all 930 pairs), market (W = 1), Euler, 216 steps
   from t0, one thread: one lane per group (what a single run uses), and groups of 8 to 64
   lanes; microseconds per right-hand-side evaluation per run and milliseconds per 216-step
   run;
2. run_batch (decisions, observation, saving) for 64 runs and for one run, market and
   gradient, with the built-in policy in the compiled run loop and through the Python loop;
   gsim.simulate against the NumPy twin (whole sweeps: benchmarks/bench_sweep.py);
3. exp / log / pow: gsim.model.vmath in a vectorised loop against the C library, ns per call;
   the roofline of one evaluation: its sections' measured costs against their limits;
4. candidate_pairs at R = 310 and 3,100 with nearest = 32: the dense implementation it
   replaced against the KD-tree one, time and peak memory (tracemalloc);
5. with --asm: vector instructions in the lane kernel's machine code (compiled afresh in a
   temporary cache, which takes minutes).
Timings are medians of interleaved repeats (A, B, A, B, ...), so machine noise hits all alike.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import subprocess
import sys
import tempfile
import tracemalloc
from pathlib import Path

import numba
import numpy as np
from numba import njit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import twin  # noqa: E402
from bench_model import synthetic  # noqa: E402
from test_pairs import dense_candidate_pairs  # noqa: E402
from timing import FASTEST, interleaved, print_table  # noqa: E402

from gsim.api import resolve_policy, simulate  # noqa: E402
from gsim.integrate import TimeGrid, batch_from_scenario, run_batch  # noqa: E402
from gsim.model import kernel, vmath  # noqa: E402
from gsim.model.calibrate import calibrate  # noqa: E402
from gsim.model.pairs import candidate_pairs  # noqa: E402
from gsim.policies import zero_decision  # noqa: E402
from gsim.scenario import load_scenario  # noqa: E402

STEPS = 216


def kernel_runs(sc, B: int, how: str, market: bool = True):
    """A function advancing B market runs (or runs allowing no transfer) by STEPS Euler
    steps in groups of `how` lanes."""
    inp = batch_from_scenario(sc, B)
    cal = calibrate(inp)
    decision = zero_decision(B, inp.pairs, len(sc.tiers))
    decision[0][:] = 1.0 if market else 0.0
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
    rows = [(f"{name}: gsim.model.vmath / C library, ns per call", f"{t[i]:.2f} / {t[i + 1]:.2f}")
            for i, name in zip((0, 2, 4), ("exp", "log", "pow"))]
    return rows, {"exp": t[0], "log": t[2], "pow": t[4]}


def _pull(FA, FB, ZD, PS, recv, dist, cd, G0, W, hbuf, hsum):
    """The pair pull of one evaluation (spec §6.14), as the kernel's loop computes it."""
    R, k = recv.shape
    S, L = FA.shape[1], FA.shape[2]
    for r in range(R):
        hsum[...] = 0.0
        for j in range(k):
            q, d = recv[r, j], dist[r, j]
            for s in range(S):
                for l in range(L):
                    G = FA[r, s, l] * FB[q, s, l] + ZD[q, s, l] - PS[r, s, l] - cd[l] * d
                    Gp = G if G > 0.0 else 0.0
                    h = Gp / (G0[l] + Gp) * W[r, j, s, l]
                    hbuf[r, j, s, l] = h
                    hsum[s, l] += h


def _scatter(coef, hbuf, AC, recv, tin, tina):
    """The scatter of transfers to receivers of one evaluation, as the kernel's loop."""
    R, k = recv.shape
    S, L = coef.shape[1], coef.shape[2]
    for r in range(R):
        for j in range(k):
            q = recv[r, j]
            for s in range(S):
                for l in range(L):
                    T = coef[r, s, l] * hbuf[r, j, s, l]
                    tin[q, s, l] += T
                    tina[q, s, l] += T * AC[r, s, l]


def roofline(sc, repeat: int, ns_per_call: dict[str, float]) -> list[tuple[str, str]]:
    """Per-evaluation cost (32 lanes, one thread, per run) of the kernel's sections: the whole
    evaluation with all pairs (market) and with none (no relocation block), the pair pull and
    the scatter as stand-alone compiled loops of the same shapes, and the transcendental
    calls (their count times their cost in a vectorised loop); against each section's limit."""
    B, L = 64, 32
    market, none = kernel_runs(sc, B, str(L)), kernel_runs(sc, B, str(L), market=False)
    pr = sc.pairs
    R, k, S = pr.recv.shape + (len(sc.tiers),)
    rng = np.random.default_rng(0)
    a = lambda *shape: rng.uniform(0.5, 1.5, shape)  # noqa: E731
    pull, scatter = (njit(**kernel.LANE_JIT)(f) for f in (_pull, _scatter))
    args_pull = (a(R, S, L), a(R, S, L), a(R, S, L) - 1.0, a(R, S, L) - 1.0, pr.recv, pr.dist, a(L) * 0.01, a(L),
                 np.ones((R, k, S, L)), np.empty((R, k, S, L)), np.empty((S, L)))
    args_scatter = (a(R, S, L), a(R, k, S, L), a(R, S, L), pr.recv, np.zeros((R, S, L)), np.zeros((R, S, L)))
    reps = 50
    fns = [market, none, lambda: [pull(*args_pull) for _ in range(reps)],
           lambda: [scatter(*args_scatter) for _ in range(reps)]]
    t = interleaved(fns, repeat)
    per_eval = [t[0] / (STEPS * B), t[1] / (STEPS * B), t[2] / reps / L, t[3] / reps / L]
    calls = {"exp": S + R + R * S, "pow": 2 * R * S + 2 * S, "log": R}  # per evaluation and run
    trans = sum(n * ns_per_call[f] for f, n in calls.items()) * 1e-9
    ghz = 2.45  # the nominal clock of this machine's cores
    pairs = int(pr.nrecv.sum()) * S  # pair-tier elements per evaluation and run
    us = lambda v: f"{v * 1e6:.2f} us"  # noqa: E731
    return [
        ("roofline: whole evaluation, all pairs / no relocation (per run)", f"{us(per_eval[0])} / {us(per_eval[1])}"),
        (f"roofline: pair pull, {pairs} elements, one division each; limit at 4 lanes, 5 cycles per vdivpd",
         f"{us(per_eval[2])}; limit {us(pairs / 4 * 5 / ghz * 1e-9)}"),
        ("roofline: scatter, 2 read-modify-writes per element; limit at one 256-bit store per cycle",
         f"{us(per_eval[3])}; limit {us(pairs / 4 * 2 / ghz * 1e-9)}"),
        (f"roofline: transcendentals ({', '.join(f'{n} {f}' for f, n in calls.items())}) at their vectorised cost",
         us(trans)),
        ("roofline: the rest (whole - pull - scatter - transcendentals)",
         us(per_eval[0] - per_eval[2] - per_eval[3] - trans)),
    ]


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
                     f"(fastest repeat {FASTEST[id(fn)] / (STEPS * B) * 1e6:.2f} us)"))
    best = min(hows[1:], key=lambda h: t[h])
    rows.append(("speed-up of the best lane group over one lane per group", f"{t['one lane'] / t[best]:.2f}x"))
    fns = [kernel_runs(sc, 1, "one lane"), kernel_runs(sc, 1, "8")]
    t1 = interleaved(fns, repeat)
    rows.append(("one run: one lane / one lane padded to 8, ms per run",
                 " / ".join(f"{v * 1e3:.2f}" for v in t1)
                 + " (fastest " + " / ".join(f"{FASTEST[id(f)] * 1e3:.2f}" for f in fns) + ")"))

    # 2. end to end through run_batch, one thread: the built-in policy in the compiled run loop
    # against the same policy through the Python loop; one run through gsim.simulate against
    # the NumPy twin (whole sweeps: benchmarks/bench_sweep.py)
    grid = TimeGrid.of(sc.run)

    def batch(policy, runs, compiled=True):
        inp = batch_from_scenario(sc, runs)
        pol, params = resolve_policy(sc, policy)
        pol = pol if compiled else dataclasses.replace(pol, compiled=None)
        return lambda: run_batch(inp, grid, pol, params, tiers=sc.tiers, regions=sc.regions.name, parallel=False)

    for policy, runs in (("market", B), ("gradient", B), ("market", 1), ("gradient", 1)):
        fns = [batch(policy, runs), batch(policy, runs, compiled=False)]
        t = interleaved(fns, repeat)
        rows.append((f"run_batch, {runs} run(s), {policy}, one thread: compiled run loop / Python loop",
                     f"{t[0] / runs * 1e3:.2f} / {t[1] / runs * 1e3:.2f} ms/run ({t[1] / t[0]:.2f}x)"))
    fns = [lambda: simulate(sc, "market"), lambda: twin.simulate_twin(sc, "market", "euler")]
    t = interleaved(fns, 3)
    rows.append(("gsim.simulate, market, warm / NumPy twin (tests/twin.py), ms",
                 f"{t[0] * 1e3:.2f} / {t[1] * 1e3:.0f} ({t[1] / t[0]:.0f}x)"))

    # 3. transcendentals, and the roofline of one evaluation
    trans_rows, ns_per_call = transcendentals(repeat)
    rows += trans_rows + roofline(sc, repeat, ns_per_call)

    # 4. candidate pairs
    for R in (310,) if args.quick else (310, 3100):
        t_old, t_new, (m_old, m_new) = pairs_cost(sc, R, repeat)
        rows.append((f"candidate_pairs R = {R}, nearest 32: dense sort / KD-tree",
                     f"{t_old * 1e3:.1f} / {t_new * 1e3:.1f} ms, peak {m_old:.1f} / {m_new:.1f} MiB"))

    if args.asm:
        rows.append(("lane kernel machine code (advance)", vector_instructions()))

    print_table(rows)


if __name__ == "__main__":
    main()
