"""`gsim sweep`, `gsim summary`, `gsim export` (through `gsim.sweeps.sweep` / `resume`)."""

from __future__ import annotations

import sys
import time

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from gsim.analysis import quicklook
from gsim.cli.base import (
    UsageFailure,
    check_store_name,
    compile_first,
    fitted_console,
    load_scenario_or_fail,
    main,
    netcdf_path,
    not_empty,
    one_line,
    parse_years,
    positive,
    with_model,
)
from gsim.matching import MatchError, sweep_from_nroy
from gsim.output import atomic_write
from gsim.params import MODELS
from gsim.sweeps import analysis, engine
from gsim.sweeps import store as st
from gsim.sweeps.spec import SAMPLERS

EXIT_PLUGIN_FAULTS = 3  # the sweep completed, but a plugin failed for some runs


class _ProgressBar:
    """A rich progress bar on stderr: runs done / total, runs/s, ETA, runs failed or of invalid input."""

    def __init__(self, enabled: bool, compile_here: bool = True):
        self.enabled, self.compile_here = enabled, compile_here
        self.compiling = 0.0  # seconds spent compiling the model before the first run
        self.prog = Progress(
            TextColumn("sweep"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[rate]:>8} runs/s"), TextColumn("ETA"),
            TimeRemainingColumn(), TextColumn("{task.fields[not_ok]}"),
            console=Console(stderr=True), disable=not enabled, transient=False,
        )
        self.task: TaskID | None = None
        self.t0 = time.perf_counter()

    def __enter__(self) -> _ProgressBar:
        self.prog.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.prog.__exit__(*exc)

    def __call__(self, p: engine.Progress) -> None:
        if self.task is None:  # the sweep is about to compute: compile first, saying so
            if self.compile_here:
                t = time.perf_counter()
                self.prog.stop()
                compile_first(batch=True)
                self.prog.start()
                self.compiling = time.perf_counter() - t
            self.task = self.prog.add_task("sweep", total=p.total, completed=p.done, rate="-", not_ok=not_ok(p.counts))
            self.t0 = time.perf_counter()
            return
        rate = p.computed / max(time.perf_counter() - self.t0, 1e-9)
        self.prog.update(self.task, completed=p.done, rate=f"{rate:,.0f}", not_ok=not_ok(p.counts))


def not_ok(counts) -> str:
    """What became of the runs not ok, from their statuses (`gsim.sweeps.store.run_counts`):
    '3 failed, 2 with invalid inputs, 1 stopped by a plugin'; the failed always, the others
    when there are any (invalid inputs are not integrated: they did not fail)."""
    parts = [f"{counts.get('n_failed', 0)} failed"]
    if counts.get("n_invalid"):
        parts.append(f"{counts['n_invalid']} with invalid inputs")
    if counts.get("n_plugin_fault"):
        parts.append(f"{counts['n_plugin_fault']} stopped by a plugin")
    return ", ".join(parts)


@main.command("sweep")
@click.argument("scenario_file", required=False, metavar="[SCENARIO]")
@click.option("--samples", "-n", type=int, default=None, callback=positive,
              help="Number of samples (saltelli: the base N of N(D+2) samples) "
                   "[default: the scenario's [sweep] samples].")
@click.option("--sampler", type=click.Choice(list(SAMPLERS)), default=None,
              help="Sampler [default: the scenario's, else lhs].")
@click.option("--seed", type=int, default=None, help="Root seed.")
@click.option("--replicates", type=int, default=None, callback=positive, help="Replicates per sample.")
@click.option("--policies", default=None, metavar="A,B,...", callback=not_empty,
              help="Policies (levers) to compare, comma-separated.")
@click.option("--save", type=click.Choice(["indicators", "regions", "full"]), default=None,
              help="What to save per run [default: indicators].")
@click.option("--t1", type=float, default=None, help="Final year [default: the scenario's].")
@click.option("--model", type=click.Choice(list(MODELS)), default=None,
              help="gtm1 (the reference specification) or gtm2 [default: the scenario's].")
@click.option("--block-size", type=int, default=None, callback=positive,
              help="Samples x replicates per block (task) [default: 64].")
@click.option("--out", "-o", default=None, metavar="STORE", callback=not_empty,
              help="New Zarr store to create [default: sweep.zarr].")
@click.option("--from", "from_store", default=None, metavar="NROY_STORE", callback=not_empty,
              help="Sample the NROY points of a history-match store (gsim match) instead of fresh samples.")
@click.option("--resume", "resume_store", default=None, metavar="STORE", callback=not_empty,
              help="Continue an interrupted sweep: verify the runs done, compute those not done or damaged.")
@click.option("--verify", "verify_store", default=None, metavar="STORE", callback=not_empty,
              help=f"Check every done run of STORE against its checksums; exit 0 if clean, "
                   f"{st.StoreDamaged.exit_code} if damage was found.")
@click.option("--repair", is_flag=True, default=False,
              help="With --verify: recompute the damaged runs (pending runs stay pending).")
