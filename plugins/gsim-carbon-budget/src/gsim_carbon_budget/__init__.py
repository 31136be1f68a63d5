"""A gsim plugin: relocation under a carbon budget, only into one macro region's receivers.

The indicator ``relocation_emissions`` is the CO2 emitted by building relocated capacity:
an emission factor (a parameter, Mt CO2 per bn CNY relocated) times the transfer volume.
The policy ``carbon_budget`` reads it before each decision and keeps two state arrays: the
emissions it has booked so far and whether the budget is closed. At each decision it books
the coming period's emissions at the rate it observes; it allows transfers (W = 1) into the
receivers of ``macro_region`` while that booking fits under ``cap``, and closes the budget
for good at the first decision where it would not.
"""

import numpy as np

from gsim import hookimpl
from gsim.indicators import Indicator
from gsim.params import INF, spec
from gsim.policies import Policy, StateVar, zero_decision


def relocation_emissions(ds, params):
    return params["factor"] * ds.transfer_volume


def decide(ctx):
    W, z, psi = zero_decision(ctx.n_runs, ctx.pairs, len(ctx.tiers))
    booked, closed = ctx.state["booked"], ctx.state["closed"]  # (B,) each, updated in place
    cap = np.broadcast_to(np.asarray(ctx.params["cap"], float), booked.shape)  # one cap per run
    charge = ctx["relocation_emissions"] * ctx.period  # the coming period at the observed rate
    fits = (closed == 0) & (booked + charge <= cap)
    booked[fits] += charge[fits]
    closed[~fits] = 1.0
    receiver = ctx.region_data["macro_region"] == ctx.params["macro_region"]  # (R,)
    W[:] = (fits[:, None, None, None] & receiver[ctx.pairs.recv][None, :, :, None])
    return W, z, psi


@hookimpl
def gsim_register_indicators(register):
    register(Indicator(
        "relocation_emissions", relocation_emissions, "Mt CO2/yr",
        "CO2 emitted building relocated capacity", defaults={"factor": 0.5},
        schema={"factor": spec(0, INF, True, False, "Mt CO2 per bn CNY", "emission factor of relocation")},
        better=-1))


@hookimpl
def gsim_register_policies(register):
    register(Policy(
        "carbon_budget", decide, {"cap": 10000.0, "macro_region": "West"},
        "Relocation into the receivers of one macro region until the booked relocation "
        "emissions reach a budget over the horizon.",
        schema={"cap": spec(0, INF, True, False, "Mt CO2", "relocation emissions allowed over the horizon")},
        state={"booked": StateVar((), "Mt CO2", long_name="relocation emissions booked"),
               "closed": StateVar((), "1", long_name="1 once the budget is closed")},
        indicators=("relocation_emissions",), per_run_params=True))
