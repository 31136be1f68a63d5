# The two commands of the README, each needing only python3 (>= 3.11), pip and make:
#   make run   install (which compiles the model for this machine once: `gsim compile`), then
#              the main job on the embedded default scenario: the backcast, the history match
#              (out/match.zarr), a sweep on its plausible inputs, the report (out/report.html)
#              and the claim verdicts
#   make test  install; the example plugins (installed into .venv-plugins, a second environment
#              that sees .venv's packages, so .venv and `make run` stay as the README shows;
#              their own tests, an end-to-end run);
#              style (ruff), the package's layering (import-linter) and types (mypy); then the
#              whole test suite, which never loads installed plugins
# and for CI:
#   make test-lowest  the lowest versions pyproject.toml allows, installed exactly, and the
#                     tests of the model, scenarios, sweeps and outputs against them
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PLUGINS_VENV := .venv-plugins

.PHONY: run test test-lowest lint install install-test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	$(BIN)/gsim compile

install-test: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"

run: install
	$(BIN)/gsim run --policy all
	$(BIN)/gsim backcast
	rm -rf out/match.zarr out/sweep.zarr
	$(BIN)/gsim match --out out/match.zarr
	$(BIN)/gsim sweep --from out/match.zarr --out out/sweep.zarr --save regions
	$(BIN)/gsim report out/sweep.zarr -o out/report.html
	$(BIN)/gsim claims out/sweep.zarr

lint: install-test
	$(BIN)/ruff check src tests benchmarks plugins
	$(BIN)/lint-imports
	$(BIN)/mypy

test: install-test lint $(PLUGINS_VENV)/bin/python
	bash .ci/plugins.sh $(PLUGINS_VENV)/bin/python
	$(BIN)/python -m pytest tests -q

# The example plugins go into their own environment: a venv whose site-packages adds .venv's
# (a .pth line), so gsim and its dependencies are not installed twice.
$(PLUGINS_VENV)/bin/python: $(BIN)/python
	$(PYTHON) -m venv $(PLUGINS_VENV)
	$(BIN)/python -c "import site; print(f'import site; site.addsitedir({site.getsitepackages()[0]!r})')" \
	    > "$$($(PLUGINS_VENV)/bin/python -c 'import site; print(site.getsitepackages()[0])')/gsim-venv.pth"

LOWEST := .venv-lowest
test-lowest:
	$(PYTHON) -m venv $(LOWEST)
	$(LOWEST)/bin/python -m pip install --quiet uv
	$(LOWEST)/bin/uv pip install --quiet --python $(LOWEST)/bin/python --resolution lowest-direct -e ".[test]"
	NUMBA_CACHE_DIR=$(LOWEST)/numba-cache $(LOWEST)/bin/python -m pytest -q -p no:cacheprovider \
	    tests/test_model.py tests/test_scenario.py tests/test_sweep_run.py tests/test_output_cli.py

bench: install
	$(BIN)/python benchmarks/bench_model.py

clean:
	rm -rf $(VENV) $(LOWEST) $(PLUGINS_VENV) .pytest_cache .hypothesis
