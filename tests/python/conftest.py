"""Shared helpers for the pytest suite: build the dbt project on a given input
in an isolated DuckDB file and read the results back.

Each build gets its own database file and dbt target path under pytest's
tmp_path, so tests never touch the analyst's warehouse and can run in any
order.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2]
SAMPLE_PATH = PROJECT_DIR / "data" / "online_retail" / "online_retail_sample.csv.gz"
# Columns that record which incremental run wrote a row: they differ
# between an incremental build and a full refresh by design, and every
# other column must not (int_events_sessionized's sessionized_batch).
INCREMENTAL_BOOKKEEPING_COLUMNS = ("sessionized_batch",)


def snapshot_tables(db_path, tables: dict) -> dict:
    """{table: DataFrame ordered by its key} for {table: key}, without the
    incremental bookkeeping columns, for comparing builds."""
    with duckdb.connect(str(db_path), read_only=True) as con:
        return {
            table: con.sql(f"select * from {table} order by {key}")
            .df()
            .drop(columns=list(INCREMENTAL_BOOKKEEPING_COLUMNS), errors="ignore")
            for table, key in tables.items()
        }
FIXTURES = PROJECT_DIR / "tests" / "python" / "fixtures"
DBT = str(Path(sys.executable).with_name("dbt"))


@dataclass
class DbtResult:
    returncode: int
    output: str
    db_path: Path
    target_path: Path

    def query(self, sql: str) -> pd.DataFrame:
        with duckdb.connect(str(self.db_path), read_only=True) as con:
            return con.sql(sql).df()

    def table(self, name: str, order_by: str | None = None) -> pd.DataFrame:
        order = f" order by {order_by}" if order_by else ""
        return self.query(f"select * from {name}{order}")


def run_dbt(
    args: list[str],
    *,
    workdir: Path,
    dbt_vars: dict | None = None,
    env: dict | None = None,
    db_name: str = "warehouse.duckdb",
    check: bool = True,
) -> DbtResult:
    """Run one dbt command against the project with its own database file.

    ``workdir`` holds the DuckDB file, dbt's target folder and DuckDB's temp
    folder. Raises AssertionError with dbt's output when ``check`` and dbt
    fails.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    db_path = workdir / db_name
    target_path = workdir / "target"
    full_env = {
        **os.environ,
        "CUSTOMER_ANALYTICS_DB": str(db_path),
        "CUSTOMER_ANALYTICS_TEMP_DIR": str(workdir / "duckdb_tmp"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        **(env or {}),
    }
    command = [
        DBT,
        *args,
        "--profiles-dir",
        str(PROJECT_DIR / "profiles"),
        "--project-dir",
        str(PROJECT_DIR),
        "--target-path",
        str(target_path),
        "--log-path",
        str(workdir / "logs"),
    ]
    if dbt_vars:
        command += ["--vars", json.dumps(dbt_vars)]
    completed = subprocess.run(
        command,
        cwd=PROJECT_DIR,
        env=full_env,
        capture_output=True,
        text=True,
    )
    result = DbtResult(
        completed.returncode,
        completed.stdout + completed.stderr,
        db_path,
        target_path,
    )
    if check and completed.returncode != 0:
        raise AssertionError(
            f"dbt {' '.join(args)} failed ({completed.returncode}):\n"
            + result.output[-6000:]
        )
    return result


def build_on(
    events_path: Path | str,
    events_format: str,
    workdir: Path,
    *,
    select: str | None = None,
    extra_vars: dict | None = None,
    env: dict | None = None,
    check: bool = True,
    command: str = "build",
) -> DbtResult:
    """``dbt build`` the project on one input file or glob."""
    dbt_vars = {"events_path": str(events_path), "events_format": events_format}
    dbt_vars.update(extra_vars or {})
    args = [command]
    if select:
        args += ["--select", select]
    return run_dbt(args, workdir=workdir, dbt_vars=dbt_vars, env=env, check=check)


def classified_with_raw_values(events_format: str) -> str:
    """SQL for int_events_classified with every row's raw values: the model
    keeps them for rejected rows only, so a clean row's come from the
    staging model (which reads the input files again)."""
    return (
        "select classified.* replace (staged.raw_values as raw_values)"
        " from intermediate.int_events_classified as classified"
        f" inner join staging.stg_{events_format}__events as staged"
        " on classified.source_file = staged.source_file"
        " and classified.source_row_number = staged.source_row_number"
    )


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    """Write a small CSV fixture with pandas' quoting rules (quotes as needed)."""
    frame = pd.DataFrame(rows, columns=header)
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def sample_build(tmp_path_factory) -> DbtResult:
    """One full build of the bundled Online Retail sample, shared by tests
    that only read its outputs."""
    workdir = tmp_path_factory.mktemp("sample_build")
    return build_on(SAMPLE_PATH, "online_retail", workdir)


# Test files that take minutes on their own; they are collected first so that
# with pytest-xdist (make test runs two workers) they start at once and the
# shorter files fill the other worker around them.
LONG_RUNNING_FILES = ("test_spark_parity.py",)


def pytest_collection_modifyitems(items):
    """Move the long-running files to the front; keep every other order."""
    items.sort(key=lambda item: item.path.name not in LONG_RUNNING_FILES)
