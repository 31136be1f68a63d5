"""A scenario's regions: the `Regions` table and how it is read, inline from the TOML or from a
regions CSV, with the tier shares, the declared extra attributes and the sending regions."""

from __future__ import annotations

import csv
import difflib
import functools
import io
import math
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from gsim.params import DEFAULT_TIERS, REGION_DATA, SHARE, SHARE_TOL
from gsim.params import show as _show
from gsim.scenario.reading import _Ctx, _default_text, _label, _read_file, _short, _typename

_REGION_KEYS = ("name", "name_zh", "macro_region", "lat", "lon", "gdp", "population", "schooling", "shares")
# CSV column -> Regions field
_CSV_COLUMNS = {
    "region": "name",
    "name_zh": "name_zh",
    "macro_region": "macro_region",
    "lat": "lat",
    "lon": "lon",
    "gdp_bn_cny": "gdp",
    "population_m": "population",
    "schooling_years": "schooling",
}
_CSV_REQUIRED = ("region", "lat", "lon", "gdp_bn_cny", "population_m", "schooling_years")
_REGION_NUMERIC = REGION_DATA



@dataclass(frozen=True, eq=False)
class Regions:
    """Per-region data, one entry per region in file order (arrays of length R)."""

    name: tuple[str, ...]
    name_zh: tuple[str, ...]
    macro_region: tuple[str, ...]
    lat: np.ndarray  # degrees north
    lon: np.ndarray  # degrees east
    gdp: np.ndarray  # bn CNY
    population: np.ndarray  # million
    schooling: np.ndarray  # years
    shares: np.ndarray  # (R, S) tier output shares, rows sum to 1
    # extra columns a scenario declares (scenario.region_attributes): (name, values), values
    # all numbers (float) or all text, one per region
    attributes: tuple[tuple[str, tuple[Any, ...]], ...] = ()

    def __len__(self) -> int:
        return len(self.name)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Regions):
            return NotImplemented
        return self.attributes == other.attributes and all(
            np.array_equal(getattr(self, f.name), getattr(other, f.name)) for f in fields(self)
            if f.name != "attributes"
        )

    def __hash__(self) -> int:
        return hash((self.name, self.gdp.tobytes(), self.shares.tobytes()))


def _share_vector(ctx: _Ctx, v: Any, fld: str, tiers: tuple[str, ...]) -> list[float]:
    """Tier shares given as an array in tier order or a table keyed by tier name."""
    spec = SHARE
    if isinstance(v, list):
        if len(v) != len(tiers):
            ctx.fail(fld, f"expected {len(tiers)} shares (one per tier: {', '.join(tiers)}), got {len(v)}")
        vals = [ctx.number(x, f"{fld}[{i}]", spec) for i, x in enumerate(v)]
    elif isinstance(v, dict):
        vals = ctx.tier_values(v, fld, tiers, spec)
    else:
        ctx.fail(fld, f"expected an array or a table of tier shares, got {_typename(v)} {_show(v)}")
    _check_sum(ctx, vals, fld)
    return vals


def _check_sum(ctx: _Ctx, vals: list[float], fld: str) -> None:
    s = math.fsum(vals)
    if abs(s - 1.0) > SHARE_TOL:
        ctx.fail(fld, f"tier shares sum to {s:.10g}, not 1 (tolerance {SHARE_TOL:g})")


@functools.cache
def _default_shares() -> dict[str, list[float]]:
    """The embedded default's [shares] (by macro-region, in the order of DEFAULT_TIERS)."""
    table = tomllib.loads(_default_text())["shares"]
    return {k: _share_vector(_Ctx("<default>"), v, f"shares.{k}", DEFAULT_TIERS) for k, v in table.items()}


