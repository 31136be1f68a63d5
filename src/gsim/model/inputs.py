"""Numeric inputs of a batch of runs: parameters packed into arrays, region data, pairs.

The compiled kernels see only plain arrays; `gsim.model.layout` says which column or row of
them holds which parameter.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from gsim.model.layout import SCALAR_NAMES, SP, TIER_NAMES, TP
from gsim.model.pairs import Pairs


@dataclass(frozen=True, eq=False)
class BatchInputs:
    """Everything the kernels need for B runs of one scenario layout (same regions, tiers)."""

    sp: np.ndarray  # (B, NP) scalar parameters, columns layout.SCALAR_NAMES
    tp: np.ndarray  # (B, NT, S) per-tier parameters, rows layout.TIER_NAMES
    reg: np.ndarray  # (B, 5, R) region data, rows layout.REGION_COLUMNS
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

    def repeat(self, n: int) -> BatchInputs:
        """The inputs of run 0 repeated for `n` runs (a sweep then edits columns)."""
        rep = lambda a: np.ascontiguousarray(np.repeat(a[:1], n, axis=0))  # noqa: E731
        return BatchInputs(rep(self.sp), rep(self.tp), rep(self.reg), rep(self.shares), self.pairs)

    def with_params(self) -> BatchInputs:
        """A copy whose parameter arrays (sp, tp) may be edited (e.g. by events)."""
        return BatchInputs(self.sp.copy(), self.tp.copy(), self.reg, self.shares, self.pairs)

    def run(self, b: int) -> BatchInputs:
        """Run b alone, as views (edits reach this batch's arrays)."""
        one = slice(b, b + 1)
        return BatchInputs(self.sp[one], self.tp[one], self.reg[one], self.shares[one], self.pairs)

    @property
    def model_params(self) -> ModelParams:
        return ModelParams(self.sp, self.tp)


class ModelParams(Mapping[str, np.ndarray]):
    """A batch's model parameters by name, as read-only views: (B,) for a scalar parameter,
    (B, S) for a per-tier one (what policies see as ``ctx.model``)."""

    def __init__(self, sp: np.ndarray, tp: np.ndarray):
        self.sp, self.tp = sp, tp

    def __getitem__(self, name: str) -> np.ndarray:
        if name in SP:
            v = self.sp[:, SP[name]]
        elif name in TP:
            v = self.tp[:, TP[name]]
        else:
            raise KeyError(f"unknown model parameter {name!r}")
        v = v.view()
        v.flags.writeable = False
        return v

    def __iter__(self) -> Iterator[str]:
        return iter(SCALAR_NAMES + TIER_NAMES)

    def __len__(self) -> int:
        return len(SCALAR_NAMES) + len(TIER_NAMES)
