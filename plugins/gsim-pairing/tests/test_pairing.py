"""Tests of the gsim-pairing plugin; the plugin is registered explicitly (not via whatever
happens to be installed)."""

import gsim_pairing
import numpy as np
import pytest

from gsim.api import simulate
from gsim.plugins import make_plugin_manager, use_plugin_manager
from gsim.policies import probe_context


@pytest.fixture
def pm():
    pm = make_plugin_manager(load_entrypoints=False, extra=(gsim_pairing,))
    with use_plugin_manager(pm):
        yield pm


def test_table_has_the_documented_pairs():
    table = gsim_pairing.pairing_table()
    assert len(table) == 11
    assert ("Guangdong", "Guangxi") in table and ("Shandong", "Gansu") in table
    assert len({p for p, _ in table}) == 8 and len({r for _, r in table}) == 10


def test_registered_and_probed(pm):
    assert pm.policies()["pairing"].plugin == "gsim_pairing"


def test_decision_only_along_designated_pairs():
    ctx = probe_context({"aid": 0.2, "readiness": 0.0})
    regions = ("Guangdong", "Guangxi", "Beijing")
    ctx = type(ctx)(ctx.t, ctx.params, ctx.tiers, regions, ctx.pairs, ctx.values)
    W, z, psi = gsim_pairing.decide(ctx)
    recv = ctx.pairs.recv
    for r in range(3):
        for j in range(recv.shape[1]):
            expect = (regions[r], regions[recv[r, j]]) == ("Guangdong", "Guangxi")
            assert (W[:, r, j, :] == (1.0 if expect else 0.0)).all()
    assert (z == 0).all()
    assert (psi[:, 1] == 0.2).all() and (psi[:, [0, 2]] == 0).all()


def test_run_transfers_only_into_paired_receivers(pm):
    ds = simulate(None, "pairing", t1=2028.0)
    receivers = {r for _, r in gsim_pairing.pairing_table()}
    tin = ds.transfer_in.sum("tier").isel(time=-1).to_series()
    assert tin[[r for r in tin.index if r not in receivers]].abs().max() == 0.0
    assert (tin[sorted(receivers)] > 0).sum() >= 5  # the model decides whether a pair moves
    assert np.isfinite(ds.real_gdp).all()
