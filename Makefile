# qnncc developer commands. Everything runs in a local virtualenv (.venv),
# created and filled on first use, so a fresh clone needs nothing else.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: install demo test test-full lint format bench clean clang

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev,rtl]'
	touch $(STAMP)

install: $(STAMP)

## Run the main job on the embedded TFC-W1A1 model.
demo: install
	$(BIN)/qnncc demo

## Debian's clang for the clang -fsyntax-only check of the generated HLS tops (idempotent, quiet;
## needs root or sudo; without clang that check is skipped with its reason).
clang:
	@command -v clang++ >/dev/null 2>&1 || { \
	    SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	    $$SUDO apt-get update -qq >/dev/null && \
	    DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq clang >/dev/null; }

## Fast suite (CI): everything except tests marked slow.
test: install
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

## Full suite, including full-dataset accuracy checks.
test-full: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check src transforms tests benchmarks
	$(BIN)/ruff format --check src transforms tests benchmarks
	$(BIN)/mypy src transforms

format: install
	$(BIN)/ruff check --fix src transforms tests benchmarks
	$(BIN)/ruff format src transforms tests benchmarks

bench: install
	$(BIN)/python benchmarks/bench_execute.py
	$(BIN)/python benchmarks/bench_folding.py
	$(BIN)/python benchmarks/bench_cppsim.py
	$(BIN)/python benchmarks/bench_fifo.py
	$(BIN)/python benchmarks/bench_perf_vs_sim.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .mypy_cache .ruff_cache

.PHONY: docker notebooks

## Build the Docker image's test stage and run the CI tests inside it (needs a Docker engine).
docker:
	docker build --target test -t qnncc-test .
	docker run --rm qnncc-test

## Execute the notebooks (as CI does, through tests/build/test_notebooks.py).
notebooks: install
	$(BIN)/python -m pytest tests/build/test_notebooks.py $(PYTEST_ARGS)
