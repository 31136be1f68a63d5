"""Independent plain-NumPy reference implementation ("twin") of GTM-1 and GTM-2.

Written directly from ``model-spec.md`` (revision 3), without looking at ``gsim.model``: the
tests compare it with the compiled implementation.  Only the data types of
``gsim.scenario`` are used.  Readability beats speed here: dense arrays, one function per spec
section, the equations spelled out in the spec's order and notation.

Array conventions
-----------------
- region-tier quantities are ``(R, S)``; region quantities ``(R,)``; tier quantities ``(S,)``;
- pair quantities are ``(R, R, S)`` indexed ``[r, q, s]`` with ``r`` the sender and ``q`` the
  receiver (``W``, ``piE``, ``G``, ``h``, ``T``), or ``(R, R)`` indexed ``[r, q]`` (``M``, ``d``);
- the candidate set P is the boolean ``(R, R)`` mask ``consts["P"]``; pair quantities defined
  only on P (``h``, ``T``, ``M``) are zero off P.

GTM-2 (docs/model.md, "GTM-2") adds a world frontier F_s (a stock growing at g0, starting at
Γ·max_r A_rs) that replaces the best province as the catch-up target with weight ω_F (R&D
then speeds the catch-up instead of adding growth of its own), an investment share that falls
with national income (elasticity ζ), a
national population growth n_P added to the labour force's growth, catch-up measured by the
nation's relative gap (weight ω_N, keeping the provinces' relative TFP), each province's own
population growth relative to the nation's, d_r (weight ω_P, taken from the scenario like its
regions' data), and migration that answers the change of log v since t0 (weight ω_M), the
initial state taken as a spatial equilibrium. With the GTM-1 values (ω_F = 0, ω_N = 0, n_P = 0,
ζ = 0, ω_P = 0, ω_M = 0) the two models coincide.

Public entry points: ``calibrate`` (§5), ``auxiliaries`` (§6), ``derivatives`` (§7), the four
policies (§8), ``simulate_twin`` (§9), ``indicators`` (§10) and ``default_scenario_by_hand``.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Callable

import numpy as np

from gsim.params import DEFAULT_TIERS, SCALAR_DEFAULTS, TIER_DEFAULTS, RunSettings
from gsim.scenario import Regions, Scenario

# Stock names (§4), in the order they are checked and reported.
STOCKS: tuple[str, ...] = ("K", "A", "X", "XA", "Lf", "w", "H", "I", "p", "F")

# Output names of §10's table, in table order.
OUTPUTS: tuple[str, ...] = (
    "capital", "technology", "pipeline", "pipeline_technology",
    "labor_force", "wage", "skills", "infrastructure",
    "price", "frontier",
    "output", "employment", "profit_rate", "readiness",
    "transfer_out", "transfer_in",
    "gdp", "real_output", "sui",
    "utilization", "overcapacity", "margin",
    "real_gdp", "theil", "sui_national", "rd_share", "transfer_volume",
    "failed_transfer_share", "lost_capital",
)

EARTH_RADIUS_KM = 6371.0

# §3: tier output shares by macro-region (labor, resource, capital, technology).
MACRO_SHARES: dict[str, tuple[float, float, float, float]] = {
    "East": (0.15, 0.10, 0.40, 0.35),
    "Central": (0.30, 0.20, 0.35, 0.15),
    "West": (0.25, 0.35, 0.30, 0.10),
    "Northeast": (0.15, 0.30, 0.45, 0.10),
}

# §8: the built-in policies' own parameters and their defaults.
POLICY_DEFAULTS: dict[str, dict[str, Any]] = {
    "none": {},
    "market": {},
    "subsidy_race": {"rate": 0.03, "tiers": ["labor", "capital"]},
    "gradient": {"gradient_ratio": 1.3, "readiness": 0.52, "min_utilization": 0.7, "aid": 0.1},
}


class TwinRunFailed(RuntimeError):
    """A stock became negative or non-finite (§9); the message names the time and variable."""


# ---------------------------------------------------------------------------------------------
# Default scenario, built by hand (§3)
# ---------------------------------------------------------------------------------------------

def default_scenario_by_hand(csv_path: str | Path | None = None) -> Scenario:
    """The default scenario of §2–§3 built without the loader: china31.csv + macro-region shares."""
    if csv_path is None:
        csv_path = Path(__file__).resolve().parents[1] / "src" / "gsim" / "data" / "china31.csv"
    with open(csv_path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    regions = Regions(
        name=tuple(r["region"] for r in rows),
        name_zh=tuple(r["name_zh"] for r in rows),
        macro_region=tuple(r["macro_region"] for r in rows),
        lat=np.array([float(r["lat"]) for r in rows]),
        lon=np.array([float(r["lon"]) for r in rows]),
        gdp=np.array([float(r["gdp_bn_cny"]) for r in rows]),
        population=np.array([float(r["population_m"]) for r in rows]),
        schooling=np.array([float(r["schooling_years"]) for r in rows]),
        shares=np.array([MACRO_SHARES[r["macro_region"]] for r in rows], dtype=float),
    )
    return Scenario(
        name="china31-by-hand",
        tiers=tuple(DEFAULT_TIERS),
        regions=regions,
        params=dict(SCALAR_DEFAULTS),
        tier_params={k: np.array(v, dtype=float) for k, v in TIER_DEFAULTS.items()},
        policy_params={},
        run=RunSettings(),
        nearest=None,
        source="tests/twin.py:default_scenario_by_hand",
    )


# ---------------------------------------------------------------------------------------------
# Geometry and candidate pairs (§1)
# ---------------------------------------------------------------------------------------------

def haversine_distance(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Great-circle distance matrix d_rq in 1000 km (haversine, Earth radius 6371 km; §1)."""
    phi = np.radians(np.asarray(lat, dtype=float))
    lam = np.radians(np.asarray(lon, dtype=float))
    dphi = phi[None, :] - phi[:, None]
    dlam = lam[None, :] - lam[:, None]
    a = np.sin(dphi / 2) ** 2 + np.cos(phi[:, None]) * np.cos(phi[None, :]) * np.sin(dlam / 2) ** 2
    a = np.clip(a, 0.0, 1.0)
    return 2.0 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(a)) / 1000.0


