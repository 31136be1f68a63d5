"""gsim policy plugin: East-West pairing assistance (东西部协作).

Each western receiver has designated eastern partner provinces (the table ``pairs.csv`` in
this package; source and caveats in README.md). The policy ``pairing``:

- W[r, q, s] = 1 exactly when r is a designated partner of q (and, optionally, q's readiness
  for tier s is at least ``readiness``); 0 on every other pair: capital relocates only along
  designated pairs;
- z = 0 (no subsidies);
- psi[q] = ``aid`` for every receiver that has a partner in the scenario, 0 elsewhere: the
  sender pays the receiver's aid rate times each transfer into the receiver's infrastructure.

A contrast to the built-in ``gradient`` policy, which lets any richer region send to any
ready poorer one. Plain NumPy over the batch of runs.
"""

from __future__ import annotations

import csv
import functools
from importlib.resources import files

import numpy as np

from gsim import hookimpl
from gsim.policies import Policy, PolicyContext, zero_decision

__version__ = "0.1.0"


@functools.cache
def pairing_table() -> tuple[tuple[str, str], ...]:
    """(eastern partner, western receiver) pairs from the package data pairs.csv."""
    text = files("gsim_pairing").joinpath("pairs.csv").read_text(encoding="utf-8")
    return tuple((row["partner"].strip(), row["receiver"].strip())
                 for row in csv.DictReader(text.splitlines()))


@functools.lru_cache(maxsize=32)
def _masks(regions: tuple[str, ...], recv_bytes: bytes, shape: tuple[int, int]):
    """Pair mask (R, k) over the candidate pairs and receiver mask (R,) for these regions."""
    recv = np.frombuffer(recv_bytes, dtype=np.int64).reshape(shape)
    index = {name: i for i, name in enumerate(regions)}
    designated = np.zeros((len(regions), len(regions)), bool)
    for partner, receiver in pairing_table():
        if partner in index and receiver in index:
            designated[index[partner], index[receiver]] = True
    pair = np.take_along_axis(designated, recv, axis=1)  # (R, k)
    receives = designated.any(axis=0)  # (R,)
    return pair, receives


def decide(ctx: PolicyContext):
    W, z, psi = zero_decision(ctx.n_runs, ctx.pairs, len(ctx.tiers))
    recv = ctx.pairs.recv
    pair, receives = _masks(tuple(ctx.regions), np.ascontiguousarray(recv, np.int64).tobytes(),
                            recv.shape)
    floor = float(ctx.params["readiness"])
    allowed = np.broadcast_to(pair[None, :, :, None], W.shape)
    if floor > 0.0:
        allowed = allowed & (ctx["readiness"][:, recv, :] >= floor)  # receiver ready (B,R,k,S)
    W[allowed] = 1.0
    psi[:, receives] = float(ctx.params["aid"])
    return W, z, psi


POLICY = Policy(
    "pairing", decide, {"aid": 0.1, "readiness": 0.0},
    "East-West pairing assistance: transfers only from designated eastern partners to their "
    "western receivers (optionally only tiers the receiver is ready for), pairing aid psi to "
    "receivers.",
)


@hookimpl
def gsim_register_policies(register):
    register(POLICY)
