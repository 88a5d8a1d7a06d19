# lens-proxy: `make run` serves the Customer 360 demo, `make test` runs the whole suite.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
DATA   ?= data/icebase.duckdb
HOST   ?= 127.0.0.1
PORT   ?= 5433
CUSTOMERS ?= 10000

.PHONY: run test bench lint install data clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed

$(DATA): | $(VENV)/.installed
	@mkdir -p $(dir $(DATA))
	$(VENV)/bin/lens-proxy generate customer_360 --out $(DATA) --customers $(CUSTOMERS)

data: $(DATA)

run: $(VENV)/.installed $(DATA)
	$(VENV)/bin/lens-proxy serve --lens lenses/customer_360 --lens lenses/customer_360_journeys --duckdb $(DATA) --host $(HOST) --port $(PORT)

test: $(VENV)/.installed
	$(PY) -m pytest -q -p no:cacheprovider

bench: $(VENV)/.installed
	$(PY) bench/bench_generate.py --customers 100000
	$(PY) bench/bench_encode.py
	$(PY) bench/bench_queries.py
	$(PY) bench/bench_rewrite.py
	$(PY) bench/bench_wire.py
	$(PY) bench/bench_concurrency.py

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check proxy rewriter tests bench

clean:
	rm -rf $(VENV) data .pytest_cache
