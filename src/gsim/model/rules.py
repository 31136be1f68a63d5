"""The rules every run's model inputs obey, for scenario files and sampled runs alike.

One function per rule, vectorised over the runs of a batch, checked in this order (a rule is
evaluated only on runs that passed the ones before, so no arithmetic ever sees an invalid
number):

1. bounds: every parameter, region value and tier share finite and within its bounds
   (`gsim.params`: `PARAM_BOUNDS`, `REGION_DATA`, `SHARE`);
2. profit share: μ_s = 1 − (1 − α_s)·u*/u0 > 0 for every tier (spec §5, step 5);
3. calibration: the initial state of spec §5 is finite and non-negative (the run would fail
   at once otherwise, spec §9), and so are the demand constants D0 and Ŷtot0 (> 0).

`check` gives each run's first broken rule (a sweep stores such runs as invalid input);
`first_problem` says in words what is wrong with one run (the scenario loader's message).
`run_memory` estimates the peak memory of one run (the loader's limit `MAX_RUN_MEMORY`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import numpy as np

from gsim.model.calibrate import Calibration, calibrate
from gsim.model.inputs import BatchInputs
from gsim.model.layout import OBS, REGION_COLUMNS, SCALAR_NAMES, SP, TIER_NAMES, TP, state_size, stock_label
from gsim.model.pairs import Pairs
from gsim.params import INVEST_RATE, PARAM_BOUNDS, POP_TREND, REGION_DATA, SHARE, ParamSpec, fmt_num, show

_REGION_BOUNDS = {**REGION_DATA, "pop_trend": POP_TREND, "invest_rate": INVEST_RATE}
RULES = ("ok", "bounds", "profit_share", "calibration")  # the codes `check` returns, in order
OK, BOUNDS, PROFIT_SHARE, CALIBRATION = range(len(RULES))


def one_run(params: Mapping[str, float], tier_params: Mapping[str, np.ndarray],
            region_data: Mapping[str, np.ndarray], shares: np.ndarray) -> BatchInputs:
    """One run's inputs from values by name, without candidate pairs (the rules and the
    calibration do not read them, and they cost R² memory)."""
    R = len(shares)
    return BatchInputs(
        sp=np.array([[params[n] for n in SCALAR_NAMES]], np.float64),
        tp=np.array([[tier_params[n] for n in TIER_NAMES]], np.float64),
        reg=np.array([[region_data[c] for c in REGION_COLUMNS]], np.float64),
        shares=np.asarray(shares, np.float64)[None],
        pairs=Pairs(np.zeros((R, 0), np.int64), np.zeros((R, 0)), np.zeros(R, np.int64)),
    )


def _rows(inp: BatchInputs, idx: np.ndarray) -> BatchInputs:
    return BatchInputs(inp.sp[idx], inp.tp[idx], inp.reg[idx], inp.shares[idx], inp.pairs)


# ----------------------------------------------------------------------------------------
# the rules
# ----------------------------------------------------------------------------------------
def _bounded(inp: BatchInputs) -> Iterator[tuple[str, str, ParamSpec, np.ndarray]]:
    """(kind, name, bounds, values (B, n)) of every bounded input; kind says what n indexes:
    "scalar" (n = 1), "tier" (tiers), "region" (regions) or "shares" (regions x tiers)."""
    for name, j in SP.items():
        yield "scalar", name, PARAM_BOUNDS[name], inp.sp[:, j, None]
    for name, i in TP.items():
        yield "tier", name, PARAM_BOUNDS[name], inp.tp[:, i]
    for c, name in enumerate(REGION_COLUMNS):
        yield "region", name, _REGION_BOUNDS[name], inp.reg[:, c]
    yield "shares", "shares", SHARE, inp.shares.reshape(inp.n_runs, -1)


def within_bounds(inp: BatchInputs) -> np.ndarray:
    """(B,) rule 1: every input of the run is finite and within its bounds."""
    ok = np.ones(inp.n_runs, bool)
    for _, _, bounds, v in _bounded(inp):
        ok &= bounds.valid(v).all(axis=1)
    return ok


def profit_share_ok(inp: BatchInputs) -> np.ndarray:
    """(B, S) rule 2: μ_s = 1 − (1 − α_s)·u*/u0 > 0, tested as (1 − α_s)·u* < u0 (no division
    that a tiny u0 could overflow; inputs within bounds)."""
    alpha = inp.tp[:, TP["alpha"]]
    return (1.0 - alpha) * inp.sp[:, SP["u_star"], None] < inp.sp[:, SP["u0"], None]


def calibrated(inp: BatchInputs) -> Calibration:
    """The calibration of spec §5 with floating-point warnings silenced: rule 3 looks at its
    result (inputs within bounds and with positive profit shares)."""
    with np.errstate(all="ignore"):
        return calibrate(inp)


def calibration_ok(cal: Calibration) -> np.ndarray:
    """(B,) rule 3: a finite, non-negative initial state and finite, positive D0 and Ŷtot0."""
    y0 = cal.y0
    return ((np.isfinite(y0) & (y0 >= 0)).all(axis=1)
            & (np.isfinite(cal.D0) & (cal.D0 > 0)).all(axis=1)
            & np.isfinite(cal.Ytot0) & (cal.Ytot0 > 0))


def check(inp: BatchInputs) -> np.ndarray:
    """(B,) int8: the first rule each run breaks (`RULES` index; `OK` = 0 when none)."""
    code = np.full(inp.n_runs, OK, np.int8)
    code[~within_bounds(inp)] = BOUNDS
    live = np.flatnonzero(code == OK)
    if live.size:
        bad = ~profit_share_ok(_rows(inp, live)).all(axis=1)
        code[live[bad]] = PROFIT_SHARE
        live = live[~bad]
    if live.size:
        code[live[~calibration_ok(calibrated(_rows(inp, live)))]] = CALIBRATION
    return code


# ----------------------------------------------------------------------------------------
# one run in words
# ----------------------------------------------------------------------------------------
def _field(kind: str, name: str, i: int, tiers: Sequence[str], regions: Sequence[str]) -> str:
    """The scenario-file field of element i of a bounded input (see `_bounded`)."""
    if kind == "scalar":
        return f"params.{name}"
    if kind == "tier":
        return f"params.{name}.{tiers[i]}"
    if kind == "region":
        return f"regions[{regions[i]}].{name}"
    r, s = divmod(i, len(tiers))
    return f"regions[{regions[r]}].shares.{tiers[s]}"


def first_problem(inp: BatchInputs, tiers: Sequence[str], regions: Sequence[str]) -> tuple[str, str] | None:
    """(field, reason) of the first rule that run 0 of `inp` breaks, or None if it breaks none.

    Fields are those of a scenario file (``params.u_star``, ``regions[Tibet].gdp``), or
    ``calibration`` when no single value is to blame.
    """
    one = _rows(inp, np.array([0]))
    code = int(check(one)[0])
    if code == BOUNDS:
        for kind, name, bounds, v in _bounded(one):
            bad = np.flatnonzero(~bounds.valid(v[0]))
            if bad.size:
                i = int(bad[0])
                return _field(kind, name, i, tiers, regions), f"must be {bounds.describe()}, got {fmt_num(v[0, i])}"
    if code == PROFIT_SHARE:
        s = int(np.flatnonzero(~profit_share_ok(one)[0])[0])
        alpha, u_star, u0 = one.tp[0, TP["alpha"], s], one.sp[0, SP["u_star"]], one.sp[0, SP["u0"]]
        with np.errstate(over="ignore"):
            ratio = (1.0 - alpha) * u_star / u0
        return "params.u_star", (
            f"calibration needs (1 - alpha)*u_star/u0 < 1 for every tier (a positive profit share); "
            f"tier {show(tiers[s])} gives {ratio:.6g} (alpha = {fmt_num(alpha)}, u_star = {fmt_num(u_star)}, "
            f"u0 = {fmt_num(u0)})")
    if code == CALIBRATION:
        cal = calibrated(one)
        y0 = cal.y0[0]
        bad = np.flatnonzero(~(np.isfinite(y0) & (y0 >= 0)))
        what = (f"{stock_label(int(bad[0]), one.n_regions, one.n_tiers, regions, tiers)} = {fmt_num(y0[bad[0]])}"
                if bad.size else "a base demand D0 or capacity Ytot0 that is not finite and > 0")
        return "calibration", (
            f"the initial state (spec §5) must be finite and >= 0, but it gives {what}; a parameter or "
            f"data value is too large or too small (e.g. kappa*(theta - Z) > 709 makes readiness 0)")
    return None


# ----------------------------------------------------------------------------------------
# memory
# ----------------------------------------------------------------------------------------
def memory_terms(R: int, k: int, S: int, n_saves: int) -> dict[str, int]:
    """The parts of `run_memory`, in bytes: "regions" (the R x R distance matrix behind the
    candidate pairs and its temporaries, 7 floats per pair of regions), "pairs" (the policy
    decisions W, R x k x S, 3 copies) and "saves" (everything observed at one saved time,
    x 1.5, for n_saves times). The estimate is 1.2 to 1.8 times the peak that tracemalloc
    measures for a run (benchmarks/bench_memory.py)."""
    per_save = (state_size(R, S) + len(OBS["rs"]) * R * S + len(OBS["r"]) * R
                + len(OBS["s"]) * S + len(OBS["o0"]))
    return {"regions": 8 * 7 * R * R, "pairs": 8 * 3 * R * k * S, "saves": 8 * 3 * n_saves * per_save // 2}


def run_memory(R: int, k: int, S: int, n_saves: int) -> int:
    """Estimated peak memory of one run in bytes (R regions, k receivers per sender, S tiers,
    n_saves saved times); the scenario loader refuses more than `params.MAX_RUN_MEMORY`."""
    return sum(memory_terms(R, k, S, n_saves).values())
