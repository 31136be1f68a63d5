"""Total validation: every input to the loader loads or fails with the one-line ScenarioError.

The known failures one by one (huge and tiny numbers, deep nesting, NUL, odd CSVs, the limits
that protect the machine, CLI and sweep overrides, sampled inputs), then a fuzz test of the
loader with texts built from the canonical default scenario.

The fuzz test runs a few hundred examples; for a longer run by hand, with counts:
``PYTHONPATH=src:tests python tests/test_validation.py 10000``.
"""

from __future__ import annotations

import collections
import dataclasses
import os
import re
import sys
import warnings
from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gsim
import gsim.scenario.reading as scenario_reading
from gsim.cli import main
from gsim.integrate import batch_from_scenario
from gsim.model import rules
from gsim.model.layout import REGION_COLUMNS, SP, TP
from gsim.params import MAX_NESTING, MAX_RUN_MEMORY, MAX_STEPS
from gsim.scenario import ScenarioError, load_scenario, loads_scenario
from gsim.sweeps import store as st_store
from gsim.sweeps.engine import LocalExecutor, sweep
from gsim.sweeps.sampling import apply_values, sampled_values
from gsim.sweeps.spec import SweepSpecError, parse_spec

SC = load_scenario()
BASE = SC.toml  # the canonical default: every value explicit, 31 regions inline
CSV_TEXT = files("gsim").joinpath("data").joinpath("china31.csv").read_text(encoding="utf-8")


def sub(old: str, new: str, text: str = BASE) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def error(text: str, label: str = "x.toml", base_dir: Path | None = None) -> ScenarioError:
    """The ScenarioError of loading `text`, checked to be one line starting with the label."""
    with pytest.raises(ScenarioError) as ei:
        loads_scenario(text, label, base_dir)
    assert_one_line(str(ei.value), label)
    return ei.value


def assert_one_line(msg: str, *labels: str) -> None:
    assert len(msg.splitlines()) == 1 and "\n" not in msg, msg
    assert any(msg.startswith(f"{lab}: ") for lab in labels), msg
    assert "np.float64" not in msg and "np.int" not in msg, msg


