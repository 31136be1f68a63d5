"""Compiled GTM-1 kernels: auxiliaries (spec §6), derivatives (§7), Euler/RK4 steps (§9).

Everything here works on one run's flat state vector and scratch arrays; the public entry
points (`advance`, `observe`) loop over the runs of a batch with `prange`. No Python object
and no hook is ever called from inside these loops: a policy is fixed for the whole call.
"""

from __future__ import annotations

import math
import types
from typing import Any

import numpy as np
from numba import njit, prange

from gsim.model.layout import OBS, SP, STOCK, TP, stock_offset
from gsim.params import READY_THRESHOLD

# numba options in one place: cached machine code, IEEE semantics (no fastmath), and the
# NumPy error model so a division by zero yields inf/nan that failure detection reports.
JIT: dict[str, Any] = dict(cache=True, error_model="numpy", nogil=True)

# scalar parameter columns (module constants are frozen into the compiled code)
_DELTA, _DELTA_X, _SIGMA, _BETA = SP["delta"], SP["delta_x"], SP["sigma"], SP["beta"]
_PHI_P, _U_STAR, _PHI_W, _E_STAR = SP["phi_p"], SP["u_star"], SP["phi_w"], SP["e_star"]
_G0_TFP, _CHI, _RHO, _NU0 = SP["g0"], SP["chi"], SP["rho"], SP["nu0"]
_H_BAR, _GAMMA_H, _ELL_H, _KAPPA = SP["H_bar"], SP["gamma_H"], SP["ell_H"], SP["kappa"]
_IOTA, _DELTA_I, _MU, _C_M, _N = SP["iota"], SP["delta_I"], SP["mu"], SP["c_m"], SP["n"]
_LAMBDA_T, _G0, _C_D, _TAU_T = SP["lambda_T"], SP["G0"], SP["c_d"], SP["tau_T"]
_ELL_R, _ELL_F, _K_EPS = SP["ell_R"], SP["ell_F"], SP["K_eps"]
_ALPHA, _THETA, _EPS, _ETA, _OMEGA = TP["alpha"], TP["theta"], TP["epsilon"], TP["eta"], TP["omega"]

# rows of the per-run scratch arrays
(M_, DD, EE, YC, YY, PI, ZEFF, RD, INV, TOUT, TIN, TINA, FA, FB, GG, BASE, NRS) = range(17)
(Z_, SUMDD, UNEMP, GDP, YR, FSUB, LNV, AIDIN, AIDOUT, DLF, NRV) = range(11)
(DEM, QQ, UTIL, ASTAR, EKT, NSV) = range(6)
(VOLUME, FAILED, LOST, NSC) = range(4)

# slots of the observation arrays, by name from the variable table (gsim.model.layout)
(O_OUTPUT, O_EMPLOYMENT, O_PROFIT, O_READY, O_TOUT, O_TIN) = (OBS["rs"].index(n) for n in (
    "output", "employment", "profit_rate", "readiness", "transfer_out", "transfer_in"))
(O_GDP, O_REAL, O_SUI) = (OBS["r"].index(n) for n in ("gdp", "real_output", "sui"))
(O_UTIL, O_OVER, O_MARGIN) = (OBS["s"].index(n) for n in ("utilization", "overcapacity", "margin"))
(O_REAL_GDP, O_THEIL, O_SUI_NAT, O_RD, O_VOLUME, O_FAILED, O_LOST) = (OBS["o0"].index(n) for n in (
    "real_gdp", "theil", "sui_national", "rd_share", "transfer_volume", "failed_transfer_share",
    "lost_capital"))
_K, _A, _X, _XA, _LF, _W, _H, _I, _P = (STOCK[n] for n in (
    "capital", "technology", "pipeline", "pipeline_technology", "labor_force", "wage", "skills",
    "infrastructure", "price"))


@njit(**JIT)
def _stock(y, i, R, S):
    return y[stock_offset(i, R, S):stock_offset(i + 1, R, S)]


