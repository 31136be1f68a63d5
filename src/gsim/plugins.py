"""The plugin manager: built-in and external plugins register through the same hooks.

External plugins come from the entry-point group ``gsim``. The environment variable
``GSIM_DISABLE_PLUGINS`` (a comma-separated list of plugin names or distribution names, or
``*`` for every external plugin) is read when a manager is built, never at import time.

Registries (policies, event types, indicators, claims) are built once per manager, the first time
they are needed, and every registered thing is checked then (policies get a probe call), so a
faulty plugin fails early with its name in the message.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import importlib.metadata as md
import math
import os
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import pluggy

from gsim import hookspecs
from gsim._version import __version__
from gsim.builtins import BUILTIN_PLUGINS
from gsim.claims import Claim, ClaimError
from gsim.events import EventType
from gsim.indicators import Indicator, better_of
from gsim.model.layout import VARIABLES
from gsim.params import ParamSpec, fmt_num
from gsim.policies import Policy, PolicyError, _is_numba_dispatcher, probe_policy

ENTRY_POINT_GROUP = "gsim"
DISABLE_ENV = "GSIM_DISABLE_PLUGINS"
HOOK_NAMES = tuple(n for n in dir(hookspecs) if n.startswith("gsim_"))


class PluginError(RuntimeError):
    """A plugin failed to load or registered something invalid; the message names it."""

    plugin: str = ""  # the plugin at fault, when known


class PluginDisabledWarning(UserWarning):
    """A plugin failed to load or register and was disabled; everything else keeps working."""


@dataclass
class PluginInfo:
    """What `gsim plugins` shows about one plugin."""

    name: str
    version: str
    hooks: tuple[str, ...]
    builtin: bool
    distribution: str = ""
    disabled: bool = False
    broken: str = ""  # why the plugin was disabled, if it failed to load or register


class GsimPluginManager(pluggy.PluginManager):
    """A pluggy manager that remembers where plugins came from and caches the registries."""

    def __init__(self, strict: bool = False) -> None:
        super().__init__("gsim")
        self.strict = strict  # raise PluginError instead of disabling a faulty plugin
        self.broken: dict[str, str] = {}  # plugin name -> why it was disabled
        self.add_hookspecs(hookspecs)
        self.builtin_names: set[str] = set()
        self.dists: dict[str, tuple[str, str]] = {}  # plugin name -> (distribution, version)
        self.disabled: dict[str, tuple[str, str]] = {}  # disabled entry point -> (dist, version)
        self._registries: dict[str, dict[str, Any]] = {}
        self.commands: dict[str, list[str]] = {}  # plugin name -> the CLI commands it added

    def plugin_infos(self) -> list[PluginInfo]:
        out = []
        for name, plugin in self.list_name_plugin():
            hooks = tuple(
                h.name for h in (self.get_hookcallers(plugin) or []) if h.name.startswith("gsim_")
            )
            if name in self.builtin_names:
                out.append(PluginInfo(name, __version__, hooks, True, "gsim"))
            elif name in self.dists:
                dist, ver = self.dists[name]
                out.append(PluginInfo(name, ver, hooks, False, dist))
            else:
                ver = str(getattr(plugin, "__version__", "") or "")
                out.append(PluginInfo(name, ver or "-", hooks, False, ""))
        for name, (dist, ver) in sorted(self.disabled.items()):
            out.append(PluginInfo(name, ver, (), False, dist, disabled=True))
        for name, why in sorted(self.broken.items()):
            dist, ver = self.dists.get(name, ("", "-"))
            out.append(PluginInfo(name, ver, (), False, dist, disabled=True, broken=why))
        return out

    def provider(self, plugin: str) -> tuple[str, str]:
        """(package, version) that provides plugin `plugin`: gsim for the built-ins, the
        distribution for entry points, else the plugin object's ``__version__`` (or "-")."""
        if plugin in self.builtin_names:
            return "gsim", __version__
        if plugin in self.dists:
            return self.dists[plugin]
        obj = self.get_plugin(plugin)
        return plugin, str(getattr(obj, "__version__", "") or "-")

    def collect_all(self) -> None:
        """Collect every registry; a plugin that fails in any of them is disabled in all (it
        provides nothing: not its policies either), so the registries always agree."""
        for kind in KINDS:
            self.registry(kind)
        while any(kind.hook not in self._registries for kind in KINDS):
            for kind in KINDS:
                self.registry(kind)

    def disable_broken(self, err: PluginError) -> None:
        """Take out the plugin `err` names (all it registered) and warn once; with `strict`,
        or for a built-in plugin, raise `err` instead."""
        name = err.plugin
        if self.strict or not name or name in self.builtin_names:
            raise err
        self.broken[name] = " ".join(str(err).split())
        if self.has_plugin(name):
            self.unregister(name=name)
        self._registries.clear()  # recollect without it
        warnings.warn(f"plugin {name} disabled: {self.broken[name]} "
                      f"(set {DISABLE_ENV}={name} to silence this)", PluginDisabledWarning, stacklevel=3)

    # --- registries ---------------------------------------------------------------------
    def registry(self, kind: Kind[T]) -> dict[str, T]:
        """Everything plugins registered of `kind`, by name (collected once per manager)."""
        while kind.hook not in self._registries:
            try:
                self._registries[kind.hook] = collect(self, kind)
            except PluginError as err:
                self.disable_broken(err)
        return self._registries[kind.hook]

    def policies(self) -> dict[str, Policy]:
        self.collect_all()
        return self.registry(POLICIES)

    def event_types(self) -> dict[str, EventType]:
        self.collect_all()
        return self.registry(EVENT_TYPES)

    def indicators(self) -> dict[str, Indicator]:
        self.collect_all()
        return self.registry(INDICATORS)

    def claims(self) -> dict[str, Claim]:
        self.collect_all()
        return self.registry(CLAIMS)