@click.option("--retry-faults", is_flag=True, default=False,
              help="With --resume: compute again the blocks holding runs with a plugin fault.")
@click.option("-j", "--workers", type=int, default=None, callback=positive,
              help="Threads of the local executor [default: $GSIM_WORKERS, else all cores].")
@click.option("--scheduler", default=None, metavar="ADDRESS", callback=not_empty,
              help="Run on a running Dask cluster (e.g. tcp://host:8786).")
@click.option("--dask-workers", type=int, default=None, metavar="N", callback=positive,
              help="Start a Dask LocalCluster of N one-thread workers on 127.0.0.1.")
@click.option("--progress/--no-progress", default=None,
              help="Progress bar on stderr [default: when stderr is a terminal].")
@click.option("--summary/--no-summary", "show_summary", default=True,
              help="Print the summary when done [default: yes].")
def sweep_command(scenario_file, samples, sampler, seed, replicates, policies, save, t1, model,
                  block_size, out, from_store, resume_store, verify_store, repair, retry_faults, workers, scheduler,
                  dask_workers, progress, show_summary):
    """Monte Carlo sweep of SCENARIO (default: the embedded china31) into a Zarr store.

    Every sample runs under every policy with the same sampled inputs (paired
    comparisons). Ctrl-C stops cleanly; `gsim sweep --resume STORE` continues.
    `gsim sweep --verify STORE [--repair]` checks a store (and recomputes damaged runs).
    """
    if scheduler and dask_workers:
        raise UsageFailure("give either --scheduler or --dask-workers, not both")
    if workers is not None and workers < 1:
        raise UsageFailure(f"-j/--workers must be >= 1, got {workers}")
    if sum(map(bool, (out, resume_store, verify_store))) > 1:
        raise UsageFailure("give one of --out (a new sweep), --resume STORE or --verify STORE")
    if repair and not verify_store:
        raise UsageFailure("--repair goes with --verify STORE")
    if from_store and (resume_store or verify_store):
        raise UsageFailure("--from makes a new sweep: not with --resume or --verify")
    if retry_faults and not resume_store:
        raise UsageFailure("--retry-faults goes with --resume STORE")
    check_store_name("--out", out, "sweep", "sweep.zarr",
                     "gsim export STORE --netcdf FILE (or --csv FILE) writes a file from it")
    options = {"samples": samples, "sampler": sampler, "seed": seed,
               "replicates": replicates, "policies": policies, "save": save, "t1": t1,
               "block_size": block_size}
    options = {k: v for k, v in options.items() if v is not None}
    if resume_store and "block_size" in options:
        raise UsageFailure("--block-size cannot change on --resume (the store's chunks fix it)")
    if model is not None and (resume_store or verify_store):
        raise UsageFailure("--model goes with a new sweep (a store keeps its scenario's model)")
    if verify_store and (options or scenario_file):
        raise UsageFailure("--verify takes no scenario or sweep options (the store has its own)")
    if verify_store and not repair:
        _verify(verify_store)
        return
    executor: engine.Executor
    try:
        if scheduler is not None or dask_workers is not None:
            executor = engine.DaskExecutor(scheduler=scheduler, n_workers=dask_workers)
        else:
            executor = engine.LocalExecutor(workers)
    except ValueError as e:  # e.g. GSIM_WORKERS
        raise UsageFailure(one_line(e)) from None
    show = sys.stderr.isatty() if progress is None else progress
    path = resume_store or verify_store or out or "sweep.zarr"
    try:
        # local workers share this machine's cache (a remote cluster has its own)
        with _ProgressBar(show, compile_here=not scheduler) as bar:
            if verify_store:
                report = engine.repair(verify_store, executor=executor, progress=bar)
            elif resume_store:
                report = engine.resume(resume_store, scenario_file, options, executor=executor, progress=bar,
                                       retry_faults=retry_faults)
            elif from_store:
                scenario = with_model(load_scenario_or_fail(scenario_file), model) if model else scenario_file
                report = _sweep_from(path, from_store, scenario, options, executor, bar)
            else:
                scenario = with_model(load_scenario_or_fail(scenario_file), model) if model else scenario_file
                report = engine.sweep(path, scenario, options, executor=executor, progress=bar)
    except engine.SweepInterrupted as e:
        click.echo(f"gsim: {e}", err=True)
        sys.exit(130)
    except ValueError as e:  # e.g. GSIM_WORKERS
        raise UsageFailure(one_line(e)) from None
    seconds = max(report.seconds - bar.compiling, 1e-9)  # the sweep's own time, not compiling
    click.echo(
        f"{path}: {report.n_runs} runs ({report.samples} samples x "
        f"{report.replicates} replicates x {report.n_policies} policies), "
        f"{report.computed} computed in {seconds:.1f} s "
        f"({report.computed / seconds:,.0f} runs/s), {not_ok(report.counts)}",
        err=True,
    )
    for line in report.repaired:
        click.echo(f"{path}: repaired {line}", err=True)
    for line in report.faults[:5]:
        click.echo(f"gsim: plugin fault: {line}", err=True)
    if report.faults:
        more = f" ({len(report.faults) - 5} more not shown here)" if len(report.faults) > 5 else ""
        click.echo(f"gsim: {len(report.faults)} run(s) with a plugin fault{more}; every message is stored "
                   f"per run (gsim summary {path} --faults); a failing policy or event stops its run "
                   "(status plugin_fault), a failing indicator leaves only its own values missing; "
                   f"gsim sweep --resume {path} --retry-faults computes them again", err=True)
    if report.pending:
        click.echo(f"{path}: {report.pending} runs pending: gsim sweep --resume {path}", err=True)
    elif show_summary and not verify_store:
        _print_quicklook(path, None, None)
    if report.faults:
        sys.exit(EXIT_PLUGIN_FAULTS)