@njit(**JIT)
def _views(y, R, S):
    """The stocks of a flat state (or of its derivative) as views: K, A, X, XA (R, S);
    Lf, w, H, I (R,); p (S,)."""
    return (_stock(y, _K, R, S).reshape((R, S)), _stock(y, _A, R, S).reshape((R, S)),
            _stock(y, _X, R, S).reshape((R, S)), _stock(y, _XA, R, S).reshape((R, S)),
            _stock(y, _LF, R, S), _stock(y, _W, R, S), _stock(y, _H, R, S), _stock(y, _I, R, S),
            _stock(y, _P, R, S))


@njit(**JIT)
def _evaluate(y, R, S, sp, tp, wmin, D0, Ytot0, recv, dist, nrecv, W, z, psi, active, relocate,
              rs, rv, sv, hbuf, sc, dy, want_dy):
    """Auxiliaries of §6 into the scratch arrays and, if want_dy, the derivatives of §7."""
    K, A, X, XA, Lf, w, H, I, p = _views(y, R, S)
    alpha, theta, eps, eta = tp[_ALPHA], tp[_THETA], tp[_EPS], tp[_ETA]
    u_star, kappa, delta = sp[_U_STAR], sp[_KAPPA], sp[_DELTA]

    rs[TOUT:TINA + 1] = 0.0
    rv[AIDIN] = 0.0
    rv[AIDOUT] = 0.0
    rv[DLF] = 0.0
    sc[:] = 0.0

    # 1-2 readiness relative to the current leaders
    Hmax, ILmax = H[0], I[0] / Lf[0]
    for r in range(1, R):
        Hmax = max(Hmax, H[r])
        ILmax = max(ILmax, I[r] / Lf[r])
    # exp(-kappa (Z - theta)) = exp(-kappa Z) exp(kappa theta): one exp per region
    for s in range(S):
        sv[EKT, s] = math.exp(kappa * theta[s])
    for r in range(R):
        rv[Z_, r] = 0.5 * H[r] / Hmax + 0.5 * (I[r] / Lf[r]) / ILmax
        e = math.exp(-kappa * rv[Z_, r])
        for s in range(S):
            rs[M_, r, s] = 1.0 / (1.0 + e * sv[EKT, s])

    # 3-6 labour demand, rationing, capacity.  With g = ((1-a)B/w)^(1/a): Dd = K g and,
    # unrationed, K^a Dd^(1-a) = K g^(1-a) = K g / ((1-a)B/w); one power per region-tier.
    for r in range(R):
        tot = 0.0
        for s in range(S):
            base = (1.0 - alpha[s]) * p[s] * u_star * rs[M_, r, s] * A[r, s] / w[r]
            g = base ** (1.0 / alpha[s])
            rs[GG, r, s] = g
            rs[BASE, r, s] = base
            rs[DD, r, s] = K[r, s] * g
            tot += rs[DD, r, s]
        rv[SUMDD, r] = tot
        ration = min(1.0, Lf[r] / tot) if tot > 0.0 else 1.0
        employed = 0.0
        for s in range(S):
            rs[EE, r, s] = rs[DD, r, s] * ration
            employed += rs[EE, r, s]
            base, g = rs[BASE, r, s], rs[GG, r, s]
            cap = rs[M_, r, s] * A[r, s] * K[r, s] * (g / base) if base > 0.0 else 0.0
            if ration < 1.0:
                cap *= ration ** (1.0 - alpha[s])
            rs[YC, r, s] = cap
        rv[UNEMP, r] = 1.0 - employed / Lf[r]

    # 7-8 demand and utilisation
    Yc_tot = 0.0
    for s in range(S):
        q = 0.0
        for r in range(R):
            q += rs[YC, r, s]
        sv[QQ, s] = q
        Yc_tot += q
    for s in range(S):
        sv[DEM, s] = D0[s] * (Yc_tot / Ytot0) ** eta[s] * p[s] ** (-eps[s])
        sv[UTIL, s] = min(1.0, sv[DEM, s] / sv[QQ, s])

    # 9-13 output, subsidies, profit rates, R&D, investment
    beta, sigma = sp[_BETA], sp[_SIGMA]
    for r in range(R):
        gdp, yr, fraw = 0.0, 0.0, 0.0
        for s in range(S):
            rs[YY, r, s] = sv[UTIL, s] * rs[YC, r, s]
            gdp += p[s] * rs[YY, r, s]
            yr += rs[YY, r, s]
            fraw += z[r, s] * K[r, s]
        rv[GDP, r], rv[YR, r] = gdp, yr
        c = min(1.0, sp[_IOTA] * yr / fraw) if fraw > 0.0 else 1.0
        f, top = 0.0, -np.inf
        for s in range(S):
            rs[ZEFF, r, s] = c * z[r, s]
            f += rs[ZEFF, r, s] * K[r, s]
            revenue = p[s] * rs[YY, r, s]
            surplus = revenue - w[r] * rs[EE, r, s]
            rs[PI, r, s] = surplus / max(K[r, s], sp[_K_EPS]) - delta + rs[ZEFF, r, s]
            margin = surplus / revenue if revenue != 0.0 else 0.0
            rs[RD, r, s] = sp[_RHO] * max(0.0, margin)
            top = max(top, beta * rs[PI, r, s])
        rv[FSUB, r] = f
        tot = 0.0
        for s in range(S):
            rs[INV, r, s] = K[r, s] * math.exp(beta * rs[PI, r, s] - top)
            tot += rs[INV, r, s]
        for s in range(S):
            rs[INV, r, s] = sigma * yr * rs[INV, r, s] / tot

    # 14 relocation.  pi_e = FA_rs FB_qs - delta + zeff_qs with FA = A^(1/a) (sender) and
    # FB = p m c^((1-a)/a) (u - (1-a) u*), c = (1-a) p u* m / w (receiver).  Since
    # base = c A and g = base^(1/a):  c^((1-a)/a) = c^(1/a) / c = g A / (FA base).
    if relocate:
        for r in range(R):
            for s in range(S):
                a_inv = 1.0 / alpha[s]
                rs[FA, r, s] = A[r, s] ** a_inv
                base = rs[BASE, r, s]
                lift = rs[GG, r, s] * A[r, s] / (rs[FA, r, s] * base) if base > 0.0 else 0.0
                rs[FB, r, s] = (p[s] * rs[M_, r, s] * lift
                                * (sv[UTIL, s] - (1.0 - alpha[s]) * u_star))
        lam, G0, c_d = sp[_LAMBDA_T], sp[_G0], sp[_C_D]
        fa, fb, zeff, pi, m = rs[FA], rs[FB], rs[ZEFF], rs[PI], rs[M_]
        tin, tina, tout = rs[TIN], rs[TINA], rs[TOUT]
        srow = hbuf.shape[0] - 1  # hbuf[j, s] = W h of receiver j; hbuf[srow, s] = S_rs
        for r in range(R):
            n = nrecv[r]
            Wr = W[r]
            for s in range(S):
                hbuf[srow, s] = 0.0
            for j in range(n):
                if not active[r, j]:  # sparse policies (gradient) forbid most pairs
                    for s in range(S):
                        hbuf[j, s] = 0.0
                    continue
                q, cd = recv[r, j], c_d * dist[r, j]
                for s in range(S):  # branch-free so the tier loop vectorises
                    G = fa[r, s] * fb[q, s] - delta + zeff[q, s] - pi[r, s] - cd
                    Gp = max(G, 0.0)
                    hbuf[j, s] = Wr[j, s] * (Gp / (G0 + Gp))
                    hbuf[srow, s] += hbuf[j, s]
            # T_rqs = coef_rs h_rqs with coef_rs = lambda K_rs / (1 + S_rs)
            for s in range(S):
                tout[r, s] = lam * K[r, s] * hbuf[srow, s] / (1.0 + hbuf[srow, s])
                hbuf[srow, s] = lam * K[r, s] / (1.0 + hbuf[srow, s])
            aid_out = 0.0
            for j in range(n):
                q = recv[r, j]
                total, failed = 0.0, 0.0
                for s in range(S):
                    T = hbuf[srow, s] * hbuf[j, s]
                    tin[q, s] += T
                    tina[q, s] += T * A[r, s]
                    total += T
                    failed += T if m[q, s] < READY_THRESHOLD else 0.0
                rv[AIDIN, q] += psi[q] * total
                aid_out += psi[q] * total
                sc[VOLUME] += total
                sc[FAILED] += failed
            rv[AIDOUT, r] += aid_out

    # 15 arrivals and their failures; 16 frontier
    tau, ell_F = sp[_TAU_T], sp[_ELL_F]
    lost = 0.0
    for r in range(R):
        for s in range(S):
            lost += ell_F * (1.0 - rs[M_, r, s]) * X[r, s] / tau
    sc[LOST] = lost + sp[_ELL_R] * sc[VOLUME]
    for s in range(S):
        a = A[0, s]
        for r in range(1, R):
            a = max(a, A[r, s])
        sv[ASTAR, s] = a

    # 17 migration along candidate pairs, in log-wage units
    for r in range(R):
        rv[LNV, r] = math.log(w[r] * max(1.0 - rv[UNEMP, r], 1e-6))
    mu, c_m = sp[_MU], sp[_C_M]
    for r in range(R):
        n = nrecv[r]
        for j in range(n):
            q = recv[r, j]
            gap = rv[LNV, q] - rv[LNV, r] - c_m * dist[r, j]
            if gap > 0.0:
                M = mu * Lf[r] * gap / n
                rv[DLF, r] -= M
                rv[DLF, q] += M

    if not want_dy:
        return

    # §7 derivatives
    dK, dA, dX, dXA, dLf, dw_, dH, dI, dp = _views(dy, R, S)
    omega = tp[_OMEGA]
    keep = 1.0 - sp[_ELL_R]
    for r in range(R):
        learn = 0.0
        for s in range(S):
            arr, arrA = X[r, s] / tau, XA[r, s] / tau
            surv = 1.0 - ell_F * (1.0 - rs[M_, r, s])
            exit_rate = delta + sp[_DELTA_X] * max(0.0, -rs[PI, r, s])
            dK[r, s] = rs[INV, r, s] - exit_rate * K[r, s] - rs[TOUT, r, s] + surv * arr
            dX[r, s] = keep * rs[TIN, r, s] - arr
            dXA[r, s] = keep * rs[TINA, r, s] - arrA
            dA[r, s] = (A[r, s] * (sp[_G0_TFP] + sp[_CHI] * rs[RD, r, s])
                        + sp[_NU0] * (H[r] / Hmax) * (sv[ASTAR, s] - A[r, s])
                        + rs[M_, r, s] * surv * (arrA - A[r, s] * arr) / max(K[r, s], sp[_K_EPS]))
            learn += omega[s] * rs[EE, r, s]
        dLf[r] = sp[_N] * Lf[r] + rv[DLF, r]
        dw = sp[_PHI_W] * w[r] * (rv[SUMDD, r] / Lf[r] - sp[_E_STAR])
        dw_[r] = 0.0 if (w[r] <= wmin[r] and dw < 0.0) else dw
        dH[r] = sp[_GAMMA_H] * (sp[_H_BAR] - H[r]) + sp[_ELL_H] * learn / Lf[r]
        dI[r] = (sp[_IOTA] * rv[YR, r] - rv[FSUB, r] + rv[AIDIN, r] - rv[AIDOUT, r]
                             - sp[_DELTA_I] * I[r])
    for s in range(S):
        dp[s] = sp[_PHI_P] * p[s] * (sv[DEM, s] / sv[QQ, s] - u_star)


