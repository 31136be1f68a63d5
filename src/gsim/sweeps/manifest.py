"""The manifest of a sweep store: hashes of everything readers rely on besides the data.

Written last when a store is created, into the attributes of its ``check`` group: a hash of
each root attribute (policies, samples, replicates, save level, components, ...) and of each
array's metadata document (its ``zarr.json``: data type, shape, chunks, fill value, codecs,
dimension names, attributes), and a ``seal`` over the check group's own bookkeeping
(``covers``, ``coordinates``, ``manifest``). `differences` says, in words, what no longer
agrees. These are checks against damage and unaware tools, not a signature: whoever edits a
value and its hash alike is not detected.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from hashlib import blake2b
from pathlib import Path
from typing import Any

CHECK = "check"  # the bookkeeping group
SEALED = ("covers", "coordinates", "manifest")  # the check group's attributes the seal covers


def json_digest(value: Any) -> str:
    """Hash of a JSON value, independent of key order and whitespace."""
    raw = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return blake2b(raw.encode(), digest_size=16).hexdigest()


def array_names(path: Path) -> list[str]:
    """Every array of the store (a folder holding a zarr.json), the check group's as
    ``check/NAME``; read from the file system, so a damaged array is listed too."""
    def arrays(folder: Path, prefix: str = "") -> list[str]:
        return [prefix + d.name for d in folder.iterdir()
                if d.is_dir() and d.name != CHECK and (d / "zarr.json").is_file()]

    return sorted([*arrays(path), *arrays(path / CHECK, f"{CHECK}/")])


def array_metadata(path: Path, name: str) -> Any:
    """An array's metadata document (its zarr.json), parsed; read from the file itself so that
    every key counts, including those zarr would ignore."""
    return json.loads((path / name / "zarr.json").read_text())


def seal_of(check_attrs: Mapping[str, Any]) -> str:
    """Hash of the check group's own bookkeeping."""
    return json_digest({k: check_attrs.get(k) for k in SEALED})


def sealed(root_attrs: Mapping[str, Any], check_attrs: Mapping[str, Any], path: Path) -> dict[str, Any]:
    """The check group's new attributes `manifest` and `seal` for the store at `path`."""
    manifest = {"attributes": {k: json_digest(v) for k, v in root_attrs.items()},
                "arrays": {n: json_digest(array_metadata(path, n)) for n in array_names(path)}}
    return {"manifest": manifest, "seal": seal_of({**check_attrs, "manifest": manifest})}


def differences(root_attrs: Mapping[str, Any], check_attrs: Mapping[str, Any], path: Path) -> list[str]:
    """What differs from the manifest, one phrase each; [] when all agree. OSError if the
    store cannot be read."""
    if "manifest" not in check_attrs or check_attrs.get("seal") != seal_of(check_attrs):
        return ["the check group's attributes (covers, coordinate hashes, manifest) are altered"]
    want = check_attrs["manifest"]
    out = []
    for k in sorted(set(want["attributes"]) | set(root_attrs)):
        if k not in root_attrs:
            out.append(f"attribute {k!r} is missing")
        elif k not in want["attributes"]:
            out.append(f"attribute {k!r} was added")
        elif json_digest(root_attrs[k]) != want["attributes"][k]:
            out.append(f"attribute {k!r} is altered")
    names = array_names(path)
    for n in sorted(set(want["arrays"]) | set(names)):
        if n not in want["arrays"]:
            out.append(f"array {n!r} was added")
            continue
        try:
            ok = json_digest(array_metadata(path, n)) == want["arrays"][n]
        except FileNotFoundError:
            out.append(f"the metadata of array {n!r} is missing")
            continue
        except ValueError:  # not JSON
            ok = False
        if not ok:
            out.append(f"the metadata of array {n!r} is altered")
    return out
