"""`gsim scenario show|check`, `gsim run`, `gsim compile`."""

from __future__ import annotations

import re
import subprocess
import sys
import time

import click
from rich.console import Console

from gsim import api
from gsim.api import RunFailed, run_scenario
from gsim.cli import base
from gsim.cli.base import (
    UsageFailure,
    compile_first,
    load_scenario_or_fail,
    main,
    netcdf_path,
    not_empty,
    with_model,
)
from gsim.output import check_writable, write_netcdf
from gsim.params import METHODS, MODEL_LABELS, MODELS, SCALAR_PARAMS, TIER_PARAMS, param_label
from gsim.plugins import get_plugin_manager
from gsim.policies import PolicyError
from gsim.scenario import ScenarioError, replace_run


# --- gsim scenario ... -------------------------------------------------------------------
@main.group(cls=base.Group)
def scenario() -> None:
    """Show or check scenario files."""


@scenario.command("show")
@click.argument("scenario_file", required=False, metavar="[SCENARIO]")
def scenario_show(scenario_file: str | None) -> None:
    """Print SCENARIO (default: the embedded china31) fully resolved, as loadable TOML."""
    click.echo(commented(load_scenario_or_fail(scenario_file).toml), nl=False)


def commented(toml: str) -> str:
    """The scenario's TOML with every parameter commented: its label, unit and valid range."""
    out, section = [], ""
    for line in toml.splitlines():
        header = re.fullmatch(r"\[(.+)\]", line)
        if header:
            section = header.group(1)
            tier = section.removeprefix("params.")
            if tier in TIER_PARAMS and section != tier:
                p = TIER_PARAMS[tier]
                out.append(f"# {param_label(tier)}, by tier [{p.unit}], {p.describe()}")
        key = re.match(r"(\w+) = ", line)
        if section == "params" and key and key.group(1) in SCALAR_PARAMS:
            p = SCALAR_PARAMS[key.group(1)]
            line = f"{line:<22} # {param_label(key.group(1))} [{p.unit}], {p.describe()}"
        out.append(line)
    return "\n".join(out) + "\n"


@scenario.command("check")
@click.argument("file")
def scenario_check(file: str) -> None:
    """Validate FILE; print a one-line summary, or the error and exit with code 2."""
    sc = load_scenario_or_fail(file)
    r = sc.run
    pairs = "all pairs" if sc.nearest is None else f"{sc.nearest} nearest"
    click.echo(
        f"OK {file}: scenario {sc.name!r}, {len(sc.regions)} regions, {len(sc.tiers)} tiers, "
        f"{pairs}, t {r.t0:g}-{r.t1:g} dt {r.dt:g} ({r.n_steps} steps), {r.method}, "
        f"policy {r.policy}, hash {sc.hash[:12]}"
    )


# --- gsim run ----------------------------------------------------------------------------
SUMMARY_COLUMNS = (  # (header, how to reduce a run's saved values to one series over time)
    ("real GDP", lambda v: v["real_gdp"]),
    ("Theil", lambda v: v["theil"]),
    ("SUI", lambda v: v["sui_national"]),
    ("1 - u", lambda v: v["overcapacity"].mean(axis=1)),
    ("lost cap.", lambda v: v["lost_capital"]),
    ("failed", lambda v: v["failed_transfer_share"]),
)


def _fmt(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.4f}"


def _summary_table(results: dict):
    """Policies as rows (first and last year), the headline indicators as columns."""
    first = next(iter(results.values()))
    table = base.table(
        title=f"{MODEL_LABELS[first.attrs['model']]} {first.attrs['scenario']}, {first.attrs['method']}, "
              f"dt={first.attrs['dt']:g}",
        caption="real GDP and lost capital in bn CNY/yr; 1 - u: overcapacity, mean over tiers; "
                "failed = failed-transfer share",
    )
    base.text_column(table, "policy")
    base.number_column(table, "year")
    for header, _ in SUMMARY_COLUMNS:
        base.number_column(table, header)
    for name, run in results.items():
        series = [reduce(run.values) for _, reduce in SUMMARY_COLUMNS]
        for i, label in ((0, name), (-1, "")):
            table.add_row(label, f"{run.times[i]:g}", *[_fmt(v[i]) for v in series],
                          end_section=i == -1)
    return table