@njit(**JIT)
def _active_pairs(W):
    """Candidate pairs with any W > 0, and whether any transfer is allowed at all."""
    R, k, S = W.shape
    active = np.zeros((R, k), np.bool_)
    for r in range(R):
        for j in range(k):
            for s in range(S):
                if W[r, j, s] > 0.0:
                    active[r, j] = True
                    break
    return active, active.any()


@njit(**JIT)
def _scratch(R, S, k):
    return (np.empty((NRS, R, S)), np.empty((NRV, R)), np.empty((NSV, S)),
            np.empty((k + 1, S)), np.empty(NSC))


@njit(**JIT)
def _first_bad(y):
    """Index of the first negative or non-finite stock, or -1."""
    for i in range(y.size):
        v = y[i]
        if not (v >= 0.0) or v == np.inf:  # catches NaN too
            return i
    return -1


@njit(**JIT)
def _advance_run(y, nsteps, dt, rk4, sp, tp, wmin, D0, Ytot0, recv, dist, nrecv, W, z, psi):
    """Advance one run by nsteps steps; returns (steps done before failure, bad index)."""
    R, S = wmin.size, D0.size
    rs, rv, sv, hbuf, sc = _scratch(R, S, recv.shape[1])
    active, relocate = _active_pairs(W)
    n = y.size
    k1 = np.empty(n)
    if rk4:
        k2, k3, k4, yt = np.empty(n), np.empty(n), np.empty(n), np.empty(n)
    else:
        k2, k3, k4, yt = k1, k1, k1, k1
    for step in range(nsteps):
        _evaluate(y, R, S, sp, tp, wmin, D0, Ytot0, recv, dist, nrecv, W, z, psi, active, relocate,
                  rs, rv, sv, hbuf, sc, k1, True)
        if rk4:
            for i in range(n):
                yt[i] = y[i] + 0.5 * dt * k1[i]
            _evaluate(yt, R, S, sp, tp, wmin, D0, Ytot0, recv, dist, nrecv, W, z, psi, active, relocate,
                      rs, rv, sv, hbuf, sc, k2, True)
            for i in range(n):
                yt[i] = y[i] + 0.5 * dt * k2[i]
            _evaluate(yt, R, S, sp, tp, wmin, D0, Ytot0, recv, dist, nrecv, W, z, psi, active, relocate,
                      rs, rv, sv, hbuf, sc, k3, True)
            for i in range(n):
                yt[i] = y[i] + dt * k3[i]
            _evaluate(yt, R, S, sp, tp, wmin, D0, Ytot0, recv, dist, nrecv, W, z, psi, active, relocate,
                      rs, rv, sv, hbuf, sc, k4, True)
            for i in range(n):
                yt[i] = y[i] + dt / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i])
        else:
            yt = k1
            for i in range(n):
                yt[i] = y[i] + dt * k1[i]
        bad = _first_bad(yt)
        if bad >= 0:
            return step, bad
        y[:] = yt
    return nsteps, -1


