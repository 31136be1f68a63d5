"""`gsim match`: history matching of a scenario's `[match]` targets (gsim.matching)."""

from __future__ import annotations

import math
import sys
import time

import click
import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from gsim.analysis.backcast import backcast_scenario
from gsim.cli.base import UsageFailure, check_output, check_store_name, main, not_empty, one_line
from gsim.matching import MatchError, MatchResult, match
from gsim.matching.figures import implausibility_figure, save_figure
from gsim.matching.store import open_match
from gsim.matching.targets import USES
from gsim.matching.waves import narrowing


class _WaveBar:
    """A rich progress bar on stderr per wave: points done / total, runs/s, ETA."""

    def __init__(self, enabled: bool):
        self.prog = Progress(
            TextColumn("wave {task.fields[wave]}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[rate]:>8} runs/s"), TextColumn("ETA"), TimeRemainingColumn(),
            console=Console(stderr=True), disable=not enabled, transient=False,
        )
        self.task: TaskID | None = None
        self.wave = 0
        self.t0 = time.perf_counter()

    def __enter__(self) -> _WaveBar:
        self.prog.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.prog.__exit__(*exc)

    def __call__(self, wave: int, done: int, total: int) -> None:
        if wave != self.wave:
            self.wave, self.t0 = wave, time.perf_counter()
            self.task = self.prog.add_task("match", total=total, completed=done, rate="-", wave=wave)
            return
        assert self.task is not None
        rate = done / max(time.perf_counter() - self.t0, 1e-9)
        self.prog.update(self.task, completed=done, rate=f"{rate:,.0f}")


def wave_table(res: MatchResult) -> list[str]:
    """The per-wave table and the holdout coverage, in at most 80 columns."""
    m = res.problem.match
    reps = res.problem.sweep.replicates
    lines = [f"{'wave':>4} {'runs':>9} {'survivors':>9} {'NROY share':>11} {'min I':>8} {'runs/s':>8}",
             "-" * 54]
    for w in res.waves:
        rate = w.runs * reps / w.seconds if w.seconds > 0 else math.nan
        lines.append(f"{w.number:>4} {w.runs * reps:>9,} {w.survivors:>9,} {w.nroy_share:>11.3g} "
                     f"{w.min_implausibility:>8.3g} {rate:>8,.0f}")
    lines.append(f"cutoff {m.cutoff:g} on the {m.use.replace('_', ' ')} implausibility of "
                 f"{len(m.used)} targets; policy {m.policy}")
    for name, low in res.unmatched().items():
        lines.append(f"  no run within the cutoff on {name[:34]} (min I {low:.2f})")
    edge = [name for name, hit in zip(res.problem.inputs, res.last.at_edge()) if hit]
    if edge:
        lines.append(f"survivors reach the edge of wave {res.last.number}'s box in {', '.join(edge)}"[:80])
        lines.append("  (NROY may extend beyond it: the share may be low; raise match.margin)")
    if len(res.waves) < m.waves:
        lines.append(f"wave {res.last.number} left no point: the whole prior is ruled out")
    band = res.holdout_band()
    if band and not res.last.survivors:
        lines.append(f"held out: {len(band)} targets, not predicted (no NROY point)")
    elif band:
        imp = res.holdout_implausibility()
        lines.append(f"held out: {len(band)} targets, {100 * res.holdout_coverage():.0f} % inside the NROY "
                     "5-95 % band;")
        lines.append(f"  {res.holdout_consistent()} of {len(band)} within the cutoff with the declared variances (I)")
        for name, (z, lo, hi, ok) in band.items():
            lines.append(f"  {name[:34]:<34} {z:>8.4g} [{lo:.4g}, {hi:.4g}] {'in' if ok else 'OUT':<3} "
                         f"I {imp[name]:.2f}")
    return lines + input_lines(res)


