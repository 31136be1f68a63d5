"""Observed data (gsim.observed): the shipped panel, SSP projections and national series
against published figures, and one-line errors for every kind of bad file."""

from __future__ import annotations

import csv
import hashlib
import io
import math
import tempfile
from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gsim import observed
from gsim.observed import ObservedDataError, load_national, load_panel, load_provincial, load_ssp

DATA = files("gsim").joinpath("data")

# Published national figures, quoted with their sources in the *.SOURCES.md files.
# National GDP, bn CNY at current prices: Global Macro Database, data/distribute/deflator_2025_06.csv,
# column nGDP for CHN (million CNY) / 1000 (china31_panel.SOURCES.md, "Checks run").
NATIONAL_GDP = {2005: 18731.890, 2013: 59296.320, 2019: 98651.520, 2020: 101356.704, 2023: 126058.208}
# National year-end population, 10,000 persons: PyPSA-China-PIK,
# resources/data/population/population_from_national_data.csv, row "National Total" (china31_panel.SOURCES.md).
NATIONAL_POP = {2015: 138326, 2016: 139232, 2017: 140011, 2018: 140541, 2019: 141008, 2020: 141212,
                2021: 141260, 2022: 141175}
# Real GDP, the World Bank WDI column (NY.GDP.MKTP.KN, constant LCU) of the same GMD rGDP file
# (china_national.SOURCES.md): an independent check of the shipped real series' growth.
WDI_REAL = {2013: 52480312.20998805, 2023: 93702933.49600574}
# National real GDP index, previous year = 100, NBS annual data as mirrored in
# 3112944976/National-Visualization-Web-Application (china31_provincial.SOURCES.md).
NBS_GDP_INDEX = {2006: 112.720955665361, 2013: 107.766150097688, 2019: 106.0}


def _china31() -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(DATA.joinpath("china31.csv").read_text(encoding="utf-8"))))


def _shipped_rows(name: str) -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(io.StringIO(DATA.joinpath(name).read_text(encoding="utf-8"))))
    return rows[0], rows[1:]


def _write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows([header, *rows])
    return path


def _error(loader, path: Path) -> ObservedDataError:
    with pytest.raises(ObservedDataError) as exc:
        loader(path)
    err = exc.value
    msg = str(err)
    assert isinstance(err, ValueError)
    assert "\n" not in msg and msg.startswith(f"{path}: "), msg
    return err


# ----------------------------------------------------------------------------------------
# the shipped files


def test_regions_in_china31_order():
    assert observed.regions() == tuple(r["region"] for r in _china31())


def test_panel_layout_units_and_provenance():
    ds = load_panel()
    assert ds.gdp.dims == ("year", "region") and ds.population.dims == ("year", "region")
    assert ds.year.values.tolist() == list(range(2005, 2025))
    assert ds.region.values.tolist() == [r["region"] for r in _china31()]
    assert "bn CNY" in ds.gdp.attrs["units"] and "million" in ds.population.attrs["units"]
    assert ds.attrs["sha256"] == hashlib.sha256(DATA.joinpath("china31_panel.csv").read_bytes()).hexdigest()
    assert ds.attrs["source_file"] == "china31_panel.csv"
    assert bool(np.isfinite(ds.gdp).all()) and bool((ds.gdp > 0).all())


def test_panel_2023_equals_china31():
    """china31.csv took its 2023 columns from the same source files: the panel repeats them."""
    ds = load_panel().sel(year=2023)
    for row in _china31():
        r = ds.sel(region=row["region"])
        assert float(r.gdp) == pytest.approx(float(row["gdp_bn_cny"]), abs=1e-9)
        assert float(r.population) == pytest.approx(float(row["population_m"]), abs=1e-9)


@pytest.mark.parametrize("year", sorted(NATIONAL_GDP))
def test_provincial_gdp_sums_near_the_national_figure(year):
    """Provincial sums differ from the national accounts by the documented < 1 % (above the
    national figure in 2005–2017, below it in 2018–2023; china31_panel.SOURCES.md)."""
    total = float(load_panel().gdp.sel(year=year).sum())
    assert abs(total / NATIONAL_GDP[year] - 1) < 0.01


