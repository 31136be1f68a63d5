"""Initial state and calibration constants (spec §5), vectorised over a batch of runs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gsim.model.inputs import BatchInputs
from gsim.model.layout import SP, TP, state_size, state_slices


@dataclass(frozen=True, eq=False)
class Calibration:
    y0: np.ndarray  # (B, NY) initial flat state
    wmin: np.ndarray  # (B, R) wage floor
    D0: np.ndarray  # (B, S) base demand per tier
    Ytot0: np.ndarray  # (B,) total normal-utilisation capacity at t0
    lnv0: np.ndarray  # (B, R) log employment-weighted wage at t0 (GTM-2's spatial equilibrium)


def calibrate(inp: BatchInputs) -> Calibration:
    """Spec §5, steps 1-9 in order, for every run of the batch.

    Floating-point warnings are silenced: data that overflow (a population of 1e308) give
    values that are not finite, or 0, which the scenario rules (rule 3, `gsim.model.rules`)
    and the integrator's check of every stock after each step report in words."""
    with np.errstate(all="ignore"):
        return _calibrate(inp)


def _calibrate(inp: BatchInputs) -> Calibration:
    B, R, S = inp.n_runs, inp.n_regions, inp.n_tiers
    par = lambda name: inp.sp[:, SP[name], None]  # noqa: E731  (B, 1)
    alpha, theta = inp.tp[:, TP["alpha"]][:, None, :], inp.tp[:, TP["theta"]][:, None, :]
    gdp, pop, school = inp.reg[:, 0], inp.reg[:, 1], inp.reg[:, 2]
    u0, u_star, e_star = par("u0")[..., None], par("u_star")[..., None], par("e_star")

    # 1. stocks read straight from the data
    Lf = par("lambda_LF") * pop
    H = school.copy()
    I = par("kappa_I") * gdp
    p = np.ones((B, S))
    # 2. base output and capacity
    Y0 = inp.shares * gdp[:, :, None]
    Yhat0 = Y0 / u0
    # 3. base employment, split by tier labour-income shares
    lab = (1 - alpha) * Y0
    E0 = e_star[..., None] * Lf[:, :, None] * lab / lab.sum(axis=2, keepdims=True)
    # 4. wage: firms staff for normal utilisation
    w = ((1 - alpha) * (u_star / u0) * Y0).sum(axis=2) / (e_star * Lf)
    # 5. capital in proportion to profit shares
    mu = 1 - (1 - alpha) * u_star / u0
    K = par("kappa_K")[..., None] * gdp[:, :, None] * mu * inp.shares
    K /= (mu * inp.shares).sum(axis=2, keepdims=True)
    # 6. wage floor
    wmin = par("w_min_share") * w
    # 7. readiness at t0 (spec §6, eqs 1-2)
    IL = I / Lf
    Z = 0.5 * H / H.max(axis=1, keepdims=True) + 0.5 * IL / IL.max(axis=1, keepdims=True)
    m = 1.0 / (1.0 + np.exp(-par("kappa")[..., None] * (Z[:, :, None] - theta)))
    # 8. TFP that makes capacity equal Yhat0 with E0 workers
    A = Yhat0 / (m * K**alpha * E0 ** (1 - alpha))
    # the employment-weighted wage v = w·max(1 − U, 1e-6) of §6.17 at t0, where employment is
    # e*·Lf: the level of the spatial equilibrium GTM-2's migration starts from (mechanism 6)
    lnv0 = np.log(w * np.maximum(e_star, 1e-6))
    # 9. demand constants
    D0 = u0[:, 0] * Yhat0.sum(axis=1)
    Ytot0 = Yhat0.sum(axis=(1, 2))

    # GTM-2: the world frontier starts frontier_gap times above each tier's best province
    F = par("frontier_gap") * A.max(axis=1)

    y0 = np.empty((B, state_size(R, S)))
    stocks = {"capital": K, "technology": A, "pipeline": 0.0, "pipeline_technology": 0.0,
              "labor_force": Lf, "wage": w, "skills": H, "infrastructure": I, "price": p, "frontier": F}
    for name, (sl, _shape) in state_slices(R, S).items():  # pipelines X, XA start empty
        v = stocks[name]
        y0[:, sl] = v if np.isscalar(v) else v.reshape(B, -1)
    return Calibration(y0=y0, wmin=np.ascontiguousarray(wmin), D0=D0, Ytot0=Ytot0, lnv0=np.ascontiguousarray(lnv0))
