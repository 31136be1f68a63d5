"""Events: exogenous shocks applied to a batch of runs at given steps.

An *event type* (registered through the ``gsim_register_events`` hook) turns parameters into
`Event` objects. A scenario asks for events with ``[[events]]`` tables::

    [[events]]
    type = "pipeline_inflow"     # an event type's name
    receiver = "Guangxi"
    senders = ["Guangdong"]
    amount = 10.0                # bn CNY in all
    tier_shares = { labor = 0.5, capital = 0.5 }
    start = 2025.0
    end = 2027.0

The three generic event types below are registered by the built-in plugin ``gsim.events``
(`gsim.builtins`); this module also provides the helpers `pipeline_inflow`, `parameter_change` and `scale_region` that plugin
event types can build on.

- ``pipeline_inflow``: capital entering a receiver's relocation pipeline (X, with its
  technology content XA) from named senders, spread evenly over [start, end);
- ``parameter_change``: a scalar or per-tier parameter set to a new value from a given year;
- ``scale_region``: a region's stock (labour force, infrastructure, capital, ...) multiplied
  by a factor at a given year.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gsim.model.inputs import BatchInputs
from gsim.model.layout import SP, TP, state_slices
from gsim.model.pairs import Pairs
from gsim.params import CALIBRATION_ONLY, PARAM_BOUNDS, ParamSpec

REQUIRED = None  # a default of None marks a required event parameter


class EventError(ValueError):
    """An event is misconfigured or failed; the message names the event type and plugin."""


@dataclass(frozen=True)
class Event:
    """Something applied to a batch between steps (e.g. an exogenous shock).

    ``apply(step, t, y, inputs)`` may edit the (B, NY) state `y` and the parameter arrays
    of `inputs` (BatchInputs: sp, tp) in place; it is called at each step listed in
    ``steps``, before that step's policy decision and save. Use
    `gsim.model.layout.state_slices` to find a stock inside `y`.
    """

    steps: frozenset[int]
    apply: Callable[[int, float, np.ndarray, BatchInputs], None]


@dataclass(frozen=True)
class EventSetup:
    """What an event type's `build` sees: the run's time grid, regions, tiers and pairs."""

    t0: float
    dt: float
    n_steps: int
    regions: tuple[str, ...]
    tiers: tuple[str, ...]
    pairs: Pairs | None = None
    scenario: Any = None

    def step_of(self, year: float) -> int:
        """The step k with t_k nearest to `year` (may be outside 0..n_steps)."""
        return int(round((float(year) - self.t0) / self.dt))

    def region_index(self, name: str) -> int:
        if name not in self.regions:
            raise EventError(f"unknown region {name!r} (regions: {', '.join(self.regions)})")
        return self.regions.index(name)

    def tier_index(self, name: str) -> int:
        if name not in self.tiers:
            raise EventError(f"unknown tier {name!r} (tiers: {', '.join(self.tiers)})")
        return self.tiers.index(name)


@dataclass(frozen=True)
class EventType:
    """A kind of event a scenario can ask for with ``[[events]] type = NAME``.

    ``build(params, setup) -> list[Event]``: `params` are the scenario's values merged over
    ``defaults`` (a default of None marks a required parameter; keys not in ``defaults``
    are rejected); `setup` is an `EventSetup`. Raise `EventError` for a bad value.
    ``schema`` may give bounds, unit and meaning of numeric parameters
    (`gsim.params.ParamSpec`), checked when a scenario is loaded.
    """

    name: str
    build: Callable[[Mapping[str, Any], EventSetup], list]
    defaults: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""
    plugin: str = ""
    schema: Mapping[str, ParamSpec] = field(default_factory=dict)


def _event(steps, apply) -> Event:
    return Event(frozenset(int(k) for k in steps), apply)


# --- generic helpers ------------------------------------------------------------------------
def pipeline_inflow(
    setup: EventSetup,
    receiver: str,
    amounts: Mapping[str, float],
    senders: Sequence[str] | Mapping[str, float],
    start: float,
    end: float,
    *,
    deduct_from_senders: bool = True,
    move_loss: bool = True,
    max_sender_share: float = 0.5,
) -> Event:
    """Capital entering `receiver`'s relocation pipeline from `senders`, evenly over
    [start, end) (calendar years).

    ``amounts`` gives bn CNY per tier in all (the whole window). Each step of the window adds
    amount·dt/(end − start). Senders given as a list share each tier's amount in proportion
    to their capital in that tier at that moment; given as a table {name: weight}, in fixed
    proportions. With ``deduct_from_senders`` the capital leaves the senders' K (at most
    ``max_sender_share`` of a sender-tier's capital per step); otherwise it is new capital.
    With ``move_loss`` the share ℓ_R is lost in the move, as for model transfers. The
    pipeline's technology content XA rises by the arriving capital times the senders' A,
    so the capital arrives after the pipeline delay τ_T with the senders' technology.
    """
    R, S = len(setup.regions), len(setup.tiers)
    q = setup.region_index(receiver)
    a = np.zeros(S)
    for tier, amt in dict(amounts).items():
        a[setup.tier_index(tier)] = float(amt)
    if not np.isfinite(a).all() or (a < 0).any():
        raise EventError(f"amounts must be finite and >= 0, got {dict(amounts)}")
    if not float(end) > float(start):
        raise EventError(f"end ({end}) must be after start ({start})")
    if isinstance(senders, Mapping):
        idx = np.array([setup.region_index(n) for n in senders], np.int64)
        fixed = np.array([float(v) for v in senders.values()])
        if (fixed < 0).any() or fixed.sum() <= 0:
            raise EventError("sender weights must be >= 0 with a positive sum")
        fixed = fixed / fixed.sum()
    else:
        idx = np.array([setup.region_index(n) for n in senders], np.int64)
        fixed = None
    if len(idx) == 0:
        raise EventError("give at least one sender")
    if q in idx:
        raise EventError(f"the receiver {receiver!r} cannot also be a sender")
    k0, k1 = setup.step_of(start), setup.step_of(end)
    steps = [k for k in range(k0, k1) if 0 <= k < setup.n_steps]
    per_step = a * setup.dt / (float(end) - float(start))  # (S,) bn CNY per step
    sl = state_slices(R, S)
    slK, slA, slX, slXA = (sl[n][0] for n in ("capital", "technology", "pipeline",
                                              "pipeline_technology"))

    def apply(step: int, t: float, y: np.ndarray, inputs: BatchInputs) -> None:
        B = y.shape[0]
        K = y[:, slK].reshape(B, R, S)[:, idx, :]  # (B, J, S) copies
        A = y[:, slA].reshape(B, R, S)[:, idx, :]
        if fixed is None:
            tot = K.sum(axis=1, keepdims=True)
            w = np.divide(K, tot, out=np.full_like(K, 1.0 / len(idx)), where=tot > 0)
        else:
            w = np.broadcast_to(fixed[None, :, None], K.shape)
        moved = w * per_step[None, None, :]  # (B, J, S)
        if deduct_from_senders:
            moved = np.minimum(moved, max_sender_share * np.maximum(K, 0.0))
            Kv = y[:, slK].reshape(B, R, S)
            for j, r in enumerate(idx):
                Kv[:, r, :] -= moved[:, j, :]
            y[:, slK] = Kv.reshape(B, R * S)
        keep = (1.0 - inputs.sp[:, SP["ell_R"]])[:, None] if move_loss else np.ones((B, 1))
        arriving = moved.sum(axis=1) * keep  # (B, S)
        tech = (moved * A).sum(axis=1) * keep  # (B, S)
        X = y[:, slX].reshape(B, R, S)
        XA = y[:, slXA].reshape(B, R, S)
        X[:, q, :] += arriving
        XA[:, q, :] += tech
        y[:, slX] = X.reshape(B, R * S)
        y[:, slXA] = XA.reshape(B, R * S)

    return _event(steps, apply)


def parameter_change(setup: EventSetup, name: str, value: float, year: float,
                     tier: str | None = None) -> Event:
    """Set scalar parameter `name` (or per-tier parameter `name` of `tier`, or of every tier
    when `tier` is None) to `value` from `year` on (the step nearest to `year`).

    Calibration constants (u0, kappa_K, ...) act only at t0, so changing them later is an
    error rather than a silent no-op."""
    if name in CALIBRATION_ONLY:
        raise EventError(f"parameter {name} is a calibration constant (used only at t0); "
                         "set it in [params] instead")
    value = float(value)
    spec = PARAM_BOUNDS.get(name)
    if spec is not None and not spec.contains(value):
        raise EventError(f"parameter {name} = {value:g} is out of range ({spec.describe()})")
    k = setup.step_of(year)
    if not 0 <= k <= setup.n_steps:
        raise EventError(f"year {year} is outside the run ({setup.t0:g}-"
                         f"{setup.t0 + setup.n_steps * setup.dt:g})")
    if name in SP:
        if tier is not None:
            raise EventError(f"parameter {name} is a scalar: do not give a tier")

        def apply(step, t, y, inputs: BatchInputs) -> None:
            inputs.sp[:, SP[name]] = value
    elif name in TP:
        s = slice(None) if tier is None else setup.tier_index(tier)

        def apply(step, t, y, inputs: BatchInputs) -> None:
            inputs.tp[:, TP[name], s] = value
    else:
        raise EventError(f"unknown parameter {name!r}")
    return _event([k], apply)


SCALABLE = ("capital", "technology", "pipeline", "pipeline_technology", "labor_force", "wage",
            "skills", "infrastructure")


def scale_region(setup: EventSetup, region: str, variable: str, factor: float, year: float,
                 tiers: Sequence[str] | None = None) -> Event:
    """Multiply `region`'s stock `variable` (of `tiers`, default all) by `factor` at `year`."""
    if variable not in SCALABLE:
        raise EventError(f"variable must be one of {', '.join(SCALABLE)}, got {variable!r}")
    factor = float(factor)
    if not (np.isfinite(factor) and factor >= 0):
        raise EventError(f"factor must be finite and >= 0, got {factor}")
    R, S = len(setup.regions), len(setup.tiers)
    r = setup.region_index(region)
    sl, shape = state_slices(R, S)[variable]
    if len(shape) == 2:
        ts = range(S) if tiers is None else [setup.tier_index(t) for t in tiers]
        cols = np.array([sl.start + r * S + s for s in ts], np.int64)
    else:
        if tiers is not None:
            raise EventError(f"{variable} has no tiers")
        cols = np.array([sl.start + r], np.int64)
    k = setup.step_of(year)
    if not 0 <= k <= setup.n_steps:
        raise EventError(f"year {year} is outside the run")

    def apply(step, t, y, inputs) -> None:
        y[:, cols] *= factor

    return _event([k], apply)