def check_cli(*args: str) -> str:
    """`gsim ARGS`: exit code 2 and one line, no warning; returns the line."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = CliRunner().invoke(main, list(args))
    assert not caught, [str(w.message) for w in caught]
    assert res.exit_code == 2, res.output
    assert isinstance(res.exception, SystemExit) and "Traceback" not in res.output
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1, res.output
    return lines[0]


# ----------------------------------------------------------------------------------------
# the known failures, one by one
# ----------------------------------------------------------------------------------------
NUMBER_CASES = {
    # (old, new) in the canonical text -> (field, part of the reason)
    "400-digit t0": (("t0 = 2023.0", "t0 = " + "9" * 400), "run.t0", "64-bit range of TOML, got an integer of 400 digits"),
    "400-digit kappa": (("kappa = 2.0", "kappa = -" + "9" * 400), "params.kappa", "an integer of 400 digits"),
    "5000-digit integer": (("kappa = 2.0", "kappa = " + "9" * 5000), "toml", "invalid TOML: Exceeds the limit"),
    "huge hex integer": (("kappa = 2.0", "kappa = 0x" + "f" * 4000), "params.kappa", "64-bit range"),
    "big integer nearest": (('pairs = "all"', "pairs = { nearest = 9223372036854775807 }"),
                            "scenario.pairs.nearest", "must be in 1..30 (R - 1 for 31 regions), got 9223372036854775807"),
    "dt 5e-324": (("dt = 0.125", "dt = 5e-324"), "run.dt", "must be at least 1e-06 yr (the smallest step, MIN_DT)"),
    "dt 1e-9": (("dt = 0.125", "dt = 1e-9"), "run.dt", "MIN_DT"),
    "t0 -1.7e308": (("t0 = 2023.0", "t0 = -1.7e308"), "run.t0", "must be within ±1000000 yr (MAX_ABS_TIME), got -1.7e+308"),
    "t1 1e300": (("t1 = 2050.0", "t1 = 1e300"), "run.t1", "MAX_ABS_TIME"),
    "save_every 1e308": (("save_every = 1.0", "save_every = 1e308"), "run.save_every", "at most 2000000 yr"),
    "policy_period 5e-324": (("policy_period = 1.0", "policy_period = 5e-324"), "run.dt",
                             "dt = 0.125 does not divide policy_period = 5e-324"),
    "steps": (("dt = 0.125", "dt = 1e-5"), "run.dt",
              f"dt = 1e-05 gives 2700000 steps from t0 = 2023 to t1 = 2050, more than the limit of {MAX_STEPS}"),
    "kappa 1e300": (("kappa = 2.0", "kappa = 1e300"), "calibration", "must be finite and >= 0, but it gives technology["),
    "gdp 1e308": (("gdp = 4376.07", "gdp = 1e308"), "calibration", "must be finite and >= 0"),
    "gdp 5e-324": (("gdp = 4376.07", "gdp = 5e-324"), "calibration", "must be finite and >= 0"),
    "u0 0.31": (("u0 = 0.75", "u0 = 0.31"), "params.u_star",
                "calibration needs (1 - alpha)*u_star/u0 < 1 for every tier (a positive profit share); tier 'labor' "
                "gives 1.69355 (alpha = 0.3, u_star = 0.75, u0 = 0.31)"),  # (1 - 0.3) * 0.75 / 0.31 (GTM-2's u*)
    "zero share": (("labor = 0.15\nresource = 0.1\n", "labor = 0.25\nresource = 0.0\n"),
                   "regions[Beijing].shares.resource", "must be in (0, 1], got 0.0"),
    "nested 3000": (("kappa = 2.0", "kappa = " + "[" * 3000 + "]" * 3000), "toml",
                    f"nested too deeply (the limit is {MAX_NESTING} levels)"),
    "nested 40": (("kappa = 2.0", "kappa = " + "[" * 40 + "]" * 40), "params.kappa",
                  f"nested more than {MAX_NESTING} levels deep"),
}


@pytest.mark.parametrize("case", sorted(NUMBER_CASES))
def test_known_failures_are_one_line_errors(case):
    (old, new), fld, reason = NUMBER_CASES[case]
    e = error(sub(old, new))
    assert e.field == fld, str(e)  # type: ignore[attr-defined]
    assert reason in e.reason, str(e)  # type: ignore[attr-defined]


def test_kappa_1e300_cli_one_line_and_no_warnings(tmp_path):
    path = tmp_path / "k.toml"
    path.write_text(sub("kappa = 2.0", "kappa = 1e300"), encoding="utf-8")
    for cmd in (["scenario", "check"], ["run"]):
        line = check_cli(*cmd, str(path))
        assert line.startswith(f"Error: {path}: calibration: ")


def inline_free(text: str = BASE) -> str:
    """The canonical text up to its [[regions]] tables (so also without its [sweep])."""
    return text.split("[[regions]]", 1)[0]


def test_regions_path_with_nul_special_file_directory(tmp_path):
    top = inline_free()
    e = error(sub('pairs = "all"', 'pairs = "all"\nregions = "\\u0000"', top), base_dir=tmp_path)
    assert e.field == "scenario.regions" and "contains a NUL character" in e.reason  # type: ignore[attr-defined]
    os.mkfifo(tmp_path / "fifo.csv")  # reading it would never end
    e = error(sub('pairs = "all"', 'pairs = "all"\nregions = "fifo.csv"', top), base_dir=tmp_path)
    assert "not a regular file" in str(e)
    e = error(sub('pairs = "all"', 'pairs = "all"\nregions = "."', top), base_dir=tmp_path)
    assert "cannot read regions file" in str(e) and "is a directory" in str(e)
    with pytest.raises(ScenarioError, match=r"file: cannot read: the path contains a NUL character$"):
        load_scenario("a\x00b.toml")


def csv_scenario(tmp_path: Path, csv_text: str, shares: bool = True) -> Path:
    """A scenario file with regions from `csv_text` (r.csv), and [shares] unless told not to."""
    (tmp_path / "r.csv").write_text(csv_text, encoding="utf-8")
    top = sub('pairs = "all"', 'pairs = "all"\nregions = "r.csv"', inline_free())
    if shares:
        top += '\n[shares]\nEast = [0.15, 0.10, 0.40, 0.35]\nCentral = [0.30, 0.20, 0.35, 0.15]\n' \
               'West = [0.25, 0.35, 0.30, 0.10]\nNortheast = [0.15, 0.30, 0.45, 0.10]\n'
    path = tmp_path / "c.toml"
    path.write_text(top, encoding="utf-8")
    return path


def test_csv_one_huge_line_header_only_and_file_size(tmp_path, monkeypatch):
    path = csv_scenario(tmp_path, "x" * 10_000_000)
    with pytest.raises(ScenarioError) as ei:
        load_scenario(path)
    assert_one_line(str(ei.value), str(tmp_path / "r.csv"))
    assert ei.value.field == "line 1" and "invalid CSV: field larger than field limit" in str(ei.value)  # type: ignore[attr-defined]

    path = csv_scenario(tmp_path, CSV_TEXT.splitlines()[0] + "\n")
    with pytest.raises(ScenarioError, match=r"r\.csv: regions: need at least 2 regions, got 0$"):
        load_scenario(path)

    path = csv_scenario(tmp_path, CSV_TEXT)
    limit = path.stat().st_size
    assert (tmp_path / "r.csv").stat().st_size > limit
    monkeypatch.setattr(scenario_reading, "MAX_FILE_BYTES", limit)
    with pytest.raises(ScenarioError, match=r"scenario\.regions: cannot read regions file .*r\.csv: larger than "
                                            rf"the limit of {limit / 1024:.3g} KiB \(MAX_FILE_BYTES\)$"):
        load_scenario(path)
    monkeypatch.setattr(scenario_reading, "MAX_FILE_BYTES", limit - 1)
    with pytest.raises(ScenarioError, match=r"c\.toml: file: cannot read: larger than the limit"):
        load_scenario(path)


def test_csv_scenario_without_shares_takes_the_default_shares(tmp_path):
    with_shares = load_scenario(csv_scenario(tmp_path, CSV_TEXT))
    without = load_scenario(csv_scenario(tmp_path, CSV_TEXT, shares=False))
    assert without == with_shares
    np.testing.assert_array_equal(without.regions.shares, SC.regions.shares)
    assert without.regions == SC.regions
    # with other tiers, [shares] has no default
    tables = "".join(f"[params.{k}]\na = 0.3\nb = 0.5\nc = 0.4\n" for k in ("alpha", "theta", "epsilon", "eta", "omega"))
    (tmp_path / "t.toml").write_text(f'[scenario]\ntiers = ["a", "b", "c"]\nregions = "r.csv"\n{tables}',
                                     encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"t\.toml: regions\[Beijing\]\.shares: missing: no tier shares"):
        load_scenario(tmp_path / "t.toml")


# ----------------------------------------------------------------------------------------
# limits that protect the machine
# ----------------------------------------------------------------------------------------
def many_regions(n: int) -> str:
    rng = np.random.default_rng(n)
    rows = [f"r{i},,East,{la:.4f},{lo:.4f},100,10,9\n"
            for i, (la, lo) in enumerate(zip(rng.uniform(20, 48, n), rng.uniform(85, 130, n)))]
    return CSV_TEXT.splitlines(keepends=True)[0] + "".join(rows)


def test_many_regions_are_refused_naming_the_memory_estimate(tmp_path):
    """200,000 regions with all pairs: the R x R distance matrix alone is 298 GiB (the file is
    refused in ~10 s; 20,000 regions keep the test fast, with the same message)."""
    assert rules.run_memory(200_000, 199_999, 4, 28) > 8 * 200_000**2 > 298 * 2**30
    path = csv_scenario(tmp_path, many_regions(20_000), shares=False)
    line = check_cli("scenario", "check", str(path))
    est = rules.run_memory(20_000, 19_999, 4, 28)
    assert line == (f"Error: {path}: scenario.pairs: one run would need about {est / 2**30:.3g} GiB of memory "
                    "(20000 regions, 19999 receivers per sender, 4 tiers, 28 saved times), more than the "
                    "limit of 8 GiB (MAX_RUN_MEMORY); use pairs = { nearest = k } with a small k, or fewer regions")


def test_memory_limit_between_nearest_and_all_pairs(tmp_path):
    R = 10_000
    assert rules.run_memory(R, 5, 4, 28) < MAX_RUN_MEMORY < rules.run_memory(R, R - 1, 4, 28)
    path = csv_scenario(tmp_path, many_regions(R), shares=False)
    assert "scenario.pairs: one run would need about" in check_cli("scenario", "check", str(path))
    path.write_text(sub('pairs = "all"', "pairs = { nearest = 5 }", path.read_text(encoding="utf-8")),
                    encoding="utf-8")
    sc = load_scenario(path)
    assert len(sc.regions) == R and sc.nearest == 5


def test_memory_limit_for_saved_times():
    text = sub("t1 = 2050.0", "t1 = 2523.0", sub("dt = 0.125", "dt = 0.0009765625",
               sub("save_every = 1.0", "save_every = 0.0009765625")))
    e = error(text)
    assert e.field == "run.save_every" and "512001 saved times" in e.reason  # type: ignore[attr-defined]
    assert "save less often or shorten the run" in e.reason  # type: ignore[attr-defined]
    loads_scenario(sub("save_every = 0.0009765625", "save_every = 1.0", text))  # 512000 steps are fine


def test_memory_estimate_counts_what_a_run_allocates():
    """The estimate's parts grow as the arrays they stand for (terms checked by hand)."""
    t = rules.memory_terms(100, 99, 4, 10)
    assert t["regions"] == 8 * 7 * 100 * 100 and t["pairs"] == 8 * 3 * 100 * 99 * 4
    assert rules.memory_terms(100, 99, 4, 20)["saves"] == 2 * t["saves"]
    assert rules.run_memory(100, 99, 4, 10) == sum(t.values())


