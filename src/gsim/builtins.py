"""The built-in plugins: gsim's own policies, event types and claims register through the same hooks
as any third party's, so `gsim plugins` lists them and they can be disabled by name."""

from __future__ import annotations

from collections.abc import Callable

from gsim.claims import BUILTIN_CLAIMS, Claim
from gsim.events import BUILTIN_EVENT_TYPES, EventType
from gsim.hookspecs import hookimpl
from gsim.policies import Policy
from gsim.policies.builtin import BUILTIN_POLICIES


class BuiltinPolicies:
    """The four policies of spec §8: none, market, subsidy_race, gradient."""

    @hookimpl
    def gsim_register_policies(self, register: Callable[[Policy], None]) -> None:
        for policy in BUILTIN_POLICIES:
            register(policy)


class BuiltinEvents:
    """The generic event types: pipeline_inflow, parameter_change, scale_region."""

    @hookimpl
    def gsim_register_events(self, register: Callable[[EventType], None]) -> None:
        for et in BUILTIN_EVENT_TYPES:
            register(et)


class BuiltinClaims:
    """The six claims of the gradient-transfer argument (docs/claims.md)."""

    @hookimpl
    def gsim_register_claims(self, register: Callable[[Claim], None]) -> None:
        for claim in BUILTIN_CLAIMS:
            register(claim)


# plugin name -> plugin object, registered in this order by every plugin manager
BUILTIN_PLUGINS: dict[str, object] = {
    "gsim.policies.builtin": BuiltinPolicies(),
    "gsim.events": BuiltinEvents(),
    "gsim.claims": BuiltinClaims(),
}
