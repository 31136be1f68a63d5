"""Store tampering (issue 17): whatever is edited in a store (an attribute, a lost `done`
chunk, an array's data type in its metadata, two chunks swapped), every reader either answers
exactly as it does on the intact store or refuses with exit code 65 (StoreDamaged). A lost
`done` chunk is the one edit with a third allowed answer: its runs are pending, exactly as if
they had never been computed.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
import zarr
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs

from gsim.cli import main
from gsim.sweeps import store as st
from gsim.sweeps.engine import LocalExecutor, sweep

OPTS = {"samples": 6, "t1": 2025, "block_size": 2}  # 24 runs in 3 blocks of 8 (4 policies)
BLOCKS = 3
REFUSED = "refused (65)"
ARRAYS = ("real_gdp", "theil", "overcapacity", "status", "done", "fault", "kappa", "time", "policy",
          "sample", "check/checksum")


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("ref") / "s.zarr"
    sweep(p, None, OPTS, executor=LocalExecutor(1))
    return p


def _cli(store: Path, args: list[str], out: Path | None = None):
    r = CliRunner().invoke(main, args)
    assert "Traceback" not in r.output, r.output
    if r.exit_code == 65:
        assert len(r.output.strip().splitlines()) == 1, r.output
        return REFUSED
    assert r.exit_code == 0, (args, r.output)
    text = r.output.replace(str(store), "STORE")
    if out is None:
        return text
    return text.replace(str(out), "OUT"), out.read_text().replace(str(store), "STORE")


def _dataset(store: Path, layout: str):
    try:
        ds = st.open_sweep(store, layout)
    except st.StoreDamaged:
        return REFUSED
    keep = ("real_gdp", "theil", "overcapacity", "status", "kappa", "policy", "sample")
    # as JSON text: NaN equals NaN there, as it does not in a list of floats
    return {k: json.dumps(np.asarray(ds[k].values).tolist()) for k in keep if k in ds.variables} | {
        "attrs": {k: v for k, v in ds.attrs.items() if k.startswith("n_")}}


def answers(store: Path) -> dict[str, object]:
    """What every reader says about `store`, named by a relative path of the same length
    for every store (`s.zarr`, from its folder), so that wrapped lines wrap alike."""
    work = Path(tempfile.mkdtemp(prefix="answers-"))
    here = os.getcwd()
    os.chdir(store.parent)
    rel = Path(store.name)
    try:
        csv = work / "x.csv"
        return {
            "summary": _cli(rel, ["summary", str(rel), "--all"]),
            "quicklook": _cli(rel, ["summary", str(rel)]),
            "claims": _cli(rel, ["claims", str(rel)]),
            "export": _cli(rel, ["export", str(rel), "--csv", str(csv)], csv),
            "paired": _dataset(rel, "paired"),
            "flat": _dataset(rel, "flat"),
        }
    finally:
        os.chdir(here)
        shutil.rmtree(work, ignore_errors=True)


_INTACT: dict[str, dict[str, object]] = {}


def intact(reference: Path) -> dict[str, object]:
    """The answers on the intact store (computed once; not a fixture, so that hypothesis does
    not print it with every example)."""
    if str(reference) not in _INTACT:
        _INTACT[str(reference)] = answers(reference)
    return _INTACT[str(reference)]


def _chunk(store: Path, name: str, block: int) -> Path:
    p = store / name / "c" / str(block)
    while p.is_dir():
        p = p / "0"
    return p


def _json(path: Path, edit) -> None:
    doc = json.loads(path.read_text())
    edit(doc)
    path.write_text(json.dumps(doc))


def _mutate(value):
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + 1
    if isinstance(value, str):
        return value + " "
    if isinstance(value, list) and len(value) > 1:
        return value[::-1] if value[::-1] != value else value[:-1]
    if isinstance(value, list):
        return [*value, "x"]
    return None


tampers = hs.one_of(
    hs.tuples(hs.just("attribute"), hs.integers(0, 40), hs.sampled_from(["edit", "drop", "add"])),
    hs.tuples(hs.just("lose_done"), hs.integers(0, BLOCKS - 1)),
    hs.tuples(hs.just("dtype"), hs.sampled_from(ARRAYS), hs.sampled_from(["float32", "int16", "uint8", "int64",
                                                                          "float64", "bool"])),
    hs.tuples(hs.just("swap"), hs.sampled_from(ARRAYS), hs.integers(0, BLOCKS - 1), hs.integers(0, BLOCKS - 1)),
)


def tamper(store: Path, how: tuple) -> None:
    kind = how[0]
    if kind == "attribute":
        _, i, op = how

        def edit(doc):
            attrs = doc["attributes"]
            key = sorted(attrs)[i % len(attrs)]
            if op == "drop":
                del attrs[key]
            elif op == "add":
                attrs["gsim_note"] = key
            else:
                attrs[key] = _mutate(attrs[key])

        _json(store / "zarr.json", edit)
    elif kind == "lose_done":
        f = _chunk(store, "done", how[1])
        f.unlink(missing_ok=True)
    elif kind == "dtype":
        _json(store / how[1] / "zarr.json", lambda doc: doc.update(data_type=how[2]))
    else:
        _, name, b1, b2 = how
        f1, f2 = _chunk(store, name, b1), _chunk(store, name, b2)
        if f1.exists() and f2.exists():
            a, b = f1.read_bytes(), f2.read_bytes()
            f1.write_bytes(b)
            f2.write_bytes(a)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(how=tampers)
def test_every_reader_answers_as_on_the_intact_store_or_refuses(reference, how):
    work = Path(tempfile.mkdtemp(prefix="tamper-"))
    try:
        store = work / "tampered" / "s.zarr"
        shutil.copytree(reference, store)
        tamper(store, how)
        expected = intact(reference)
        if how[0] == "lose_done":  # its runs are pending: as if never computed
            pending = work / "pending" / "s.zarr"
            shutil.copytree(reference, pending)
            b = how[1]
            with st.open_for_writing(pending) as g:
                n = int(g["done"].chunks[0])
                st.clear_done(g, b * n, (b + 1) * n)
            expected = answers(pending)
        got = answers(store)
        for reader, answer in got.items():
            assert answer == REFUSED or answer == expected[reader], f"{how}: {reader} answered otherwise"
    finally:
        shutil.rmtree(work, ignore_errors=True)


def test_an_intact_store_is_answered(reference):
    """The property above would hold trivially if every reader refused everything."""
    assert REFUSED not in intact(reference).values()
    assert zarr.open_group(str(reference), mode="r").attrs["format"] == st.FORMAT
