"""The `gsim` command line."""

from __future__ import annotations

import click

from gsim import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gsim")
def main() -> None:
    """gsim: simulate gradient industrial transfer between regions."""


# --- user errors (shared by all commands) ------------------------------------------------
class ScenarioFailure(click.ClickException):
    """A user error (bad scenario, bad option value): one line on stderr, exit code 2."""

    exit_code = 2


def load_scenario_or_fail(path=None):
    """load_scenario(path), with a ScenarioError turned into a ScenarioFailure (exit 2)."""
    from gsim.scenario import ScenarioError, load_scenario

    try:
        return load_scenario(path)
    except ScenarioError as e:
        raise ScenarioFailure(str(e)) from None


# --- gsim scenario ... -------------------------------------------------------------------
@main.group()
def scenario() -> None:
    """Show or check scenario files."""


@scenario.command("show")
@click.argument("scenario_file", required=False, metavar="[SCENARIO]")
def scenario_show(scenario_file: str | None) -> None:
    """Print SCENARIO (default: the embedded china31) fully resolved, as loadable TOML."""
    from gsim.scenario import scenario_to_toml

    click.echo(scenario_to_toml(load_scenario_or_fail(scenario_file)), nl=False)


@scenario.command("check")
@click.argument("file")
def scenario_check(file: str) -> None:
    """Validate FILE; print a one-line summary, or the error and exit with code 2."""
    from gsim.scenario import scenario_hash

    sc = load_scenario_or_fail(file)
    r = sc.run
    pairs = "all pairs" if sc.nearest is None else f"{sc.nearest} nearest"
    click.echo(
        f"OK {file}: scenario {sc.name!r}, {len(sc.regions)} regions, {len(sc.tiers)} tiers, "
        f"{pairs}, t {r.t0:g}-{r.t1:g} dt {r.dt:g} ({r.n_steps} steps), {r.method}, "
        f"policy {r.policy}, hash {scenario_hash(sc)[:12]}"
    )


# --- gsim run ----------------------------------------------------------------------------
SUMMARY_COLUMNS = (  # (header, how to reduce a Dataset to one series over time)
    ("real GDP", lambda ds: ds["real_gdp"]),
    ("Theil", lambda ds: ds["theil"]),
    ("SUI", lambda ds: ds["sui_national"]),
    ("overcap.", lambda ds: ds["overcapacity"].mean("tier")),
    ("lost cap.", lambda ds: ds["lost_capital"]),
    ("failed", lambda ds: ds["failed_transfer_share"]),
)


def _fmt(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.4f}"


def _summary_table(results: dict):
    """Policies as rows (first and last year), the headline indicators as columns."""
    from rich.table import Table

    first = next(iter(results.values()))
    table = Table(
        title=f"GTM-1 {first.attrs['scenario']}, {first.attrs['method']}, dt={first.attrs['dt']:g}",
        caption="real GDP and lost capital in bn CNY/yr; overcap. = mean over tiers of 1 - u; "
                "failed = failed-transfer share",
        title_justify="left", caption_justify="left",
    )
    table.add_column("policy")
    table.add_column("year", justify="right")
    for header, _ in SUMMARY_COLUMNS:
        table.add_column(header, justify="right")
    for name, ds in results.items():
        series = [reduce(ds).values for _, reduce in SUMMARY_COLUMNS]
        for i, label in ((0, name), (-1, "")):
            table.add_row(label, f"{float(ds.time[i]):g}", *[_fmt(v[i]) for v in series],
                          end_section=i == -1)
    return table


@main.command("run")
@click.argument("scenario_file", required=False, metavar="[SCENARIO]")
@click.option("--policy", "-p", default=None,
              help="Policy name, or 'all' for the four built-ins side by side "
                   "[default: the scenario's].")
@click.option("--method", type=click.Choice(["euler", "rk4"]), default=None,
              help="Integrator [default: the scenario's].")
@click.option("--dt", type=float, default=None, help="Step in years [default: the scenario's].")
@click.option("--t1", type=float, default=None, help="Final year [default: the scenario's].")
@click.option("--out", "-o", type=click.Path(dir_okay=False), default=None,
              help="Write the results to this netCDF file (with --policy all: a 'policy' "
                   "dimension).")
def run_command(scenario_file, policy, method, dt, t1, out) -> None:
    """Run SCENARIO (default: the embedded 31-province china31) and print a summary.

    \b
    Examples:
      gsim run --policy all
      gsim run my.toml --policy gradient --method rk4 --out gradient.nc
    """
    import time

    import xarray as xr
    from rich.console import Console

    from gsim.integrate import RunFailed, simulate
    from gsim.policies import PolicyError
    from gsim.policies.builtin import BUILTIN_POLICIES
    from gsim.scenario import ScenarioError, replace_run

    sc = load_scenario_or_fail(scenario_file)
    names = [p.name for p in BUILTIN_POLICIES] if policy == "all" else [policy or sc.run.policy]
    try:
        checked = [replace_run(sc, policy=n, method=method, dt=dt, t1=t1) for n in names]
    except ScenarioError as e:
        raise ScenarioFailure(str(e)) from None
    console = Console()
    results = {}
    start = time.perf_counter()
    with console.status("simulating…"):
        for name, run_sc in zip(names, checked):
            try:
                results[name] = simulate(run_sc)
            except (RunFailed, PolicyError) as e:
                raise click.ClickException(str(e)) from None
    console.print(_summary_table(results))
    console.print(f"{len(results)} run(s) in {time.perf_counter() - start:.2f} s", style="dim")
    if out:
        if len(results) == 1:
            ds = next(iter(results.values()))
        else:
            ds = xr.concat(list(results.values()), dim="policy", combine_attrs="drop_conflicts")
            ds = ds.assign_coords(policy=("policy", list(results), {"long_name": "transfer policy"}))
        from gsim.output import write_netcdf

        write_netcdf(ds, out)
        console.print(f"wrote {out}")
