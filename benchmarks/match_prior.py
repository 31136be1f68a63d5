"""The default history match with a parameter sampled from a uniform prior instead of fixed (a
script, not a test): does history narrow it? (docs/validation.md, "History match": ω_N.)

    PYTHONPATH=src python benchmarks/match_prior.py OUT_DIR NAME=LOW:HIGH [NAME=LOW:HIGH ...]

e.g. `national_catchup=0:1`. Runs `gsim match` on the default backcast with each NAME added to
`[sweep.uncertain]` as uniform on [LOW, HIGH], then `gsim sweep --from` under business as usual
to 2050, and prints the NROY share per wave, where the NROY sample lies in each input's prior
(as `gsim match` does), and the forward check against the SSP envelope.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

from match_discrepancy import match_and_forward, print_match_and_forward

import gsim


def with_uniform_priors(base: gsim.Scenario, priors: dict[str, tuple[float, float]]) -> gsim.Scenario:
    """`base` with each NAME in `[sweep.uncertain]` as uniform on (LOW, HIGH)."""
    sweep = copy.deepcopy(base.sweep) or {}
    for name, (low, high) in priors.items():
        sweep["uncertain"][name] = {"dist": "uniform", "low": low, "high": high}
    return base.with_overrides(sweep=sweep)


def main(out: Path, priors: dict[str, tuple[float, float]]) -> None:
    tag = "_".join(f"{k}{lo:g}-{hi:g}" for k, (lo, hi) in priors.items())
    sc = with_uniform_priors(gsim.load_scenario(), priors)
    res, fp = match_and_forward(sc, out / f"match_{tag}.zarr", out / f"sweep_{tag}.zarr")
    print_match_and_forward(tag, res, fp)


if __name__ == "__main__":
    pairs = (a.split("=", 1) for a in sys.argv[2:])
    main(Path(sys.argv[1]), {k: (float(v.split(":")[0]), float(v.split(":")[1])) for k, v in pairs})
