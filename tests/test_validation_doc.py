"""docs/validation.md shows the numbers its snippets print: each text block that follows a
python block is that block's output, so the page cannot drift from the model.

`test_docs.py` runs the snippets too, but compares no output. Here they run again, in order,
in one namespace, and each printed table must equal the one on the page, line by line.
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "validation.md"
BLOCK = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```[ \t]*$", re.M | re.S)


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.strip("\n").splitlines()]


def test_printed_tables_are_the_ones_shown(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text = DOC.read_text(encoding="utf-8")
    blocks = list(BLOCK.finditer(text))
    namespace: dict[str, object] = {"__name__": "validation_doc"}
    checked = 0
    for block, after in zip(blocks, [*blocks[1:], None]):
        if block.group(1) != "python":
            continue
        line = text.count("\n", 0, block.start()) + 2
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(block.group(2), f"{DOC.name}:{line}", "exec"), namespace)
        shown = after is not None and after.group(1) == "text" and not text[block.end():after.start()].strip()
        if shown:
            assert _lines(printed.getvalue()) == _lines(after.group(2)), f"{DOC.name}:{line}: output differs from the page"
            checked += 1
        else:
            assert not printed.getvalue(), f"{DOC.name}:{line}: prints output the page does not show"
    # backcast, North-South, real shares, growth order, persistence forecast, mechanisms, κ, migration rate;
    # provinces by policy; Theil, utilisation, migration, relocation
    assert checked == 13
