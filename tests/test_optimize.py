"""`gsim optimize`: robustness metrics, own runs only, a known front, resume, -j, bad input."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import gsim
from gsim import optimize as opt
from gsim.cli import main
from gsim.optimize import store as ost
from gsim.optimize.engine import run_loop
from gsim.optimize.evaluate import Evaluator
from gsim.optimize.problem import Constraint, Lever, Objective, Problem, Robustness, parse_constraint
from gsim.optimize.robust import constraint_shares, scores
from gsim.scenario import load_scenario

SC = load_scenario()
# small: the default scenario's first three years, 3 scenarios, 6 candidates x 3 generations
SMALL = dict(levers="readiness,gradient_ratio=1:2", objectives="real_gdp:max,theil:min", year=2026,
             scenarios=3, population=6, generations=3, seed=3)
CLI_SMALL = ["--levers", "readiness,gradient_ratio=1:2", "--objectives", "real_gdp:max,theil:min", "--year", "2026",
             "--scenarios", "3", "--population", "6", "--generations", "3", "--seed", "3"]


# --- robustness metrics -----------------------------------------------------------------
# three candidates in four scenarios, one objective to maximise
V = np.array([[1.0, 2.0, 3.0, 4.0], [2.0, 2.0, 2.0, 2.0], [4.0, 1.0, 0.0, 3.0]])[..., None]
BAU = np.array([2.0, 2.0, 2.0, 2.0])[:, None]


def test_regret_against_hand_computed_values():
    # best per scenario: 4, 2, 3, 4 -> regrets c0: 3 0 0 0; c1: 2 0 1 2; c2: 0 1 3 1
    minimax = scores(V, Robustness("regret"), ["max"])
    assert minimax[:, 0].tolist() == [3.0, 2.0, 3.0]
    # 75th percentile ("higher" order statistic of 4 values: the 4th for q above 2/3): 3, 2, 3;
    # 50th: the 3rd smallest: c0 0 0 0 3 -> 0; c1 0 1 2 2 -> 2; c2 0 1 1 3 -> 1
    assert scores(V, Robustness("regret", 50.0), ["max"])[:, 0].tolist() == [0.0, 2.0, 1.0]
    # against business as usual (2 everywhere): c0 1 0 -1 -2; c1 0 0 0 0; c2 -2 1 2 -1
    assert scores(V, Robustness("regret", against="bau"), ["max"], bau=BAU)[:, 0].tolist() == [1.0, 0.0, 2.0]
    # minimising the negated values gives the same regrets
    assert scores(-V, Robustness("regret"), ["min"])[:, 0].tolist() == [3.0, 2.0, 3.0]


def test_satisficing_and_constraints_against_hand_computed_values():
    # threshold 2 (maximise: >= 2): c0 F T T T; c1 T T T T; c2 T F F T
    assert scores(V, Robustness("satisficing"), ["max"], [2.0])[:, 0].tolist() == [0.75, 1.0, 0.5]
    # minimise, threshold 2 (<= 2): c0 T T F F; c1 all; c2 F T T F
    assert scores(V, Robustness("satisficing"), ["min"], [2.0])[:, 0].tolist() == [0.5, 1.0, 0.5]
    c = parse_constraint("real_gdp>=-50%:bau@75")
    assert (c.op, c.value, c.percent, c.bau, c.share) == (">=", -50.0, True, True, 0.75)
    # change against bau in %: c0 -50 0 50 100; c2 100 -50 -100 50
    assert constraint_shares(V[..., 0], c, BAU[:, 0]).tolist() == [1.0, 1.0, 0.75]


@settings(max_examples=40, deadline=None)
@given(values=arrays(np.float64, (5, 7, 2), elements=st.floats(-1e6, 1e6)),
       others=arrays(np.float64, (4, 7, 2), elements=st.floats(-1e6, 1e6)),
       kind=st.sampled_from(["mean", "p10", "snr", "satisficing", "regret:bau", "regret90:bau"]))
def test_a_score_reads_only_the_candidates_own_runs(values, others, kind):
    """Candidate 0's score is the same whatever the other candidates of its generation are."""
    rob = opt.parse_robustness(kind, (Objective("real_gdp", "max", 0.0), Objective("theil", "min", 0.1)), 7)
    bau = np.linspace(-5.0, 5.0, 14).reshape(7, 2)
    dirs, thr = ["max", "min"], [0.0, 0.1]
    a = scores(values, rob, dirs, thr, bau)[0]
    b = scores(np.concatenate([values[:1], others]), rob, dirs, thr, bau)[0]
    np.testing.assert_array_equal(a, b)


