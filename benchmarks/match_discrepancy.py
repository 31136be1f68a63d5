"""The default history match with another model-discrepancy sd on some of its targets (a script,
not a test): how much the plausible set and the forward check rest on that assumption.

    PYTHONPATH=src python benchmarks/match_discrepancy.py OUT_DIR KIND=SD [KIND=SD ...]

e.g. `growth=0.0042` (default.toml: 0.006 on the 2013-2016 and 2016-2019 growth targets) or
`theil_slope=0.0005` (0.001). Runs `gsim match` on the default backcast with `disc_sd = SD` on
every target of that kind that is not held out, then `gsim sweep --from` under business as
usual to 2050, and prints the NROY share per wave, where the NROY sample lies in each input's
prior (as `gsim match` does), the share of runs whose national real GDP 2050/2023 lies inside
the SSP envelope and the provinces whose median population ends inside their SSP range. With no
KIND=SD it runs the shipped table, for comparison.
"""

from __future__ import annotations

import sys
import tomllib
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path

import tomli_w
import xarray as xr

import gsim
from gsim.analysis.backcast import backcast_scenario
from gsim.analysis.plausibility import forward_plausibility
from gsim.cli.match import input_lines
from gsim.matching import MatchResult, sweep_from_nroy
from gsim.scenario import loads_scenario


def match_and_forward(sc: gsim.Scenario, store: Path, fwd: Path) -> tuple[MatchResult, xr.Dataset]:
    """`gsim match` on the backcast of `sc` into `store`, then `gsim sweep --from` under
    business as usual into `fwd`: the match and the sweep's forward plausibility."""
    res = gsim.match(backcast_scenario(sc), store)
    sweep_from_nroy(fwd, store, sc, {"policies": ["market"], "save": "regions"})
    return res, forward_plausibility(fwd)


def edited_default(edit: Callable[[dict], None]) -> gsim.Scenario:
    """The embedded default scenario with its TOML document changed in place by `edit`."""
    data = files("gsim").joinpath("data")
    doc = tomllib.loads(data.joinpath("default.toml").read_text(encoding="utf-8"))
    edit(doc)
    return loads_scenario(tomli_w.dumps(doc), base_dir=str(data))


def print_match_and_forward(label: str, res: MatchResult, fp: xr.Dataset) -> None:
    """What `match_and_forward` gave: the NROY share per wave, where the NROY sample lies in each
    input's prior (as `gsim match` prints it) and the forward check against the SSPs."""
    print(f"{label}: NROY share per wave " + " ".join(f"{w.nroy_share:.3f}" for w in res.waves)
          + f", {res.last.survivors} NROY points")
    print("\n".join(input_lines(res)))
    print(f"BAU 2050/2023 inside the SSP envelope: {100 * fp.attrs['inside_share']:.0f} % of the runs; "
          f"provinces inside their SSP population range: {fp.attrs['population_inside_provinces']} of 31")


def main(out: Path, changes: dict[str, float]) -> None:
    def edit(doc: dict) -> None:
        for kind, sd in changes.items():
            rows = [t for t in doc["match"]["targets"] if t["kind"] == kind and not t.get("holdout", False)]
            if not rows:
                raise SystemExit(f"default.toml: no target of kind {kind!r} to change")
            for t in rows:
                t["disc_sd"] = sd

    tag = "_".join(f"{k}{v:g}" for k, v in changes.items()) or "shipped"
    res, fp = match_and_forward(edited_default(edit), out / f"match_{tag}.zarr", out / f"sweep_{tag}.zarr")
    print_match_and_forward(f"disc_sd {changes or 'as shipped'}", res, fp)


if __name__ == "__main__":
    main(Path(sys.argv[1]), {k: float(v) for k, v in (a.split("=", 1) for a in sys.argv[2:])})
