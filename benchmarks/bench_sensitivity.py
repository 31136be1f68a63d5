"""Given-data sensitivity methods side by side, and `sensitivity` on stores of growing size.

1. ``--methods``: on the same given data (n samples of a Latin hypercube of d inputs: the
   Ishigami function of the first three, the others without effect), interleaved in one
   process: delta (``SALib.analyze.delta``, Plischke et al. 2013, with its bootstrap intervals
   and first-order estimate S1) against PAWN (``SALib.analyze.pawn``) with gsim's bootstrap
   of it (inputs + 1 dummy, ``--resamples`` times), as `gsim.analysis.sensitivity` runs it.
   Prints median seconds per analysis (one output, one year) and delta's S1 against the
   analytic first-order indices of the Ishigami function.
2. ``--stores N1,N2``: stores of N samples x 4 policies x 28 years with the default
   scenario's uncertainties and synthetic outputs (tests/synthetic.py: no model runs), then
   `sensitivity(store, "real_gdp", contrast="gradient-market", years=[2050])` in a fresh
   process each: wall time and peak RSS (ru_maxrss).

Usage:  python benchmarks/bench_sensitivity.py --methods [--n 1000] [--d 12] [--repeats 3]
        python benchmarks/bench_sensitivity.py --stores 1000,10000
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from SALib.analyze import delta, pawn
from scipy.stats import qmc


def ishigami(x: np.ndarray, a: float = 7.0, b: float = 0.1) -> np.ndarray:
    return np.sin(x[:, 0]) + a * np.sin(x[:, 1]) ** 2 + b * x[:, 2] ** 4 * np.sin(x[:, 0])


def analytic_s1(a: float = 7.0, b: float = 0.1) -> np.ndarray:
    v1, v2, v13 = (1 + b * np.pi**4 / 5) ** 2 / 2, a**2 / 8, b**2 * np.pi**8 * (1 / 18 - 1 / 50)
    return np.array([v1, v2, 0.0]) / (v1 + v2 + v13)


def methods(args) -> None:
    rng = np.random.default_rng(1)
    X = qmc.LatinHypercube(args.d, rng=rng).random(args.n) * 2 * np.pi - np.pi
    Y = ishigami(X)
    names = [f"x{i}" for i in range(args.d)]
    problem = {"num_vars": args.d, "names": names, "bounds": [[-np.pi, np.pi]] * args.d}
    boot = rng.integers(args.n, size=(args.resamples, args.n))
    Xd = np.column_stack([X, rng.random(args.n)])
    prob_d = {"num_vars": args.d + 1, "names": names + ["dummy"]}

    def run_delta():
        with warnings.catch_warnings():  # SALib's delta warns and changes warning filters
            warnings.simplefilter("ignore")
            return delta.analyze(problem, X, Y, num_resamples=100, seed=3)

    def run_pawn():
        est = pawn.analyze(prob_d, Xd, Y, S=10)["median"]
        bs = np.array([pawn.analyze(prob_d, Xd[b], Y[b], S=10)["median"] for b in boot])
        return est, bs.std(axis=0, ddof=1)

    times: dict[str, list[float]] = {"delta": [], "pawn": []}
    for _ in range(args.repeats):
        for name, fn in (("delta", run_delta), ("pawn", run_pawn)):
            t = time.perf_counter()
            out = fn()
            times[name].append(time.perf_counter() - t)
            if name == "delta":
                s1, s1_conf = out["S1"][:3], out["S1_conf"][:3]
    print(f"n = {args.n}, d = {args.d}, pawn resamples = {args.resamples}; median seconds over {args.repeats}:")
    for name, ts in times.items():
        print(f"  {name:<6} {statistics.median(ts):7.2f}  (min {min(ts):.2f}, max {max(ts):.2f})")
    print(f"  delta / pawn: {statistics.median(times['delta']) / statistics.median(times['pawn']):.1f}x")
    print("delta's S1 of x1..x3 vs analytic:")
    for i, (e, c, t) in enumerate(zip(s1, s1_conf, analytic_s1())):
        print(f"  x{i + 1}: {e:.3f} ± {c:.3f}  (analytic {t:.3f})")


_MAKE = """
import sys
sys.path.insert(0, {tests!r})
import numpy as np
from synthetic import SC, synthetic_store

def outputs(v, pol, times):
    g = (v["kappa"] - 2.5)[:, None] * (times - times[0])[None, :] / 27 * (pol == "gradient")
    return {{"real_gdp": 1000 + v["lambda_T"][:, None] * 100 + g + v["region.gdp"].mean(axis=1)[:, None]}}

synthetic_store({path!r}, SC.sweep["uncertain"], outputs, sampler="lhs", samples={n},
                policies=["none", "market", "subsidy_race", "gradient"], t1=2050)
"""
_RUN = """
import resource, time
t = time.perf_counter()
from gsim.analysis.sensitivity import sensitivity
r = sensitivity({path!r}, "real_gdp", contrast="gradient-market", years=[2050])
print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, int(r.n_samples))
"""


def stores(sizes: list[int]) -> None:
    tests = str(Path(__file__).resolve().parents[1] / "tests")
    print("samples  runs     wall s  peak RSS MiB")
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            path = str(Path(tmp) / f"s{n}.zarr")
            subprocess.run([sys.executable, "-c", _MAKE.format(tests=tests, path=path, n=n)], check=True)
            out = subprocess.run([sys.executable, "-c", _RUN.format(path=path)], check=True,
                                 capture_output=True, text=True).stdout.split()
            wall, rss = float(out[0]), int(out[1]) / 1024
            print(f"{n:>7}  {4 * n:>6}  {wall:9.1f}  {rss:12.0f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--methods", action="store_true", help="delta against PAWN on the same data")
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--d", type=int, default=12)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--resamples", type=int, default=30)
    ap.add_argument("--stores", default="", metavar="N1,N2", help="sensitivity on stores of these sizes")
    args = ap.parse_args()
    if args.methods:
        methods(args)
    if args.stores:
        stores([int(x) for x in args.stores.split(",")])


if __name__ == "__main__":
    main()
