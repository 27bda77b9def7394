"""Publish the marts so BI tools can read them while the warehouse rebuilds.

    .venv/bin/python scripts/publish.py [--source DB] [--dest DIR]

DuckDB lets one process write a database file or many processes read it,
never both: a dashboard holding the warehouse open makes the next dbt build
fail, and a running build locks readers out. So readers never open the
warehouse. After a successful build, this script copies every table (and
view, materialized) of schema marts into

    DIR/customer_analytics.duckdb        a read-only DuckDB copy
    DIR/parquet/<table>.parquet          one Parquet file per table
    DIR/parquet/_publication.json        when, from where, rows per table

Both are built under temporary names and swapped in atomically: the DuckDB
copy with a rename onto the published name, the Parquet folder by renaming a
new symlink onto DIR/parquet. A reader sees the old publication or the new
one, never a half-written table; a reader that already has the old file open
keeps reading it until it reconnects. If anything fails, the temporary files
are removed and the last good publication stays as it was. The previous
Parquet folder is kept for readers still resolving the old link; older ones
are deleted. The copy also holds meta.published_tables (table, rows, time).

Run it only after a build that succeeded (`make build` does): it reads
dbt's target/run_results.json (or --run-results) and refuses when the last
dbt command had an error or a failing test, or when there is no such file,
unless --force. It reads the warehouse read-only, so it fails while a build
still holds it. Defaults: $CUSTOMER_ANALYTICS_DB or
warehouse/customer_analytics.duckdb, and $CUSTOMER_ANALYTICS_PUBLISHED_DIR
or warehouse/published.

Known shortcoming: the swaps rely on POSIX rename semantics and symlinks; on
Windows a rename onto a file a reader holds open fails, so publishing there
needs the readers closed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import fcntl
import json
import os
import shutil
import sys
from pathlib import Path

import duckdb

PROJECT_DIR = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = "warehouse/customer_analytics.duckdb"
DEFAULT_DEST = "warehouse/published"
DATABASE_NAME = "customer_analytics.duckdb"
PARQUET_LINK = "parquet"
SCHEMA = "marts"


class PublishError(RuntimeError):
    """Publishing failed; the last good publication is untouched."""


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def default_path(env_var: str, default: str) -> Path:
    value = os.environ.get(env_var)
    return Path(value) if value else PROJECT_DIR / default


def open_source(source: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory connection with the warehouse attached read-only as
    ``warehouse`` (so a new file can be attached beside it for writing)."""
    if not source.exists():
        raise PublishError(f"No warehouse at {source}: run `make build` first.")
    con = duckdb.connect()
    try:
        con.execute(f"attach {quote_literal(str(source))} as warehouse (read_only)")
        return con
    except duckdb.IOException as error:
        con.close()
        raise PublishError(
            f"Cannot open {source} read-only ({error}). A dbt build is "
            "probably still writing it; publish after it has finished."
        ) from error


def list_marts(con: duckdb.DuckDBPyConnection) -> list[str]:
    names = [
        name
        for (name,) in con.execute(
            "select table_name from information_schema.tables "
            "where table_catalog = 'warehouse' and table_schema = ? "
            "order by table_name",
            [SCHEMA],
        ).fetchall()
    ]
    if not names:
        raise PublishError(
            f"The warehouse has no tables in schema {SCHEMA}: nothing to "
            "publish. Run `make build` first."
        )
    return names


