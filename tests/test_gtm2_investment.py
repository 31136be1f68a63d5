"""The experimental GTM-2 mechanism "provincial investment rates" (ω_I, `province_investment`):
its data, how a scenario derives s_r, the kernel against its NumPy twin, and its effect on
investment (region r invests σ·s_r^ω_I·maturity·yr_r)."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from importlib.resources import files

import numpy as np
import pytest
import twin
from helpers import t0_derivatives

import gsim
from gsim.analysis.backcast import backcast_scenario
from gsim.model.layout import REGION_COLUMNS, state_slices
from gsim.observed import investment_rate, regions

# Published figures quoted in china31_investment.SOURCES.md: GFCF of Beijing (CapitalStock's
# 固定资本形成总额2018.xlsx) and its expenditure-approach GDP (NBS copy), 100 million yuan.
BEIJING = {2013: ("7595.38", "19500.6"), 2017: ("10375.27", "28014.94")}


def _rows() -> list[dict[str, str]]:
    text = files("gsim").joinpath("data").joinpath("china31_investment.csv").read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.parametrize("year", [2013, 2017])
def test_relative_rate_is_the_share_over_its_gdp_weighted_mean(year):
    rows = [r for r in _rows() if int(r["year"]) == year]
    assert [r["region"] for r in rows] == list(regions())
    gfcf = np.array([float(r["gfcf_bn_cny"]) for r in rows])
    gdp = np.array([float(r["gdp_expenditure_bn_cny"]) for r in rows])
    share = gfcf / gdp
    np.testing.assert_allclose([float(r["gfcf_share"]) for r in rows], share, atol=5e-5)
    np.testing.assert_allclose([float(r["relative_rate"]) for r in rows], share / (gfcf.sum() / gdp.sum()),
                               atol=5e-5)
    f, e = BEIJING[year]
    assert Decimal(rows[0]["gfcf_bn_cny"]) == Decimal(f) / 10
    assert Decimal(rows[0]["gdp_expenditure_bn_cny"]) == Decimal(e) / 10


def test_scenario_takes_the_latest_year_up_to_its_start():
    by = {(r["region"], int(r["year"])): float(r["relative_rate"]) for r in _rows()}
    sc = gsim.load_scenario()
    names = sc.regions.name
    np.testing.assert_array_equal(sc.invest_rate, [by[n, 2017] for n in names])
    np.testing.assert_array_equal(backcast_scenario(sc).invest_rate, [by[n, 2013] for n in names])
    assert investment_rate(names, 2012.0) == (1.0,) * len(names)  # nothing known before the data
    assert investment_rate(names[:3], 2023.0) == (1.0,) * 3  # regions other than the 31
    assert not (gsim.load_scenario().with_overrides(model="gtm1").invest_rate != 1.0).any()
    assert sc.params["province_investment"] == 0.0  # off by default


@pytest.mark.parametrize("method", ["euler", "rk4"])
def test_province_investment_matches_twin(method):
    sc = gsim.load_scenario().with_overrides(t1=2033.0, province_investment=0.7, invest_maturity=0.4)
    ds = gsim.simulate(sc, policy="market", method=method)
    ref = twin.simulate_twin(sc, policy="market", method=method)
    for name in twin.OUTPUTS:
        a, b = ds[name].values, ref[name]
        scale = np.max(np.abs(b))
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9 * scale + 1e-300, err_msg=name)


def _investment_at_t0(sc):
    """Inv_rs at t0 without a policy (no transfers, no arrivals): dK/dt plus depreciation and exit."""
    inp, cal, obs, dy = t0_derivatives(sc)
    sl, shape = state_slices(len(sc.regions), len(sc.tiers))["capital"]
    K, dK = cal.y0[0, sl].reshape(shape), dy[0, sl].reshape(shape)
    pi = obs["profit_rate"][0]
    exit_rate = sc.params["delta"] + sc.params["delta_x"] * np.maximum(0.0, -pi)
    return dK + exit_rate * K, inp.reg[0, REGION_COLUMNS.index("invest_rate")]


def test_each_province_invests_its_own_rate():
    """At t0, with ω_I = 1 a province's investment is s_r times what it is with ω_I = 0, and
    s_r^0.5 times with ω_I = 0.5."""
    base = gsim.load_scenario()
    inv0, s = _investment_at_t0(base)
    assert np.ptp(s) > 1.0
    for omega in (1.0, 0.5):
        inv, _ = _investment_at_t0(base.with_overrides(province_investment=omega))
        np.testing.assert_allclose(inv.sum(axis=1), s ** omega * inv0.sum(axis=1), rtol=1e-9)
