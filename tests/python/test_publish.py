"""Publication: BI tools read the published copy while the warehouse rebuilds.

The main test publishes one build, keeps a second process querying the
published DuckDB copy and Parquet files in a loop, rebuilds the warehouse on
another input and publishes again. Every query must succeed and see exactly
the first or the second publication, never a mix or a half-written table.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from conftest import FIXTURES, PROJECT_DIR, run_dbt

spec = importlib.util.spec_from_file_location(
    "customer_analytics_publish", PROJECT_DIR / "scripts" / "publish.py"
)
publish = importlib.util.module_from_spec(spec)
spec.loader.exec_module(publish)

REES46 = FIXTURES / "rees46_2019-Oct_first1000.csv"

# The reader: loops until three rounds after the stop file appears (or 120 s
# pass), each round opening the published copy read-only and counting every
# mart in one connection, then counting the Parquet files of the folder the
# link points to. Prints one JSON line per observation; errors included.
READER = textwrap.dedent(
    """
    import json, os, sys, time
    import duckdb

    dest, stop_file = sys.argv[1], sys.argv[2]
    database = os.path.join(dest, "customer_analytics.duckdb")
    deadline = time.monotonic() + 120
    rounds_after_stop = 0
    while rounds_after_stop < 3 and time.monotonic() < deadline:
        rounds_after_stop += os.path.exists(stop_file)
        try:
            with duckdb.connect(database, read_only=True) as con:
                tables = [name for (name,) in con.sql(
                    "select table_name from information_schema.tables "
                    "where table_schema = 'marts' order by 1").fetchall()]
                counts = {t: con.sql(f"select count(*) from marts.{t}")
                          .fetchone()[0] for t in tables}
                meta = dict(con.sql("select table_name, row_count "
                                    "from meta.published_tables").fetchall())
            print(json.dumps({"kind": "duckdb", "counts": counts,
                              "meta": meta}), flush=True)
            folder = os.path.realpath(os.path.join(dest, "parquet"))
            with open(os.path.join(folder, "_publication.json")) as f:
                manifest = json.load(f)["row_counts"]
            counts = {t: duckdb.sql(
                f"select count(*) from read_parquet('{folder}/{t}.parquet')"
            ).fetchone()[0] for t in manifest}
            print(json.dumps({"kind": "parquet", "counts": counts,
                              "meta": manifest}), flush=True)
        except Exception as error:
            print(json.dumps({"kind": "error", "error": repr(error)}),
                  flush=True)
        time.sleep(0.02)
    """
)


def published_counts(dest: Path) -> dict[str, int]:
    with duckdb.connect(
        str(dest / "customer_analytics.duckdb"), read_only=True
    ) as con:
        return dict(
            con.sql("select table_name, row_count from meta.published_tables")
            .fetchall()
        )


@pytest.fixture(scope="module")
def warehouse(sample_build, tmp_path_factory) -> Path:
    """A private copy of the sample build's warehouse, free to rebuild."""
    workdir = tmp_path_factory.mktemp("publish_warehouse")
    shutil.copy(sample_build.db_path, workdir / "warehouse.duckdb")
    return workdir


def test_readers_never_block_the_build_nor_see_half_a_publication(
    warehouse, tmp_path
):
    dest = tmp_path / "published"
    first = publish.publish(warehouse / "warehouse.duckdb", dest)
    assert first["fct_events"] > 0 and first == published_counts(dest)

    # A dashboard that keeps its connection open through the rebuild.
    dashboard = duckdb.connect(
        str(dest / "customer_analytics.duckdb"), read_only=True
    )
    stop_file = tmp_path / "stop"
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(dest), str(stop_file)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(1)  # the reader is querying before the build starts
        build = run_dbt(
            ["build", "--full-refresh"],
            workdir=warehouse,
            dbt_vars={"events_path": str(REES46), "events_format": "rees46"},
        )
        second = publish.publish(warehouse / "warehouse.duckdb", dest)
    finally:
        stop_file.touch()
        output, errors = reader.communicate(timeout=60)

    assert build.returncode == 0
    assert second != first, "the two inputs should give different marts"
    observations = [json.loads(line) for line in output.splitlines()]
    failures = [o for o in observations if o["kind"] == "error"]
    assert not failures and reader.returncode == 0, (failures[:3], errors)

    seen = {"first": 0, "second": 0}
    for observation in observations:
        counts = observation["counts"]
        # Each observation is internally consistent ...
        assert counts == observation["meta"], observation
        # ... and is one publication or the other, never a mix.
        if counts == first:
            seen["first"] += 1
        elif counts == second:
            seen["second"] += 1
        else:
            pytest.fail(f"observed neither publication: {observation}")
    assert seen["first"] >= 10 and seen["second"] >= 6, seen

    # The open connection kept its snapshot and blocked nobody.
    (events,) = dashboard.sql("select count(*) from marts.fct_events").fetchone()
    dashboard.close()
    assert events == first["fct_events"]
    assert published_counts(dest) == second


def columns(con, relation: str, *, nullability: bool) -> list[tuple]:
    """Names and types, and whether each allows nulls (Parquet cannot say)."""
    described = con.sql(f"describe select * from {relation}").fetchall()
    keep = 3 if nullability else 2
    return [row[:keep] for row in described]