@pytest.mark.parametrize("year", sorted(NATIONAL_POP))
def test_provincial_population_sums_short_by_the_military(year):
    """The national total counts about 2 million active-duty military personnel that no province
    does (china31.SOURCES.md); the documented shortfall is 1.9–2.4 million."""
    short = NATIONAL_POP[year] / 100 - float(load_panel().population.sel(year=year).sum())
    assert 1.9 < short < 2.4


def test_backcast_file_matches_china31_format_and_panel():
    header, rows = _shipped_rows("china31_2013.csv")
    c31 = _china31()
    assert header == list(c31[0].keys())
    panel = load_panel().sel(year=2013)
    for row, base in zip(rows, c31, strict=True):
        rec = dict(zip(header, row, strict=True))
        for col in ("region", "name_zh", "macro_region", "lat", "lon"):
            assert rec[col] == base[col]
        assert rec["gdp_year"] == rec["population_year"] == "2013"
        assert float(rec["gdp_bn_cny"]) == pytest.approx(float(panel.gdp.sel(region=rec["region"])), abs=1e-9)
        assert float(rec["population_m"]) == pytest.approx(float(panel.population.sel(region=rec["region"])), abs=1e-9)
        # schooling from the 2010 census: lower than the 2020 census in every province
        assert 4 < float(rec["schooling_years"]) < float(base["schooling_years"])


def test_backcast_file_loads_as_a_scenario_regions_file(tmp_path):
    from gsim.scenario import load_scenario

    src = DATA.joinpath("china31_2013.csv").read_text(encoding="utf-8")
    (tmp_path / "regions.csv").write_text(src, encoding="utf-8")
    (tmp_path / "s.toml").write_text('[scenario]\nregions = "regions.csv"\n', encoding="utf-8")
    sc = load_scenario(tmp_path / "s.toml")
    assert sc.regions.name == observed.regions()
    assert np.allclose(sc.regions.gdp, load_panel().gdp.sel(year=2013).values)


def test_ssp_layout_and_totals():
    ds = load_ssp()
    assert ds.gdp.dims == ("ssp", "year", "region")
    assert ds.ssp.values.tolist() == ["SSP1", "SSP2", "SSP3", "SSP4", "SSP5"]
    assert ds.year.values[0] == 2020 and ds.year.values[-1] == 2100
    total = ds.sum("region", min_count=31)
    ratio = (total.gdp.sel(year=2050) / total.gdp.sel(year=2023)).values
    assert np.all((ratio > 1.5) & (ratio < 3.5))
    assert ratio.argmin() == 2 and ratio.argmax() == 4  # SSP3 lowest, SSP5 highest
    # population is given every 5 years; 2020 is the 2020 census, close to the panel's year-end 2020
    assert np.isnan(total.population.sel(year=2023)).all()
    census = total.population.sel(year=2020).values
    assert np.allclose(census, float(load_panel().population.sel(year=2020).sum()), rtol=1e-3)
    assert 0.85 < float(total.population.sel(ssp="SSP2", year=2050) / total.population.sel(ssp="SSP2", year=2020)) < 1.0


def test_ssp_2020_gdp_is_close_to_the_nbs_2020_values():
    """The SSP files' base year: every province's 2020 value within 1.5 % of the NBS panel."""
    ssp = load_ssp().gdp.sel(year=2020)
    nbs = load_panel().gdp.sel(year=2020)
    assert float(abs(ssp / nbs - 1).max()) < 0.015


def test_national_real_growth_matches_the_wdi_column():
    nat = load_national()
    assert nat.real_gdp.dims == ("year",) and nat.year.values.tolist() == list(range(2005, 2025))
    ours = float(nat.real_gdp.sel(year=2023) / nat.real_gdp.sel(year=2013))
    assert ours == pytest.approx(WDI_REAL[2023] / WDI_REAL[2013], rel=1e-3)
    assert math.isnan(float(nat.investment_share.sel(year=2024)))
    employed = ~np.isnan(nat.employment)
    assert nat.year.values[employed.values].tolist() == list(range(2005, 2020))
    assert 700 < float(nat.employment.sel(year=2013)) < float(load_panel().population.sel(year=2013).sum())
    assert 0.3 < float(nat.investment_share.sel(year=2013)) < 0.5


