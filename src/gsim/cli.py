"""The `gsim` command line."""

from __future__ import annotations

import click

from gsim import __version__


# --- plugins: extra commands (gsim_register_commands) and plugin errors as one-line messages
class PluginFailure(click.ClickException):
    """A plugin failed (bad registration, a policy/event/indicator that raised or returned bad
    values): one line on stderr naming the plugin, exit code 1."""

    exit_code = 1


_PLUGIN_ERRORS: tuple[type[BaseException], ...] | None = None


def _plugin_errors() -> tuple[type[BaseException], ...]:
    global _PLUGIN_ERRORS
    if _PLUGIN_ERRORS is None:
        from gsim.events import EventError
        from gsim.indicators import IndicatorError
        from gsim.plugins import PluginError
        from gsim.policies import PolicyError

        _PLUGIN_ERRORS = (PluginError, PolicyError, EventError, IndicatorError)
    return _PLUGIN_ERRORS


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


class _PluginGroup(click.Group):
    """The gsim group: plugin commands are added the first time commands are listed or looked
    up (not at import); plugin errors in any command become a one-line PluginFailure."""

    _plugins_loaded = False

    def _load_plugin_commands(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        from gsim.plugins import get_plugin_manager, register_commands

        try:
            register_commands(get_plugin_manager(), self)
        except _plugin_errors() as e:
            raise PluginFailure(_one_line(e)) from None

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load_plugin_commands()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str):
        if cmd_name not in self.commands:
            self._load_plugin_commands()
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except _plugin_errors() as e:
            raise PluginFailure(_one_line(e)) from None


@click.group(cls=_PluginGroup, context_settings={"help_option_names": ["-h", "--help"]})
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
    from rich.table import Table

    first = next(iter(results.values()))
    table = Table(
        title=f"GTM-1 {first.attrs['scenario']}, {first.attrs['method']}, dt={first.attrs['dt']:g}",
        caption="real GDP and lost capital in bn CNY/yr; 1 - u: overcapacity, mean over tiers; "
                "failed = failed-transfer share",
        title_justify="left", caption_justify="left",
    )
    table.add_column("policy", no_wrap=True, min_width=max(len(n) for n in results))
    table.add_column("year", justify="right")
    for header, _ in SUMMARY_COLUMNS:
        table.add_column(header, justify="right")
    for name, run in results.items():
        series = [reduce(run.values) for _, reduce in SUMMARY_COLUMNS]
        for i, label in ((0, name), (-1, "")):
            table.add_row(label, f"{run.times[i]:g}", *[_fmt(v[i]) for v in series],
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

    from rich.console import Console

    from gsim.integrate import RunFailed, run_scenario
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
                results[name] = run_scenario(run_sc)
            except (RunFailed, PolicyError) as e:
                raise click.ClickException(str(e)) from None
    console.print(_summary_table(results))
    console.print(f"{len(results)} run(s) in {time.perf_counter() - start:.2f} s", style="dim")
    if out:
        import xarray as xr

        from gsim.output import write_netcdf

        datasets = [r.to_dataset() for r in results.values()]
        if len(datasets) == 1:
            ds = datasets[0]
        else:
            ds = xr.concat(datasets, dim="policy", combine_attrs="drop_conflicts")
            ds = ds.assign_coords(policy=("policy", list(results), {"long_name": "transfer policy"}))

        write_netcdf(ds, out)
        console.print(f"wrote {out}")


# --- gsim plugins ----------------------------------------------------------------------------
@main.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def plugins_cmd(as_json: bool) -> None:
    """List every plugin (built-in and external): version, hooks, what it registers."""
    import json

    from gsim.plugins import DISABLE_ENV, get_plugin_manager, registered_by

    pm = get_plugin_manager()
    infos = pm.plugin_infos()
    try:
        things = registered_by(pm)
    except _plugin_errors() as e:
        raise PluginFailure(_one_line(e)) from None
    rows = []
    for i in infos:
        rows.append({
            "name": i.name, "version": i.version, "distribution": i.distribution,
            "builtin": i.builtin, "disabled": i.disabled, "hooks": list(i.hooks),
            **{k: sorted(v) for k, v in things.get(i.name, {}).items()},
        })
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        kind = "built-in" if r["builtin"] else ("disabled" if r["disabled"] else "external")
        dist = f" [{r['distribution']}]" if r["distribution"] and not r["builtin"] else ""
        click.echo(f"{r['name']} {r['version']}{dist} ({kind})")
        if r["hooks"]:
            click.echo(f"  hooks: {', '.join(r['hooks'])}")
        for k in ("policies", "events", "indicators"):
            if r.get(k):
                click.echo(f"  {k}: {', '.join(r[k])}")
    if not any(r["disabled"] for r in rows):
        click.echo(f"(disable plugins with {DISABLE_ENV}=name1,name2)")


# --- gsim sweep / summary / export (gsim.sweeps.cli) ------------------------------------
from gsim.sweeps.cli import register as _register_sweep_commands  # noqa: E402

_register_sweep_commands(main)

# --- gsim sensitivity / discover (gsim.analysis.commands) --------------------------------
from gsim.analysis.commands import register as _register_analysis_commands  # noqa: E402

_register_analysis_commands(main)
