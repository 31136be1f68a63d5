"""Observed data shipped with gsim: the 2005–2024 provincial panel, the provincial SSP
projections and a few national series, as validated xarray Datasets.

The CSVs live in ``gsim/data`` (sources, units and caveats in the ``*.SOURCES.md`` beside
them; ``scripts/build_observed.py`` rebuilds them). Any of the loaders also reads a file of
the same layout given by path, and refuses a bad one with a one-line
``ObservedDataError``: ``FILE: field: reason`` (``FILE: line N: field: reason`` for a value).

Public API:

- `load_panel(path=None)`: dims (year, region); ``gdp`` (bn CNY, current prices),
  ``population`` (million, year-end)
- `load_ssp(path=None)`: dims (ssp, year, region); ``gdp`` (bn CNY, 2020 base as in the
  source), ``population`` (million); NaN where the source has no value for that year
- `load_provincial(path=None)`: dims (year, region); ``gdp_index`` (real GDP, previous year
  = 100), ``investment_share`` (1); 2005–2019
- `load_national(path=None)`: dims (year); ``real_gdp`` (bn CNY at constant 2015 prices),
  ``investment_share`` (1), ``labour_force`` and ``employment`` (million)
- `regions()`: the 31 region names in china31.csv order (the order of every ``region`` dim)
- `population_trend(names, t0, path)`: each province's population growth relative to the
  nation's along the SSP `path` (forward runs) or the panel's trend before t0 (backcasts)
- `investment_rate(names, t0)`: each province's fixed-investment rate relative to the national
  mean, s_r, in the latest data year not after t0 (experimental)
- `load_boundaries(path=None)`: the provinces' outlines, {region: polygons of (lon, lat) rings},
  from Natural Earth (``china31_boundaries.json``), drawn under the province map

The checks: every region and year present exactly once, numbers finite and positive, and the
national sums inside a plausible band, which catches values given in the wrong unit (yuan,
10⁴ yuan or persons instead of bn CNY or millions are factors 10⁴–10⁹ off).
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import json
import math
import re
from collections.abc import Sequence
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gsim.params import MAX_FILE_BYTES

if TYPE_CHECKING:
    import xarray as xr

PANEL_FILE = "china31_panel.csv"
SSP_FILE = "china31_ssp.csv"
NATIONAL_FILE = "china_national.csv"
PROVINCIAL_FILE = "china31_provincial.csv"

# (column, dataset variable, units, band of the national sum per year (low, high))
# The bands are wide (observed 2005–2024 national GDP is about 2e4–1.4e5 bn CNY, population
# about 1.3e3 million) but a unit mix-up by 10^4 or more always leaves them.
_GDP_BAND = (1e3, 1e7)
_POP_BAND = (100.0, 5000.0)
_PANEL_COLUMNS = {
    "gdp_bn_cny": ("gdp", "bn CNY (current prices)", _GDP_BAND),
    "population_m": ("population", "million persons (year-end resident)", _POP_BAND),
}
_SSP_COLUMNS = {
    "gdp_bn_cny": ("gdp", "bn CNY (2020 base; price basis as in the source)", _GDP_BAND),
    "population_m": ("population", "million persons", _POP_BAND),
}
# provincial series: (variable, units, allowed range of each value (low, high))
_PROVINCIAL_COLUMNS = {
    "gdp_index_prev_year_100": ("gdp_index", "previous year = 100 (real GDP)", (50.0, 200.0)),
    "investment_share": ("investment_share", "1 (gross capital formation / GDP, expenditure approach)", (0.0, 3.0)),
}
# national series: (variable, units, allowed range of each value (low, high))
_NATIONAL_COLUMNS = {
    "real_gdp_bn_cny_2015": ("real_gdp", "bn CNY at constant 2015 prices", (1e3, 1e7)),
    "investment_share": ("investment_share", "1 (gross capital formation / GDP)", (0.0, 1.0)),
    "labour_force_m": ("labour_force", "million persons", (100.0, 2000.0)),
    "employment_m": ("employment", "million persons", (100.0, 2000.0)),
}
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_YEAR = re.compile(r"\d{4}")
_YEARS = (1949, 2200)


class ObservedDataError(ValueError):
    """An observed-data file is invalid; the message is one line ``FILE: field: reason``."""

    def __init__(self, file: str, fld: str, reason: str):
        super().__init__(" ".join(f"{file}: {fld}: {reason}".split()))
        self.file, self.field, self.reason = file, fld, reason

    def __reduce__(self):  # pickles (e.g. across worker processes) with its three parts
        return (type(self), (self.file, self.field, self.reason))


@functools.cache
def regions() -> tuple[str, ...]:
    """The 31 region names of the shipped china31.csv, in its order."""
    text = files("gsim").joinpath("data").joinpath("china31.csv").read_text(encoding="utf-8")
    return tuple(row["region"] for row in csv.DictReader(io.StringIO(text)))


def _read(path: str | Path | None, default: str) -> tuple[str, str, str]:
    """(label, text, sha256) of a file given by path, or of the shipped file `default`."""
    if path is None:
        label = default
        data = files("gsim").joinpath("data").joinpath(default).read_bytes()
    else:
        p = Path(path)
        label = str(p) if str(p).isprintable() else repr(str(p))
        if "\x00" in str(p):
            raise ObservedDataError(label, "file", "the path contains a NUL character")
        try:
            if not p.is_file():
                raise ObservedDataError(label, "file", "is a directory" if p.is_dir() else
                                        "not a regular file" if p.exists() else "no such file")
            with p.open("rb") as f:
                data = f.read(MAX_FILE_BYTES + 1)
        except OSError as e:
            raise ObservedDataError(label, "file", f"cannot be read ({e.strerror or e})") from None
    if len(data) > MAX_FILE_BYTES:
        raise ObservedDataError(label, "file", f"larger than the limit of {MAX_FILE_BYTES} bytes (MAX_FILE_BYTES)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ObservedDataError(label, "file", f"not UTF-8 text (byte {e.start})") from None
    return label, text, hashlib.sha256(data).hexdigest()


def _rows(label: str, text: str, required: set[str],
          optional: frozenset[str] | set[str] = frozenset()) -> list[tuple[int, dict[str, str]]]:
    """The data rows as (line number, {column: cell}); blank lines are skipped."""
    reader = csv.reader(io.StringIO(text, newline=""))
    out: list[tuple[int, dict[str, str]]] = []
    header: list[str] | None = None
    try:
        for row in reader:
            if not any(c.strip() for c in row):
                continue
            if header is None:
                header = [c.strip() for c in row]
                _check_header(label, header, required, optional)
                continue
            if len(row) != len(header):
                raise ObservedDataError(label, f"line {reader.line_num}",
                                        f"{len(row)} values for {len(header)} columns")
            out.append((reader.line_num, dict(zip(header, row, strict=True))))
    except csv.Error as e:
        raise ObservedDataError(label, f"line {reader.line_num}", f"invalid CSV: {e}") from None
    if header is None:
        raise ObservedDataError(label, "header", "the file is empty")
    if not out:
        raise ObservedDataError(label, "rows", "no data rows")
    return out


def _check_header(label: str, header: list[str], required: set[str], optional: frozenset[str] | set[str]) -> None:
    seen: set[str] = set()
    for name in header:
        shown = name if len(name) <= 40 else name[:37] + "..."
        if name in seen:
            raise ObservedDataError(label, "header", f"column {shown!r} appears twice")
        if name not in required | optional:
            want = ", ".join(sorted(required | optional))
            raise ObservedDataError(label, "header", f"unknown column {shown!r} (the columns are {want})")
        seen.add(name)
    missing = sorted(required - seen)
    if missing:
        raise ObservedDataError(label, "header", f"missing column {missing[0]!r}")


def _cell_text(cell: str) -> str:
    s = cell.strip()
    return repr(s if len(s) <= 20 else s[:17] + "...")


def _number(label: str, line: int, col: str, cell: str, *, blank_ok: bool = False) -> float:
    """A finite positive number from a cell (NaN for a blank cell when `blank_ok`)."""
    s = cell.strip()
    if not s:
        if blank_ok:
            return math.nan
        raise ObservedDataError(label, f"line {line}: {col}", "missing value")
    if not _NUMBER.fullmatch(s):
        raise ObservedDataError(label, f"line {line}: {col}", f"not a number: {_cell_text(cell)}")
    x = float(s)
    if not math.isfinite(x):
        raise ObservedDataError(label, f"line {line}: {col}", f"not a finite number: {_cell_text(cell)}")
    if x < 0:
        raise ObservedDataError(label, f"line {line}: {col}", f"negative value {s}")
    if x == 0:
        raise ObservedDataError(label, f"line {line}: {col}", "zero; a value must be positive")
    return x


def _year(label: str, line: int, cell: str) -> int:
    s = cell.strip()
    if not _YEAR.fullmatch(s) or not _YEARS[0] <= int(s) <= _YEARS[1]:
        raise ObservedDataError(label, f"line {line}: year",
                                f"not a year in {_YEARS[0]}–{_YEARS[1]}: {_cell_text(cell)}")
    return int(s)


def _region(label: str, line: int, cell: str) -> str:
    s = cell.strip()
    if s not in regions():
        raise ObservedDataError(label, f"line {line}: region",
                                f"unknown region {_cell_text(cell)} (not one of the 31 in china31.csv)")
    return s


def _check_sums(label: str, col: str, band: tuple[float, float], sums: dict[Any, float]) -> None:
    """National sums (per year, or per SSP and year) inside `band`: a unit mix-up leaves it."""
    for key, total in sums.items():
        if not math.isnan(total) and not band[0] <= total <= band[1]:
            raise ObservedDataError(label, col, (
                f"national sum for {key} is {total:.4g}, outside the plausible {band[0]:g}–{band[1]:g}: "
                "wrong unit (values 10^4 or 10^8 times off)?"))


def _attrs(label: str, digest: str, default: str, path: str | Path | None) -> dict[str, str]:
    stem = default.removesuffix(".csv")
    return {"source_file": label, "sha256": digest,
            "sources": f"gsim/data/{stem}.SOURCES.md" if path is None else "given by path"}


def load_panel(path: str | Path | None = None) -> xr.Dataset:
    """The provincial panel (dims year, region): ``gdp`` in bn CNY at current prices and
    ``population`` in million (year-end resident); the shipped NBS 2005–2024 series by default."""
    import xarray as xr

    label, text, digest = _read(path, PANEL_FILE)
    years, data = _region_year(label, _rows(label, text, {"region", "year", *_PANEL_COLUMNS}), _PANEL_COLUMNS)
    for col, (var, _, band) in _PANEL_COLUMNS.items():
        _check_sums(label, col, band, dict(zip(years, data[var][1].sum(axis=1).tolist(), strict=True)))
    coords = {"year": years, "region": list(regions())}
    return xr.Dataset(data, coords=coords, attrs=_attrs(label, digest, PANEL_FILE, path))


def load_provincial(path: str | Path | None = None) -> xr.Dataset:
    """Provincial real growth and investment (dims year, region): ``gdp_index``, real GDP with
    the previous year = 100, and ``investment_share``, gross capital formation / GDP in the
    expenditure approach (NaN where the source has no value); the shipped NBS 2005–2019 series."""
    import xarray as xr

    label, text, digest = _read(path, PROVINCIAL_FILE)
    years, data = _region_year(label, _rows(label, text, {"region", "year", *_PROVINCIAL_COLUMNS}),
                               _PROVINCIAL_COLUMNS, blank_ok={"investment_share"}, per_value=True)
    coords = {"year": years, "region": list(regions())}
    return xr.Dataset(data, coords=coords, attrs=_attrs(label, digest, PROVINCIAL_FILE, path))


def _region_year(label: str, rows: list[tuple[int, dict[str, str]]], columns: dict[str, tuple[str, str, Any]],
                 blank_ok: frozenset[str] | set[str] = frozenset(),
                 per_value: bool = False) -> tuple[list[int], dict[str, Any]]:
    """Rows keyed by (region, year), each region and year exactly once and the years without a
    gap, as (years, {variable: (dims, array (year, region), attrs)}). A column in `blank_ok`
    may be blank, but then in the same years for every region. With `per_value`, the third
    item of each column's spec is a (low, high) range for every value."""
    import numpy as np

    values: dict[tuple[str, int], tuple[int, dict[str, float]]] = {}
    for line, rec in rows:
        key = (_region(label, line, rec["region"]), _year(label, line, rec["year"]))
        if key in values:
            raise ObservedDataError(label, f"line {line}: region",
                                    f"duplicate row for {key[0]} {key[1]} (first on line {values[key][0]})")
        vals = {}
        for col, (_, _, band) in columns.items():
            x = _number(label, line, col, rec[col], blank_ok=col in blank_ok)
            if per_value and not math.isnan(x) and not band[0] < x < band[1]:
                raise ObservedDataError(label, f"line {line}: {col}",
                                        f"{rec[col].strip()} is outside the plausible {band[0]:g}–{band[1]:g}: wrong unit?")
            vals[col] = x
        values[key] = (line, vals)
    years = sorted({y for _, y in values})
    _complete(label, {r for r, _ in values}, years, lambda r, y: (r, y) in values)
    for y, y2 in zip(years, years[1:]):
        if y2 != y + 1:
            raise ObservedDataError(label, "year", f"no rows for {y + 1} (years run {years[0]}–{years[-1]})")
    for col in blank_ok:
        given = {y for (_, y), (_, v) in values.items() if not math.isnan(v[col])}
        for (r, y), (line, v) in values.items():
            if y in given and math.isnan(v[col]):
                raise ObservedDataError(label, f"line {line}: {col}", f"missing value ({r} {y}; other rows give {y})")
    data = {}
    for col, (var, units, _) in columns.items():
        arr = np.array([[values[r, y][1][col] for r in regions()] for y in years])
        data[var] = (("year", "region"), arr, {"units": units})
    return years, data


