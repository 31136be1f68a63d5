"""The installed version of gsim (the one fact every output's provenance starts from)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("gsim")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0+unknown"

MODEL = "GTM-1 revision 3"  # the model specification the kernels implement
