"""The saltelli sampler: SALib's design of N(D+2) rows, seeded by the root seed only."""

from __future__ import annotations

import numpy as np
import pytest
import zarr
from synthetic import synthetic_store
from test_sweep_spec import UNC, spec_of

from gsim.sweeps.sampling import full_design, sampled_values
from gsim.sweeps.spec import SweepSpecError

R = 31  # regions of the default scenario
UNC_REGION = {**UNC, "region.gdp": {"dist": "lognormal", "median": 1.0, "sigma": 0.05, "per_region": True},
              "mu": {"dist": "uniform", "low": 0.01, "high": 0.05, "scope": "run"}}


def groups_of(design: np.ndarray, D: int) -> np.ndarray:
    """(N, D + 2, cols): the rows A, AB_1 ... AB_D, B of each base sample."""
    return design.reshape(-1, D + 2, design.shape[1])


@pytest.mark.parametrize("n", [8, 64])
def test_rows_are_n_times_d_plus_2_in_salib_order(n):
    spec = spec_of({"uncertain": UNC, "sampler": "saltelli"}, samples=n)
    D = len(UNC)
    assert spec.samples == n and spec.n_samples == n * (D + 2) and spec.n_runs == n * (D + 2) * 4
    u = full_design(spec)
    assert u.shape == (n * (D + 2), D) and 0 <= u.min() and u.max() < 1
    g = groups_of(u, D)
    A, B = g[:, 0], g[:, -1]
    for j in range(D):  # AB_j: A with column j taken from B
        expect = A.copy()
        expect[:, j] = B[:, j]
        np.testing.assert_array_equal(g[:, 1 + j], expect)
    # A and B are the two halves of a scrambled Sobol' sequence: balanced in dyadic intervals
    for M in (A, B):
        for j in range(D):
            assert (np.bincount(np.floor(M[:, j] * 2).astype(int), minlength=2) == n // 2).all()


def test_a_per_region_input_is_one_group_of_a_column_per_region():
    spec = spec_of({"uncertain": UNC_REGION, "sampler": "saltelli"}, samples=8)
    names = [u.target for u in spec.groups]
    assert names == ["kappa", "lambda_T", "region.gdp", "sigma", "theta.labor"]  # mu: scope run
    D = len(names)
    assert spec.n_samples == 8 * (D + 2)
    ids = np.arange(spec.n_samples)
    v = sampled_values(spec, R, ids, np.zeros_like(ids))
    g = {k: x.reshape((8, D + 2) + x.shape[1:]) for k, x in v.items() if k != "mu"}
    for j, name in enumerate(names):  # in AB_j only input j (all its regions) comes from B
        for other in names:
            src = g[other][:, -1] if other == name else g[other][:, 0]
            np.testing.assert_array_equal(g[other][:, 1 + j], src)
    assert v["region.gdp"].shape == (spec.n_samples, R)
    assert len(np.unique(v["region.gdp"][:8 * (D + 2):D + 2, :])) == 8 * R  # independent regions


def test_the_design_depends_on_the_root_seed_only():
    spec = spec_of({"uncertain": UNC_REGION, "sampler": "saltelli"}, samples=16)
    ids = np.arange(spec.n_samples)
    full = sampled_values(spec, R, ids, np.zeros_like(ids))
    again = sampled_values(spec_of({"uncertain": UNC_REGION, "sampler": "saltelli"}, samples=16),
                           R, ids, np.zeros_like(ids))
    other = sampled_values(spec_of({"uncertain": UNC_REGION, "sampler": "saltelli"}, samples=16,
                                   seed=spec.seed + 1), R, ids, np.zeros_like(ids))
    for k in full:
        np.testing.assert_array_equal(full[k], again[k])
        assert not np.array_equal(full[k], other[k])
    # any subset of (sample, replicate) pairs, in any order, gets the same values
    s, r = np.array([101, 3, 3, 57, 0]), np.array([0, 0, 1, 2, 0])
    sub = sampled_values(spec, R, s, r)
    for k in full:
        if k != "mu":  # run scope: differs per replicate by design
            np.testing.assert_array_equal(sub[k], full[k][s])


def test_stores_do_not_depend_on_the_block_size(tmp_path):
    def outputs(v, pol, times):
        return {"real_gdp": np.outer(v["kappa"] + v["region.gdp"].sum(axis=1), times)}

    opts = {"sampler": "saltelli", "samples": 8, "replicates": 2}
    a = synthetic_store(tmp_path / "a.zarr", UNC_REGION, outputs, block_size=5, **opts)
    b = synthetic_store(tmp_path / "b.zarr", UNC_REGION, outputs, block_size=64, **opts)
    ga, gb = zarr.open_group(str(a), mode="r"), zarr.open_group(str(b), mode="r")
    for name in ["kappa", "region.gdp", "mu", "sample", "real_gdp"]:
        np.testing.assert_array_equal(ga[name][:], gb[name][:])
    D = len(ga.attrs["saltelli_inputs"])
    assert ga.attrs["samples"] == 8 * (D + 2) and ga.attrs["saltelli_base_samples"] == 8
    assert ga.attrs["saltelli_inputs"] == ["kappa", "lambda_T", "region.gdp", "sigma", "theta.labor"]


@pytest.mark.parametrize("table,over,message", [
    ({"uncertain": UNC, "sampler": "saltelli"}, {"samples": 100},
     r"sweep.samples: saltelli needs a power of two, got 100 \(use 64 or 128\)"),
    ({"uncertain": {"kappa": UNC["kappa"]}, "sampler": "saltelli"}, {"samples": 8},
     "sweep.sampler: saltelli needs at least two uncertainties of scope sample, got 1"),
])
def test_bad_saltelli_specs(table, over, message):
    with pytest.raises(SweepSpecError, match=message):
        spec_of(table, **over)
