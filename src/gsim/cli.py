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
