"""gsim: a compiled system-dynamics simulator of gradient industrial transfer between regions."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("gsim")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0+unknown"

from gsim.hookspecs import hookimpl  # noqa: E402  (for plugin authors)
from gsim.scenario import Scenario, ScenarioError, load_scenario  # noqa: E402

__all__ = ["Scenario", "ScenarioError", "hookimpl", "load_scenario", "__version__"]


_LAZY = {  # imported on first use, so `import gsim` does not load numba or dask
    "simulate": "gsim.integrate",
    "RunFailed": "gsim.integrate",
    "sweep": "gsim.sweeps",
    "open_sweep": "gsim.sweeps",
    "claims": "gsim.analysis.claims",
}


def __getattr__(name: str):
    """Lazy public API: gsim.simulate, gsim.sweep, gsim.open_sweep, gsim.claims, gsim.RunFailed."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'gsim' has no attribute {name!r}")


__all__ += list(_LAZY)
