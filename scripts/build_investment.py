"""Build src/gsim/data/china31_investment.csv: each province's gross fixed capital formation
(GFCF) / GDP and its ratio to the GDP-weighted national mean, s_r (the experimental GTM-2
mechanism "provincial investment rates", docs/model.md). Prints the table and the checks
that china31_investment.SOURCES.md quotes.

Not part of the package (nothing imports it). Needs openpyxl (``pip install -e ".[data]"``).

    python scripts/build_investment.py CAPITALSTOCK_GIT_DIR NBS_GIT_DIR [OUT_DIR]

CAPITALSTOCK_GIT_DIR is a clone (a bare one will do) of common2016/CapitalStock, NBS_GIT_DIR
one of 3112944976/National-Visualization-Web-Application; files are read with ``git show`` at
the pinned commits below.
"""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import openpyxl

CS_COMMIT = "35640d3890bc7aa01a4a4ebd9facef6702bb153b"
CS_FILE = "data-raw/src_data/固定资本形成总额2018.xlsx"
NBS_COMMIT = "582d20bfb0dae6bb730230820cf3bd07475f7396"
NBS_FILE = "源数据/国家统计局分省年度数据/国民经济核算/支出法地区生产总值.csv"
YEARS = (2013, 2017)
DATA = Path(__file__).resolve().parents[1] / "src" / "gsim" / "data"


def git_show(repo: Path, commit: str, path: str) -> bytes:
    return subprocess.run(["git", "-C", str(repo), "show", f"{commit}:{path}"], check=True,
                          capture_output=True).stdout


def dec(x: object) -> Decimal:
    return Decimal(str(x).strip())


def china31() -> list[dict[str, str]]:
    with (DATA / "china31.csv").open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def capitalstock_gfcf(repo: Path, regions: list[dict[str, str]]) -> dict[tuple[str, int], Decimal]:
    """GFCF (100 million yuan, current prices) by (region, year) from the workbook, whose
    columns are headed '北京:资本形成总额:固定资本形成总额' (short Chinese names)."""
    wb = openpyxl.load_workbook(io.BytesIO(git_show(repo, CS_COMMIT, CS_FILE)), data_only=True)
    ws = wb.worksheets[0]
    rows = list(ws.iter_rows(values_only=True))
    short = {c["name_zh"][:2] if not c["name_zh"].startswith(("内蒙古", "黑龙江")) else c["name_zh"][:3]: c["region"]
             for c in regions}
    cols = {}
    for j, head in enumerate(rows[0][1:], start=1):
        name = str(head).split(":")[0]
        cols[short[name]] = j
    assert len(cols) == 31, sorted(cols)
    out = {}
    for row in rows[1:]:
        year = row[0].year
        for region, j in cols.items():
            if row[j] is not None:
                out[region, year] = dec(row[j])
    return out


def nbs_expenditure(repo: Path, regions: list[dict[str, str]]) -> dict[tuple[str, int], dict[str, str]]:
    by_zh = {c["name_zh"]: c["region"] for c in regions}
    text = git_show(repo, NBS_COMMIT, NBS_FILE).decode("utf-8")
    return {(by_zh[r["省份"].strip()], int(r["年份"])): r for r in csv.DictReader(io.StringIO(text))}


def panel_gdp() -> dict[tuple[str, int], Decimal]:
    with (DATA / "china31_panel.csv").open(encoding="utf-8") as f:
        return {(r["region"], int(r["year"])): dec(r["gdp_bn_cny"]) * 10 for r in csv.DictReader(f)}  # 100m yuan


def national_share() -> dict[int, Decimal]:
    with (DATA / "china_national.csv").open(encoding="utf-8") as f:
        return {int(r["year"]): dec(r["investment_share"]) for r in csv.DictReader(f) if r["investment_share"]}


def main(argv: list[str]) -> None:
    if len(argv) not in (2, 3):
        raise SystemExit(__doc__)
    cs, nbs = Path(argv[0]), Path(argv[1])
    out = Path(argv[2]) if len(argv) == 3 else DATA
    regions = china31()
    gfcf, exp, panel, nat = capitalstock_gfcf(cs, regions), nbs_expenditure(nbs, regions), panel_gdp(), national_share()
    names = [c["region"] for c in regions]
    table = {}
    for y in YEARS:
        for r in names:
            e = exp[r, y]
            if dec(e["固定资本形成总额(亿元)"]) != gfcf[r, y]:
                print(f"differ: {r} {y} CapitalStock {gfcf[r, y]} NBS copy {e['固定资本形成总额(亿元)']}")
            table[r, y] = (gfcf[r, y], dec(e["支出法生产总值(亿元)"]), panel[r, y])
        g = sum(table[r, y][0] for r in names)
        ge = sum(table[r, y][1] for r in names)
        gp = sum(table[r, y][2] for r in names)
        print(f"{y}: sum GFCF {g / 10:.1f} bn CNY; / sum expenditure GDP {g / ge:.4f}; / sum panel GDP {g / gp:.4f}; "
              f"sum expenditure GDP / sum panel GDP {ge / gp:.4f}; national GCF share (WDI) {nat[y]}")
    rows = [["region", "year", "gfcf_bn_cny", "gdp_expenditure_bn_cny", "gfcf_share", "relative_rate"]]
    for y in YEARS:
        mean = sum(table[r, y][0] for r in names) / sum(table[r, y][1] for r in names)
        mean_p = sum(table[r, y][0] for r in names) / sum(table[r, y][2] for r in names)
        print(f"\n{y}: GFCF / GDP (expenditure GDP, same table), s_r = share / GDP-weighted mean {mean:.4f};"
              f" panel-GDP basis for comparison (mean {mean_p:.4f})")
        for r in sorted(names, key=lambda r: table[r, y][0] / table[r, y][1]):
            f, e, p = table[r, y]
            print(f"  {r:15s} {f / e:.3f}  s_r {f / e / mean:.3f}   panel basis {f / p:.3f} s_r {f / p / mean_p:.3f}"
                  f"  exp/panel GDP {e / p:.3f}")
        for r in names:
            f, e, _ = table[r, y]
            rows.append([r, str(y), f"{f / 10}", f"{e / 10}", f"{f / e:.4f}", f"{f / e / mean:.4f}"])
    path = out / "china31_investment.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    print(f"\n{path}: {len(rows) - 1} rows")


if __name__ == "__main__":
    main(sys.argv[1:])
