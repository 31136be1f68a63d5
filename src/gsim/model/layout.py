"""Where every quantity of a run lives: the state vector, parameter columns, output variables.

One table each, everything else derived:

- `STOCKS`: the stocks of spec §4 in the order of a run's flat state vector; `stock_offset`
  (compiled, so the kernels use it too) and `state_slices` give their positions.
- `SP` / `TP`: the column of each scalar parameter in the (B, NP) matrix `sp` and the row of
  each per-tier parameter in the (B, NT, S) array `tp`, in the order of `gsim.params`.
- `VARIABLES`: every output variable of spec §10 with its dimensions, units and long name,
  and where the kernels put it: a stock of the state, or a slot of one of the observation
  arrays (`rs` region x tier, `r` region, `s` tier, `o0` national). `OBS` lists each
  observation array's slots in table order; the kernels index them by name through it.
"""

from __future__ import annotations

from typing import NamedTuple

from numba import njit

from gsim.params import READY_THRESHOLD, SCALAR_PARAMS, TIER_PARAMS, param_label

RT, R_, T_, O_ = ("region", "tier"), ("region",), ("tier",), ()
GROUPS = ("sending", "receiving")  # the two region groups of gsim.groups

SCALAR_NAMES: tuple[str, ...] = tuple(SCALAR_PARAMS)
SP: dict[str, int] = {name: i for i, name in enumerate(SCALAR_NAMES)}
TIER_NAMES: tuple[str, ...] = tuple(TIER_PARAMS)
TP: dict[str, int] = {name: i for i, name in enumerate(TIER_NAMES)}

# Region data columns in the (B, NREG, R) array `reg` (those a sweep may scale per run): the
# regions file's data, d_r, the population trend a scenario derives (GTM-2 mechanism 5), and s_r,
# the relative fixed-investment rate (experimental, weight ω_I)
REGION_COLUMNS: tuple[str, ...] = ("gdp", "population", "schooling", "pop_trend", "invest_rate")


class Variable(NamedTuple):
    """An output variable: dims after time, units, long name, and where it is computed."""

    dims: tuple[str, ...]
    units: str
    long_name: str
    where: str  # "state" (a stock), an observation array ("rs", "r", "s", "o0"), or "groups"


_OBS_OF_DIMS = {RT: "rs", R_: "r", T_: "s", O_: "o0"}


def _var(dims: tuple[str, ...], units: str, long_name: str, stock: bool = False) -> Variable:
    return Variable(dims, units, long_name, "state" if stock else _OBS_OF_DIMS[dims])


VARIABLES: dict[str, Variable] = {
    # stocks (spec §4), in state-vector order
    "capital": _var(RT, "bn CNY", "productive capital K", True),
    "technology": _var(RT, "1", "total factor productivity A", True),
    "pipeline": _var(RT, "bn CNY", "capital in the relocation pipeline bound for the region, X", True),
    "pipeline_technology": _var(RT, "bn CNY", "technology content of the pipeline, XA", True),
    "labor_force": _var(R_, "million", "labour force Lf", True),
    "wage": _var(R_, "k CNY/yr", "wage per worker-year w", True),
    "skills": _var(R_, "years", "mean years of schooling H", True),
    "infrastructure": _var(R_, "bn CNY", "infrastructure stock I", True),
    "price": _var(T_, "1", "tier price index p", True),
    "frontier": _var(T_, "1", "world technology frontier F (GTM-2), in the units of A", True),
    # auxiliaries and indicators (spec §6, §10)
    "output": _var(RT, "bn CNY/yr", "real output Y"),
    "employment": _var(RT, "million", "employment E"),
    "profit_rate": _var(RT, "1/yr", "profit rate pi"),
    "readiness": _var(RT, "1", "readiness of the region for the tier, m"),
    "transfer_out": _var(RT, "bn CNY/yr", "capital relocating out of the region-tier, sum_q T_rqs"),
    "transfer_in": _var(RT, "bn CNY/yr", "capital relocating into the region-tier, sum_q T_qrs"),
    "gdp": _var(R_, "bn CNY/yr", "nominal regional GDP"),
    "real_output": _var(R_, "bn CNY/yr", "real regional output at base-year prices"),
    "sui": _var(R_, "1", "structural upgrading index (1 = all labour-intensive)"),
    "utilization": _var(T_, "1", "capacity utilisation u"),
    "overcapacity": _var(T_, "1", "overcapacity 1 - u"),
    "margin": _var(T_, "1", "profit margin of the tier"),
    "real_gdp": _var(O_, "bn CNY/yr", "national real GDP at base-year prices"),
    "theil": _var(O_, "1", "Theil index of GDP per labour-force member across regions"),
    "sui_national": _var(O_, "1", "GDP-weighted national structural upgrading index"),
    "rd_share": _var(O_, "1", "R&D spending as a share of GDP"),
    "transfer_volume": _var(O_, "bn CNY/yr", "total capital leaving senders"),
    "failed_transfer_share": _var(
        O_, "1", f"share of transfers into tiers the receiver is not ready for (m < {READY_THRESHOLD:g})"),
    "lost_capital": _var(O_, "bn CNY/yr", "capital wasted by failed arrivals and by moving"),
    # aggregates of the sending and receiving regions (gsim.groups), computed after a run
    **{f"real_output_{g}": Variable(O_, "bn CNY/yr", f"real output of the {g} regions at base-year prices", "groups")
       for g in GROUPS},
    **{f"sui_{g}": Variable(O_, "1", f"GDP-weighted structural upgrading index of the {g} regions", "groups")
       for g in GROUPS},
    **{f"technology_{g}": Variable(O_, "1", f"geometric mean TFP A over the {g} regions' region-tiers", "groups")
       for g in GROUPS},
    **{f"skills_{g}": Variable(O_, "years", f"labour-force-weighted mean years of schooling of the {g} regions",
                               "groups") for g in GROUPS},
}
# Short labels in words for tables and figures; a variable without one shows its name.
LABELS: dict[str, str] = {
    "capital": "capital", "technology": "technology (TFP)", "pipeline": "capital in transit",
    "pipeline_technology": "technology in transit", "labor_force": "labour force", "wage": "wage",
    "skills": "schooling", "infrastructure": "infrastructure", "price": "tier price",
    "output": "real output", "employment": "employment", "profit_rate": "profit rate",
    "readiness": "readiness", "transfer_out": "capital moving out", "transfer_in": "capital moving in",
    "gdp": "GDP", "real_output": "real output", "sui": "upgrading index", "utilization": "utilisation",
    "overcapacity": "overcapacity", "margin": "profit margin", "real_gdp": "real GDP",
    "theil": "inequality (Theil)", "sui_national": "upgrading index", "rd_share": "R&D share of GDP",
    "transfer_volume": "capital relocated", "failed_transfer_share": "failed-transfer share",
    "lost_capital": "capital lost",
    **{f"real_output_{g}": f"real output, {g}" for g in GROUPS},
    **{f"sui_{g}": f"upgrading index, {g}" for g in GROUPS},
    **{f"technology_{g}": f"technology, {g}" for g in GROUPS},
    **{f"skills_{g}": f"schooling, {g}" for g in GROUPS},
}


