# Newcomer entry points: `make demo` (set up, then bench the codecs on the shipped samples)
# and `make test` (set up, then run the test suite). Both create .venv on first use.

PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
# CPU machines get the local CPU wheel of torch first, so nothing pulls a CUDA build.
TORCH  ?= $(shell if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then echo torch; else echo torch==2.13.0; fi)

.PHONY: demo test setup clean relay

$(BIN)/codeclab: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet "$(TORCH)"
	$(BIN)/pip install --quiet -e ".[test]"
	@touch $@

setup: $(BIN)/codeclab

demo: setup
	$(BIN)/codeclab warmup
	$(BIN)/codeclab bench --out results/demo

# Train the flagship on idle CPU until UNTIL (HH:MM or a duration), continuing the shipped run.
UNTIL ?= 2h50m
relay: setup
	$(BIN)/codeclab relay start --until $(UNTIL)

test: setup
	$(BIN)/codeclab warmup --no-progress
	$(BIN)/python -m pytest -q -n 2

clean:
	rm -rf $(VENV) results .pytest_cache
