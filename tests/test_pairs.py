"""Candidate pairs: the KD-tree selection against the dense implementation it replaced."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from gsim.model.pairs import candidate_pairs, haversine_km1000
from gsim.scenario import load_scenario


def dense_candidate_pairs(lat, lon, nearest):
    """The previous implementation (full R x R matrix, stable sort of every row): the oracle."""
    lat, lon = np.asarray(lat, float), np.asarray(lon, float)
    R = len(lat)
    d = haversine_km1000(lat, lon)
    if nearest is None:
        k = R - 1
        recv = np.array([np.r_[0:r, r + 1:R] for r in range(R)], np.int64).reshape(R, k)
    else:
        k = int(nearest)
        np.fill_diagonal(d, np.inf)
        recv = np.argsort(d, axis=1, kind="stable")[:, :k].astype(np.int64)
    return recv, np.take_along_axis(d, recv, axis=1), np.full(R, k, np.int64)


def assert_same_pairs(lat, lon, nearest):
    new = candidate_pairs(lat, lon, nearest)
    recv, dist, nrecv = dense_candidate_pairs(lat, lon, nearest)
    np.testing.assert_array_equal(new.recv, recv)
    np.testing.assert_array_equal(new.dist.view(np.int64), dist.view(np.int64))  # same bits
    np.testing.assert_array_equal(new.nrecv, nrecv)
    assert new.recv.dtype == np.int64 and new.recv.flags.c_contiguous and new.dist.flags.c_contiguous


@st.composite
def positions(draw):
    """Regions on a sphere, often with ties: repeated points and points on a lattice, where
    distances to a sender come out exactly equal by symmetry."""
    R = draw(st.integers(2, 60))
    kind = draw(st.sampled_from(["random", "repeats", "lattice", "mixed"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    lat, lon = rng.uniform(-60, 70, R), rng.uniform(-180, 180, R)
    if kind in ("repeats", "mixed"):
        n = draw(st.integers(1, max(1, R // 2)))
        pick = rng.integers(0, n, R)
        lat, lon = lat[pick], lon[pick]
    if kind in ("lattice", "mixed"):
        step = draw(st.sampled_from([0.5, 1.0, 2.0]))
        on = rng.random(R) < (1.0 if kind == "lattice" else 0.5)
        lat = np.where(on, 30 + step * rng.integers(-3, 4, R), lat)
        lon = np.where(on, 110 + step * rng.integers(-3, 4, R), lon)
    nearest = draw(st.one_of(st.none(), st.integers(1, R - 1)))
    return lat, lon, nearest


@settings(max_examples=300, deadline=None)
@given(positions())
def test_kd_tree_selection_equals_the_dense_sort(case):
    assert_same_pairs(*case)


def test_many_regions_on_one_point_and_ties_at_the_kth_place():
    """More duplicates than the tree returns: those senders are ranked against all regions."""
    lat = np.r_[np.full(30, 31.0), [31.0, 32.0, 30.0, 31.0], np.linspace(20, 40, 20)]
    lon = np.r_[np.full(30, 121.0), [122.0, 121.0, 121.0, 120.0], np.linspace(100, 120, 20)]
    for nearest in (1, 3, 29, 30, 31, 33, 40, len(lat) - 1):
        assert_same_pairs(lat, lon, nearest)


def test_large_random_layout():
    rng = np.random.default_rng(7)
    lat, lon = rng.uniform(18, 50, 2000), rng.uniform(75, 135, 2000)
    assert_same_pairs(lat, lon, 32)


def test_scenario_pairs_are_built_once_per_scenario():
    import dataclasses

    sc = load_scenario()
    assert sc.pairs is sc.pairs
    c = dataclasses.replace(sc, nearest=5).pairs
    assert c is not sc.pairs and c.k == 5
    np.testing.assert_array_equal(c.recv, dense_candidate_pairs(sc.regions.lat, sc.regions.lon, 5)[0])
