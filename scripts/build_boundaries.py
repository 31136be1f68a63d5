"""Rebuild src/gsim/data/china31_boundaries.json, the outlines of the 31 provinces drawn under
the province map, from Natural Earth's admin-1 states and provinces (public domain).

Not part of the package (nothing imports it); it documents and repeats what
src/gsim/data/china31_boundaries.SOURCES.md describes.

    python scripts/build_boundaries.py FTCHINESE_GIT_DIR [OUT_DIR]

FTCHINESE_GIT_DIR is a clone (a bare one will do) of FTChinese/map-geojson, whose
geojson-china/mainland.json holds the China (adm0_a3 CHN) features of Natural Earth's
ne_10m_admin_1_states_provinces, as extracted with ogr2ogr and simplified with mapshaper there.
The 1:50m admin-1 layer has no Chinese provinces, and the 1:10m layer whole is too large for the
pinned GeoJSON mirrors. The file is read with ``git show`` at the pinned commit. OUT_DIR defaults
to src/gsim/data next to this script.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

SOURCE_COMMIT = "21f48ed9635048ecb40de8755b0a319f06b0ca63"
SOURCE_FILE = "geojson-china/mainland.json"
TOLERANCE = 0.02  # degrees, Douglas-Peucker
DECIMALS = 2  # 0.01 degrees, about 1 km

# Natural Earth name -> china31.csv name, every one of the 31 spelled out
NAMES = {
    "Beijing": "Beijing", "Tianjin": "Tianjin", "Hebei": "Hebei", "Shanxi": "Shanxi",
    "Inner Mongol": "Inner Mongolia", "Liaoning": "Liaoning", "Jilin": "Jilin",
    "Heilongjiang": "Heilongjiang", "Shanghai": "Shanghai", "Jiangsu": "Jiangsu",
    "Zhejiang": "Zhejiang", "Anhui": "Anhui", "Fujian": "Fujian", "Jiangxi": "Jiangxi",
    "Shandong": "Shandong", "Henan": "Henan", "Hubei": "Hubei", "Hunan": "Hunan",
    "Guangdong": "Guangdong", "Guangxi": "Guangxi", "Hainan": "Hainan", "Chongqing": "Chongqing",
    "Sichuan": "Sichuan", "Guizhou": "Guizhou", "Yunnan": "Yunnan", "Xizang": "Tibet",
    "Shaanxi": "Shaanxi", "Gansu": "Gansu", "Qinghai": "Qinghai", "Ningxia": "Ningxia",
    "Xinjiang": "Xinjiang",
}
# features of the source that are not scenario regions (no geometry in the source either)
SKIPPED = {"Paracel Islands"}


def douglas_peucker(points: list[tuple[float, float]], tol: float) -> list[tuple[float, float]]:
    """The points of a polyline that stay within `tol` of the original (first and last kept)."""
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        i, j = stack.pop()
        (x0, y0), (x1, y1) = points[i], points[j]
        dx, dy = x1 - x0, y1 - y0
        norm = (dx * dx + dy * dy) ** 0.5
        far, far_d = -1, tol
        for k in range(i + 1, j):
            x, y = points[k]
            d = abs(dy * (x - x0) - dx * (y - y0)) / norm if norm else ((x - x0) ** 2 + (y - y0) ** 2) ** 0.5
            if d > far_d:
                far, far_d = k, d
        if far >= 0:
            keep[far] = True
            stack += [(i, far), (far, j)]
    return [p for p, k in zip(points, keep) if k]


def simplify_ring(ring: list[list[float]]) -> list[list[float]] | None:
    """A closed ring simplified and rounded; None when fewer than 3 distinct points remain.
    The ring is split at its farthest point from the start so both halves keep their ends."""
    pts = [(float(x), float(y)) for x, y in ring]
    if pts[0] != pts[-1]:
        pts.append(pts[0])
    x0, y0 = pts[0]
    mid = max(range(len(pts)), key=lambda k: (pts[k][0] - x0) ** 2 + (pts[k][1] - y0) ** 2)
    half = douglas_peucker(pts[:mid + 1], TOLERANCE)
    kept = half[:-1] + douglas_peucker(pts[mid:], TOLERANCE) if mid > 0 else pts
    out: list[list[float]] = []
    for x, y in kept:
        p = [round(x, DECIMALS), round(y, DECIMALS)]
        if not out or p != out[-1]:
            out.append(p)
    if out[0] != out[-1]:
        out.append(out[0])
    return out if len({tuple(p) for p in out}) >= 3 else None


def polygons(geometry: dict) -> list[list[list[list[float]]]]:
    coords = geometry["coordinates"]
    return [coords] if geometry["type"] == "Polygon" else coords


def main(argv: list[str]) -> None:
    if not 1 <= len(argv) <= 2:
        raise SystemExit(__doc__)
    src = Path(argv[0])
    out = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent.parent / "src" / "gsim" / "data"
    text = subprocess.run(["git", "--git-dir", str(src), "show", f"{SOURCE_COMMIT}:{SOURCE_FILE}"],
                          check=True, capture_output=True).stdout.decode("utf-8")
    with (out / "china31.csv").open(encoding="utf-8") as f:
        order = [row["region"] for row in csv.DictReader(f)]
    if sorted(NAMES.values()) != sorted(order):
        raise SystemExit("NAMES does not map onto the regions of china31.csv")
    shapes: dict[str, list] = {}
    for feature in json.loads(text)["features"]:
        p = feature["properties"]
        if p["adm0_a3"] != "CHN":
            raise SystemExit(f"a feature of {p['adm0_a3']} in {SOURCE_FILE}")
        if p["name"] in SKIPPED:
            continue
        if p["name"] not in NAMES:
            raise SystemExit(f"unknown province {p['name']!r}: add it to NAMES or SKIPPED")
        region = NAMES[p["name"]]
        if region in shapes:
            raise SystemExit(f"{region} appears twice")
        polys = []
        for poly in polygons(feature["geometry"]):
            outer = simplify_ring(poly[0])
            if outer is not None:  # an island smaller than the tolerance is dropped
                polys.append([outer, *(r for r in map(simplify_ring, poly[1:]) if r is not None)])
        shapes[region] = polys
    missing = [r for r in order if r not in shapes]
    if missing:
        raise SystemExit(f"no outline for {', '.join(missing)}")
    doc = {"source": f"Natural Earth ne_10m_admin_1_states_provinces via FTChinese/map-geojson "
                     f"{SOURCE_COMMIT[:7]} {SOURCE_FILE}; Douglas-Peucker {TOLERANCE} deg, rounded to "
                     f"{10 ** -DECIMALS:g} deg; see china31_boundaries.SOURCES.md",
           "regions": {r: shapes[r] for r in order}}
    target = out / "china31_boundaries.json"
    target.write_text(json.dumps(doc, separators=(",", ":")) + "\n", encoding="utf-8")
    points = sum(len(ring) for polys in shapes.values() for poly in polys for ring in poly)
    print(f"{target}: {len(shapes)} regions, {points} points, {target.stat().st_size} bytes")


if __name__ == "__main__":
    main(sys.argv[1:])
