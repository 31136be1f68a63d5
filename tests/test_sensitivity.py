"""Sensitivity indices through the real path (sampler, store, paired reader, SALib) on stores
whose outputs are known functions of the sampled inputs (tests/synthetic.py)."""

from __future__ import annotations

import numpy as np
import pytest
import zarr
from SALib.analyze import pawn
from synthetic import synthetic_store

from gsim.analysis.select import AnalysisError
from gsim.analysis.sensitivity import sensitivity
from gsim.sweeps import store as st
from gsim.sweeps.store import StoreError

# Ishigami inputs x1..x3 ~ U(-pi, pi), carried by three parameters' uniform ranges, and nu0,
# which has no effect on the contrast
ISHIGAMI = {
    "kappa": {"dist": "uniform", "low": 1.0, "high": 4.0},
    "ell_F": {"dist": "uniform", "low": 0.05, "high": 0.40},
    "ell_R": {"dist": "uniform", "low": 0.05, "high": 0.30},
    "nu0": {"dist": "uniform", "low": 0.01, "high": 0.05},
}
A, B = 7.0, 0.1


def to_pi(v, name):
    a = ISHIGAMI[name]
    return -np.pi + 2 * np.pi * (v[name] - a["low"]) / (a["high"] - a["low"])


def ishigami_indices():
    """Analytic S1 and ST of sin x1 + A sin^2 x2 + B x3^4 sin x1 (Ishigami & Homma 1990):
    V1 = (1 + B pi^4 / 5)^2 / 2, V2 = A^2 / 8, V13 = B^2 pi^8 (1/18 - 1/50), V3 = 0."""
    v1, v2, v13 = (1 + B * np.pi**4 / 5) ** 2 / 2, A**2 / 8, B**2 * np.pi**8 * (1 / 18 - 1 / 50)
    v = v1 + v2 + v13
    s1 = {"kappa": v1 / v, "ell_F": v2 / v, "ell_R": 0.0, "nu0": 0.0}
    st_ = {"kappa": (v1 + v13) / v, "ell_F": v2 / v, "ell_R": v13 / v, "nu0": 0.0}
    return s1, st_


def ishigami_outputs(v, pol, times):
    """gradient - market is the Ishigami function (0 in the first year); market depends on
    nu0 alone, so the contrast cancels it."""
    x1, x2, x3 = to_pi(v, "kappa"), to_pi(v, "ell_F"), to_pi(v, "ell_R")
    f = np.sin(x1) + A * np.sin(x2) ** 2 + B * x3**4 * np.sin(x1)
    base = 100.0 + to_pi(v, "nu0")
    noise = v["mu"] - 0.03 if "mu" in v else 0.0  # run scope: averaged over replicates
    y = base + (f + noise if pol == "gradient" else 0.0)
    return {"real_gdp": y[:, None] * (times > times[0])[None, :]}


@pytest.fixture(scope="module")
def saltelli_store(tmp_path_factory):
    return synthetic_store(tmp_path_factory.mktemp("s") / "s.zarr", ISHIGAMI, ishigami_outputs,
                           sampler="saltelli", samples=1024, block_size=1000)


def test_sobol_recovers_the_ishigami_indices_within_their_intervals(saltelli_store):
    res = sensitivity(saltelli_store, "real_gdp", contrast="gradient-market", years="all")
    assert res.attrs["method"] == "sobol" and res["S1"].dims == ("input", "time")
    assert list(res["input"].values) == ["ell_F", "ell_R", "kappa", "nu0"]  # the design's order
    assert int(res["n_samples"]) == 1024 * 6
    s1, st_ = ishigami_indices()
    last = res.isel(time=-1)
    for name in s1:
        r = last.sel(input=name)
        # (1e-12: the contrast cancels nu0 up to rounding)
        assert abs(float(r.S1) - s1[name]) <= float(r.S1_conf) + 1e-12, (name, float(r.S1), float(r.S1_conf))
        assert abs(float(r.ST) - st_[name]) <= float(r.ST_conf) + 1e-12, (name, float(r.ST), float(r.ST_conf))
        assert float(r.S1_conf) < 0.07 and float(r.ST_conf) < 0.09  # intervals narrow enough to mean something
    assert np.isnan(res.isel(time=0)["S1"].values).all()  # no variance in the first year


def test_sobol_per_policy_sees_what_drives_each_level(saltelli_store):
    res = sensitivity(saltelli_store, "real_gdp", years=[2025])
    assert res["ST"].dims == ("input", "policy", "time")
    market = res.sel(policy="market", time=2025)
    assert float(market.ST.sel(input="nu0")) == pytest.approx(1.0, abs=float(market.ST_conf.sel(input="nu0")))
    for name in ("kappa", "ell_F", "ell_R"):
        assert float(market.ST.sel(input=name)) == pytest.approx(0.0, abs=1e-12)