def test_a_candidates_runs_do_not_depend_on_the_rest_of_its_generation():
    """The model runs of one candidate (lanes of one compiled batch) are the same bits
    whichever other candidates share the batch."""
    problem = opt.make_problem(SC, **SMALL)
    ev = Evaluator(SC, problem, parallel=False)
    x = [0.55, 1.4]
    a = ev.candidates(np.array([x, [0.3, 1.1], [0.9, 1.9]]))
    b = ev.candidates(np.array([[0.6, 1.7], x]))
    np.testing.assert_array_equal(a[0], b[1])
    assert not np.array_equal(a[1], a[2])  # the settings matter


# --- a known front ------------------------------------------------------------------------
def _toy(X):
    """Two levers, two objectives to minimise: f1 = x1, f2 = (1 + x2)(1 - sqrt(x1)); the front
    is x2 = 0, f2 = 1 - sqrt(f1)."""
    f1 = X[:, 0]
    f2 = (1.0 + X[:, 1]) * (1.0 - np.sqrt(X[:, 0]))
    return np.stack([f1, f2], axis=1)


def test_the_archive_matches_a_brute_forced_front():
    problem = Problem("gradient", (Lever("x1", 0.0, 1.0, 0.5), Lever("x2", 0.0, 1.0, 0.5)),
                      (Objective("real_gdp", "min"), Objective("theil", "min")), Robustness("mean"), (),
                      2026.0, False, 1, 20, 40, 7, 0.01, "auto")
    archive = run_loop(problem, lambda X: (_toy(X), np.zeros((len(X), 1)), _toy(X)[:, None, :]), None)
    g = np.linspace(0.0, 1.0, 101)
    grid = _toy(np.array([(a, b) for a in g for b in g]))
    order = np.lexsort((grid[:, 1], grid[:, 0]))  # by f1, then f2: a point is on the front when its
    best_before = np.minimum.accumulate(np.r_[np.inf, grid[order, 1]])[:-1]  # f2 beats all before it
    front = grid[order][grid[order, 1] < best_before]
    tol = 0.02
    for f in archive.F:  # no grid point better by more than tol in both objectives
        assert not (grid < f - tol).all(axis=1).any(), f
    assert archive.F[:, 0].min() <= front[:, 0].min() + tol  # covers the front's extent
    assert archive.F[:, 1].min() <= front[:, 1].min() + tol
    assert len(archive.F) >= 10


# --- stores: resume, -j, reading ----------------------------------------------------------
def _arrays(path: Path) -> dict:
    g = ost.open_group(path)
    out = {n: np.asarray(g[n][...]) for n in g.array_keys()}
    out["attrs"] = {k: v for k, v in g.attrs.items() if k != "history"}  # history: the creation time
    return out


def _same_store(a: Path, b: Path) -> None:
    x, y = _arrays(a), _arrays(b)
    assert x["attrs"] == y["attrs"]
    for n in x:
        if n != "attrs":
            np.testing.assert_array_equal(x[n], y[n], err_msg=n)


def test_resume_after_an_interruption_and_threads_give_the_same_store(tmp_path):
    one = opt.optimize(tmp_path / "one.zarr", SC, workers=1, **SMALL)
    two = opt.optimize(tmp_path / "two.zarr", SC, workers=2, **SMALL)
    _same_store(one, two)

    def stop_after_first(done, total, hv, rate):
        if done == 1:
            raise KeyboardInterrupt

    cut = tmp_path / "cut.zarr"
    with pytest.raises(KeyboardInterrupt):
        opt.optimize(cut, SC, workers=1, progress=stop_after_first, **SMALL)
    g = ost.open_group(cut, "r+")
    assert g.attrs["generations_done"] == 1
    g["levers"][1] = 0.123  # a kill while generation 1 was being written
    g["scores"][1] = -7.0
    opt.resume(cut, workers=2)
    _same_store(one, cut)

    front = gsim.open_optimization(one)
    assert front.levers.dims == ("candidate", "lever") and front.objectives.dims == ("candidate", "objective")
    assert list(front.lever.values) == ["readiness", "gradient_ratio"]
    assert front.objectives.attrs["robustness"] == "mean"
    assert front.objectives.attrs["direction"] == ["max", "min"]
    assert front.attrs["root_seed"] == 3 and front.attrs["config_hash"]
    assert front.sizes["candidate"] >= 1


