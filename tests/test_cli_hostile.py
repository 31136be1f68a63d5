"""Hostile and malformed input to the everyday commands: each case a one-line error naming
the file or option, with the documented exit code, never a silent wrong answer."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import THREE_REGIONS_TOML

import gsim
from gsim.cli import main
from gsim.scenario import loads_scenario
from gsim.sweeps.engine import LocalExecutor, sweep


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("hostile") / "s.zarr"
    sweep(p, loads_scenario(THREE_REGIONS_TOML), {"samples": 2}, executor=LocalExecutor(1))
    return p


def invoke(*args: str):
    return CliRunner().invoke(main, list(args))


def one_line_error(result, *names: str) -> str:
    """The error's single line; asserts it names each of `names` and that no traceback ran."""
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    assert len(lines) == 1, result.output
    for name in names:
        assert name in lines[0], lines[0]
    return lines[0]


def test_claims_refuses_a_business_as_usual_the_store_lacks(store):
    """--bau with a policy the store does not hold was ignored: no row marked BAU, exit 0."""
    r = invoke("claims", str(store), "--bau", "bogus")
    assert r.exit_code == 2, r.output
    one_line_error(r, str(store), "'bogus'", "not a policy of the store", "market")


def test_claims_with_a_business_as_usual_of_the_store_marks_it(store):
    r = invoke("claims", str(store), "--bau", "none", "--claim", "efficiency")
    assert r.exit_code == 0, r.output
    assert "none (BAU)" in r.output and "market (BAU)" not in r.output


@pytest.mark.parametrize("suffix", [".zarr", ".ZARR", ".zarr/"])
def test_run_refuses_to_write_netcdf_under_a_zarr_name(tmp_path, suffix):
    """`gsim run --out r.zarr` wrote a netCDF file there, which every store reader refuses."""
    out = str(tmp_path / f"r{suffix}")
    r = invoke("run", "--out", out)
    assert r.exit_code == 2, r.output
    one_line_error(r, "--out", out, ".nc")
    assert not Path(out).exists()


def test_export_refuses_to_write_netcdf_under_a_zarr_name(store, tmp_path):
    out = str(tmp_path / "e.zarr")
    r = invoke("export", str(store), "--netcdf", out)
    assert r.exit_code == 2, r.output
    one_line_error(r, "--netcdf", out, ".nc")
    assert not Path(out).exists()


@pytest.mark.parametrize("seed", [str(2**63), "99999999999999999999999"])
def test_sweep_refuses_a_seed_beyond_64_bits_before_creating_the_store(tmp_path, seed):
    """The TOML check stopped such a seed in a file but not from --seed: the store was made and
    `gsim export --netcdf` then failed with a traceback on its root_seed attribute."""
    sc = tmp_path / "small.toml"
    sc.write_text(THREE_REGIONS_TOML)
    out = tmp_path / "s.zarr"
    r = invoke("sweep", str(sc), "-n", "2", "--seed", seed, "-o", str(out), "--no-progress")
    assert r.exit_code == 2, r.output
    one_line_error(r, str(sc), "sweep.seed", "64-bit")
    assert not out.exists()


def test_the_largest_64_bit_seed_is_a_sweep_that_exports(tmp_path):
    sc = tmp_path / "small.toml"
    sc.write_text(THREE_REGIONS_TOML)
    out, nc = tmp_path / "s.zarr", tmp_path / "s.nc"
    r = invoke("sweep", str(sc), "-n", "2", "--seed", str(2**63 - 1), "-o", str(out),
               "--no-progress", "--no-summary")
    assert r.exit_code == 0, r.output
    r = invoke("export", str(out), "--netcdf", str(nc))
    assert r.exit_code == 0, r.output
    assert nc.stat().st_size > 0


@pytest.mark.parametrize("command", [["claims"], ["summary"], ["report", "-o", "r.html"]])
def test_an_empty_years_value_is_an_error_not_the_default_years(store, command, tmp_path,
                                                                 monkeypatch):
    """`--years "$YEARS"` with YEARS unset meant the default years, silently."""
    monkeypatch.chdir(tmp_path)
    r = invoke(command[0], str(store), *command[1:], "--years", "")
    assert r.exit_code == 2, r.output
    one_line_error(r, "--years", "empty value")
    assert not (tmp_path / "r.html").exists()


@pytest.mark.parametrize("value", ["", ",", " , "])
def test_sensitivity_with_no_policy_named_is_one_line(store, value):
    """`--policies ''` or `--policies ,` reached numpy with nothing to stack: a traceback."""
    r = invoke("sensitivity", str(store), "-i", "theil", "--policies", value)
    assert r.exit_code == 2, r.output
    one_line_error(r, "policies", "market")


def test_a_claim_of_a_policy_against_itself_is_refused(store):
    """`discover --claim efficiency:gradient-gradient` printed "holds in 2 of 2 cases" for a
    claim compared with nothing."""
    r = invoke("discover", str(store), "--claim", "efficiency:gradient-gradient")
    assert r.exit_code == 2, r.output
    one_line_error(r, "efficiency:gradient-gradient", "itself")