# ----------------------------------------------------------------------------------------
# overrides: API, `gsim run`, `gsim sweep`
# ----------------------------------------------------------------------------------------
OVERRIDES = {
    "t1 400 digits": dict(t1=10**400),
    "t1 1e300": dict(t1=1e300),
    "t1 2026.3": dict(t1=2026.3),
    "dt nan": dict(dt=float("nan")),
    "dt 5e-324": dict(dt=5e-324),
    "dt 1e-9": dict(dt=1e-9),
    "method": dict(method=["rk4"]),
    "alpha string": dict(alpha="abc"),
    "alpha huge": dict(alpha=[10**400] * 4),
    "alpha 2x2": dict(alpha=np.ones((2, 3))),
    "alpha nested": dict(alpha=[[[[0.3]]]] * 4),
    "policies not a table": dict(policies="gradient"),
    "policy params not a table": dict(policies={"gradient": 3}),
    "nearest huge": dict(nearest=10**30),
    "pairs list": dict(pairs=[1, 2]),
    "deep": dict(policies={"gradient": {"aid": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[0.1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}}),
    "unknown": dict(bogus=1),
    "u0": dict(u0=0.31),
    "kappa": dict(kappa=1e300),
}


@pytest.mark.parametrize("case", sorted(OVERRIDES))
def test_overrides_end_in_one_line_errors(case):
    with pytest.raises(ScenarioError) as ei:
        SC.with_overrides(**OVERRIDES[case])
    assert_one_line(str(ei.value), "<default>")


@pytest.mark.parametrize("args", [["--dt", "1e-9"], ["--dt", "5e-324"], ["--t1", "2026.3"], ["--t1", "1e300"],
                                  ["--dt", "nan"], ["--t1", "9" * 400]])
def test_gsim_run_overrides_are_validated_like_files(args):
    line = check_cli("run", *args)
    assert line.startswith("Error: <default>: run.")


def test_sweep_t1_is_validated_like_a_file(tmp_path):
    store = tmp_path / "s.zarr"
    line = check_cli("sweep", "--t1", "2026.3", "-n", "2", "-o", str(store))
    assert line == "Error: <default>: t1: dt = 0.125 does not divide the horizon t1 - t0 = 3.3"
    assert not store.exists()
    for t1, reason in [(2026.3, "does not divide the horizon"), (10**400, "64-bit range"),
                       (1e300, "MAX_ABS_TIME"), (2000, "must be greater than t0 = 2023, got 2000"),
                       ("2030", "expected a number, got a string '2030'")]:
        with pytest.raises(SweepSpecError) as ei:
            parse_spec(SC, {"t1": t1})
        assert str(ei.value).startswith("<default>: t1: ") and reason in str(ei.value), str(ei.value)
    assert parse_spec(SC, {"t1": 2026}).t1 == 2026.0
    with pytest.raises(SweepSpecError, match=r"sweep\.years\[0\]: expected a finite number, got an integer of 401 digits"):
        parse_spec(SC, {"years": [10**400]})


# ----------------------------------------------------------------------------------------
# sampled inputs: the same rules as a scenario file
# ----------------------------------------------------------------------------------------
def sampled(uncertain: dict, samples: int):
    sc = dataclasses.replace(SC, sweep={"uncertain": uncertain})
    spec = parse_spec(sc, {"samples": samples, "sampler": "mc", "policies": "market"})
    n = np.arange(samples)
    values = sampled_values(spec, len(sc.regions), n, np.zeros(samples, np.int64))
    inp, valid = apply_values(batch_from_scenario(sc, samples), sc, spec, values)
    return sc, values, inp, valid


def loads_with(**kw) -> bool:
    try:
        SC.with_overrides(**kw)
        return True
    except ScenarioError:
        return False


UNC = {
    "u0": {"dist": "choice", "values": [0.75, 0.31, 0.5, 0.9]},
    "kappa": {"dist": "choice", "values": [2.0, 1e300, 500.0]},
    "alpha": {"dist": "uniform", "low": 0.05, "high": 0.95},
    "u_star": {"dist": "uniform", "low": 0.3, "high": 1.0},
}


def test_sampled_runs_pass_exactly_the_rules_of_a_scenario_file():
    sc, values, inp, valid = sampled(UNC, 64)
    assert valid.any() and (~valid).any()
    for i in range(64):
        kw = {"u0": values["u0"][i], "kappa": values["kappa"][i], "u_star": values["u_star"][i],
              "alpha": [values["alpha"][i]] * 4}
        assert loads_with(**kw) == valid[i], kw
    # invalid runs carry the scenario's own values (integrable, their results are discarded)
    base = batch_from_scenario(sc, 1)
    assert (inp.sp[~valid] == base.sp[0]).all() and (inp.tp[~valid] == base.tp[0]).all()


def with_values(text: str, scalars: dict[str, float], tiers: dict[str, float], gdp: float) -> str:
    """The canonical text with scalar parameters, every tier of per-tier ones and Beijing's gdp set."""
    for k, v in scalars.items():
        text = re.sub(rf"^{k} = .*$", f"{k} = {v!r}", text, count=1, flags=re.M)
    for k, v in tiers.items():
        head, rest = text.split(f"[params.{k}]\n", 1)
        block, tail = rest.split("\n\n", 1)
        block = "\n".join(f"{ln.split(' = ')[0]} = {v!r}" for ln in block.splitlines())
        text = f"{head}[params.{k}]\n{block}\n\n{tail}"
    return sub("gdp = 4376.07", f"gdp = {gdp!r}", text)


@settings(max_examples=60, deadline=None)
@given(u0=st.floats(-0.1, 1.2), u_star=st.floats(0.05, 1.0), alpha=st.floats(-0.1, 1.1),
       kappa=st.sampled_from([1.0, 2.0, 300.0, 1e3, 1e300]), theta=st.floats(0.0, 1.0),
       gdp=st.sampled_from([4376.07, 1e-300, 1e300, 5e-324]))
def test_rules_check_agrees_with_the_loader(u0, u_star, alpha, kappa, theta, gdp):
    """One source for each rule: the sweep's vectorised check and the loader agree."""
    inp = batch_from_scenario(SC, 1)
    inp.sp[0, SP["u0"]], inp.sp[0, SP["u_star"]], inp.sp[0, SP["kappa"]] = u0, u_star, kappa
    inp.tp[0, TP["alpha"]], inp.tp[0, TP["theta"]] = alpha, theta
    inp.reg[0, REGION_COLUMNS.index("gdp"), SC.regions.name.index("Beijing")] = gdp
    text = with_values(BASE, {"u0": u0, "u_star": u_star, "kappa": kappa}, {"alpha": alpha, "theta": theta}, gdp)
    try:
        loads_scenario(text)
        loaded = True
    except ScenarioError:
        loaded = False
    assert loaded == (rules.check(inp)[0] == rules.OK)


def test_first_problem_names_the_element_of_each_rule():
    inp = batch_from_scenario(SC, 4)
    inp.sp[0, SP["kappa"]] = -1.0
    inp.shares[1, SC.regions.name.index("Tibet"), 2] = 1.5
    inp.sp[2, SP["u0"]] = 0.31
    assert list(rules.check(inp)) == [rules.BOUNDS, rules.BOUNDS, rules.PROFIT_SHARE, rules.OK]
    names = (SC.tiers, SC.regions.name)
    assert rules.first_problem(inp, *names) == ("params.kappa", "must be > 0, got -1")  # run 0 only
    inp.sp[0, SP["kappa"]] = 2.0
    inp.shares[0] = inp.shares[1]
    assert rules.first_problem(inp, *names) == ("regions[Tibet].shares.capital", "must be in (0, 1], got 1.5")
    inp.shares[0], inp.sp[0] = inp.shares[3], inp.sp[2]
    fld, reason = rules.first_problem(inp, *names)
    assert fld == "params.u_star" and f"tier 'labor' gives {0.7 * SC.params['u_star'] / 0.31:.6g}" in reason
    inp.sp[0] = inp.sp[3]
    assert rules.first_problem(inp, *names) is None


def test_sweep_stores_rule_breaking_runs_as_invalid_input(tmp_path):
    sc = dataclasses.replace(SC, sweep={"uncertain": {"u0": {"dist": "choice", "values": [0.75, 0.31]},
                                                      "kappa": {"dist": "choice", "values": [2.0, 1e300]}}})
    p = tmp_path / "v.zarr"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no numpy warning from the bad runs either
        sweep(p, sc, {"samples": 16, "sampler": "lhs", "t1": 2025, "policies": "none,market"},
              executor=LocalExecutor(1))
    ds = gsim.open_sweep(p).load()
    bad = (ds["u0"].values == 0.31) | (ds["kappa"].values == 1e300)
    assert bad.any() and (~bad).any()
    assert (ds["status"].values[bad] == st_store.STATUS_INVALID).all()
    assert (ds["status"].values[~bad] == st_store.STATUS_OK).all()
    assert np.isnan(ds["real_gdp"].values[bad]).all() and np.isfinite(ds["real_gdp"].values[~bad]).all()


# ----------------------------------------------------------------------------------------
# fuzz: texts built from the canonical default
# ----------------------------------------------------------------------------------------
LINES = BASE.splitlines(keepends=True)
VALUE_LINES = [i for i, ln in enumerate(LINES) if " = " in ln]
ODD_VALUES = [
    "9" * 400, "-" + "9" * 400, "9" * 5000, "0x" + "f" * 4000, "9223372036854775807", "-9223372036854775808",
    "5e-324", "-5e-324", "1.7e308", "-1.7e308", "1e300", "1e-300", "0", "-0.0", "1", "-1", "0.5",
    "nan", "inf", "-inf", "true", "false", '""', '" "', '"\\u0000"', '"all"', "[]", "{}", "[1, 2]",
    '["labor"]', "{ nearest = 3 }", "{ nearest = 0 }", "[[[[1]]]]", "1979-05-27", "07:32:00",
    "[" * 3000 + "]" * 3000, "[" * 40 + "]" * 40, "{a=" * 300 + "1" + "}" * 300, '"' + "x" * 100_000 + '"',
]
UNICODE = st.text(st.characters(codec="utf-8"), max_size=12)  # what a UTF-8 file can hold


def toml_string(s: str) -> str:
    return '"' + "".join(c if c.isprintable() and c not in '"\\' else f"\\U{ord(c):08x}" for c in s) + '"'


VALUES = st.one_of(
    st.sampled_from(ODD_VALUES),
    st.integers().map(str),
    st.floats().map(repr),
    UNICODE.map(toml_string),
    st.integers(0, 60).map(lambda n: "[" * n + "1" + "]" * n),
)


@st.composite
def mutated_lines(draw, lines: list[str], value_lines: list[int], values) -> str:
    """`lines` after 1 to 4 random edits: delete, substitute a value, insert unicode, cut a
    span, duplicate a line, turn a table into an array of tables."""
    out = list(lines)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["delete", "value", "value", "insert", "cut", "duplicate", "header"]))
        i = draw(st.integers(0, len(out) - 1))
        if kind == "delete":
            del out[i]
        elif kind == "value":
            candidates = [j for j in value_lines if j < len(out) and " = " in out[j]] or [i]
            j = draw(st.sampled_from(candidates))
            key = out[j].split(" = ", 1)[0] if " = " in out[j] else "x"
            out[j] = f"{key} = {draw(values)}\n"
        elif kind == "insert":
            at = draw(st.integers(0, len(out[i])))
            out[i] = out[i][:at] + draw(UNICODE) + out[i][at:]
        elif kind == "cut":
            at = draw(st.integers(0, len(out[i])))
            out[i] = out[i][:at] + out[i][at + draw(st.integers(1, 40)):]
        elif kind == "duplicate":
            out.insert(i, out[i])
        elif out[i].startswith("[") and not out[i].startswith("[["):
            out[i] = "[" + out[i].rstrip("\n") + "]\n"
        if not out:
            break
    return "".join(out)


