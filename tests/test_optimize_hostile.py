"""`gsim optimize` used adversarially: what a user is told when nothing can satisfy them."""

from __future__ import annotations

from click.testing import CliRunner

import gsim
from gsim.cli import main

CLI_SMALL = ["--levers", "readiness", "--objectives", "real_gdp:max,theil:min", "--year", "2025",
             "--scenarios", "2", "--population", "4", "--generations", "1", "--seed", "3", "-j", "1"]


def test_an_infeasible_constraint_says_no_setting_meets_it(tmp_path):
    """Real GDP ten times business as usual cannot be met: the front is empty and the user is
    told so, naming the constraint, rather than '0 settings are non-dominated'."""
    out = tmp_path / "o.zarr"
    res = CliRunner().invoke(main, ["optimize", *CLI_SMALL, "--constraint", "real_gdp>=900%:bau", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert gsim.open_optimization(out).sizes.get("candidate", 0) == 0
    assert "No setting of gradient meets the constraints (real_gdp>=900%:bau)" in res.output, res.output
    assert "non-dominated" not in res.output
