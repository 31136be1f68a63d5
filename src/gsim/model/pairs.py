"""Candidate (sender, receiver) pairs of spec §3: all ordered pairs, or each sender's k nearest."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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