def _complete(label: str, present: set[str], years: list[int], has) -> None:
    """Every region of china31.csv has a row for every year in the file."""
    for r in regions():
        if r not in present:
            raise ObservedDataError(label, "region", f"{r} has no rows")
        for y in years:
            if not has(r, y):
                raise ObservedDataError(label, "year", f"no row for {r} {y}")


def load_ssp(path: str | Path | None = None) -> xr.Dataset:
    """Provincial SSP projections (dims ssp, year, region): ``gdp`` in bn CNY on the source's
    2020 base and ``population`` in million. A variable the source gives only at some years
    (population: every 5 years) is NaN at the others; which years must be the same in every row."""
    import numpy as np
    import xarray as xr

    label, text, digest = _read(path, SSP_FILE)
    rows = _rows(label, text, {"ssp", "region", "year", *_SSP_COLUMNS})
    values: dict[tuple[str, str, int], tuple[int, dict[str, float]]] = {}
    for line, rec in rows:
        ssp = rec["ssp"].strip()
        if not re.fullmatch(r"SSP[1-5]", ssp):
            raise ObservedDataError(label, f"line {line}: ssp", f"not one of SSP1–SSP5: {_cell_text(rec['ssp'])}")
        key = (ssp, _region(label, line, rec["region"]), _year(label, line, rec["year"]))
        if key in values:
            raise ObservedDataError(label, f"line {line}: region",
                                    f"duplicate row for {' '.join(map(str, key))} (first on line {values[key][0]})")
        values[key] = (line, {col: _number(label, line, col, rec[col], blank_ok=True) for col in _SSP_COLUMNS})
    ssps = sorted({s for s, _, _ in values})
    years = sorted({y for _, _, y in values})
    for s in ssps:
        _complete(label, {r for s2, r, _ in values if s2 == s}, years, lambda r, y, s=s: (s, r, y) in values)
    # a value given for a year in one row must be given for that year in every row
    for col in _SSP_COLUMNS:
        given = {y for (_, _, y), (_, v) in values.items() if not math.isnan(v[col])}
        if not given:
            raise ObservedDataError(label, col, "no values")
        for (s, r, y), (line, v) in values.items():
            if y in given and math.isnan(v[col]):
                raise ObservedDataError(label, f"line {line}: {col}", f"missing value ({s} {r} {y}; other rows give {y})")
    reg = regions()
    data = {}
    for col, (var, units, band) in _SSP_COLUMNS.items():
        arr = np.array([[[values[s, r, y][1][col] for r in reg] for y in years] for s in ssps])
        sums = {f"{s} {y}": float(arr[i, j].sum()) for i, s in enumerate(ssps) for j, y in enumerate(years)}
        _check_sums(label, col, band, sums)
        data[var] = (("ssp", "year", "region"), arr, {"units": units})
    coords = {"ssp": ssps, "year": years, "region": list(reg)}
    return xr.Dataset(data, coords=coords, attrs=_attrs(label, digest, SSP_FILE, path))


