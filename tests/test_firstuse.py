"""What a first use compiles, and that the command line says so (benchmarks/bench_firstuse.py
measures how long it takes)."""

from __future__ import annotations

from click.testing import CliRunner

import gsim
from gsim import api
from gsim.cli import main
from gsim.model import kernel


def test_single_runs_compile_one_run_loop():
    """Every built-in policy, both integrators: one compiled signature of the one-lane run
    loop, which holds the evaluation; no separate advance or observe entry point is needed."""
    sc = gsim.load_scenario()
    for policy in ("none", "market", "subsidy_race", "gradient"):
        for method in ("euler", "rk4"):
            gsim.simulate(sc, policy, method=method, t1=2024)
    assert len(kernel._ONE[2].signatures) == 1
    assert not api.needs_compiling()


def test_cache_names_follow_the_model_sources():
    """numba's cache checks only the defining file's stamp: the names of the compiled copies
    carry a digest of every source frozen into them, so a changed layout loads no stale code."""
    for variant in (kernel._ONE, kernel._WIDE):
        assert all(fn.py_func.__name__.endswith(kernel._DIGEST) for fn in variant)
    assert kernel._source_digest() == kernel._DIGEST


def test_run_announces_compilation_once_and_excludes_it(monkeypatch):
    calls = []
    monkeypatch.setattr(api, "needs_compiling", lambda batch=False, python_loop=False: not calls)
    monkeypatch.setattr(api, "compile_model", lambda batch=False, python_loop=False: calls.append(batch))
    res = CliRunner().invoke(main, ["run", "--policy", "market", "--t1", "2024"])
    assert res.exit_code == 0, res.output
    assert calls == [False]
    assert "compiling the model for this machine (once per installation, about" in res.stderr
    assert "compiling" not in res.stdout and "1 run(s) in" in res.stdout


def test_compile_command_compiles_both_widths_once(monkeypatch):
    """`gsim compile` compiles the batch kernels in a second process while it compiles the
    single-run kernels (numba compiles on one core), then only loads them."""
    import gsim.cli.run as run_cli

    done: list[bool] = []
    started: list[list[str]] = []

    class Child:
        def __init__(self, args, **kwargs):
            started.append(args)

        def wait(self):
            done.append(True)

    monkeypatch.setattr(run_cli.subprocess, "Popen", Child)
    monkeypatch.setattr(api, "needs_compiling", lambda batch=False, python_loop=False: batch not in done)
    monkeypatch.setattr(api, "compile_model", lambda batch=False, python_loop=False: done.append(batch))
    for expected, children in (([False, True], 1), ([False, True], 1)):  # again: nothing to do
        res = CliRunner().invoke(main, ["compile"])
        assert res.exit_code == 0, res.output
        assert done == expected and len(started) == children and "compiled for this machine" in res.stderr
    assert "compile_model(batch=True)" in started[0][-1]


def test_sweep_compiles_when_it_is_about_to_compute(monkeypatch, tmp_path):
    """Not before its options are checked (a bad option fails at once), and its reported
    time leaves the compilation out."""
    calls: list[bool] = []
    monkeypatch.setattr(api, "needs_compiling", lambda batch=False, python_loop=False: not calls)
    monkeypatch.setattr(api, "compile_model", lambda batch=False, python_loop=False: calls.append(batch))
    bad = CliRunner().invoke(main, ["sweep", "--samples", "2", "--policies", "nope", "--out", str(tmp_path / "b.zarr")])
    assert bad.exit_code == 2 and calls == []
    res = CliRunner().invoke(main, ["sweep", "--samples", "2", "--t1", "2024", "--out", str(tmp_path / "s.zarr"),
                                    "--no-summary"])
    assert res.exit_code == 0, res.output
    assert calls == [True] and "compiling the sweep kernels for this machine" in res.stderr
