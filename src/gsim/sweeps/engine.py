"""Planning, block computation and the executors (local, Dask distributed) of a sweep.

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

import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gsim._version import __version__
from gsim.api import fail_not_finite, resolve_policy, scenario_events, scenario_indicators
from gsim.context import policy_indicators, policy_inputs
from gsim.events import Event
from gsim.groups import INPUTS as GROUP_INPUTS
from gsim.groups import group_aggregates, sending_mask
from gsim.indicators import Indicator, IndicatorError, add_indicators
from gsim.integrate import BatchResult, RunStatus, TimeGrid, batch_from_scenario, run_batch
from gsim.model.calibrate import calibrate
from gsim.model.inputs import BatchInputs
from gsim.model.layout import GROUP_AGGREGATES, OBS, VARIABLES
from gsim.output import provenance, to_dataset
from gsim.policies import Policy, StateVar
from gsim.scenario import Scenario, load_scenario, loads_scenario
from gsim.sweeps import components as cp
from gsim.sweeps import store as st
from gsim.sweeps.sampling import apply_values, saltelli_attrs, sampled_values
from gsim.sweeps.spec import SweepSpec, config_hash, parse_spec

# what `--save indicators` keeps: the national indicators, the per-tier overcapacity and
# margin, and the aggregates of the sending and receiving regions
INDICATORS = OBS["o0"] + ("overcapacity", "margin") + GROUP_AGGREGATES


def save_names(level: str) -> tuple[str, ...]:
    """Variables saved at each --save level, in VARIABLES order."""
    if level == "indicators":
        keep = set(INDICATORS)
    elif level == "regions":
        keep = set(INDICATORS) | {n for n, v in VARIABLES.items() if v.dims == ("region",)}
    else:
        keep = set(VARIABLES)
    return tuple(n for n in VARIABLES if n in keep)


@dataclass(frozen=True, eq=False)
class Plan:
    """Everything a worker needs to compute any block (picklable).

    The policies (with their resolved parameters) and events are the objects the client
    resolved from its plugin registry, so every worker runs exactly those, whatever plugins
    its own process has registered.
    """

    scenario: Scenario
    spec: SweepSpec
    method: str
    grid: TimeGrid
    save_names: tuple[str, ...]
    config_hash: str
    policies: tuple[tuple[Policy, dict[str, Any]], ...]
    events: tuple[Event, ...]
    indicators: tuple[tuple[Indicator, tuple[str, ...]], ...] = ()  # plugin indicators, dims after time
    states: tuple[tuple[str, StateVar, tuple[str, ...]], ...] = ()  # policy state: name, declaration, policies

    @property
    def n_policies(self) -> int:
        return len(self.spec.policies)

    @property
    def block_runs(self) -> int:
        return self.spec.block_size * self.n_policies

    @property
    def n_blocks(self) -> int:
        return -(-self.spec.units // self.spec.block_size)

    def units(self, b: int) -> tuple[int, int]:
        u0 = b * self.spec.block_size
        return u0, min(u0 + self.spec.block_size, self.spec.units)

    def runs(self, b: int) -> tuple[int, int]:
        u0, u1 = self.units(b)
        return u0 * self.n_policies, u1 * self.n_policies

    def attrs(self) -> dict[str, Any]:
        """The store's global attributes: provenance, and what a resume needs to rebuild it."""
        sc, spec = self.scenario, self.spec
        return provenance(
            sc, "Monte Carlo sweep", config_hash=self.config_hash, root_seed=spec.seed,
            sampler=spec.sampler, samples=spec.n_samples, **saltelli_attrs(spec), replicates=spec.replicates,
            policies=list(spec.policies), save=spec.save, method=self.method, dt=self.grid.dt,
            t0=self.grid.t0, t1=self.grid.t1, block_size=spec.block_size,
            sweep_spec=spec.to_json(), scenario_toml=sc.toml,
            plugin_indicators=[ind.name for ind, _ in self.indicators],
            components=self.components(),
        )

    def components(self) -> list[dict[str, Any]]:
        """Every policy, event and plugin indicator the runs depend on, resolved
        (`gsim.sweeps.components.components`); a resume must find the same."""
        return cp.components(self.policies, self.scenario.events, self.indicators)


