"""README.md shows what `make run` prints: every plain fenced block of its Quick start is a
run of consecutive lines of one of the commands' output, so the page cannot drift from the
model. `python tests/test_readme_outputs.py DIR` prints the outputs (to refresh the page).

The commands are those of the Makefile's `run` target, at their defaults: the policy table,
the backcast, the history match, the sweep on its NROY points and the claims. docs/claims.md's
"On the plausible set" reads the same stores: its table's plausible-set column is checked
against `gsim.claims` of the sweep, and its text blocks are runs of lines of the claims
output or of the `gsim discover` commands it shows.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from helpers import without_rates

import gsim
from gsim.analysis.claims import share_text, verdict
from gsim.analysis.plausibility import forward_plausibility
from gsim.cli import main

README = Path(__file__).resolve().parents[1] / "README.md"
CLAIMS_DOC = Path(__file__).resolve().parents[1] / "docs" / "claims.md"
COMMANDS = (
    ["run", "--policy", "all"],
    ["backcast"],
    ["match", "--out", "out/match.zarr", "--no-progress"],
    ["sweep", "--from", "out/match.zarr", "--out", "out/sweep.zarr", "--save", "regions", "--no-progress",
     "--no-summary"],
    ["claims", "out/sweep.zarr"],
)
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```[ \t]*$", re.M | re.S)  # a block and its language


def outputs(commands=COMMANDS) -> list[str]:
    """Each command's standard output, run in the working directory."""
    out = []
    for args in commands:
        res = CliRunner().invoke(main, args)
        assert res.exit_code == 0, (args, res.output)
        out.append(res.stdout)
    return out


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """(directory, printed outputs): `make run`'s commands, run once for both pages."""
    where = tmp_path_factory.mktemp("make_run")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(where)
        return where, outputs()


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.strip("\n").splitlines()]


def _contains(haystack: list[str], needle: list[str]) -> bool:
    return any(haystack[i:i + len(needle)] == needle for i in range(len(haystack) - len(needle) + 1))


def test_quick_start_blocks_are_what_make_run_prints(made):
    quick = README.read_text(encoding="utf-8").split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = [_lines(body) for lang, body in FENCE.findall(quick) if not lang]
    assert len(blocks) == 3  # the policy table, the backcast, the claims
    printed = [_lines(o) for o in made[1]]
    for block in blocks:
        assert any(_contains(p, block) for p in printed), f"README block not printed:\n{block[:3]}"


def _cell(text: str) -> tuple[str, str]:
    """'**mostly holds, 80 % [75–84]**' -> ('mostly holds', '80 % [75–84]'); 'holds' -> ('holds', '')."""
    word, _, share = text.strip().strip("*").partition(", ")
    return word, share


def test_claims_doc_on_the_plausible_set_is_what_the_commands_print(made, monkeypatch):
    where, printed = made
    monkeypatch.chdir(where)
    section = CLAIMS_DOC.read_text(encoding="utf-8").split("## On the plausible set", 1)[1].split("\n## ", 1)[0]
    res = gsim.claims("out/sweep.zarr")
    assert f"on the {res.attrs['samples']} inputs" in " ".join(section.split())
    shown: dict[tuple[str, str], tuple[str, str]] = {}
    for i in res.overall.values.nonzero()[0]:
        r = res.isel(row=i, year=-1)
        s = [float(r[k]) for k in ("share", "share_lo", "share_hi")]
        shown[(str(r.claim.values), str(r.baseline.values))] = (verdict(*s), share_text(*s))
    rows = [line.split("|")[1:-1] for line in section.splitlines() if line.startswith("| ")][1:]
    checked = 0
    for claim, vs, _, plausible in (map(str.strip, row) for row in rows):
        bases = ([b for c, b in shown if c == claim] if vs == "every baseline"
                 else [b.replace(" (BAU)", "") for b in vs.split(", ")])
        word, share = _cell(plausible)
        for base in bases:
            assert shown[(claim, base)][0] == word and shown[(claim, base)][1].startswith(share), (claim, base)
            checked += 1
    assert checked == len(shown)  # every claim and baseline of the sweep is in the table
    commands = [line[len("$ gsim "):].split() for line in section.splitlines() if line.startswith("$ gsim discover")]
    assert len(commands) == 2
    texts = [_lines(printed[-1])] + [_lines(o) for o in outputs(commands)]
    blocks = [_lines(body) for lang, body in FENCE.findall(section) if lang == "text"]
    assert len(blocks) >= len(commands) + 1  # a block per discover command, and the risk table
    for block in blocks:
        assert any(_contains(p, block) for p in texts), f"claims.md block not printed:\n{block[:3]}"


def test_validation_doc_match_block_is_what_gsim_match_prints(made):
    """docs/validation.md's `gsim match` block, line by line but for the wave rows' runs/s
    (the machine's speed): the NROY shares, the held-out bands and where the NROY sample lies."""
    doc = (README.parent / "docs" / "validation.md").read_text(encoding="utf-8")
    block = next(body for lang, body in FENCE.findall(doc)
                 if lang == "console" and body.startswith("$ gsim match --out out/match.zarr"))
    assert without_rates(block)[1:] == without_rates(made[1][2])


def test_the_readme_prose_numbers_are_what_the_stores_give(made, monkeypatch):
    """The Quick start's sentence on the plausible set: each number read from the stores."""
    where, printed = made
    monkeypatch.chdir(where)
    text = " ".join(README.read_text(encoding="utf-8").split("On the plausible set (GTM-2", 1)[1]
                    .split("\n\n", 1)[0].split())
    res = gsim.claims("out/sweep.zarr")

    def share(claim, base):
        r = res.isel(row=np.flatnonzero((res.claim == claim) & (res.baseline == base) & res.overall)[0], year=-1)
        return share_text(*(float(r[k]) for k in ("share", "share_lo", "share_hi"))).split(" [")[0]

    lines = printed[-1].splitlines()
    table = next(i for i, line in enumerate(lines) if line.startswith("policy        below none"))
    risk = next(line for line in lines[table:] if line.startswith("market "))  # the risk table's row
    ratio = forward_plausibility("out/sweep.zarr").gdp_ratio.median()
    expected = [f"more than 1 % in {share('efficiency', 'market')} of samples",
                f"market relocation does in {risk.split()[1]} %",
                f"market relocation in {share('coordinated_development', 'market')} of samples",
                f"win-win against market relocation in {share('win_win', 'market')}",
                f"against no transfer ({share('win_win', 'none')})",
                f"median {float(ratio):.1f}-fold to 2050"]
    for phrase in expected:
        assert phrase in text, phrase


if __name__ == "__main__":  # print the outputs, to refresh README.md
    import os

    os.chdir(sys.argv[1])
    for args, text in zip(COMMANDS, outputs()):
        print(f"$ gsim {' '.join(args)}\n{text}")