@pytest.mark.parametrize("name", ["china31_panel", "china31_ssp", "china_national", "china31_2013", "china31_provincial"])
def test_shipped_with_the_package(name):
    """pyproject's package-data patterns take each CSV and its SOURCES file into the wheel."""
    import fnmatch
    import tomllib

    pyproject = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = pyproject["tool"]["setuptools"]["package-data"]["gsim"]
    for fname in (f"{name}.csv", f"{name}.SOURCES.md"):
        assert DATA.joinpath(fname).is_file()
        assert any(fnmatch.fnmatch(f"data/{fname}", pat) for pat in patterns), fname


def test_docs_data_md_prints_what_it_shows(capsys):
    """docs/data.md shows each snippet's output: the numbers there are the ones computed here."""
    import re

    text = (Path(__file__).resolve().parents[1] / "docs" / "data.md").read_text(encoding="utf-8")
    pairs = re.findall(r"```python\n(.*?)```\s*prints\s*```text\n(.*?)```", text, re.S)
    assert len(pairs) == 2
    namespace: dict = {}
    for code, shown in pairs:
        capsys.readouterr()
        exec(code, namespace)
        assert capsys.readouterr().out == shown


def test_national_growth_matches_the_nbs_index():
    real = load_national().real_gdp
    for year, index in NBS_GDP_INDEX.items():
        ours = float(real.sel(year=year) / real.sel(year=year - 1))
        assert 100 * ours == pytest.approx(index, abs=0.06)


def test_provincial_growth_and_investment():
    prov = load_provincial()
    assert prov.gdp_index.dims == ("year", "region") and prov.year.values.tolist() == list(range(2005, 2020))
    assert prov.region.values.tolist() == list(observed.regions())
    given = ~np.isnan(prov.investment_share).any("region")
    assert prov.year.values[given.values].tolist() == list(range(2005, 2018))
    assert bool(np.isnan(prov.investment_share.sel(year=[2018, 2019])).all())
    # the GDP-weighted provincial growth exceeds the national growth by at most ~2 points
    # (documented: -0.35 to +2.06 percentage points, 2006-2019)
    weights = load_panel().gdp.shift(year=1).sel(year=slice(2006, 2019))
    weighted = (prov.gdp_index.sel(year=slice(2006, 2019)) * weights).sum("region") / weights.sum("region")
    real = load_national().real_gdp
    national = 100 * real / real.shift(year=1)
    gap = (weighted - national.sel(year=slice(2006, 2019))).values
    assert np.all((gap > -0.5) & (gap < 2.5))
    # implied provincial deflators (panel nominal growth / real index) stay plausible
    nominal = (load_panel().gdp / load_panel().gdp.shift(year=1)).sel(year=slice(2006, 2019))
    deflator = nominal / (prov.gdp_index.sel(year=slice(2006, 2019)) / 100) - 1
    assert float(deflator.min()) > -0.15 and float(deflator.max()) < 0.25


# ----------------------------------------------------------------------------------------
# bad files: one line naming file, field and row


def _panel_file(tmp_path: Path, edit) -> Path:
    header, rows = _shipped_rows("china31_panel.csv")
    return _write(tmp_path / "panel.csv", header, edit(rows))


def _line_of(rows: list[list[str]], region: str, year: str) -> int:
    """The 1-based file line of a row (the header is line 1)."""
    return next(i for i, r in enumerate(rows) if r[0] == region and r[1] == year) + 2


def test_missing_province(tmp_path):
    err = _error(load_panel, _panel_file(tmp_path, lambda rows: [r for r in rows if r[0] != "Hebei"]))
    assert err.field == "region" and "Hebei has no rows" in str(err)


def test_missing_year_of_one_province(tmp_path):
    err = _error(load_panel, _panel_file(tmp_path, lambda rows: [r for r in rows if r[:2] != ["Hebei", "2013"]]))
    assert err.field == "year" and "Hebei 2013" in str(err)


