"""The `gsim` command line: one click group; each module below adds its commands to it."""

from gsim.cli import analysis, backcast, claims, match, optimize, plugins, report, run, sweep  # noqa: F401  (importing them adds their commands)
from gsim.cli.base import main

__all__ = ["main"]
