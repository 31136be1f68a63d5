"""Transfer policies: the contract every policy (built-in or plugin) follows.

`contract` holds the context, the Policy and its state, and the checks of a decision;
`probe` the synthetic context every policy is tried on when registered; `compiled` the
wrapper of an ``@njit`` kernel as a Policy. Everything is importable from here.
"""

from gsim.policies.compiled import _is_numba_dispatcher, compiled_policy, lane_params
from gsim.policies.contract import (
    STATE_DIMS,
    Decision,
    Policy,
    PolicyContext,
    PolicyError,
    State,
    StateVar,
    call_policy,
    check_decision,
    state_var,
    zero_decision,
)
from gsim.policies.probe import (
    PROBE_NEAREST,
    PROBE_REGIONS,
    PROBE_RUNS,
    PROBE_TIERS,
    probe_context,
    probe_model_params,
    probe_policy,
)

__all__ = [
    "STATE_DIMS", "Decision", "Policy", "PolicyContext", "PolicyError", "State", "StateVar",
    "call_policy", "check_decision", "state_var", "zero_decision", "compiled_policy", "lane_params",
    "_is_numba_dispatcher", "PROBE_NEAREST", "PROBE_REGIONS", "PROBE_RUNS", "PROBE_TIERS",
    "probe_context", "probe_model_params", "probe_policy",
]