# --- the built-in event types ---------------------------------------------------------------
def tier_amounts(amount: float, tier_shares: Mapping[str, float]) -> dict[str, float]:
    """Split `amount` over tiers by `tier_shares` (which must sum to 1)."""
    shares = {str(t): float(v) for t, v in dict(tier_shares).items()}
    if any(not np.isfinite(v) or v < 0 for v in shares.values()):
        raise EventError(f"tier_shares must be finite and >= 0, got {shares}")
    if abs(sum(shares.values()) - 1.0) > 1e-6:
        raise EventError(f"tier_shares must sum to 1, got {sum(shares.values()):g}")
    return {t: float(amount) * v for t, v in shares.items()}


def _build_inflow(p: Mapping[str, Any], setup: EventSetup) -> list:
    return [pipeline_inflow(setup, p["receiver"], tier_amounts(p["amount"], p["tier_shares"]),
                            p["senders"], p["start"], p["end"],
                            deduct_from_senders=bool(p["deduct_from_senders"]),
                            move_loss=bool(p["move_loss"]))]


def _build_param(p: Mapping[str, Any], setup: EventSetup) -> list:
    return [parameter_change(setup, p["name"], p["value"], p["year"], p["tier"] or None)]


def _build_scale(p: Mapping[str, Any], setup: EventSetup) -> list:
    return [scale_region(setup, p["region"], p["variable"], p["factor"], p["year"],
                         p["tiers"] or None)]


