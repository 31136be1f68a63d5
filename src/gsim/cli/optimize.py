"""`gsim optimize`: robust many-objective optimisation of a policy's parameters."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from gsim import optimize as opt
from gsim.cli.base import UsageFailure, check_store_name, main, one_line
from gsim.optimize.front import compare, describe
from gsim.scenario import ScenarioError


class _ProgressBar:
    """generation done / total, hypervolume of the archive, runs/s (on stderr)."""

    def __init__(self, enabled: bool):
        self.prog = Progress(TextColumn("optimize"), BarColumn(), MofNCompleteColumn(), TextColumn("generations"),
                             TextColumn("hypervolume {task.fields[hv]}"), TextColumn("{task.fields[rate]} runs/s"),
                             TimeElapsedColumn(), console=Console(stderr=True), disable=not enabled)
        self.task: TaskID | None = None

    def __enter__(self) -> _ProgressBar:
        self.prog.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.prog.__exit__(*exc)

    def __call__(self, done: int, total: int, hv: float, rate: float) -> None:
        if self.task is None:
            self.task = self.prog.add_task("optimize", total=total, hv="-", rate="-")
        self.prog.update(self.task, completed=done, hv=f"{hv:.4f}", rate=f"{rate:,.0f}" if rate else "-")


@main.command("optimize")
@click.argument("scenario_file", required=False, metavar="[SCENARIO]")
@click.option("--policy", default="gradient", show_default=True, help="The policy whose parameters are the levers.")
@click.option("--levers", default=None, metavar="NAME[=LOW:HIGH],...",
              help="Parameters to vary, within their declared bounds or LOW:HIGH [default: every numeric one].")
@click.option("--objectives", default="real_gdp:max,theil:min", show_default=True, metavar="NAME[:max|min[:T]],...",
              help="Indicators to optimise (time-only ones a sweep saves, plugin ones too); NAME alone: its "
                   "better direction; T: satisficing threshold.")
@click.option("--year", type=float, default=None, help="Year of the objectives [default: the scenario's t1].")
@click.option("--cumulate", is_flag=True, default=False, help="Sum the yearly values from t0 to --year instead.")
@click.option("--robustness", default="mean", show_default=True, metavar="METRIC",
              help="mean, pNN (percentile), snr, regret[NN][:bau] (minimax or percentile regret against the "
                   "generation's best, or business as usual), satisficing.")
@click.option("--constraint", "constraints", multiple=True, metavar="NAME>=V[%][:bau][@SHARE]",
              help="e.g. 'real_gdp>=-2%:bau@90': at most 2 % below business as usual in 90 % of scenarios; "
                   "on a per-region output (real_output, ...) in every region (repeat).")
@click.option("--scenarios", type=int, default=None,
              help="Scenarios: an LHS of [sweep.uncertain] [default: 16]; 1: the scenario's own parameters; "
                   "with --scenarios-from, its first N NROY points [default: all].")
@click.option("--scenarios-from", default=None, metavar="MATCH_STORE",
              help="The ensemble: the NROY points of a history-match store (gsim match), applied by name.")
@click.option("--population", type=int, default=24, show_default=True, help="Candidates per generation.")
@click.option("--generations", type=int, default=10, show_default=True, help="Generations.")
@click.option("--seed", type=int, default=1, show_default=True, help="Seed of the optimiser and the ensemble.")
@click.option("--epsilon", type=float, default=0.01, show_default=True,
              help="Archive resolution, a share of the first generation's range of each objective.")
@click.option("--algorithm", type=click.Choice(list(opt.ALGORITHMS)), default="auto", show_default=True,
              help="auto: NSGA-II, NSGA-III beyond three objectives.")
@click.option("-j", "--workers", type=int, default=None, help="Threads [default: all cores]; results do not depend on it.")
@click.option("--out", "-o", default="optimize.zarr", show_default=True, metavar="STORE", help="New Zarr store.")
@click.option("--resume", "resume_store", default=None, metavar="STORE", help="Continue an interrupted optimisation.")
@click.option("--warm-start", default=None, metavar="STORE", help="First population from an earlier store's front.")
def optimize_command(scenario_file, policy, levers, objectives, year, cumulate, robustness, constraints, scenarios,
                     scenarios_from, population, generations, seed, epsilon, algorithm, workers, out, resume_store,
                     warm_start):
    """Find the policy settings that are best for several objectives at once, robustly over
    an ensemble of scenarios; the non-dominated set goes into a Zarr store
    (`gsim.open_optimization`)."""
    if workers is not None and workers < 1:
        raise UsageFailure(f"-j: must be at least 1, got {workers}")
    if resume_store:  # the store holds the search: an option that defines it would be ignored
        ctx = click.get_current_context()
        given = [p.human_readable_name if isinstance(p, click.Argument) else max(p.opts, key=len)
                 for p in ctx.command.params
                 if p.name not in ("resume_store", "workers")
                 and ctx.get_parameter_source(p.name) not in (None, click.core.ParameterSource.DEFAULT)]
        if given:
            raise UsageFailure(f"--resume continues the store's own search; {', '.join(given)} cannot be given "
                               f"with it (start a new store, or --warm-start {resume_store})")
    else:
        check_store_name("--out", out, "optimisation", "optimize.zarr",
                         "read it with gsim.open_optimization(STORE), report it with gsim report --optimization STORE")
    try:
        with _ProgressBar(sys.stderr.isatty()) as bar:
            if resume_store:
                path = opt.resume(resume_store, workers=workers, progress=bar)
            else:
                path = opt.optimize(out, scenario_file, workers=workers, warm_start=warm_start, progress=bar,
                                    policy=policy, levers=levers, objectives=objectives, year=year,
                                    cumulate=cumulate, robustness=robustness, constraints=constraints,
                                    scenarios=scenarios, population=population, generations=generations,
                                    seed=seed, epsilon=epsilon, algorithm=algorithm,
                                    scenarios_from=scenarios_from)
    except (opt.OptimizeError, ScenarioError) as e:
        raise UsageFailure(one_line(e)) from None
    except KeyboardInterrupt:
        if not (resume_store or Path(out).exists()):
            raise click.ClickException("interrupted before any generation was stored; run the command again") \
                from None
        raise click.ClickException(f"interrupted; continue with: gsim optimize --resume {resume_store or out}") \
            from None
    for line in describe(compare(path)):
        click.echo(line)
    click.echo(f"wrote {path}: read it with gsim.open_optimization({str(path)!r}), "
               f"report it with gsim report --optimization {path}", err=True)
