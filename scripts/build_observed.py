"""Rebuild gsim's shipped observed-data CSVs from pinned public sources.

Not part of the package (nothing imports it); it documents and repeats the conversions that
src/gsim/data/*.SOURCES.md describe. Needs openpyxl for the SSP workbooks
(``pip install -e ".[data]"``); the package itself never reads xlsx.

    python scripts/build_observed.py PIK_GIT_DIR CENSUS_GIT_DIR WDI_GIT_DIR NBS_GIT_DIR GMD_RGDP_CSV [OUT_DIR]

Each *_GIT_DIR is a clone (a bare one will do) of, in order, pik-piam/PyPSA-China-PIK,
SSURRUS/population-census, fernando-duarte/china-data and
3112944976/National-Visualization-Web-Application; files are read with ``git show`` at the
pinned commits below, so the output does not depend on what is checked out. GMD_RGDP_CSV is
KMueller-Lab/Global-Macro-Database's data/distribute/rGDP_2025_06.csv at commit GMD_COMMIT
(the repository is too large to clone whole; the file, or its CHN rows with the header, will
do). OUT_DIR defaults to src/gsim/data next to this script.
"""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

PIK_COMMIT = "25c83bfb37bc7d81f3058d3f8271fa34383d63ee"
PIK_DIR = "resources/data/population/"
CENSUS_COMMIT = "2e8ee460154c6e3896cc2997f612cf71e28c8566"
CENSUS_FILE = "data/各地区15岁及以上人口平均受教育年限.csv"
WDI_COMMIT = "e1a1b2862277720b4230d700114bb184277157da"
WDI_FILE = "output/china_data_raw.md"
GMD_COMMIT = "e9c972cde066219ed3d45c636e48808683b50b6a"  # data/distribute/rGDP_2025_06.csv
NBS_COMMIT = "582d20bfb0dae6bb730230820cf3bd07475f7396"
NBS_DIR = "源数据/国家统计局分省年度数据/国民经济核算/"
NBS_EMPLOYMENT = "源数据/国家统计局年度数据/就业人员和工资/按三次产业分就业人员数.csv"
PROVINCIAL_YEARS = range(2005, 2020)

# source spelling -> china31.csv spelling; every other name is already spelled the same
SPELLING = {"Innermongolia": "Inner Mongolia", "InnerMongolia": "Inner Mongolia", "Innermonglia": "Inner Mongolia"}
SSPS = ("SSP1", "SSP2", "SSP3", "SSP4", "SSP5")
PANEL_YEARS = range(2005, 2025)
BACKCAST_YEAR = 2013


def git_show(git_dir: Path, commit: str, path: str) -> bytes:
    return subprocess.run(["git", "--git-dir", str(git_dir), "show", f"{commit}:{path}"],
                          check=True, capture_output=True).stdout


def dec(text: str) -> Decimal:
    return Decimal(text.strip())


def fmt(d: Decimal) -> str:
    """A decimal without exponent or trailing zeros: 4984.31, 21.86, 1000."""
    s = format(d.normalize(), "f")
    return s


def region_name(raw: str, known: list[str]) -> str:
    name = SPELLING.get(raw.strip(), raw.strip())
    if name not in known:
        raise SystemExit(f"unknown region spelling {raw!r}")
    return name


def read_china31(out: Path) -> list[dict[str, str]]:
    with (out / "china31.csv").open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def read_pik_table(pik: Path, name: str, regions: list[str]) -> dict[tuple[str, int], Decimal]:
    """historical_gdp.csv / historical_population.csv: a '#' comment line, then region,2024,...,2005."""
    text = git_show(pik, PIK_COMMIT, PIK_DIR + name).decode("utf-8")
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    rows = list(csv.reader(lines))
    years = [int(y) for y in rows[0][1:]]
    values = {}
    for row in rows[1:]:
        reg = region_name(row[0], regions)
        for y, v in zip(years, row[1:], strict=True):
            values[reg, y] = dec(v)
    assert len(values) == len(regions) * len(PANEL_YEARS), name
    return values


def build_panel(pik: Path, regions: list[str]) -> list[list[str]]:
    gdp = read_pik_table(pik, "historical_gdp.csv", regions)  # 100 million yuan
    pop = read_pik_table(pik, "historical_population.csv", regions)  # 10,000 persons
    out = [["region", "year", "gdp_bn_cny", "population_m"]]
    for r in regions:
        for y in PANEL_YEARS:
            out.append([r, str(y), fmt(gdp[r, y] / 10), fmt(pop[r, y] / 100)])
    return out


