"""Scenarios: the regions, tiers, parameters and run settings of one model set-up.

A scenario is a TOML file plus (optionally) a regions CSV. `load_scenario()` reads and
validates it and returns an immutable `Scenario`; the embedded default (31 provinces) is used
when no path is given. Validation errors are `ScenarioError`s whose message is one line,
``FILE: field: what is wrong``.

Public API:

- `load_scenario(path=None) -> Scenario`
- `scenario_to_toml(sc) -> str`: the canonical resolved scenario (self-contained, loadable)
- `scenario_hash(sc) -> str`: sha256 hex of the canonical TOML (the source path excluded)
- `replace_run(sc, **run_settings) -> Scenario` and `Scenario.with_overrides(**kw)`:
  re-validated copies
- `known_policy_defaults()`: the policies and their default parameters (plugin registry)

The parameters themselves (names, defaults, bounds, units) are in `gsim.params`; each policy
brings its own defaults and bounds (`gsim.policies.Policy.schema`).

Its parts: `parsing` (the Scenario, TOML to Scenario), `validation` (the checks of each table),
`regions` (the regions table, inline or CSV, and the tier shares), `canonical` (the resolved
TOML, its hash), `overrides` (re-validated copies), `reading` (files, `ScenarioError`).

The file format is documented in docs/scenario.md.
"""

from gsim.scenario.canonical import scenario_hash, scenario_to_toml
from gsim.scenario.overrides import replace_run
from gsim.scenario.parsing import Scenario, load_scenario, loads_scenario
from gsim.scenario.reading import ScenarioError
from gsim.scenario.regions import Regions
from gsim.scenario.validation import BUILTIN_POLICY_NAMES, known_policy_defaults

__all__ = ["BUILTIN_POLICY_NAMES", "Regions", "Scenario", "ScenarioError", "known_policy_defaults", "load_scenario",
           "loads_scenario", "replace_run", "scenario_hash", "scenario_to_toml"]
