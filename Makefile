# Two entry points: `make demo` runs the worked example, `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck unit docs bench bytecode clean browser

# Two distributions from this repository (ADR 0007): the SDK (pyproject.toml) and the
# conformance suite with the spec's vectors (conformance/pyproject.toml), both editable.
# The receipts' hot module (batched and JWS) is then compiled in place with mypyc (ADR 0010);
# without the build (or with a stale one) its pure-Python source runs. The sources are compiled
# to bytecode as a wheel's install does (an editable install leaves that to the first import,
# which cannot write it where PYTHONDONTWRITEBYTECODE is set: each command would compile the SDK
# again).
$(STAMP): pyproject.toml conformance/pyproject.toml sdk/tokenfed/_hot.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]' -e ./conformance
	$(BIN)/python sdk/build_hot.py
	$(MAKE) --no-print-directory bytecode
	touch $(STAMP)

# Bytecode of the SDK and the suite, current with their sources (only changed files compile).
bytecode:
	$(BIN)/python -m compileall -q sdk/tokenfed conformance/tokenfed_conformance

demo: $(STAMP) bytecode
	$(BIN)/python examples/demo.py

test: lint typecheck unit docs

lint: $(STAMP)
	$(BIN)/ruff check sdk conformance tests bench examples spec/tools interop docs/_hooks
	$(BIN)/ruff format --check sdk conformance tests bench examples spec/tools interop docs/_hooks

typecheck: $(STAMP)
	$(BIN)/mypy
	$(BIN)/mypy --strict docs/_hooks/spec.py docs/_hooks/cli.py

# The conformance report's HTML page is checked in a real headless browser. Debian's chromium is
# installed when it is missing and the machine can (root, apt); without it that test is skipped.
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
	    >/dev/null 2>&1; } || echo "chromium not installed: the browser check of the report is skipped"

unit: $(STAMP) browser
	$(BIN)/pytest -q

docs: $(STAMP)
	$(BIN)/mkdocs build --strict --quiet --site-dir .site

bench: $(STAMP) bytecode
	$(BIN)/python bench/bench_receipts.py
	$(BIN)/python bench/bench_federation.py
	$(BIN)/python bench/bench_settlement.py --receipts 40000 --files 8

clean:
	rm -rf $(VENV) .site .pytest_cache .mypy_cache .ruff_cache
