#!/usr/bin/env bash
# Plugins CI step: install the plugin packages into the environment of python $1, run their
# tests and an end-to-end `gsim run` that uses them. `make test` passes .venv-plugins' python,
# an environment of its own that sees .venv's packages, so that .venv itself stays plugin-free.
set -euo pipefail
PY=${1:-python}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

# gsim is already in the venv (--no-deps); build offline when setuptools can (it needs
# setuptools>=70.1 or the `wheel` package), else with an isolated build environment
PLUGINS=(./plugins/gsim-pairing ./plugins/gsim-guangxi-matchmaking ./plugins/gsim-carbon-budget)
"$PY" -m pip install --quiet --no-deps --no-build-isolation "${PLUGINS[@]}" \
    || "$PY" -m pip install --quiet --no-deps "${PLUGINS[@]}"

"$PY" -m pytest -q -p no:cacheprovider plugins/gsim-pairing/tests
"$PY" -m pytest -q -p no:cacheprovider plugins/gsim-guangxi-matchmaking/tests
"$PY" -m pytest -q -p no:cacheprovider plugins/gsim-carbon-budget/tests

gsim() { "$PY" -c 'import sys; from gsim.cli import main; sys.exit(main())' "$@"; }
gsim plugins | tee /tmp/gsim-plugins.txt
grep -q "pairing" /tmp/gsim-plugins.txt
grep -q "guangxi_matchmaking" /tmp/gsim-plugins.txt
grep -q "carbon_budget" /tmp/gsim-plugins.txt

OUT=$(mktemp -d)
# end to end: the Guangxi events scenario under the pairing policy, written to netCDF
gsim run plugins/gsim-guangxi-matchmaking/scenarios/guangxi2025.toml \
    --policy pairing --t1 2035 --out "$OUT/guangxi_pairing.nc"
"$PY" - "$OUT/guangxi_pairing.nc" <<'PYEOF'
import sys
import xarray as xr
ds = xr.open_dataset(sys.argv[1])
assert float(ds.pipeline.sel(region="Guangxi").sum("tier").isel(time=3)) > 0
print("plugins end-to-end OK:", sys.argv[1])
PYEOF
# disabling a plugin by name removes it
GSIM_DISABLE_PLUGINS=pairing gsim plugins | grep -q "pairing .*(disabled)"
rm -rf "$OUT"
