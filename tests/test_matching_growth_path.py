"""The default history match uses the growth path inside 2013-2019 (docs/matching.md, "A growth
path, not one growth rate"): its observed values and its discrepancy come from the shipped
national series, read here with the csv module and numpy, not through gsim.observed."""

from __future__ import annotations

import csv
import math
from importlib.resources import files

import numpy as np
import pytest

from gsim.analysis.backcast import backcast_scenario
from gsim.matching.targets import parse_match


def _real_gdp() -> dict[int, float]:
    text = files("gsim").joinpath("data").joinpath("china_national.csv").read_text(encoding="utf-8")
    return {int(r["year"]): float(r["real_gdp_bn_cny_2015"]) for r in csv.DictReader(text.splitlines())}


@pytest.fixture(scope="module")
def spec():
    return parse_match(backcast_scenario())


def _growth(spec):
    return {t.years: t for t in spec.targets if t.kind == "growth"}


def test_two_halves_are_matched_and_2020_on_is_held_out(spec):
    growth = _growth(spec)
    assert sorted(y for y, t in growth.items() if not t.holdout) == [(2013.0, 2016.0), (2016.0, 2019.0)]
    assert growth[(2019.0, 2023.0)].holdout
    assert all(max(t.years) <= 2019 for t in spec.used)  # nothing after 2019 rules out


def test_observed_growth_of_each_half_is_the_series(spec):
    y = _real_gdp()
    for (a, b), t in _growth(spec).items():
        assert t.value == pytest.approx((y[int(b)] / y[int(a)]) ** (1 / (b - a)) - 1, rel=1e-12)
    halves = _growth(spec)
    # the data slow down between the halves (7.1 % to 6.5 % a year): what one 2013-2019 rate hides
    assert halves[(2016.0, 2019.0)].value < halves[(2013.0, 2016.0)].value


def test_discrepancy_is_the_measured_cycle_and_an_equal_structural_part(spec):
    """disc_reason: yearly growth 2010-2019 departs from its linear trend by sd 0.42 point; the
    structural part is assumed as large, so sd = sqrt(2) x the cycle, to the 0.1 point given."""
    y = _real_gdp()
    years = np.arange(2011, 2020)
    g = np.log([y[t] / y[t - 1] for t in years])
    cycle = float(np.std(g - np.polyval(np.polyfit(years, g, 1), years), ddof=2))
    assert round(100 * cycle, 2) == 0.42  # the number the reason states
    for t in spec.used:
        if t.kind == "growth":
            assert math.sqrt(t.disc_var) == pytest.approx(round(math.sqrt(2) * cycle, 3), abs=1e-12)
            assert "0.42" in t.disc_reason and "assumed" in t.disc_reason
