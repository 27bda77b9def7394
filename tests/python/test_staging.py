"""Reading input files: typed Parquet globs, header-only files, and the
errors a user sees when the input itself is wrong (missing file, empty glob,
missing column, unknown shape, unknown time zone)."""

from __future__ import annotations

import json

import duckdb
import pandas as pd
import pytest
from conftest import build_on, classified_with_raw_values

CORE = "+fct_events +rejected_events +data_quality_daily reject_reasons"
# Only tests whose every parent is built (others' models are not).
CAUTIOUS = {"DBT_INDIRECT_SELECTION": "cautious"}


# ------------------------------------------------------------------ parquet


@pytest.fixture(scope="module")
def parquet(tmp_path_factory):
    """Three Parquet files of one glob whose column types differ: instants
    with a zone, naive timestamps, float and double prices, integer and text
    ids, a data column called filename and one called file_row_number, and a
    file without rows. Built with naive times in Asia/Tokyo and the DuckDB
    session in America/New_York, so a value read in the wrong zone shows."""
    root = tmp_path_factory.mktemp("parquet")
    folder = root / "input"
    folder.mkdir()
    with duckdb.connect() as con:
        con.execute(
            f"""
            copy (
                select * from (values
                    (timestamptz '2024-03-01 10:00:00+02', 'view', 42::bigint,
                     0.1::double, 3::bigint, 'a.csv'),
                    (timestamptz '2024-07-01 23:30:00-04', 'purchase',
                     7::bigint, 1 / 3, 2::bigint, null),
                    (timestamptz '2024-07-02 00:00:00+00', 'cart',
                     7::bigint, 123456789.123::double, 1::bigint, 'b')
                ) as t(event_at, event_type, customer_id, price, quantity,
                       filename)
            ) to '{folder / "a.parquet"}' (format parquet)
            """
        )
        con.execute(
            f"""
            copy (
                select * from (values
                    (timestamp '2024-03-01 10:00:00', 'purchase', '0042',
                     0.1::float, 2::integer,
                     12345678901234567890::decimal(20, 0), 9::bigint),
                    (timestamp '2024-07-01 00:00:00.123456', 'view', '0042',
                     2.5::float, null, null, 8::bigint)
                ) as t(event_at, event_type, customer_id, price, quantity,
                       product_id, file_row_number)
            ) to '{folder / "b.parquet"}' (format parquet)
            """
        )
        con.execute(
            f"""
            copy (
                select
                    timestamp '2024-01-01' as event_at,
                    'view' as event_type,
                    'x' as customer_id
                where false
            ) to '{folder / "c_empty.parquet"}' (format parquet)
            """
        )
    result = build_on(
        folder / "*.parquet",
        "canonical",
        root / "build",
        select=CORE,
        extra_vars={"source_timezone": "Asia/Tokyo"},
        env={**CAUTIOUS, "CUSTOMER_ANALYTICS_SESSION_TIMEZONE": "America/New_York"},
    )
    classified = result.query(
        "select regexp_extract(source_file, '[^/]+$') as file_name, * "
        f"from ({classified_with_raw_values('canonical')})"
    ).set_index(["file_name", "source_row_number"])
    return result, classified


def test_parquet_rows_and_row_numbers_per_file(parquet):
    result, classified = parquet
    assert sorted(classified.index) == [
        ("a.parquet", 1), ("a.parquet", 2), ("a.parquet", 3),
        ("b.parquet", 1), ("b.parquet", 2),
    ]  # fmt: skip
    assert classified["reject_reason"].isna().all()


def test_parquet_instants_and_naive_times(parquet):
    _, classified = parquet
    at = classified["event_at"]
    # with a zone: converted from it, whatever the session zone
    assert at[("a.parquet", 1)] == pd.Timestamp("2024-03-01 08:00:00")
    assert at[("a.parquet", 2)] == pd.Timestamp("2024-07-02 03:30:00")
    # naive: local time in source_timezone (Tokyo, UTC+9)
    assert at[("b.parquet", 1)] == pd.Timestamp("2024-03-01 01:00:00")
    assert at[("b.parquet", 2)] == pd.Timestamp("2024-06-30 15:00:00.123456")
    raw = json.loads(classified.loc[("a.parquet", 1), "raw_values"])
    assert raw["event_at"] == "2024-03-01 08:00:00+00:00"


