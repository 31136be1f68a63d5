"""The shipped province outlines (Natural Earth) and the map that draws them: the file has the 31
regions of china31.csv, each outline agrees with that region's coordinates (an independent
check of the Natural Earth → china31 name mapping), bad files are one-line errors, and the map
draws the outlines for the shipped provinces only, rendering any other scenario's regions."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import xarray as xr
from matplotlib.collections import LineCollection
from matplotlib.path import Path as MplPath

from gsim.analysis import figures as fg
from gsim.observed import ObservedDataError, load_boundaries, province_outlines, regions
from gsim.scenario import load_scenario

SC = load_scenario()


def centroid(polys) -> tuple[float, float]:
    """Area-weighted centroid (lon, lat) of polygons with holes, by the shoelace formula."""
    total = cx = cy = 0.0
    for poly in polys:
        for k, ring in enumerate(poly):
            x, y = np.asarray(ring).T
            cross = x[:-1] * y[1:] - x[1:] * y[:-1]
            a = cross.sum() / 2
            sign = (1.0 if k == 0 else -1.0) * np.sign(a)  # outer adds, holes subtract
            total += sign * a
            cx += sign * ((x[:-1] + x[1:]) * cross).sum() / 6
            cy += sign * ((y[:-1] + y[1:]) * cross).sum() / 6
    return cx / total, cy / total


def test_the_shipped_outlines_are_the_31_regions_of_china31():
    shapes = load_boundaries()
    assert list(shapes) == list(regions()) == list(SC.regions.name)
    assert all(len(poly[0]) >= 4 for polys in shapes.values() for poly in polys)


def test_each_outline_holds_its_own_capital_and_centres_near_it():
    """china31.csv's coordinates (capitals, from an unrelated source) lie inside the outline of
    the same name and of no other, and each outline's centroid is within 5 degrees of them
    (Qinghai is the farthest: Xining sits at its eastern edge)."""
    shapes = load_boundaries()
    paths = {n: [MplPath(np.asarray(p[0])) for p in polys] for n, polys in shapes.items()}
    for name, lat, lon in zip(SC.regions.name, SC.regions.lat, SC.regions.lon):
        holders = [n for n, ps in paths.items() if any(p.contains_point((lon, lat)) for p in ps)]
        assert holders == [name]
        cx, cy = centroid(shapes[name])
        assert np.hypot((cx - lon) * np.cos(np.deg2rad(lat)), cy - lat) < 5.0, name


def test_the_shipped_file_is_small():
    from importlib.resources import files

    assert len(files("gsim").joinpath("data/china31_boundaries.json").read_bytes()) < 200_000


RING = [[0, 0], [1, 0], [1, 1], [0, 0]]


@pytest.mark.parametrize(("text", "message"), [
    ("{", "line 1: invalid JSON"),
    ("[]", "regions: missing"),
    ('{"regions": {}}', "regions: missing"),
    ('{"regions": {"A": []}}', "regions.A: not a non-empty list of polygons"),
    ('{"regions": {"A": [[]]}}', "regions.A: polygon 0: not a non-empty list"),
    ('{"regions": {"A": [[[[0, 0], [1, 0], [0, 0]]]]}}', "regions.A: polygon 0 ring 0: not a closed ring"),
    ('{"regions": {"A": [[[[0, 0], [1, 0], [1, 1], [0, 1]]]]}}', "not a closed ring"),
    ('{"regions": {"A": [[[[0, 0], [1, "x"], [1, 1], [0, 0]]]]}}', "ring 0: point 1: not a pair of finite numbers"),
    ('{"regions": {"A": [[[[0, 0], [1, NaN], [1, 1], [0, 0]]]]}}', "point 1: not a pair of finite numbers"),
    ('{"regions": {"A": [[[[0, 0], [200, 0], [1, 1], [0, 0]]]]}}', "point 1: (200, 0) is not a (lon, lat)"),
    (f'{{"regions": {{"A": [[{RING}]], "A": [[{RING}]]}}}}', "A: appears twice"),
])
def test_a_bad_outline_file_is_a_one_line_error(tmp_path, text, message):
    p = tmp_path / "b.json"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(ObservedDataError) as e:
        load_boundaries(p)
    assert str(e.value).startswith(f"{p}: ") and message in str(e.value) and "\n" not in str(e.value)


def test_a_good_outline_file_loads(tmp_path):
    p = tmp_path / "b.json"
    p.write_text(json.dumps({"regions": {"A": [[RING, RING]], "B": [[RING], [RING]]}}), encoding="utf-8")
    shapes = load_boundaries(p)
    assert list(shapes) == ["A", "B"] and shapes["A"][0][1] == ((0, 0), (1, 0), (1, 1), (0, 0))
    with pytest.raises(ObservedDataError, match="no such file"):
        load_boundaries(tmp_path / "none.json")


def test_outlines_only_for_the_shipped_provinces():
    shipped = load_boundaries()
    rings = sum(len(poly) for polys in shipped.values() for poly in polys)
    assert len(province_outlines(list(regions()))) == rings
    assert len(province_outlines(["Beijing", "Tianjin"])) == sum(len(p) for n in ("Beijing", "Tianjin")
                                                                 for p in shipped[n])
    assert province_outlines(["Beijing", "r1"]) == [] and province_outlines(["r0", "r1"]) == []
    assert province_outlines([]) == []


def run_of(names, lat, lon) -> xr.Dataset:
    """A run Dataset shaped like `gsim.simulate`'s, with made-up transfers (no model run)."""
    rng = np.random.default_rng(1)
    R, times = len(names), np.arange(2024.0, 2028.0)
    flows = {n: (("time", "region", "tier"), rng.uniform(0, 5, (len(times), R, 2)), {"units": "bn CNY/yr"})
             for n in ("transfer_out", "transfer_in")}
    coords = {"time": times, "region": list(names), "tier": ["low", "high"], "lat": ("region", lat),
              "lon": ("region", lon), "region_group": ("region", ["sending" if i % 3 else "" for i in range(R)])}
    return xr.Dataset(flows, coords=coords, attrs={"policy": "gradient"})


def boundary_collections(ax) -> list[LineCollection]:
    return [c for c in ax.collections if c.get_label() == fg.BOUNDARIES_LABEL]


def test_the_map_of_the_default_regions_draws_the_outlines_under_the_circles():
    fig = fg.transfer_flows(run_of(SC.regions.name, SC.regions.lat, SC.regions.lon))
    ax = fig.axes[0]
    (lines,) = boundary_collections(ax)
    circles = ax.collections[0]
    assert lines.get_zorder() < circles.get_zorder()
    shipped = load_boundaries()
    want = [np.asarray(ring) for n in SC.regions.name for poly in shipped[n] for ring in poly]
    got = lines.get_segments()
    assert len(got) == len(want) and all(np.array_equal(g, w) for g, w in zip(got, want))
    fig.savefig(io.BytesIO(), format="png")


def test_the_map_of_other_regions_renders_without_outlines():
    rng = np.random.default_rng(2)
    names = [f"r{i}" for i in range(6)]
    fig = fg.transfer_flows(run_of(names, rng.uniform(20, 48, 6), rng.uniform(85, 130, 6)))
    ax = fig.axes[0]
    assert boundary_collections(ax) == [] and len(ax.collections[0].get_offsets()) == 6
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    assert buf.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"
