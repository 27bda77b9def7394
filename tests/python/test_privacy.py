"""Pseudonymized customer ids: with the var on, no raw id reaches marts or
the published outputs, and nothing else about the results changes.

The build reads the bundled sample with every customer id rewritten to
"RAWID<id>" (ids ending in 7 also padded with spaces, as messy exports do),
so a raw id is findable as a substring in any column of any table, JSON
and lists included.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re

import duckdb
import pandas as pd
import pytest

from conftest import PROJECT_DIR, SAMPLE_PATH, build_on
from customer_analytics_ml import duckdb_plugin

spec = importlib.util.spec_from_file_location(
    "customer_analytics_publish", PROJECT_DIR / "scripts" / "publish.py"
)
publish = importlib.util.module_from_spec(spec)
spec.loader.exec_module(publish)

KEY = "test-only-pseudonym-key-5f0c2a9e"
MARKER = "RAWID"
HEX_ID = re.compile(r"^[0-9a-f]{32}$")


@pytest.fixture(scope="module")
def marked_sample(tmp_path_factory):
    frame = pd.read_csv(SAMPLE_PATH, dtype=str, keep_default_na=False)
    ids = frame["CustomerID"]
    marked = MARKER + ids.str.strip()
    marked = marked.where(~ids.str.endswith("7"), "  " + marked + " ")
    frame["CustomerID"] = marked.where(ids.str.strip() != "", "")
    path = tmp_path_factory.mktemp("privacy_input") / "marked_sample.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def private_build(marked_sample, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("privacy_build")
    result = build_on(
        marked_sample,
        "online_retail",
        workdir,
        extra_vars={"pseudonymize_customer_ids": True},
        env={duckdb_plugin.KEY_ENV_VAR: KEY},
    )
    publish.publish(result.db_path, workdir / "published")
    return result


def text_columns(con, relation_sql):
    """Every column of a relation, as a text expression."""
    columns = con.sql(f"describe select * from {relation_sql}").fetchall()
    return [f'cast("{name}" as varchar)' for name, *_ in columns]


def cells_with_marker(con, relation_sql):
    found = {}
    for expression in text_columns(con, relation_sql):
        (count,) = con.sql(
            f"select count(*) from {relation_sql} "
            f"where contains({expression}, '{MARKER}')"
        ).fetchone()
        if count:
            found[expression] = count
    return found


def marts_tables(con):
    return [
        name
        for (name,) in con.sql(
            "select table_name from information_schema.tables "
            "where table_schema = 'marts' order by 1"
        ).fetchall()
    ]


def test_the_marked_input_does_carry_raw_ids(marked_sample):
    # Guards the test itself: the marker must be in the input to be missed.
    with duckdb.connect() as con:
        raw = f"read_csv('{marked_sample}', all_varchar = true)"
        assert cells_with_marker(con, raw)


def test_no_raw_id_anywhere_in_marts(private_build):
    with duckdb.connect(str(private_build.db_path), read_only=True) as con:
        tables = marts_tables(con)
        assert {"fct_events", "rejected_events"} <= set(tables)
        leaks = {
            table: found
            for table in tables
            if (found := cells_with_marker(con, f"marts.{table}"))
        }
    assert not leaks


def test_no_raw_id_in_the_published_copy_or_parquet(private_build):
    published = private_build.db_path.parent / "published"
    with duckdb.connect(
        str(published / "customer_analytics.duckdb"), read_only=True
    ) as con:
        tables = marts_tables(con)
        leaks = {
            table: found
            for table in tables
            if (found := cells_with_marker(con, f"marts.{table}"))
        }
    with duckdb.connect() as con:
        for path in sorted((published / "parquet").glob("*.parquet")):
            if found := cells_with_marker(con, f"read_parquet('{path}')"):
                leaks[path.name] = found
    assert tables and not leaks


def test_ids_are_keyed_hashes_one_per_customer(private_build, sample_build):
    hashed = private_build.query(
        "select distinct customer_id from marts.fct_events "
        "where customer_id is not null"
    )["customer_id"]
    assert hashed.map(lambda value: bool(HEX_ID.match(value))).all()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(duckdb_plugin.KEY_ENV_VAR, KEY)
        expected = [
            duckdb_plugin.pseudonym(MARKER + raw)
            for raw in sample_build.query(
                "select distinct customer_id from marts.fct_events "
                "where customer_id is not null"
            )["customer_id"]
        ]
    assert sorted(hashed) == sorted(expected)


def test_rejected_rows_keep_their_json_with_the_id_masked(private_build):
    rows = private_build.query(
        "select raw_values from marts.rejected_events "
        "where json_extract_string(raw_values, '$.customerid') != ''"
    )["raw_values"]
    assert len(rows) > 0
    masked = rows.map(lambda raw: json.loads(raw)["customerid"])
    assert masked.map(lambda value: bool(HEX_ID.match(value))).all()


def test_event_ids_are_not_unkeyed_hashes_of_the_raw_row(private_build):
    # An md5 of the raw row would let anyone who guesses an id rebuild the
    # row from its visible columns and confirm the guess.
    counts = private_build.query(
        "select"
        " count(*) as events,"
        " count(*) filter (where event_id in ("
        "     select md5(raw_values) from staging.stg_online_retail__events"
        " )) as unkeyed_md5"
        " from marts.fct_events"
    )
    assert counts["events"][0] > 0 and counts["unkeyed_md5"][0] == 0


def test_only_ids_change(private_build, sample_build):
    def row_counts(build):
        with duckdb.connect(str(build.db_path), read_only=True) as con:
            return {
                table: con.sql(f"select count(*) from marts.{table}").fetchone()[0]
                for table in marts_tables(con)
            }

    assert row_counts(private_build) == row_counts(sample_build)


def test_the_key_is_not_written_to_target_or_logs(private_build, monkeypatch):
    monkeypatch.setenv(duckdb_plugin.KEY_ENV_VAR, KEY)
    secrets = [KEY.encode(), duckdb_plugin.event_id_salt().encode()]
    workdir = private_build.db_path.parent
    for folder in ("target", "logs"):
        for path in (workdir / folder).rglob("*"):
            if path.is_file():
                content = path.read_bytes()
                assert not [s for s in secrets if s in content], path


def test_the_build_stops_without_a_key(tmp_path, monkeypatch):
    monkeypatch.delenv(duckdb_plugin.KEY_ENV_VAR, raising=False)
    result = build_on(
        SAMPLE_PATH,
        "online_retail",
        tmp_path,
        select="fct_events",
        extra_vars={"pseudonymize_customer_ids": True},
        check=False,
    )
    assert result.returncode != 0
    assert "CUSTOMER_ANALYTICS_PSEUDONYM_KEY is not set" in result.output


# --- The keyed hash itself -------------------------------------------------


def test_pseudonym_is_keyed_deterministic_and_null_safe(monkeypatch):
    monkeypatch.setenv(duckdb_plugin.KEY_ENV_VAR, KEY)
    first = duckdb_plugin.pseudonym("17850")
    assert first == duckdb_plugin.pseudonym("17850")
    assert HEX_ID.match(first) and first != duckdb_plugin.pseudonym("17851")
    assert duckdb_plugin.pseudonym(None) is None
    monkeypatch.setenv(duckdb_plugin.KEY_ENV_VAR, KEY + "-other")
    assert duckdb_plugin.pseudonym("17850") != first


@pytest.mark.parametrize(
    ("key", "status"),
    [("", "missing"), ("   ", "missing"), ("short", "too_short"), (KEY, "ok")],
)
def test_key_status(monkeypatch, key, status):
    monkeypatch.setenv(duckdb_plugin.KEY_ENV_VAR, key)
    assert duckdb_plugin.key_status() == status
    if status != "ok":
        with pytest.raises(ValueError, match=duckdb_plugin.KEY_ENV_VAR):
            duckdb_plugin.pseudonym("17850")


def test_mask_raw_values_replaces_every_copy_of_the_id(monkeypatch):
    monkeypatch.setenv(duckdb_plugin.KEY_ENV_VAR, KEY)
    hashed = duckdb_plugin.pseudonym("42")
    masked = duckdb_plugin.mask_raw_values(
        '{"user":" 42 ","buyer":"42","qty":"420","note":null}', "42"
    )
    assert masked == (
        f'{{"user":"{hashed}","buyer":"{hashed}","qty":"420","note":null}}'
    )
    assert duckdb_plugin.mask_raw_values('{"user":"7"}', None) == '{"user":"7"}'
    assert duckdb_plugin.mask_raw_values("not json 42", "42") == (
        f"not json {hashed}"
    )


def test_the_event_id_salt_is_keyed_and_folded_once(monkeypatch):
    monkeypatch.setenv(duckdb_plugin.KEY_ENV_VAR, KEY)
    salt = duckdb_plugin.event_id_salt()
    assert HEX_ID.match(salt)
    assert salt != duckdb_plugin.pseudonym("event_id_salt")
    with duckdb.connect() as con:
        duckdb_plugin.Plugin("privacy", {}).configure_connection(con)
        (distinct,) = con.sql(
            "select count(distinct customer_analytics_event_id_salt())"
            " from range(5000)"
        ).fetchone()
        (event_id,) = con.sql(
            "select md5(customer_analytics_event_id_salt() || 'row')"
        ).fetchone()
    assert distinct == 1
    assert event_id == hashlib.md5((salt + "row").encode()).hexdigest()
    monkeypatch.setenv(duckdb_plugin.KEY_ENV_VAR, KEY + "-other")
    assert duckdb_plugin.event_id_salt() != salt


def test_the_sql_functions_hash_each_distinct_id_once(monkeypatch):
    monkeypatch.setenv(duckdb_plugin.KEY_ENV_VAR, KEY)
    duckdb_plugin._digest.cache_clear()
    with duckdb.connect() as con:
        duckdb_plugin.Plugin("privacy", {}).configure_connection(con)
        hashed = con.sql(
            "select customer_analytics_pseudonym(cast(i % 3 as varchar)) as h"
            " from range(10000) as t(i)"
        ).df()["h"]
        status = con.sql("select customer_analytics_pseudonym_key_status()")
        assert status.fetchone()[0] == "ok"
    assert hashed.nunique() == 3
    assert duckdb_plugin._digest.cache_info().misses == 3
