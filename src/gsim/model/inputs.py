"""Numeric inputs of a batch of runs: parameters packed into arrays, candidate pairs, layout.

The compiled kernels see only plain arrays. This module is the one place that says which
column of the scalar-parameter matrix holds which parameter and how a run's state vector is
laid out, so the kernels, the calibration and the output code agree by construction.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from gsim.scenario import SCALAR_DEFAULTS, TIER_DEFAULTS, Scenario

# Column of each scalar parameter in the (B, NP) matrix `sp`.
SCALAR_NAMES: tuple[str, ...] = tuple(SCALAR_DEFAULTS)
SP = {name: i for i, name in enumerate(SCALAR_NAMES)}
# Row of each per-tier parameter in the (B, NT, S) array `tp`.
TIER_NAMES: tuple[str, ...] = tuple(TIER_DEFAULTS)
TP = {name: i for i, name in enumerate(TIER_NAMES)}

# Region data columns in the (B, NREG, R) array `reg` (those a sweep may scale per run).
REGION_COLUMNS: tuple[str, ...] = ("gdp", "population", "schooling")

# Stocks in the order of the flat state vector: (name, per-tier?)
STOCKS: tuple[tuple[str, bool], ...] = (
    ("capital", True),
    ("technology", True),
    ("pipeline", True),
    ("pipeline_technology", True),
    ("labor_force", False),
    ("wage", False),
    ("skills", False),
    ("infrastructure", False),
    ("price", None),  # per tier only (no region axis)
)


def state_slices(R: int, S: int) -> dict[str, tuple[slice, tuple[int, ...]]]:
    """Offsets and shapes of each stock inside a run's flat state vector."""
    out, at = {}, 0
    for name, tiered in STOCKS:
        shape = (R, S) if tiered else ((R,) if tiered is False else (S,))
        size = math.prod(shape)
        out[name] = (slice(at, at + size), shape)
        at += size
    return out


def state_size(R: int, S: int) -> int:
    return 4 * R * S + 4 * R + S


@dataclass(frozen=True, eq=False)
class Pairs:
    """Candidate (sender, receiver) pairs as a padded adjacency list.

    recv[r, j] is the j-th receiver of sender r (j < nrecv[r]); dist[r, j] is d_rq in 1000 km.
    """

    recv: np.ndarray  # (R, k) int64
    dist: np.ndarray  # (R, k) float64
    nrecv: np.ndarray  # (R,) int64

    @property
    def k(self) -> int:
        return self.recv.shape[1]


def haversine_km1000(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Great-circle distances (R, R) in 1000 km on a sphere of radius 6371 km."""
    la, lo = np.radians(lat), np.radians(lon)
    dla = la[:, None] - la[None, :]
    dlo = lo[:, None] - lo[None, :]
    a = np.sin(dla / 2) ** 2 + np.cos(la[:, None]) * np.cos(la[None, :]) * np.sin(dlo / 2) ** 2
    return 2 * 6.371 * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def _pair_distances(lat: np.ndarray, lon: np.ndarray, r: np.ndarray, q: np.ndarray) -> np.ndarray:
    """d[r, q] of `haversine_km1000` for the given pairs only, with the same operations (so
    the same bits)."""
    la, lo = np.radians(lat), np.radians(lon)
    cl = np.cos(la)
    a = np.sin((la[r] - la[q]) / 2) ** 2 + cl[r] * cl[q] * np.sin((lo[r] - lo[q]) / 2) ** 2
    return 2 * 6.371 * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


# Receivers the KD-tree returns beyond the k nearest, so that most distance ties at the
# k-th place are settled without ranking the sender's row against all regions.
_SPARE = 8


def _nearest(lat: np.ndarray, lon: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each sender's k nearest receivers by haversine distance, ties to the lower index.

    A KD-tree on unit vectors proposes k + _SPARE candidates per sender (chord distance
    ranks like great-circle distance); they are ranked by their haversine distance, the
    very values of `haversine_km1000`. A sender whose k-th distance is not clearly below
    the closest receiver the tree left out (a tie or near tie across that line) is ranked
    against all regions instead, one row at a time: memory stays O(R k)."""
    from scipy.spatial import cKDTree  # a heavy import, needed only here (CLI start-up time)

    R = len(lat)
    la, lo = np.radians(lat), np.radians(lon)
    xyz = np.column_stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)])
    m = min(R, k + 1 + _SPARE)
    chord, cand = cKDTree(xyz).query(xyz, k=m)
    rows = np.arange(R)
    at = np.argmax(cand == rows[:, None], axis=1)
    has_self = cand[rows, at] == rows  # else more than m regions sit on the sender's point
    keep = np.ones((R, m), bool)
    keep[rows, np.where(has_self, at, m - 1)] = False
    others = cand[keep].reshape(R, m - 1)
    d = _pair_distances(lat, lon, np.repeat(rows, m - 1), others.ravel()).reshape(R, m - 1)
    order = np.lexsort((others, d))[:, :k]  # by distance, then by index
    recv = np.take_along_axis(others, order, axis=1).astype(np.int64)
    dist = np.take_along_axis(d, order, axis=1)
    exact = ~has_self
    if m < R:  # the receivers the tree left out are at least this far (with a rounding margin)
        floor = 2 * 6.371 * np.arcsin(np.clip(chord[:, -1] - 1e-12, 0.0, 2.0) / 2)
        exact |= dist[:, -1] + 1e-6 >= floor
    for r in np.flatnonzero(exact):
        row = _pair_distances(lat, lon, np.full(R, r), rows)
        row[r] = np.inf  # a region is never its own receiver
        recv[r] = np.argsort(row, kind="stable")[:k]
        dist[r] = row[recv[r]]
    return recv, dist


