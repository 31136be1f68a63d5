"""Malformed and hostile input to history matching: an observed panel with holes or the wrong
shape, a target that counts a region twice, a variance past the floats, a damaged match
store. Each is one line `FILE: field: reason` (exit 2 from the CLI), and nothing is written."""

from __future__ import annotations

import hashlib
import json
import re
import shutil

import matching_cases as mc
import numpy as np
import pytest
import xarray as xr
from click.testing import CliRunner

import gsim
from gsim.cli import main
from gsim.matching import MatchError, check_memory, parse_match
from gsim.matching.waves import make_problem
from gsim.model.rules import run_memory
from gsim.sweeps.store import StoreIOError

YEARS = np.arange(2013, 2022)
SHARE = ('[[match.targets]]\nkind = "gdp_share"\nregion = "A"\nyear = 2019\nobs_sd = 0.01\n'
         'obs_reason = "x"\ndisc_sd = 0.01\ndisc_reason = "y"\n')
GROWTH = SHARE.replace('kind = "gdp_share"\nregion = "A"\nyear = 2019', 'kind = "growth"\nyears = [2013, 2019]')


def panel() -> xr.Dataset:
    """A panel of the three regions with arbitrary positive values (only their checks matter)."""
    rng = np.random.default_rng(5)
    shape = (len(YEARS), 3)
    return xr.Dataset({"gdp": (("year", "region"), rng.uniform(500, 5000, shape)),
                       "population": (("year", "region"), rng.uniform(30, 60, shape)),
                       "real_gdp": (("year",), np.linspace(1.0, 1.5, len(YEARS)))},
                      coords={"year": YEARS, "region": ["A", "B", "C"]})


def set_value(ds: xr.Dataset, var: str, value, **where) -> xr.Dataset:
    out = ds.copy(deep=True)
    out[var].loc[where] = value
    return out


def test_an_intact_panel_gives_the_share_computed_here():
    p = panel()
    gdp = p.gdp.sel(year=2019).values
    got = parse_match(mc.scenario('[match]\nuse = "max"\n' + SHARE), panel=p).targets[0].value
    assert got == pytest.approx(gdp[0] / gdp.sum(), rel=1e-12)


def test_shares_are_over_the_scenarios_regions_as_the_models_are():
    """A region missing from the panel was left out of the total without a word; one the
    scenario lacks was counted in it: both gave another share than the model's."""
    p = panel()
    sc = mc.scenario('[match]\nuse = "max"\n' + SHARE)
    with pytest.raises(MatchError, match=r"^hm3.toml: match.targets\[0\].value: the observed panel has no region 'B'$"):
        parse_match(sc, panel=p.sel(region=["A", "C"]))
    extra = xr.concat([p, p.sel(region=["C"]).assign_coords(region=["D"])], "region", data_vars="all")
    gdp = p.gdp.sel(year=2019).values  # A, B, C
    assert parse_match(sc, panel=extra).targets[0].value == pytest.approx(gdp[0] / gdp.sum(), rel=1e-12)


@pytest.mark.parametrize("damage, row, reason", [
    # a NaN elsewhere in the year was dropped from the total: a share of 0.84 instead of 0.64
    (lambda p: set_value(p, "gdp", np.nan, year=2019, region="B"), SHARE, "gdp for 2019 is nan in region 'B'"),
    (lambda p: set_value(p, "gdp", -100.0, year=2019, region="C"), SHARE, "gdp for 2019 is -100 in region 'C'"),
    (lambda p: set_value(p, "gdp", 0.0, year=2019, region="A"), SHARE, "gdp for 2019 is 0 in region 'A'"),
    (lambda p: set_value(p, "real_gdp", np.nan, year=2013), GROWTH, "real_gdp for 2013 is nan"),
    (lambda p: xr.concat([p, p.sel(year=[2019]) * 1.1], "year"), SHARE, "year 2019 appears twice"),
    (lambda p: p.rename(region="province"), SHARE, "gdp has dims ('year', 'province'), not (year, region)"),
    (lambda p: p.assign(gdp=p.gdp.sum("region")), SHARE, "gdp has dims ('year',), not (year, region)"),
    (lambda p: p.assign(gdp=p.gdp.astype(str)), SHARE, "not numbers"),
])
def test_a_damaged_panel_is_one_line_naming_the_target(damage, row, reason):
    sc = mc.scenario('[match]\nuse = "max"\n' + row)
    with pytest.raises(MatchError) as e:
        parse_match(sc, panel=damage(panel()))
    msg = str(e.value)
    assert msg.startswith("hm3.toml: match.targets[0].value: the observed panel's ") and reason in msg
    assert "\n" not in msg


