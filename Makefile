# The two commands of the README, each needing only python3 (>= 3.11), pip and make:
#   make run   install, then the main job on the embedded default scenario
#   make test  install; both example plugins (installed, their own tests, an end-to-end run);
#              then the whole test suite, which never loads installed plugins
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: run test install install-test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .

install-test: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"

run: install
	$(BIN)/gsim run --policy all
	rm -rf out/sweep.zarr
	$(BIN)/gsim sweep --samples 1000 --out out/sweep.zarr

test: install-test
	bash .ci/plugins.sh $(BIN)/python
	$(BIN)/python -m pytest tests -q

bench: install
	$(BIN)/python benchmarks/bench_model.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