def test_warm_start_and_cli(tmp_path):
    first = tmp_path / "first.zarr"
    res = CliRunner().invoke(main, ["optimize", *CLI_SMALL, "-j", "1", "--out", str(first)])
    assert res.exit_code == 0, res.output
    second = tmp_path / "second.zarr"
    res = CliRunner().invoke(main, ["optimize", *CLI_SMALL, "--warm-start", str(first), "--out", str(second)])
    assert res.exit_code == 0, res.output
    X0 = ost.open_group(second)["levers"][0]
    old = gsim.open_optimization(first).levers.values
    np.testing.assert_array_equal(X0[: len(old)], old[: len(X0)])  # the old front starts the new search


# --- bad input ----------------------------------------------------------------------------
@pytest.mark.parametrize("args, says", [
    (["--levers", "speed"], "not a numeric parameter of policy 'gradient'"),
    (["--levers", "readiness,gradient_ratio"], "gradient_ratio has bounds [0, inf]: give a finite range"),
    (["--levers", "readiness=0.5:2"], "not an interval within the parameter's bounds"),
    (["--objectives", "gdp:max"], "'gdp' is not an indicator saved by sweeps with only a time axis"),
    (["--objectives", "real_gdp:up"], "expected NAME[:max|min[:THRESHOLD]]"),
    (["--robustness", "median"], "--robustness: expected mean"),
    (["--robustness", "satisficing"], "needs a threshold on every objective"),
    (["--constraint", "real_gdp>=-2%@90"], "relative to business as usual"),
    (["--year", "2026.5"], "not a saved year"),
    (["--population", "2"], "--population: must be at least 4"),
    (["--policy", "market"], "policy 'market' declares no numeric parameter to vary"),
    (["--policy", "nosuch"], "unknown policy 'nosuch'"),
])
def test_bad_input_is_one_line_exit_2(tmp_path, args, says):
    res = CliRunner().invoke(main, ["optimize", *CLI_SMALL, *args, "--out", str(tmp_path / "o.zarr")])
    assert res.exit_code == 2, res.output
    assert says in res.output and len(res.output.strip().splitlines()) == 1, res.output
    assert not (tmp_path / "o.zarr").exists()


def test_an_empty_ensemble_is_one_line():
    sc = dataclasses.replace(SC, sweep={})
    with pytest.raises(opt.OptimizeError, match="no uncertain parameters to sample"):
        opt.make_problem(sc, **SMALL) and Evaluator(sc, opt.make_problem(sc, **SMALL))


def test_a_store_that_is_not_one_is_one_line(tmp_path):
    res = CliRunner().invoke(main, ["optimize", "--resume", str(tmp_path / "nothing.zarr")])
    assert res.exit_code == 2 and "no such optimisation store" in res.output


def test_constraint_parses_the_documented_forms():
    assert parse_constraint("theil<=0.02@80") == Constraint("theil", "<=", 0.02, False, False, 0.8, "theil<=0.02@80")
    assert parse_constraint("real_gdp >= 0:bau").bau


def test_the_commands_of_docs_optimize_run(tmp_path, monkeypatch):
    """docs/optimize.md's console commands, in order (its Python runs in test_docs.py)."""
    import re
    import shlex

    doc = Path(__file__).resolve().parents[1] / "docs" / "optimize.md"
    blocks = re.findall(r"```console\n(.*?)```", doc.read_text(encoding="utf-8"), re.S)
    commands = [ln[2:] for b in blocks for ln in b.splitlines() if ln.startswith("$ ")]
    assert len(commands) >= 3
    monkeypatch.chdir(tmp_path)
    for cmd in commands:
        args = shlex.split(cmd)
        assert args[0] == "gsim", cmd
        res = CliRunner().invoke(main, args[1:])
        assert res.exit_code == 0, (cmd, res.output)
    assert (tmp_path / "small.html").stat().st_size > 10_000