def load_national(path: str | Path | None = None) -> xr.Dataset:
    """National series for China (dim year): ``real_gdp`` (bn CNY at constant 2015 prices),
    ``investment_share`` (gross capital formation / GDP), ``labour_force`` and ``employment``
    (million); NaN
    where the source has no value. Each column is optional in a file given by path."""
    import numpy as np
    import xarray as xr

    label, text, digest = _read(path, NATIONAL_FILE)
    rows = _rows(label, text, {"year"}, set(_NATIONAL_COLUMNS))
    cols = [c for c in _NATIONAL_COLUMNS if c in rows[0][1]]
    if not cols:
        raise ObservedDataError(label, "header", f"no series column (the series are {', '.join(_NATIONAL_COLUMNS)})")
    values: dict[int, dict[str, float]] = {}
    first: dict[int, int] = {}
    for line, rec in rows:
        y = _year(label, line, rec["year"])
        if y in first:
            raise ObservedDataError(label, f"line {line}: year", f"duplicate row for {y} (first on line {first[y]})")
        first[y] = line
        values[y] = {}
        for col in cols:
            x = _number(label, line, col, rec[col], blank_ok=True)
            lo, hi = _NATIONAL_COLUMNS[col][2]
            if not math.isnan(x) and not lo < x < hi:
                raise ObservedDataError(label, f"line {line}: {col}",
                                        f"{rec[col].strip()} is outside the plausible {lo:g}–{hi:g}: wrong unit?")
            values[y][col] = x
    years = sorted(values)
    for y, y2 in zip(years, years[1:]):
        if y2 != y + 1:
            raise ObservedDataError(label, "year", f"no row for {y + 1} (years run {years[0]}–{years[-1]})")
    data = {}
    for col in cols:
        var, units, _ = _NATIONAL_COLUMNS[col]
        data[var] = (("year",), np.array([values[y][col] for y in years]), {"units": units})
    return xr.Dataset(data, coords={"year": years}, attrs=_attrs(label, digest, NATIONAL_FILE, path))