@pytest.mark.parametrize("command", [["sensitivity", "-i", "theil"],
                                     ["discover", "--claim", "efficiency:gradient-market"]])
def test_an_empty_csv_value_is_an_error(store, command):
    """`--csv ''` wrote nothing and said nothing."""
    r = invoke(command[0], str(store), *command[1:], "--csv", "")
    assert r.exit_code == 2, r.output
    one_line_error(r, "--csv", "empty value")


def test_claims_on_a_store_whose_runs_are_all_invalid_say_there_is_nothing_to_judge(tmp_path):
    """Every run invalid (schooling x 20-30 leaves its bound): the path line said "never mostly
    holds to the horizon", a verdict drawn from no runs at all."""
    toml = THREE_REGIONS_TOML + (
        '[sweep.uncertain]\n"region.schooling" = { dist = "uniform", low = 20.0, high = 30.0 }\n')
    p = tmp_path / "invalid.zarr"
    report = sweep(p, loads_scenario(toml), {"samples": 2}, executor=LocalExecutor(1))
    assert report.computed == report.n_runs
    r = invoke("claims", str(p), "--claim", "efficiency")
    assert r.exit_code == 0, r.output
    assert "0 ok" in r.output and "never mostly holds" not in r.output
    path_lines = [ln for ln in r.output.splitlines() if ln.startswith("  ") and ":" in ln]
    assert path_lines and all("nothing to judge" in ln for ln in path_lines), r.output


@pytest.mark.parametrize(("condition", "said"), [(":", "cannot read condition ':'"),
                                                 ("bogus:gradient-market", "unknown indicator 'bogus'")])
def test_report_refuses_a_condition_it_cannot_evaluate(store, tmp_path, condition, said):
    """A bad --condition was only a note inside the report, which was written with exit 0."""
    out = tmp_path / "r.html"
    r = invoke("report", str(store), "-o", str(out), "--condition", condition)
    assert r.exit_code == 2, r.output
    one_line_error(r, said)
    assert not out.exists()


@pytest.mark.parametrize("name", ["s.nc", "s.NC4", "s.netcdf", "s.h5", "s.csv", "s.json", "s.parquet", "s.nc/"])
def test_sweep_refuses_an_out_named_like_a_file(tmp_path, name):
    """`gsim sweep --out s.nc` made a Zarr folder named s.nc, which netCDF readers refuse."""
    sc = tmp_path / "small.toml"
    sc.write_text(THREE_REGIONS_TOML)
    out = str(tmp_path / name)
    r = invoke("sweep", str(sc), "-n", "2", "-j", "1", "-o", out, "--no-progress", "--no-summary")
    assert r.exit_code == 2, r.output
    one_line_error(r, "--out", out, "Zarr folder", "sweep.zarr", "gsim export STORE --netcdf FILE")
    assert not Path(out).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["small.toml"]  # nothing beside it either


@pytest.mark.parametrize("name", ["s.zarr", "s.zarr/", "runs", "runs.2026-12", "Sweep.ZARR"])
def test_a_store_named_as_a_folder_is_accepted(name):
    from gsim.cli.base import check_store_name

    assert check_store_name("--out", name, "sweep", "sweep.zarr", "") is None


def test_the_closing_line_counts_invalid_inputs_apart_from_failed_runs(tmp_path):
    """The line said "26 failed" for 14 runs that blew up and 12 never integrated (kappa <= 0
    breaks a scenario rule; phi_w = 50 blows up the wage): each count from the sampled inputs."""
    sc = tmp_path / "small.toml"
    sc.write_text(THREE_REGIONS_TOML + '[sweep.uncertain]\nphi_w = { dist = "choice", values = [2.0, 50.0] }\n'
                  'kappa = { dist = "normal", mean = 0.3, sd = 1.0 }\n')
    out = tmp_path / "s.zarr"
    r = invoke("sweep", str(sc), "-n", "16", "--sampler", "mc", "--policies", "none,market", "-j", "1",
               "-o", str(out), "--no-progress", "--no-summary")
    assert r.exit_code == 0, r.output
    ds = gsim.open_sweep(out, layout="flat")
    invalid = ds["kappa"].values <= 0
    blown = (ds["phi_w"].values == 50.0) & ~invalid
    assert invalid.any() and blown.any()
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].endswith(f" {blown.sum()} failed, {invalid.sum()} with invalid inputs"), r.output


def test_the_closing_line_of_a_sweep_of_ok_runs_says_0_failed(tmp_path):
    sc = tmp_path / "small.toml"
    sc.write_text(THREE_REGIONS_TOML)
    out = tmp_path / "s.zarr"
    r = invoke("sweep", str(sc), "-n", "2", "-j", "1", "-o", str(out), "--no-progress", "--no-summary")
    assert r.exit_code == 0, r.output
    assert gsim.open_sweep(out).attrs["n_ok"] == 8  # 2 samples x 4 policies
    assert r.output.strip().endswith("runs/s), 0 failed"), r.output