def candidate_pairs(d: np.ndarray, nearest: int | None) -> np.ndarray:
    """Boolean (R, R) mask of P (§1): all r != q, or each sender's k nearest receivers.

    Distance ties are broken by the lower receiver index (stable sort).
    """
    R = d.shape[0]
    off_diag = ~np.eye(R, dtype=bool)
    if nearest is None:
        return off_diag
    P = np.zeros((R, R), dtype=bool)
    k = min(int(nearest), R - 1)
    for r in range(R):
        row = d[r].copy()
        row[r] = np.inf
        order = np.argsort(row, kind="stable")
        P[r, order[:k]] = True
    return P


# ---------------------------------------------------------------------------------------------
# §5 Calibration
# ---------------------------------------------------------------------------------------------

def calibrate(sc: Scenario) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Initial state and constants (§5, steps 1–9 in order).

    Returns ``(state, consts)``: ``state`` holds the stocks of §4 (K, A, X, XA, Lf, w, H, I, p);
    ``consts`` holds every scalar and tier parameter, the calibration constants (w_min, D0,
    Yhat_tot0), the calibration intermediates (Y0, Yhat0, E0, m0, mu_s) and the geometry
    (distance d, candidate mask P, receiver count n_recv).
    """
    prm = sc.params
    tp = {k: np.asarray(v, dtype=float) for k, v in sc.tier_params.items()}
    alpha = tp["alpha"]
    reg = sc.regions
    gdp = np.asarray(reg.gdp, dtype=float)
    y = np.asarray(reg.shares, dtype=float)
    R, S = y.shape
    u0, u_star, e_star = prm["u0"], prm["u_star"], prm["e_star"]

    # 1. labour force, skills, infrastructure, prices, pipeline
    Lf = prm["lambda_LF"] * np.asarray(reg.population, dtype=float)
    H = np.asarray(reg.schooling, dtype=float).copy()
    I = prm["kappa_I"] * gdp
    p = np.ones(S)
    X = np.zeros((R, S))
    XA = np.zeros((R, S))

    # 2. base output and capacity
    Y0 = y * gdp[:, None]
    Yhat0 = Y0 / u0

    # 3. base employment, by labour-cost share
    wage_bill = (1 - alpha)[None, :] * Y0
    E0 = e_star * Lf[:, None] * wage_bill / wage_bill.sum(axis=1, keepdims=True)

    # 4. wages (firms staff for normal utilisation)
    w = ((1 - alpha)[None, :] * (u_star / u0) * Y0).sum(axis=1) / (e_star * Lf)

    # 5. capital from the profit share
    mu_s = 1 - (1 - alpha) * u_star / u0
    K = prm["kappa_K"] * gdp[:, None] * mu_s[None, :] * y / (mu_s[None, :] * y).sum(
        axis=1, keepdims=True
    )

    # 6. wage floor
    w_min = prm["w_min_share"] * w

    # 7. initial readiness from §6.1–2
    m0 = readiness(H, I, Lf, prm["kappa"], tp["theta"])[2]

    # 8. TFP that reproduces the base capacity
    A = Yhat0 / (m0 * K ** alpha[None, :] * E0 ** (1 - alpha)[None, :])

    # 9. demand constants
    D0 = u0 * Yhat0.sum(axis=0)
    Yhat_tot0 = Yhat0.sum()

    d = haversine_distance(reg.lat, reg.lon)
    P = candidate_pairs(d, sc.nearest)

    # GTM-2: the world frontier, Γ above each tier's best province
    F = prm["frontier_gap"] * A.max(axis=0)

    state = {"K": K, "A": A, "X": X, "XA": XA, "Lf": Lf, "w": w, "H": H, "I": I, "p": p, "F": F}
    consts: dict[str, Any] = dict(prm)
    consts.update(tp)
    consts.update(
        R=R, S=S, tiers=tuple(sc.tiers),
        w_min=w_min, D0=D0, Yhat_tot0=Yhat_tot0,
        Y0=Y0, Yhat0=Yhat0, E0=E0, m0=m0, mu_s=mu_s,
        d=d, P=P, n_recv=P.sum(axis=1), pop_trend=np.asarray(sc.pop_trend, dtype=float),
        invest_rate=np.asarray(sc.invest_rate, dtype=float),
    )
    # GTM-2: v of §17 at the initial state (no policy yet), the spatial equilibrium migration
    # is measured from
    consts["v0"] = np.ones(R)
    W0, z0, psi0 = _zeros_policy(consts)
    consts["v0"] = auxiliaries(state, consts, sc, W0, z0, psi0)["v"]
    return state, consts


def readiness(H, I, Lf, kappa, theta):
    """§6.1–2: (Z_r, H_ref, m_rs) with H_ref, IL_ref the current maxima over regions.

    Returns ``(Z, H_ref, m, IL_ref)``.
    """
    H_ref = np.max(H)
    IL = I / Lf
    IL_ref = np.max(IL)
    Z = 0.5 * H / H_ref + 0.5 * IL / IL_ref
    m = 1.0 / (1.0 + np.exp(-kappa * (Z[:, None] - theta[None, :])))
    return Z, H_ref, m, IL_ref


# ---------------------------------------------------------------------------------------------
# §6 Auxiliaries
# ---------------------------------------------------------------------------------------------

def auxiliaries(state, consts, sc, W, z, psi) -> dict[str, Any]:
    """Every auxiliary of §6 (numbered as there) from the state and the policy (W, z, psi)."""
    c = consts
    K, A, X, XA = state["K"], state["A"], state["X"], state["XA"]
    Lf, w, H, I, p = state["Lf"], state["w"], state["H"], state["I"], state["p"]
    alpha, eps, eta = c["alpha"], c["epsilon"], c["eta"]
    u_star = c["u_star"]
    P = c["P"]

    # 1–2. readiness
    Z, H_ref, m, IL_ref = readiness(H, I, Lf, c["kappa"], c["theta"])

    # 3–5. labour demand and employment
    B = p[None, :] * u_star * m * A
    Dd = K * ((1 - alpha)[None, :] * B / w[:, None]) ** (1 / alpha)[None, :]
    Dd_tot = Dd.sum(axis=1)
    E = Dd * np.minimum(1.0, Lf / Dd_tot)[:, None]
    U = 1 - E.sum(axis=1) / Lf

    # 6. capacity
    Yc = m * A * K ** alpha[None, :] * E ** (1 - alpha)[None, :]

    # 7. demand
    Yc_tot = Yc.sum()
    Dem = c["D0"] * (Yc_tot / c["Yhat_tot0"]) ** eta * p ** (-eps)

    # 8. utilisation and output
    Q = Yc.sum(axis=0)
    u = np.minimum(1.0, Dem / Q)
    Y = u[None, :] * Yc

    # 9. nominal and real regional GDP
    gdp = (p[None, :] * Y).sum(axis=1)
    yr = Y.sum(axis=1)

    # 10. subsidies, capped by the infrastructure budget
    f_raw = (z * K).sum(axis=1)
    c_r = np.ones_like(f_raw)
    pos = f_raw > 0
    c_r[pos] = np.minimum(1.0, c["iota"] * yr[pos] / f_raw[pos])
    zeff = c_r[:, None] * z
    f = (zeff * K).sum(axis=1)

    # 11. profit rate
    pY = p[None, :] * Y
    surplus = pY - w[:, None] * E
    pi = surplus / np.maximum(K, c["K_eps"]) - c["delta"] + zeff

    # 12. margin and R&D
    margin = np.zeros_like(pY)
    nz = pY != 0
    margin[nz] = surplus[nz] / pY[nz]
    rd = c["rho"] * np.maximum(0.0, margin)

    # 13. capital-weighted logit allocation of investment
    expo = c["beta"] * pi
    wts = K * np.exp(expo - expo.max(axis=1, keepdims=True))
    x = wts / wts.sum(axis=1, keepdims=True)
    # GTM-2: the investment share falls with national income, elasticity ζ (0 under GTM-1)
    sigma = c["sigma"] * (Yc_tot / c["Yhat_tot0"]) ** (-c["invest_maturity"]) if c["invest_maturity"] else c["sigma"]
    # experimental GTM-2: each province invests σ times its relative fixed-investment rate s_r
    # to the power ω_I (0: every province the same share)
    if c["province_investment"]:
        sigma = sigma * c["invest_rate"] ** c["province_investment"]
    Inv = (sigma * yr)[:, None] * x

    # 14. relocation: expected profit of r's tier-s capital in q, gap, pull, transfers
    a3 = alpha[None, None, :]
    p3 = p[None, None, :]
    A_r = A[:, None, :]          # sender's technology, [r, ., s]
    m_q = m[None, :, :]          # receiver's readiness, [., q, s]
    w_q = w[None, :, None]       # receiver's wage, [., q, .]
    piE = (
        p3 * m_q * A_r
        * ((1 - a3) * p3 * u_star * m_q * A_r / w_q) ** ((1 - a3) / a3)
        * (u[None, None, :] - (1 - a3) * u_star)
        - c["delta"] + zeff[None, :, :]
    )
    G = piE - pi[:, None, :] - c["c_d"] * c["d"][:, :, None]
    Gp = np.maximum(0.0, G)
    h = np.where(P[:, :, None], Gp / (c["G0"] + Gp), 0.0)
    S_rs = (W * h).sum(axis=1)
    T = c["lambda_T"] * K[:, None, :] * W * h / (1 + S_rs[:, None, :])

    # 15. pipeline arrivals and their survival
    arr = X / c["tau_T"]
    arrA = XA / c["tau_T"]
    surv = 1 - c["ell_F"] * (1 - m)
    lost = (1 - surv) * arr

    # 16. tier frontier; GTM-2 moves the catch-up target towards the world frontier F
    Astar = A.max(axis=0)
    Astar = Astar + c["world_frontier"] * (state["F"] - Astar)

    # 17. migration
    v = w * np.maximum(1 - U, 1e-6)
    v0 = c["v0"]
    gain = (np.log(v[None, :] / v[:, None]) - c["spatial_equilibrium"] * np.log(v0[None, :] / v0[:, None])
            - c["c_m"] * c["d"])
    n_r = np.maximum(c["n_recv"], 1)  # a sender without receivers sends nobody
    M = np.where(P, c["mu"] * Lf[:, None] * np.maximum(0.0, gain) / n_r[:, None], 0.0)

    return dict(
        Z=Z, H_ref=H_ref, IL_ref=IL_ref, m=m, B=B, Dd=Dd, E=E, U=U, Yc=Yc, Yc_tot=Yc_tot,
        Dem=Dem, Q=Q, u=u, Y=Y, gdp=gdp, yr=yr, f_raw=f_raw, c=c_r, zeff=zeff, f=f,
        pi=pi, margin=margin, rd=rd, x=x, Inv=Inv, piE=piE, G=G, h=h, S=S_rs, T=T,
        arr=arr, arrA=arrA, surv=surv, lost=lost, Astar=Astar, v=v, M=M,
    )


# ---------------------------------------------------------------------------------------------
# §7 Derivatives
# ---------------------------------------------------------------------------------------------

def derivatives(state, aux, consts, sc, W, z, psi) -> dict[str, np.ndarray]:
    """d/dt of every stock (§7), keyed like the state.  (W, z enter through ``aux``.)"""
    c = consts
    K, A, Lf, w, H, I, p = (state[k] for k in ("K", "A", "Lf", "w", "H", "I", "p"))
    a = aux
    T = a["T"]                                  # [r, q, s], r sends to q
    T_out = T.sum(axis=1)                       # Σ_q T_rqs
    T_in = T.sum(axis=0)                        # Σ_q T_qrs
    T_in_A = np.einsum("qrs,qs->rs", T, A)      # Σ_q T_qrs·A_qs
    keep = 1 - c["ell_R"]

    dK = (
        a["Inv"] - (c["delta"] + c["delta_x"] * np.maximum(0.0, -a["pi"])) * K
        - T_out + a["surv"] * a["arr"]
    )
    dX = keep * T_in - a["arr"]
    dXA = keep * T_in_A - a["arrA"]
    # GTM-2 (weight ω_F): R&D speeds the catch-up to the frontier instead of adding growth
    wF = c["world_frontier"]
    # GTM-2: each province's target is its relative schooling to the power ξ times the frontier
    target = a["Astar"][None, :] * ((H / a["H_ref"]) ** c["catchup_schooling"])[:, None]
    gap = target - A
    # GTM-2 (weight ω_N): the nation's relative gap, capital-weighted means of TFP and target
    wN = c["national_catchup"]
    if wN:
        A_nat, target_nat = (K * A).sum(axis=0) / K.sum(axis=0), (K * target).sum(axis=0) / K.sum(axis=0)
        gap = (1 - wN) * gap + wN * A * (target_nat - A_nat) / A_nat
    dA = (
        A * (c["g0"] + c["chi"] * a["rd"] * (1 - wF))
        + (c["nu0"] * (H / a["H_ref"])[:, None] + wF * c["chi"] * a["rd"]) * gap
        + a["m"] * a["surv"] * (a["arrA"] - A * a["arr"]) / np.maximum(K, c["K_eps"])
    )
    M = a["M"]
    dLf = (c["n"] + c["pop_growth"] + c["province_paths"] * c["pop_trend"]) * Lf + M.sum(axis=0) - M.sum(axis=1)
    dw = c["phi_w"] * w * (a["Dd"].sum(axis=1) / Lf - c["e_star"])
    dw = np.where((w <= c["w_min"]) & (dw < 0), 0.0, dw)
    dH = c["gamma_H"] * (c["H_bar"] - H) + c["ell_H"] * (c["omega"][None, :] * a["E"]).sum(
        axis=1
    ) / Lf
    dI = (
        c["iota"] * a["yr"] - a["f"]
        + psi * T_in.sum(axis=1)
        - (T.sum(axis=2) * psi[None, :]).sum(axis=1)
        - c["delta_I"] * I
    )
    dp = c["phi_p"] * p * (a["Dem"] / a["Q"] - c["u_star"])
    dF = c["g0"] * state["F"]                   # GTM-2: the world frontier grows at g0
    return {"K": dK, "A": dA, "X": dX, "XA": dXA, "Lf": dLf, "w": dw, "H": dH, "I": dI, "p": dp, "F": dF}


# ---------------------------------------------------------------------------------------------
# §8 Policies
# ---------------------------------------------------------------------------------------------

def _zeros_policy(consts):
    R, S = consts["R"], consts["S"]
    return np.zeros((R, R, S)), np.zeros((R, S)), np.zeros(R)


def policy_none(state, aux, consts, sc, params):
    """§8 `none`: W = 0, z = 0, psi = 0."""
    return _zeros_policy(consts)


def policy_market(state, aux, consts, sc, params):
    """§8 `market`: W = 1 on every candidate pair, z = 0, psi = 0."""
    W, z, psi = _zeros_policy(consts)
    W[consts["P"]] = 1.0
    return W, z, psi


def policy_subsidy_race(state, aux, consts, sc, params):
    """§8 `subsidy_race`: W = 1 on P; regions with gdp/Lf strictly below the median subsidise."""
    W, z, psi = policy_market(state, aux, consts, sc, params)
    gpl = aux["gdp"] / state["Lf"]
    below = gpl < np.median(gpl)
    tier_idx = [list(consts["tiers"]).index(name) for name in params["tiers"]]
    for s in tier_idx:
        z[below, s] = params["rate"]
    return W, z, psi


def policy_gradient(state, aux, consts, sc, params):
    """§8 `gradient`: transfer down the gradient, lower tiers first, only to ready receivers."""
    R, S = consts["R"], consts["S"]
    m, u = aux["m"], aux["u"]
    ready = params["readiness"]
    gpl = aux["gdp"] / state["Lf"]
    s_idx = np.arange(S)
    s_hat = np.where(m >= ready, s_idx[None, :], -1).max(axis=1)      # frontier tier of r
    c1 = (gpl[:, None] >= params["gradient_ratio"] * gpl[None, :])[:, :, None]
    c2 = (s_idx[None, :] < s_hat[:, None])[:, None, :]
    c3 = (m >= ready)[None, :, :]
    c4 = (u >= params["min_utilization"])[None, None, :]
    cand = consts["P"][:, :, None]
    W = (c1 & c2 & c3 & c4 & cand).astype(float)
    z = np.zeros((R, S))
    psi = np.full(R, float(params["aid"]))
    return W, z, psi


POLICIES: dict[str, Callable] = {
    "none": policy_none,
    "market": policy_market,
    "subsidy_race": policy_subsidy_race,
    "gradient": policy_gradient,
}


def policy_params(sc: Scenario, name: str) -> dict[str, Any]:
    """The policy's defaults (§8) overridden by ``sc.policy_params[name]``."""
    over = (sc.policy_params or {}).get(name) or {}
    return {**POLICY_DEFAULTS.get(name, {}), **over}


