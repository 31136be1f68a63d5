"""Planning, block computation and the executors (local, Dask distributed) of a sweep.

A *unit* is one (sample, replicate); a *block* is a contiguous range of units run under every
policy (common random numbers: all policies see the same inputs). Blocks are the tasks: the
local executor runs them on `workers` threads of one process, the Dask executor sends them
to worker processes; either way a block runs the serial compiled kernel on one core (the
kernels release the GIL), and the calling process writes the results into the store.
Nothing a run computes depends on which block, worker or executor it ran in.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import numpy as np

from gsim import __version__
from gsim.events import scenario_events
from gsim.integrate import TimeGrid, policy_with_params, run_batch
from gsim.model import kernel
from gsim.model.calibrate import calibrate
from gsim.model.inputs import BatchInputs, batch_from_scenario
from gsim.output import VARIABLES
from gsim.scenario import Scenario, loads_scenario, scenario_hash, scenario_to_toml
from gsim.sweeps import store as st
from gsim.sweeps.sampling import apply_values, saltelli_attrs, sampled_values
from gsim.sweeps.spec import SweepSpec, config_hash, parse_spec

INDICATORS = kernel.OBS_0 + ("overcapacity", "margin")


def save_names(level: str) -> tuple[str, ...]:
    """Variables saved at each --save level, in VARIABLES order."""
    if level == "indicators":
        keep = set(INDICATORS)
    elif level == "regions":
        keep = set(INDICATORS) | {n for n, (d, *_r) in VARIABLES.items() if d == ("region",)}
    else:
        keep = set(VARIABLES)
    return tuple(n for n in VARIABLES if n in keep)


@dataclass(frozen=True, eq=False)
class Plan:
    """Everything a worker needs to compute any block (picklable)."""

    scenario: Scenario
    spec: SweepSpec
    method: str
    grid: TimeGrid
    save_names: tuple[str, ...]
    scenario_hash: str
    config_hash: str

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


def make_plan(sc: Scenario, spec: SweepSpec) -> Plan:
    run = sc.run
    grid = TimeGrid.of(run, spec.t1)
    h = scenario_hash(sc)
    return Plan(sc, spec, run.method, grid, save_names(spec.save), h,
                config_hash(sc, spec, h, run.method))


# ----------------------------------------------------------------------------------------
# one block
# ----------------------------------------------------------------------------------------
_BASE: dict[str, BatchInputs] = {}


def _base_inputs(scenario_key: str, sc: Scenario) -> BatchInputs:
    """The scenario's inputs for one run, cached per process by scenario hash."""
    if scenario_key not in _BASE:
        if len(_BASE) > 8:
            _BASE.clear()
        _BASE[scenario_key] = batch_from_scenario(sc, 1)
    return _BASE[scenario_key]


def _repeat(base: BatchInputs, n: int) -> BatchInputs:
    rep = lambda a: np.ascontiguousarray(np.repeat(a, n, axis=0))  # noqa: E731
    return BatchInputs(sp=rep(base.sp), tp=rep(base.tp), reg=rep(base.reg),
                       shares=rep(base.shares), pairs=base.pairs)


def _stock_index(reason: str) -> int:
    name = reason.split("[", 1)[0].strip()
    return st.STOCK_NAMES.index(name) if name in st.STOCK_NAMES else -1