# GTM-2's provincial population paths (docs/model.md, GTM-2 mechanism 5)
POPULATION_PATHS = ("SSP1", "SSP2", "SSP3", "SSP4", "SSP5")
CENSUS_YEAR = 2010  # the panel's population has a census break from 2009 to 2010 (china31_panel.SOURCES.md)
PATH_HORIZON = 2050.0  # a forward run's SSP window ends here (the year of the SSP comparison)


def population_trend(names: Sequence[str], t0: float, path: str) -> tuple[float, ...]:
    """d_r (1/yr) of each region: its population's average log growth minus the nation's
    (the sum of the 31 provinces) along the path known at t0. A run that starts with the SSPs
    (t0 >= 2020) takes the SSP `path` from t0 to PATH_HORIZON (to 2100 for a start from then
    on), whatever the run's end, so that a shorter run grows as the first years of a longer
    one. An earlier start takes the panel's trend over the years before t0 since the 2010
    census (from 2005 for a start up to 2010), so that the provinces' later population shares
    stay a test of the model. Values between data years are interpolated in logs. Zeros where
    nothing is known: regions other than the 31 of china31.csv, a start before the panel or
    after the SSPs.

    Raises ValueError (one line) for a path that is not one of POPULATION_PATHS."""
    if path not in POPULATION_PATHS:
        raise ValueError(f"unknown population path {path!r} (known: {', '.join(POPULATION_PATHS)})")
    return _population_trend(tuple(names), float(t0), path)


