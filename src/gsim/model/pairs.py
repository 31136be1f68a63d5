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


def candidate_pairs(lat: np.ndarray, lon: np.ndarray, nearest: int | None) -> Pairs:
    """All ordered pairs r != q, or each sender's `nearest` receivers (ties: lower index)."""
    R = len(lat)
    d = haversine_km1000(np.asarray(lat, float), np.asarray(lon, float))
    if nearest is None:
        k = R - 1
        recv = np.array([np.r_[0:r, r + 1:R] for r in range(R)], np.int64).reshape(R, k)
    else:
        k = int(nearest)
        np.fill_diagonal(d, np.inf)  # a region is never its own receiver
        recv = np.argsort(d, axis=1, kind="stable")[:, :k].astype(np.int64)
    dist = np.ascontiguousarray(np.take_along_axis(d, recv, axis=1))
    return Pairs(recv=np.ascontiguousarray(recv), dist=dist, nrecv=np.full(R, k, np.int64))
