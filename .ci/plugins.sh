#!/usr/bin/env bash
# Plugins CI step: install both plugin packages into the venv, run their tests and
# an end-to-end `gsim run` that uses them. Called by `make test` with the venv python as $1.
set -euo pipefail
PY=${1:-python}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$(dirname "$PY")
cd "$ROOT"

# gsim is already in the venv (--no-deps); build offline when setuptools can (it needs
# setuptools>=70.1 or the `wheel` package), else with an isolated build environment
PLUGINS=(./plugins/gsim-pairing ./plugins/gsim-guangxi-matchmaking)
"$PY" -m pip install --quiet --no-deps --no-build-isolation "${PLUGINS[@]}" \
    || "$PY" -m pip install --quiet --no-deps "${PLUGINS[@]}"

"$PY" -m pytest -q -p no:cacheprovider plugins/gsim-pairing/tests
"$PY" -m pytest -q -p no:cacheprovider plugins/gsim-guangxi-matchmaking/tests

GSIM="$BIN/gsim"
"$GSIM" plugins | tee /tmp/gsim-plugins.txt
grep -q "pairing" /tmp/gsim-plugins.txt
grep -q "guangxi_matchmaking" /tmp/gsim-plugins.txt

OUT=$(mktemp -d)
# end to end: the Guangxi events scenario under the pairing policy, written to netCDF
"$GSIM" run plugins/gsim-guangxi-matchmaking/scenarios/guangxi2025.toml \
    --policy pairing --t1 2035 --out "$OUT/guangxi_pairing.nc"
"$PY" - "$OUT/guangxi_pairing.nc" <<'PYEOF'
import sys
import xarray as xr
ds = xr.open_dataset(sys.argv[1])
assert float(ds.pipeline.sel(region="Guangxi").sum("tier").isel(time=3)) > 0
print("plugins end-to-end OK:", sys.argv[1])
PYEOF
# disabling a plugin by name removes it
GSIM_DISABLE_PLUGINS=pairing "$GSIM" plugins | grep -q "pairing .*(disabled)"
rm -rf "$OUT"
