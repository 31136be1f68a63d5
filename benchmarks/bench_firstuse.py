"""First use: how long a fresh installation compiles before its first results.

Run:  .venv/bin/python benchmarks/bench_firstuse.py [--samples 8] [--src OTHER/src] [--detail]

Each measurement is a child process with NUMBA_CACHE_DIR set to a new empty directory, so
nothing compiled earlier is reused: `gsim run --policy market` (the first table), then, on
the same cache, a first small `gsim sweep` (the wide batch kernels), then both again warm.
`--compile` measures `gsim compile` instead (both lane widths at once, as `make install`
runs it) and the first run after it. `--src` runs another checkout's package (PYTHONPATH),
e.g. a worktree of an earlier commit, for a before/after comparison. `--detail` also prints, per compiled entry point and
signature, the seconds numba spent compiling it (its `timers` metadata) during a first
`simulate` and a first batch. `--alternate N --src OTHER/src` measures only a first `simulate`
(after the import) and a first batch of 8, N times each, alternating between the two checkouts.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLI = "import sys; from gsim.cli import main; sys.exit(main())"

DETAIL = r"""
import time, numba
from numba.core.registry import CPUDispatcher
t = time.perf_counter()
import gsim
from gsim.integrate import TimeGrid, batch_from_scenario, run_batch
from gsim.api import resolve_policy
print(f"import: {time.perf_counter() - t:.1f} s")
sc = gsim.load_scenario()
t = time.perf_counter(); gsim.simulate(sc, policy="market"); print(f"first simulate: {time.perf_counter() - t:.1f} s")
pol, params = resolve_policy(sc, "market")
grid = TimeGrid.of(sc.run, 2024)
t = time.perf_counter()
run_batch(batch_from_scenario(sc, 8), grid, pol, params, tiers=sc.tiers, regions=sc.regions.name)
print(f"first batch of 8: {time.perf_counter() - t:.1f} s")
import gc
rows = []
for obj in gc.get_objects():
    if isinstance(obj, CPUDispatcher):
        for sig, cres in obj.overloads.items():
            timers = (cres.metadata or {}).get("timers", {})
            total = sum(timers.values())
            rows.append((total, obj.py_func.__module__ + "." + obj.py_func.__qualname__, len(sig)))
for total, name, nargs in sorted(rows, reverse=True):
    if total > 0.05:
        print(f"  {total:7.1f} s  {name} ({nargs} args)")
print(f"  {sum(r[0] for r in rows):7.1f} s  all ({len(rows)} compiled signatures)")
"""


FIRST = r"""
import resource
import gsim
from gsim.api import resolve_policy
from gsim.integrate import TimeGrid, batch_from_scenario, run_batch
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
sc = gsim.load_scenario()
c0 = cpu()
gsim.simulate(sc, policy="market")
c1 = cpu()
pol, params = resolve_policy(sc, "market")
run_batch(batch_from_scenario(sc, 8), TimeGrid.of(sc.run, 2024), pol, params, tiers=sc.tiers, regions=sc.regions.name)
print(c1 - c0, cpu() - c1)
"""


def alternate(src: str, repeat: int) -> None:
    """CPU seconds of a first `simulate` (after the import), then of a first batch of 8 (wide
    lanes), in child processes with empty caches, alternating between `src` and this checkout."""
    rows: dict[str, list[tuple[float, float]]] = {src: [], str(ROOT / "src"): []}
    for _ in range(repeat):
        for path, got in rows.items():
            with tempfile.TemporaryDirectory() as tmp:
                env = dict(os.environ, NUMBA_CACHE_DIR=tmp, PYTHONPATH=str(Path(path).resolve()))
                out = subprocess.run([sys.executable, "-c", FIRST], env=env, capture_output=True, text=True,
                                     check=True).stdout.split()
                got.append((float(out[0]), float(out[1])))
                print(f"{path}: simulate {got[-1][0]:.1f} s CPU, batch of 8 {got[-1][1]:.1f} s CPU, "
                      f"load {os.getloadavg()[0]:.1f}", flush=True)
    for path, got in rows.items():
        print(f"| {path} | {', '.join(f'{a:.1f}' for a, _ in got)} s | {', '.join(f'{b:.1f}' for _, b in got)} s |")


def timed(cmd: list[str], env: dict[str, str], cwd: str) -> tuple[tuple[float, float], str]:
    """(wall, CPU) seconds of a child process, and its output. On a shared machine the CPU
    time (user + system) is the better measure: compilation runs on one core, so on a quiet
    machine its wall time is about its CPU time."""
    t, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    wall, after = time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return (wall, cpu), proc.stdout + proc.stderr


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=8, help="samples of the first sweep")
    ap.add_argument("--src", default=None, help="another checkout's src/ to measure")
    ap.add_argument("--detail", action="store_true", help="per-entry-point compile times")
    ap.add_argument("--compile", action="store_true",
                    help="instead: `gsim compile` from an empty cache (as `make install` runs it), "
                         "then the first `gsim run --policy market`")
    ap.add_argument("--alternate", type=int, default=0, metavar="N",
                    help="instead: N alternating pairs (--src, then this checkout) of a first simulate "
                         "and a first batch of 8, CPU seconds of each child")
    args = ap.parse_args()
    if args.alternate:
        if not args.src:
            sys.exit("--alternate needs --src (the other checkout)")
        alternate(args.src, args.alternate)
        return
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, NUMBA_CACHE_DIR=str(Path(tmp) / "cache"), COLUMNS="100")
        if args.src:
            env["PYTHONPATH"] = str(Path(args.src).resolve())
        py = [sys.executable, "-c", CLI]
        run = py + ["run", "--policy", "market"]
        if args.compile:
            (wall, cpu), out = timed(py + ["compile"], env, tmp)
            print(out)
            print(f"`gsim compile`, empty cache: {cpu:.1f} s CPU (both processes), {wall:.1f} s wall")
            (wall, cpu), _ = timed(run, env, tmp)
            print(f"then `gsim run --policy market`: {cpu:.1f} s CPU, {wall:.1f} s wall")
            return
        sweep = py + ["sweep", "--samples", str(args.samples)]
        rows = []
        secs, out = timed(run, env, tmp)
        rows.append(("`gsim run --policy market`, empty cache", secs))
        print(out)
        secs, out = timed(sweep + ["--out", "first.zarr"], env, tmp)
        rows.append((f"then `gsim sweep --samples {args.samples}` (4 policies), first", secs))
        print(out[-600:])
        rows.append(("`gsim run --policy market`, warm cache", timed(run, env, tmp)[0]))
        rows.append((f"`gsim sweep --samples {args.samples}`, warm cache",
                     timed(sweep + ["--out", "warm.zarr"], env, tmp)[0]))
        print(f"| measurement ({os.cpu_count()} cores; src {args.src or ROOT / 'src'}) | CPU | wall |")
        print("|---|---|---|")
        for name, (wall, cpu) in rows:
            print(f"| {name} | {cpu:.1f} s | {wall:.1f} s |")
        if args.detail:
            env["NUMBA_CACHE_DIR"] = str(Path(tmp) / "cache-detail")
            print(timed([sys.executable, "-c", DETAIL], env, tmp)[1])


if __name__ == "__main__":
    main()
