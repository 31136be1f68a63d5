"""Every python snippet of README.md and docs/*.md runs against the installed versions.

Sybil parses each document's python code blocks; they run in order in one namespace per
document, inside a temporary directory (snippets that write a sweep store write it there).
Functions a snippet defines whose names start with ``test_`` are then called. A block may be
skipped only with a ``<!-- skip: next -->`` comment; the test counts the blocks by hand, so a
block sybil does not see (``py``, ``pycon``) fails it.
"""

from __future__ import annotations

import re
import sys
import types
import unittest
from pathlib import Path

import pytest
from sybil import Sybil
from sybil.evaluators.skip import Skipper
from sybil.parsers.markdown import PythonCodeBlockParser, SkipParser

from gsim import hookimpl
from gsim.policies import Policy, zero_decision

ROOT = Path(__file__).resolve().parents[1]
# docs/analysis.md's snippets read the stores its `gsim sweep` commands make: it runs whole,
# commands then snippets, in tests/test_analysis_docs.py
DOCS = [ROOT / "README.md", *sorted(p for p in (ROOT / "docs").glob("*.md") if p.name != "analysis.md")]
SYBIL = Sybil(parsers=[SkipParser(), PythonCodeBlockParser()])
FENCE = re.compile(r"^```(\w*)[^\n]*\n", re.M)
SKIPPED: dict[str, int] = {}  # document -> snippets that cannot run (none today)


def _my_plugin() -> types.ModuleType:
    """The plugin `docs/plugins.md` ("Testing a plugin") imports as `my_plugin`."""
    mod = types.ModuleType("my_plugin")

    def decide(ctx):
        W, z, psi = zero_decision(ctx.n_runs, ctx.pairs, len(ctx.tiers))
        W[:] = 1.0
        return W, z, psi

    @hookimpl
    def gsim_register_policies(register):
        register(Policy("my_policy", decide, {}, "every candidate pair"))

    mod.gsim_register_policies = gsim_register_policies
    return mod


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_python_snippets_run(doc, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "my_plugin", _my_plugin())
    text = doc.read_text(encoding="utf-8")
    langs = [m.group(1) for m in FENCE.finditer(text)][::2]  # opening fences only
    assert not {"py", "py3", "python3", "pycon", "ipython"} & set(langs), f"{doc.name}: use ```python"
    document = SYBIL.parse(doc)
    ran = skipped = 0
    for example in document.examples():
        if isinstance(example.region.evaluator, Skipper):  # a skip directive, not a snippet
            example.evaluate()
            continue
        try:
            example.evaluate()
            ran += 1
        except unittest.SkipTest:
            skipped += 1
    for name, fn in list(document.namespace.items()):
        if name.startswith("test_") and callable(fn):
            fn()
    assert ran + skipped == langs.count("python")
    assert skipped == SKIPPED.get(doc.name, 0), "a snippet was skipped that is not listed in SKIPPED"
