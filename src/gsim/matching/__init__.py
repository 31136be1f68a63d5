"""History matching without an emulator: waves of implausibility on the compiled kernel.

`match(scenario)` runs the waves of the scenario's `[match]` table over its
`[sweep.uncertain]` prior and optionally writes a Zarr store; `open_match(store)` reads it;
`sweep_from_nroy` runs a sweep on the stored non-implausible points. See docs/matching.md.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from gsim.matching.implausibility import implausibility, kth_max, measure
from gsim.matching.store import (
    nroy_carried,
    nroy_sample,
    nroy_spec,
    open_match,
    sweep_from_nroy,
    to_dataset,
    write_store,
)
from gsim.matching.targets import KINDS, MatchError, MatchSpec, Target, parse_match
from gsim.matching.waves import MatchResult, make_problem, run_waves
from gsim.scenario import Scenario, load_scenario
from gsim.sweeps.store import io_error


def match(
    scenario: Scenario | str | Path | None = None,
    out: str | Path | None = None,
    options: Mapping[str, Any] | None = None,
    *,
    panel: Any = None,
    workers: int | None = 1,
    progress: Callable[[int, int, int], None] | None = None,
) -> MatchResult:
    """History-match `scenario` (a Scenario or a file; default: the embedded one).

    options override the `[match]` table (waves, samples, seed, cutoff, use, policy,
    block_size, margin). panel: the observed xarray Dataset for targets without a value
    (default: the table's `panel`). workers: threads (None: $GSIM_WORKERS, else all cores);
    the result does not depend on it. out: a new Zarr store to write. Raises MatchError (or
    ScenarioError / SweepSpecError) with a one-line message for bad input.
    """
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    problem = make_problem(sc, options, panel)
    if out is not None and (Path(out).exists() or Path(out).is_symlink()):
        raise MatchError(f"{out} already exists; remove it or choose another --out")
    if out is not None:  # an unwritable --out fails now, not after every wave has run
        probe = Path(out).with_name(f".{Path(out).name}.creating-{os.getpid()}")
        try:
            probe.parent.mkdir(parents=True, exist_ok=True)
            probe.mkdir()
            probe.rmdir()
        except OSError as e:
            raise io_error(out, "create it", e) from None
    result = run_waves(problem, workers, progress)
    if out is not None:
        write_store(result, out)
    return result


__all__ = [
    "KINDS", "MatchError", "MatchResult", "MatchSpec", "Target", "implausibility", "kth_max", "match",
    "measure", "nroy_carried", "nroy_sample", "nroy_spec", "open_match", "parse_match", "sweep_from_nroy", "to_dataset",
    "write_store",
]