def read_ssp_book(pik: Path, name: str, regions: list[str]) -> dict[tuple[str, str, int], float]:
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(git_show(pik, PIK_COMMIT, PIK_DIR + name)), read_only=True, data_only=True)
    values: dict[tuple[str, str, int], float] = {}
    for ssp in SSPS:
        rows = list(book[ssp].iter_rows(values_only=True))
        header = rows[0]
        assert header[0] == "region", (name, ssp, header[0])
        # the year columns are the header's integers; cells right of them (a stray transposed
        # block in SSP4 of the population book) and rows without a region name are not data
        cols = [(j, int(v)) for j, v in enumerate(header) if isinstance(v, int)]
        for row in rows[1:]:
            if not isinstance(row[0], str):
                continue
            reg = region_name(row[0], regions)
            for j, y in cols:
                assert (ssp, reg, y) not in values
                values[ssp, reg, y] = float(row[j])
        assert {r for s, r, _ in values if s == ssp} == set(regions), (name, ssp)
    return values


def build_ssp(pik: Path, regions: list[str]) -> list[list[str]]:
    gdp = read_ssp_book(pik, "SSPs_GDP_Prov_v2.xlsx", regions)  # 100 million yuan (2020 base)
    pop = read_ssp_book(pik, "SSPs_POP_Prov_v2.xlsx", regions)  # persons
    years = sorted({y for _, _, y in gdp} | {y for _, _, y in pop})
    out = [["ssp", "region", "year", "gdp_bn_cny", "population_m"]]
    for ssp in SSPS:
        for r in regions:
            for y in years:
                g = gdp.get((ssp, r, y))
                p = pop.get((ssp, r, y))
                out.append([ssp, r, str(y), "" if g is None else f"{g / 10:.3f}", "" if p is None else f"{p / 1e6:.4f}"])
    return out


def census_schooling_2010(census: Path, china31: list[dict[str, str]]) -> dict[str, str]:
    text = git_show(census, CENSUS_COMMIT, CENSUS_FILE).decode("utf-8")
    rows = list(csv.reader(text.splitlines()))
    head = rows[1]
    col = head.index("2010年")
    out = {}
    for row in rows[2:]:
        zh = row[0].replace(" ", "").strip()
        if zh.startswith("全国"):
            continue
        match = [c["region"] for c in china31 if c["name_zh"].startswith(zh)]
        assert len(match) == 1, zh
        out[match[0]] = row[col].strip()
    assert set(out) == {c["region"] for c in china31}
    return out


def build_2013(panel: list[list[str]], schooling: dict[str, str], china31: list[dict[str, str]]) -> list[list[str]]:
    cols = list(china31[0].keys())
    by = {(r[0], r[1]): r for r in panel[1:]}
    out = [cols]
    for c in china31:
        row = dict(c)
        p = by[c["region"], str(BACKCAST_YEAR)]
        row.update(gdp_bn_cny=p[2], population_m=p[3], schooling_years=schooling[c["region"]],
                   gdp_year=str(BACKCAST_YEAR), population_year=str(BACKCAST_YEAR))
        out.append([row[k] for k in cols])
    return out


def gmd_real_gdp(path: Path) -> dict[int, Decimal]:
    """China's real GDP from the Global Macro Database (column rGDP: million CNY at constant
    2015 prices, chain-linked; its source column says which series each year comes from)."""
    with path.open(encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["ISO3"] == "CHN"]
    out = {}
    for r in rows:
        y = int(r["year"])
        if y in PANEL_YEARS:
            assert y not in out and r["rGDP"], y
            out[y] = dec(r["rGDP"])
    assert sorted(out) == list(PANEL_YEARS)
    return out


def nbs_employment(nbs: Path) -> dict[int, Decimal]:
    """National employment (就业人员, 10,000 persons) from the NBS copy, by year."""
    text = git_show(nbs, NBS_COMMIT, NBS_EMPLOYMENT).decode("utf-8")
    return {int(r["年份"]): dec(r["就业人员"]) for r in csv.DictReader(io.StringIO(text)) if r["就业人员"].strip()}