def compute_block(plan: Plan, b: int, parallel: bool) -> st.BlockData:
    """Inputs and results of every run of block b (all policies), rows in run order."""
    sc, spec = plan.scenario, plan.spec
    u0, u1 = plan.units(b)
    units = np.arange(u0, u1)
    n, P = len(units), plan.n_policies
    samples, reps = units // spec.replicates, units % spec.replicates
    R = len(sc.regions)
    values = sampled_values(spec, R, samples, reps)
    base = _repeat(_base_inputs(plan.scenario_hash, sc), n)
    inp, valid = apply_values(base, sc, spec, values)
    cal = calibrate(inp)

    T = len(plan.grid.save_times)
    outputs = {name: np.empty((n * P, T) + tuple(R if d == "region" else len(sc.tiers)
                                                  for d in VARIABLES[name][0]))
               for name in plan.save_names}
    status = np.empty(n * P, np.int8)
    fail_time = np.full(n * P, np.nan)
    fail_stock = np.full(n * P, -1, np.int8)
    for p, pname in enumerate(spec.policies):
        pol, params = policy_with_params(sc, pname)
        # events may edit the parameter arrays: each policy starts from the sampled inputs
        run_inp = BatchInputs(sp=inp.sp.copy(), tp=inp.tp.copy(), reg=inp.reg,
                              shares=inp.shares, pairs=inp.pairs)
        res = run_batch(run_inp, plan.grid, pol, params, method=plan.method, tiers=sc.tiers,
                        regions=sc.regions.name, save=set(plan.save_names), parallel=parallel,
                        cal=cal, events=scenario_events(sc, plan.grid))
        rows = slice(p, n * P, P)
        for name in plan.save_names:
            outputs[name][rows] = res.values[name]
        ok = res.fail_step < 0
        status[rows] = np.where(ok, st.STATUS_OK, st.STATUS_FAILED)
        fail_time[rows] = np.where(ok, np.nan, plan.grid.t0 + res.fail_step * plan.grid.dt)
        fail_stock[rows] = [-1 if o else _stock_index(r) for o, r in zip(ok, res.fail_reason)]
    if not valid.all():
        bad = np.repeat(~valid, P)
        status[bad] = st.STATUS_INVALID
        fail_time[bad] = np.nan
        fail_stock[bad] = -1
        for v in outputs.values():
            v[bad] = np.nan
    inputs = {k: np.repeat(v, P, axis=0) for k, v in values.items()}
    return st.BlockData(outputs, inputs, status, fail_time, fail_stock)


# ----------------------------------------------------------------------------------------
# executors
# ----------------------------------------------------------------------------------------
ProgressFn = Callable[[int, int], None]  # (runs just written, failures among them)


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

    def run(self, plan: Plan, blocks: Iterable[int], write: Callable[[int, st.BlockData], None]) -> None:
        from gsim.plugins import get_policy

        j = resolve_workers(self.workers)
        for name in plan.spec.policies:  # load plugins once, before any thread starts
            get_policy(name)
        if j == 1:
            for b in blocks:
                write(b, compute_block(plan, b, parallel=False))
        else:
            _threaded(plan, list(blocks), j, write)


def _threaded(plan: Plan, blocks: list[int], j: int, write) -> None:
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

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


@dataclass
class DaskExecutor:
    """Blocks as Dask tasks; `scheduler` address of a running cluster, or `n_workers` local
    worker processes (one thread each) on 127.0.0.1. The client writes the store."""

    scheduler: str | None = None
    n_workers: int | None = None
    max_in_flight: int | None = None

    def run(self, plan: Plan, blocks: Iterable[int], write: Callable[[int, st.BlockData], None]) -> None:
        from dask.distributed import Client, LocalCluster, as_completed

        cluster = None
        if self.scheduler:
            client = Client(self.scheduler)
        else:
            cluster = LocalCluster(n_workers=self.n_workers or resolve_workers(None),
                                   threads_per_worker=1, processes=True, host="127.0.0.1",
                                   dashboard_address=None)
            client = Client(cluster)
        try:
            nw = max(1, len(client.scheduler_info().get("workers", {})))
            window = self.max_in_flight or 2 * nw + 1
            [plan_f] = client.scatter([plan], broadcast=True)
            todo = iter(blocks)
            ac = as_completed()
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
            client.close()
            if cluster is not None:
                cluster.close()


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

    @property
    def runs_per_second(self) -> float:
        return self.computed / self.seconds if self.seconds > 0 else float("nan")


def _attrs(plan: Plan) -> dict[str, Any]:
    sc, spec = plan.scenario, plan.spec
    return {
        "scenario": sc.name,
        "scenario_hash": plan.scenario_hash,
        "gsim_version": __version__,
        "config_hash": plan.config_hash,
        "root_seed": spec.seed,
        "sampler": spec.sampler,
        "samples": spec.n_samples,
        **saltelli_attrs(spec),
        "replicates": spec.replicates,
        "policies": list(spec.policies),
        "save": spec.save,
        "method": plan.method,
        "dt": plan.grid.dt,
        "t0": plan.grid.t0,
        "t1": plan.grid.t1,
        "block_size": spec.block_size,
        "sweep_spec": spec.to_json(),
        "scenario_toml": scenario_to_toml(sc),
    }