@pytest.mark.parametrize("cumulate", [False, True])
def test_an_evaluation_is_what_gsim_simulate_gives(cumulate):
    """With the scenario's own parameters (--scenarios 1), a candidate's indicators are those
    of gsim.simulate at its settings: at the year, or summed over the years to it."""
    problem = opt.make_problem(SC, **{**SMALL, "scenarios": 1, "cumulate": cumulate})
    got = Evaluator(SC, problem, parallel=False).candidates(np.array([[0.45, 1.6]]))[0, 0]
    sc = dataclasses.replace(SC, policy_params={"gradient": {"readiness": 0.45, "gradient_ratio": 1.6}})
    ds = gsim.simulate(sc, "gradient", t1=2026)
    want = [ds[n].sum("time").item() * SC.run.save_every if cumulate else ds[n].sel(time=2026).item()
            for n in ("real_gdp", "theil")]
    assert got.tolist() == want


def test_resume_after_kill_9_gives_the_uninterrupted_store(tmp_path):
    """A `gsim optimize` process killed (SIGKILL) once a generation is stored, resumed in
    this process: the same store as a run never interrupted."""
    import os
    import signal
    import subprocess
    import sys
    import time

    args = [*CLI_SMALL[:-4], "--generations", "25", "--seed", "3"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(gsim.__file__).parents[1]),
                                                         os.environ.get("PYTHONPATH", "")])}
    killed = tmp_path / "killed.zarr"
    proc = subprocess.Popen([sys.executable, "-c", "import sys; from gsim.cli import main; sys.exit(main())",
                             "optimize", *args, "-j", "1", "--out", str(killed)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    done = 0
    while proc.poll() is None and done < 1:
        time.sleep(0.02)
        try:
            done = ost.open_group(killed).attrs["generations_done"]
        except Exception:  # noqa: BLE001  (not created yet, or being written)
            pass
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert ost.open_group(killed).attrs["generations_done"] < 25  # it was killed part way
    res = CliRunner().invoke(main, ["optimize", "--resume", str(killed), "-j", "2"])
    assert res.exit_code == 0, res.output
    whole = tmp_path / "whole.zarr"
    assert CliRunner().invoke(main, ["optimize", *args, "--out", str(whole)]).exit_code == 0
    _same_store(whole, killed)


def test_more_than_three_objectives_use_nsga3():
    from gsim.optimize.engine import make_algorithm

    objectives = tuple(Objective(n, "min") for n in ("real_gdp", "theil", "rd_share", "lost_capital"))
    problem = Problem("gradient", (Lever("x1", 0.0, 1.0, 0.5), Lever("x2", 0.0, 1.0, 0.5)), objectives,
                      Robustness("mean"), (), 2026.0, False, 1, 20, 3, 7, 0.01, "auto")
    assert type(make_algorithm(problem, None)[0]).__name__ == "NSGA3"

    def four(X):
        F = np.stack([X[:, 0], 1 - X[:, 0], X[:, 1], 1 - X[:, 1]], axis=1)
        return F, np.zeros((len(X), 1)), F[:, None, :]

    archive = run_loop(problem, four, None)
    assert len(archive.F) > 1 and archive.hypervolume() > 0


@pytest.mark.parametrize("robustness, objectives", [
    ("p10", "real_gdp:max,theil:min"), ("snr", "real_gdp:max,theil:min"), ("regret", "real_gdp:max,theil:min"),
    ("regret90:bau", "real_gdp:max,theil:min"), ("satisficing", "real_gdp:max:125000,theil:min:0.06")])
def test_every_robustness_metric_runs_through_the_model(tmp_path, robustness, objectives):
    out = opt.optimize(tmp_path / "o.zarr", SC, workers=1, **{**SMALL, "robustness": robustness,
                                                               "objectives": objectives, "generations": 2})
    front = gsim.open_optimization(out)
    assert front.attrs["robustness"] == robustness and np.isfinite(front.objectives.values).all()
    if robustness == "satisficing":
        assert ((front.objectives >= 0) & (front.objectives <= 1)).all()


def test_a_policy_without_a_compiled_twin_gives_the_same_values(monkeypatch):
    """A plugin-like policy (no compiled twin) runs once per candidate with plain-number
    settings: the same bits as the built-in's one batch with settings per lane."""
    from gsim.optimize import evaluate

    problem = opt.make_problem(SC, **SMALL)
    X = np.array([[0.55, 1.4], [0.3, 1.1], [0.9, 1.9]])
    want = Evaluator(SC, problem, parallel=False).candidates(X)
    real = evaluate.resolve_policy

    def without_twin(sc, name):
        pol, params = real(sc, name)
        return dataclasses.replace(pol, compiled=None), params

    monkeypatch.setattr(evaluate, "resolve_policy", without_twin)
    got = Evaluator(SC, problem, parallel=False).candidates(X)
    np.testing.assert_array_equal(got, want)


def test_a_second_writer_of_a_store_is_refused(tmp_path):
    out = opt.optimize(tmp_path / "o.zarr", SC, workers=1, **{**SMALL, "generations": 1})
    with ost.write_lock(out):
        res = CliRunner().invoke(main, ["optimize", "--resume", str(out)])
    assert res.exit_code == 2 and "another gsim process is writing this store" in res.output


def test_a_per_region_constraint_must_hold_in_every_region():
    c = parse_constraint("real_output>=-50%:bau@50")
    assert c.per_region
    # 2 candidates, 2 scenarios, 3 regions; bau 2 everywhere: -50 % is 1
    values = np.array([[[1.0, 2.0, 3.0], [0.5, 2.0, 2.0]],     # scenario 1 misses in region 0
                       [[0.9, 2.0, 2.0], [1.0, 1.0, 1.0]]])    # scenario 0 misses in region 0
    bau = np.full((2, 3), 2.0)
    assert constraint_shares(values, c, bau).tolist() == [0.5, 0.5]
    problem = opt.make_problem(SC, **{**SMALL, "constraints": ("real_output>=-2%:bau@90",)})
    assert problem.columns(2 + len(SC.regions)) == {"real_gdp": slice(0, 1), "theil": slice(1, 2),
                                                    "real_output": slice(2, 2 + len(SC.regions))}
    ev = Evaluator(SC, problem, parallel=False)
    v = ev.candidates(np.array([[0.55, 1.4]]))
    assert v.shape == (1, 3, 2 + len(SC.regions))
    ds = gsim.simulate(dataclasses.replace(SC, policy_params={"gradient": {"readiness": 0.55, "gradient_ratio": 1.4}}),
                       "gradient", t1=2026)
    ens = Evaluator(SC, dataclasses.replace(problem, scenarios=1),
                    parallel=False).candidates(np.array([[0.55, 1.4]]))
    assert ens[0, 0, 2:].tolist() == ds.real_output.sel(time=2026).values.tolist()


# --- an ensemble of a history match's NROY points (--scenarios-from) ----------------------
NROY_SMALL = dict(levers="readiness,gradient_ratio=1:2", objectives="real_gdp:max,theil:min", year=2015,
                  population=4, generations=2, seed=5)
CLI_NROY = ["--levers", "readiness,gradient_ratio=1:2", "--objectives", "real_gdp:max,theil:min", "--year", "2015",
            "--population", "4", "--generations", "2", "--seed", "5"]


def _match_store(path: Path, cutoff: float = 1000.0, seed: int = 1) -> Path:
    """A one-wave history match of the three-region case of tests/matching_cases.py (a wide
    cutoff keeps most points, a tiny one none)."""
    import matching_cases as mc

    targets = mc.planted_targets(mc.history())
    sc = mc.scenario(f"[match]\nwaves = 1\nsamples = 12\nseed = {seed}\ncutoff = {cutoff}\n" + targets)
    gsim.match(sc, path, workers=1)
    return path


@pytest.fixture(scope="module")
def matched(tmp_path_factory):
    import matching_cases as mc

    d = tmp_path_factory.mktemp("nroy")
    scenario_file = d / "hm3.toml"
    scenario_file.write_text(mc.scenario().toml)
    return mc.scenario(), _match_store(d / "m.zarr"), scenario_file


def test_the_ensemble_is_the_nroy_points(matched, tmp_path):
    """Every NROY point, in order, applied by name: the ensemble's inputs are those of the
    scenario with the point's values, and business as usual in it is gsim.simulate's."""
    from gsim.integrate import batch_from_scenario
    from gsim.matching import nroy_sample

    sc, store, _ = matched
    pts = nroy_sample(gsim.open_match(store))
    assert pts.sizes["point"] >= 3
    problem = opt.make_problem(sc, **NROY_SMALL, scenarios_from=store)
    assert problem.scenarios == pts.sizes["point"]  # all, when --scenarios is not given
    assert problem.match_hash == gsim.open_match(store).attrs["config_hash"]
    stored, _ = opt.nroy_ensemble(sc, store, None, 5, "gradient")
    ev = Evaluator(sc, problem, parallel=False, stored=stored)
    assert ev.ens.samples.tolist() == list(range(pts.sizes["point"]))
    for n in range(pts.sizes["point"]):
        point = {str(k): float(v) for k, v in zip(pts["input"].values, pts.values[n])}
        want = batch_from_scenario(sc.with_overrides(**point), 1)
        for a in ("sp", "tp", "reg"):
            np.testing.assert_array_equal(getattr(ev.ens.inputs, a)[n], getattr(want, a)[0], err_msg=f"{a} {n}")

    out = opt.optimize(tmp_path / "o.zarr", sc, workers=1, **NROY_SMALL, scenarios=2, scenarios_from=store)
    g = ost.open_group(out)
    assert g["bau"].shape[0] == 2  # the first two points
    for n in range(2):
        point = {str(k): float(v) for k, v in zip(pts["input"].values, pts.values[n])}
        ds = gsim.simulate(sc.with_overrides(**point), "market", t1=2015)
        assert g["bau"][n, 0] == ds["real_gdp"].sel(time=2015).item()
    front = gsim.open_optimization(out)
    assert front.attrs["match_config_hash"] == problem.match_hash
    assert front.attrs["scenarios_from"] == str(Path(store).resolve())


def test_cli_scenarios_from_is_the_same_store_under_j1_and_j2(matched, tmp_path):
    _, store, scenario_file = matched
    outs = []
    for j in ("1", "2"):
        outs.append(tmp_path / f"j{j}.zarr")
        res = CliRunner().invoke(main, ["optimize", str(scenario_file), *CLI_NROY, "--scenarios", "3",
                                        "--scenarios-from", str(store), "-j", j, "--out", str(outs[-1])])
        assert res.exit_code == 0, res.output
    _same_store(*outs)
    assert ost.open_group(outs[0])["values"].shape[2] == 3


def test_a_bad_match_store_is_one_line_exit_2(matched, tmp_path):
    sc, store, scenario_file = matched
    not_match = opt.optimize(tmp_path / "opt.zarr", sc, workers=1, **{**NROY_SMALL, "generations": 1},
                             scenarios=1)
    empty = _match_store(tmp_path / "empty.zarr", cutoff=1e-6)
    n = gsim.matching.nroy_sample(gsim.open_match(store)).sizes["point"]
    for source, extra, says in [
            (not_match, [], "not a gsim history-match store"),
            (tmp_path / "nothing.zarr", [], "no such match store"),
            (empty, [], "no point is left in NROY: the ensemble is empty"),
            (store, ["--scenarios", str(n + 1)], f"is more than its {n} NROY points")]:
        res = CliRunner().invoke(main, ["optimize", str(scenario_file), *CLI_NROY, *extra,
                                        "--scenarios-from", str(source), "--out", str(tmp_path / "o.zarr")])
        assert res.exit_code == 2, res.output
        assert says in res.output and res.output.startswith("Error: --scenarios-from: "), res.output
        assert len(res.output.strip().splitlines()) == 1, res.output
        assert not (tmp_path / "o.zarr").exists()


def test_resume_refuses_another_ensemble(matched, tmp_path):
    import shutil

    sc, store, _ = matched
    source = tmp_path / "m.zarr"
    shutil.copytree(store, source)
    whole = opt.optimize(tmp_path / "whole.zarr", sc, workers=1, **NROY_SMALL, scenarios=2, scenarios_from=source)

    def stop_after_first(done, total, hv, rate):
        if done == 1:
            raise KeyboardInterrupt

    cut = tmp_path / "cut.zarr"
    with pytest.raises(KeyboardInterrupt):
        opt.optimize(cut, sc, workers=1, progress=stop_after_first, **NROY_SMALL, scenarios=2, scenarios_from=source)
    other = tmp_path / "cut_other.zarr"
    shutil.copytree(cut, other)
    opt.resume(cut, workers=2)  # the same match store: the uninterrupted result
    _same_store(whole, cut)
    assert ost.config_hash(sc, opt.make_problem(sc, **NROY_SMALL, scenarios=2, scenarios_from=source)) \
        == ost.open_group(whole).attrs["config_hash"]

    shutil.rmtree(source)  # the match store is made again, with another seed: other NROY points
    _match_store(source, seed=2)
    res = CliRunner().invoke(main, ["optimize", "--resume", str(other)])
    assert res.exit_code == 2 and "another ensemble" in res.output, res.output
    assert ost.open_group(other).attrs["generations_done"] == 1