@main.command("run")
@click.argument("scenario_file", required=False, metavar="[SCENARIO]")
@click.option("--policy", "-p", default=None, callback=not_empty,
              help="Policy name, or 'all' for every registered policy side by side "
                   "[default: the scenario's]; `gsim plugins` lists them.")
@click.option("--method", type=click.Choice(list(METHODS)), default=None,
              help="Integrator [default: the scenario's].")
@click.option("--dt", type=float, default=None, help="Step in years [default: the scenario's].")
@click.option("--t1", type=float, default=None, help="Final year [default: the scenario's].")
@click.option("--model", type=click.Choice(list(MODELS)), default=None,
              help="gtm1 (the reference specification) or gtm2 [default: the scenario's].")
@click.option("--out", "-o", type=click.Path(dir_okay=False), default=None, callback=netcdf_path,
              help="Write the results to this netCDF file (with --policy all: a 'policy' "
                   "dimension).")
def run_command(scenario_file, policy, method, dt, t1, model, out) -> None:
    """Run SCENARIO (default: the embedded 31-province china31) and print a summary.

    \b
    Examples:
      gsim run --policy all
      gsim run my.toml --policy gradient --method rk4 --out gradient.nc
    """
    if out:
        check_writable(out)  # a bad output path fails now, not after the runs
    sc = with_model(load_scenario_or_fail(scenario_file), model)
    names = list(get_plugin_manager().policies()) if policy == "all" else [policy or sc.run.policy]
    try:
        checked = [replace_run(sc, policy=n, method=method, dt=dt, t1=t1) for n in names]
    except ScenarioError as e:
        raise UsageFailure(str(e)) from None
    console = Console()
    pm = get_plugin_manager()
    compile_first(python_loop=any(pm.policies()[n].compiled is None or run_sc.events
                                  for n, run_sc in zip(names, checked) if n in pm.policies()))
    results = {}
    start = time.perf_counter()
    with console.status("simulating…"):
        for name, run_sc in zip(names, checked):
            try:
                results[name] = run_scenario(run_sc)
            except (RunFailed, PolicyError) as e:
                raise click.ClickException(str(e)) from None
    console.print(_summary_table(results))
    console.print(f"{len(results)} run(s) in {time.perf_counter() - start:.2f} s", style="dim")
    if out:
        import xarray as xr

        datasets = [r.to_dataset() for r in results.values()]
        if len(datasets) == 1:
            ds = datasets[0]
        else:
            ds = xr.concat(datasets, dim="policy", combine_attrs="drop_conflicts")
            ds = ds.assign_coords(policy=("policy", list(results), {"long_name": "transfer policy"}))

        write_netcdf(ds, out)
        console.print(f"wrote {out}")


# --- gsim compile ---------------------------------------------------------------------------
@main.command("compile")
def compile_command() -> None:
    """Compile the model for this machine now, instead of at its first use.

    numba keeps the machine code in its cache, so this is needed once per installation
    (`make install` runs it); runs and sweeps otherwise compile what they need first.
    """
    batch = None  # the batch kernels in a second process meanwhile: numba compiles on one core
    if api.needs_compiling(batch=False) and api.needs_compiling(batch=True):
        code = "from gsim.api import compile_model; compile_model(batch=True)"
        batch = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL)
    compile_first(batch=False)
    if batch is not None:
        batch.wait()
    compile_first(batch=True)  # only loads what the second process compiled (or compiles it)
    click.echo("the model is compiled for this machine (numba's cache holds it)", err=True)