def test_parquet_numbers_round_trip_exactly(parquet):
    _, classified = parquet
    price = classified["unit_price"]
    assert price[("a.parquet", 1)] == 0.1
    assert price[("a.parquet", 2)] == 1 / 3
    assert price[("a.parquet", 3)] == 123456789.123
    assert price[("b.parquet", 1)] == 0.1  # a float32 0.1 stays 0.1
    assert price[("b.parquet", 2)] == 2.5
    quantity = classified["quantity"]
    # by row number: the query behind the fixture has no row order
    assert [quantity[("a.parquet", row)] for row in (1, 2, 3)] == [3, 2, 1]
    assert quantity[("b.parquet", 2)] == 1  # null quantity means 1


def test_parquet_ids_stay_exact_text(parquet):
    _, classified = parquet
    assert classified.loc[("a.parquet", 1), "customer_id"] == "42"
    assert classified.loc[("b.parquet", 1), "customer_id"] == "0042"
    product = classified.loc[("b.parquet", 1), "product_id"]
    assert product == "12345678901234567890"


def test_parquet_data_columns_named_like_reader_options_are_kept(parquet):
    _, classified = parquet
    raw = json.loads(classified.loc[("a.parquet", 1), "raw_values"])
    assert raw["filename"] == "a.csv"
    raw = json.loads(classified.loc[("b.parquet", 2), "raw_values"])
    assert raw["file_row_number"] == "8"


# -------------------------------------------------------------- header only


@pytest.fixture(scope="module")
def header_only_full(tmp_path_factory):
    """Every model of the project, on an Online Retail file with a header
    and no rows."""
    root = tmp_path_factory.mktemp("header_only")
    path = root / "online_retail_empty.csv"
    path.write_text(
        "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,"
        "CustomerID,Country\n"
    )
    return build_on(path, "online_retail", root / "build")


def test_header_only_file_builds_every_model(header_only_full):
    run = json.loads(
        (header_only_full.target_path / "run_results.json").read_text()
    )
    models = [r for r in run["results"] if r["unique_id"].startswith("model.")]
    assert models and all(r["status"] == "success" for r in models)


@pytest.mark.parametrize(
    "table",
    [
        "staging.stg_online_retail__events",
        "intermediate.int_events_classified",
        "marts.fct_events",
        "marts.rejected_events",
        "marts.data_quality_daily",
        "intermediate.int_events_sessionized",
        "intermediate.int_order_lines",
    ],
)
def test_header_only_file_gives_empty_tables(header_only_full, table):
    count = header_only_full.query(f"select count(*) from {table}").iloc[0, 0]
    assert count == 0