def build_national(wdi: Path, gmd_csv: Path, nbs: Path) -> list[list[str]]:
    """Real GDP (GMD), employment (NBS), investment share (gross capital formation / GDP, both
    current US$, WDI NE.GDI.TOTL.CD and NY.GDP.MKTP.CD) and labour force (WDI SL.TLF.TOTL.IN),
    the last two from a markdown table of WDI values."""
    text = git_show(wdi, WDI_COMMIT, WDI_FILE).decode("utf-8")
    header: list[str] = []
    rows: dict[int, dict[str, str]] = {}
    for ln in text.splitlines():
        if not ln.startswith("|"):
            continue
        cells = [c.strip() for c in ln.strip().strip("|").split("|")]
        if cells[0] == "Year":
            header = cells
        elif cells[0].isdigit():
            rec = dict(zip(header, cells, strict=True))
            assert int(cells[0]) not in rows
            rows[int(cells[0])] = rec
    real = gmd_real_gdp(gmd_csv)
    employment = nbs_employment(nbs)
    out = [["year", "real_gdp_bn_cny_2015", "investment_share", "labour_force_m", "employment_m"]]
    for y in PANEL_YEARS:
        rec = rows[y]
        inv, gdp, lf = rec["Investment (USD)"], rec["GDP (USD)"], rec["Labor Force"]
        share = "" if "N/A" in (inv, gdp) else f"{dec(inv) / dec(gdp):.4f}"
        labour = "" if lf == "N/A" else fmt(dec(lf.replace(",", "")) / 1_000_000)
        emp = fmt(employment[y] / 100) if y in employment else ""
        out.append([str(y), fmt(real[y] / 1000), share, labour, emp])
    return out


def nbs_table(nbs: Path, name: str, china31: list[dict[str, str]]) -> dict[tuple[str, int], dict[str, str]]:
    """An NBS provincial table (省份编码,省份,年份,...) keyed by (china31 region, year)."""
    by_zh = {c["name_zh"]: c["region"] for c in china31}
    text = git_show(nbs, NBS_COMMIT, NBS_DIR + name).decode("utf-8")
    out = {}
    for r in csv.DictReader(io.StringIO(text)):
        key = (by_zh[r["省份"].strip()], int(r["年份"]))
        assert key not in out, key
        out[key] = r
    return out


def build_provincial(nbs: Path, china31: list[dict[str, str]]) -> list[list[str]]:
    """Provincial real GDP index (previous year = 100) and capital formation / GDP
    (expenditure approach, both in the same table)."""
    idx = nbs_table(nbs, "地区生产总值指数.csv", china31)
    exp = nbs_table(nbs, "支出法地区生产总值.csv", china31)
    out = [["region", "year", "gdp_index_prev_year_100", "investment_share"]]
    for c in china31:
        for y in PROVINCIAL_YEARS:
            index = idx[c["region"], y]["地区生产总值指数(上年=100)"].strip()
            e = exp[c["region"], y]
            gcf, total = e["资本形成总额(亿元)"].strip(), e["支出法生产总值(亿元)"].strip()
            assert index, (c["region"], y)
            share = f"{dec(gcf) / dec(total):.4f}" if gcf and total else ""
            out.append([c["region"], str(y), fmt(dec(index)), share])
    return out


def write(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)
    print(f"{path}: {len(rows) - 1} rows, {path.stat().st_size} bytes")


def main(argv: list[str]) -> None:
    if len(argv) not in (5, 6):
        raise SystemExit(__doc__)
    pik, census, wdi, nbs, gmd = (Path(a) for a in argv[:5])
    out = Path(argv[5]) if len(argv) == 6 else Path(__file__).resolve().parents[1] / "src" / "gsim" / "data"
    china31 = read_china31(out)
    regions = [c["region"] for c in china31]
    panel = build_panel(pik, regions)
    write(out / "china31_panel.csv", panel)
    write(out / "china31_ssp.csv", build_ssp(pik, regions))
    write(out / "china31_2013.csv", build_2013(panel, census_schooling_2010(census, china31), china31))
    write(out / "china_national.csv", build_national(wdi, gmd, nbs))
    write(out / "china31_provincial.csv", build_provincial(nbs, china31))


if __name__ == "__main__":
    main(sys.argv[1:])