def label(name: str) -> str:
    """The short label of an output variable, or of a parameter with its symbol ("readiness
    steepness (κ)", see gsim.params.param_label); the name itself when it has none."""
    if name in LABELS:
        return LABELS[name]
    return param_label(name)


GROUP_AGGREGATES: tuple[str, ...] = tuple(n for n, v in VARIABLES.items() if v.where == "groups")

STOCKS: tuple[str, ...] = tuple(n for n, v in VARIABLES.items() if v.where == "state")
STOCK: dict[str, int] = {name: i for i, name in enumerate(STOCKS)}
OBS: dict[str, tuple[str, ...]] = {
    group: tuple(n for n, v in VARIABLES.items() if v.where == group) for group in ("rs", "r", "s", "o0")
}

# size class of each stock: 2 = region x tier, 1 = region, 0 = tier (a constant tuple, so
# the compiled `stock_offset` below can read it)
_STOCK_KIND: tuple[int, ...] = tuple(len(VARIABLES[n].dims) if VARIABLES[n].dims != T_ else 0 for n in STOCKS)


@njit(cache=True)
def stock_offset(i: int, R: int, S: int) -> int:
    """Start of stock number i (`STOCK[name]`) in a run's flat state vector; i = len(STOCKS)
    gives the state's size."""
    at = 0
    for j in range(i):
        kind = _STOCK_KIND[j]
        at += R * S if kind == 2 else (R if kind == 1 else S)
    return at


def stock_shape(name: str, R: int, S: int) -> tuple[int, ...]:
    size = {"region": R, "tier": S}
    return tuple(size[d] for d in VARIABLES[name].dims)


def state_slices(R: int, S: int) -> dict[str, tuple[slice, tuple[int, ...]]]:
    """Offsets and shapes of each stock inside a run's flat state vector."""
    out = {}
    for i, name in enumerate(STOCKS):
        start, stop = stock_offset(i, R, S), stock_offset(i + 1, R, S)
        out[name] = (slice(start, stop), stock_shape(name, R, S))
    return out


def state_size(R: int, S: int) -> int:
    return stock_offset(len(STOCKS), R, S)


def stock_label(index: int, R: int, S: int, regions, tiers) -> str:
    """The stock element at flat state index `index`, e.g. ``capital[Tibet, labor]``."""
    for name, (sl, shape) in state_slices(R, S).items():
        if sl.start <= index < sl.stop:
            pos = tuple(int(p) for p in divmod(index - sl.start, S)) if len(shape) == 2 else (index - sl.start,)
            labels = [regions if d == "region" else tiers for d in VARIABLES[name].dims]
            return f"{name}[{', '.join(str(lab[p]) for lab, p in zip(labels, pos))}]"
    return f"state[{index}]"
