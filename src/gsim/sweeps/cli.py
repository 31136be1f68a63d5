"""`gsim sweep`, `gsim summary`, `gsim export`: added to the main click group by `register`.

Heavy modules (numba, zarr, dask) are imported inside the commands, so `gsim --help` stays fast.
"""

from __future__ import annotations

import sys
import time

import click


class SweepUsageError(click.ClickException):
    """A user error (bad sweep spec, store, option): one line on stderr, exit code 2."""

    exit_code = 2


def _user_errors() -> tuple[type[BaseException], ...]:
    from gsim.scenario import ScenarioError
    from gsim.sweeps.spec import SweepSpecError
    from gsim.sweeps.store import StoreError

    return (ScenarioError, SweepSpecError, StoreError)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


class _Progress:
    """A rich progress bar on stderr: runs done / total, runs/s, ETA, failures."""

    def __init__(self, total: int, done: int, enabled: bool):
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self.enabled = enabled
        self.prog = Progress(
            TextColumn("sweep"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[rate]:>8} runs/s"), TextColumn("ETA"),
            TimeRemainingColumn(), TextColumn("failed {task.fields[failed]}"),
            console=Console(stderr=True), disable=not enabled, transient=False,
        )
        self.task = self.prog.add_task("sweep", total=total, completed=done, rate="-", failed=0)
        self.t0 = time.perf_counter()
        self.new = 0
        self.failed = 0

    def __enter__(self):
        self.prog.__enter__()
        return self

    def __exit__(self, *exc):
        return self.prog.__exit__(*exc)

    def __call__(self, runs: int, failed: int) -> None:
        self.new += runs
        self.failed += failed
        rate = self.new / max(time.perf_counter() - self.t0, 1e-9)
        self.prog.update(self.task, advance=runs, rate=f"{rate:,.0f}", failed=self.failed)