TOML_TEXTS = mutated_lines(LINES, VALUE_LINES, VALUES)
CSV_LINES = CSV_TEXT.splitlines(keepends=True)
CSV_FIELDS = st.one_of(
    st.sampled_from(["", " ", "nan", "inf", "-5", "0", "1e400", "5e-324", "9" * 400, "\x00", '"', '"a,b"',
                     '"line\nbreak"', "x" * 200_000, "East", "share_labor", "region"]),
    st.floats().map(repr), UNICODE,
)


@st.composite
def csv_texts(draw) -> str:
    if draw(st.integers(0, 9)) == 0:
        return draw(st.sampled_from(["", CSV_LINES[0], CSV_LINES[0] * 2, "\ufeff" + CSV_TEXT, CSV_TEXT[:-200]]))
    lines = list(CSV_LINES)
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(lines) - 1))
        kind = draw(st.sampled_from(["field", "field", "delete", "insert", "duplicate"]))
        if kind == "field":
            cells = lines[i].rstrip("\n").split(",")
            cells[draw(st.integers(0, len(cells) - 1))] = draw(CSV_FIELDS)
            lines[i] = ",".join(cells) + "\n"
        elif kind == "delete" and len(lines) > 1:
            del lines[i]
        elif kind == "insert":
            at = draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:at] + draw(UNICODE) + lines[i][at:]
        elif kind == "duplicate":
            lines.insert(i, lines[i])
    return "".join(lines)


