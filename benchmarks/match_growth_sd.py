"""The default history match with another model-discrepancy sd on its growth targets (a script,
not a test): how much the forward check depends on that assumption.

    .venv/bin/python benchmarks/match_growth_sd.py 0.0042 /tmp/v.zarr

Runs `gsim match` on the default backcast with `disc_sd = SD` on the two growth targets of
2013-2016 and 2016-2019 (default.toml: 0.006), prints the NROY share per wave, then the numbers
of `match_carry.py` for that store (the share of the NROY runs inside the SSP envelope among
them). The figures of docs/validation.md, "Why the plausible set still grows too fast".
"""

from __future__ import annotations

import sys
from importlib.resources import files

import match_carry

import gsim
from gsim.analysis.backcast import backcast_scenario
from gsim.scenario import loads_scenario

DEFAULT_SD = "disc_sd = 0.006"  # the growth targets' line in default.toml


def main(sd: float, out: str) -> None:
    data = files("gsim").joinpath("data")
    text = data.joinpath("default.toml").read_text(encoding="utf-8")
    if text.count(DEFAULT_SD) != 2:
        raise SystemExit(f"default.toml: expected two growth targets with {DEFAULT_SD!r}")
    sc = loads_scenario(text.replace(DEFAULT_SD, f"disc_sd = {sd!r}"), base_dir=str(data))
    res = gsim.match(backcast_scenario(sc), out, workers=1)
    for w in res.waves:
        print(f"wave {w.number}: {w.survivors} survivors, NROY share {w.nroy_share:.3g}")
    match_carry.main(out)


if __name__ == "__main__":
    main(float(sys.argv[1]), sys.argv[2])