def disabled_from_env(environ: Any = None) -> frozenset[str]:
    """Names listed in GSIM_DISABLE_PLUGINS (comma- or space-separated)."""
    raw = (os.environ if environ is None else environ).get(DISABLE_ENV, "")
    return frozenset(p.strip() for p in raw.replace(" ", ",").split(",") if p.strip())


def _plugin_name(plugin: object) -> str:
    name = getattr(plugin, "gsim_plugin_name", None) or getattr(plugin, "__name__", None)
    return str(name or type(plugin).__name__)


def make_plugin_manager(
    load_entrypoints: bool = True, extra: tuple = (), disabled: frozenset[str] | None = None,
    strict: bool = False,
) -> GsimPluginManager:
    """A fresh manager with the built-ins, the `extra` plugin objects and (optionally) the
    plugins of the entry-point group ``gsim``.

    `disabled` names plugins (built-in module names, extra plugin names, entry-point names or
    distribution names; ``*`` = every external plugin) that are not registered; by default it
    is read from the environment variable GSIM_DISABLE_PLUGINS now. A plugin that fails to
    load or registers something invalid is disabled with a `PluginDisabledWarning` (and listed
    as broken by `gsim plugins`); with `strict` (for plugin authors' tests) it raises
    `PluginError` instead.
    """
    disabled = disabled_from_env() if disabled is None else frozenset(disabled)
    pm = GsimPluginManager(strict)
    for name, builtin in BUILTIN_PLUGINS.items():
        if name not in disabled:
            pm.register(builtin, name=name)
            pm.builtin_names.add(name)
    for plugin in extra:  # given by code, so only disabled by name ("*" means entry points)
        name = _plugin_name(plugin)
        if name in disabled:
            continue
        if pm.has_plugin(name):
            raise PluginError(f"plugin {name}: a plugin of this name is already registered")
        pm.register(plugin, name=name)
    if load_entrypoints:
        _load_entrypoints(pm, disabled)
    return pm


