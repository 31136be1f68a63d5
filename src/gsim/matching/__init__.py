"""History matching without an emulator: waves of implausibility on the compiled kernel.

`match(scenario)` runs the waves of the scenario's `[match]` table over its
`[sweep.uncertain]` prior and optionally writes a Zarr store; `open_match(store)` reads it;
`sweep_from_nroy` runs a sweep on the stored non-implausible points. See docs/matching.md.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from gsim.matching.implausibility import implausibility, kth_max, measure
from gsim.matching.store import (
    nroy_carried,
    nroy_prior_fifths,
    nroy_sample,
    nroy_spec,
    open_match,
    sweep_from_nroy,
    to_dataset,
    write_store,
)
from gsim.matching.targets import KINDS, MatchError, MatchSpec, Target, parse_match
from gsim.matching.waves import MatchResult, make_problem, run_waves
from gsim.matching.waves import Problem as MatchProblem
from gsim.model.rules import run_memory
from gsim.scenario import Scenario, load_scenario
from gsim.sweeps.components import memory_excess
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
    check_memory(problem)
    if out is not None and (Path(out).exists() or Path(out).is_symlink()):
        raise MatchError(f"{out} already exists; remove it or choose another --out")
    if out is not None:  # an unwritable --out fails now, not after every wave has run
        try:
            Path(out).parent.mkdir(parents=True, exist_ok=True)
            os.rmdir(tempfile.mkdtemp(prefix=f".{Path(out).name}.probe-", dir=Path(out).parent))
        except OSError as e:
            raise io_error(out, "create it", e) from None
    result = run_waves(problem, workers, progress)
    if out is not None:
        write_store(result, out)
    return result


def check_memory(pb: MatchProblem, available: int | None = None) -> None:
    """Refuse, before any run, a match whose blocks or points would need more than half of
    `available` (default: this machine's memory), as `gsim sweep` refuses such a sweep: a block
    holds block_size x replicates runs at a time (`model.rules.run_memory` each), and every
    point of every wave keeps its rows (uniform and input values; model value, ensemble
    variance and implausibility per target; a few numbers more) until the store is written."""
    sc, m = pb.scenario, pb.match
    R, S = len(sc.regions), len(sc.tiers)
    k = R - 1 if sc.nearest is None else sc.nearest
    block = min(m.block_size, m.samples) * pb.sweep.replicates * run_memory(R, k, S, len(pb.grid.save_times))
    points = m.waves * m.samples * (2 * len(pb.inputs) + 3 * len(m.targets) + 8) * 8
    for fld, what, need, hint in (
            ("match.block_size", f"a block of {min(m.block_size, m.samples)} points", block, "a smaller block_size"),
            ("match.samples", f"{m.waves} waves of {m.samples} points", points, "fewer --samples")):
        if over := memory_excess(need, available):
            raise MatchError(f"{sc.source}: {fld}: {what} need {over}; use {hint}")


__all__ = [
    "KINDS", "MatchError", "MatchResult", "MatchSpec", "Target", "implausibility", "kth_max", "match",
    "measure", "nroy_carried", "nroy_prior_fifths", "nroy_sample", "nroy_spec", "open_match", "parse_match",
    "sweep_from_nroy", "to_dataset", "write_store",
]
