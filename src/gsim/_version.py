"""The installed version of gsim (the one fact every output's provenance starts from)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("gsim")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0+unknown"

# the models the kernels implement (a scenario's `model`), as outputs name them
MODEL_NAMES = {"gtm1": "GTM-1 revision 3", "gtm2": "GTM-2 (GTM-1 revision 3, world frontier, demographic driver)"}