def test_sobol_refuses_an_incomplete_design_naming_the_count(tmp_path):
    def status(samples, pol):
        s = np.full(len(samples), st.STATUS_OK, np.int8)
        if pol == "gradient":
            s[samples == 6] = st.STATUS_FAILED  # an A row (groups of D + 2 = 6 rows)
            s[samples == 11] = st.STATUS_PENDING  # a B row
        return s

    path = synthetic_store(tmp_path / "s.zarr", ISHIGAMI, ishigami_outputs, status=status,
                           sampler="saltelli", samples=32)
    with pytest.raises(AnalysisError, match=r"complete Saltelli design, but 2 of 192 samples have a run under "
                                            r"gradient or market that is not ok \(1 failed, 1 pending\)"):
        sensitivity(path, "real_gdp", contrast="gradient-market")
    ok = sensitivity(path, "real_gdp", policies="market", years=[2025])  # market is complete
    assert np.isfinite(ok["ST"].values).all()
    given = sensitivity(path, "real_gdp", contrast="gradient-market", method="pawn", years=[2025])
    assert int(given["n_samples"]) == 2 * 32 - 2  # the A and B rows, less the two samples not ok


@pytest.fixture(scope="module")
def lhs_store(tmp_path_factory):
    unc = {**ISHIGAMI, "mu": {"dist": "uniform", "low": 0.01, "high": 0.05, "scope": "run"}}

    def status(samples, pol):
        return np.where((samples % 97 == 5) & (pol == "gradient"), st.STATUS_FAILED, st.STATUS_OK).astype(np.int8)

    return synthetic_store(tmp_path_factory.mktemp("l") / "l.zarr", unc, ishigami_outputs, status=status,
                           sampler="lhs", samples=600, replicates=2)


def test_pawn_equals_salib_on_the_stores_own_columns(lhs_store):
    res = sensitivity(lhs_store, "real_gdp", contrast="gradient-market", years=[2025], num_resamples=10)
    assert res.attrs["method"] == "pawn" and res["PAWN"].dims == ("input", "time")
    assert "mu" not in res["input"].values  # run scope: averaged over replicates, not an input
    # independently: rows of gradient and market runs, samples with every run ok
    g = zarr.open_group(str(lhs_store), mode="r")
    pol = g["policy"][:].astype(object)
    ok = (g["status"][:] == st.STATUS_OK).reshape(600, 2 * 2).all(axis=1)
    y = {p: g["real_gdp"][:, -1][pol == p].reshape(600, 2).mean(axis=1) for p in ("gradient", "market")}
    Y = (y["gradient"] - y["market"])[ok]
    names = list(res["input"].values)
    X = np.column_stack([g[n][:][pol == "market"][::2][ok] for n in names])
    expect = pawn.analyze({"num_vars": len(names), "names": names}, X, Y, S=10)["median"]
    np.testing.assert_allclose(res["PAWN"].values[:, 0], expect, rtol=0, atol=0)
    assert int(res["n_samples"]) == ok.sum() == 600 - len(range(5, 600, 97))


def test_pawn_separates_influential_inputs_from_the_dummy(lhs_store):
    """kappa and ell_F act alone (first order): above the dummy beyond both intervals. nu0 has
    no effect: within the intervals of the dummy. (ell_R acts only with kappa: PAWN hardly sees
    it at 600 samples, and nothing is asserted of it.)"""
    res = sensitivity(lhs_store, "real_gdp", contrast="gradient-market", years=[2025]).isel(time=0)
    dummy, dummy_conf = float(res["PAWN_dummy"]), float(res["PAWN_dummy_conf"])
    for name in ("kappa", "ell_F"):
        assert float(res.PAWN.sel(input=name) - res.PAWN_conf.sel(input=name)) > dummy + dummy_conf
    assert abs(float(res.PAWN.sel(input="nu0")) - dummy) <= float(res.PAWN_conf.sel(input="nu0")) + dummy_conf
    assert float(res.PAWN.sel(input="ell_F")) > float(res.PAWN.sel(input="kappa"))  # V2 > V1


# --- per-region outputs --------------------------------------------------------------------
REGIONAL = {
    "kappa": {"dist": "uniform", "low": 1.0, "high": 4.0},
    "ell_F": {"dist": "uniform", "low": 0.05, "high": 0.40},
    "region.gdp": {"dist": "uniform", "low": 0.5, "high": 1.5, "per_region": True},
}
R = 31
WEIGHT = np.linspace(0.2, 3.0, R)  # how much region r's own factor counts for its output