BUILTIN_EVENT_TYPES = (
    EventType(
        "pipeline_inflow", _build_inflow,
        {"receiver": REQUIRED, "senders": REQUIRED, "amount": REQUIRED,
         "tier_shares": REQUIRED, "start": REQUIRED, "end": REQUIRED,
         "deduct_from_senders": True, "move_loss": True},
        "Capital (amount bn CNY, split by tier_shares) entering receiver's relocation "
        "pipeline from senders, evenly over [start, end).",
    ),
    EventType(
        "parameter_change", _build_param,
        {"name": REQUIRED, "value": REQUIRED, "year": REQUIRED, "tier": ""},
        "A model parameter (scalar, or per-tier: of one tier or all) set to value from year.",
    ),
    EventType(
        "scale_region", _build_scale,
        {"region": REQUIRED, "variable": REQUIRED, "factor": REQUIRED, "year": REQUIRED,
         "tiers": []},
        "A region's stock (labor_force, infrastructure, capital, ...) multiplied by factor "
        "at year.",
    ),
)



# --- from a scenario to Event objects ---------------------------------------------------------
def build_events(specs: Sequence[Mapping[str, Any]] | None, setup: EventSetup,
                 table: Mapping[str, EventType]) -> list[Event]:
    """Event objects for the ``[[events]]`` tables `specs` (event types from `table`);
    EventError naming the event."""
    if not specs:
        return []
    out: list[Event] = []
    for i, spec in enumerate(specs):
        where = f"events[{i}]"
        if not isinstance(spec, Mapping):
            raise EventError(f"{where}: expected a table, got {type(spec).__name__}")
        name = spec.get("type")
        if not isinstance(name, str) or name not in table:
            raise EventError(f"{where}: unknown event type {name!r} "
                             f"(known: {', '.join(sorted(table)) or 'none'})")
        et = table[name]
        where = f"{where} (type {name!r}, plugin {et.plugin or '?'})"
        given = {k: v for k, v in spec.items() if k != "type"}
        unknown = sorted(set(given) - set(et.defaults))
        if unknown:
            raise EventError(f"{where}: unknown parameter(s) {', '.join(unknown)} "
                             f"(known: {', '.join(et.defaults) or 'none'})")
        params = {**et.defaults, **given}
        missing = [k for k, v in params.items() if v is None]
        if missing:
            raise EventError(f"{where}: missing parameter(s) {', '.join(missing)}")
        _check_params(et, given, where)
        try:
            built = list(et.build(params, setup))
        except EventError as e:
            raise EventError(f"{where}: {e}") from None
        except Exception as exc:
            raise EventError(f"{where}: build raised {type(exc).__name__}: {exc}") from exc
        _check_steps(built, setup, where)
        out.extend(_guarded(ev, where) for ev in built)
    return out