def _resolve_shares(ctx: _Ctx, rows: list[dict], shares_tbl: Any, tiers: tuple[str, ...]) -> np.ndarray:
    """Shares per region: the region's own > [shares].<region name> > [shares].<macro_region>.

    [shares] left out is the embedded default's (by macro-region) when the tiers are the
    default tiers; with other tiers it has no default."""
    by_key: dict[str, list[float]] = {}
    if shares_tbl is None and tiers == DEFAULT_TIERS:
        by_key = _default_shares()
    elif shares_tbl is not None:
        st = ctx.table(shares_tbl, "shares")
        names = {r["name"] for r in rows}
        macros = {r["macro_region"] for r in rows if r["macro_region"]}
        for k, v in st.items():
            if k not in names and k not in macros:
                ctx.fail(f"shares.{k}", "unknown key: not a region name nor a macro_region of any region")
            by_key[k] = _share_vector(ctx, v, f"shares.{k}", tiers)
    out = np.empty((len(rows), len(tiers)), dtype=np.float64)
    for i, r in enumerate(rows):
        if r.get("shares") is not None:
            out[i] = r["shares"]
        elif r["name"] in by_key:
            out[i] = by_key[r["name"]]
        elif r["macro_region"] in by_key:
            out[i] = by_key[r["macro_region"]]
        else:
            ctx.fail(
                f"regions[{_short(r['name'])}].shares",
                f"missing: no tier shares for region {_show(r['name'])} (macro_region "
                f"{_show(r['macro_region'])}); give shares in the region, in the CSV or in [shares]",
            )
    return out


def _need_two(ctx: _Ctx, rows: list[dict]) -> None:
    if len(rows) < 2:
        ctx.fail("regions", f"need at least 2 regions, got {len(rows)}")


_RESERVED_COLUMNS = ("sending", "region", "region_group", "tier", "time", "run")  # names of outputs' coordinates


def _region_attribute_names(ctx: _Ctx, v: Any) -> tuple[str, ...]:
    """scenario.region_attributes: extra columns of the regions table that policies and
    indicators see (``ctx.region_data``)."""
    fld = "scenario.region_attributes"
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        ctx.fail(fld, f"expected a list of column names, got {_typename(v)} {_show(v)}")
    for x in v:
        if not x.isidentifier() or x in _REGION_KEYS or x in _CSV_COLUMNS or x in _RESERVED_COLUMNS:
            ctx.fail(fld, f"{_show(x)} must be an identifier other than a standard column")
    if len(set(v)) != len(v):
        ctx.fail(fld, "a column is named twice")
    return tuple(v)


def _attribute_values(ctx: _Ctx, rows: list[dict], extra: tuple[str, ...], csv_text: bool) -> tuple:
    """(name, values) of each declared column: all numbers (floats) or all text."""
    out: list[tuple[str, tuple[Any, ...]]] = []
    for col in extra:
        raw = [r["attributes"][col] for r in rows]
        if csv_text:
            try:
                out.append((col, tuple(float(x) for x in raw)))
            except ValueError:
                out.append((col, tuple(str(x) for x in raw)))
            continue
        if all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in raw):
            out.append((col, tuple(float(x) for x in raw)))
        elif all(isinstance(x, str) for x in raw):
            out.append((col, tuple(raw)))
        else:
            ctx.fail(f"regions.{col}", "mixes numbers and text (a column is all numbers or all text)")
    return tuple(out)


def _make_regions(rows: list[dict], shares: np.ndarray, attributes: tuple = ()) -> Regions:
    def arr(key: str) -> np.ndarray:
        a = np.array([r[key] for r in rows], dtype=np.float64)
        a.setflags(write=False)
        return a

    shares.setflags(write=False)
    return Regions(
        name=tuple(r["name"] for r in rows),
        name_zh=tuple(r["name_zh"] for r in rows),
        macro_region=tuple(r["macro_region"] for r in rows),
        lat=arr("lat"),
        lon=arr("lon"),
        gdp=arr("gdp"),
        population=arr("population"),
        schooling=arr("schooling"),
        shares=shares,
        attributes=attributes,
    )


