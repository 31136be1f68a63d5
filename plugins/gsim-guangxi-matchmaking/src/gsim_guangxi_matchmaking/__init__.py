"""gsim events plugin: the 2025 China Industrial Transfer Matchmaking event in Guangxi.

Registers the event type ``guangxi_matchmaking_2025`` (hook ``gsim_register_events``) and the
command ``gsim guangxi-scenario`` (hook ``gsim_register_commands``). Headline figures: 296
signed projects, 217.3 bn CNY of signed investment. Everything else is an *assumption*,
listed in README.md and exposed as a parameter.

Use it from a scenario::

    [[events]]
    type = "guangxi_matchmaking_2025"
    realised_share = 0.5
"""

from __future__ import annotations

from typing import Any, Mapping

from gsim import hookimpl
from gsim.events import EventError, EventSetup, EventType, pipeline_inflow, tier_amounts

__version__ = "0.1.0"

EVENT_NAME = "guangxi_matchmaking_2025"

# The two headline figures of the event (see README.md, "Sources").
SIGNED_PROJECTS = 296
SIGNED_INVESTMENT_BN_CNY = 217.3

# Defaults. Every one of these except `signed_investment` is an ASSUMPTION (README.md).
DEFAULTS: dict[str, Any] = {
    "signed_investment": SIGNED_INVESTMENT_BN_CNY,  # bn CNY, headline figure
    "realised_share": 0.5,  # A1: share of signed investment actually realised
    "receiver": "Guangxi",
    "start": 2025.0,  # A2: realised evenly over 2025-2027, i.e. [2025, 2028)
    "end": 2028.0,
    # A3: senders = every region of macro-region "East" in the scenario, each tier's amount
    # shared in proportion to the senders' capital in that tier
    "senders": [],
    "sender_macro_region": "East",
    # A4: split across tiers (sum 1)
    "tier_shares": {"labor": 0.35, "resource": 0.25, "capital": 0.30, "technology": 0.10},
    # A5: the capital is relocated (it leaves the senders), and the move loses ell_R
    "deduct_from_senders": True,
    "move_loss": True,
}


def build(params: Mapping[str, Any], setup: EventSetup) -> list:
    share = float(params["realised_share"])
    if not 0.0 <= share <= 1.0:
        raise EventError(f"realised_share must be in [0, 1], got {share:g}")
    total = float(params["signed_investment"])
    if not total >= 0.0:
        raise EventError(f"signed_investment must be >= 0, got {total:g}")
    senders = list(params["senders"])
    if not senders:
        sc = setup.scenario
        if sc is None:
            raise EventError("give senders (no scenario to find the eastern regions in)")
        macro = str(params["sender_macro_region"])
        senders = [n for n, m in zip(sc.regions.name, sc.regions.macro_region)
                   if m == macro and n != params["receiver"]]
        if not senders:
            raise EventError(f"the scenario has no region of macro-region {macro!r} to send")
    amounts = tier_amounts(total * share, params["tier_shares"])
    return [pipeline_inflow(setup, str(params["receiver"]), amounts, senders,
                            float(params["start"]), float(params["end"]),
                            deduct_from_senders=bool(params["deduct_from_senders"]),
                            move_loss=bool(params["move_loss"]))]


EVENT_TYPE = EventType(
    EVENT_NAME, build, DEFAULTS,
    f"2025 China Industrial Transfer Matchmaking (Guangxi): {SIGNED_PROJECTS} projects, "
    f"{SIGNED_INVESTMENT_BN_CNY} bn CNY signed; realised_share of it enters Guangxi's "
    "relocation pipelines from eastern senders over 2025-2027 (assumptions: README).",
)


@hookimpl
def gsim_register_events(register):
    register(EVENT_TYPE)


def scenario_text(realised_share: float = DEFAULTS["realised_share"]) -> str:
    """A self-contained scenario (the installed gsim's default + this event) as TOML."""
    import tomllib

    import tomli_w

    from gsim.scenario import load_scenario, scenario_to_toml

    doc = tomllib.loads(scenario_to_toml(load_scenario()))
    doc["scenario"]["name"] = "china31-guangxi-matchmaking-2025"
    doc["run"]["policy"] = "gradient"
    doc["events"] = [{"type": EVENT_NAME, "realised_share": float(realised_share)}]
    head = ("# gsim scenario: the default china31 plus the 2025 Guangxi matchmaking event\n"
            "# (plugin gsim-guangxi-matchmaking; assumptions in its README).\n"
            "# Run it: gsim run THIS_FILE\n\n")
    return head + tomli_w.dumps(doc)


@hookimpl
def gsim_register_commands(cli):
    import click

    @cli.command("guangxi-scenario")
    @click.option("--realised-share", type=click.FloatRange(0, 1), default=0.5,
                  show_default=True, help="Share of the signed investment realised.")
    @click.option("-o", "--out", type=click.Path(dir_okay=False), default=None,
                  help="Write to this file instead of standard output.")
    def guangxi_scenario(realised_share: float, out: str | None) -> None:
        """Print a scenario with the 2025 Guangxi matchmaking event (plugin command)."""
        text = scenario_text(realised_share)
        if out:
            with open(out, "w", encoding="utf-8") as f:
                f.write(text)
        else:
            click.echo(text, nl=False)