def _advance_batch(Y, k0, nsteps, dt, rk4, sp, tp, wmin, D0, Ytot0, recv, dist, nrecv, W, z, psi,
                   fail_step, fail_index):
    """Advance every live run from step k0 by nsteps; a run that fails records the step k
    whose new state y_k was bad and the index of the bad stock, and is then left alone."""
    for b in prange(Y.shape[0]):
        if fail_step[b] >= 0:
            continue
        done, bad = _advance_run(Y[b], nsteps, dt, rk4, sp[b], tp[b], wmin[b], D0[b], Ytot0[b],
                                 recv, dist, nrecv, W[b], z[b], psi[b])
        if bad >= 0:
            fail_step[b] = k0 + done + 1
            fail_index[b] = bad


@njit(**JIT)
def _observe_run(y, sp, tp, wmin, D0, Ytot0, recv, dist, nrecv, W, z, psi, ors, orr, ors_, o0):
    R, S = wmin.size, D0.size
    rs, rv, sv, hbuf, sc = _scratch(R, S, recv.shape[1])
    active, relocate = _active_pairs(W)
    _evaluate(y, R, S, sp, tp, wmin, D0, Ytot0, recv, dist, nrecv, W, z, psi, active, relocate,
              rs, rv, sv, hbuf, sc, y, False)
    _K_, _A_, _X_, _XA_, Lf, w, _H_, _I_, p = _views(y, R, S)
    for r in range(R):
        for s in range(S):
            ors[O_OUTPUT, r, s] = rs[YY, r, s]
            ors[O_EMPLOYMENT, r, s] = rs[EE, r, s]
            ors[O_PROFIT, r, s] = rs[PI, r, s]
            ors[O_READY, r, s] = rs[M_, r, s]
            ors[O_TOUT, r, s] = rs[TOUT, r, s]
            ors[O_TIN, r, s] = rs[TIN, r, s]
    G, L, rd, weighted = 0.0, 0.0, 0.0, 0.0
    for r in range(R):
        G += rv[GDP, r]
        L += Lf[r]
    theil = 0.0
    for r in range(R):
        gdp = rv[GDP, r]
        ladder = 0.0
        for s in range(S):
            value = p[s] * rs[YY, r, s]
            ladder += (s + 1) * value
            rd += rs[RD, r, s] * value
        orr[O_GDP, r] = gdp
        orr[O_REAL, r] = rv[YR, r]
        orr[O_SUI, r] = ladder / gdp
        weighted += ladder
        if gdp > 0.0:
            theil += (gdp / G) * math.log((gdp / G) / (Lf[r] / L))
    for s in range(S):
        revenue, surplus = 0.0, 0.0
        for r in range(R):
            revenue += p[s] * rs[YY, r, s]
            surplus += p[s] * rs[YY, r, s] - w[r] * rs[EE, r, s]
        ors_[O_UTIL, s] = sv[UTIL, s]
        ors_[O_OVER, s] = 1.0 - sv[UTIL, s]
        ors_[O_MARGIN, s] = surplus / revenue if revenue != 0.0 else 0.0
    real = 0.0
    for r in range(R):
        real += rv[YR, r]
    o0[O_REAL_GDP] = real
    o0[O_THEIL] = theil
    o0[O_SUI_NAT] = weighted / G
    o0[O_RD] = rd / G
    o0[O_VOLUME] = sc[VOLUME]
    o0[O_FAILED] = sc[FAILED] / sc[VOLUME] if sc[VOLUME] > 0.0 else 0.0
    o0[O_LOST] = sc[LOST]


