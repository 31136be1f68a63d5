"""The history match with the migration rate μ's prior widened, and what μ does to the
provinces' 2050 populations (a script, not a test; the numbers of docs/validation.md, "The
migration rate", whose snippet gives the backcast's fit at fixed μ).

    PYTHONPATH=src python benchmarks/migration_rate.py OUT_DIR [HIGH]   (default HIGH 0.3)

The default history match (as `gsim match`), with the shipped prior of μ (0.01-0.05) and with
it widened to 0.01-HIGH: the NROY share per wave, the NROY points' μ, and their
business-as-usual runs 2023-2050 (the sweep `gsim sweep --from` runs) against the SSP
envelope: the share whose national real GDP 2050/2023 lies inside it, and how many provinces'
median population ends inside their range.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from match_discrepancy import match_and_forward
from match_prior import with_uniform_priors

import gsim
from gsim.matching import nroy_sample


def priors(base: gsim.Scenario, high: float, out: Path) -> None:
    print("prior of μ  NROY share per wave  NROY μ 5/50/95 %   GDP inside SSP  provinces inside")
    for prior, sc in (("0.01-0.05", base), (f"0.01-{high:g}", with_uniform_priors(base, {"mu": (0.01, high)}))):
        store, fwd = out / f"match_mu{prior}.zarr", out / f"sweep_mu{prior}.zarr"
        res, fp = match_and_forward(sc, store, fwd)
        mu = nroy_sample(gsim.open_match(store)).sel(input="mu").values
        print(f"{prior:11s} {' '.join(f'{w.nroy_share:.3f}' for w in res.waves):20s} "
              f"{' '.join(f'{q:.3f}' for q in np.quantile(mu, [0.05, 0.5, 0.95])):18s} "
              f"{100 * fp.attrs['inside_share']:3.0f} %{'':10s} {fp.attrs['population_inside_provinces']} of 31",
              flush=True)


def main(argv: list[str]) -> None:
    out = Path(argv[0])
    high = float(argv[1]) if len(argv) > 1 else 0.3
    base = gsim.load_scenario()
    priors(base, high, out)


if __name__ == "__main__":
    main(sys.argv[1:])
