# lens-proxy: `make run` serves the Customer 360 demo, `make test` runs the whole suite.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
DATA   ?= data/warehouse
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

# The demo lakehouse: an Iceberg warehouse (pyiceberg SQL catalog in $(DATA)/catalog.db), served by embedded DuckDB.
$(DATA)/catalog.db: | $(VENV)/.installed
	$(VENV)/bin/lens-proxy generate customer_360 --format iceberg --out $(DATA) --customers $(CUSTOMERS)

data: $(DATA)/catalog.db

# The same data as one DuckDB file, for the benches that attach it (bench_queries, bench_concurrency).
data/icebase.duckdb: | $(VENV)/.installed
	$(VENV)/bin/lens-proxy generate customer_360 --out $@ --customers $(CUSTOMERS)

run: $(VENV)/.installed $(DATA)/catalog.db
	$(VENV)/bin/lens-proxy serve --config lens-proxy.yaml --host $(HOST) --port $(PORT)

test: $(VENV)/.installed
	$(PY) -m pytest -q -p no:cacheprovider

bench: $(VENV)/.installed data/icebase.duckdb
	$(PY) bench/bench_generate.py --customers 100000
	$(PY) bench/bench_encode.py
	$(PY) bench/bench_queries.py
	$(PY) bench/bench_rewrite.py
	$(PY) bench/bench_wire.py
	$(PY) bench/bench_concurrency.py
	$(PY) bench/bench_backends.py

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check proxy rewriter tests bench

clean:
	rm -rf $(VENV) data .pytest_cache
