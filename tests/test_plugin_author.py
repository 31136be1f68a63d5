"""What a third-party plugin author meets: a policy with its own levers, an event, an
indicator, used together in runs, sweeps, claims and optimisation."""

from __future__ import annotations

import types

import numpy as np
from helpers import THREE_REGIONS_TOML
from gsim.indicators import Indicator
from gsim.plugins import make_plugin_manager, use_plugin_manager
from gsim.scenario import loads_scenario
from gsim.sweeps import open_sweep, sweep
from gsim.sweeps.engine import LocalExecutor

import gsim


def east_share(ds):
    """The East's share of labour-tier capital."""
    cap = ds.capital.isel(tier=0)
    return cap.where(ds.macro_region == "East", 0).sum("region") / cap.sum("region")


EAST = Indicator("east_share", east_share, "1", "East's share of labour-tier capital")


def indicator_plugin():
    def gsim_register_indicators(register):
        register(EAST)

    return types.SimpleNamespace(__name__="author", gsim_register_indicators=gsim.hookimpl(gsim_register_indicators))


def test_sweep_with_indicator_and_late_event(tmp_path):
    """A plugin indicator's dimensions are probed on a short run; an event acting after that
    probe's end must not make the sweep fail."""
    sc = loads_scenario(THREE_REGIONS_TOML + """
[[events]]
type = "parameter_change"
name = "tau_T"
value = 1.0
year = 2025.0
""")
    pm = make_plugin_manager(load_entrypoints=False, extra=(indicator_plugin(),), strict=True)
    with use_plugin_manager(pm):
        sweep(tmp_path / "s.zarr", sc, {"samples": 2, "policies": "market", "block_size": 2},
              executor=LocalExecutor(1))
        share = open_sweep(tmp_path / "s.zarr").east_share
    assert share.dims[-1] == "time" and "region" not in share.dims
    assert np.isfinite(share.values).all() and ((share > 0) & (share < 1)).all()