def input_lines(res: MatchResult) -> list[str]:
    """Where the NROY sample lies in each input's prior, the most narrowed first."""
    fifths = res.prior_fifths()
    if not fifths:
        return []
    pb, w = res.problem, res.last
    units = w.units[w.nroy]
    values = {name: np.quantile(d.ppf(units[:, j]), [0.05, 0.95])
              for j, (name, d) in enumerate(zip(pb.inputs, pb.sweep.design, strict=True))}
    lines = ["NROY sample per fifth of each input's prior (%; 20 each if not narrowed)"]
    for name in sorted(fifths, key=lambda k: -narrowing(fifths[k])):
        lo, hi = values[name]
        lines.append(f"  {name[:18]:<18} " + " ".join(f"{100 * x:3.0f}" for x in fifths[name])
                     + f"   5-95 %: {lo:.3g}-{hi:.3g}")
    return lines


@main.command("match")
@click.argument("scenario_file", required=False, metavar="[SCENARIO]")
@click.option("--waves", type=int, default=None, help="Number of waves [default: the scenario's [match] waves, else 3].")
@click.option("--samples", "-n", type=int, default=None, help="Points per wave [default: [match] samples, else 1000].")
@click.option("--seed", type=int, default=None, help="Root seed [default: [match] seed, else [sweep] seed].")
@click.option("--cutoff", type=float, default=None, help="Implausibility cutoff [default: 3].")
@click.option("--use", type=click.Choice(list(USES)), default=None,
              help="Which implausibility the cutoff applies to [default: second_max].")
@click.option("-j", "--workers", type=int, default=None,
              help="Threads [default: $GSIM_WORKERS, else all cores]; results do not depend on it.")
@click.option("--out", "-o", default=None, metavar="STORE", callback=not_empty,
              help="New Zarr store [default: match.zarr].")
@click.option("--figure", default=None, metavar="FILE", callback=not_empty,
              help="Also draw the minimum-implausibility / optical-depth plot (.png or .svg).")
@click.option("--progress/--no-progress", default=None,
              help="Progress bar on stderr [default: when stderr is a terminal].")
def match_command(scenario_file, waves, samples, seed, cutoff, use, workers, out, figure, progress):
    """History-match SCENARIO's [match] targets over its [sweep.uncertain] inputs
    (default: the embedded scenario started in 2013 from that year's data, as `gsim
    backcast` runs it, with its [match] targets on 2013-2023).

    Wave 1 samples the prior; each later wave samples the box of the points not ruled out
    (NROY). Writes the points, implausibilities and the NROY sample to a Zarr store
    (gsim.open_match); `gsim sweep --from STORE` runs a sweep on the NROY sample.
    """
    if workers is not None and workers < 1:
        raise UsageFailure(f"-j/--workers must be >= 1, got {workers}")
    check_output("--figure", figure, (".png", ".svg"))
    check_store_name("--out", out, "match", "match.zarr", "read it with gsim.open_match(STORE)")
    out = out or "match.zarr"
    options = {"waves": waves, "samples": samples, "seed": seed, "cutoff": cutoff, "use": use}
    show = sys.stderr.isatty() if progress is None else progress
    try:
        with _WaveBar(show) as bar:
            scenario = backcast_scenario() if scenario_file is None else scenario_file
            res = match(scenario, out, options, workers=workers, progress=bar)
        if figure:
            save_figure(implausibility_figure(open_match(out)), figure)
    except (MatchError, ValueError) as e:
        raise UsageFailure(one_line(e)) from None
    except KeyboardInterrupt:  # the store is written only when every wave is done
        click.echo(f"gsim: interrupted; nothing was written to {out}", err=True)
        sys.exit(130)
    for line in wave_table(res):
        click.echo(line)
    click.echo(f"{out}: {sum(w.runs for w in res.waves)} points in {len(res.waves)} waves, "
               f"{res.last.survivors} in the NROY sample" + (f"; figure {figure}" if figure else ""), err=True)