def outcome(load, *labels: str) -> str:
    """'ok' (and the canonical form loads back equal) or 'error FIELD' (a clean one-line
    error; FIELD is the first part of its field, e.g. 'toml', 'run', 'regions')."""
    try:
        sc = load()
    except ScenarioError as e:
        assert_one_line(str(e), *labels)
        return "error " + re.split(r"[.\[ ]", e.field)[0]  # type: ignore[attr-defined]
    assert loads_scenario(sc.toml, "<canonical>") == sc
    return "ok"


FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))


@FUZZ
@given(TOML_TEXTS)
def test_fuzz_loader_loads_or_fails_in_one_line(text):
    outcome(lambda: loads_scenario(text, "fuzz.toml"), "fuzz.toml")


@pytest.fixture(scope="module")
def csv_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("csvfuzz")
    csv_scenario(d, CSV_TEXT)
    return d


@settings(FUZZ, max_examples=150)
@given(text=csv_texts())
def test_fuzz_regions_csv_loads_or_fails_in_one_line(csv_dir, text):
    (csv_dir / "r.csv").write_text(text, encoding="utf-8")
    outcome(lambda: load_scenario(csv_dir / "c.toml"), str(csv_dir / "c.toml"), str(csv_dir / "r.csv"))


@pytest.mark.parametrize("column", ["region", "name_zh", "macro_region"])
def test_a_nul_character_in_a_regions_csv_is_one_line_naming_the_field(csv_dir, column):
    """As for regions given inline: a scenario's canonical TOML carries its regions inline,
    and must load back (the fuzzer above found a CSV name_zh with a NUL that did not)."""
    lines = CSV_TEXT.splitlines()
    header = lines[0].split(",")
    cells = lines[1].split(",")
    cells[header.index(column)] = cells[header.index(column)] + "\x00"
    (csv_dir / "r.csv").write_text("\n".join([lines[0], ",".join(cells), *lines[2:]]) + "\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="NUL character") as e:
        load_scenario(csv_dir / "c.toml")
    assert_one_line(str(e.value), str(csv_dir / "c.toml"), str(csv_dir / "r.csv"))
    assert column in str(e.value)


def _main(n: int) -> None:
    """Run both fuzzers for n examples each and print what became of the inputs."""
    import tempfile

    counts: collections.Counter[str] = collections.Counter()

    @settings(max_examples=n, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(TOML_TEXTS)
    def toml_run(text):
        counts["toml " + outcome(lambda: loads_scenario(text, "fuzz.toml"), "fuzz.toml")] += 1

    with tempfile.TemporaryDirectory() as d:
        csv_scenario(Path(d), CSV_TEXT)

        @settings(max_examples=n, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(csv_texts())
        def csv_run(text):
            (Path(d) / "r.csv").write_text(text, encoding="utf-8")
            counts["csv " + outcome(lambda: load_scenario(Path(d) / "c.toml"), str(Path(d) / "c.toml"),
                                    str(Path(d) / "r.csv"))] += 1

        toml_run()
        csv_run()
    for k, v in sorted(counts.items()):
        print(f"{v:6d}  {k}")


if __name__ == "__main__":
    warnings.simplefilter("error")
    _main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
