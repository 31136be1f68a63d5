"""The default history match with each province's GDP share as a target too (a script, not a
test; the numbers of docs/validation.md, "History match", and docs/claims.md, "On the
plausible set").

    PYTHONPATH=src python benchmarks/match_provinces.py OUT_DIR [OBS_REL DISC_REL USE]
    (default 0.05 0.10 third_max)

The `[match]` table of default.toml plus one `gdp_share` target per province in 2019, with a
relative observation sd OBS_REL (the provinces' GDP revisions after the 2018 economic census
moved several by 5-20 %: china31.SOURCES.md) and a relative model-discrepancy sd DISC_REL (an
assumption), the cutoff on USE (the Northeast's three provinces miss together). Prints the NROY
share per wave, where the NROY sample lies in each input's prior, the business-as-usual runs
2023-2050 against the SSP envelope, and the claims on the NROY set against business as usual
(every policy, as `gsim sweep --from` and `gsim claims` run them).
"""

from __future__ import annotations

import sys
from pathlib import Path

from match_discrepancy import edited_default, match_and_forward, print_match_and_forward

import gsim
from gsim.analysis.claims import share_text, verdict
from gsim.matching import sweep_from_nroy


def scenario(obs_rel: float, disc_rel: float, use: str) -> gsim.Scenario:
    def edit(doc: dict) -> None:
        for region in gsim.load_scenario().regions.name:
            doc["match"]["targets"].append({
                "kind": "gdp_share", "region": region, "year": 2019,
                "obs_rel_sd": obs_rel, "obs_reason": "provincial GDP revisions after the 2018 economic census",
                "disc_rel_sd": disc_rel, "disc_reason": "assumption: what the model lacks of each province's dynamics"})
        doc["match"]["use"] = use

    return edited_default(edit)


def main(out: Path, obs_rel: float = 0.05, disc_rel: float = 0.10, use: str = "third_max") -> None:
    store = out / "match_provinces.zarr"
    res, fp = match_and_forward(scenario(obs_rel, disc_rel, use), store, out / "sweep_provinces_bau.zarr")
    print_match_and_forward(f"31 provincial GDP shares in 2019 (obs {obs_rel:g}, discrepancy {disc_rel:g}), "
                            f"cutoff on the {use}", res, fp)
    sweep = out / "sweep_provinces.zarr"
    sweep_from_nroy(sweep, store, gsim.load_scenario(), {"save": "regions"})
    claims = gsim.claims(sweep)
    for i in claims.overall.values.nonzero()[0]:
        r = claims.isel(row=i, year=-1)
        if str(r.baseline.values) == "market":
            s = [float(r[k]) for k in ("share", "share_lo", "share_hi")]
            print(f"{str(r.claim.values):28s} vs market (BAU): {verdict(*s)}, {share_text(*s)}")


if __name__ == "__main__":
    args = sys.argv[1:]
    main(Path(args[0]), *(float(a) for a in args[1:3]), *args[3:4])
