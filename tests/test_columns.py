"""Every table the CLI prints fits 80 columns (the width when the terminal's is unknown) and
cuts no number: each command's output at 80 columns holds the same numbers as at 200, where
nothing needs to give way. Names may wrap; numbers may not."""

from __future__ import annotations

import io
import re
import types

import numpy as np
import pytest
from click.testing import CliRunner
from rich.console import Console
from synthetic import synthetic_store
from test_discovery import UNC
from test_discovery import outputs as planted

import gsim
from gsim.analysis import claims as cl
from gsim.cli import main
from gsim.cli.run import _summary_table
from gsim.model.layout import VARIABLES, label
from gsim.sweeps.engine import INDICATORS

NUMBER = re.compile(r"[-+]?\d[\d,]*(?:\.\d+)?(?:e[-+]?\d+)?")
POLICIES = ["none", "market", "subsidy_race", "gradient"]


def numbers(text: str) -> set[str]:
    return set(NUMBER.findall(text))


def at(columns: int, *args: str) -> str:
    res = CliRunner().invoke(main, list(args), env={"COLUMNS": str(columns)})
    assert res.exit_code == 0, res.output
    return res.stdout


def assert_same_numbers_within_80(*args: str) -> str:
    narrow, wide = at(80, *args), at(200, *args)
    assert max(len(line) for line in narrow.splitlines()) <= 80, narrow
    assert "…" not in narrow
    assert numbers(narrow) == numbers(wide)
    return narrow


def indicator_outputs(v, pol, times):
    """Every national indicator at realistic magnitudes (real GDP in the hundred thousands,
    lost capital in the thousands, shares below 1), varying with the sampled inputs."""
    rng = np.random.default_rng(abs(hash(pol)) % 2**32)
    n, T = len(v["kappa"]), len(times)
    scale = {"real_gdp": 580717.0, "lost_capital": 1694.0, "transfer_volume": 812.0, "sui_national": 3.08}
    out = {name: scale.get(name, 0.05) * (1 + 0.1 * v["kappa"][:, None] + 0.01 * rng.random((n, T)))
           for name, var in VARIABLES.items() if var.dims == () and var.where == "o0"}
    tiers = 1 + 0.1 * rng.random((n, T, 4))
    out["overcapacity"] = 0.2 * tiers
    return out


def claim_outputs(v, pol, times):
    """Every output `gsim claims` reads (--save indicators) at realistic magnitudes, growing
    threefold to 2050; gradient's gain grows with kappa, so verdicts differ by claim."""
    rng = np.random.default_rng(POLICIES.index(pol))
    n, T = len(v["kappa"]), len(times)
    scale = {"real_gdp": 580717.0, "lost_capital": 1694.0, "transfer_volume": 812.0, "sui_national": 3.08,
             "real_output_sending": 300000.0, "real_output_receiving": 280000.0}
    gain = 0.02 * (v["kappa"][:, None] - 2.5) * (pol == "gradient") + 0.01 * POLICIES.index(pol)
    out = {}
    for name in INDICATORS:
        x = scale.get(name, 0.05) * np.linspace(1, 3, T) * (1 + gain + 0.02 * rng.standard_normal((n, T)))
        out[name] = x if not VARIABLES[name].dims else x[:, :, None] * (1 + 0.1 * rng.random((n, T, 4)))
    return out


@pytest.fixture(scope="module")
def claims_store(tmp_path_factory):
    return synthetic_store(tmp_path_factory.mktemp("claims") / "c.zarr", UNC, claim_outputs, sampler="lhs",
                           samples=40, policies=POLICIES, t1=2050, years=[2030, 2040, 2050])


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    d = tmp_path_factory.mktemp("columns")
    summary = synthetic_store(d / "summary.zarr", UNC, indicator_outputs, sampler="lhs", samples=64,
                              policies=POLICIES)
    discover = synthetic_store(d / "planted.zarr", UNC, planted, sampler="lhs", samples=300, save="regions")
    return summary, discover


