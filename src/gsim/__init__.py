"""gsim: a compiled system-dynamics simulator of gradient industrial transfer between regions."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("gsim")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0+unknown"

from gsim.scenario import Scenario, ScenarioError, load_scenario  # noqa: E402

__all__ = ["Scenario", "ScenarioError", "load_scenario", "__version__"]
