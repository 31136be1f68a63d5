"""Sending and receiving regions: the definition, the scenario option, the aggregates of single
runs and of sweep stores (checked against xarray computations on the per-region outputs)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import gsim
from gsim import groups
from gsim.model.layout import VARIABLES
from gsim.scenario import ScenarioError, load_scenario, loads_scenario, scenario_to_toml
from gsim.sweeps.engine import LocalExecutor, sweep

SC = load_scenario()
positive = arrays(float, st.integers(2, 40), elements=st.floats(0.01, 1e5))


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_sending_regions_are_the_richer_ones_per_capita(data):
    gdp = data.draw(positive)
    pop = data.draw(arrays(float, len(gdp), elements=st.floats(0.01, 1e3)))
    rg = dataclasses.replace(SC.regions, gdp=gdp, population=pop, name=tuple(map(str, range(len(gdp)))))
    sc = dataclasses.replace(SC, regions=rg)
    send = groups.sending_mask(sc)
    pc = gdp / pop
    mean = gdp.sum() / pop.sum()  # the population-weighted mean of GDP per capita
    assert (pc[send] > mean).all() and (pc[~send] <= mean).all()
    if send.any() and (~send).any():  # richer per capita: each sender, and the group as a whole
        assert pc[send].min() > pc[~send].max()
        assert gdp[send].sum() / pop[send].sum() > gdp[~send].sum() / pop[~send].sum()
    # a common factor on GDP or population (exact in floating point) changes no group
    k = data.draw(st.sampled_from([0.25, 0.5, 2.0, 8.0]))
    scaled = dataclasses.replace(sc, regions=dataclasses.replace(rg, gdp=gdp * k, population=pop / k))
    assert (groups.sending_mask(scaled) == send).all()


def test_default_scenario_groups():
    labels = dict(zip(SC.regions.name, groups.group_labels(SC)))
    assert labels["Beijing"] == labels["Shanghai"] == "sending"  # the richest per head
    assert labels["Gansu"] == labels["Guizhou"] == "receiving"  # the poorest
    assert set(labels.values()) == {"sending", "receiving"}
    assert "sending" not in scenario_to_toml(SC)  # computed, so the scenario hash is unchanged


def test_scenario_may_list_the_sending_regions():
    sc = SC.with_overrides(sending=["Guizhou", "Gansu"])
    assert sc.sending == ("Guizhou", "Gansu")
    assert {r for r, g in zip(sc.regions.name, groups.group_labels(sc)) if g == "sending"} == {"Gansu", "Guizhou"}
    again = loads_scenario(scenario_to_toml(sc))  # round trip through the canonical TOML
    assert again.sending == sc.sending and again.hash == sc.hash != SC.hash


@pytest.mark.parametrize("value,message", [
    ("Beijing", "expected an array of region names, got a string"),
    (["Bejing"], "unknown region 'Bejing' (did you mean 'Beijing'?)"),
    (["Beijing", "Beijing"], "duplicate region"),
    ([], "must list at least one region and not all 31"),
    (list(SC.regions.name), "must list at least one region and not all 31"),
    ([3], "scenario.sending[0]: expected a string"),
])
def test_bad_sending_lists_are_one_line_errors(value, message):
    with pytest.raises(ScenarioError, match=r"scenario\.sending") as e:
        SC.with_overrides(sending=value)
    assert message in str(e.value) and "\n" not in str(e.value)


def _expected(ds, group: str) -> dict[str, object]:
    """The aggregates computed with xarray from the per-region outputs of a run."""
    g = ds.region_group == group
    gdp, lf = ds.gdp.where(g), ds.labor_force.where(g)
    return {
        f"real_output_{group}": ds.real_output.where(g).sum("region"),
        f"sui_{group}": (gdp * ds.sui).sum("region") / gdp.sum("region"),
        f"technology_{group}": np.exp(np.log(ds.technology.where(g)).mean(("region", "tier"))),
        f"skills_{group}": (lf * ds.skills).sum("region") / lf.sum("region"),
    }


@pytest.mark.parametrize("sending", [None, ["Beijing"]])
def test_run_aggregates_equal_xarray_sums_of_the_region_outputs(sending):
    sc = SC if sending is None else SC.with_overrides(sending=sending)
    ds = gsim.simulate(sc, "gradient", t1=2027)
    assert ds.region_group.attrs["long_name"] and ds.region_group.dims == ("region",)
    for group in groups.GROUPS:
        for name, want in _expected(ds, group).items():
            np.testing.assert_allclose(ds[name].values, want.values, rtol=1e-12)
            assert ds[name].attrs["units"] == VARIABLES[name][1] and ds[name].attrs["long_name"]
    total = ds.real_output_sending + ds.real_output_receiving
    np.testing.assert_allclose(total.values, ds.real_gdp.values, rtol=1e-12)
    if sending == ["Beijing"]:
        np.testing.assert_array_equal(ds.real_output_sending.values, ds.real_output.sel(region="Beijing").values)


def test_empty_group_and_nan_inputs_give_nan_without_warnings():
    rng = np.random.default_rng(1)
    vals = {n: rng.uniform(1, 2, (2, 3, 5)) for n in groups.INPUTS}
    vals["technology"] = rng.uniform(1, 2, (2, 3, 5, 4))
    vals["gdp"][1, 2, 0] = np.nan  # a failed run's value
    out = groups.group_aggregates(vals, np.zeros(5, bool))  # nobody sends
    assert np.isnan(out["real_output_sending"]).all() and out["real_output_sending"].shape == (2, 3)
    assert np.isfinite(out["real_output_receiving"]).all()
    assert np.isnan(out["sui_receiving"][1, 2]) and np.isfinite(out["sui_receiving"][0]).all()


def test_sweep_store_has_the_groups_and_their_aggregates(tmp_path):
    sc = dataclasses.replace(SC, sweep={"uncertain": {"kappa": SC.sweep["uncertain"]["kappa"]}})
    p = tmp_path / "s.zarr"
    sweep(p, sc, {"samples": 2, "t1": 2025, "policies": "none,gradient"}, executor=LocalExecutor(1))
    flat = gsim.open_sweep(p, layout="flat")
    paired = gsim.open_sweep(p)
    want = groups.group_labels(sc)
    assert list(flat.region_group.values) == want == list(paired.region_group.values)
    assert set(groups.NAMES) <= set(flat.data_vars) and "real_output" not in flat  # indicators only
    k = float(paired.kappa.isel(sample=1, replicate=0))
    one = gsim.simulate(sc.with_overrides(kappa=k), "gradient", t1=2025)
    for name in groups.NAMES:
        np.testing.assert_array_equal(one[name].values,
                                      paired[name].sel(sample=1, replicate=0, policy="gradient").values)


def test_docs_list_the_default_sending_regions():
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "scenario.md").read_text(encoding="utf-8")
    m = re.search(r"In the embedded default (\d+) provinces send \(([^)]*)\) and (\d+)\s+receive", text)
    listed = {r.strip() for r in " ".join(m.group(2).split()).split(",")}
    send = {r for r, s in zip(SC.regions.name, groups.sending_mask(SC)) if s}
    assert listed == send and int(m.group(1)) == len(send) and int(m.group(3)) == 31 - len(send)


def test_resuming_a_store_without_the_group_outputs_is_refused(tmp_path):
    import shutil

    from gsim.sweeps.engine import resume
    from gsim.sweeps.store import StoreError

    p = tmp_path / "s.zarr"
    sweep(p, SC, {"samples": 1, "t1": 2024, "policies": "none"}, executor=LocalExecutor(1))
    shutil.rmtree(p / "skills_receiving")  # an output this gsim writes is missing: refused, named
    with pytest.raises(StoreError, match="skills_receiving"):
        resume(p)
