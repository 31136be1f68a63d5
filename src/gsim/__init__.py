"""gsim: a compiled system-dynamics simulator of gradient industrial transfer between regions.

The public API: `load_scenario`, `simulate` (one run as an xarray Dataset), `sweep` /
`resume` (Monte Carlo sweeps into a Zarr store), `open_sweep` (a store as a Dataset),
`claims` (how often each policy claim holds in a store), `match` / `open_match` /
`sweep_from_nroy` (history matching, docs/matching.md), `open_optimization` (the
non-dominated policy settings of a `gsim optimize` store), and `hookimpl` for plugin authors.
See README.md and docs/.
"""

from gsim._version import __version__
from gsim.analysis.claims import claims
from gsim.api import RunFailed, simulate
from gsim.hookspecs import hookimpl
from gsim.matching import match, open_match, sweep_from_nroy
from gsim.optimize import open_optimization
from gsim.scenario import Scenario, ScenarioError, load_scenario
from gsim.sweeps import open_sweep, resume, sweep

__all__ = [
    "RunFailed", "Scenario", "ScenarioError", "__version__", "claims", "hookimpl", "load_scenario",
    "match", "open_match", "open_optimization", "open_sweep", "resume", "simulate", "sweep", "sweep_from_nroy",
]