def test_missing_year_of_all(tmp_path):
    err = _error(load_panel, _panel_file(tmp_path, lambda rows: [r for r in rows if r[1] != "2010"]))
    assert err.field == "year" and "2010" in str(err)


def test_duplicate_row(tmp_path):
    def dup(rows):
        return [*rows, rows[5]]

    header, rows = _shipped_rows("china31_panel.csv")
    err = _error(load_panel, _panel_file(tmp_path, dup))
    assert err.field == f"line {len(rows) + 2}: region" and f"first on line {5 + 2}" in str(err)


@pytest.mark.parametrize(("cell", "reason"), [
    ("abc", "not a number"), ("", "missing value"), ("-12.5", "negative"), ("0", "zero"),
    ("nan", "not a number"), ("1e999", "not a finite number"), ("1_000", "not a number"),
])
@pytest.mark.parametrize("col", [2, 3])
def test_bad_value(tmp_path, cell, reason, col):
    header, rows = _shipped_rows("china31_panel.csv")
    line = _line_of(rows, "Jilin", "2017")

    def edit(rows):
        rows[line - 2][col] = cell
        return rows

    err = _error(load_panel, _panel_file(tmp_path, edit))
    assert err.field == f"line {line}: {header[col]}" and reason in err.reason


@pytest.mark.parametrize(("col", "factor"), [(2, 1e4), (2, 1e-4), (2, 1e8), (3, 1e4), (3, 1e-4)])
def test_unit_mix_up(tmp_path, col, factor):
    """GDP in 10^4 or 10^8 yuan, population in persons or 10^4 persons: the national sums leave
    their plausible band."""
    header, rows = _shipped_rows("china31_panel.csv")

    def edit(rows):
        for r in rows:
            r[col] = repr(float(r[col]) * factor)
        return rows

    err = _error(load_panel, _panel_file(tmp_path, edit))
    assert err.field == header[col] and "national sum for 2005" in err.reason and "unit" in err.reason


def test_unknown_region_spelling(tmp_path):
    header, rows = _shipped_rows("china31_panel.csv")
    line = _line_of(rows, "Inner Mongolia", "2005")

    def edit(rows):
        for r in rows:
            r[0] = "Innermongolia" if r[0] == "Inner Mongolia" else r[0]
        return rows

    err = _error(load_panel, _panel_file(tmp_path, edit))
    assert err.field == f"line {line}: region" and "Innermongolia" in err.reason


@pytest.mark.parametrize("year", ["13", "20x3", "1800", ""])
def test_bad_year(tmp_path, year):
    header, rows = _shipped_rows("china31_panel.csv")

    def edit(rows):
        rows[0][1] = year
        return rows

    assert _error(load_panel, _panel_file(tmp_path, edit)).field == "line 2: year"


def test_header_and_shape_errors(tmp_path):
    header, rows = _shipped_rows("china31_panel.csv")
    p = _write(tmp_path / "a.csv", header[:3], [r[:3] for r in rows])
    assert "missing column 'population_m'" in str(_error(load_panel, p))
    p = _write(tmp_path / "b.csv", [*header, "gdp_ppp"], [[*r, "1"] for r in rows])
    assert "unknown column 'gdp_ppp'" in str(_error(load_panel, p))
    p = _write(tmp_path / "c.csv", [*header[:3], "gdp_bn_cny"], rows)
    assert "appears twice" in str(_error(load_panel, p))
    p = _write(tmp_path / "d.csv", header, [rows[0], rows[1][:3], *rows[2:]])
    assert _error(load_panel, p).field == "line 3"
    (tmp_path / "e.csv").write_text("", encoding="utf-8")
    assert _error(load_panel, tmp_path / "e.csv").field == "header"
    (tmp_path / "f.csv").write_text(",".join(header) + "\n", encoding="utf-8")
    assert _error(load_panel, tmp_path / "f.csv").field == "rows"


def test_error_pickles():
    import pickle

    err = pickle.loads(pickle.dumps(ObservedDataError("f.csv", "line 3: year", "not a year")))
    assert str(err) == "f.csv: line 3: year: not a year"
    assert (err.file, err.field, err.reason) == ("f.csv", "line 3: year", "not a year")


