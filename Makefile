# Two commands for a newcomer: `make demo` and `make test`. Both build .venv from nothing.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.mlrange-installed
OUT    ?= runs/demo

.PHONY: setup demo test bench lint clean

# torch/torchvision come from the machine's local wheels (pip sees them, uv/poetry do not);
# pinning them first means the project's ranges never make pip resolve a newer torch.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip 2>&1 | grep -v 'is ignored' || true
	$(VENV)/bin/pip install -q torch==2.14.1 torchvision==0.29.1 2>&1 | grep -v 'is ignored' || true
	$(VENV)/bin/pip install -q -e '.[service,attack,bench,dev]' 2>&1 | grep -v 'is ignored' || true
	$(PY) -c "import torch, torchvision, flask, gunicorn, xgboost, opacus, sklearn"
	touch $@

setup: $(STAMP)

demo: setup
	$(VENV)/bin/mlrange victims build --preset default --store store
	$(VENV)/bin/mlrange scenario run scenarios/demo.yaml --store store --out $(OUT)

test: setup
	$(PY) -m pytest -q -ra tests

bench: setup
	$(PY) bench/serving.py
	$(PY) bench/attacks.py

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

clean:
	rm -rf $(VENV) runs .pytest_cache
