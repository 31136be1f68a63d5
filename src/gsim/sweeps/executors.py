"""The executors that run a sweep's blocks: `LocalExecutor` (threads of one process) and
`DaskExecutor` (Dask worker processes). Each computes whole blocks (`compute_block`) with the
serial kernel and hands every finished block to the calling thread, which writes it."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from gsim.sweeps import store as st
from gsim.sweeps.blocks import Plan, compute_block

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