def test_header_only_canonical_with_bom_and_no_line_end(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes("\ufeffevent_at,event_type,customer_id".encode("utf-8"))
    result = build_on(path, "canonical", tmp_path / "build", select=CORE,
                      env=CAUTIOUS)  # fmt: skip
    assert result.query("select count(*) from marts.fct_events").iloc[0, 0] == 0


# ------------------------------------------------------------------- errors


def _fails(result, *fragments):
    assert result.returncode != 0
    for fragment in fragments:
        assert fragment in result.output, (fragment, result.output[-3000:])
    assert "Traceback" not in result.output


def test_missing_file_names_the_path_and_the_var(tmp_path):
    missing = tmp_path / "nowhere" / "events.csv"
    result = build_on(missing, "canonical", tmp_path / "build",
                      select="stg_canonical__events", check=False)  # fmt: skip
    _fails(result, str(missing), "events_path")


def test_empty_glob_names_the_glob_and_the_var(tmp_path):
    pattern = tmp_path / "exports" / "*.parquet"
    pattern.parent.mkdir()
    result = build_on(pattern, "canonical", tmp_path / "build",
                      select="stg_canonical__events", check=False)  # fmt: skip
    _fails(result, str(pattern), "No input file matches events_path")


def test_missing_required_column_names_column_and_file(tmp_path):
    path = tmp_path / "no_customer.csv"
    path.write_text("event_at,event_type,product_id\n2024-01-01,view,P1\n")
    result = build_on(path, "canonical", tmp_path / "build",
                      select="stg_canonical__events", check=False)  # fmt: skip
    _fails(result, "has no column customer_id", str(path))


def test_unknown_events_format_names_the_staging_model_to_write(tmp_path):
    # A new shape is one SQL file, so there is no list of shapes to check
    # against: dbt itself stops, naming the staging model it looked for.
    path = tmp_path / "events.csv"
    path.write_text("event_at,event_type,customer_id\n")
    result = build_on(path, "shopify", tmp_path / "build",
                      select="int_events_classified", check=False)  # fmt: skip
    _fails(result, "'stg_shopify__events'", "not found")


def test_unknown_source_timezone_names_the_var(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text("event_at,event_type,customer_id\n")
    result = build_on(
        path,
        "canonical",
        tmp_path / "build",
        select="stg_canonical__events int_events_classified",
        extra_vars={"source_timezone": "Mars/Olympus_Mons"},
        check=False,
    )
    _fails(result, "source_timezone", "'Mars/Olympus_Mons'")


# ---------------------------------------------------------------- encoding

LATIN1_ROWS = (
    b"event_at,event_type,customer_id,product_name,price,quantity,order_id\n"
    b"2024-03-01 10:00:00,purchase,1,Caf\xe9 cup,1.0,1,O1\n"
)


def test_latin1_file_builds_with_events_encoding(tmp_path):
    # events_format in another case selects the same shape
    path = tmp_path / "latin1.csv"
    path.write_bytes(LATIN1_ROWS)
    result = build_on(path, "Canonical", tmp_path / "build",
                      select="+int_events_classified",
                      extra_vars={"events_encoding": "latin-1"},
                      env=CAUTIOUS)  # fmt: skip
    row = result.query(
        "select product_name, raw_values, reject_reason"
        f" from ({classified_with_raw_values('canonical')})"
    ).iloc[0]
    assert row["product_name"] == "Café cup"
    assert json.loads(row["raw_values"])["product_name"] == "Café cup"
    assert row["reject_reason"] is None


def test_latin1_file_read_as_utf8_names_the_file_and_the_var(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes(LATIN1_ROWS)
    result = build_on(path, "canonical", tmp_path / "build",
                      select="stg_canonical__events", check=False)  # fmt: skip
    _fails(result, str(path), "events_encoding", "latin-1")
    assert "Invalid unicode" not in result.output


def test_unknown_events_encoding_names_the_var(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text("event_at,event_type,customer_id\n")
    result = build_on(path, "canonical", tmp_path / "build",
                      select="stg_canonical__events",
                      extra_vars={"events_encoding": "windows-1252"},
                      check=False)  # fmt: skip
    _fails(result, "events_encoding", "'windows-1252'", "utf-8, utf-16")


# -------------------------------------------------------------------- vars

# (var, bad value, fragment of what the message says is allowed)
BAD_VARS = [
    ("session_timeout_minutes", "thirty", "a whole number from 0 to 52560000"),
    ("session_timeout_minutes", -5, "a whole number from 0 to 52560000"),
    # stored as a whole number of minutes; 0.5 was applied as 1 and then
    # stopped every incremental run as a changed timeout
    ("session_timeout_minutes", 0.5, "a whole number from 0 to 52560000"),
    # over 2**31: DuckDB's interval arithmetic failed with a bare error
    ("session_timeout_minutes", 2**31, "a whole number from 0 to 52560000"),
    ("future_tolerance_hours", "a day", "a whole number from 0 to 876000"),
    ("future_tolerance_hours", 2**31, "a whole number from 0 to 876000"),
    # dbt's dateadd rounded it to whole hours: 0.4 was 0
    ("future_tolerance_hours", 0.4, "a whole number from 0 to 876000"),
    ("as_of_date", "2024-13-01", "calendar date"),
    ("as_of_date", "2023-02-29", "calendar date"),
    # pandas' timestamps (the Python models) cannot hold these
    ("as_of_date", "0001-01-01", "from 1900-01-01 to 2199-12-31"),
    ("as_of_date", "9999-12-31", "from 1900-01-01 to 2199-12-31"),
    ("churn_test_share", 1, "above 0 and below 1"),
    ("segment_k_max", 1, "whole number"),
    ("recommendation_count", True, "whole number from 1 to 10000"),
    ("churn_horizon_days", 200000, "whole number from 1 to 36500"),
    ("recommendation_holdout_days", 200000, "whole number from 1 to 36500"),
    ("churn_max_depth", 5000, "whole number from 1 to 1000"),
    # scores overflowed to infinity and the ranking stopped
    ("recommendation_view_weight", 1e308, "a number from 0 to 1000000"),
]


@pytest.mark.parametrize(
    "name, value, allowed", BAD_VARS, ids=[f"{n}={v}" for n, v, _ in BAD_VARS]
)
def test_bad_var_names_the_var_the_value_and_what_is_allowed(
    tmp_path, name, value, allowed
):
    path = tmp_path / "events.csv"
    path.write_text("event_at,event_type,customer_id\n")
    result = build_on(path, "canonical", tmp_path / "build",
                      select="int_events_classified",
                      extra_vars={name: value}, check=False)  # fmt: skip
    _fails(result, f"The var {name} is '{value}'", allowed)
    assert "Binder Error" not in result.output
    assert "Parser Error" not in result.output


# --- a column spelled differently across the files of one glob -------------


def _events(build) -> pd.DataFrame:
    return build.query(
        "select source_file, source_row_number, event_id, raw_values,"
        " event_at, reject_reason"
        f" from ({classified_with_raw_values('canonical')}) order by all"
    )


def test_csv_column_spelled_with_a_tab_is_still_read(tmp_path):
    """A header with `event_at` followed by a tab is a column of its own to
    the reader; its rows' times are read from it all the same, not left
    empty because another file spells the column plainly."""
    folder = tmp_path / "input"
    folder.mkdir()
    (folder / "part1.csv").write_text(
        "event_at,event_type,customer_id\n2024-03-01 09:00:00,view,c1\n"
    )
    (folder / "part2.csv").write_text(
        "event_type,event_at\t,customer_id\nview,2024-03-01 10:00:00,c2\n"
    )
    built = build_on(
        folder / "part*.csv", "canonical", tmp_path, select=CORE, env=CAUTIOUS
    )
    events = _events(built)
    assert events["reject_reason"].isna().all()
    assert events["event_at"].tolist() == [
        pd.Timestamp("2024-03-01 09:00:00"),
        pd.Timestamp("2024-03-01 10:00:00"),
    ]


def test_parquet_column_in_other_case_leaves_earlier_files_alone(tmp_path):
    """A later Parquet file that spells event_at as EVENT_AT is the same
    column (DuckDB merges names that differ in case): the earlier file's
    raw values and event ids stay what they were without it."""
    folder = tmp_path / "input"
    folder.mkdir()

    def add_file(name, select_list):
        with duckdb.connect() as con:
            con.execute(
                f"copy (select {select_list}) to '{folder / name}' (format parquet)"
            )

    def classified(name):
        return _events(
            build_on(folder / "part*.parquet", "canonical", tmp_path / name,
                     select=CORE, env=CAUTIOUS)  # fmt: skip
        )

    add_file(
        "part1.parquet",
        "'2024-03-01 09:00:00' as event_at, 'view' as event_type, 'c1' as customer_id",
    )
    alone = classified("alone")
    add_file(
        "part2.parquet",
        "'view' as event_type, '2024-03-02 10:00:00' as \"EVENT_AT\", 'c5' as customer_id",
    )
    both = classified("both")
    first = both[both["source_file"].str.endswith("part1.parquet")]
    assert first[["event_id", "raw_values"]].values.tolist() == (
        alone[["event_id", "raw_values"]].values.tolist()
    )
    assert json.loads(first["raw_values"].iloc[0]).keys() == {
        "event_at", "event_type", "customer_id"
    }
    second = both[both["source_file"].str.endswith("part2.parquet")]
    assert second["event_at"].tolist() == [pd.Timestamp("2024-03-02 10:00:00")]
    assert second["reject_reason"].isna().all()
