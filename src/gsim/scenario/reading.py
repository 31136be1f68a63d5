"""Where a scenario's texts and errors come from: reading a scenario or regions file (size and
encoding limits), the embedded default, and `ScenarioError` (one line, ``FILE: field: reason``)
with the checks every part of the loader uses to raise it."""

from __future__ import annotations

import difflib
import functools
import math
from importlib.resources import files
from typing import Any

from gsim.params import MAX_FILE_BYTES, ParamSpec
from gsim.params import show as _show


class ScenarioError(ValueError):
    """A scenario file or value is invalid; the message is one line naming file and field."""


# ----------------------------------------------------------------------------------------
# small helpers
# ----------------------------------------------------------------------------------------
def _short(name: str) -> str:
    """A name (key, region) cut to 60 characters for a message's field."""
    return name if len(name) <= 60 else name[:57] + "..."


def _typename(v: Any) -> str:
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, (int, float)):
        return "a number"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, dict):
        return "a table"
    if isinstance(v, list):
        return "an array"
    return type(v).__name__


class _Ctx:
    """Where errors come from: a file label; `fail` raises a one-line ScenarioError."""

    def __init__(self, file: str):
        self.file = file

    def fail(self, fld: str, what: str) -> None:
        msg = " ".join(f"{self.file}: {fld}: {what}".split())
        err = ScenarioError(msg)
        err.file, err.field, err.reason = self.file, fld, what  # type: ignore[attr-defined]
        raise err

    def keys(self, table: dict, allowed, prefix: str) -> None:
        for k in table:
            if k not in allowed:
                close = difflib.get_close_matches(str(k)[:100], [str(a) for a in allowed], n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                self.fail(f"{prefix}{_short(k)}", f"unknown key{hint}")

    def table(self, v: Any, fld: str) -> dict:
        if not isinstance(v, dict):
            self.fail(fld, f"expected a table, got {_typename(v)} {_show(v)}")
        return v

    def string(self, v: Any, fld: str, *, nonempty: bool = True) -> str:
        if not isinstance(v, str):
            self.fail(fld, f"expected a string, got {_typename(v)} {_show(v)}")
        if nonempty and not v.strip():
            self.fail(fld, "must not be empty")
        if "\0" in v:
            self.fail(fld, f"contains a NUL character, which netCDF cuts names at: {_show(v)}")
        return v

    def number(self, v: Any, fld: str, spec: ParamSpec | None = None) -> float:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            self.fail(fld, f"expected a number, got {_typename(v)} {_show(v)}")
        x = float(v)  # integers are within 64 bits (_check_values)
        if not math.isfinite(x):
            self.fail(fld, f"must be a finite number, got {_show(v)}")
        if spec is not None and not spec.contains(x):
            self.fail(fld, f"must be {spec.describe()}, got {_show(v)}")
        return x

    def tier_values(self, v: Any, fld: str, tiers: tuple[str, ...], spec: ParamSpec | None,
                    missing: str = "") -> list[float]:
        """A table keyed by tier name ([params.NAME], a region's shares) as numbers in tier
        order: no other key, every tier given; `missing` follows the missing tier's name."""
        table = self.table(v, fld)
        self.keys(table, tiers, fld + ".")
        for t in tiers:
            if t not in table:
                self.fail(fld, f"missing tier {_show(t)}{missing}")
        return [self.number(table[t], f"{fld}.{t}", spec) for t in tiers]

    def integer(self, v: Any, fld: str) -> int:
        if isinstance(v, bool) or not isinstance(v, int):
            self.fail(fld, f"expected an integer, got {_typename(v)} {_show(v)}")
        return v


@functools.cache
def _default_text() -> str:
    return files("gsim").joinpath("data").joinpath("default.toml").read_text(encoding="utf-8")


def _label(path: Any) -> str:
    """A file's name for messages: as given, or quoted when it has unprintable characters."""
    s = str(path)
    return s if s.isprintable() else repr(s)


def _read_file(path: Any) -> str:
    """A UTF-8 text file's content. Raises FileNotFoundError, IsADirectoryError, another
    OSError, or ValueError (with a short reason) for a path with a NUL character, a special
    file (a device or pipe may never end), a file larger than MAX_FILE_BYTES or not UTF-8."""
    if "\x00" in str(path):
        raise ValueError("the path contains a NUL character")
    if not path.is_file():
        if path.is_dir():
            raise IsADirectoryError("is a directory")
        if path.exists():
            raise ValueError("not a regular file")
        raise FileNotFoundError(str(path))
    with path.open("rb") as f:
        data = f.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise ValueError(f"larger than the limit of {_bytes(MAX_FILE_BYTES)} (MAX_FILE_BYTES)")
    return data.decode("utf-8-sig")


def _bytes(n: int) -> str:
    """A size in words: 298 GiB."""
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n} bytes"