def test_the_publication_is_an_exact_copy_of_the_marts(warehouse, tmp_path):
    dest = tmp_path / "published"
    publish.publish(warehouse / "warehouse.duckdb", dest)
    with duckdb.connect() as con:
        con.execute(f"attach '{warehouse / 'warehouse.duckdb'}' as wh (read_only)")
        con.execute(f"attach '{dest / 'customer_analytics.duckdb'}' as pub")
        tables = [
            name
            for (name,) in con.sql(
                "select table_name from information_schema.tables "
                "where table_catalog = 'wh' and table_schema = 'marts'"
            ).fetchall()
        ]
        assert tables
        for table in tables:
            copies = {
                "duckdb": f"pub.marts.{table}",
                "parquet": f"read_parquet('{dest}/parquet/{table}.parquet')",
            }
            for kind, copy in copies.items():
                original = f"wh.marts.{table}"
                nullability = kind == "duckdb"
                assert columns(con, copy, nullability=nullability) == columns(
                    con, original, nullability=nullability
                ), (kind, table)
                for left, right in [(original, copy), (copy, original)]:
                    (extra,) = con.sql(
                        f"select count(*) from (select * from {left} "
                        f"except all select * from {right})"
                    ).fetchone()
                    assert extra == 0, (kind, table)
        # dbt's descriptions (persist_docs) travel with the copy.
        (comment,) = con.sql(
            "select comment from duckdb_tables() where database_name = 'pub'"
            " and table_name = 'fct_events'"
        ).fetchone()
        assert comment and "one row per accepted event" in comment


def test_old_publications_and_leftovers_are_cleaned_up(warehouse, tmp_path):
    dest = tmp_path / "published"
    publish.publish(warehouse / "warehouse.duckdb", dest)
    # What a publisher killed halfway would leave behind.
    (dest / "customer_analytics.duckdb.20000101T000000000000Z-1.tmp").touch()
    (dest / "parquet-29991231T000000000000Z-1").mkdir()
    for _ in range(2):
        publish.publish(warehouse / "warehouse.duckdb", dest)
    folders = sorted(path.name for path in dest.glob("parquet-*"))
    # The current publication and the previous one, for slow readers.
    assert len(folders) == 2
    assert os.readlink(dest / "parquet") in folders
    assert "parquet-29991231T000000000000Z-1" not in folders
    assert not list(dest.glob("*.tmp"))
    # Read-only on disk too, so a BI tool cannot open it for writing.
    assert (dest / "customer_analytics.duckdb").stat().st_mode & 0o222 == 0


def snapshot(dest: Path) -> dict:
    """What a reader could observe: file identities, link, counts."""
    database = dest / "customer_analytics.duckdb"
    return {
        "database": (database.stat().st_ino, database.stat().st_mtime_ns),
        "link": os.readlink(dest / "parquet"),
        "entries": sorted(path.name for path in dest.iterdir()),
        "counts": published_counts(dest),
    }


def test_a_failed_publication_leaves_the_last_good_one(
    warehouse, tmp_path, monkeypatch
):
    dest = tmp_path / "published"
    publish.publish(warehouse / "warehouse.duckdb", dest)
    before = snapshot(dest)

    def broken_parquet(*args):
        raise OSError("disk full")

    monkeypatch.setattr(publish, "write_parquet", broken_parquet)
    with pytest.raises(OSError, match="disk full"):
        publish.publish(warehouse / "warehouse.duckdb", dest)
    assert snapshot(dest) == before


def test_publishing_while_a_build_holds_the_warehouse_fails_cleanly(
    warehouse, tmp_path
):
    dest = tmp_path / "published"
    publish.publish(warehouse / "warehouse.duckdb", dest)
    before = snapshot(dest)
    # A build in progress holds the warehouse open for writing; the lock is
    # per process, so hold it from another one.
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys; con = duckdb.connect(sys.argv[1]); "
            "print('locked', flush=True); sys.stdin.read()",
            str(warehouse / "warehouse.duckdb"),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(publish.PublishError, match="build is probably"):
            publish.publish(warehouse / "warehouse.duckdb", dest)
    finally:
        holder.communicate("", timeout=30)
    assert snapshot(dest) == before


def test_publish_cli_names_a_missing_warehouse(tmp_path, capsys):
    code = publish.main(
        [
            "--source", str(tmp_path / "none.duckdb"),
            "--dest", str(tmp_path),
            "--force",
        ]
    )  # fmt: skip
    assert code == 1
    assert "No warehouse at" in capsys.readouterr().err


def test_publish_cli_refuses_after_a_failed_build(warehouse, tmp_path, capsys):
    dest = tmp_path / "published"
    publish.publish(warehouse / "warehouse.duckdb", dest)
    before = snapshot(dest)
    run_results = tmp_path / "run_results.json"
    run_results.write_text(
        '{"results": [{"unique_id": "model.customer_analytics.fct_orders",'
        ' "status": "success"}, {"unique_id": "test.customer_analytics.x",'
        ' "status": "fail"}]}'
    )
    args = [
        "--source", str(warehouse / "warehouse.duckdb"),
        "--dest", str(dest),
        "--run-results", str(run_results),
    ]  # fmt: skip
    assert publish.main(args) == 1
    assert "test.customer_analytics.x" in capsys.readouterr().err
    assert snapshot(dest) == before
    # Without run results there is nothing to vouch for the build either.
    run_results.unlink()
    assert publish.main(args) == 1
    assert "no dbt run results" in capsys.readouterr().err
    assert snapshot(dest) == before