def candidate_pairs(lat: np.ndarray, lon: np.ndarray, nearest: int | None) -> Pairs:
    """All ordered pairs r != q, or each sender's `nearest` receivers (ties: lower index)."""
    lat, lon = np.asarray(lat, float), np.asarray(lon, float)
    R = len(lat)
    if nearest is None:
        k = R - 1
        recv = np.array([np.r_[0:r, r + 1:R] for r in range(R)], np.int64).reshape(R, k)
        dist = np.take_along_axis(haversine_km1000(lat, lon), recv, axis=1)
    else:
        k = int(nearest)
        recv, dist = _nearest(lat, lon, k)
    return Pairs(recv=np.ascontiguousarray(recv), dist=np.ascontiguousarray(dist), nrecv=np.full(R, k, np.int64))


@dataclass(frozen=True, eq=False)
class BatchInputs:
    """Everything the kernels need for B runs of one scenario layout (same regions, tiers)."""

    sp: np.ndarray  # (B, NP) scalar parameters, columns SCALAR_NAMES
    tp: np.ndarray  # (B, NT, S) per-tier parameters, rows TIER_NAMES
    reg: np.ndarray  # (B, 3, R) region data: gdp, population, schooling
    shares: np.ndarray  # (B, R, S) tier output shares
    pairs: Pairs

    @property
    def n_runs(self) -> int:
        return self.sp.shape[0]

    @property
    def n_regions(self) -> int:
        return self.reg.shape[2]

    @property
    def n_tiers(self) -> int:
        return self.tp.shape[2]


def scenario_pairs(sc: Scenario) -> Pairs:
    """The scenario's candidate pairs, built once per (positions, nearest) in a process."""
    lat, lon = np.asarray(sc.regions.lat, float), np.asarray(sc.regions.lon, float)
    return _cached_pairs(lat.tobytes(), lon.tobytes(), sc.nearest)


@functools.lru_cache(maxsize=8)
def _cached_pairs(lat: bytes, lon: bytes, nearest: int | None) -> Pairs:
    return candidate_pairs(np.frombuffer(lat), np.frombuffer(lon), nearest)


def batch_from_scenario(sc: Scenario, n_runs: int = 1, pairs: Pairs | None = None) -> BatchInputs:
    """The scenario's values repeated for `n_runs` runs (a sweep then edits columns)."""
    sp = np.array([[float(sc.params[n]) for n in SCALAR_NAMES]])
    tp = np.array([[np.asarray(sc.tier_params[n], float) for n in TIER_NAMES]])
    rg = sc.regions
    reg = np.array([[rg.gdp, rg.population, rg.schooling]], float)
    shares = np.asarray(rg.shares, float)[None]
    rep = lambda a: np.ascontiguousarray(np.repeat(a, n_runs, axis=0))  # noqa: E731
    return BatchInputs(
        sp=rep(sp), tp=rep(tp), reg=rep(reg), shares=rep(shares),
        pairs=pairs if pairs is not None else scenario_pairs(sc),
    )