# ---------------------------------------------------------------------------------------------
# §10 Indicators
# ---------------------------------------------------------------------------------------------

def indicators(state, aux, consts, sc) -> dict[str, np.ndarray]:
    """All outputs of §10's table at one instant (state + auxiliaries of the policy in force)."""
    a = aux
    p, Lf, w = state["p"], state["Lf"], state["w"]
    Y, E, T, gdp, m = a["Y"], a["E"], a["T"], a["gdp"], a["m"]
    S = consts["S"]
    pY = p[None, :] * Y
    surplus = pY - w[:, None] * E

    Gsum, Lsum = gdp.sum(), Lf.sum()
    g_sh, l_sh = gdp / Gsum, Lf / Lsum
    theil = np.sum(g_sh * np.log(g_sh / l_sh))

    sui = ((np.arange(S) + 1)[None, :] * pY).sum(axis=1) / gdp
    sui_national = np.sum(gdp * sui) / Gsum

    pY_s = pY.sum(axis=0)
    margin_s = np.where(pY_s != 0, surplus.sum(axis=0) / np.where(pY_s != 0, pY_s, 1.0), 0.0)

    T_tot = T.sum()
    unready_q = (m < 0.5)[None, :, :]           # receiver q unready for s
    failed = float(np.sum(T * unready_q) / T_tot) if T_tot > 0 else 0.0

    return {
        "capital": state["K"].copy(),
        "technology": state["A"].copy(),
        "pipeline": state["X"].copy(),
        "pipeline_technology": state["XA"].copy(),
        "labor_force": Lf.copy(),
        "wage": w.copy(),
        "skills": state["H"].copy(),
        "infrastructure": state["I"].copy(),
        "price": p.copy(),
        "frontier": state["F"].copy(),
        "output": Y,
        "employment": E,
        "profit_rate": a["pi"],
        "readiness": m,
        "transfer_out": T.sum(axis=1),
        "transfer_in": T.sum(axis=0),
        "gdp": gdp,
        "real_output": a["yr"],
        "sui": sui,
        "utilization": a["u"],
        "overcapacity": 1 - a["u"],
        "margin": margin_s,
        "real_gdp": np.float64(a["yr"].sum()),
        "theil": np.float64(theil),
        "sui_national": np.float64(sui_national),
        "rd_share": np.float64(np.sum(a["rd"] * pY) / Gsum),
        "transfer_volume": np.float64(T_tot),
        "failed_transfer_share": np.float64(failed),
        "lost_capital": np.float64(a["lost"].sum() + consts["ell_R"] * T_tot),
    }


