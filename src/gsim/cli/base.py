"""The `gsim` click group, and how every command reports errors (one line, never a traceback)."""

from __future__ import annotations

import math
import textwrap
import warnings
from pathlib import Path

import click
from rich import box
from rich.console import Console
from rich.table import Table

from gsim import api
from gsim._version import __version__
from gsim.analysis.select import AnalysisError
from gsim.claims import ClaimError
from gsim.events import EventError
from gsim.indicators import IndicatorError
from gsim.plugins import PluginError, get_plugin_manager, register_commands
from gsim.policies import PolicyError
from gsim.scenario import Scenario, ScenarioError, load_scenario
from gsim.sweeps import StoreError, SweepSpecError
from gsim.sweeps.store import StoreIOError

PLUGIN_ERRORS = (PluginError, PolicyError, EventError, IndicatorError)
USER_ERRORS = (ScenarioError, SweepSpecError, StoreError, ClaimError, AnalysisError)


class PluginFailure(click.ClickException):
    """A plugin failed (bad registration, a policy/event/indicator that raised or returned bad
    values): one line on stderr naming the plugin, exit code 1."""

    exit_code = 1


class UsageFailure(click.ClickException):
    """A user error (bad scenario, sweep spec, store or option value): one line on stderr,
    exit code 2."""

    exit_code = 2


def failure(message: str, exit_code: int) -> click.ClickException:
    """A one-line error with its own exit code (a store's I/O error, lock or damage)."""
    exc = click.ClickException(message)
    exc.exit_code = exit_code  # type: ignore[misc]  # click reads it from the instance
    return exc


def one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def _warning_line(message, category, filename, lineno, line=None) -> str:
    return f"gsim: warning: {one_line(message) if isinstance(message, Warning) else message}\n"