def make_plan(sc: Scenario, spec: SweepSpec) -> Plan:
    """Resolve a sweep: time grid, saved variables, config hash, policies, events and the
    plugin indicators (saved with every --save level)."""
    grid = TimeGrid.of(sc.run, spec.t1)
    policies = tuple(resolve_policy(sc, name) for name in spec.policies)
    table = scenario_indicators(sc)
    for pol, _ in policies:
        policy_indicators(sc, pol, table)  # a policy reading an indicator not installed: refused now
    return Plan(sc, spec, sc.run.method, grid, save_names(spec.save),
                config_hash(sc, spec, sc.hash, sc.run.method), policies,
                tuple(scenario_events(sc, grid)), cp.indicator_dims(sc, spec), cp.state_arrays(policies))


# ----------------------------------------------------------------------------------------
# one block
# ----------------------------------------------------------------------------------------
_BASE: dict[str, BatchInputs] = {}


def _base_inputs(sc: Scenario) -> BatchInputs:
    """The scenario's inputs for one run, cached per process by scenario hash."""
    if sc.hash not in _BASE:
        if len(_BASE) > 8:
            _BASE.clear()
        _BASE[sc.hash] = batch_from_scenario(sc, 1)
    return _BASE[sc.hash]


def compute_block(plan: Plan, b: int, parallel: bool) -> st.BlockData:
    """Inputs and results of every run of block b (all policies), rows in run order."""
    sc, spec = plan.scenario, plan.spec
    u0, u1 = plan.units(b)
    units = np.arange(u0, u1)
    n, P = len(units), plan.n_policies
    samples, reps = units // spec.replicates, units % spec.replicates
    R, S = len(sc.regions), len(sc.tiers)
    values = sampled_values(spec, R, samples, reps)
    inp, valid = apply_values(_base_inputs(sc).repeat(n), sc, spec, values)
    cal = calibrate(inp)

    T = len(plan.grid.save_times)
    dim = {"region": R, "tier": S}
    outputs = {name: np.empty((n * P, T) + tuple(dim[d] for d in VARIABLES[name].dims))
               for name in plan.save_names}
    outputs.update({ind.name: np.full((n * P, T) + tuple(dim[d] for d in dims), np.nan)
                    for ind, dims in plan.indicators})
    outputs.update({f"state_{name}": np.full((n * P, T) + tuple(dim[d] for d in var.dims), np.nan)
                    for name, var, _ in plan.states})
    table = {ind.name: ind for ind, _ in plan.indicators}
    status = np.empty(n * P, np.int8)
    fail_time = np.full(n * P, np.nan)
    fail_stock = np.full(n * P, -1, np.int8)
    faults: dict[int, str] = {}
    sending = sending_mask(sc)
    need = set(plan.save_names) | set(GROUP_INPUTS)  # what the group aggregates are made of
    for p, (pol, params) in enumerate(plan.policies):
        # events may edit the parameter arrays: each policy starts from the sampled inputs
        res = run_batch(inp.with_params(), plan.grid, pol, params, method=plan.method,
                        tiers=sc.tiers, regions=sc.regions.name,
                        save=None if plan.indicators else need,
                        parallel=parallel, cal=cal, events=plan.events,
                        policy_inputs=policy_inputs(sc, pol, tuple(table[i] for i in pol.indicators)))
        vals = {**res.values, **group_aggregates(res.values, sending)}
        rows = slice(p, n * P, P)
        for name in plan.save_names:
            outputs[name][rows] = vals[name]
        for name in pol.state:
            outputs[f"state_{name}"][rows] = vals[f"state_{name}"]
        fail_not_finite(res, {name: vals[name] for name in plan.save_names})
        errors: dict[int, list[str]] = {i: [str(err)] for i, err in res.faults.items()}
        for i in range(n):
            if plan.indicators and res.status[i] == RunStatus.OK:
                # a failing indicator leaves its own values missing (NaN), not the run a fault
                for err in _indicators_of_run(plan, res, vals, i, outputs, i * P + p):
                    errors.setdefault(i, []).append(str(err))
        status[rows] = res.status
        fail_time[rows] = res.fail_time
        fail_stock[rows] = st.stock_of_index(res.fail_index, R, S)
        for i, errs in errors.items():
            run = (u0 + i) * P + p
            faults[run - u0 * P] = (f"run {run} (sample {samples[i]}, replicate {reps[i]}, "
                                    f"policy {pol.name}): {' '.join('; '.join(errs).split())}")
    if not valid.all():
        bad = np.repeat(~valid, P)
        status[bad] = RunStatus.INVALID_INPUT
        fail_time[bad] = np.nan
        fail_stock[bad] = -1
        for v in outputs.values():
            v[bad] = np.nan
    inputs = {k: np.repeat(v, P, axis=0) for k, v in values.items()}
    return st.BlockData(outputs, inputs, status, fail_time, fail_stock, faults)