@functools.cache
def _population_trend(names: tuple[str, ...], t0: float, path: str) -> tuple[float, ...]:
    import numpy as np

    zeros = (0.0,) * len(names)
    if names != regions():
        return zeros
    ssp = load_ssp().population.sel(ssp=path).dropna("year")
    if t0 >= int(ssp.year[0]):
        pop, a, b = ssp, t0, (PATH_HORIZON if t0 < PATH_HORIZON else float(ssp.year[-1]))
    else:
        pop = load_panel().population
        first = int(pop.year[0])
        a, b = (CENSUS_YEAR if t0 > CENSUS_YEAR else first), t0
    if not (a < b and float(pop.year[0]) <= a and b <= float(pop.year[-1])):
        return zeros
    years = pop.year.values.astype(float)
    logs = np.log(np.column_stack([pop.values, pop.values.sum(axis=1)]))  # (years, regions + nation)
    growth = np.array([np.interp(b, years, col) - np.interp(a, years, col) for col in logs.T]) / (b - a)
    return tuple((growth[:-1] - growth[-1]).tolist())


INVESTMENT_FILE = "china31_investment.csv"


def investment_rate(names: Sequence[str], t0: float) -> tuple[float, ...]:
    """s_r of each region (experimental GTM-2 mechanism, weight ω_I): its gross fixed capital
    formation / GDP over the GDP-weighted mean of the 31 provinces, in the latest year of
    ``china31_investment.csv`` not after t0 (2013 for the default backcast, 2017, the latest,
    for forward runs). Ones where nothing is known: regions other than the 31 of china31.csv,
    a start before the file's first year."""
    return _investment_rate(tuple(names), float(t0))


