"""The South's share of GDP in the backcasts of a match's plausible set (a script, not a test;
the numbers of docs/validation.md, "Backcast").

    PYTHONPATH=src python benchmarks/north_south.py out/match.zarr

Runs the default backcast (2013-2023, market) at every NROY point of the match store, as
`gsim sweep --from STORE` would with the backcast scenario (no carry: the points start where
the match started them), and prints the 5/50/95 % of the South's share of nominal GDP in 2019
and 2023 with the observed value, and the largest share any point reaches.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

from gsim.analysis.backcast import backcast, backcast_scenario
from gsim.matching import sweep_from_nroy
from gsim.sweeps.store import open_sweep

# South of the Qinling-Huaihe line (Tibet, 0.2 % of GDP, counted with the South)
SOUTH = ["Shanghai", "Jiangsu", "Zhejiang", "Anhui", "Fujian", "Jiangxi", "Hubei", "Hunan", "Guangdong",
         "Guangxi", "Hainan", "Chongqing", "Sichuan", "Guizhou", "Yunnan", "Tibet"]


def main(store: str) -> None:
    sc = backcast_scenario()
    observed = backcast(sc).gdp_share_observed
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "backcasts.zarr"
        sweep_from_nroy(path, store, sc, {"policies": ["market"], "save": "regions"}, carry=False)
        gdp = open_sweep(path).sel(policy="market").gdp.load()
    for year in (2019.0, 2023.0):
        share = (100 * gdp.sel(time=year, region=SOUTH).sum("region") / gdp.sel(time=year).sum("region")).values
        q = np.quantile(share, [0.05, 0.5, 0.95])
        print(f"{year:.0f}: observed {float(observed.sel(time=year, region=SOUTH).sum()):.1f} %; "
              f"{share.size} plausible backcasts {q[0]:.1f}-{q[2]:.1f} % (median {q[1]:.1f}, largest {share.max():.1f})")


if __name__ == "__main__":
    main(sys.argv[1])
