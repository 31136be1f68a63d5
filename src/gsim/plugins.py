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
import functools
import importlib
import importlib.metadata as md
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterator

import pluggy

from gsim import hookspecs
from gsim.policies import Policy, PolicyError, _is_numba_dispatcher, probe_policy

if TYPE_CHECKING:  # pragma: no cover
    from gsim.analysis.claims import Claim
    from gsim.events import EventType
    from gsim.indicators import Indicator

ENTRY_POINT_GROUP = "gsim"
DISABLE_ENV = "GSIM_DISABLE_PLUGINS"
BUILTIN_PLUGINS = ("gsim.policies.builtin", "gsim.events", "gsim.analysis.claims")
HOOK_NAMES = tuple(n for n in dir(hookspecs) if n.startswith("gsim_"))


class PluginError(RuntimeError):
    """A plugin failed to load or registered something invalid; the message names it."""


@dataclass
class PluginInfo:
    """What `gsim plugins` shows about one plugin."""

    name: str
    version: str
    hooks: tuple[str, ...]
    builtin: bool
    distribution: str = ""
    disabled: bool = False


class GsimPluginManager(pluggy.PluginManager):
    """A pluggy manager that remembers where plugins came from and caches the registries."""

    def __init__(self) -> None:
        super().__init__("gsim")
        self.add_hookspecs(hookspecs)
        self.builtin_names: set[str] = set()
        self.dists: dict[str, tuple[str, str]] = {}  # plugin name -> (distribution, version)
        self.disabled: dict[str, str] = {}  # disabled entry point -> "dist version"
        self._registries: dict[str, dict[str, Any]] = {}

    def plugin_infos(self) -> list[PluginInfo]:
        from gsim import __version__

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
        return out

    # --- registries ---------------------------------------------------------------------
    def policies(self) -> dict[str, Policy]:
        if "policies" not in self._registries:
            self._registries["policies"] = collect_policies(self)
        return self._registries["policies"]

    def event_types(self) -> dict[str, EventType]:
        if "events" not in self._registries:
            self._registries["events"] = collect_event_types(self)
        return self._registries["events"]

    def indicators(self) -> dict[str, Indicator]:
        if "indicators" not in self._registries:
            self._registries["indicators"] = collect_indicators(self)
        return self._registries["indicators"]

    def claims(self) -> dict[str, Claim]:
        if "claims" not in self._registries:
            self._registries["claims"] = collect_claims(self)
        return self._registries["claims"]


def disabled_from_env(environ: Any = None) -> frozenset[str]:
    """Names listed in GSIM_DISABLE_PLUGINS (comma- or space-separated)."""
    raw = (os.environ if environ is None else environ).get(DISABLE_ENV, "")
    return frozenset(p.strip() for p in raw.replace(" ", ",").split(",") if p.strip())


def _plugin_name(plugin: object) -> str:
    name = getattr(plugin, "gsim_plugin_name", None) or getattr(plugin, "__name__", None)
    return str(name or type(plugin).__name__)


def make_plugin_manager(
    load_entrypoints: bool = True, extra: tuple = (), disabled: frozenset[str] | None = None
) -> GsimPluginManager:
    """A fresh manager with the built-ins, the `extra` plugin objects and (optionally) the
    plugins of the entry-point group ``gsim``.

    `disabled` names plugins (built-in module names, extra plugin names, entry-point names or
    distribution names; ``*`` = every external plugin) that are not registered; by default it
    is read from the environment variable GSIM_DISABLE_PLUGINS now.
    """
    disabled = disabled_from_env() if disabled is None else frozenset(disabled)
    pm = GsimPluginManager()
    for modname in BUILTIN_PLUGINS:
        if modname not in disabled:
            pm.register(importlib.import_module(modname), name=modname)
            pm.builtin_names.add(modname)
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
            raise PluginError(
                f"plugin {ep.name} (distribution {dname}): the name is already used by "
                f"{other}; disable one with {DISABLE_ENV}={ep.name}"
            )
        try:
            plugin = ep.load()
            pm.register(plugin, name=ep.name)
        except Exception as exc:
            raise PluginError(
                f"plugin {ep.name} (distribution {dname} {dver}) failed to load: "
                f"{type(exc).__name__}: {exc}; disable it with {DISABLE_ENV}={ep.name}"
            ) from exc
        pm.dists[ep.name] = (dname, dver)


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
def _impls(pm: pluggy.PluginManager, hook: str):
    for impl in getattr(pm.hook, hook).get_hookimpls():
        yield (pm.get_name(impl.plugin) or "?"), impl


def _call(plugin_name: str, hook: str, impl, **kwargs) -> None:
    try:
        impl.function(**kwargs)
    except (PluginError, PolicyError):
        raise
    except Exception as exc:
        raise PluginError(
            f"plugin {plugin_name}: {hook} raised {type(exc).__name__}: {exc}"
        ) from exc