@functools.cache
def _investment_rate(names: tuple[str, ...], t0: float) -> tuple[float, ...]:
    ones = (1.0,) * len(names)
    if names != regions():
        return ones
    text = files("gsim").joinpath("data").joinpath(INVESTMENT_FILE).read_text(encoding="utf-8")
    rate: dict[int, dict[str, float]] = {}
    for row in csv.DictReader(io.StringIO(text)):
        rate.setdefault(int(row["year"]), {})[row["region"]] = float(row["relative_rate"])
    known = [y for y in rate if y <= t0]
    if not known:
        return ones
    year = rate[max(known)]
    return tuple(year[n] for n in names)


BOUNDARIES_FILE = "china31_boundaries.json"
Ring = tuple[tuple[float, float], ...]


def load_boundaries(path: str | Path | None = None) -> dict[str, tuple[tuple[Ring, ...], ...]]:
    """Province outlines: {region: polygons}, each polygon its rings (outer first, then holes),
    each ring closed (lon, lat) points in degrees. The shipped file (Natural Earth, see
    china31_boundaries.SOURCES.md) has the 31 regions of china31.csv; the map draws them."""
    if path is None:
        return _shipped_boundaries()
    return _boundaries(*_read(path, BOUNDARIES_FILE)[:2])


def province_outlines(names: Sequence[str]) -> list[Ring]:
    """The rings of the shipped outlines of regions `names` when every one of them is a shipped
    province; else none (a synthetic or plugin scenario's regions): the map never fails on them."""
    try:
        shapes = load_boundaries()
    except (ObservedDataError, OSError):  # a broken install draws the map without outlines
        return []
    if not len(names) or not set(names) <= shapes.keys():
        return []
    return [ring for n in names for poly in shapes[n] for ring in poly]


@functools.cache
def _shipped_boundaries() -> dict[str, tuple[tuple[Ring, ...], ...]]:
    return _boundaries(*_read(None, BOUNDARIES_FILE)[:2])


def _boundaries(label: str, text: str) -> dict[str, tuple[tuple[Ring, ...], ...]]:
    def unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [k for k, _ in pairs]
        for k in keys:
            if keys.count(k) > 1:
                raise ObservedDataError(label, k, "appears twice")
        return dict(pairs)

    try:
        doc = json.loads(text, object_pairs_hook=unique)
    except json.JSONDecodeError as e:
        raise ObservedDataError(label, f"line {e.lineno}", f"invalid JSON: {e.msg}") from None
    shapes = doc.get("regions") if isinstance(doc, dict) else None
    if not isinstance(shapes, dict) or not shapes:
        raise ObservedDataError(label, "regions", "missing: the file must be an object with a non-empty "
                                "'regions' object of {region: [polygon, ...]}")
    out = {}
    for name, polys in shapes.items():
        if not name.strip() or not name.isprintable():
            raise ObservedDataError(label, "regions", f"bad region name {name!r}")
        if not isinstance(polys, list) or not polys:
            raise ObservedDataError(label, f"regions.{name}", "not a non-empty list of polygons")
        out[name] = tuple(tuple(_ring(label, f"regions.{name}: polygon {i} ring {j}", ring)
                                for j, ring in enumerate(_list(label, f"regions.{name}: polygon {i}", poly)))
                          for i, poly in enumerate(polys))
    return out


def _list(label: str, fld: str, value: Any) -> list:
    if not isinstance(value, list) or not value:
        raise ObservedDataError(label, fld, "not a non-empty list")
    return value


def _ring(label: str, fld: str, ring: Any) -> Ring:
    pts = []
    for k, p in enumerate(_list(label, fld, ring)):
        if not (isinstance(p, list) and len(p) == 2 and all(isinstance(c, int | float) and not isinstance(c, bool)
                                                             and math.isfinite(c) for c in p)):
            raise ObservedDataError(label, f"{fld}: point {k}", f"not a pair of finite numbers: {str(p)[:40]}")
        lon, lat = float(p[0]), float(p[1])
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise ObservedDataError(label, f"{fld}: point {k}", f"({lon:g}, {lat:g}) is not a (lon, lat) in degrees")
        pts.append((lon, lat))
    if len(pts) < 4 or pts[0] != pts[-1]:
        raise ObservedDataError(label, fld, "not a closed ring of at least 4 points (the last point repeats the first)")
    return tuple(pts)
