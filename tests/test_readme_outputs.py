"""README.md shows what `make run` prints: every plain fenced block of its Quick start is a
run of consecutive lines of one of the commands' output, so the page cannot drift from the
model. `python tests/test_readme_outputs.py DIR` prints the outputs (to refresh the page).

The commands are those of the Makefile's `run` target, at their defaults: the policy table,
the backcast, the history match, the sweep on its NROY points and the claims.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from click.testing import CliRunner

from gsim.cli import main

README = Path(__file__).resolve().parents[1] / "README.md"
COMMANDS = (
    ["run", "--policy", "all"],
    ["backcast"],
    ["match", "--out", "out/match.zarr", "--no-progress"],
    ["sweep", "--from", "out/match.zarr", "--out", "out/sweep.zarr", "--no-progress", "--no-summary"],
    ["claims", "out/sweep.zarr"],
)
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```[ \t]*$", re.M | re.S)  # a block and its language


def outputs() -> list[str]:
    """Each command's standard output, run in the working directory."""
    out = []
    for args in COMMANDS:
        res = CliRunner().invoke(main, args)
        assert res.exit_code == 0, (args, res.output)
        out.append(res.stdout)
    return out


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.strip("\n").splitlines()]


def _contains(haystack: list[str], needle: list[str]) -> bool:
    return any(haystack[i:i + len(needle)] == needle for i in range(len(haystack) - len(needle) + 1))


def test_quick_start_blocks_are_what_make_run_prints(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    quick = README.read_text(encoding="utf-8").split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = [_lines(body) for lang, body in FENCE.findall(quick) if not lang]
    assert len(blocks) == 3  # the policy table, the backcast, the claims
    printed = [_lines(o) for o in outputs()]
    for block in blocks:
        assert any(_contains(p, block) for p in printed), f"README block not printed:\n{block[:3]}"


if __name__ == "__main__":  # print the outputs, to refresh README.md
    import os

    os.chdir(sys.argv[1])
    for args, text in zip(COMMANDS, outputs()):
        print(f"$ gsim {' '.join(args)}\n{text}")
