"""The four built-in policies of spec §8 (registered by `gsim.builtins` like any plugin's)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from gsim.model import kernel
from gsim.params import INF, spec
from gsim.policies import Policy, PolicyContext, zero_decision


def _no_transfer(ctx: PolicyContext):
    return zero_decision(ctx.n_runs, ctx.pairs, len(ctx.tiers))


def _market(ctx: PolicyContext):
    W, z, psi = zero_decision(ctx.n_runs, ctx.pairs, len(ctx.tiers))
    W[:] = 1.0
    return W, z, psi


def _output_per_worker(ctx: PolicyContext) -> np.ndarray:
    return ctx["gdp"] / ctx["labor_force"]  # (B, R), nominal gdp per labour-force member


def _per_run(value: Any, ndim: int) -> Any:
    """A parameter as a scalar, or its per-run values (B,) shaped (B, 1, ...) to broadcast
    against arrays of `ndim` dimensions with the run axis first."""
    a = np.asarray(value, np.float64)
    return float(a) if a.ndim == 0 else a.reshape(a.shape + (1,) * (ndim - 1))


def _subsidy_race(ctx: PolicyContext):
    W, z, psi = _market(ctx)
    gpl = _output_per_worker(ctx)
    below = gpl < np.median(gpl, axis=1, keepdims=True)  # strictly below the median
    tiers = [ctx.tiers.index(t) for t in ctx.params["tiers"]]
    z[:, :, tiers] = np.where(below[:, :, None], _per_run(ctx.params["rate"], 3), 0.0)
    return W, z, psi


def _gradient(ctx: PolicyContext):
    W, z, psi = zero_decision(ctx.n_runs, ctx.pairs, len(ctx.tiers))
    P = ctx.params
    m, u, recv = ctx["readiness"], ctx["utilization"], ctx.pairs.recv
    ready = m >= _per_run(P["readiness"], 3)  # (B, R, S)
    S = m.shape[2]
    frontier = np.where(ready, np.arange(S), -1).max(axis=2)  # (B, R), -1 if none ready
    gpl = _output_per_worker(ctx)
    downhill = gpl[:, :, None] >= _per_run(P["gradient_ratio"], 3) * gpl[:, recv]  # (i) (B, R, k)
    below_frontier = np.arange(S)[None, None, :] < frontier[:, :, None]  # (ii) (B, R, S)
    receiver_ready = ready[:, recv, :]  # (iii) (B, R, k, S)
    room = u >= _per_run(P["min_utilization"], 2)  # (iv) (B, S)
    W[:] = (downhill[..., None] & below_frontier[:, :, None, :] & receiver_ready
            & room[:, None, None, :])
    psi[:] = _per_run(P["aid"], 2)
    return W, z, psi


def _twin(code: int, *names: str):
    """The compiled twin's (code, parameters, tier mask) of a built-in policy. The parameters
    are (NPAR,), or (B, NPAR) when any is given per run (a (B,) array)."""
    def pack(P: Mapping[str, Any], tiers: tuple[str, ...]):
        raced = np.isin(tiers, P.get("tiers", ()))
        values = np.broadcast_arrays(*(np.asarray(P[n], np.float64) for n in names))
        par = np.stack(values, axis=-1) if values else np.empty(0)
        return code, np.ascontiguousarray(par, np.float64), raced
    return pack


BUILTIN_POLICIES = (
    Policy("none", _no_transfer, {}, "No transfer: W = 0, no subsidies, no aid.",
           compiled=_twin(kernel.NO_TRANSFER)),
    Policy("market", _market, {}, "Unguided market relocation: W = 1 on every candidate pair.",
           compiled=_twin(kernel.MARKET)),
    Policy(
        "subsidy_race", _subsidy_race, {"rate": 0.03, "tiers": ["labor", "capital"]},
        "Homogeneous competition: regions below the median output per worker subsidise "
        "the same tiers; W = 1.",
        schema={"rate": spec(0, INF, True, False, "1/yr", "subsidy z on the raced tiers, profit-rate units")},
        compiled=_twin(kernel.SUBSIDY_RACE, "rate"),
    ),
    Policy(
        "gradient", _gradient,
        {"gradient_ratio": 1.3, "readiness": 0.52, "min_utilization": 0.7, "aid": 0.1},
        "Gradient-ordered transfer: down the development gradient, below the sender's "
        "frontier tier, to ready receivers, never into over-capacity; pairing aid.",
        schema={
            "gradient_ratio": spec(0, INF, False, False, "1", "minimum sender/receiver ratio of gdp per worker"),
            "readiness": spec(0, 1, True, True, "1", "readiness m needed by sender frontier and receiver"),
            "min_utilization": spec(0, 1, True, True, "1", "minimum utilisation u_s of a tier to allow transfer"),
            "aid": spec(0, INF, True, False, "1", "pairing-aid rate ψ paid by senders per unit transferred"),
        },
        compiled=_twin(kernel.GRADIENT, "gradient_ratio", "readiness", "min_utilization", "aid"),
    ),
)