def _load_entrypoints(pm: GsimPluginManager, disabled: frozenset[str]) -> None:
    for ep in md.entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(ep, "dist", None)
        dname = dist.metadata["Name"] if dist is not None else ""
        dver = dist.version if dist is not None else "-"
        if ep.name in disabled or dname in disabled or "*" in disabled:
            pm.disabled[ep.name] = (dname, dver)
            continue
        if pm.has_plugin(ep.name):
            other = pm.dists.get(ep.name, ("gsim", ""))[0]
            err = PluginError(
                f"plugin {ep.name} (distribution {dname}): the name is already used by "
                f"{other}; disable one with {DISABLE_ENV}={ep.name}"
            )
            err.plugin = f"{ep.name} ({dname})"
            pm.disable_broken(err)
            continue
        pm.dists[ep.name] = (dname, dver)
        try:
            plugin = ep.load()
            pm.register(plugin, name=ep.name)
        except Exception as exc:
            err = PluginError(
                f"plugin {ep.name} (distribution {dname} {dver}) failed to load: "
                f"{type(exc).__name__}: {exc}; disable it with {DISABLE_ENV}={ep.name}"
            )
            err.plugin = ep.name
            pm.disable_broken(err)


# --- the active manager ----------------------------------------------------------------------
_override: list[GsimPluginManager] = []


@functools.cache
def _default_manager() -> GsimPluginManager:
    return make_plugin_manager()


def get_plugin_manager() -> GsimPluginManager:
    """The manager in use: the one set by `use_plugin_manager`, else the default (built-ins
    plus entry points, built once per process)."""
    return _override[-1] if _override else _default_manager()


get_plugin_manager.cache_clear = _default_manager.cache_clear  # type: ignore[attr-defined]


@contextlib.contextmanager
def use_plugin_manager(pm: GsimPluginManager) -> Iterator[GsimPluginManager]:
    """Make `pm` the active manager inside the ``with`` block (tests, embedding)."""
    _override.append(pm)
    try:
        yield pm
    finally:
        _override.remove(pm)


# --- collection -------------------------------------------------------------------------------
def _impls(pm: pluggy.PluginManager, hook: str) -> Iterator[tuple[str, Any]]:
    for impl in getattr(pm.hook, hook).get_hookimpls():
        yield (pm.get_name(impl.plugin) or "?"), impl


def _call(plugin_name: str, hook: str, impl, **kwargs) -> None:
    try:
        impl.function(**kwargs)
    except PluginError:
        raise
    except Exception as exc:
        raise PluginError(
            f"plugin {plugin_name}: {hook} raised {type(exc).__name__}: {exc}"
        ) from exc


T = TypeVar("T", Policy, EventType, Indicator, Claim)


@dataclass(frozen=True)
class Kind(Generic[T]):
    """One kind of thing plugins contribute through a ``register`` callback."""

    hook: str
    cls: type[T]
    noun: str
    check: Callable[[T, str], None] = lambda thing, plugin: None  # raises PluginError
    # completes a registered thing from the registries collected before it (claims: directions)
    prepare: Callable[[GsimPluginManager, T], T] = lambda pm, thing: thing