def _check_duplicate(ctx: _Ctx, seen: set[str], name: str, fld: str) -> None:
    if "\0" in name:
        ctx.fail(fld, f"contains a NUL character, which netCDF cuts names at: {_show(name)}")
    if name in seen:
        ctx.fail(fld, f"duplicate region {_show(name)}")
    seen.add(name)


def _regions_inline(ctx: _Ctx, v: Any, tiers: tuple[str, ...], shares_tbl: Any,
                    extra: tuple[str, ...] = ()) -> Regions:
    if not isinstance(v, list):
        ctx.fail("regions", f"expected an array of tables ([[regions]]), got {_typename(v)} {_show(v)}")
    rows: list[dict] = []
    seen: set[str] = set()
    for i, rv in enumerate(v):
        rt = ctx.table(rv, f"regions[{i}]")
        if "name" not in rt:
            ctx.fail(f"regions[{i}].name", "missing region name")
        nm = ctx.string(rt["name"], f"regions[{i}].name")
        pre = f"regions[{_short(nm)}]."
        ctx.keys(rt, _REGION_KEYS + extra, pre)
        _check_duplicate(ctx, seen, nm, pre + "name")
        row: dict[str, Any] = {"name": nm, "attributes": {}}
        for col in extra:
            if col not in rt:
                ctx.fail(pre + col, "missing (declared in scenario.region_attributes)")
            row["attributes"][col] = rt[col]
        for k in ("name_zh", "macro_region"):
            row[k] = ctx.string(rt.get(k, ""), pre + k, nonempty=False)
        for k, spec in _REGION_NUMERIC.items():
            if k not in rt:
                ctx.fail(pre + k, f"missing ({spec.description}, {spec.unit})")
            row[k] = ctx.number(rt[k], pre + k, spec)
        row["shares"] = _share_vector(ctx, rt["shares"], pre + "shares", tiers) if "shares" in rt else None
        rows.append(row)
    _need_two(ctx, rows)
    return _make_regions(rows, _resolve_shares(ctx, rows, shares_tbl, tiers),
                         _attribute_values(ctx, rows, extra, csv_text=False))


def _regions_csv(ctx: _Ctx, v: Any, base: Any, tiers: tuple[str, ...], shares_tbl: Any,
                 extra: tuple[str, ...] = ()) -> Regions:
    rel = ctx.string(v, "scenario.regions")
    target = base / rel if not Path(rel).is_absolute() else Path(rel)
    try:
        text = _read_file(target)
    except FileNotFoundError:
        ctx.fail("scenario.regions", f"regions file not found: {_label(target)}")
    except (OSError, ValueError) as e:
        ctx.fail("scenario.regions", f"cannot read regions file {_label(target)}: {e}")
    cctx = _Ctx(_label(target) if ctx.file != "<default>" else f"<default>/{rel}")
    reader = csv.DictReader(io.StringIO(text))
    try:
        return _csv_rows(ctx, cctx, reader, tiers, shares_tbl, extra)
    except csv.Error as e:  # e.g. a field larger than csv.field_size_limit()
        cctx.fail(f"line {reader.reader.line_num}", f"invalid CSV: {e}")
    raise AssertionError  # unreachable