def _check_params(et: EventType, given: Mapping[str, Any], where: str) -> None:
    """The scenario's values against the event type's contract: the type of each default (a
    number for a number, text for text, a boolean for a boolean, an array or table for an
    array or table) and the `schema` bounds."""
    for k, v in given.items():
        default = et.defaults.get(k)
        number = isinstance(v, (int, float)) and not isinstance(v, bool)
        if isinstance(default, (int, float)) and not isinstance(default, bool) and not number:
            raise EventError(f"{where}: parameter {k}: expected a number, got {type(v).__name__} {v!r}")
        if isinstance(default, (list, Mapping)) and not isinstance(v, (list, Mapping)):
            raise EventError(f"{where}: parameter {k}: expected an array or a table, got {type(v).__name__} {v!r}")
        for kind in (str, bool):
            if isinstance(default, kind) and not isinstance(v, kind):
                raise EventError(f"{where}: parameter {k}: expected {kind.__name__}, got {type(v).__name__} {v!r}")
        spec = et.schema.get(k)
        if spec is not None:
            if not number:
                raise EventError(f"{where}: parameter {k}: expected a number, got {type(v).__name__} {v!r}")
            if not spec.contains(float(v)):
                raise EventError(f"{where}: parameter {k} must be {spec.describe()}, got {v!r}")


def _check_steps(built: Sequence[Event], setup: EventSetup, where: str) -> None:
    """Every event acts inside the run: a step outside it, or no step at all, is an error
    rather than an event silently ignored."""
    t1 = setup.t0 + setup.n_steps * setup.dt
    for ev in built:
        outside = sorted(k for k in ev.steps if not 0 <= k <= setup.n_steps)
        if outside or not ev.steps:
            when = f"at t={setup.t0 + outside[0] * setup.dt:g}" if outside else "at no step"
            raise EventError(f"{where}: acts {when}, outside the run ({setup.t0:g}-{t1:g})")


def _finite_rows(y: np.ndarray, inputs: Any) -> np.ndarray:
    """(B,) whether each run's state and scalar and per-tier parameters are all finite."""
    ok = np.isfinite(y).all(axis=1)
    for a in (getattr(inputs, "sp", None), getattr(inputs, "tp", None)):
        if isinstance(a, np.ndarray) and a.ndim >= 2:
            ok &= np.isfinite(a.reshape(a.shape[0], -1)).all(axis=1)
    return ok


def _guarded(ev: Event, where: str) -> Event:
    """The event with failures in `apply` turned into an EventError naming it and the time."""
    inner = ev.apply

    def apply(step, t, y, inputs):
        before = _finite_rows(y, inputs)
        try:
            inner(step, t, y, inputs)
        except Exception as exc:
            raise EventError(f"{where} failed at t={t:g}: {type(exc).__name__}: {exc}") from exc
        spoiled = before & ~_finite_rows(y, inputs)
        if spoiled.any():  # named here, not later as the model's own failure
            raise EventError(f"{where} at t={t:g} made the state or the parameters non-finite (NaN or inf) "
                             f"in {int(spoiled.sum())} run(s)")

    return _event(ev.steps, apply)