@pytest.mark.parametrize("edit, field, reason", [
    # the model and the panel would both count A twice: a "share" near 1.3
    (('region = "A"', 'region = ["A", "B", "A"]'), "match.targets[0].region", "region 'A' appears twice"),
    (("obs_sd = 0.01", "obs_sd = 1e300"), "match.targets[0].obs_sd", "too large"),
    (("disc_sd = 0.01", "disc_rel_sd = 1e200"), "match.targets[0].disc_rel_sd", "too large"),
    # a name is printed in the wave table: no line breaks or terminal escapes
    (('year = 2019', 'year = 2019\nname = "gd\\u001b[2Jx"'), "match.targets[0].name", "one-line printable name"),
    (('year = 2019', 'year = 2019\nname = "a\\nb"'), "match.targets[0].name", "one-line printable name"),
])
def test_bad_target_is_one_line(edit, field, reason):
    sc = mc.scenario('[match]\nuse = "max"\n' + SHARE.replace("obs_sd", "value = 0.6\nobs_sd").replace(*edit))
    with pytest.raises(MatchError) as e:
        parse_match(sc)
    msg = str(e.value)
    assert msg.startswith(f"hm3.toml: {field}: ") and reason in msg and "\n" not in msg


def test_cli_refuses_a_panel_file_with_a_nan(tmp_path):
    nc = tmp_path / "panel.nc"
    set_value(panel(), "population", np.nan, year=2016, region="B").to_netcdf(nc)
    row = SHARE.replace('"gdp_share"', '"population_share"').replace("2019", "2016")
    path = tmp_path / "s.toml"
    path.write_text(mc.scenario(f'[match]\nuse = "max"\npanel = "{nc}"\n' + row).toml)
    out = tmp_path / "m.zarr"
    r = CliRunner().invoke(main, ["match", str(path), "-o", str(out), "-j", "1", "--no-progress"])
    assert r.exit_code == 2, r.output
    assert r.output.strip().count("\n") == 0
    assert (f"{path}: match.targets[0].value: the observed panel's population for 2016 is nan in region 'B'"
            in r.output)
    assert not out.exists()


def test_a_panel_file_too_large_is_refused_before_it_is_loaded(tmp_path, monkeypatch):
    nc = tmp_path / "panel.nc"
    p = panel()
    p.to_netcdf(nc)
    row = SHARE.replace('"gdp_share"', '"population_share"').replace("2019", "2016")
    sc = mc.scenario(f'[match]\nuse = "max"\npanel = "{nc}"\n' + row)
    expected = p.population.sel(year=2016, region=["A"]).sum() / p.population.sel(year=2016).sum()
    assert parse_match(sc).targets[0].value == pytest.approx(float(expected))  # within the limit: read
    size = p.gdp.nbytes + p.population.nbytes + p.real_gdp.nbytes
    monkeypatch.setattr("gsim.matching.targets.MAX_FILE_BYTES", size - 1)
    with pytest.raises(MatchError, match=rf"^hm3.toml: match.panel: {nc}: its gdp, population, real_gdp hold {size} bytes, "
                                         rf"above the limit of {size - 1} \(MAX_FILE_BYTES\)$"):
        parse_match(sc)


# --- a damaged match store ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def store(tmp_path_factory):
    rows = SHARE.replace("obs_sd", "value = 0.64\nobs_sd") + SHARE.replace("2019", "2016").replace(
        "obs_sd", "value = 0.64\nobs_sd")
    out = tmp_path_factory.mktemp("m") / "m.zarr"
    gsim.match(mc.scenario("[match]\nwaves = 1\nsamples = 8\nuse = \"max\"\n" + rows), out, workers=1)
    return out


def damaged(store, tmp_path, how):
    copy = tmp_path / "copy.zarr"
    shutil.copytree(store, copy)
    if how.startswith("array:"):
        shutil.rmtree(copy / how.removeprefix("array:"))
    else:
        key, _, value = how.partition("=")
        meta = json.loads((copy / "zarr.json").read_text())
        if value:
            meta["attributes"][key] = value
        else:
            del meta["attributes"][key]
        (copy / "zarr.json").write_text(json.dumps(meta))
    return copy


