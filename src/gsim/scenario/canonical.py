"""The canonical resolved scenario: one TOML document, every value explicit, regions inline;
its text is what a scenario's hash and equality are of."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from gsim.params import GTM2_ONLY, SCALAR_DEFAULTS, TIER_DEFAULTS

if TYPE_CHECKING:
    from gsim.scenario.parsing import Scenario

_HEADER = (
    "# gsim scenario, resolved: every parameter explicit, regions inline.\n"
    "# Load it with `gsim scenario check FILE` or `gsim run FILE`; see docs/scenario.md.\n\n"
)


def _plain(v: Any) -> Any:
    """Python scalars/lists/dicts only (no numpy types), for tomli_w."""
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, np.ndarray):
        return [_plain(x) for x in v.tolist()]
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return float(v)
    return v


def _to_doc(sc: Scenario) -> dict[str, Any]:
    """The canonical document of a scenario (every value explicit, regions inline)."""
    rg = sc.regions
    r = sc.run
    doc: dict[str, Any] = {
        "scenario": {
            "name": sc.name,
            "model": sc.model,
            "tiers": list(sc.tiers),
            "pairs": "all" if sc.nearest is None else {"nearest": int(sc.nearest)},
            **({} if sc.population_path is None else {"population_path": sc.population_path}),
        },
        "run": {
            "t0": float(r.t0), "t1": float(r.t1), "dt": float(r.dt),
            "save_every": float(r.save_every), "policy_period": float(r.policy_period),
            "method": r.method, "policy": r.policy,
        },
        "params": {k: float(sc.params[k]) for k in SCALAR_DEFAULTS
                   if not (sc.model == "gtm1" and k in GTM2_ONLY)},
    }
    for k in TIER_DEFAULTS:
        doc["params"][k] = {t: float(x) for t, x in zip(sc.tiers, sc.tier_params[k])}
    doc["policies"] = {name: _plain(sc.policy_params[name]) for name in sorted(sc.policy_params)}
    if sc.indicator_params:
        doc["indicators"] = {name: _plain(sc.indicator_params[name]) for name in sorted(sc.indicator_params)}
    doc["regions"] = [
        {
            "name": rg.name[i],
            "name_zh": rg.name_zh[i],
            "macro_region": rg.macro_region[i],
            "lat": float(rg.lat[i]),
            "lon": float(rg.lon[i]),
            "gdp": float(rg.gdp[i]),
            "population": float(rg.population[i]),
            "schooling": float(rg.schooling[i]),
            "shares": {t: float(x) for t, x in zip(sc.tiers, rg.shares[i])},
            **{col: values[i] for col, values in rg.attributes},
        }
        for i in range(len(rg))
    ]
    if rg.attributes:
        doc["scenario"]["region_attributes"] = [col for col, _ in rg.attributes]
    if sc.sending is not None:
        doc["scenario"]["sending"] = list(sc.sending)
    if sc.sweep is not None:
        doc["sweep"] = _plain(sc.sweep)
    if sc.match is not None:
        doc["match"] = _plain(sc.match)
    if sc.events:
        doc["events"] = [_plain(dict(ev)) for ev in sc.events]
    return doc


def scenario_to_toml(sc: Scenario) -> str:
    """The canonical resolved scenario as TOML: self-contained, loadable, `source` left out."""
    return sc.toml


def scenario_hash(sc: Scenario) -> str:
    """sha256 hex digest of `scenario_to_toml(sc)` (independent of where it was loaded from)."""
    return sc.hash
