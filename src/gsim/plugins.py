"""The plugin manager: built-in and external plugins register through the same hooks."""

from __future__ import annotations

import functools
from typing import Any

import pluggy

from gsim import hookspecs
from gsim.policies import Policy

BUILTIN_PLUGINS = ("gsim.policies.builtin",)


class PluginError(RuntimeError):
    """A plugin registered something invalid; the message names the plugin."""


def make_plugin_manager(load_entrypoints: bool = True, extra: tuple = ()) -> pluggy.PluginManager:
    """A fresh manager with the built-ins, optional `extra` plugin objects and entry points."""
    import importlib

    pm = pluggy.PluginManager("gsim")
    pm.add_hookspecs(hookspecs)
    for modname in BUILTIN_PLUGINS:
        pm.register(importlib.import_module(modname), name=modname)
    for plugin in extra:
        pm.register(plugin)
    if load_entrypoints:
        pm.load_setuptools_entrypoints("gsim")
    return pm


@functools.cache
def get_plugin_manager() -> pluggy.PluginManager:
    return make_plugin_manager()


def collect_policies(pm: pluggy.PluginManager) -> dict[str, Policy]:
    found: dict[str, Policy] = {}
    for impl in pm.hook.gsim_register_policies.get_hookimpls():
        plugin_name = pm.get_name(impl.plugin) or "?"

        def register(policy: Policy, _plugin=plugin_name) -> None:
            if not isinstance(policy, Policy):
                raise PluginError(f"plugin {_plugin}: register() takes a gsim Policy")
            if policy.name in found:
                raise PluginError(
                    f"plugin {_plugin}: policy name {policy.name!r} is already registered "
                    f"by {found[policy.name].plugin}"
                )
            found[policy.name] = Policy(
                policy.name, policy.decide, dict(policy.defaults), policy.description, _plugin
            )

        impl.function(register=register)
    return found


@functools.cache
def _policies() -> dict[str, Policy]:
    return collect_policies(get_plugin_manager())


def policies() -> dict[str, Policy]:
    """All registered policies by name."""
    return dict(_policies())


def get_policy(name: str) -> Policy:
    table = _policies()
    if name not in table:
        raise KeyError(f"unknown policy {name!r}; known: {', '.join(sorted(table))}")
    return table[name]


def policy_defaults() -> dict[str, dict[str, Any]]:
    return {name: dict(p.defaults) for name, p in _policies().items()}