def _observe_batch(Y, sp, tp, wmin, D0, Ytot0, recv, dist, nrecv, W, z, psi, ors, orr, ors_, o0):
    for b in prange(Y.shape[0]):
        _observe_run(Y[b], sp[b], tp[b], wmin[b], D0[b], Ytot0[b], recv, dist, nrecv,
                     W[b], z[b], psi[b], ors[b], orr[b], ors_[b], o0[b])


@njit(**JIT)
def derivatives(Y, sp, tp, wmin, D0, Ytot0, recv, dist, nrecv, W, z, psi, DY):
    """dY/dt (spec §7) of every run of a batch into DY; for tests and diagnostics."""
    R, S = wmin.shape[1], D0.shape[1]
    for b in range(Y.shape[0]):
        rs, rv, sv, hbuf, sc = _scratch(R, S, recv.shape[1])
        active, relocate = _active_pairs(W[b])
        _evaluate(Y[b], R, S, sp[b], tp[b], wmin[b], D0[b], Ytot0[b], recv, dist, nrecv,
                  W[b], z[b], psi[b], active, relocate, rs, rv, sv, hbuf, sc, DY[b], True)


def _variant(fn, suffix: str, **options):
    """Compile a copy of `fn` under its own name, so each variant has its own cache entry."""
    copy = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__ + suffix)
    copy.__qualname__ = fn.__qualname__ + suffix
    return njit(**options, **JIT)(copy)


# serial and parallel variants of the batch loops, from one body each
advance_serial = _variant(_advance_batch, "_serial")
advance_parallel = _variant(_advance_batch, "_parallel", parallel=True)
observe_serial = _variant(_observe_batch, "_serial")
observe_parallel = _variant(_observe_batch, "_parallel", parallel=True)