def regional_outputs(v, pol, times):
    """gdp of region r: kappa + WEIGHT[r] * (its own gdp factor); additive, so S1 = ST and
    the own factor's share is WEIGHT^2 Var(z) / (Var(kappa) + WEIGHT^2 Var(z))."""
    gdp = v["kappa"][:, None] + WEIGHT[None, :] * v["region.gdp"]
    return {"gdp": gdp[:, None, :] * np.ones(len(times))[None, :, None],
            "real_gdp": np.outer(v["kappa"], np.ones(len(times)))}


def test_sobol_per_region_with_a_per_region_group(tmp_path):
    """93 regions x inputs x (S1, ST): each within twice its 95% half-width (a 4-sigma band, so
    that one check in a hundred does not fail by chance)."""
    path = synthetic_store(tmp_path / "r.zarr", REGIONAL, regional_outputs, sampler="saltelli", samples=512,
                           save="regions", policies=["gradient"])
    res = sensitivity(path, "gdp", years=[2025]).sel(policy="gradient", time=2025)
    assert res["ST"].dims == ("input", "region") and res.sizes["region"] == R
    var_k, var_z = 3.0**2 / 12, 1.0 / 12
    share = WEIGHT**2 * var_z / (var_k + WEIGHT**2 * var_z)
    for name, truth in (("region.gdp", share), ("kappa", 1 - share), ("ell_F", 0 * share)):
        for k in ("S1", "ST"):
            err = np.abs(res[k].sel(input=name).values - truth)
            assert (err <= 2 * res[f"{k}_conf"].sel(input=name).values + 1e-12).all(), (name, k, err.max())


def test_pawn_per_region_uses_the_regions_own_factor(tmp_path):
    path = synthetic_store(tmp_path / "r.zarr", REGIONAL, regional_outputs, sampler="lhs", samples=400,
                           save="regions", policies=["gradient"])
    res = sensitivity(path, "gdp", years=[2025], num_resamples=5).sel(policy="gradient", time=2025)
    g = zarr.open_group(str(path), mode="r")
    for r in (0, 17, R - 1):
        X = np.column_stack([g["kappa"][:], g["region.gdp"][:, r]])
        expect = pawn.analyze({"num_vars": 2, "names": ["kappa", "region.gdp"]}, X, g["gdp"][:, -1, r], S=10)
        np.testing.assert_allclose(res["PAWN"].sel(input=["kappa", "region.gdp"]).values[:, r], expect["median"],
                                   rtol=0, atol=0)
    # national outputs: a per-region input is no input of theirs
    assert "region.gdp" not in sensitivity(path, "real_gdp", years=[2025], num_resamples=5)["input"].values


# --- bad input -----------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs,message", [
    ({"indicator": "gdpp"}, r"unknown indicator 'gdpp' \(saved: .*real_gdp"),
    ({"indicator": "gdp"}, r"gdp is not saved in this store \(saved with --save regions or more; "
                           r"this store: --save indicators\)"),
    ({"contrast": "gradient-marke"}, r"unknown policy 'marke' \(in this store: market, gradient\)"),
    ({"contrast": "gradient"}, r"contrast must be POLICY_A-POLICY_B"),
    ({"policies": "none"}, r"unknown policy 'none'"),
    ({"years": [2031]}, r"year 2031 is not a saved time \(saved: 2023 to 2025\)"),
    ({"method": "pawn", "num_resamples": 1}, r"num_resamples must be >= 2, got 1"),
])
def test_bad_input_is_one_line(saltelli_store, kwargs, message):
    kwargs = {"indicator": "real_gdp", **kwargs}
    with pytest.raises(AnalysisError, match=message):
        sensitivity(saltelli_store, **kwargs)


def test_sobol_needs_a_saltelli_store_and_pawn_enough_samples(lhs_store, tmp_path):
    with pytest.raises(AnalysisError, match="sobol indices need a store written with --sampler saltelli "
                                            r"\(this one: lhs\); use method pawn"):
        sensitivity(lhs_store, "real_gdp", method="sobol")
    small = synthetic_store(tmp_path / "m.zarr", ISHIGAMI, ishigami_outputs, sampler="lhs", samples=40)
    with pytest.raises(AnalysisError, match="pawn needs at least 50 samples whose runs are ok, got 40 of 40"):
        sensitivity(small, "real_gdp")
    with pytest.raises(StoreError, match="no such store"):
        sensitivity(tmp_path / "nothing.zarr", "real_gdp")
