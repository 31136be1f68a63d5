"""History match of the default backcast with the experimental provincial investment rates
(ω_I, `province_investment`) fixed at several values: NROY share per wave, held-out coverage,
and the share of the NROY points' business-as-usual runs (2023-2050, frontier gap and
investment share carried) whose national real GDP 2050/2023 lies in the SSP envelope.

    PYTHONPATH=src python benchmarks/invest_match.py OUT_DIR [OMEGA ...]   (default 0 0.5)

Same settings as `gsim match` (3 waves of 1,000 points, seed of the [match] table).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from match_carry import forward_ratios

import gsim
from gsim.analysis.backcast import backcast_scenario
from gsim.analysis.plausibility import ssp_envelope
from gsim.matching import nroy_spec


def main(argv: list[str]) -> None:
    out = Path(argv[0])
    omegas = [float(a) for a in argv[1:]] or [0.0, 0.5]
    base = gsim.load_scenario()
    for omega in omegas:
        sc = base.with_overrides(province_investment=omega)
        store = out / f"match_omega{omega:g}.zarr"
        res = gsim.match(backcast_scenario(sc), out=store, workers=None)
        shares = " ".join(f"{w.nroy_share:.3f}" for w in res.waves)
        band = res.holdout_band()
        inside = sum(v[3] for v in band.values())
        fsc, spec = nroy_spec(sc, store)
        g = forward_ratios(fsc, spec)
        env = ssp_envelope(int(sc.run.t0), int(sc.run.t1))
        lo, hi = float(env.gdp_ratio.min()), float(env.gdp_ratio.max())
        ok = np.isfinite(g)
        within = 100 * np.mean((g[ok] >= lo) & (g[ok] <= hi))
        print(f"ω_I {omega:g}: NROY share per wave {shares}; survivors {res.last.survivors}; held out inside "
              f"{inside}/{len(band)}; BAU 2050/2023 inside SSP envelope {within:.0f} % "
              f"(median {np.median(g[ok]):.2f}, {ok.sum()} runs)", flush=True)
        for name, (obs, p05, p95, hit) in band.items():
            print(f"    {name:36s} {obs:.4f} [{p05:.4f}, {p95:.4f}] {'in' if hit else 'OUT'}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