def _sweep_from(path, from_store, scenario_file, options, executor, bar) -> engine.SweepReport:
    """A sweep on the NROY points of a history-match store (gsim.matching)."""
    try:
        return sweep_from_nroy(path, from_store, scenario_file, options, executor=executor, progress=bar)
    except MatchError as e:
        raise UsageFailure(one_line(e)) from None


def _print_quicklook(store, years, baseline) -> None:
    """The readable summary (gsim.analysis.quicklook)."""
    con = fitted_console()
    for item in quicklook.render(quicklook.quicklook(store, years, baseline)):
        con.print(item)


def _verify(path: str) -> None:
    """--verify without --repair: the report on stdout; exit 0 if clean, else StoreDamaged's code."""
    health = st.verify(path)
    if health.metadata:  # nothing else was checked: one line, as for other unrepairable damage
        click.echo(health.refusal())
        sys.exit(st.StoreDamaged.exit_code)
    click.echo(health.headline())
    for line in health.damage():
        click.echo(f"  damaged: {line}")
    if not health.ok:
        click.echo(f"  {health.repair_hint()}")
        sys.exit(st.StoreDamaged.exit_code)
    if health.n_pending:
        click.echo(f"  pending runs: gsim sweep --resume {path} computes them")


@main.command("summary")
@click.argument("store")
@click.option("--years", default=None, metavar="Y1,Y2,...",
              help="Years to report [default: the last of the sweep's years; with --all: the "
                   "sweep's years, else the last year].")
@click.option("--baseline", default=None, metavar="POLICY",
              help="Policy the others are compared with [default: the sweep's business as usual (market)].")
@click.option("--all", "full", is_flag=True,
              help="Every statistic: per policy median [5%, 95%], win shares of every pair.")
@click.option("--csv", "csv_path", default=None, metavar="FILE", callback=not_empty,
              help="Also write the statistics and win shares as CSV (FILE, FILE.wins.csv).")
@click.option("--faults", "show_faults", is_flag=True,
              help="List every run with a plugin fault and its message(s), then stop.")
def summary_command(store, years, baseline, full, csv_path, show_faults):
    """A quick look at a sweep STORE, one table per year.

    Per indicator, the baseline policy's median and each other policy's median paired
    change and share of samples better (fits the terminal, 80 columns by default); --all for
    every policy's median and 5-95% range and every pair's win shares; --faults lists the
    runs stopped by a plugin fault."""
    if show_faults:
        faults = analysis.run_faults(store)
        for _, line in faults:
            click.echo(line)
        click.echo(f"{store}: {len(faults)} run(s) with a plugin fault", err=True)
        return
    if csv_path:
        analysis.outside(store, csv_path, "--csv")
    ys = parse_years(years)
    try:
        s = analysis.summarize(store, ys) if full or csv_path else None
    except ValueError as e:
        raise UsageFailure(one_line(e)) from None
    if s is not None and full:
        click.echo(analysis.format_summary(s), nl=False)
    else:
        _print_quicklook(store, ys, baseline)
    if s is not None and csv_path:
        with atomic_write(csv_path) as tmp:
            s.stats.to_csv(tmp, index=False)
        with atomic_write(f"{csv_path}.wins.csv") as tmp:
            s.wins.to_csv(tmp, index=False)


@main.command("export")
@click.argument("store")
@click.option("--netcdf", "nc_path", default=None, metavar="FILE", help="Write netCDF-4.", callback=netcdf_path)
@click.option("--csv", "csv_path", default=None, metavar="FILE", callback=not_empty,
              help="Write CSV, one row per (run, time).")
def export_command(store, nc_path, csv_path):
    """Export a sweep store to netCDF-4 and/or CSV (streamed chunk by chunk)."""
    if not nc_path and not csv_path:
        raise UsageFailure("give --netcdf FILE and/or --csv FILE")
    if nc_path:
        analysis.export_netcdf(store, nc_path)
        click.echo(f"wrote {nc_path}", err=True)
    if csv_path:
        rows = analysis.export_csv(store, csv_path)
        click.echo(f"wrote {csv_path} ({rows} rows)", err=True)
