"""Overrides: what `Scenario.with_overrides` keywords do to a scenario's canonical document
(which the loader then validates again), and `replace_run`."""

from __future__ import annotations

from dataclasses import fields
from typing import TYPE_CHECKING, Any

import numpy as np

from gsim.params import GTM2_ONLY, MODELS, SCALAR_DEFAULTS, TIER_DEFAULTS, RunSettings, model_defaults
from gsim.params import show as _show
from gsim.scenario.reading import _Ctx, _short, _typename

if TYPE_CHECKING:
    from gsim.scenario.parsing import Scenario

_RUN_FIELDS = tuple(f.name for f in fields(RunSettings))


def apply_overrides(ctx: _Ctx, doc: dict[str, Any], sc: Scenario, kw: dict[str, Any]) -> None:
    """Put the override keywords `kw` (None values ignored) into `doc`, the canonical document
    of `sc`; a keyword it does not know is a ScenarioError."""
    for k, v in kw.items():
        if v is None:
            continue
        if k in _RUN_FIELDS:
            doc["run"][k] = v
        elif k in SCALAR_DEFAULTS:
            doc["params"][k] = v
        elif k in TIER_DEFAULTS:
            if isinstance(v, np.ndarray):
                v = v.ravel().tolist()
            if isinstance(v, dict):
                doc["params"][k] = dict(v)
            elif isinstance(v, (list, tuple)) and len(v) == len(sc.tiers):
                doc["params"][k] = dict(zip(sc.tiers, v))
            else:
                ctx.fail(f"params.{k}", f"expected {len(sc.tiers)} values (one per tier: {', '.join(sc.tiers)}) "
                                        f"or a table by tier, got {_typename(v)} {_show(v)}")
        elif k == "name":
            doc["scenario"]["name"] = v
        elif k == "population_path":
            doc["scenario"]["population_path"] = v
        elif k == "model":
            _switch_model(doc, sc.model, v)
        elif k == "sweep":  # the whole [sweep] table
            doc["sweep"] = ctx.table(v, "sweep")
        elif k == "regions":  # a regions CSV file (a path, relative to the working directory)
            doc.pop("regions", None)
            doc["scenario"]["regions"] = str(v)
        elif k == "nearest":
            doc["scenario"]["pairs"] = {"nearest": v}
        elif k == "pairs":
            doc["scenario"]["pairs"] = v if isinstance(v, (str, dict)) else {"nearest": v}
        elif k == "sending":
            doc["scenario"]["sending"] = list(v) if isinstance(v, (list, tuple)) else v
        elif k == "policies":
            for pname, pvals in ctx.table(v, "policies").items():
                doc["policies"].setdefault(pname, {}).update(ctx.table(pvals, f"policies.{pname}"))
        elif k == "indicators":
            for iname, ivals in ctx.table(v, "indicators").items():
                doc.setdefault("indicators", {}).setdefault(iname, {}).update(ctx.table(ivals, f"indicators.{iname}"))
        else:
            ctx.fail(_short(str(k)), "unknown override")


def _switch_model(doc: dict[str, Any], old: str, new: Any) -> None:
    """Move a canonical document to another model: each parameter at the old model's default
    takes the new model's; GTM-2's own parameters are dropped under GTM-1, sampled ones too."""
    doc["scenario"]["model"] = new
    if new not in MODELS or new == old:
        return  # an unknown model is reported by the loader
    if new == "gtm1":
        doc["scenario"].pop("population_path", None)
    before, after = model_defaults(old), model_defaults(new)
    uncertain = (doc.get("sweep") or {}).get("uncertain")
    if new == "gtm1" and isinstance(uncertain, dict):  # GTM-1 samples none of GTM-2's parameters
        doc["sweep"]["uncertain"] = {k: v for k, v in uncertain.items() if k not in GTM2_ONLY}
    for k in SCALAR_DEFAULTS:
        if new == "gtm1" and k in GTM2_ONLY:
            doc["params"].pop(k, None)
        elif doc["params"].get(k, before[k]) == before[k]:
            doc["params"][k] = after[k]


def replace_run(
    sc: Scenario,
    *,
    t0: float | None = None,
    t1: float | None = None,
    dt: float | None = None,
    save_every: float | None = None,
    policy_period: float | None = None,
    method: str | None = None,
    policy: str | None = None,
) -> Scenario:
    """A re-validated copy with run settings replaced (None leaves a setting as it is)."""
    return sc.with_overrides(t0=t0, t1=t1, dt=dt, save_every=save_every, policy_period=policy_period,
                             method=method, policy=policy)
