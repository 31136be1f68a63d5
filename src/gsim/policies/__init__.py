"""Transfer policies: the contract every policy (built-in or plugin) follows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from gsim.model.inputs import Pairs


class PolicyError(RuntimeError):
    """A policy raised or returned invalid values; the message names plugin and policy."""


@dataclass(frozen=True)
class PolicyContext:
    """What a policy sees at a decision time, for a batch of B runs.

    ``ctx["readiness"]`` etc. give any stock or auxiliary by its output name, with a leading
    run axis: (B, R, S), (B, R) or (B, S). Receivers of sender r are ``pairs.recv[r, :]``.
    """

    t: float
    params: Mapping[str, Any]
    tiers: tuple[str, ...]
    regions: tuple[str, ...]
    pairs: Pairs
    values: Mapping[str, np.ndarray]

    def __getitem__(self, name: str) -> np.ndarray:
        return self.values[name]

    @property
    def n_runs(self) -> int:
        return next(iter(self.values.values())).shape[0]


Decision = tuple[np.ndarray, np.ndarray, np.ndarray]


@dataclass(frozen=True)
class Policy:
    """A transfer policy.

    decide(ctx) returns (W, z, psi): W of shape (B, R, k, S) in [0, 1] on the candidate
    pairs (W[b, r, j, s] for receiver pairs.recv[r, j]), subsidies z (B, R, S) >= 0 in
    profit-rate units, and pairing aid psi (B, R) >= 0. ``defaults`` are the policy's own
    parameters; a scenario may override them under ``[policies.NAME]``.
    """

    name: str
    decide: Callable[[PolicyContext], Decision]
    defaults: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""
    plugin: str = ""


def zero_decision(B: int, pairs: Pairs, S: int) -> Decision:
    R, k = pairs.recv.shape
    return np.zeros((B, R, k, S)), np.zeros((B, R, S)), np.zeros((B, R))


def check_decision(policy: Policy, decision: Decision, B: int, pairs: Pairs, S: int, t: float):
    """Shapes, finiteness and ranges of a decision; PolicyError naming the policy if bad."""
    R, k = pairs.recv.shape
    where = f"policy {policy.name!r} (plugin {policy.plugin or '?'}) at t={t:g}"
    try:
        W, z, psi = decision
    except (TypeError, ValueError):
        raise PolicyError(f"{where}: must return (W, z, psi), got {type(decision).__name__}")
    out = []
    for name, arr, shape in (("W", W, (B, R, k, S)), ("z", z, (B, R, S)), ("psi", psi, (B, R))):
        arr = np.asarray(arr)
        if arr.shape != shape:
            raise PolicyError(f"{where}: {name} has shape {arr.shape}, expected {shape}")
        if not np.issubdtype(arr.dtype, np.number) and arr.dtype != bool:
            raise PolicyError(f"{where}: {name} has dtype {arr.dtype}, expected numbers")
        arr = np.ascontiguousarray(arr, dtype=np.float64)
        if not np.isfinite(arr).all():
            raise PolicyError(f"{where}: {name} has non-finite values")
        if arr.min(initial=0.0) < 0.0:
            raise PolicyError(f"{where}: {name} has negative values (min {arr.min():g})")
        if name == "W" and arr.max(initial=0.0) > 1.0:
            raise PolicyError(f"{where}: W has values above 1 (max {arr.max():g})")
        out.append(arr)
    return tuple(out)
