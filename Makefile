# Two entry points for a fresh machine: `make demo` and `make test`.
# VENV may live outside the clone (CI keys it by the hash of requirements.txt).
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
REQ_HASH := $(shell sha256sum requirements.txt | cut -c1-16)
STAMP := $(VENV)/.installed-$(REQ_HASH)
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install demo test test-fast lint bench help

help:
	@echo "make demo   - set up $(VENV) if needed and run the dashboard on 127.0.0.1:8501"
	@echo "make test   - set up $(VENV) if needed and run the whole test suite"
	@echo "make test-fast - the suite without the slow, browser (e2e) and multi-process (ddp) tests"
	@echo "make lint   - ruff check ."
	@echo "make bench  - matching benchmark (ours vs per-row Python sets)"

$(STAMP): requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.txt
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP)

demo: install
	$(PY) -m streamlit run app.py --server.address 127.0.0.1

test: install
	$(PY) -m pytest -q

test-fast: install
	$(PY) -m pytest -q -m "not slow and not e2e and not ddp"

lint: install
	$(VENV)/bin/ruff check .

bench: install
	$(PY) scripts/bench_matching.py
