"""`gsim sensitivity` and `gsim discover`: readable output within 100 columns, one-line errors
with exit code 2, and the store left untouched."""

from __future__ import annotations

import hashlib
import re

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from synthetic import synthetic_store
from test_discovery import UNC, outputs
from test_sensitivity import ISHIGAMI, ishigami_outputs

from gsim.cli import main
from gsim.model.layout import label
from gsim.sweeps import store as st


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    salt = synthetic_store(d / "salt.zarr", ISHIGAMI, ishigami_outputs, sampler="saltelli", samples=64)
    def status(samples, pol):  # 3 samples fail under gradient
        return np.where((samples % 100 == 7) & (pol == "gradient"), st.STATUS_FAILED, st.STATUS_OK).astype(np.int8)

    lhs = synthetic_store(d / "lhs.zarr", ISHIGAMI, ishigami_outputs, sampler="lhs", samples=300, status=status)
    planted = synthetic_store(d / "planted.zarr", UNC, outputs, sampler="lhs", samples=500, save="regions")
    return salt, lhs, planted


def digest(path) -> str:
    """Every file of a store, names and bytes."""
    h = hashlib.sha256()
    for f in sorted(p for p in path.rglob("*") if p.is_file()):
        h.update(str(f.relative_to(path)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def assert_fits(text: str) -> None:
    """Within 80 columns, the width when the terminal's is unknown (as under CliRunner)."""
    assert text.strip() and max(len(line) for line in text.splitlines()) <= 80


def test_sensitivity_sobol_table_and_csv(stores, tmp_path):
    salt = stores[0]
    before = digest(salt)
    res = run("sensitivity", salt, "-i", "real_gdp", "--contrast", "gradient-market", "--years", "all",
              "--csv", tmp_path / "s.csv")
    assert res.exit_code == 0, res.output
    assert_fits(res.stdout)
    lines = res.stdout.splitlines()
    assert lines[0] == "real_gdp (national real GDP at base-year prices, bn CNY/yr): gradient - market"
    assert "N = 64 x (4 inputs + 2) = 384 samples" in lines[1]
    header = next(i for i, ln in enumerate(lines) if ln.startswith("input"))
    assert lines[header].split() == ["input"] + ["S1", "ST"] * 2  # 2 years fit in 80 columns
    assert lines[header - 1].split() == ["2023", "2024"]
    last_block = [i for i, ln in enumerate(lines) if ln.startswith("input")][-1]
    assert lines[last_block].split() == ["input", "S1", "ST"] and lines[last_block - 1].split() == ["2025"]
    csv = pd.read_csv(tmp_path / "s.csv")
    assert len(csv) == 4 * 3 and {"input", "time", "S1", "S1_conf", "ST", "ST_conf"} <= set(csv.columns)
    last = csv[csv["time"] == 2025].sort_values("ST", ascending=False)
    rows = [ln for ln in lines[last_block + 1:] if "±" in ln][:4]  # a row's first line has its numbers
    names = [re.split(r"\s{2,}", ln.strip())[0] for ln in rows]  # (a long label wraps after it)
    assert all(label(n).startswith(m) for n, m in zip(last["input"], names))  # most influential first
    assert [r.split()[-2] for r in rows] == [f"{v:.2f}" for v in last["ST"]]
    assert digest(salt) == before  # nothing written into the store


def test_sensitivity_pawn_per_policy(stores):
    lhs = stores[1]
    res = run("sensitivity", lhs, "-i", "real_gdp", "--policies", "gradient", "--years", "2024,2025",
              "--resamples", "5")
    assert res.exit_code == 0, res.output
    assert_fits(res.stdout)
    assert "under gradient, 297 of 300 samples used (the others have a run that is not ok):" in res.stdout
    assert "(dummy)" in res.stdout and "under market" not in res.stdout


def test_discover_boxes_and_csv(stores, tmp_path):
    planted = stores[2]
    before = digest(planted)
    res = run("discover", planted, "-c", "real_gdp:gradient-market", "--csv", tmp_path / "b.csv")
    assert res.exit_code == 0, res.output
    assert_fits(res.stdout)
    assert res.stdout.startswith("condition real_gdp:gradient-market at 2025\nholds in ")
    assert "box 1: coverage" in res.stdout and "box 2" not in res.stdout
    boxes = pd.read_csv(tmp_path / "b.csv")
    assert (boxes["box"] == 1).all() and sorted(boxes["input"]) == ["ell_F", "kappa"]
    for r in boxes.itertuples():  # each restricted input's line (its label) shows its range in the box
        assert any(ln.startswith("  ") and label(r.input).startswith(re.split(r"\s{2,}", ln.strip())[0])
                   and f"{r.low:.4g} .. {r.high:.4g}" in ln for ln in res.stdout.splitlines())
    assert "readiness steepness (κ)" in res.stdout
    assert digest(planted) == before
    none = run("discover", planted, "-c", "real_gdp:gradient-market>1000")
    assert none.exit_code == 0 and "no boxes: it never holds" in none.stdout


@pytest.mark.parametrize("args,message", [
    (["sensitivity", "{lhs}x", "-i", "real_gdp"], "no such store"),
    (["sensitivity", "{lhs}", "-i", "gdpp"], "unknown indicator 'gdpp'"),
    (["sensitivity", "{lhs}", "-i", "real_gdp", "--contrast", "gradient-nope"], "unknown policy 'nope'"),
    (["sensitivity", "{lhs}", "-i", "real_gdp", "--years", "2040"], "year 2040 is not a saved time"),
    (["sensitivity", "{lhs}", "-i", "real_gdp", "--years", "soon"], "--years: expected numbers"),
    (["sensitivity", "{lhs}", "-i", "real_gdp", "--method", "sobol"], "need a store written with --sampler saltelli"),
    (["sensitivity", "{lhs}", "-i", "real_gdp", "--contrast", "gradient-market", "--policies", "market"],
     "either --contrast or --policies"),
    (["sensitivity", "{lhs}", "-i", "real_gdp", "--labels", "Beijing"], "real_gdp has no region or tier"),
    (["discover", "{lhs}", "-c", "real_gdp?"], "cannot read condition"),
    (["discover", "{lhs}", "-c", "real_gdp:gradient-market", "--year", "1999"], "year 1999 is not a saved time"),
    (["discover", "{salt}", "-c", "theil:none>0"], "unknown policy 'none'"),
])
def test_bad_input_exits_2_with_one_line(stores, args, message):
    salt, lhs, _ = stores
    res = run(*[a.format(salt=salt, lhs=lhs) for a in args])
    assert res.exit_code == 2, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and message in lines[0], res.stderr
    assert res.stdout == ""