def _indicators_of_run(plan: Plan, res: BatchResult, vals: Mapping[str, np.ndarray], i: int,
                       outputs: dict[str, np.ndarray], row: int) -> list[IndicatorError]:
    """The plugin indicators of run i of a batch into `outputs` row `row` (from the run as a
    Dataset, as `gsim.simulate` computes them), one at a time: an indicator that fails leaves
    its row NaN. Returns the errors of those that failed."""
    ds = to_dataset(plan.scenario, res.times, {k: v[i] for k, v in vals.items()}, {})
    errors = []
    for ind, _ in plan.indicators:
        try:
            outputs[ind.name][row] = add_indicators(ds, {ind.name: ind})[ind.name].values
        except IndicatorError as err:
            errors.append(err)
    return errors


# ----------------------------------------------------------------------------------------
# executors
# ----------------------------------------------------------------------------------------
WriteFn = Callable[[int, st.BlockData], None]


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C: the blocks written so far are done; the store is resumable."""


def resolve_workers(workers: int | None) -> int:
    """-j N, else the GSIM_WORKERS environment variable (read now), else all cores."""
    if workers is None:
        env = os.environ.get("GSIM_WORKERS", "").strip()
        if env:
            try:
                workers = int(env)
            except ValueError:
                raise ValueError(f"GSIM_WORKERS must be a positive integer, got {env!r}") from None
        else:
            workers = os.cpu_count() or 1
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    return workers


@dataclass
class LocalExecutor:
    """One process, `workers` threads, each computing whole blocks with the serial kernel.

    The compiled kernels release the GIL (nogil), so blocks on different threads run on
    different cores; no block ever runs a parallel kernel, so threads never oversubscribe.
    Results are written by the calling thread as blocks complete (each into its own region).
    """

    workers: int | None = None

    def __post_init__(self) -> None:
        resolve_workers(self.workers)  # a bad -j or GSIM_WORKERS fails before anything starts

    def run(self, plan: Plan, blocks: Iterable[int], write: WriteFn) -> None:
        j = resolve_workers(self.workers)
        if j == 1:
            for b in blocks:
                write(b, compute_block(plan, b, parallel=False))
        else:
            _threaded(plan, list(blocks), j, write)


def _threaded(plan: Plan, blocks: list[int], j: int, write: WriteFn) -> None:
    todo = iter(blocks)
    with ThreadPoolExecutor(max_workers=j, thread_name_prefix="gsim-block") as pool:
        running = {}
        try:
            for b in todo:
                running[pool.submit(compute_block, plan, b, False)] = b
                if len(running) >= 2 * j:
                    break
            while running:
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for fut in finished:
                    b = running.pop(fut)
                    write(b, fut.result())
                    nxt = next(todo, None)
                    if nxt is not None:
                        running[pool.submit(compute_block, plan, nxt, False)] = nxt
        except BaseException:
            for fut in running:  # Ctrl-C: drop queued blocks; blocks in progress finish
                fut.cancel()
            raise


def _dask_block(plan: Plan, b: int) -> tuple[int, st.BlockData]:
    """A Dask task: one whole block on the serial kernel (one numba thread per worker)."""
    import numba

    numba.set_num_threads(1)
    return b, compute_block(plan, b, parallel=False)


CONNECT_TIMEOUT = 10  # seconds to reach a Dask scheduler


class SchedulerUnreachable(ValueError):
    """No Dask scheduler answered at the given address (a one-line error, exit 2)."""


@dataclass
class DaskExecutor:
    """Blocks as Dask tasks; `scheduler` address of a running cluster, or `n_workers` local
    worker processes (one thread each) on 127.0.0.1. The client writes the store."""

    scheduler: str | None = None
    n_workers: int | None = None
    max_in_flight: int | None = None
    _client: Any = field(default=None, init=False, repr=False)
    _cluster: Any = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.n_workers is not None and self.n_workers < 1:
            raise ValueError(f"--dask-workers must be >= 1, got {self.n_workers}")
        if self.scheduler is not None and not self.scheduler.strip():
            raise ValueError("--scheduler: empty address")

    def start(self) -> None:
        """Reach the scheduler (or start the local cluster) now, so that a wrong address fails
        within CONNECT_TIMEOUT seconds, before a store is created."""
        if self._client is not None:
            return
        from dask.distributed import Client, LocalCluster

        if self.scheduler:
            try:
                self._client = Client(self.scheduler, timeout=f"{CONNECT_TIMEOUT}s")
            except Exception as e:  # noqa: BLE001 - any failure to connect means: not reachable
                raise SchedulerUnreachable(
                    f"--scheduler {self.scheduler}: no Dask scheduler answered within {CONNECT_TIMEOUT} s "
                    f"({type(e).__name__}: {' '.join(str(e).split())[:160]})") from None
        else:
            self._cluster = LocalCluster(n_workers=self.n_workers or resolve_workers(None),
                                         threads_per_worker=1, processes=True, host="127.0.0.1",
                                         dashboard_address=None)
            self._client = Client(self._cluster)

    def close(self) -> None:
        """Shut the client and any local cluster down. Connections closing while the workers
        stop make distributed log tracebacks that say nothing about the sweep (its blocks are
        written or will be resumed), so its loggers are quiet for the shutdown."""
        client, cluster, self._client, self._cluster = self._client, self._cluster, None, None
        log = logging.getLogger("distributed")
        level = log.level
        log.setLevel(logging.CRITICAL)
        try:
            if client is not None:
                client.close(timeout=CONNECT_TIMEOUT)
            if cluster is not None:
                cluster.close(timeout=CONNECT_TIMEOUT)
        finally:
            log.setLevel(level)

    def run(self, plan: Plan, blocks: Iterable[int], write: WriteFn) -> None:
        from dask.distributed import as_completed

        self.start()
        client = self._client
        ac = as_completed()
        try:
            nw = max(1, len(client.scheduler_info().get("workers", {})))
            window = self.max_in_flight or 2 * nw + 1
            [plan_f] = client.scatter([plan], broadcast=True)
            todo = iter(blocks)
            for b in todo:
                ac.add(client.submit(_dask_block, plan_f, b, pure=False))
                if ac.count() >= window:
                    break
            for fut in ac:
                b, data = fut.result()
                fut.release()
                write(b, data)
                nxt = next(todo, None)
                if nxt is not None:
                    ac.add(client.submit(_dask_block, plan_f, nxt, pure=False))
        finally:
            ac.clear()  # blocks still running (an interrupt, a failed write) are not waited for
            self.close()


# ----------------------------------------------------------------------------------------
# sweep, resume
# ----------------------------------------------------------------------------------------
@dataclass
class SweepReport:
    store: str
    n_runs: int
    computed: int  # runs computed in this call
    failed: int  # failed or invalid runs among all done runs
    seconds: float
    config_hash: str
    samples: int = 0
    replicates: int = 0
    n_policies: int = 0
    faults: list[str] = field(default_factory=list)  # plugin faults of this call, in words
    repaired: tuple[str, ...] = ()  # damage found and recomputed: one line per block / coordinates
    pending: int = 0  # runs still not done (after a repair, which computes only damaged runs)

    @property
    def runs_per_second(self) -> float:
        return self.computed / self.seconds if self.seconds > 0 else float("nan")


@dataclass(frozen=True)
class Progress:
    """What a progress callback is told: once at the start, then after every block."""

    total: int  # runs in the sweep
    done: int  # runs done, including those done before a resume
    computed: int  # runs computed by this call so far
    failed: int  # failed runs among those computed by this call


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
    counts = {"done": 0, "computed": 0, "failed": 0}
    status = np.zeros(plan.spec.n_runs, np.int8)
    faults: list[str] = []

    def tell() -> None:
        if progress is not None:
            progress(Progress(plan.spec.n_runs, counts["done"], counts["computed"], counts["failed"]))

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
        counts["failed"] += data.n_failed
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
    return SweepReport(path, plan.spec.n_runs, counts["computed"],
                       int((status >= RunStatus.FAILED).sum()), time.perf_counter() - t_start,
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
