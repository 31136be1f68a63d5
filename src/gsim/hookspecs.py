"""Hook specifications: the points where plugins extend gsim (entry-point group "gsim")."""

from __future__ import annotations

from typing import Callable

import pluggy

hookspec = pluggy.HookspecMarker("gsim")
hookimpl = pluggy.HookimplMarker("gsim")


@hookspec
def gsim_register_policies(register: Callable[..., None]) -> None:
    """Register transfer policies by calling ``register(Policy(...))`` once per policy.

    Called once when the plugin manager starts (not firstresult, not historic). A policy
    decides (W, z, psi) for a whole batch of runs once per policy period; see
    `gsim.policies.Policy` for the contract.
    """