def _check_schema(where: str, defaults: dict[str, Any], schema: dict[str, Any]) -> None:
    """A schema's bounds must hold a value and its defaults lie within them: otherwise every
    scenario naming the policy (event, indicator) would be rejected for a value it never gave."""
    extra = sorted(set(schema) - set(defaults))
    if extra:
        raise PluginError(f"{where}: schema names parameters without a default: {', '.join(extra)}")
    for k, sp in schema.items():
        if not isinstance(sp, ParamSpec):
            raise PluginError(f"{where}: schema {k}: expected a gsim.params.ParamSpec (spec(...)), "
                              f"got {type(sp).__name__}")
        lo, hi = float(sp.low), float(sp.high)
        if math.isnan(lo) or math.isnan(hi) or lo > hi or (lo == hi and not (sp.low_inclusive and sp.high_inclusive)):
            raise PluginError(f"{where}: schema {k}: bounds {'[' if sp.low_inclusive else '('}{fmt_num(lo)}, "
                              f"{fmt_num(hi)}{']' if sp.high_inclusive else ')'} hold no value")
        v = defaults[k]
        if v is None:  # a required event parameter
            continue
        number = isinstance(v, (int, float)) and not isinstance(v, bool)
        if not number or not sp.contains(float(v)):
            raise PluginError(f"{where}: default {k} = {v!r} is outside its bounds ({sp.describe()})")


def _check_policy(policy: Policy, plugin: str) -> None:
    if not isinstance(policy.name, str) or not policy.name.isidentifier():
        raise PluginError(f"plugin {plugin}: policy name {policy.name!r} must be an identifier")
    if _is_numba_dispatcher(policy.decide):
        raise PluginError(
            f"plugin {plugin}: policy {policy.name!r}: decide is an @njit function; "
            "wrap it with gsim.policies.compiled_policy(...) (see docs/plugins.md)"
        )
    if not callable(policy.decide):
        raise PluginError(f"plugin {plugin}: policy {policy.name!r}: decide is not callable")
    _check_schema(f"plugin {plugin}: policy {policy.name!r}", dict(policy.defaults), dict(policy.schema))
    try:
        probe_policy(policy)
    except PolicyError as e:
        raise PluginError(f"plugin {plugin}: rejected at registration: {e}") from None


def _check_event_type(et: EventType, plugin: str) -> None:
    if not callable(et.build):
        raise PluginError(f"plugin {plugin}: event type {et.name!r}: build is not callable")
    _check_schema(f"plugin {plugin}: event type {et.name!r}", dict(et.defaults), dict(et.schema))


def _check_indicator(ind: Indicator, plugin: str) -> None:
    if ind.name in VARIABLES:
        raise PluginError(
            f"plugin {plugin}: indicator {ind.name!r} would shadow the model output variable of that name"
        )
    if ind.name.startswith("state_"):
        raise PluginError(f"plugin {plugin}: indicator {ind.name!r}: names starting with 'state_' are the "
                          "outputs of policies' state")
    if ind.better not in (None, 1, -1):
        raise PluginError(f"plugin {plugin}: indicator {ind.name!r}: better must be +1, -1 or None, "
                          f"got {ind.better!r}")
    _check_schema(f"plugin {plugin}: indicator {ind.name!r}", dict(ind.defaults), dict(ind.schema))


def _directed_claim(pm: GsimPluginManager, claim: Claim) -> Claim:
    """`claim` with each measure's missing direction taken from its indicator's better one."""
    table = pm.registry(INDICATORS)
    try:
        return claim.directed(lambda name: better_of(name, table))
    except ClaimError as e:
        raise PluginError(f"plugin {claim.plugin}: {e}") from None


def _check_claim(claim: Claim, plugin: str) -> None:
    problem = claim.problem()
    if problem:
        raise PluginError(f"plugin {plugin}: {problem}")


POLICIES: Kind[Policy] = Kind("gsim_register_policies", Policy, "policy", _check_policy)
EVENT_TYPES: Kind[EventType] = Kind("gsim_register_events", EventType, "event type", _check_event_type)
INDICATORS: Kind[Indicator] = Kind("gsim_register_indicators", Indicator, "indicator", _check_indicator)
CLAIMS: Kind[Claim] = Kind("gsim_register_claims", Claim, "claim", _check_claim, _directed_claim)
KINDS: tuple[Kind[Any], ...] = (POLICIES, EVENT_TYPES, INDICATORS, CLAIMS)


