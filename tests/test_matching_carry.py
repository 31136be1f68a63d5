"""A sweep on the NROY points starts from each point's own state: its frontier gap and its
investment share where its match run is at the forward start (gsim.matching.carry). The
expected values are computed here from plain `gsim.simulate` runs of each point, with the
run-scope draws made from the documented seed streams, not through the carry code."""

from __future__ import annotations

import matching_cases as mc
import numpy as np
import pytest
from scipy import stats

import gsim
from gsim.analysis.backcast import backcast_scenario
from gsim.matching import MatchError, nroy_carried, nroy_sample, open_match

FORWARD_T0 = 2017.0  # the forward start inside the planted match's window 2013-2021
UNCERTAIN = {"sigma": (0.30, 0.50), "frontier_gap": (1.0, 2.0), "invest_maturity": (0.03, 0.25)}
GDP_SD = 0.05  # log-sd of the run-scope region.gdp factors
EXTRA = ('replicates = 2\n[sweep.uncertain."region.gdp"]\ndist = "lognormal"\nmedian = 1.0\n'
         f'sigma = {GDP_SD}\nper_region = true\nscope = "run"\n')


@pytest.fixture(scope="module")
def carried_match(tmp_path_factory):
    """A one-wave match of the planted history that rules out nothing (cutoff 1000), with
    two replicates per point drawing region GDP factors per run."""
    targets = mc.planted_targets(mc.history())
    sc = mc.scenario("[match]\nwaves = 1\nsamples = 6\ncutoff = 1000.0\n" + targets, UNCERTAIN, EXTRA)
    out = tmp_path_factory.mktemp("carry") / "m.zarr"
    gsim.match(sc, out, workers=1)
    return sc, out


def _gdp_factors(seed: int, point: int, replicate: int) -> np.ndarray:
    """The region.gdp factors of a replicate: the run stream SeedSequence(seed, (1, i, j))."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(1, point, replicate))))
    return stats.lognorm.ppf(rng.random(3), s=GDP_SD, scale=1.0)


def _own_state(sc, t: float) -> tuple[float, float, float]:
    """(log gap, log capacity ratio, zeta) of one plain run of `sc` at time t: the gap is the
    geometric mean over tiers of F_s / max_r A_rs; capacity is sum_rs Y_rs / u_s."""
    ds = gsim.simulate(sc, "market", t1=t)
    end = ds.sel(time=t)
    log_gap = float(np.log(end.frontier / end.technology.max("region")).mean("tier"))
    cap = (ds.output / ds.utilization).sum(("region", "tier"))
    return log_gap, float(np.log(cap.sel(time=t) / cap.isel(time=0))), sc.params["invest_maturity"]


def test_carried_gap_and_sigma_are_each_points_own(carried_match):
    sc, out = carried_match
    ds = open_match(out)
    stored, carried = nroy_sample(ds), nroy_carried(ds, FORWARD_T0)
    assert stored.sizes["point"] == 6
    for point in stored["point"].values:
        inputs = {str(k): float(stored.sel(point=point, input=k)) for k in stored["input"].values}
        runs = [_own_state(mc.scenario(region_rows=mc.regions(tuple(_gdp_factors(7, point, j))))
                           .with_overrides(**inputs), FORWARD_T0) for j in range(2)]
        gap = np.exp(np.mean([r[0] for r in runs]))
        sigma = inputs["sigma"] * np.exp(np.mean([-r[2] * r[1] for r in runs]))
        np.testing.assert_allclose(float(carried.sel(point=point, input="frontier_gap")), gap, rtol=1e-10)
        np.testing.assert_allclose(float(carried.sel(point=point, input="sigma")), sigma, rtol=1e-10)
        # the provinces caught up and the investment share fell since 2013 ...
        assert 1.0 <= gap < inputs["frontier_gap"] and sigma < inputs["sigma"]
        # ... and every other input is the stored one
        for k in inputs:
            if k not in ("frontier_gap", "sigma"):
                assert float(carried.sel(point=point, input=k)) == inputs[k]


def test_forward_sweep_starts_from_the_carried_state(carried_match, tmp_path):
    sc, out = carried_match
    forward = mc.scenario().with_overrides(t0=FORWARD_T0)
    gsim.sweep_from_nroy(tmp_path / "s.zarr", out, forward, {"save": "full"})
    runs = gsim.open_sweep(tmp_path / "s.zarr").sel(policy="market").isel(replicate=0)
    carried = nroy_carried(open_match(out), FORWARD_T0)
    for name in ("frontier_gap", "sigma"):
        np.testing.assert_array_equal(runs[name].values, carried.sel(input=name).values)
    # the forward calibration puts every tier's frontier the carried gap above its best region
    start = runs.isel(time=0)
    gap = (start.frontier / start.technology.max("region")).transpose("sample", "tier").values
    np.testing.assert_allclose(gap, np.repeat(carried.sel(input="frontier_gap").values[:, None], gap.shape[1], 1),
                               rtol=1e-12)
    # without carry, the forward sweep gets the stored (match-start) values
    gsim.sweep_from_nroy(tmp_path / "raw.zarr", out, forward, carry=False)
    raw = gsim.open_sweep(tmp_path / "raw.zarr").isel(replicate=0)
    np.testing.assert_array_equal(raw["frontier_gap"].values,
                                  nroy_sample(open_match(out)).sel(input="frontier_gap").values)


def test_same_start_carries_nothing_and_an_earlier_start_is_refused(carried_match, tmp_path):
    sc, out = carried_match
    ds = open_match(out)
    np.testing.assert_array_equal(nroy_carried(ds, mc.T0).values, nroy_sample(ds).values)
    early = mc.scenario().with_overrides(t0=2011.0)
    with pytest.raises(MatchError, match=r"m.zarr: the forward scenario starts in 2011, before the match's "
                                         r"runs \(2013\): their state cannot be carried back$"):
        gsim.sweep_from_nroy(tmp_path / "s.zarr", out, early)
    assert not (tmp_path / "s.zarr").exists()


def test_default_backcast_gap_in_2023_is_the_points_own(tmp_path):
    """The default match (2013 backcast) and the default forward start, 2023: the carried gap
    of each point is the gap of that point's own backcast in 2023."""
    bc = backcast_scenario()
    unc = {k: v for k, v in bc.sweep["uncertain"].items() if k != "region.gdp"}
    sc = bc.with_overrides(sweep={**bc.sweep, "uncertain": unc})
    res = gsim.match(sc, tmp_path / "m.zarr", {"waves": 1, "samples": 3, "cutoff": 1000.0})
    assert res.last.survivors == 3
    ds = open_match(tmp_path / "m.zarr")
    stored, carried = nroy_sample(ds), nroy_carried(ds, gsim.load_scenario().run.t0)
    for point in stored["point"].values:
        inputs = {str(k): float(stored.sel(point=point, input=k)) for k in stored["input"].values}
        log_gap, log_cap, zeta = _own_state(sc.with_overrides(**inputs), 2023.0)
        np.testing.assert_allclose(float(carried.sel(point=point, input="frontier_gap")), np.exp(log_gap), rtol=1e-10)
        np.testing.assert_allclose(float(carried.sel(point=point, input="sigma")),
                                   inputs["sigma"] * np.exp(-zeta * log_cap), rtol=1e-10)
