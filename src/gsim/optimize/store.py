"""The optimisation's Zarr store, and `open_optimization` (the final non-dominated set).

Layout (Zarr v3), preallocated for every generation, one chunk per generation:

- ``levers`` (generation, member, lever): the candidates pymoo asked for
- ``scores`` (generation, member, objective): their robustness scores (natural units and sign)
- ``violation`` (generation, member, constraint): share of failed runs, then each
  constraint's missing share of scenarios (<= 0: met)
- ``values`` (generation, member, scenario, column): every run's indicators, a column each
  (one per region for a per-region constraint; `Problem.columns`)
- ``hypervolume`` (generation,): of the archive after the generation
- ``bau``, ``defaults`` (scenario, column): business as usual and the policy at its
  default settings in each scenario; ``initial`` (member, lever): the warm-start population
  (if any)

Attributes: provenance (version, scenario hash, config hash, seed), the problem (with an
ensemble of NROY points: ``scenarios_from``, the match store, and ``match_config_hash``), and, written
last after each generation in one update, ``generations_done`` and ``archive`` (the
[generation, member] of each member of the epsilon-archive). A kill leaves the generations
done so far; `--resume` recomputes nothing of them.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from hashlib import blake2b
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gsim.optimize.problem import OptimizeError, Problem
from gsim.output import provenance
from gsim.scenario import Scenario

if TYPE_CHECKING:
    import xarray as xr
    import zarr

FORMAT = "gsim-optimize-1"


def config_hash(sc: Scenario, problem: Problem) -> str:
    text = json.dumps({"scenario": sc.hash, "method": sc.run.method, "problem": problem.to_json()}, sort_keys=True)
    return blake2b(text.encode(), digest_size=8).hexdigest()


def create(path: str | Path, sc: Scenario, problem: Problem, bau: np.ndarray, defaults: np.ndarray,
           initial: np.ndarray | None, scenarios_from: Path | None = None) -> zarr.Group:
    """scenarios_from: the history-match store whose NROY points are the ensemble (its config
    hash is `problem.match_hash`, so the config hash covers it)."""
    import zarr

    p = Path(path)
    if p.exists():
        raise OptimizeError(f"{path}: exists; remove it, or continue it with --resume {path}")
    n_scenarios = bau.shape[0]
    G, P, V = problem.generations, problem.population, len(problem.levers)
    K, I = len(problem.objectives), bau.shape[1]  # columns: Problem.columns
    C = 1 + len(problem.constraints)
    attrs = provenance(sc, "robust policy optimisation", format=FORMAT, config_hash=config_hash(sc, problem),
                       root_seed=problem.seed, problem=problem.to_json(), scenario_toml=sc.toml,
                       levers=[lv.name for lv in problem.levers],
                       objectives=[o.indicator for o in problem.objectives],
                       indicators=list(problem.indicators),
                       constraints=["failed_runs"] + [c.text for c in problem.constraints],
                       generations_done=0, archive=[])
    if scenarios_from is not None:
        attrs.update(scenarios_from=str(scenarios_from), match_config_hash=problem.match_hash)
    try:
        g = zarr.create_group(str(p), zarr_format=3, attributes=attrs)
    except OSError as e:
        raise OptimizeError(f"{path}: cannot create the store: {e.strerror or e}") from None

    def arr(name, shape, dims, chunks):
        return g.create_array(name, shape=shape, chunks=chunks, dtype="f8", fill_value=np.nan,
                              dimension_names=dims)

    arr("levers", (G, P, V), ("generation", "member", "lever"), (1, P, V))
    arr("scores", (G, P, K), ("generation", "member", "objective"), (1, P, K))
    arr("violation", (G, P, C), ("generation", "member", "constraint"), (1, P, C))
    arr("values", (G, P, n_scenarios, I), ("generation", "member", "scenario", "column"), (1, P, n_scenarios, I))
    arr("hypervolume", (G,), ("generation",), (1,))
    arr("bau", (n_scenarios, I), ("scenario", "column"), (n_scenarios, I))[...] = bau
    arr("defaults", (n_scenarios, I), ("scenario", "column"), (n_scenarios, I))[...] = defaults
    if initial is not None:
        arr("initial", initial.shape, ("member", "lever"), initial.shape)[...] = initial
    return g


def open_group(path: str | Path, mode: str = "r") -> zarr.Group:
    import zarr

    if not Path(path).is_dir():
        raise OptimizeError(f"{path}: no such optimisation store")
    try:
        g = zarr.open_group(str(path), mode=mode)
    except Exception:  # noqa: BLE001  (any unreadable store is one line)
        raise OptimizeError(f"{path}: not a Zarr store") from None
    if g.attrs.get("format") != FORMAT:
        raise OptimizeError(f"{path}: not a gsim optimisation store")
    return g


@contextlib.contextmanager
def write_lock(path: str | Path) -> Iterator[None]:
    """Hold an exclusive lock on the store's directory while writing (released when the
    process ends, however it ends): a second writer of the same store is refused. (The
    directory itself, since zarr reads any file in it as part of the store.)"""
    fd = os.open(Path(path), os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OptimizeError(f"{path}: another gsim process is writing this store") from None
        yield
    finally:
        os.close(fd)


def write_generation(g: zarr.Group, gen: int, X, scores, violation, values, hv: float,
                     archive: list[tuple[int, int]]) -> None:
    """One generation's arrays, then (last) the bookkeeping that marks it done."""
    g["levers"][gen] = X
    g["scores"][gen] = scores
    g["violation"][gen] = violation
    g["values"][gen] = values
    g["hypervolume"][gen] = hv
    g.attrs.update({"generations_done": gen + 1, "archive": [[int(a), int(b)] for a, b in archive]})