def _csv_rows(ctx: _Ctx, cctx: _Ctx, reader: csv.DictReader, tiers: tuple[str, ...], shares_tbl: Any,
              extra: tuple[str, ...] = ()) -> Regions:
    """The regions of a CSV file (csv.Error for what the csv module cannot parse). Columns
    other than the standard ones are ignored unless declared in scenario.region_attributes."""
    cols = [c.strip() for c in (reader.fieldnames or [])]
    reader.fieldnames = cols
    for c in _CSV_REQUIRED:
        if c not in cols:
            cctx.fail(c, "missing column")
    for c in extra:
        if c not in cols:
            cctx.fail(c, "missing column (declared in scenario.region_attributes)")
    if len(set(cols)) != len(cols):
        dup = next(c for c in cols if cols.count(c) > 1)
        cctx.fail(dup, "duplicate column")
    share_cols = [c for c in cols if c.startswith("share_")]
    for c in share_cols:
        if c[len("share_"):] not in tiers:
            cctx.fail(c, f"unknown tier {_show(c[len('share_'):])} in share column (tiers: {', '.join(tiers)})")
    if share_cols and len(share_cols) != len(tiers):
        missing = [f"share_{t}" for t in tiers if f"share_{t}" not in share_cols]
        cctx.fail(missing[0], "missing column (give share_<tier> for every tier or none)")
    rows: list[dict] = []
    seen: set[str] = set()
    for lineno, rec in enumerate(reader, start=2):
        if None in rec:
            cctx.fail(f"line {lineno}", "more values than columns")
        rec = {k: (val.strip() if isinstance(val, str) else val) for k, val in rec.items()}
        if all(not val for val in rec.values()):
            continue  # blank line
        nm = rec.get("region") or ""
        if not nm:
            cctx.fail(f"line {lineno}: region", "missing region name")
        nm = cctx.string(nm, f"line {lineno}: region")
        pre = f"regions[{_short(nm)}]."
        _check_duplicate(cctx, seen, nm, pre + "name")
        row: dict[str, Any] = {"name": nm, "attributes": {c: rec.get(c) or "" for c in extra}}
        # the same string checks as for regions given inline, so that a scenario's canonical
        # TOML (`Scenario.toml`, which carries them inline) loads back
        for k in ("name_zh", "macro_region"):
            row[k] = cctx.string(rec.get(k) or "", pre + k, nonempty=False)
        for col, key in _CSV_COLUMNS.items():
            if key not in _REGION_NUMERIC:
                continue
            fld = f"{pre}{key} ({col})"
            row[key] = cctx.number(_csv_float(cctx, rec.get(col), fld), fld, _REGION_NUMERIC[key])
        if share_cols:
            unit = SHARE
            row["shares"] = [
                cctx.number(_csv_float(cctx, rec.get(f"share_{t}"), f"{pre}share_{t}"), f"{pre}share_{t}", unit)
                for t in tiers
            ]
            _check_sum(cctx, row["shares"], pre + "shares")
        else:
            row["shares"] = None
        rows.append(row)
    _need_two(cctx, rows)
    return _make_regions(rows, _resolve_shares(ctx, rows, shares_tbl, tiers),
                         _attribute_values(cctx, rows, extra, csv_text=True))


def _csv_float(ctx: _Ctx, s: Any, fld: str) -> float:
    if s is None or s == "":
        ctx.fail(fld, "missing value")
    try:
        return float(s)
    except ValueError:
        ctx.fail(fld, f"expected a number, got {_show(s)}")
    raise AssertionError  # unreachable


def _sending(ctx: _Ctx, v: Any, regions: Regions) -> tuple[str, ...] | None:
    """scenario.sending: the sending regions by name (the others receive); None = computed."""
    if v is None:
        return None
    fld = "scenario.sending"
    if not isinstance(v, list):
        ctx.fail(fld, f"expected an array of region names, got {_typename(v)} {_show(v)}")
    for i, name in enumerate(v):
        ctx.string(name, f"{fld}[{i}]")
        if name not in regions.name:
            close = difflib.get_close_matches(name, regions.name, n=1)
            ctx.fail(fld, f"unknown region {name!r}" + (f" (did you mean '{close[0]}'?)" if close else ""))
    if len(set(v)) != len(v):
        ctx.fail(fld, "duplicate region")
    if not 1 <= len(v) < len(regions):
        ctx.fail(fld, f"must list at least one region and not all {len(regions)}, so both groups have regions")
    return tuple(v)


