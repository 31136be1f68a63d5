"""Planted-parameter recovery at full size (a script, not a test: minutes on 2 cores).

    .venv/bin/python benchmarks/match_planted.py [--samples 2000] [--waves 3] [-j 2]

The default china31 scenario (31 regions) from 2023 to 2034 under market is run at its own
parameter values (the planted truth, inside the prior); nine targets computed from that run
(national growth 2023-2030, GDP shares of the East, the West and Guangdong, population shares
of the East and Sichuan, the Theil index and its slope, utilisation), perturbed by 0.3 %
noise, are then history-matched over the scenario's sampled inputs (the per-region GDP
factor left out; ξ planted at 1.0, inside its prior, since its default is the prior's lower
bound), with observation and discrepancy sd of 0.5 % each (5 % for the Theil slope);
two 2034 targets are held out. Prints the per-wave table, whether the truth stayed in every
wave's box and its implausibility.
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=2000)
    ap.add_argument("--waves", type=int, default=3)
    ap.add_argument("-j", "--workers", type=int, default=2)
    args = ap.parse_args()

    from scipy.optimize import brentq

    import gsim
    from gsim.cli.match import wave_table
    from gsim.matching.implausibility import implausibility, measure, target_values
    from gsim.matching.targets import Target
    from gsim.matching.waves import evaluate_block
    from gsim.scenario import loads_scenario

    base = gsim.load_scenario().with_overrides(t1=2034.0, catchup_schooling=1.0)
    unc = {k: v for k, v in base.sweep["uncertain"].items() if not v.get("per_region")}
    ds = gsim.simulate(base, "market")
    regions = list(base.regions.name)
    east = tuple(r for r, m in zip(regions, base.regions.macro_region) if m == "East")
    west = tuple(r for r, m in zip(regions, base.regions.macro_region) if m == "West")
    specs = [("growth", (), (2023, 2030)), ("gdp_share", east, (2030,)), ("gdp_share", west, (2030,)),
             ("gdp_share", ("Guangdong",), (2030,)), ("population_share", east, (2030,)),
             ("population_share", ("Sichuan",), (2030,)), ("theil", (), (2030,)),
             ("theil_slope", (), (2023, 2030)), ("utilisation", (), (2030,)),
             ("gdp_share", east, (2034,)), ("population_share", east, (2034,))]
    probe = [Target(f"t{i}", k, 0.0, 1.0, 1.0, "-", "-", r, tuple(map(float, y))) for i, (k, r, y) in enumerate(specs)]
    saved = {k: ds[k].values[None] for k in ("real_gdp", "theil", "gdp", "labor_force", "utilization")}
    planted = target_values(probe, ds.time.values, saved, regions, base.tiers)[0]
    rng = np.random.default_rng(5)
    rows = []
    for i, ((kind, where, years), v) in enumerate(zip(specs, planted)):
        row: dict = {"kind": kind, "value": float(v * (1 + 0.003 * rng.normal())),
                     "obs_reason": "planted: 0.3 % noise", "disc_reason": "planted: the model made the data"}
        if kind == "theil_slope":
            row.update(obs_sd=abs(v) * 0.05, disc_sd=abs(v) * 0.05)
        else:
            row.update(obs_rel_sd=0.005, disc_rel_sd=0.005)
        if where:
            row["region"] = list(where)
        if len(years) == 1:
            row["year"] = years[0]
        else:
            row["years"] = list(years)
        row["holdout"] = i >= 9
        rows.append(row)
    sc = dataclasses.replace(base, sweep={**base.sweep, "uncertain": unc},
                             match={"waves": args.waves, "samples": args.samples, "targets": rows})
    sc = loads_scenario(sc.toml, source="planted-china31")
    t = time.perf_counter()
    res = gsim.match(sc, workers=args.workers)
    print("\n".join(wave_table(res)))
    pb, m = res.problem, res.problem.match
    truth = np.array([brentq(lambda q, u=u: float(u.ppf(q)) - base.params[u.target], 1e-12, 1 - 1e-12)
                      for u in pb.sweep.design])
    inside = all(np.all((w.low <= truth) & (truth <= w.high)) for w in res.waves)
    ev = evaluate_block(pb, truth[None], np.array([10**9]))
    used = np.array([not tg.holdout for tg in m.targets])
    imp = implausibility(np.array([tg.value for tg in m.targets]), ev.model,
                         np.array([tg.obs_var for tg in m.targets]), np.array([tg.disc_var for tg in m.targets]))
    print(f"truth inside every wave's box: {inside}; its {m.use} implausibility: "
          f"{measure(imp[:, used], m.use)[0]:.2f} (cutoff {m.cutoff:g})")
    print("last box width per input: " + ", ".join(f"{n} {w:.2f}" for n, w in zip(pb.inputs, res.last.high - res.last.low)))
    print(f"{time.perf_counter() - t:.0f} s")


if __name__ == "__main__":
    main()