def collect_policies(pm: pluggy.PluginManager) -> dict[str, Policy]:
    """Call every gsim_register_policies; check names and probe every policy."""
    found: dict[str, Policy] = {}
    for plugin_name, impl in _impls(pm, "gsim_register_policies"):

        def register(policy: Policy, _plugin: str = plugin_name) -> None:
            if not isinstance(policy, Policy):
                raise PluginError(
                    f"plugin {_plugin}: register() takes a gsim.policies.Policy, "
                    f"got {type(policy).__name__}"
                )
            if not isinstance(policy.name, str) or not policy.name.isidentifier():
                raise PluginError(
                    f"plugin {_plugin}: policy name {policy.name!r} must be an identifier"
                )
            if policy.name in found:
                raise PluginError(
                    f"plugin {_plugin}: policy name {policy.name!r} is already registered "
                    f"by plugin {found[policy.name].plugin}"
                )
            if _is_numba_dispatcher(policy.decide):
                raise PluginError(
                    f"plugin {_plugin}: policy {policy.name!r}: decide is an @njit function; "
                    "wrap it with gsim.policies.compiled_policy(...) (see docs/plugins.md)"
                )
            if not callable(policy.decide):
                raise PluginError(f"plugin {_plugin}: policy {policy.name!r}: decide is not callable")
            pol = Policy(policy.name, policy.decide, dict(policy.defaults), policy.description,
                         _plugin)
            try:
                probe_policy(pol)
            except PolicyError as e:
                raise PluginError(f"plugin {_plugin}: rejected at registration: {e}") from None
            found[policy.name] = pol

        _call(plugin_name, "gsim_register_policies", impl, register=register)
    return found


def collect_event_types(pm: pluggy.PluginManager) -> dict[str, EventType]:
    from gsim.events import EventType

    found: dict[str, EventType] = {}
    for plugin_name, impl in _impls(pm, "gsim_register_events"):

        def register(et: EventType, _plugin: str = plugin_name) -> None:
            if not isinstance(et, EventType):
                raise PluginError(
                    f"plugin {_plugin}: register() takes a gsim.events.EventType, "
                    f"got {type(et).__name__}"
                )
            if et.name in found:
                raise PluginError(
                    f"plugin {_plugin}: event type {et.name!r} is already registered by "
                    f"plugin {found[et.name].plugin}"
                )
            if not callable(et.build):
                raise PluginError(f"plugin {_plugin}: event type {et.name!r}: build is not callable")
            found[et.name] = EventType(et.name, et.build, dict(et.defaults), et.description,
                                       _plugin)

        _call(plugin_name, "gsim_register_events", impl, register=register)
    return found


def collect_indicators(pm: pluggy.PluginManager) -> dict[str, Indicator]:
    from gsim.indicators import Indicator
    from gsim.output import VARIABLES

    found: dict[str, Indicator] = {}
    for plugin_name, impl in _impls(pm, "gsim_register_indicators"):

        def register(ind: Indicator, _plugin: str = plugin_name) -> None:
            if not isinstance(ind, Indicator):
                raise PluginError(
                    f"plugin {_plugin}: register() takes a gsim.indicators.Indicator, "
                    f"got {type(ind).__name__}"
                )
            if ind.name in VARIABLES:
                raise PluginError(
                    f"plugin {_plugin}: indicator {ind.name!r} would shadow the model output "
                    "variable of that name"
                )
            if ind.name in found:
                raise PluginError(
                    f"plugin {_plugin}: indicator {ind.name!r} is already registered by "
                    f"plugin {found[ind.name].plugin}"
                )
            found[ind.name] = Indicator(ind.name, ind.compute, ind.units, ind.long_name,
                                        ind.description, _plugin)

        _call(plugin_name, "gsim_register_indicators", impl, register=register)
    return found


def collect_claims(pm: pluggy.PluginManager) -> dict[str, Claim]:
    """Call every gsim_register_claims; check each claim's definition and that ids are unique."""
    from gsim.analysis.claims import Claim

    found: dict[str, Claim] = {}
    for plugin_name, impl in _impls(pm, "gsim_register_claims"):

        def register(claim: Claim, _plugin: str = plugin_name) -> None:
            if not isinstance(claim, Claim):
                raise PluginError(f"plugin {_plugin}: register() takes a gsim.analysis.claims.Claim, "
                                  f"got {type(claim).__name__}")
            problem = claim.problem()
            if problem:
                raise PluginError(f"plugin {_plugin}: {problem}")
            if claim.id in found:
                raise PluginError(f"plugin {_plugin}: claim {claim.id!r} is already registered by "
                                  f"plugin {found[claim.id].plugin}")
            found[claim.id] = Claim(claim.id, claim.statement, tuple(claim.measures),
                                    tuple(tuple(p) for p in claim.pairs), _plugin)

        _call(plugin_name, "gsim_register_claims", impl, register=register)
    return found


def register_commands(pm: pluggy.PluginManager, cli: Any) -> None:
    """Let every plugin add subcommands to the click group `cli`; no built-in is replaced."""
    for plugin_name, impl in _impls(pm, "gsim_register_commands"):
        before = dict(cli.commands)
        _call(plugin_name, "gsim_register_commands", impl, cli=cli)
        for name, cmd in list(cli.commands.items()):
            if name in before and before[name] is not cmd:
                cli.commands[name] = before[name]
                raise PluginError(
                    f"plugin {plugin_name}: command {name!r} would replace a gsim command"
                )


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