def test_run_table_fits_80_columns():
    """`gsim run --policy all`'s table, with numbers as large as the model's (a million)."""
    T = 28

    def run(scale):
        v = {"real_gdp": np.linspace(125093, 1154952, T) * scale, "theil": np.full(T, 0.0629),
             "sui_national": np.full(T, 2.6484), "overcapacity": np.full((T, 4), 0.25),
             "lost_capital": np.full(T, 1694.0 * scale), "failed_transfer_share": np.full(T, 0.5019)}
        return types.SimpleNamespace(values=v, times=np.arange(2023, 2023 + T),
                                     attrs={"scenario": "china31", "method": "euler", "dt": 0.125,
                                            "model": "gtm2"})

    results = {p: run(1 + i) for i, p in enumerate(POLICIES)}
    texts = []
    for width in (80, 200):
        buf = io.StringIO()
        Console(file=buf, width=width).print(_summary_table(results))
        texts.append(buf.getvalue())
    assert max(len(line) for line in texts[0].splitlines()) <= 80
    assert "…" not in texts[0] and numbers(texts[0]) == numbers(texts[1])
    assert "4,619,808" in texts[0]  # gradient's 2050 real GDP, 4 x 1,154,952


def test_summary_fits_80_columns(stores):
    text = assert_same_numbers_within_80("summary", str(stores[0]))
    assert label("real_gdp") in text and "(Theil)" in text


def test_sensitivity_fits_80_columns(stores):
    text = assert_same_numbers_within_80("sensitivity", str(stores[0]), "-i", "real_gdp", "--contrast",
                                         "gradient-market", "--years", "all", "--resamples", "5")
    assert label("kappa") in text


def test_discover_fits_80_columns(stores):
    text = assert_same_numbers_within_80("discover", str(stores[1]), "-c", "real_gdp:gradient-market")
    assert "readiness steepness (κ)" in text


@pytest.mark.parametrize("options", [
    [], ["--measures", "--robustness"],
    # more years than fit beside the verdicts, and a longer name for business as usual
    ["--years", ",".join(str(y) for y in range(2024, 2051, 2)), "--bau", "subsidy_race"]])
def test_claims_fit_80_columns(claims_store, options):
    """`gsim claims` needed 100 columns; its verdicts are words, whatever the width."""
    text = assert_same_numbers_within_80("claims", str(claims_store), *options)
    flat = " ".join(text.split())
    years = [int(y) for y in options[1].split(",")] if "--years" in options else None
    res = gsim.claims(claims_store, years, business_as_usual="subsidy_race" if years else None)
    for i in np.nonzero(res.overall.values)[0]:
        r = res.isel(row=i, year=-1)
        s = [float(r[k]) for k in ("share", "share_lo", "share_hi")]
        assert f"{cl.verdict(*s)} {cl.share_text(*s)}" in flat
    if "--measures" in options:
        assert "guard: real_gdp shortfall vs none" in flat and "Robustness of verdicts" in flat


def test_scenario_show_and_plugins_fit_80_columns():
    show = at(80, "scenario", "show")
    assert "kappa = 2.0" in show and "# readiness steepness (κ) [1], > 0" in show
    for line in at(80, "plugins").splitlines():
        assert len(line) <= 80
    helps = at(80, "--help")  # each command's whole first sentence, wrapped, not cut with "..."
    commands = helps.split("Commands:")[1]
    assert "..." not in commands and max(len(line) for line in helps.splitlines()) <= 80
    assert "Run SCENARIO (default: the embedded 31-province china31) and" in commands


def test_csv_export_columns_in_the_documented_order(stores, tmp_path):
    """docs/cli.md: run, sample, replicate, policy, status, done, other per-run values by
    name, per-region inputs, time, then the variables in the variable table's order."""
    from gsim.sweeps.analysis import export_csv

    export_csv(stores[1], tmp_path / "x.csv")
    header = (tmp_path / "x.csv").read_text().splitlines()[0].split(",")
    assert header[:6] == ["run", "sample", "replicate", "policy", "status", "done"]
    t = header.index("time")
    per_run = header[6:t]
    inputs = [c for c in per_run if "[" not in c]
    assert inputs == sorted(inputs) and "kappa" in inputs
    assert [c for c in per_run if "[" in c][0] == "region.gdp[Beijing]"
    order = list(VARIABLES)
    names = list(dict.fromkeys(c.split("[")[0] for c in header[t + 1:]))
    assert names == sorted(names, key=order.index)