class Group(click.Group):
    """A click group whose command list shows whole summaries."""

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Each command's whole first sentence, wrapped, where click would cut it at ~45
        characters with "..."."""
        rows = []
        for name in self.list_commands(ctx):
            cmd = self.get_command(ctx, name)
            if cmd is not None and not cmd.hidden:
                rows.append((name, cmd.get_short_help_str(limit=1000)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


class _PluginGroup(Group):
    """The gsim group: plugin commands are added the first time commands are listed or looked
    up (not at import); plugin errors in any command become a one-line PluginFailure, user
    errors (scenario, sweep spec, store) a one-line UsageFailure."""

    _plugins_loaded = False

    def main(self, *args, **kwargs):
        warnings.formatwarning = _warning_line  # e.g. a disabled plugin: one line on stderr
        return super().main(*args, **kwargs)

    def _load_plugin_commands(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        try:
            register_commands(get_plugin_manager(), self)
        except PLUGIN_ERRORS as e:
            raise PluginFailure(one_line(e)) from None

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load_plugin_commands()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str):
        if cmd_name not in self.commands:
            self._load_plugin_commands()
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except PLUGIN_ERRORS as e:
            raise PluginFailure(one_line(e)) from None
        except USER_ERRORS as e:
            raise failure(one_line(e), getattr(e, "exit_code", UsageFailure.exit_code)) from None
        except OSError as e:  # e.g. an unwritable output file
            msg = f"{e.filename}: {e.strerror}" if e.filename else str(e)
            raise failure(" ".join(msg.split()), StoreIOError.exit_code) from None


@click.group(cls=_PluginGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gsim")
def main() -> None:
    """gsim: simulate gradient industrial transfer between regions."""


def not_empty(ctx: click.Context, param: click.Parameter, value):
    """A click callback: an option given an empty (or blank) value is an error naming it, not
    the default (an unset shell variable, `--verify "$STORE"`, must not start a default sweep)."""
    if isinstance(value, str) and not value.strip():
        name = max(param.opts, key=len) if param.opts else param.name
        raise UsageFailure(f"{name}: empty value; give one (or leave the option out)")
    return value


def netcdf_path(ctx: click.Context, param: click.Parameter, value):
    """A click callback for a netCDF output: not empty, and not named like a Zarr store (a
    netCDF file written as `run.zarr` looks like a store and is read as none)."""
    value = not_empty(ctx, param, value)
    if isinstance(value, str) and value.rstrip("/\\").lower().endswith(".zarr"):
        name = max(param.opts, key=len) if param.opts else param.name
        raise UsageFailure(f"{name}: {value}: this writes a netCDF file, not a Zarr store; "
                           "name it FILE.nc")
    return value


def check_output(opt: str, path: str | None, suffixes: tuple[str, ...] = ()) -> None:
    """Before any run: an output file must have one of `suffixes` (when given) and lie in an
    existing folder, so that a long computation does not end on a path it cannot write."""
    if not path:
        return
    if suffixes and not path.lower().endswith(suffixes):
        raise UsageFailure(f"{opt}: write {' or '.join(suffixes)}, got {path}")
    if not Path(path).parent.is_dir():
        raise UsageFailure(f"{opt}: {Path(path).parent} is not a folder; {path} cannot be written")


FILE_SUFFIXES = (".nc", ".nc4", ".netcdf", ".cdf", ".h5", ".hdf5", ".hdf", ".csv", ".tsv", ".json", ".parquet",
                 ".feather", ".txt", ".npz", ".npy", ".pkl", ".xlsx", ".toml", ".png", ".svg", ".pdf", ".html")


def check_store_name(opt: str, path: str | None, kind: str, example: str, hint: str) -> None:
    """Before any run: a store is a Zarr folder, so a path named like a file (`s.nc`) would
    be a folder that every netCDF, CSV or JSON reader refuses; `hint` says how to get a file."""
    if path and path.rstrip("/\\").lower().endswith(FILE_SUFFIXES):
        suffix = Path(path.rstrip("/\\")).suffix
        article = "an" if kind[0] in "aeiou" else "a"
        raise UsageFailure(f"{opt}: {path}: {article} {kind} store is a Zarr folder (e.g. {example}), "
                           f"not a {suffix} file; {hint}")


def finite(ctx: click.Context, param: click.Parameter, value):
    """A click callback: a number option must be finite (click's ranges let NaN through)."""
    if value is not None and not math.isfinite(value):
        name = max(param.opts, key=len) if param.opts else param.name
        raise UsageFailure(f"{name}: must be a finite number, got {value}")
    return value


def positive(ctx: click.Context, param: click.Parameter, value):
    """A click callback: an integer option must be >= 1 when given."""
    if value is not None and value < 1:
        name = "/".join(sorted(param.opts, key=len)) if param.opts else param.name
        raise UsageFailure(f"{name} must be >= 1, got {value}")
    return value


def parse_years(years: str | None) -> list[float] | None:
    """'2030,2050' -> [2030.0, 2050.0]; a one-line usage error otherwise (an empty value too:
    `--years "$YEARS"` with YEARS unset must not mean the default years)."""
    if years is None:
        return None
    if not years.strip():
        raise UsageFailure("--years: empty value; give one (or leave the option out)")
    try:
        return [float(y) for y in years.split(",")]
    except ValueError:
        raise UsageFailure(f"--years: expected numbers separated by commas, got {years!r}") from None


def fitted_console() -> Console:
    """A rich console for tables that fit 80 columns: the terminal's width, or $COLUMNS, or 80
    when neither is known (a file or pipe)."""
    return Console(highlight=False)


def width() -> int:
    """The width plain-text output should fit: the terminal's, $COLUMNS, else 80."""
    return fitted_console().width


def table(**kwargs) -> Table:
    """A rich table that fits 80 columns where its content can: a rule under the header, no
    frame, columns one space apart. Add columns with `text_column` (names, which wrap when
    space is short) and `number_column` (never wrapped: a number is never cut while the
    names can give way)."""
    style = dict(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True,
                 title_justify="left", caption_justify="left")
    return Table(**{**style, **kwargs})


def text_column(table: Table, header: str, **kwargs) -> None:
    table.add_column(header, overflow="fold", **kwargs)


def number_column(table: Table, header: str, **kwargs) -> None:
    table.add_column(header, justify="right", no_wrap=True, **kwargs)


def load_scenario_or_fail(path: str | None = None) -> Scenario:
    """load_scenario(path), with a ScenarioError turned into a UsageFailure (exit 2)."""
    try:
        return load_scenario(path)
    except ScenarioError as e:
        raise UsageFailure(str(e)) from None


def with_model(sc: Scenario, model: str | None) -> Scenario:
    """The scenario under another model (`--model`), or as it is when model is None."""
    if model is None or model == sc.model:
        return sc
    try:
        return sc.with_overrides(model=model)
    except ScenarioError as e:
        raise UsageFailure(str(e)) from None


def compile_first(batch: bool = False, python_loop: bool = False) -> None:
    """Compile the model before a command times its work, saying so on stderr once, with the
    elapsed time: a fresh installation compiles it once (numba's on-disk cache keeps it)."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
    from rich.table import Column

    if not api.needs_compiling(batch, python_loop):
        return
    about = api.COMPILE_SECONDS[batch]
    what = "the sweep kernels" if batch else "the model"
    text = TextColumn("{task.description}", table_column=Column(overflow="fold", ratio=1))
    with Progress(SpinnerColumn(), text, TimeElapsedColumn(),  # wraps, rather than cut, in 80 columns
                  console=Console(stderr=True, highlight=False)) as progress:
        progress.add_task(f"compiling {what} for this machine (once per installation, "
                          f"about {about} s)", total=None)
        api.compile_model(batch, python_loop)


def plain_table(header: list[str], rows: list[list[str]], width: int, indent: str = "") -> list[str]:
    """Lines of a plain-text table within `width` columns: the first column (a name) wraps onto
    further lines when space is short; the others (numbers) are right-aligned at their widest
    cell and never cut."""
    cells = [header, *rows]
    widths = [max(len(r[i]) for r in cells) for i in range(1, len(header))]
    rest = sum(w + 2 for w in widths)
    w0 = max(12, min(max(len(r[0]) for r in cells), width - len(indent) - rest))
    out = []
    for r in cells:
        names = textwrap.wrap(r[0], w0) or [""]
        out.append(indent + f"{names[0]:<{w0}}" + "".join(f"  {c:>{w}}" for c, w in zip(r[1:], widths)))
        out.extend(indent + n for n in names[1:])
    return out
