"""`gsim optimize` used adversarially: what a user is told when nothing can satisfy them."""

from __future__ import annotations

import types

import pytest
from click.testing import CliRunner

import gsim
from gsim.cli import main
from gsim.plugins import make_plugin_manager, use_plugin_manager

CLI_SMALL = ["--levers", "readiness", "--objectives", "real_gdp:max,theil:min", "--year", "2025",
             "--scenarios", "2", "--population", "4", "--generations", "1", "--seed", "3", "-j", "1"]


def test_an_infeasible_constraint_says_no_setting_meets_it(tmp_path):
    """Real GDP ten times business as usual cannot be met: the front is empty and the user is
    told so, naming the constraint, rather than '0 settings are non-dominated'."""
    out = tmp_path / "o.zarr"
    res = CliRunner().invoke(main, ["optimize", *CLI_SMALL, "--constraint", "real_gdp>=900%:bau", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert gsim.open_optimization(out).sizes.get("candidate", 0) == 0
    assert "No setting of gradient meets the constraints (real_gdp>=900%:bau)" in res.output, res.output
    assert "non-dominated" not in res.output


def _faulty_plugin(where):
    """A policy that raises, or an indicator that raises, whatever the setting."""
    from gsim.indicators import Indicator
    from gsim.params import spec
    from gsim.policies import Policy, zero_decision

    def decide(ctx):
        if where == "policy" and ctx.t > 2023.5:  # past the registration probe's t0
            raise RuntimeError("policy boom")
        return zero_decision(ctx.n_runs, ctx.pairs, len(ctx.tiers))

    def indicator(ds):
        raise RuntimeError("indicator boom")

    def gsim_register_policies(register):
        register(Policy("faulty", decide, {"w": 0.5}, schema={"w": spec(0, 1, True, True, "1", "w")}))

    def gsim_register_indicators(register):
        register(Indicator("boom", indicator, "1", "raises", better=1))

    hooks = {"gsim_register_policies": gsim.hookimpl(gsim_register_policies)}
    if where == "indicator":
        hooks["gsim_register_indicators"] = gsim.hookimpl(gsim_register_indicators)
    return types.SimpleNamespace(__name__="faulty_plugin", **hooks)


@pytest.mark.parametrize("where, objectives, says", [
    ("policy", "real_gdp:max,theil:min", "policy 'faulty' (plugin faulty_plugin) raised"),
    ("indicator", "real_gdp:max,boom:max", "indicator 'boom' (plugin faulty_plugin) raised"),
])
def test_a_plugin_that_always_faults_is_one_line_exit_2_not_an_empty_front(tmp_path, where, objectives, says):
    """Every run stopped by a plugin fault used to give '0 settings are non-dominated', exit 0,
    with nothing naming the plugin; the fault is now a one-line error before a store is made."""
    out = tmp_path / "o.zarr"
    pm = make_plugin_manager(load_entrypoints=False, extra=(_faulty_plugin(where),), strict=True)
    args = ["optimize", "--policy", "faulty", "--objectives", objectives, "--year", "2025", "--scenarios", "2",
            "--population", "4", "--generations", "1", "-j", "1", "--out", str(out)]
    with use_plugin_manager(pm):
        res = CliRunner().invoke(main, args)
    assert res.exit_code == 2, res.output
    assert says in res.output and len(res.output.strip().splitlines()) == 1, res.output
    assert not out.exists()


def test_a_plugin_policy_without_a_schema_is_told_how_to_declare_levers():
    """The docs' minimal policy has a numeric parameter but no schema: the error says why
    it is no lever and what to add, rather than that it declares no numeric parameter."""
    from gsim.optimize import make_problem
    from gsim.optimize.problem import OptimizeError
    from gsim.policies import Policy, zero_decision

    def decide(ctx):
        return zero_decision(ctx.n_runs, ctx.pairs, len(ctx.tiers))

    def gsim_register_policies(register):
        register(Policy("halfmarket", decide, {"weight": 0.5}))

    plugin = types.SimpleNamespace(__name__="half", gsim_register_policies=gsim.hookimpl(gsim_register_policies))
    with use_plugin_manager(make_plugin_manager(load_entrypoints=False, extra=(plugin,), strict=True)), \
            pytest.raises(OptimizeError, match=r"numeric parameters weight have no bounds: declare them in the "
                                               r"policy's schema"):
        make_problem(gsim.load_scenario(), policy="halfmarket", scenarios=1)


@pytest.mark.parametrize("extra", [["--generations", "5"], ["--population", "8"], ["--policy", "gradient"],
                                   ["--out", "other.zarr"], ["--constraint", "theil<=1"], ["SCENARIO"]])
def test_resume_refuses_options_it_would_ignore(tmp_path, extra):
    """`--resume STORE --generations 5` used to continue the store's own 1 generation and say
    nothing: a user extending a search got the old one. Options that define the search are
    refused beside --resume (exit 2); -j is not one of them."""
    out = tmp_path / "o.zarr"
    res = CliRunner().invoke(main, ["optimize", *CLI_SMALL, "--out", str(out)])
    assert res.exit_code == 0, res.output
    extra = [str(tmp_path / "sc.toml") if a == "SCENARIO" else a for a in extra]
    res = CliRunner().invoke(main, ["optimize", "--resume", str(out), *extra])
    assert res.exit_code == 2, res.output
    assert "--resume continues the store's own search" in res.output and len(res.output.strip().splitlines()) == 1
    res = CliRunner().invoke(main, ["optimize", "--resume", str(out), "-j", "1"])
    assert res.exit_code == 0, res.output


def test_an_out_path_that_is_no_store_is_not_offered_for_resume(tmp_path):
    """A file in the way used to be offered to `--resume`, which then says it is no store."""
    out = tmp_path / "notes"  # no file suffix: `notes.txt` is refused by its name before this check
    out.write_text("mine\n")
    res = CliRunner().invoke(main, ["optimize", *CLI_SMALL, "--out", str(out)])
    assert res.exit_code == 2, res.output
    assert "exists and is no optimisation store; choose another --out" in res.output
    assert "--resume" not in res.output and out.read_text() == "mine\n"


def test_an_interruption_before_the_store_exists_does_not_offer_resume(tmp_path, monkeypatch):
    """Ctrl-C while business as usual is evaluated (before the store is made) used to say
    'continue with: gsim optimize --resume STORE', for a store that does not exist."""
    from gsim.optimize.evaluate import Evaluator

    def interrupted(self):
        raise KeyboardInterrupt

    monkeypatch.setattr(Evaluator, "bau", interrupted)
    out = tmp_path / "o.zarr"
    res = CliRunner().invoke(main, ["optimize", *CLI_SMALL, "--out", str(out)])
    assert res.exit_code == 1, res.output
    assert not out.exists()
    assert "interrupted before any generation was stored" in res.output and "--resume" not in res.output


@pytest.mark.parametrize("name", ["o.nc", "o.csv", "o.json"])
def test_an_out_named_like_a_file_is_refused_before_any_generation(tmp_path, name):
    """The optimisation store is a Zarr folder: `--out o.nc` made a folder named o.nc."""
    out = tmp_path / name
    res = CliRunner().invoke(main, ["optimize", *CLI_SMALL, "--out", str(out)])
    assert res.exit_code == 2, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: --out: {out}: ") and "Zarr folder" in lines[0]
    assert "an optimisation store is a Zarr folder (e.g. optimize.zarr)" in lines[0]
    assert "gsim.open_optimization" in lines[0]
    assert not out.exists()
