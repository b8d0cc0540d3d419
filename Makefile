# Set-up and entry points. `make demo` and `make test` each create .venv and
# install what they need; nothing relies on packages installed by hand.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# PyTorch is declared as a range in pyproject.toml; this pins the builds we test with.
PIP_INSTALL := $(BIN)/pip install --constraint constraints.txt
STAMP := $(VENV)/.installed-dev
# MapLibre GL JS for the map viewer, fetched from the npm registry (pinned, sha512 checked)
MAPLIBRE := src/eoforge/serve/static/vendor/maplibre-gl.js
BENCH_STAMP := $(VENV)/.installed-bench

.PHONY: demo test lint typecheck bench bench-quick clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip setuptools wheel

$(STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(PIP_INSTALL) --quiet -e '.[dev,dask,text]'
	touch $(STAMP)

$(BENCH_STAMP): $(STAMP)
	$(PIP_INSTALL) --quiet -e '.[dev,dask,text,bench]'
	touch $(BENCH_STAMP)

$(MAPLIBRE): scripts/vendor_maplibre.sh
	scripts/vendor_maplibre.sh > /dev/null

demo: $(STAMP) $(MAPLIBRE)
	$(BIN)/eoforge demo

test: $(STAMP) $(MAPLIBRE)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy

bench: $(BENCH_STAMP)
	$(BIN)/python benchmarks/bench_loading.py --out benchmarks/results/loading.json
	$(BIN)/python benchmarks/bench_predict.py --out benchmarks/results/predict.json
	$(BIN)/python benchmarks/bench_train.py --out benchmarks/results/train.json
	$(BIN)/python benchmarks/bench_recipes.py --out benchmarks/results/recipes.json
	$(BIN)/python benchmarks/bench_detect.py --out benchmarks/results/detect.json
	$(BIN)/python benchmarks/bench_ssl.py --out benchmarks/results/ssl.json
	$(BIN)/python benchmarks/bench_text.py --out benchmarks/results/text.json
	$(BIN)/python benchmarks/bench_multimodal.py --out benchmarks/results/multimodal.json
	$(BIN)/python benchmarks/bench_sr.py --out benchmarks/results/sr.json
	$(BIN)/python benchmarks/bench_spectral.py --out benchmarks/results/spectral.json
	$(BIN)/python benchmarks/bench_serve.py --big --out benchmarks/results/serve.json

bench-quick: $(BENCH_STAMP)
	$(BIN)/python benchmarks/bench_loading.py --quick
	$(BIN)/python benchmarks/bench_predict.py --quick --out benchmarks/results/predict_quick.json
	$(BIN)/python benchmarks/bench_train.py --quick --out benchmarks/results/train_quick.json
	$(BIN)/python benchmarks/bench_recipes.py --quick --out benchmarks/results/recipes_quick.json
	$(BIN)/python benchmarks/bench_detect.py --quick --out benchmarks/results/detect_quick.json
	$(BIN)/python benchmarks/bench_ssl.py --quick --out benchmarks/results/ssl_quick.json
	$(BIN)/python benchmarks/bench_text.py --quick --out benchmarks/results/text_quick.json
	$(BIN)/python benchmarks/bench_multimodal.py --quick --out benchmarks/results/multimodal_quick.json
	$(BIN)/python benchmarks/bench_sr.py --quick --out benchmarks/results/sr_quick.json
	$(BIN)/python benchmarks/bench_spectral.py --quick --out benchmarks/results/spectral_quick.json
	$(BIN)/python benchmarks/bench_serve.py --quick --out benchmarks/results/serve_quick.json

clean:
	rm -rf $(VENV) build .pytest_cache .mypy_cache .ruff_cache