def collect(pm: GsimPluginManager, kind: Kind[T]) -> dict[str, T]:
    """Call every implementation of `kind.hook`; check each registered thing (type, unique
    name, the kind's own checks) and stamp it with the name of the plugin that registered it."""
    found: dict[str, T] = {}
    for plugin, impl in _impls(pm, kind.hook):
        try:
            _call(plugin, kind.hook, impl, register=_registrar(pm, kind, found, plugin))
        except PluginError as err:
            err.plugin = plugin
            raise
    return found


def _registrar(pm: GsimPluginManager, kind: Kind[T], found: dict[str, T], plugin: str) -> Callable[[T], None]:
    """The ``register`` callback handed to one plugin's implementation of `kind.hook`."""

    def register(thing: T) -> None:
        if not isinstance(thing, kind.cls):
            raise PluginError(
                f"plugin {plugin}: register() takes a {kind.cls.__module__}.{kind.cls.__name__}, "
                f"got {type(thing).__name__}"
            )
        if thing.name in found:
            raise PluginError(
                f"plugin {plugin}: {kind.noun} name {thing.name!r} is already registered "
                f"by plugin {found[thing.name].plugin}"
            )
        stamped = kind.prepare(pm, dataclasses.replace(thing, plugin=plugin))
        kind.check(stamped, plugin)
        found[thing.name] = stamped

    return register


def register_commands(pm: GsimPluginManager, cli: Any) -> None:
    """Let every plugin add subcommands to the click group `cli`; no built-in is replaced (a
    plugin that tries, or whose hook fails, is disabled: `GsimPluginManager.disable_broken`)."""
    for plugin_name, impl in list(_impls(pm, "gsim_register_commands")):
        before = dict(cli.commands)
        try:
            _call(plugin_name, "gsim_register_commands", impl, cli=cli)
            for name, cmd in list(cli.commands.items()):
                if name in before and before[name] is not cmd:
                    raise PluginError(f"plugin {plugin_name}: command {name!r} would replace a gsim command")
            pm.commands[plugin_name] = sorted(set(cli.commands) - set(before))
        except PluginError as err:
            cli.commands.clear()
            cli.commands.update(before)  # none of this plugin's commands
            err.plugin = plugin_name
            pm.disable_broken(err)


# --- the public lookups (active manager) ------------------------------------------------------
def policies() -> dict[str, Policy]:
    """All registered policies by name."""
    return dict(get_plugin_manager().policies())


def get_policy(name: str) -> Policy:
    table = get_plugin_manager().policies()
    if name not in table:
        raise KeyError(f"unknown policy {name!r}; known: {', '.join(sorted(table))}")
    return table[name]


def policy_defaults() -> dict[str, dict[str, Any]]:
    return {name: dict(p.defaults) for name, p in get_plugin_manager().policies().items()}


def event_types() -> dict[str, EventType]:
    """All registered event types by name."""
    return dict(get_plugin_manager().event_types())


def indicators() -> dict[str, Indicator]:
    """All registered indicators by name."""
    return dict(get_plugin_manager().indicators())


def registered_by(pm: GsimPluginManager) -> dict[str, dict[str, list[str]]]:
    """plugin name -> {"policies": [...], "events": [...], "indicators": [...], "claims": [...]}."""
    out: dict[str, dict[str, list[str]]] = {}
    for kind, table in (("policies", pm.policies()), ("events", pm.event_types()),
                        ("indicators", pm.indicators()), ("claims", pm.claims())):
        for name, thing in table.items():
            out.setdefault(thing.plugin, {}).setdefault(kind, []).append(name)
    return out


__all__ = [
    "BUILTIN_PLUGINS", "DISABLE_ENV", "ENTRY_POINT_GROUP", "GsimPluginManager", "PluginError",
    "PluginInfo", "disabled_from_env", "event_types", "get_plugin_manager", "get_policy",
    "indicators", "make_plugin_manager", "policies", "policy_defaults", "registered_by",
    "use_plugin_manager",
]