@pytest.mark.parametrize("how, reason", [
    ("array:nroy", "the array 'nroy' is missing"),
    ("sweep_spec", "attribute sweep_spec is missing or unreadable"),
    ("sweep_spec=not json", "attribute sweep_spec is missing or unreadable"),
    ("sweep_spec=[1, 2]", "attribute sweep_spec is missing or unreadable"),
    ("scenario_toml", "attribute scenario_toml is missing or unreadable"),
    ("policy", "attribute policy is missing or unreadable"),
    ("config_hash", "attribute config_hash is missing or unreadable"),  # gsim optimize --scenarios-from reads it
])
def test_a_damaged_match_store_is_refused_in_one_line(store, tmp_path, how, reason):
    copy = damaged(store, tmp_path, how)
    with pytest.raises(MatchError, match=rf"^{re.escape(str(copy))}: {reason}; the store is damaged"):
        gsim.open_match(copy)
    path = tmp_path / "s.toml"
    path.write_text(mc.scenario().toml)
    out = tmp_path / "s.zarr"
    r = CliRunner().invoke(main, ["sweep", str(path), "--from", str(copy), "-o", str(out), "-j", "1",
                                  "--no-progress", "--no-summary"])
    assert r.exit_code == 2, r.output
    assert f"{copy}: {reason}" in r.output and r.output.strip().splitlines()[-1].startswith("Error: ")
    assert not out.exists()


def test_a_store_whose_scenario_text_is_altered_names_the_store(store, tmp_path):
    copy = damaged(store, tmp_path, "scenario_toml=not toml [[")
    with pytest.raises(MatchError, match=rf"^{re.escape(str(copy))}: <match store>: toml: invalid TOML"):
        gsim.sweep_from_nroy(tmp_path / "s.zarr", copy, mc.scenario())
    assert not (tmp_path / "s.zarr").exists()


# --- where the match is written ----------------------------------------------------------------
def valued_match(head: str = "") -> gsim.scenario.Scenario:
    rows = SHARE.replace("obs_sd", "value = 0.64\nobs_sd")
    return mc.scenario(f'[match]\nwaves = 1\nsamples = 8\nuse = "max"\n{head}' + rows)


def test_an_out_path_that_cannot_be_created_fails_before_any_wave(tmp_path):
    (tmp_path / "afile").write_text("")
    out = tmp_path / "afile" / "m.zarr"  # its folder is a file
    calls = []
    with pytest.raises(StoreIOError, match=rf"^{re.escape(str(out))}: cannot create it: "):
        gsim.match(valued_match(), out, progress=lambda *a: calls.append(a))
    assert calls == []  # no point was run
    path = tmp_path / "s.toml"
    path.write_text(valued_match().toml)
    r = CliRunner().invoke(main, ["match", str(path), "-o", str(out), "-j", "1", "--no-progress"])
    assert r.exit_code == StoreIOError.exit_code and r.output.startswith(f"Error: {out}: cannot create it: ")
    assert "wave" not in r.output


