"""What carrying the NROY points' state to the forward start does (a script, not a test).

    .venv/bin/python benchmarks/match_carry.py out/match.zarr

For the NROY points of a match store of the default backcast (`gsim match --out ...`), under
business as usual (market), 2023-2050: the frontier gap and investment share each point is
matched with (2013) and carries (its backcast's 2023 values), the share of 2050/2023 national
real GDP inside the SSP envelope without the carry, with each carry alone and with both, the
same with each tier's own gap instead of their geometric mean (the forward calibration's
frontier patched per tier), the NROY points' backcast growth per growth target, how the 2050
ratio goes with the held-out 2019-2023 growth of each point's backcast, and whether the wage
floor binds. The numbers of docs/validation.md, "Forward plausibility".
"""

from __future__ import annotations

import dataclasses
import sys

import numpy as np
from scipy import stats

import gsim
from gsim.analysis.plausibility import ssp_envelope
from gsim.api import resolve_policy
from gsim.integrate import TimeGrid, batch_from_scenario, run_batch
from gsim.matching import nroy_carried, nroy_sample, nroy_spec, open_match
from gsim.matching.carry import point_values
from gsim.matching.store import match_scenario
from gsim.model.calibrate import calibrate
from gsim.model.layout import state_slices
from gsim.sweeps.sampling import apply_values, sampled_values
from gsim.sweeps.spec import SweepSpec


def forward_ratios(sc, spec, per_tier_gap: np.ndarray | None = None) -> np.ndarray:
    """2050/2023 real GDP of the spec's points under market (optionally one gap per tier)."""
    n = len(spec.points)
    vals = sampled_values(spec, len(sc.regions), np.arange(n), np.zeros(n, np.int64))
    inp, valid = apply_values(batch_from_scenario(sc, n), sc, spec, vals)
    cal = calibrate(inp)
    if per_tier_gap is not None:
        sl = state_slices(inp.n_regions, inp.n_tiers)
        A = cal.y0[:, sl["technology"][0]].reshape(n, inp.n_regions, inp.n_tiers)
        cal.y0[:, sl["frontier"][0]] = per_tier_gap * A.max(axis=1)
    pol, params = resolve_policy(sc, "market")
    res = run_batch(inp, TimeGrid.of(sc.run), pol, params, method=sc.run.method, tiers=sc.tiers,
                    regions=sc.regions.name, save=("real_gdp",), cal=cal)
    g = res.values["real_gdp"]
    return np.where(valid & res.ok, g[:, -1] / g[:, 0], np.nan)


