"""A sweep's runs: `sweep`, `resume` and `repair`, over its plan and blocks
(`gsim.sweeps.blocks`) and the executors (`gsim.sweeps.executors`: local, Dask distributed).

A *unit* is one (sample, replicate); a *block* is a contiguous range of units run under every
policy (common random numbers: all policies see the same inputs). Blocks are the tasks: the
local executor runs them on `workers` threads of one process, the Dask executor sends them
to worker processes; either way a block runs the serial compiled kernel on one core (the
kernels release the GIL), and the calling process writes the results into the store.
Nothing a run computes depends on which block, worker or executor it ran in.

`sweep`, `resume` and `repair` are the only ways in (the CLI calls them too); each holds the
store's write lock and verifies what is done before it computes anything.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gsim._version import __version__
from gsim.scenario import Scenario, load_scenario, loads_scenario
from gsim.sweeps import components as cp
from gsim.sweeps import store as st
from gsim.sweeps.blocks import INDICATORS, Plan, compute_block, make_plan, save_names
from gsim.sweeps.executors import (
    CONNECT_TIMEOUT,
    DaskExecutor,
    LocalExecutor,
    SchedulerUnreachable,
    SweepInterrupted,
    WriteFn,
    resolve_workers,
)
from gsim.sweeps.spec import SweepSpec, parse_spec

__all__ = [
    "CONNECT_TIMEOUT", "INDICATORS", "DaskExecutor", "Executor", "LocalExecutor", "Plan", "Progress", "ProgressFn",
    "SchedulerUnreachable", "SweepInterrupted", "SweepReport", "WriteFn", "check_resumable", "compute_block",
    "make_plan", "plan_from_store", "refuse_damaged_metadata", "repair", "resolve_workers", "resume",
    "save_names", "sweep",
]


# ----------------------------------------------------------------------------------------
# sweep, resume
# ----------------------------------------------------------------------------------------
@dataclass
class SweepReport:
    store: str
    n_runs: int
    computed: int  # runs computed in this call
    counts: dict[str, int]  # every run of the store by status (`gsim.sweeps.store.run_counts`)
    seconds: float
    config_hash: str
    samples: int = 0
    replicates: int = 0
    n_policies: int = 0
    faults: list[str] = field(default_factory=list)  # plugin faults of this call, in words
    repaired: tuple[str, ...] = ()  # damage found and recomputed: one line per block / coordinates
    pending: int = 0  # runs still not done (after a repair, which computes only damaged runs)

    @property
    def failed(self) -> int:
        """Runs that failed (a stock turned negative or non-finite); not those of invalid input."""
        return self.counts["n_failed"]

    @property
    def invalid(self) -> int:
        """Runs whose sampled inputs broke a scenario rule (not integrated)."""
        return self.counts["n_invalid"]

    @property
    def runs_per_second(self) -> float:
        return self.computed / self.seconds if self.seconds > 0 else float("nan")


@dataclass(frozen=True)
class Progress:
    """What a progress callback is told: once at the start, then after every block."""

    total: int  # runs in the sweep
    done: int  # runs done, including those done before a resume
    computed: int  # runs computed by this call so far
    counts: Mapping[str, int] = field(default_factory=dict)  # those runs by status (`run_counts`)

    @property
    def failed(self) -> int:
        """Failed runs among those computed by this call (invalid input not included)."""
        return self.counts.get("n_failed", 0)

    @property
    def invalid(self) -> int:
        """Runs of invalid input among those computed by this call."""
        return self.counts.get("n_invalid", 0)


ProgressFn = Callable[[Progress], None]


def plan_from_store(g, path: str = "the store") -> Plan:
    """Rebuild the plan a store was created with (scenario and spec from its attributes)."""
    sc = loads_scenario(g.attrs["scenario_toml"], source=f"{path} (its scenario)")
    spec = SweepSpec.from_json(g.attrs["sweep_spec"])
    return make_plan(sc, spec)


def refuse_damaged_metadata(g, path: str) -> None:
    """StoreDamaged (65) if the store's attributes or array metadata differ from its manifest:
    they are the only description of the store, so nothing can be recomputed from them."""
    meta = st.metadata_damage(g, path)
    if meta:
        raise st.StoreDamaged(st.Verification(path, 1, np.zeros(0, bool), np.zeros(0, np.int8),
                                              {}, [], meta).refusal())


def _damage_to_redo(g, plan: Plan, path: str, retry_faults: bool = False) -> tuple[st.Verification, tuple[str, ...]]:
    """Verify the store; rewrite damaged coordinates and clear the done flags of damaged
    blocks (and, with `retry_faults`, of blocks with a plugin fault). Returns the verification
    and one line per repair."""
    health = st.verify_store(g, path)
    if health.metadata:
        raise st.StoreDamaged(health.refusal())
    if retry_faults:
        faulty = np.nonzero(health.done & (np.asarray(g["fault"][:]) != ""))[0]
        for b in sorted({int(r) // plan.block_runs for r in faulty}):
            health.damaged.setdefault(b, "plugin faults: computed again (--retry-faults)")
            r0, r1 = plan.runs(b)
            health.done[r0:r1], health.status[r0:r1] = False, 0
    if health.block_runs != plan.block_runs:
        raise st.StoreDamaged(f"{path}: chunks of {health.block_runs} runs, its plan has blocks of "
                              f"{plan.block_runs}; start a new store")
    repaired = tuple(health.damage())
    try:
        if health.coordinates:
            st.write_coordinates(g, plan, health.coordinates)
            repaired += (f"coordinate arrays {', '.join(health.coordinates)}: rewritten",)
        for b in health.damaged:
            st.clear_done(g, *plan.runs(b))
    except OSError as e:
        raise st.io_error(path, "repair it", e) from None
    return health, repaired


def _execute(g, plan: Plan, executor, progress: ProgressFn | None, path: str, *,
             pending: bool = True, fresh: bool = False, retry_faults: bool = False) -> SweepReport:
    """Verify the store, recompute its damaged blocks (and, with `pending`, the blocks not
    done), writing each block as it completes. Nothing verified is rewritten. A `fresh`
    store (just created) has nothing done: it is not read."""
    t_start = time.perf_counter()
    counts = {"done": 0, "computed": 0}
    computed: Counter[str] = Counter()  # the runs computed by this call by status, summed over blocks
    status = np.zeros(plan.spec.n_runs, np.int8)
    faults: list[str] = []

    def tell() -> None:
        if progress is not None:
            progress(Progress(plan.spec.n_runs, counts["done"], counts["computed"], dict(computed)))

    arrays: dict = {}  # the store's array handles, looked up once

    def write(b: int, data: st.BlockData) -> None:
        r0, r1 = plan.runs(b)
        try:
            st.write_block(g, r0, data, arrays)
        except OSError as e:
            raise st.StoreIOError(f"{st.io_error(path, f'write runs {r0}-{r1 - 1}', e)}; the {counts['done']} "
                                  f"runs done are kept: fix the cause, then gsim sweep --resume {path}") from None
        status[r0:r1] = data.status
        counts["done"] += len(data.status)
        counts["computed"] += len(data.status)
        computed.update(st.run_counts(data.status))
        faults.extend(data.faults.values())
        tell()

    try:
        n = plan.spec.n_runs
        health, repaired = (_damage_to_redo(g, plan, path, retry_faults) if not fresh else (
            st.Verification(path, plan.block_runs, np.zeros(n, bool), np.zeros(n, np.int8), {}, []), ()))
        status[:] = health.status
        counts["done"] = int(health.done.sum())
        todo = [b for b in range(plan.n_blocks) if b in health.damaged
                or (pending and not health.done[slice(*plan.runs(b))].all())]
        tell()
        executor.run(plan, todo, write)
    except KeyboardInterrupt:
        raise SweepInterrupted(f"interrupted; {path} is resumable: gsim sweep --resume {path}") from None
    if repaired:  # a repair is claimed only once the store verifies clean
        after = st.verify_store(g, path)
        if not after.ok:
            raise st.StoreDamaged(f"{path}: the repair did not restore a store that verifies clean "
                                  f"({after.problems()}); start a new store")
    return SweepReport(path, plan.spec.n_runs, counts["computed"], st.run_counts(status), time.perf_counter() - t_start,
                       plan.config_hash, plan.spec.n_samples, plan.spec.replicates, plan.n_policies,
                       faults, repaired, plan.spec.n_runs - counts["done"])


Executor = LocalExecutor | DaskExecutor


def _scenario(scenario: Scenario | str | Path | None) -> Scenario:
    return scenario if isinstance(scenario, Scenario) else load_scenario(scenario)


def sweep(
    store: str | Path,
    scenario: Scenario | str | Path | None = None,
    options: Mapping[str, Any] | None = None,
    *,
    executor: Executor | None = None,
    progress: ProgressFn | None = None,
    spec: SweepSpec | None = None,
) -> SweepReport:
    """Run a Monte Carlo sweep of `scenario` (default: the embedded one) into a new Zarr store.

    options: overrides of the scenario's ``[sweep]`` table (samples, sampler, replicates,
    seed, policies, save, block_size, years, t1). executor: LocalExecutor(workers) (default)
    or DaskExecutor(scheduler=..., n_workers=...). progress(Progress) is called at the start
    and after each block is written. Raises SweepSpecError for a bad specification; nothing
    is created then. The store appears at `store` only once complete (see store.new_store).
    spec: a validated spec to run instead of the scenario's (e.g. stored NROY points,
    `gsim.matching.nroy_spec`); options are then ignored.
    """
    sc = _scenario(scenario)
    plan = make_plan(sc, spec if spec is not None else parse_spec(sc, options))
    cp.check_memory(plan)
    executor = executor or LocalExecutor()
    if isinstance(executor, DaskExecutor) and executor.scheduler:
        executor.start()  # an unreachable scheduler fails here: no store is created
    try:
        with st.new_store(store, plan, plan.attrs()) as g:
            return _execute(g, plan, executor, progress, str(store), fresh=True)
    except SweepInterrupted:
        raise
    except KeyboardInterrupt:  # while the store was being created
        if Path(store).exists():
            raise SweepInterrupted(f"interrupted; {store} is resumable: gsim sweep --resume {store}") from None
        raise SweepInterrupted(f"interrupted while creating {store}; nothing was created") from None
    finally:
        if isinstance(executor, DaskExecutor):
            executor.close()  # idempotent: the executor closes its client when it ends


def check_resumable(g, path: str, expect_hash: str | None = None) -> Plan:
    if g.attrs.get("gsim_version") != __version__:
        raise st.StoreError(
            f"{path} was written by gsim {g.attrs.get('gsim_version')}, this is gsim "
            f"{__version__}; results would not be comparable, start a new store")
    plan = plan_from_store(g, path)
    changed = cp.component_changes(list(g.attrs.get("components", [])), plan.components())
    if changed:
        raise st.StoreError(f"{path}: the installed plugins no longer give the policies, events or "
                            f"indicators its runs were computed with ({'; '.join(changed)}); results "
                            "would mix; install the versions it names (gsim plugins) or start a new store")
    have, want = st.plugin_indicators(g), sorted(ind.name for ind, _ in plan.indicators)
    if have != want:
        raise st.StoreError(f"{path} holds the plugin indicators {have or 'none'}, the plugins installed now "
                            f"give {want or 'none'}; resume with the same plugins (see `gsim plugins`)")
    if plan.config_hash != g.attrs.get("config_hash"):
        raise st.StoreError(f"{path}: its configuration does not reproduce its config hash "
                            "(different gsim plugins or policies installed?); start a new store")
    if expect_hash is not None and expect_hash != plan.config_hash:
        raise st.StoreError(
            f"{path} holds a different sweep (config hash {plan.config_hash[:12]}, "
            f"asked for {expect_hash[:12]}); resume it without scenario/options or start a new store")
    return plan


def resume(
    store: str | Path,
    scenario: Scenario | str | Path | None = None,
    options: Mapping[str, Any] | None = None,
    *,
    executor: Executor | None = None,
    progress: ProgressFn | None = None,
    retry_faults: bool = False,
) -> SweepReport:
    """Verify `store`, then compute its runs that are not done or whose chunks are damaged
    (with `retry_faults`, also the blocks holding a run with a plugin fault).
    If a scenario or options are given, they must describe the same sweep (same config
    hash), else StoreError; options alone are compared with the store's own scenario and
    settings. Raises StoreBusy when another process is writing the store."""
    with st.open_for_writing(store) as g:
        refuse_damaged_metadata(g, str(store))
        expect = None
        if scenario is not None:
            sc = _scenario(scenario)
            expect = make_plan(sc, parse_spec(sc, options)).config_hash
        elif options:  # the store's own scenario and settings, with these options changed
            sc = loads_scenario(g.attrs["scenario_toml"], source=str(store))
            stored = SweepSpec.from_json(g.attrs["sweep_spec"])
            own = {k: getattr(stored, k) for k in ("samples", "sampler", "seed", "replicates", "save",
                                                   "block_size", "t1")}
            own["policies"] = list(stored.policies)
            expect = make_plan(sc, parse_spec(sc, {**own, **options})).config_hash
        plan = check_resumable(g, str(store), expect)
        executor = executor or LocalExecutor()
        return _execute(g, plan, executor, progress, str(store), retry_faults=retry_faults)


def repair(store: str | Path, *, executor: Executor | None = None,
           progress: ProgressFn | None = None) -> SweepReport:
    """Verify `store` and recompute only its damaged runs (pending runs stay pending: see
    `resume`). Raises StoreBusy when another process is writing the store."""
    with st.open_for_writing(store) as g:
        refuse_damaged_metadata(g, str(store))
        plan = check_resumable(g, str(store))
        executor = executor or LocalExecutor()
        return _execute(g, plan, executor, progress, str(store), pending=False)