def test_an_empty_out_is_refused_not_the_default(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # an unset shell variable, `-o "$OUT"`, must not write match.zarr here
    path = tmp_path / "s.toml"
    path.write_text(valued_match().toml)
    for opt in ("--out", "--figure"):
        r = CliRunner().invoke(main, ["match", str(path), opt, "", "-j", "1", "--no-progress"])
        assert r.exit_code == 2 and f"{opt}: empty value" in r.output, r.output
    assert list(tmp_path.iterdir()) == [path]


def test_a_match_too_large_for_memory_is_refused_before_any_run():
    sc = valued_match()
    calls = []
    with pytest.raises(MatchError, match=r"^hm3.toml: match.samples: 1 waves of 10000000000000 points need about "):
        gsim.match(sc, None, {"samples": 10**13}, progress=lambda *a: calls.append(a))
    assert calls == []
    # the estimate: each point's rows of every wave, 8 bytes a number (3 inputs, 1 target)
    pb = make_problem(sc, {"samples": 10**5, "waves": 2, "block_size": 8})
    need = 2 * 10**5 * (2 * 3 + 3 * 1 + 8) * 8
    assert 8 * run_memory(3, 2, 4, len(pb.grid.save_times)) < need  # the block is not what is refused
    check_memory(pb, available=2 * need)
    with pytest.raises(MatchError, match=r"match.samples: 2 waves of 100000 points .* use fewer --samples$"):
        check_memory(pb, available=2 * need - 2)


def test_a_figure_in_no_folder_is_refused_before_the_waves(tmp_path):
    (tmp_path / "afile").write_text("")
    path = tmp_path / "s.toml"
    path.write_text(valued_match().toml)
    out = tmp_path / "m.zarr"
    r = CliRunner().invoke(main, ["match", str(path), "-o", str(out), "--figure", str(tmp_path / "afile" / "f.png"),
                                  "-j", "1", "--no-progress"])
    assert r.exit_code == 2 and r.output.startswith(f"Error: --figure: {tmp_path / 'afile'} is not a folder")
    assert not out.exists()  # the match did not run: no store without its figure


# --- the per-target and per-wave arrays ----------------------------------------------------------
@pytest.mark.parametrize("name", ["observed", "survivors", "box_low"])
def test_an_altered_target_or_wave_value_is_refused_naming_the_array(store, tmp_path, name):
    """These arrays have no per-point checksum; the wave table and report read them."""
    import zarr

    copy = tmp_path / "copy.zarr"
    shutil.copytree(store, copy)
    arr = zarr.open_group(str(copy), mode="r+")[name]
    index = (0,) * arr.ndim
    arr[index] = arr[index] + 1  # one value, its dtype kept
    with pytest.raises(MatchError) as e:
        gsim.open_match(copy)
    assert str(e.value) == (f"{copy}: the array {name!r} does not match its digest in tables_sha256; "
                            "the store is damaged, run the match again")
    assert gsim.open_match(copy, verify=False)[name].values[index] == arr[index]  # the check, not the read, refuses


def test_an_untouched_store_opens_and_its_digests_are_those_of_its_arrays(store):
    ds = gsim.open_match(store)
    digests = ds.attrs["tables_sha256"]
    assert list(digests) == list(gsim.matching.store.TABLE_ARRAYS)
    for name in digests:  # each recomputed here: sha256 of name, dtype, shape, then the values
        a = ds[name].values
        h = hashlib.sha256(json.dumps([name, a.dtype.str, list(a.shape)]).encode())
        h.update(np.ascontiguousarray(a).tobytes())
        assert digests[name] == h.hexdigest()


def test_a_store_without_the_digest_opens_with_its_points_checked(store, tmp_path):
    """Stores written before the digest existed have none: they open as before (their tables
    unchecked), and a damaged point is still refused."""
    import zarr

    copy = damaged(store, tmp_path, "tables_sha256")
    zarr.open_group(str(copy), mode="r+")["observed"][0] = 0.5
    assert gsim.open_match(copy)["observed"].values[0] == 0.5
    zarr.open_group(str(copy), mode="r+")["measure"][3] = -1.0
    with pytest.raises(MatchError, match=r"1 points fail their checksums \(first: point 3\)"):
        gsim.open_match(copy)


@pytest.mark.parametrize("how", ["tables_sha256=not a mapping", "array:box_high"])
def test_a_damaged_digest_or_missing_table_is_refused(store, tmp_path, how):
    copy = damaged(store, tmp_path, how)
    reason = "attribute tables_sha256 is missing or unreadable" if "=" in how else "the array 'box_high' is missing"
    with pytest.raises(MatchError, match=rf"^{re.escape(str(copy))}: {reason}; the store is damaged"):
        gsim.open_match(copy, verify=False)


def test_an_out_named_like_a_file_is_refused_before_the_waves(tmp_path):
    """The match store is a Zarr folder: `--out m.nc` made a folder named m.nc."""
    path = tmp_path / "s.toml"
    path.write_text(valued_match().toml)
    out = tmp_path / "m.nc"
    r = CliRunner().invoke(main, ["match", str(path), "-o", str(out), "-j", "1", "--no-progress"])
    assert r.exit_code == 2, r.output
    assert r.output.strip().count("\n") == 0 and "wave" not in r.output
    assert r.output.startswith(f"Error: --out: {out}: a match store is a Zarr folder (e.g. match.zarr), not a .nc file")
    assert not out.exists()
