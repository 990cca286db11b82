# The two commands a newcomer types: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run simulate test quick check bench clean

# pip is quiet (a screen of "Collecting ..." otherwise), so each step says what it does first.
$(STAMP): pyproject.toml
	@echo "creating $(VENV) (a virtual environment of $(PYTHON))"
	$(PYTHON) -m venv $(VENV)
	@echo "upgrading pip in $(VENV)"
	$(BIN)/pip install --quiet --upgrade pip
	@echo "installing plant-twin and about 75 packages (numpy, scipy, asyncua, dask, matplotlib, pymoo, ...):"
	@echo "  a few minutes the first time on a slow disk or network, seconds after that"
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)
	@echo "installed: $(BIN)/plant (try $(BIN)/plant --help)"

run: $(STAMP)
	$(BIN)/plant up

simulate: $(STAMP)
	$(BIN)/plant simulate --plant gear_line --model BDOP --scenario 1 --hours 9000 --warmup 1000 --reps 30 --seed 1 --jobs 2

INTEROP := tests/interop/node_modules/.installed

$(INTEROP): tests/interop/package.json tests/interop/package-lock.json
	cd tests/interop && npm ci --no-audit --no-fund
	touch $(INTEROP)

# The InfluxDB-protocol server of tests/twin (Debian's victoria-metrics); skipped when present.
VMETRICS := /usr/bin/victoria-metrics

$(VMETRICS):
	@if [ "$$(id -u)" = 0 ]; then apt-get update -q && apt-get install -y -q victoria-metrics; \
	else echo "victoria-metrics is missing: run 'sudo apt-get install victoria-metrics' (tests/twin skip without it)"; fi

# The browser of tests/web (Debian's chromium, driven by Playwright; never `playwright install`).
CHROMIUM := /usr/bin/chromium

$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ]; then apt-get update -q && apt-get install -y -q chromium; \
	else echo "chromium is missing: run 'sudo apt-get install chromium' (tests/web skip without it)"; fi

test: check $(INTEROP) $(VMETRICS) $(CHROMIUM)
	$(BIN)/python -m pytest -q

# Lint and types: ruff on everything, mypy (strict; asyncua as Any), then mypy on the asyncua
# wall (opcua_server/_asyncua) following asyncua's own annotations. `make test` runs it first.
check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/mypy --config-file mypy_wall.ini

# The quick loop: everything but the node-opcua interop test.
quick: $(STAMP)
	$(BIN)/python -m pytest -q -m "not interop"

bench: $(STAMP)
	$(BIN)/python bench/sim_speed.py

clean:
	rm -rf $(VENV) build *.egg-info