def plan_from_store(g) -> Plan:
    """Rebuild the plan a store was created with (scenario and spec from its attributes)."""
    sc = loads_scenario(g.attrs["scenario_toml"], source="<store>")
    spec = SweepSpec.from_json(g.attrs["sweep_spec"])
    return make_plan(sc, spec)


def _execute(g, plan: Plan, executor, progress: ProgressFn | None, path: str) -> SweepReport:
    done = st.done_mask(g)
    pending = [b for b in range(plan.n_blocks) if not done[slice(*plan.runs(b))].all()]
    t_start = time.perf_counter()
    computed = 0

    def write(b: int, data: st.BlockData) -> None:
        nonlocal computed
        st.write_block(g, plan.runs(b)[0], data)
        computed += len(data.status)
        if progress is not None:
            progress(len(data.status), data.n_failed)

    try:
        executor.run(plan, pending, write)
    except KeyboardInterrupt:
        raise SweepInterrupted(f"interrupted; {path} is resumable: gsim sweep --resume {path}") from None
    status = np.asarray(g["status"][:])
    return SweepReport(path, plan.spec.n_runs, computed, int((status >= st.STATUS_FAILED).sum()),
                       time.perf_counter() - t_start, plan.config_hash)


def sweep(
    store: str | Path,
    scenario: Scenario | str | Path | None = None,
    options: Mapping[str, Any] | None = None,
    *,
    executor: LocalExecutor | DaskExecutor | None = None,
    progress: ProgressFn | None = None,
) -> SweepReport:
    """Run a Monte Carlo sweep of `scenario` (default: the embedded one) into a new Zarr store.

    options: overrides of the scenario's ``[sweep]`` table (samples, sampler, replicates,
    seed, policies, save, block_size, years, t1). executor: LocalExecutor(workers) (default)
    or DaskExecutor(scheduler=..., n_workers=...). progress(runs, failures) is called after
    each block is written. Raises SweepSpecError for a bad specification.
    """
    from gsim.scenario import load_scenario

    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    spec = parse_spec(sc, options)
    plan = make_plan(sc, spec)
    g = st.create_store(store, plan, _attrs(plan))
    return _execute(g, plan, executor or LocalExecutor(), progress, str(store))


def check_resumable(g, path: str, expect_hash: str | None = None) -> Plan:
    if g.attrs.get("gsim_version") != __version__:
        raise st.StoreError(
            f"{path} was written by gsim {g.attrs.get('gsim_version')}, this is gsim "
            f"{__version__}; results would not be comparable, start a new store")
    plan = plan_from_store(g)
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
    executor: LocalExecutor | DaskExecutor | None = None,
    progress: ProgressFn | None = None,
) -> SweepReport:
    """Compute the runs of `store` that are not done. If a scenario or options are given,
    they must describe the same sweep (same config hash), else StoreError."""
    g = st.open_store(store, mode="r+")
    expect = None
    if scenario is not None or options:
        from gsim.scenario import load_scenario

        sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
        spec = parse_spec(sc, options)
        expect = make_plan(sc, spec).config_hash
    plan = check_resumable(g, str(store), expect)
    return _execute(g, plan, executor or LocalExecutor(), progress, str(store))


def open_sweep(store: str | Path):
    """The sweep as a lazy xarray Dataset: `run` dimension with coordinates sample, replicate,
    policy, status and the sampled inputs (runs not yet done hold NaN / status 0)."""
    import xarray as xr

    g = st.open_store(store)
    ds = xr.open_zarr(str(store), consolidated=False)
    coords = ["sample", "replicate", "policy", "status", "done"]
    spec = SweepSpec.from_json(g.attrs["sweep_spec"])
    coords += [u.target for u in spec.uncertain]
    ds = ds.set_coords([c for c in coords if c in ds])
    ds = ds.assign_coords(run=ds["run"])
    return ds
