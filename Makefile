# Two commands for a fresh machine with Python 3.11:
#   make build   install the pinned dependencies and build the warehouse
#   make test    run every test: sqlfluff lint, dbt build with its tests, pytest
# Both are safe to run again.
# On Apache Spark (Java 17 needed; README, "Running on Apache Spark"):
#   make build-spark   install .venv-spark and build the sample on local Spark

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
DBT_FLAGS := --profiles-dir profiles
# The test build writes to its own file so it never clobbers the analyst's.
TEST_DB := warehouse/test/customer_analytics_test.duckdb
# sqlfluff compiles the models against a database; an empty one keeps the
# result independent of what was built before (is_incremental() is false).
LINT_DB := warehouse/lint/empty.duckdb

export DBT_SEND_ANONYMOUS_USAGE_STATS := false

.PHONY: build test lint dbt-test pytest bench report docs clean \
	build-spark spark-venv

build: $(INSTALLED)
	$(BIN)/dbt build $(DBT_FLAGS)
	$(BIN)/python scripts/publish.py
	@$(BIN)/python scripts/print_build_summary.py

# The same project on local Spark, in its own virtualenv (dbt-spark and
# PySpark stay out of .venv): dbt build on the spark target, then the
# Python models' code over the Spark marts and customer_scores, in one
# Spark session (scripts/spark_ml.py).
SPARK_VENV := .venv-spark
SPARK_BIN := $(SPARK_VENV)/bin
SPARK_INSTALLED := $(SPARK_VENV)/.installed

build-spark: $(SPARK_INSTALLED)
	$(SPARK_BIN)/python scripts/spark_ml.py --build-first

spark-venv: $(SPARK_INSTALLED)

$(SPARK_INSTALLED): requirements-spark.txt
	@command -v java >/dev/null || { echo "Spark needs Java 17 (e.g." \
		"apt-get install openjdk-17-jre-headless)" >&2; exit 1; }
	test -d $(SPARK_VENV) || $(PYTHON) -m venv $(SPARK_VENV)
	$(SPARK_BIN)/python -m pip install --quiet -r requirements-spark.txt
	touch $(SPARK_INSTALLED)

# The benchmark: make bench SIZES=100000,1000000 (results in docs/benchmark.md).
SIZES ?= 100000,1000000,10000000
bench: $(INSTALLED)
	$(BIN)/python scripts/bench.py --sizes $(SIZES) --out docs/benchmark.md

# A single self-contained HTML file from the published marts.
report: $(INSTALLED)
	$(BIN)/python scripts/report.py

# dbt's documentation site as one static HTML file, offline.
docs: $(INSTALLED)
	$(BIN)/dbt docs generate --static $(DBT_FLAGS)

# The Spark virtualenv comes first: tests/python/test_spark_parity.py
# builds the sample on Spark and fails without it.
test: $(INSTALLED) $(SPARK_INSTALLED) lint dbt-test pytest

lint: export CUSTOMER_ANALYTICS_DB = $(LINT_DB)
lint: $(INSTALLED)
	rm -rf $(dir $(LINT_DB)) && mkdir -p $(dir $(LINT_DB))
	$(BIN)/sqlfluff lint
	$(BIN)/sqlfluff lint models/staging/rees46 --config .sqlfluff-shapes/rees46.cfg
	$(BIN)/sqlfluff lint models/staging/canonical \
		--config .sqlfluff-shapes/canonical.cfg

dbt-test: $(INSTALLED)
	mkdir -p $(dir $(TEST_DB))
	CUSTOMER_ANALYTICS_DB=$(TEST_DB) $(BIN)/dbt build $(DBT_FLAGS) \
		--full-refresh --target-path target/test

# Two workers, one per core; a test file runs whole on one worker, so the
# builds a file shares (module fixtures) are made once.
PYTEST_WORKERS ?= 2
pytest: $(INSTALLED) $(SPARK_INSTALLED)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile

$(INSTALLED): requirements.txt
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $(INSTALLED)

clean:
	rm -rf target logs warehouse
