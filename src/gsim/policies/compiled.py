"""Compiled (``@njit``) plugin policies: `compiled_policy` wraps a kernel as a `Policy`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from gsim.params import ParamSpec
from gsim.policies.contract import Decision, Policy, PolicyContext, zero_decision


def _is_numba_dispatcher(fn: Any) -> bool:
    return hasattr(fn, "py_func") and hasattr(fn, "signatures")


def lane_params(ctx: PolicyContext, names: tuple[str, ...]) -> np.ndarray:
    """(B, NPAR) float64: each run's value of each named parameter (a scalar repeated, or a
    (B,) array given per run, as `gsim optimize` does)."""
    B = ctx.n_runs
    cols = [np.broadcast_to(np.asarray(ctx.params[p], np.float64), (B,)) for p in names]
    return np.ascontiguousarray(np.stack(cols, axis=1) if cols else np.empty((B, 0)), np.float64)


def compiled_policy(
    name: str,
    kernel: Callable[..., None],
    *,
    inputs: tuple[str, ...],
    params: tuple[str, ...] = (),
    defaults: Mapping[str, Any] | None = None,
    description: str = "",
    schema: Mapping[str, ParamSpec] | None = None,
    state: Mapping[str, Any] | None = None,
    indicators: Any = (),
) -> Policy:
    """A Policy whose decision is computed by an ``@njit`` function.

    ``kernel(t, recv, dist, par, W, z, psi, *arrays, *states)`` fills the zero-initialised
    float64 arrays W (B, R, k, S), z (B, R, S) and psi (B, R) in place; ``recv``/``dist`` are
    the candidate pairs (R, k), ``par`` a (B, NPAR) float64 array: row b holds run b's values
    of the parameters named in ``params`` (in that order), so every lane may have its own
    setting (`gsim optimize` evaluates a generation in one batch); ``arrays`` are the context
    values named in ``inputs`` (in that order, each with the run axis first, as float64: model
    outputs and the indicators named in ``indicators``), and ``states`` the policy's state
    arrays (in the order of ``state``), to update in place. ``schema`` gives bounds, unit and
    meaning as for a NumPy policy (`Policy.schema`), so the parameters can be levers of
    `gsim optimize`. Numba compiles the kernel at the probe call when the policy is
    registered, so a kernel that does not compile fails early.
    """
    names = tuple(inputs)
    pnames = tuple(params)
    snames = tuple(state or {})

    def decide(ctx: PolicyContext) -> Decision:
        W, z, psi = zero_decision(ctx.n_runs, ctx.pairs, len(ctx.tiers))
        par = lane_params(ctx, pnames)
        arrays = [np.ascontiguousarray(ctx[n], dtype=np.float64) for n in names]
        kernel(float(ctx.t), ctx.pairs.recv, ctx.pairs.dist, par, W, z, psi, *arrays,
               *(ctx.state[s] for s in snames))
        return W, z, psi

    decide.__name__ = getattr(kernel, "__name__", "compiled_policy")
    decide.__wrapped__ = kernel  # type: ignore[attr-defined]
    return Policy(name, decide, dict(defaults or {}), description, schema=dict(schema or {}),
                  state=dict(state or {}), indicators=indicators, per_run_params=True)