def register(main: click.Group) -> None:
    """Add the sweep commands to the `gsim` group."""

    @main.command("sweep")
    @click.argument("scenario_file", required=False, metavar="[SCENARIO]")
    @click.option("--samples", "-n", type=int, default=None,
                  help="Number of samples (saltelli: the base N of N(D+2) samples) "
                       "[default: the scenario's [sweep] samples].")
    @click.option("--sampler", type=click.Choice(["mc", "lhs", "sobol", "saltelli"]), default=None,
                  help="Sampler [default: the scenario's, else lhs].")
    @click.option("--seed", type=int, default=None, help="Root seed.")
    @click.option("--replicates", type=int, default=None, help="Replicates per sample.")
    @click.option("--policies", default=None, metavar="A,B,...",
                  help="Policies (levers) to compare, comma-separated.")
    @click.option("--save", type=click.Choice(["indicators", "regions", "full"]), default=None,
                  help="What to save per run [default: indicators].")
    @click.option("--t1", type=float, default=None, help="Final year [default: the scenario's].")
    @click.option("--block-size", type=int, default=None,
                  help="Samples x replicates per block (task) [default: 64].")
    @click.option("--out", "-o", default=None, metavar="STORE",
                  help="New Zarr store to create [default: sweep.zarr].")
    @click.option("--resume", "resume_store", default=None, metavar="STORE",
                  help="Continue an interrupted sweep: compute only the runs not done.")
    @click.option("-j", "--workers", type=int, default=None,
                  help="Threads of the local executor [default: $GSIM_WORKERS, else all cores].")
    @click.option("--scheduler", default=None, metavar="ADDRESS",
                  help="Run on a running Dask cluster (e.g. tcp://host:8786).")
    @click.option("--dask-workers", type=int, default=None, metavar="N",
                  help="Start a Dask LocalCluster of N one-thread workers on 127.0.0.1.")
    @click.option("--progress/--no-progress", default=None,
                  help="Progress bar on stderr [default: when stderr is a terminal].")
    @click.option("--summary/--no-summary", "show_summary", default=True,
                  help="Print the summary when done [default: yes].")
    def sweep_command(scenario_file, samples, sampler, seed, replicates, policies, save, t1,
                      block_size, out, resume_store, workers, scheduler, dask_workers, progress,
                      show_summary):
        """Monte Carlo sweep of SCENARIO (default: the embedded china31) into a Zarr store.

        Every sample runs under every policy with the same sampled inputs (paired
        comparisons). Ctrl-C stops cleanly; `gsim sweep --resume STORE` continues.
        """
        from gsim.sweeps import engine
        from gsim.sweeps import store as st
        from gsim.sweeps.analysis import format_summary, summarize

        if scheduler and dask_workers:
            raise SweepUsageError("give either --scheduler or --dask-workers, not both")
        if workers is not None and workers < 1:
            raise SweepUsageError(f"-j/--workers must be >= 1, got {workers}")
        if dask_workers is not None and dask_workers < 1:
            raise SweepUsageError(f"--dask-workers must be >= 1, got {dask_workers}")
        if resume_store and out:
            raise SweepUsageError("give either --out (a new sweep) or --resume STORE, not both")
        options = {"samples": samples, "sampler": sampler, "seed": seed,
                   "replicates": replicates, "policies": policies, "save": save, "t1": t1,
                   "block_size": block_size}
        options = {k: v for k, v in options.items() if v is not None}
        if resume_store and "block_size" in options:
            raise SweepUsageError("--block-size cannot change on --resume (the store's chunks fix it)")
        if scheduler or dask_workers:
            executor = engine.DaskExecutor(scheduler=scheduler, n_workers=dask_workers)
        else:
            executor = engine.LocalExecutor(workers)
        show = sys.stderr.isatty() if progress is None else progress
        path = resume_store or out or "sweep.zarr"
        try:
            if resume_store:
                g = st.open_store(resume_store, mode="r+")
                expect = None
                if scenario_file is not None or options:
                    from gsim.scenario import load_scenario
                    from gsim.sweeps.spec import parse_spec

                    sc = load_scenario(scenario_file)
                    expect = engine.make_plan(sc, parse_spec(sc, options)).config_hash
                plan = engine.check_resumable(g, resume_store, expect)
            else:
                from gsim.scenario import load_scenario
                from gsim.sweeps.spec import parse_spec

                sc = load_scenario(scenario_file)
                plan = engine.make_plan(sc, parse_spec(sc, options))
                engine.resolve_workers(workers)  # GSIM_WORKERS errors before creating a store
                g = st.create_store(path, plan, engine._attrs(plan))
            done = int(st.done_mask(g).sum())
            with _Progress(plan.spec.n_runs, done, show) as bar:
                report = engine._execute(g, plan, executor, bar, path)
        except engine.SweepInterrupted as e:
            click.echo(f"gsim: {e}", err=True)
            sys.exit(130)
        except _user_errors() as e:
            raise SweepUsageError(_one_line(e)) from None
        except ValueError as e:  # e.g. GSIM_WORKERS
            raise SweepUsageError(_one_line(e)) from None
        click.echo(
            f"{path}: {report.n_runs} runs ({plan.spec.n_samples} samples x "
            f"{plan.spec.replicates} replicates x {len(plan.spec.policies)} policies), "
            f"{report.computed} computed in {report.seconds:.1f} s "
            f"({report.runs_per_second:,.0f} runs/s), {report.failed} failed",
            err=True,
        )
        if show_summary:
            click.echo(format_summary(summarize(path)), nl=False)

    @main.command("summary")
    @click.argument("store")
    @click.option("--years", default=None, metavar="Y1,Y2,...",
                  help="Years to report [default: the sweep's years, else the last year].")
    @click.option("--csv", "csv_path", default=None, metavar="FILE",
                  help="Also write the statistics and win shares as CSV (FILE, FILE.wins.csv).")
    def summary_command(store, years, csv_path):
        """Per policy: median and 5-95% range of each indicator; paired win shares."""
        from gsim.sweeps.analysis import format_summary, summarize

        try:
            ys = [float(y) for y in years.split(",")] if years else None
        except ValueError:
            raise SweepUsageError(f"--years: expected numbers separated by commas, got {years!r}") from None
        try:
            s = summarize(store, ys)
        except (*_user_errors(), ValueError) as e:
            raise SweepUsageError(_one_line(e)) from None
        click.echo(format_summary(s), nl=False)
        if csv_path:
            s.stats.to_csv(csv_path, index=False)
            s.wins.to_csv(f"{csv_path}.wins.csv", index=False)

    @main.command("export")
    @click.argument("store")
    @click.option("--netcdf", "nc_path", default=None, metavar="FILE", help="Write netCDF-4.")
    @click.option("--csv", "csv_path", default=None, metavar="FILE",
                  help="Write CSV, one row per (run, time).")
    def export_command(store, nc_path, csv_path):
        """Export a sweep store to netCDF-4 and/or CSV (streamed chunk by chunk)."""
        from gsim.sweeps.analysis import export_csv, export_netcdf

        if not nc_path and not csv_path:
            raise SweepUsageError("give --netcdf FILE and/or --csv FILE")
        try:
            if nc_path:
                export_netcdf(store, nc_path)
                click.echo(f"wrote {nc_path}", err=True)
            if csv_path:
                rows = export_csv(store, csv_path)
                click.echo(f"wrote {csv_path} ({rows} rows)", err=True)
        except _user_errors() as e:
            raise SweepUsageError(_one_line(e)) from None