def main(store: str) -> None:
    ds = open_match(store)
    forward = gsim.load_scenario()
    stored, carried = nroy_sample(ds), nroy_carried(ds, forward.run.t0)
    order = [str(x) for x in stored["input"].values]
    for name in ("frontier_gap", "sigma"):
        q = lambda x: "{:.3g} ({:.3g}-{:.3g})".format(*np.quantile(x, [0.5, 0.05, 0.95]))  # noqa: E731
        print(f"{name:13s} matched (2013) {q(stored.sel(input=name).values)}  carried (2023) "
              f"{q(carried.sel(input=name).values)}")
    env = ssp_envelope(int(forward.run.t0), int(forward.run.t1))
    lo, hi = float(env.gdp_ratio.min()), float(env.gdp_ratio.max())
    sc, spec = nroy_spec(forward, store, carry=False)

    def run(label: str, names: tuple[str, ...], per_tier: np.ndarray | None = None) -> np.ndarray:
        pts = stored.values.copy()
        for name in names:
            pts[:, order.index(name)] = carried.sel(input=name).values
        g = forward_ratios(sc, dataclasses.replace(spec, points=tuple(map(tuple, pts.tolist()))), per_tier)
        inside = np.mean((g >= lo) & (g <= hi))
        print(f"{label:32s} inside {100 * inside:5.1f} %  median {np.median(g):.2f}  "
              f"5-95 % {np.quantile(g, 0.05):.2f}-{np.quantile(g, 0.95):.2f}")
        return g

    run("no carry", ())
    run("frontier gap carried", ("frontier_gap",))
    run("sigma carried", ("sigma",))
    both = run("both carried", ("frontier_gap", "sigma"))

    # each tier's own gap: the backcast's F_s / max_r A_rs at the forward start
    msc, mspec = match_scenario(ds), SweepSpec.from_json(ds.attrs["sweep_spec"])
    idx = stored["point"].values
    inp, _ = apply_values(batch_from_scenario(msc, len(idx)), msc, mspec,
                          point_values(msc, mspec, ds["unit"].values[idx], idx))
    pol, params = resolve_policy(msc, ds.attrs["policy"])
    res = run_batch(inp, TimeGrid.of(msc.run, forward.run.t0), pol, params, method=msc.run.method, tiers=msc.tiers,
                    regions=msc.regions.name, save=("frontier", "technology"))
    gap = res.values["frontier"][:, -1] / res.values["technology"][:, -1].max(axis=1)
    dev = np.abs(np.log(gap / carried.sel(input="frontier_gap").values[:, None])).max(axis=1)
    print(f"per-tier gap vs their geometric mean: median {100 * np.median(dev):.1f} %, max {100 * dev.max():.1f} %")
    tiers = run("both carried, gap per tier", ("frontier_gap", "sigma"), gap)
    diff = np.abs(tiers / both - 1)
    print(f"2050 ratio, per tier vs one gap: median {100 * np.median(diff):.2f} %, max {100 * diff.max():.2f} %")

    # the wage floor (w_min_share x the starting wage) would be lower after a 2013 start: binds it?
    pts = stored.values.copy()
    for name in ("frontier_gap", "sigma"):
        pts[:, order.index(name)] = carried.sel(input=name).values
    free = forward_ratios(sc.with_overrides(w_min_share=0.0),
                          dataclasses.replace(spec, points=tuple(map(tuple, pts.tolist()))))
    print(f"without a wage floor the 2050 ratio moves by at most {np.max(np.abs(free / both - 1)):.1e}")

    for target in ds["target"].values[ds["kind"].values == "growth"]:
        m, z = ds["model"].sel(target=target).values[idx], float(ds["observed"].sel(target=target))
        print(f"{target:18s} observed {100 * z:.2f} %, NROY median {100 * np.median(m):.2f} % "
              f"(5-95 % {100 * np.quantile(m, 0.05):.2f}-{100 * np.quantile(m, 0.95):.2f})")
    hold = ds["model"].sel(target="growth[2019-2023]").values[idx]
    z = float(ds["observed"].sel(target="growth[2019-2023]"))
    print(f"backcast growth 2019-2023: observed {100 * z:.1f} %, NROY median {100 * np.median(hold):.1f} % "
          f"(5-95 % {100 * np.quantile(hold, 0.05):.1f}-{100 * np.quantile(hold, 0.95):.1f}), above the "
          f"observed in {100 * np.mean(hold > z):.0f} %; Spearman with the 2050 ratio "
          f"{stats.spearmanr(hold, both).statistic:.2f}")
    years = forward.run.t1 - forward.run.t0
    for target in ds["target"].values[(ds["kind"].values == "growth") & ~ds["holdout"].values]:
        m, z = ds["model"].sel(target=target).values[idx], float(ds["observed"].sel(target=target))
        sel = np.abs(m - z) <= 0.003
        print(f"  {target} within 0.3 points of the observed: {sel.sum()} points, "
              f"{100 * np.mean((both[sel] >= lo) & (both[sel] <= hi)):.0f} % inside, median 2050 ratio "
              f"{np.median(both[sel]):.2f} ({100 * (np.median(both[sel]) ** (1 / years) - 1):.1f} % a year), "
              f"median growth 2019-2023 {100 * np.median(hold[sel]):.1f} %")
    for cut in (0.055, 0.06):
        sel = hold <= cut
        inside = np.mean((both[sel] >= lo) & (both[sel] <= hi))
        print(f"  growth 2019-2023 <= {100 * cut:.1f} %: {sel.sum()} points, {100 * inside:.0f} % inside")
    for name in order:
        x = carried.sel(input=name).values
        print(f"  Spearman of {name} (carried) with the 2050 ratio: {stats.spearmanr(x, both).statistic:+.2f}")


if __name__ == "__main__":
    main(sys.argv[1])