def copy_not_null(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """Carry the not-null constraints (dbt contracts) over to the copy."""
    target = f"publication.{SCHEMA}.{quote_identifier(table)}"
    for (column,) in con.execute(
        "select column_name from duckdb_columns() where database_name = "
        "'warehouse' and schema_name = ? and table_name = ? "
        "and not is_nullable",
        [SCHEMA, table],
    ).fetchall():
        con.execute(
            f"alter table {target} alter column {quote_identifier(column)} "
            "set not null"
        )


def copy_comments(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """Carry the dbt descriptions (persist_docs) over to the copy."""
    target = f"publication.{SCHEMA}.{quote_identifier(table)}"
    (table_comment,) = con.execute(
        "select comment from duckdb_tables() where database_name = "
        "'warehouse' and schema_name = ? and table_name = ? "
        "union all select comment from duckdb_views() where database_name = "
        "'warehouse' and schema_name = ? and view_name = ?",
        [SCHEMA, table, SCHEMA, table],
    ).fetchone()
    if table_comment:
        con.execute(f"comment on table {target} is {quote_literal(table_comment)}")
    for column, comment in con.execute(
        "select column_name, comment from duckdb_columns() where "
        "database_name = 'warehouse' and schema_name = ? "
        "and table_name = ? and comment is not null and comment != ''",
        [SCHEMA, table],
    ).fetchall():
        con.execute(
            f"comment on column {target}.{quote_identifier(column)} "
            f"is {quote_literal(comment)}"
        )


def write_database(
    con: duckdb.DuckDBPyConnection,
    tables: list[str],
    path: Path,
    published_at: dt.datetime,
) -> dict[str, int]:
    """Copy the marts into a new DuckDB file; return rows per table."""
    row_counts = {}
    con.execute(f"attach {quote_literal(str(path))} as publication")
    try:
        con.execute(f"create schema publication.{SCHEMA}")
        for table in tables:
            name = quote_identifier(table)
            con.execute(
                f"create table publication.{SCHEMA}.{name} as "
                f"select * from warehouse.{SCHEMA}.{name}"
            )
            copy_not_null(con, table)
            copy_comments(con, table)
            (row_counts[table],) = con.execute(
                f"select count(*) from publication.{SCHEMA}.{name}"
            ).fetchone()
        con.execute("create schema publication.meta")
        con.execute(
            "create table publication.meta.published_tables "
            "(table_name varchar, row_count bigint, published_at timestamp)"
        )
        con.executemany(
            "insert into publication.meta.published_tables values (?, ?, ?)",
            [[table, rows, published_at] for table, rows in row_counts.items()],
        )
        con.execute("checkpoint publication")
    finally:
        con.execute("detach publication")
    return row_counts


def write_parquet(
    con: duckdb.DuckDBPyConnection, tables: list[str], folder: Path
) -> None:
    folder.mkdir()
    for table in tables:
        target = quote_literal(str(folder / f"{table}.parquet"))
        con.execute(
            f"copy warehouse.{SCHEMA}.{quote_identifier(table)} to {target} "
            "(format parquet)"
        )


def fsync(path: Path) -> None:
    """Flush a file or folder to disk so a crash cannot publish a stub."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def remove_leftovers(dest: Path, keep: set[str]) -> None:
    """Delete Parquet folders other than ``keep`` and temporary files.

    Called with the publish lock held, so any temporary file is from a
    publisher that died, and any unkept folder is an old publication.
    """
    for path in dest.glob(f"{PARQUET_LINK}-*"):
        if path.is_dir() and not path.is_symlink() and path.name not in keep:
            shutil.rmtree(path, ignore_errors=True)
    for path in dest.glob("*.tmp"):
        path.unlink(missing_ok=True)


def publish(source: Path, dest: Path) -> dict[str, int]:
    """Publish the marts of ``source`` into ``dest``; return rows per table.

    Raises PublishError (the previous publication untouched) when the
    warehouse is missing, locked by a build, or has no marts.
    """
    dest.mkdir(parents=True, exist_ok=True)
    link = dest / PARQUET_LINK
    if link.exists() and not link.is_symlink():
        raise PublishError(
            f"{link} is a real folder, not the symlink this script swaps; "
            "move it away and publish again."
        )
    published_at = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    # Sortable and unique: folder names order publications by time.
    publication_id = f"{published_at:%Y%m%dT%H%M%S%fZ}-{os.getpid()}"
    database_tmp = dest / f"{DATABASE_NAME}.{publication_id}.tmp"
    folder = dest / f"{PARQUET_LINK}-{publication_id}"
    link_tmp = dest / f"{PARQUET_LINK}.{publication_id}.tmp"

    # One publisher at a time, so the cleanup never races another swap.
    with open(dest / ".publish.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        previous = os.readlink(link) if link.is_symlink() else None
        try:
            with open_source(source) as con:
                tables = list_marts(con)
                row_counts = write_database(con, tables, database_tmp, published_at)
                write_parquet(con, tables, folder)
            (folder / "_publication.json").write_text(
                json.dumps(
                    {
                        "published_at": published_at.isoformat() + "Z",
                        "source": str(source),
                        "row_counts": row_counts,
                    },
                    indent=2,
                )
            )
            database_tmp.chmod(0o444)
            fsync(database_tmp)
            fsync(folder)
            os.symlink(folder.name, link_tmp)
        except BaseException:
            database_tmp.unlink(missing_ok=True)
            link_tmp.unlink(missing_ok=True)
            shutil.rmtree(folder, ignore_errors=True)
            raise
        # The swaps: each rename is atomic, and neither can fail halfway.
        os.replace(database_tmp, dest / DATABASE_NAME)
        os.replace(link_tmp, link)
        fsync(dest)
        # Keep the previous folder for readers still resolving the old link.
        remove_leftovers(dest, {folder.name, previous})
    return row_counts


def check_last_build(run_results: Path) -> None:
    """Raise PublishError unless dbt's last run results show no failure."""
    if not run_results.exists():
        raise PublishError(
            f"no dbt run results at {run_results}: run `dbt build` first, "
            "point --run-results at its target folder, or pass --force"
        )
    results = json.loads(run_results.read_text())["results"]
    failed = [
        result["unique_id"]
        for result in results
        if result["status"] in ("error", "fail", "runtime error", "skipped")
    ]
    if failed:
        raise PublishError(
            f"the last dbt command ({run_results}) did not succeed: "
            + ", ".join(failed[:5])
            + (f" and {len(failed) - 5} more" if len(failed) > 5 else "")
            + "; the last good publication is left as it was"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--source",
        type=Path,
        default=default_path("CUSTOMER_ANALYTICS_DB", DEFAULT_SOURCE),
        help="the warehouse DuckDB file the build wrote",
    )
    parser.add_argument(
        "--dest",
        type=Path,
        default=default_path("CUSTOMER_ANALYTICS_PUBLISHED_DIR", DEFAULT_DEST),
        help="the folder readers use",
    )
    parser.add_argument(
        "--run-results",
        type=Path,
        default=PROJECT_DIR / "target" / "run_results.json",
        help="dbt's run_results.json of the build to publish",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="publish without checking dbt's run results",
    )
    args = parser.parse_args(argv)
    try:
        if not args.force:
            check_last_build(args.run_results)
        row_counts = publish(args.source, args.dest)
    except PublishError as error:
        print(f"publish: {error}", file=sys.stderr)
        return 1
    print(
        f"Published {len(row_counts)} tables of schema {SCHEMA} to "
        f"{args.dest / DATABASE_NAME} and {args.dest / PARQUET_LINK}/"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
