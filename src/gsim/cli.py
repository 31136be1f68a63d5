"""The `gsim` command line."""

from __future__ import annotations

import click

from gsim import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gsim")
def main() -> None:
    """gsim: simulate gradient industrial transfer between regions."""


# --- gsim scenario ... -------------------------------------------------------------------
@main.group()
def scenario() -> None:
    """Show or check scenario files."""
