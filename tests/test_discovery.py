"""PRIM scenario discovery: planted boxes are recovered, from arrays and from stores."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from synthetic import synthetic_store

from gsim.analysis.discovery import discover, discover_cases
from gsim.analysis.select import AnalysisError
from gsim.sweeps import store as st


def planted(n: int, noise: float, seed: int = 0):
    """12 uniform inputs; the cases of interest fill x0 > 0.6 and 1 <= x3 < 1.9 (x3 on [1, 4]),
    each case's label flipped with probability `noise`."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.uniform(0, 1, (n, 12)), columns=[f"x{i}" for i in range(12)])
    X["x3"] = 1 + 3 * X["x3"]
    y = ((X.x0 > 0.6) & (X.x3 < 1.9)).values ^ (rng.random(n) < noise)
    return X, y


@pytest.mark.parametrize("noise", [0.0, 0.05])
def test_a_planted_box_is_recovered(noise):
    X, y = planted(1000, noise)
    boxes = discover_cases(X, y)
    assert len(boxes) >= 1
    b = boxes[0]
    got = {r.input: (r.low, r.high) for r in b.restrictions}
    assert set(got) == {"x0", "x3"}  # no spurious restriction survives the quasi-p test
    assert got["x0"][0] == pytest.approx(0.6, abs=0.03) and got["x0"][1] == X.x0.max()
    assert got["x3"][1] == pytest.approx(1.9, abs=0.09) and got["x3"][0] == X.x3.min()
    inside = ((X.x0 >= got["x0"][0]) & (X.x0 <= got["x0"][1]) & (X.x3 >= got["x3"][0]) & (X.x3 <= got["x3"][1])).values
    # the reported statistics are those of the box
    assert b.n == inside.sum() and b.k == (inside & y).sum()
    assert b.coverage == pytest.approx(b.k / y.sum()) and b.density == pytest.approx(b.k / b.n)
    assert b.mass == pytest.approx(b.n / len(y))
    assert b.density > 0.9 and b.coverage > (0.95 if noise == 0 else 0.6)
    assert all(r.qp < 0.05 for r in b.restrictions)


def test_nothing_to_discover():
    X, _ = planted(300, 0.0)
    assert discover_cases(X, np.zeros(300, bool)) == []
    assert discover_cases(X, np.ones(300, bool)) == []
    rng = np.random.default_rng(1)  # labels unrelated to the inputs: no box is dense enough
    assert discover_cases(X, rng.random(300) < 0.3) == []
    with pytest.raises(ValueError, match="X has 300 rows but y has 2"):
        discover_cases(X, np.ones(2, bool))


UNC = {
    "kappa": {"dist": "uniform", "low": 1.0, "high": 4.0},
    "ell_F": {"dist": "uniform", "low": 0.05, "high": 0.40},
    "nu0": {"dist": "uniform", "low": 0.01, "high": 0.05},
    "region.gdp": {"dist": "uniform", "low": 0.9, "high": 1.1, "per_region": True},
}


def outputs(v, pol, times):
    """gradient beats market in real_gdp except where kappa < 2 and ell_F > 0.3; theil under
    gradient is nu0 (so theil:gradient>0.04 holds where nu0 > 0.04); gradient beats market in
    each region's gdp except where that region's own gdp factor exceeds 1.05."""
    fails = (v["kappa"] < 2.0) & (v["ell_F"] > 0.3)
    gain = np.where(fails, -1.0, 1.0) if pol == "gradient" else 0.0
    regional = np.where(v["region.gdp"] > 1.05, -1.0, 1.0) * (pol == "gradient")
    t = np.ones(len(times))
    return {"real_gdp": np.outer(100.0 + gain, t), "theil": np.outer(v["nu0"], t),
            "gdp": (10.0 + regional)[:, None, :] * t[None, :, None]}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    def status(samples, pol):  # two samples fail under market: their cases are left out
        return np.where(np.isin(samples, [3, 4]) & (pol == "market"), st.STATUS_FAILED, st.STATUS_OK).astype(np.int8)

    return synthetic_store(tmp_path_factory.mktemp("d") / "d.zarr", UNC, outputs, status=status,
                           sampler="lhs", samples=1000, save="regions")


def test_discover_where_a_paired_claim_fails(store):
    d = discover(store, "real_gdp:gradient-market")
    assert d.year == 2025 and d.n_cases == 998 and d.n_excluded == 2
    assert d.inputs == ("ell_F", "kappa", "nu0")  # per-region inputs: only for a region's output
    b = d.boxes[0]
    got = {r.input: (r.low, r.high) for r in b.restrictions}
    assert set(got) == {"kappa", "ell_F"}
    assert got["kappa"][1] == pytest.approx(2.0, abs=0.1) and got["ell_F"][0] == pytest.approx(0.3, abs=0.02)
    assert b.density > 0.95 and b.coverage > 0.95 and d.n_interest == round(b.k / b.coverage)
    frame = d.to_frame()
    assert list(frame["input"]) == [r.input for r in b.restrictions] and (frame["box"] == 1).all()
    assert d.to_dict()["boxes"][0]["restrictions"][0]["input"] == b.restrictions[0].input


def test_discover_on_a_level_and_an_explicit_difference(store):
    d = discover(store, "theil:gradient>0.04", year=2024)
    assert d.year == 2024
    [r] = d.boxes[0].restrictions
    assert r.input == "nu0" and r.low == pytest.approx(0.04, abs=0.002)
    same = discover(store, "real_gdp:gradient-market<=0")  # the same cases as the failing claim
    assert same.n_interest == discover(store, "real_gdp:gradient-market").n_interest


def test_discover_on_a_regions_output_uses_its_own_factor(store):
    d = discover(store, "gdp[Guangxi]:gradient-market<=0")
    assert d.inputs == ("ell_F", "kappa", "nu0", "region.gdp")
    [r] = d.boxes[0].restrictions
    assert r.input == "region.gdp" and r.low == pytest.approx(1.05, abs=0.005) and d.boxes[0].density == 1.0


@pytest.mark.parametrize("condition,message", [
    ("real_gdp gradient", "cannot read condition"),
    ("real_gdpp:gradient-market", "unknown indicator 'real_gdpp'"),
    ("real_gdp:gradient-none", r"unknown policy 'none' \(in this store: market, gradient\)"),
    ("real_gdp>0", "name a policy in the condition, e.g. real_gdp:gradient>0"),
    ("real_gdp:gradient", r"a condition on a level needs a comparison, e.g. real_gdp:gradient>0"),
    ("transfer_volume:gradient-market", "has no better direction"),
    ("overcapacity:gradient>0.1", r"overcapacity is per tier: pick one, e.g. overcapacity\[labor\]"),
    ("overcapacity[steel]:gradient>0.1", "unknown tier 'steel'"),
    ("real_gdp[x]:gradient>0", "real_gdp has no region or tier"),
    ("gdp[Atlantis]:gradient-market", "unknown region 'Atlantis'"),
])
def test_bad_conditions_are_one_line_errors(store, condition, message):
    with pytest.raises(AnalysisError, match=message):
        discover(store, condition)


def test_bad_year(store):
    with pytest.raises(AnalysisError, match="year 2030 is not a saved time"):
        discover(store, "real_gdp:gradient-market", year=2030)
