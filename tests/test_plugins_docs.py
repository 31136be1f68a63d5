"""docs/plugins.md is tested: every hook is documented, and its minimal plugin example is
built, installed into a temporary virtual environment and run."""

from __future__ import annotations

import re
import site
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from gsim import hookspecs

DOC = Path(__file__).resolve().parents[1] / "docs" / "plugins.md"


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


@pytest.mark.parametrize("hook", sorted(n for n in dir(hookspecs) if n.startswith("gsim_")))
def test_every_hook_is_documented(hook):
    text = DOC.read_text(encoding="utf-8")
    assert f"### `{hook}(" in text, f"hook {hook} is missing from docs/plugins.md"


def _can_build_without_isolation() -> bool:
    try:
        import setuptools
    except ImportError:
        return False
    major, minor = (int(x) for x in setuptools.__version__.split(".")[:2])
    if (major, minor) >= (70, 1):  # bdist_wheel built in
        return True
    try:
        import wheel  # noqa: F401
    except ImportError:
        return False
    return True


def test_minimal_plugin_example_installs_and_runs(tmp_path):
    assert _can_build_without_isolation(), (
        "the offline build needs setuptools>=70.1 or the 'wheel' package (in the test extras)"
    )
    pyproject = next(b for b in _blocks("toml") if "[project.entry-points.gsim]" in b)
    code = next(b for b in _blocks("python") if "@hookimpl" in b and "gsim_register" in b)
    name = re.search(r'^(\w+) = "(\w+)"', pyproject.split("[project.entry-points.gsim]")[1],
                     re.M)
    ep_name, module = name.group(1), name.group(2)
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "pyproject.toml").write_text(pyproject)
    (pkg / f"{module}.py").write_text(code)

    # a venv that sees this interpreter's packages (gsim, numpy, ...) and works offline
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip",
                    str(venv)], check=True)
    py = venv / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    venv_site = subprocess.run([str(py), "-c", "import site; print(site.getsitepackages()[0])"],
                               check=True, capture_output=True, text=True).stdout.strip()
    parents = [p for p in site.getsitepackages() if Path(p).is_dir()]
    (Path(venv_site) / "_gsim_parent.pth").write_text(
        "".join(f"import site; site.addsitedir({p!r})\n" for p in parents))
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--quiet",
                    "--no-deps", "--no-build-isolation", "--no-index", str(pkg)],
                   check=True, capture_output=True)

    script = textwrap.dedent(f"""
        from click.testing import CliRunner
        from gsim.cli import main
        from gsim.api import simulate
        from gsim.plugins import make_plugin_manager, use_plugin_manager

        pm = make_plugin_manager(disabled=frozenset())
        names = [i.name for i in pm.plugin_infos()]
        assert {ep_name!r} in names, names
        with use_plugin_manager(pm):
            ds = simulate(None, "halfmarket", t1=2025.0)
            out = CliRunner().invoke(main, ["plugins"]).output
        assert float(ds.transfer_volume[-1]) > 0
        assert "top_gdp_share" in ds and "{ep_name} 0.1.0 [gsim-halfmarket]" in out, out
        print("OK")
    """)
    r = subprocess.run([str(py), "-c", script], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0 and "OK" in r.stdout, r.stderr[-3000:]


def test_the_worked_example_is_the_carbon_budget_plugin():
    """docs/plugins.md shows the carbon-budget plugin's module whole (its tests run with the
    plugins, `.ci/plugins.sh`; the page's snippet runs it in tests/test_docs.py)."""
    module = DOC.parents[1] / "plugins" / "gsim-carbon-budget" / "src" / "gsim_carbon_budget" / "__init__.py"
    shown = next(b for b in _blocks("python") if "def relocation_emissions" in b)
    assert shown == module.read_text(encoding="utf-8")
