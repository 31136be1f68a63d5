"""What the sending/receiving aggregates cost a sweep block (a script, not a test).

    .venv/bin/python benchmarks/bench_groups.py [--runs 64] [--repeat 7]

One block of the default scenario (gradient policy, Euler, 2023-2050): `run_batch` saving the
indicator outputs only, against saving also the per-region inputs of the aggregates and
computing them (what `gsim.sweeps.blocks.compute_block` does). The two are interleaved in one
process; medians are reported.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()

    from gsim import groups
    from gsim.api import resolve_policy
    from gsim.integrate import TimeGrid, batch_from_scenario, run_batch
    from gsim.scenario import load_scenario
    from gsim.sweeps.engine import save_names

    sc = load_scenario()
    grid = TimeGrid.of(sc.run)
    pol, params = resolve_policy(sc, "gradient")
    sending = groups.sending_mask(sc)
    plain = set(save_names("indicators")) - set(groups.NAMES)

    def block(with_groups: bool) -> float:
        inp = batch_from_scenario(sc, args.runs)
        t = time.perf_counter()
        res = run_batch(inp, grid, pol, params, tiers=sc.tiers, regions=sc.regions.name,
                        save=plain | set(groups.INPUTS) if with_groups else plain, parallel=False)
        if with_groups:
            groups.group_aggregates(res.values, sending)
        return time.perf_counter() - t

    block(True)  # warm up (compiled code from the cache)
    times: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(args.repeat):
        for g in (False, True):
            times[g].append(block(g))
    a, b = statistics.median(times[False]), statistics.median(times[True])
    print(json.dumps({"runs": args.runs, "indicators_only_s": round(a, 3), "with_groups_s": round(b, 3),
                      "ratio": round(b / a, 3)}))


if __name__ == "__main__":
    main()
