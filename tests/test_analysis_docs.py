"""docs/analysis.md runs: its commands (real sweeps, short ones) in order, then its Python."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import gsim

DOC = Path(__file__).resolve().parents[1] / "docs" / "analysis.md"
GSIM = [sys.executable, "-c", "import sys; from gsim.cli import main; sys.exit(main())"]


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


def test_every_command_and_snippet_runs(tmp_path, monkeypatch):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(gsim.__file__).parents[1]),
                                                         os.environ.get("PYTHONPATH", "")])}
    commands = [ln[2:] for b in _blocks("console") for ln in b.splitlines() if ln.startswith("$ ")]
    assert len(commands) >= 6
    for cmd in commands:
        args = shlex.split(cmd)
        assert args[0] == "gsim", cmd
        res = subprocess.run(GSIM + args[1:], cwd=tmp_path, env=env, capture_output=True, text=True)
        assert res.returncode == 0, (cmd, res.stderr)
        assert res.stdout.strip() or "sweep" in args[1], cmd
    monkeypatch.chdir(tmp_path)
    ns: dict = {}
    for code in _blocks("python"):
        exec(compile(code, str(DOC), "exec"), ns)
    assert ns["boxes"] and ns["d"].boxes  # the examples find what the text describes
