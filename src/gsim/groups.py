"""Sending and receiving regions, and the group aggregates saved with every run.

A region is *sending* (a likely origin of industrial transfer) when its GDP per capita at t0
is above the population-weighted mean GDP per capita of all regions, i.e. above total GDP over
total population; every other region is *receiving*. The grouping is read from the
scenario's region data, before any sweep perturbation, so it is the same under every policy
and in every run of a sweep. A scenario may list its sending regions instead
(``[scenario] sending = [...]``, see docs/scenario.md).

The aggregates (``real_output_sending``, ``sui_receiving``, ...; units and long names in
`gsim.model.layout.VARIABLES`) are time series computed from a run's per-region values right after
integration, so a sweep saves them at ``--save indicators`` without saving any region series.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from gsim.model.layout import GROUP_AGGREGATES, GROUPS
from gsim.scenario import Scenario

KINDS = ("real_output", "sui", "technology", "skills")  # aggregate KIND_GROUP for each group
NAMES = GROUP_AGGREGATES  # units and long names in gsim.model.layout.VARIABLES
INPUTS = ("real_output", "gdp", "sui", "technology", "skills", "labor_force")  # what they need


def sending_mask(sc: Scenario) -> np.ndarray:
    """(R,) bool: True for the scenario's sending regions."""
    rg = sc.regions
    if sc.sending is not None:
        return np.array([name in sc.sending for name in rg.name])
    return rg.gdp / rg.population > rg.gdp.sum() / rg.population.sum()


def group_labels(sc: Scenario) -> list[str]:
    """'sending' or 'receiving' for each region, in region order."""
    return [GROUPS[0] if s else GROUPS[1] for s in sending_mask(sc)]


def group_aggregates(values: Mapping[str, np.ndarray], sending: np.ndarray) -> dict[str, np.ndarray]:
    """The aggregates of each group from per-region values shaped (..., R) or (..., R, S).

    - real_output_G: sum of real output over the group's regions;
    - sui_G: GDP-weighted mean SUI of the group (as the national SUI);
    - technology_G: geometric mean of TFP A over the group's region-tiers, equal weights, so
      capital moving between tiers or regions does not move it, only A itself does;
    - skills_G: labour-force-weighted mean years of schooling of the group.

    NaN inputs (a failed run after its failure) give NaN; an empty group gives NaN.
    """
    out: dict[str, np.ndarray] = {}
    lead = values["real_output"].shape[:-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        for group, mask in zip(GROUPS, (sending, ~sending)):
            if not mask.any():
                out.update({f"{kind}_{group}": np.full(lead, np.nan) for kind in KINDS})
                continue
            gdp, lf = values["gdp"][..., mask], values["labor_force"][..., mask]
            out[f"real_output_{group}"] = values["real_output"][..., mask].sum(-1)
            out[f"sui_{group}"] = (gdp * values["sui"][..., mask]).sum(-1) / gdp.sum(-1)
            out[f"technology_{group}"] = np.exp(np.log(values["technology"][..., mask, :]).mean((-2, -1)))
            out[f"skills_{group}"] = (lf * values["skills"][..., mask]).sum(-1) / lf.sum(-1)
    return {name: out[name] for name in NAMES}
