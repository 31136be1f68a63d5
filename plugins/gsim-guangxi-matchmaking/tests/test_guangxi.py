"""Tests of the gsim-guangxi-matchmaking plugin; the plugin is registered explicitly."""

from pathlib import Path

import gsim_guangxi_matchmaking as gx
import numpy as np
import pytest

from gsim import load_scenario
from gsim.api import simulate
from gsim.events import EventError, EventSetup, build_events
from gsim.integrate import TimeGrid, batch_from_scenario, run_batch
from gsim.model.calibrate import calibrate
from gsim.model.layout import state_slices
from gsim.plugins import get_plugin_manager, get_policy, make_plugin_manager, use_plugin_manager

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "guangxi2025.toml"


@pytest.fixture
def pm():
    pm = make_plugin_manager(load_entrypoints=False, extra=(gx,))
    with use_plugin_manager(pm):
        yield pm


def _setup(sc, t1=2030.0):
    grid = TimeGrid(sc.run.t0, t1, sc.run.dt)
    return grid, EventSetup(grid.t0, grid.dt, grid.n_steps, sc.regions.name, sc.tiers, None, sc)


def events(specs, setup):
    return build_events(specs, setup, get_plugin_manager().event_types())


def test_registered(pm):
    assert pm.event_types()[gx.EVENT_NAME].plugin == "gsim_guangxi_matchmaking"


def test_capital_is_conserved_and_reaches_guangxi(pm):
    """Senders lose exactly signed × share; the pipeline gains that minus the move loss."""
    sc = load_scenario()
    grid, setup = _setup(sc)
    share = 0.4
    ev = events([{"type": gx.EVENT_NAME, "realised_share": share}], setup)
    assert len(ev) == 1 and min(ev[0].steps) == 16 and max(ev[0].steps) == 39  # 2025..2028
    inp = batch_from_scenario(sc)
    y = calibrate(inp).y0.copy()
    sl = state_slices(len(sc.regions), len(sc.tiers))
    K0 = y[:, sl["capital"][0]].sum()
    for k in sorted(ev[0].steps):
        ev[0].apply(k, 0.0, y, inp)
    moved = K0 - y[:, sl["capital"][0]].sum()
    assert moved == pytest.approx(gx.SIGNED_INVESTMENT_BN_CNY * share, rel=1e-9)
    g = sc.regions.name.index("Guangxi")
    X = y[:, sl["pipeline"][0]].reshape(len(sc.regions), -1)
    assert X[g].sum() == pytest.approx(moved * (1 - sc.params["ell_R"]), rel=1e-9)
    assert np.delete(X, g, axis=0).sum() == 0.0


def test_scenario_file_runs_and_raises_guangxi_output(pm):
    sc = load_scenario(SCENARIO)
    assert sc.events[0]["type"] == gx.EVENT_NAME
    with_event = simulate(sc, t1=2030.0)
    without = simulate(load_scenario(), "gradient", t1=2030.0)
    gdp = with_event.gdp.sel(region="Guangxi") / without.gdp.sel(region="Guangxi")
    assert float(gdp.isel(time=-1)) > 1.0


def test_bad_parameters_are_clear_errors(pm):
    sc = load_scenario()
    _, setup = _setup(sc)
    with pytest.raises(EventError, match="realised_share must be in"):
        events([{"type": gx.EVENT_NAME, "realised_share": 1.5}], setup)
    with pytest.raises(EventError, match="unknown parameter"):
        events([{"type": gx.EVENT_NAME, "realized": 0.5}], setup)
    with pytest.raises(EventError, match="tier_shares must sum to 1"):
        events([{"type": gx.EVENT_NAME, "tier_shares": {"labor": 0.5}}], setup)


def test_batch_of_runs(pm):
    sc = load_scenario()
    grid, setup = _setup(sc, t1=2026.0)
    ev = events([{"type": gx.EVENT_NAME}], setup)
    res = run_batch(batch_from_scenario(sc, 3), grid, get_policy("none"), {}, tiers=sc.tiers,
                    regions=sc.regions.name, events=ev)
    assert res.ok.all()
    g = sc.regions.name.index("Guangxi")
    assert (res.values["pipeline"][:, -1, g].sum(axis=-1) > 0).all()


def test_shipped_scenario_is_the_current_default_plus_the_event(pm):
    """The file is generated; it must not drift from gsim's default (regenerate with
    `gsim guangxi-scenario -o scenarios/guangxi2025.toml`)."""
    assert SCENARIO.read_text(encoding="utf-8") == gx.scenario_text()