def read_generation(g: zarr.Group, gen: int) -> tuple[np.ndarray, ...]:
    return tuple(np.asarray(g[n][gen]) for n in ("levers", "scores", "violation", "values"))


def open_optimization(path: str | Path) -> xr.Dataset:
    """The final non-dominated set (the epsilon-archive) of an optimisation store: ``levers``
    (candidate, lever), ``objectives`` (candidate, objective) robustness scores, with the
    generation and member each came from; the problem in the attributes."""
    import xarray as xr

    g = open_group(path)
    a = dict(g.attrs)
    problem = Problem.from_json(a["problem"])
    arch = np.array(a["archive"], np.int64).reshape(-1, 2)
    levers = np.asarray(g["levers"][...])[arch[:, 0], arch[:, 1]]
    scores = np.asarray(g["scores"][...])[arch[:, 0], arch[:, 1]]
    dirs = problem.score_directions()
    attrs: dict[str, Any] = {k: a[k] for k in ("Conventions", "title", "source", "history", "scenario",
                                               "scenario_hash", "gsim_version", "config_hash", "root_seed",
                                               "generations_done")}
    attrs.update({k: a[k] for k in ("scenarios_from", "match_config_hash") if k in a})
    attrs.update(robustness=problem.robustness.text, policy=problem.policy, year=problem.year,
                 cumulated=int(problem.cumulate), scenarios=problem.scenarios,
                 constraints=[c.text for c in problem.constraints])
    return xr.Dataset(
        {"levers": (("candidate", "lever"), levers,
                    {"long_name": f"settings of policy {problem.policy}",
                     "default": [lv.default for lv in problem.levers],
                     "low": [lv.low for lv in problem.levers], "high": [lv.high for lv in problem.levers]}),
         "objectives": (("candidate", "objective"), scores,
                        {"long_name": f"robustness score ({problem.robustness.text}) over the scenario ensemble",
                         "robustness": problem.robustness.text, "direction": list(dirs),
                         "indicator_direction": [o.direction for o in problem.objectives]}),
         "generation": ("candidate", arch[:, 0]), "member": ("candidate", arch[:, 1])},
        coords={"lever": [lv.name for lv in problem.levers], "objective": [o.indicator for o in problem.objectives]},
        attrs=attrs)