# ---------------------------------------------------------------------------------------------
# §9 Integration and saving
# ---------------------------------------------------------------------------------------------

def _check_stocks(state, t):
    """Raise TwinRunFailed on the first negative or non-finite stock (§9)."""
    for name in STOCKS:
        v = state[name]
        if not np.all(np.isfinite(v)):
            raise TwinRunFailed(f"non-finite {name} at t={t:.6g}")
        if np.any(v < 0):
            raise TwinRunFailed(f"negative {name} at t={t:.6g}")


def _axpy(state, deriv, h):
    """state + h·deriv, stock by stock."""
    return {k: state[k] + h * deriv[k] for k in STOCKS}


def simulate_twin(sc: Scenario, policy="market", method=None, dt=None, t1=None):
    """Run GTM-1 (§9) and return the saved outputs of §10 plus ``time`` and ``status``.

    ``policy`` is a built-in name (§8) or a callable ``(state, aux, consts, sc, params)`` ->
    (W, z, psi).  ``method``, ``dt`` and ``t1`` override ``sc.run`` when given.  Raises
    TwinRunFailed when a stock turns negative or non-finite after a step.
    """
    run = sc.run
    method = run.method if method is None else method
    dt = float(run.dt if dt is None else dt)
    t1 = float(run.t1 if t1 is None else t1)
    t0 = float(run.t0)
    if callable(policy):
        policy_fn, params = policy, {}
    else:
        policy_fn, params = POLICIES[policy], policy_params(sc, policy)
    if method not in ("euler", "rk4"):
        raise ValueError(f"unknown method {method!r}")

    N = int(round((t1 - t0) / dt))
    decide_every = max(1, int(round(run.policy_period / dt)))
    save_every = max(1, int(round(run.save_every / dt)))

    state, consts = calibrate(sc)
    W, z, psi = _zeros_policy(consts)          # the "previous" policy at t0

    def rhs(y):
        return derivatives(y, auxiliaries(y, consts, sc, W, z, psi), consts, sc, W, z, psi)

    times: list[float] = []
    saved: list[dict[str, np.ndarray]] = []
    # Blow-ups (dt too large) are reported by the stock check, not as NumPy warnings.
    with np.errstate(all="ignore"):
        _check_stocks(state, t0)
        for k in range(N + 1):
            t = t0 + k * dt
            if k % decide_every == 0:
                aux_prev = auxiliaries(state, consts, sc, W, z, psi)
                W, z, psi = policy_fn(state, aux_prev, consts, sc, params)
            aux = auxiliaries(state, consts, sc, W, z, psi)   # policy now in force at t_k
            if k % save_every == 0 or k == N:
                times.append(t)
                saved.append(indicators(state, aux, consts, sc))
            if k == N:
                break
            k1 = derivatives(state, aux, consts, sc, W, z, psi)
            if method == "euler":
                state = _axpy(state, k1, dt)
            else:
                k2 = rhs(_axpy(state, k1, dt / 2))
                k3 = rhs(_axpy(state, k2, dt / 2))
                k4 = rhs(_axpy(state, k3, dt))
                state = {
                    n: state[n] + dt / 6 * (k1[n] + 2 * k2[n] + 2 * k3[n] + k4[n])
                    for n in STOCKS
                }
            _check_stocks(state, t0 + (k + 1) * dt)

    out: dict[str, Any] = {"time": np.array(times)}
    for name in OUTPUTS:
        out[name] = np.stack([np.asarray(s[name], dtype=float) for s in saved])
    out["status"] = "ok"
    return out
