"""Hook specifications: the points where plugins extend gsim (entry-point group "gsim").

Every hook here is documented in docs/plugins.md (a test checks it). Contribution hooks
receive a ``register`` callback and call it once per thing they contribute. None of the
hooks is ``firstresult`` (every plugin's implementation is called) and none is ``historic``
(a plugin registered after the manager has been used is not replayed; gsim builds its
registries once, when they are first needed). Hooks never run per integration step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

from gsim.claims import Claim
from gsim.events import EventType
from gsim.indicators import Indicator
from gsim.policies import Policy

if TYPE_CHECKING:  # pragma: no cover - typing only
    import click

hookspec = pluggy.HookspecMarker("gsim")
hookimpl = pluggy.HookimplMarker("gsim")


@hookspec
def gsim_register_policies(register: Callable[[Policy], None]) -> None:
    """Register transfer policies by calling ``register(Policy(...))`` once per policy.

    Not firstresult, not historic: called once for every plugin when gsim first needs the
    policy table. A policy decides (W, z, psi) for a whole batch of runs once per policy
    period; see `gsim.policies.Policy` for the contract. Each policy is checked when
    registered: its name must be unique (a clash names both plugins) and a probe call on a
    small synthetic context (2 runs, 3 regions, all pairs) must return arrays of the right
    shape, numeric dtype, finite, with W in [0, 1], z >= 0 and psi >= 0.
    """


@hookspec
def gsim_register_events(register: Callable[[EventType], None]) -> None:
    """Register event types (exogenous shocks) by calling ``register(EventType(...))``.

    Not firstresult, not historic: called once for every plugin when gsim first needs the
    event table. An event type turns the parameters a scenario gives under ``[[events]]``
    (``type = "NAME"``) into `gsim.events.Event` objects that edit the state or the
    parameters of a batch at given steps: capital entering a region-tier's relocation
    pipeline from named senders, a parameter changing from a given year, a region's data
    scaled. See `gsim.events.EventType`; names must be unique.
    """


@hookspec
def gsim_register_indicators(register: Callable[[Indicator], None]) -> None:
    """Register indicators by calling ``register(Indicator(...))`` once per indicator.

    Not firstresult, not historic: called once for every plugin when gsim first needs the
    indicator table. An indicator computes an extra output variable (an ``xarray.DataArray``
    with ``time`` first, e.g. another inequality index) from a result Dataset; `simulate`
    adds every registered indicator to its result. See `gsim.indicators.Indicator`; names
    must be unique and must not shadow a variable of the model's output.
    """


@hookspec
def gsim_register_claims(register: Callable[[Claim], None]) -> None:
    """Register policy claims by calling ``register(Claim(...))`` once per claim.

    Not firstresult, not historic: called once for every plugin when gsim first needs the
    claim table (`gsim claims`, `gsim.claims`). A claim names measures (an output of a sweep
    store, at a year or cumulated from t0, higher or lower) that must all move the claimed way
    for a policy against a baseline, and the (policy, baseline) pairs to compare. See
    `gsim.claims.Claim`; ids must be unique identifiers.
    """


@hookspec
def gsim_register_commands(cli: click.Group) -> None:
    """Add extra subcommands to the ``gsim`` command line, e.g. ``cli.add_command(cmd)``.

    Not firstresult, not historic: called once for every plugin the first time the ``gsim``
    command group lists or looks up its subcommands. A command must not replace a built-in
    one (that is reported as an error naming the plugin).
    """