def test_file_errors(tmp_path, monkeypatch):
    assert "no such file" in str(_error(load_panel, tmp_path / "missing.csv"))
    assert "directory" in str(_error(load_panel, tmp_path))
    (tmp_path / "latin1.csv").write_bytes("region,year\nBeijing\xe9,2005\n".encode("latin-1"))
    assert "not UTF-8" in str(_error(load_panel, tmp_path / "latin1.csv"))
    big = _panel_file(tmp_path, lambda rows: rows)
    monkeypatch.setattr(observed, "MAX_FILE_BYTES", 1000)
    err = _error(load_panel, big)
    assert err.field == "file" and "MAX_FILE_BYTES" in err.reason


def test_ssp_missing_value_and_label(tmp_path):
    header, rows = _shipped_rows("china31_ssp.csv")
    line = next(i for i, r in enumerate(rows) if r[:3] == ["SSP3", "Gansu", "2050"]) + 2
    rows[line - 2][4] = ""
    err = _error(load_ssp, _write(tmp_path / "s.csv", header, rows))
    assert err.field == f"line {line}: population_m" and "missing value" in err.reason
    header, rows = _shipped_rows("china31_ssp.csv")
    rows[0][0] = "SSP6"
    assert _error(load_ssp, _write(tmp_path / "t.csv", header, rows)).field == "line 2: ssp"
    header, rows = _shipped_rows("china31_ssp.csv")
    rows = [r for r in rows if not (r[0] == "SSP2" and r[1] == "Tibet")]
    assert "Tibet has no rows" in str(_error(load_ssp, _write(tmp_path / "u.csv", header, rows)))


def test_provincial_growth_given_in_percent(tmp_path):
    header, rows = _shipped_rows("china31_provincial.csv")
    rows[3][2] = "7.7"
    err = _error(load_provincial, _write(tmp_path / "p.csv", header, rows))
    assert err.field == "line 5: gdp_index_prev_year_100" and "unit" in err.reason
    header, rows = _shipped_rows("china31_provincial.csv")
    line = _line_of(rows, "Gansu", "2013")
    rows[line - 2][3] = ""
    err = _error(load_provincial, _write(tmp_path / "q.csv", header, rows))
    assert err.field == f"line {line}: investment_share" and "missing value" in err.reason


def test_national_percent_instead_of_share(tmp_path):
    header, rows = _shipped_rows("china_national.csv")
    col = header.index("investment_share")
    rows[8][col] = "46.4"
    err = _error(load_national, _write(tmp_path / "n.csv", header, rows))
    assert err.field == "line 10: investment_share" and "unit" in err.reason


def test_national_file_may_hold_fewer_series(tmp_path):
    header, rows = _shipped_rows("china_national.csv")
    keep = [header.index("year"), header.index("labour_force_m")]
    ds = load_national(_write(tmp_path / "n.csv", [header[i] for i in keep], [[r[i] for i in keep] for r in rows]))
    assert list(ds.data_vars) == ["labour_force"]


# ----------------------------------------------------------------------------------------
# fuzz: any text is loaded or refused with an ObservedDataError, never another exception

_CELLS = st.one_of(
    st.sampled_from(["region", "year", "gdp_bn_cny", "population_m", "ssp", "SSP2", "Beijing", "Tibet",
                     "real_gdp_bn_cny_2015", "investment_share", "labour_force_m", "gdp_index_prev_year_100",
                     "employment_m", "2005", "2023", "nan", "-1", "1e400", "", '"', "0.4", "107.7"]),
    st.text(max_size=8),
    st.floats(allow_nan=True).map(repr),
)
_CSV_TEXT = st.lists(st.lists(_CELLS, max_size=6).map(",".join), max_size=12).map("\n".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.one_of(st.text(max_size=300), _CSV_TEXT),
       loader=st.sampled_from([load_panel, load_ssp, load_national, load_provincial]))
def test_fuzz_only_documented_errors(text, loader):
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "x.csv"
        p.write_bytes(text.encode("utf-8", "surrogatepass"))
        try:
            loader(p)
        except ObservedDataError as e:
            assert "\n" not in str(e) and str(e).startswith(f"{p}: ")
