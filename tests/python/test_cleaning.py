"""The cleaning layer on small canonical fixtures written for the purpose.

One build reads a glob of three CSV files: ``cases_rejects.csv`` holds one
row per cleaning case (every reject reason, event type synonyms, timestamp
forms and zones, quantities), ``cases_encoding.csv`` has a byte-order mark,
CRLF line ends, quoted commas, quotes and newlines, non-ASCII text and ids
that must stay exact text, and ``cases_quotes.csv`` has fewer columns and
doubled quotes. Every row carries a ``case`` column (an extra column the
canonical shape keeps in raw_values only) so each assertion finds its row. A second build reads the same rows shuffled, under another DuckDB
session TimeZone, and must produce the same tables.
"""

from __future__ import annotations

import json
import random
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from conftest import SAMPLE_PATH, build_on, classified_with_raw_values, run_dbt

CORE = (
    "+fct_events +rejected_events +data_quality_daily +int_order_lines"
    " reject_reasons"
)
SOURCE_TIMEZONE = "Europe/London"
# Only tests whose every parent is built (others' models are not).
CAUTIOUS = {"DBT_INDIRECT_SELECTION": "cautious"}
COLUMNS = [
    "event_at", "event_type", "customer_id", "product_id", "product_name",
    "category", "brand", "price", "quantity", "order_id", "session_id",
    "search_query", "country", "case",
]  # fmt: skip

_NOW = datetime.now(timezone.utc).replace(microsecond=0)
SOON = (_NOW + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
LATER = (_NOW + timedelta(hours=72)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _row(case, event_at="2024-03-01T10:00:00Z", event_type="view", **values):
    row = {column: "" for column in COLUMNS}
    row.update(
        event_at=event_at,
        event_type=event_type,
        customer_id="C1",
        product_id="P1",
        case=case,
    )
    row.update(values)
    return row


# case, fixture row, expected reject_reason (None = accepted)
REJECT_CASES = [
    ("missing_customer_id", _row("missing_customer_id", customer_id="")),
    ("missing_customer_id", _row("customer_id_spaces", customer_id="   ")),
    (
        "missing_customer_id",
        _row("precedence_customer_first", customer_id="", event_at="never"),
    ),
    ("unparseable_timestamp", _row("timestamp_words", event_at="yesterday")),
    (
        "unparseable_timestamp",
        _row("timestamp_day_30_feb", event_at="2024-02-30 10:00:00"),
    ),
    ("unparseable_timestamp", _row("timestamp_month_13", event_at="2024-13-01")),
    ("unparseable_timestamp", _row("timestamp_epoch", event_at="epoch")),
    ("unparseable_timestamp", _row("timestamp_infinity", event_at="-infinity")),
    ("unparseable_timestamp", _row("timestamp_blank", event_at="")),
    (
        "unparseable_timestamp",
        _row("timestamp_hour_25", event_at="2024-06-01 25:00:00+02:00"),
    ),
    # DuckDB reads these as BC dates, which Spark and Python's dates cannot
    # hold (an incremental run's day list failed on one)
    ("unparseable_timestamp", _row("timestamp_year_0", event_at="0000-06-01 10:00")),
    ("unparseable_timestamp", _row("timestamp_year_0_mdy", event_at="6/1/0000 10:00")),
    (
        "unparseable_timestamp",
        _row("timestamp_year_0_in_utc", event_at="0001-01-01 00:30:00+01:00"),
    ),
    # offsets Spark does not read (beyond 18 hours, 60 minutes or more);
    # DuckDB's cast took them and a plain timestamp cast dropped them
    (
        "unparseable_timestamp",
        _row("offset_19_hours", event_at="2024-06-01 12:00:00+19:00"),
    ),
    (
        "unparseable_timestamp",
        _row("offset_99_hours", event_at="2024-06-01 12:00:00+99:00"),
    ),
    (
        "unparseable_timestamp",
        _row("offset_99_minutes", event_at="2024-06-01 12:00:00+0599"),
    ),
    ("future_timestamp", _row("future_far", event_at="2999-01-01T00:00:00Z")),
    ("future_timestamp", _row("future_beyond_tolerance", event_at=LATER)),
    ("unknown_event_type", _row("event_type_unknown", event_type="wishlist")),
    ("unknown_event_type", _row("event_type_blank", event_type="")),
    (
        "invalid_price",
        _row("price_negative", event_type="purchase", price="-1", quantity="1"),
    ),
    (
        "invalid_price",
        _row("price_missing_purchase", event_type="purchase", quantity="1"),
    ),
    ("invalid_price", _row("price_missing_return", event_type="return")),
    ("invalid_price", _row("price_text", price="abc")),
    ("invalid_price", _row("price_nan", price="NaN")),
    ("zero_quantity", _row("quantity_zero", event_type="cart", quantity="0")),
    ("zero_quantity", _row("quantity_zero_decimal", quantity="0.0")),
    (
        "invalid_quantity",
        _row("quantity_fraction", event_type="purchase", price="1", quantity="1.5"),
    ),
    (
        "invalid_quantity",
        _row(
            "quantity_negative_purchase",
            event_type="purchase",
            price="1",
            quantity="-2",
        ),
    ),
    ("invalid_quantity", _row("quantity_text", quantity="two")),
]

# case, fixture row, expected clean values (compared with fct_events)
ACCEPTED_CASES = [
    ("view_offset_z", _row("view_offset_z", customer_id="0042"), {}),
    (
        "synonym_add_to_cart",
        _row("synonym_add_to_cart", event_type="add_to_cart"),
        {"event_type": "cart"},
    ),
    (
        "synonym_mixed_case",
        _row("synonym_mixed_case", event_type="AddToCart"),
        {"event_type": "cart"},
    ),
    (
        "synonym_transaction",
        _row(
            "synonym_transaction",
            event_type="transaction",
            price="5.5",
            quantity="2",
            order_id="O1",
        ),
        {"event_type": "purchase", "unit_price": 5.5, "quantity": 2},
    ),
    (
        "synonym_padded",
        _row("synonym_padded", event_type="  page_view "),
        {"event_type": "view"},
    ),
    (
        "synonym_clicks",
        _row("synonym_clicks", event_type="clicks"),
        {"event_type": "view"},
    ),
    (
        "offset_colon",
        _row("offset_colon", event_at="2024-06-01 12:00:00+02:00"),
        {"event_at": "2024-06-01 10:00:00"},
    ),
    (
        "offset_compact",
        _row("offset_compact", event_at="2024-06-01T12:00:00+0200"),
        {"event_at": "2024-06-01 10:00:00"},
    ),
    (
        "offset_after_space",
        _row("offset_after_space", event_at="2024-06-01 12:00:00 +02:00"),
        {"event_at": "2024-06-01 10:00:00"},
    ),
    (
        "offset_hours_only",
        _row("offset_hours_only", event_at="2024-06-01 12:00:00-05"),
        {"event_at": "2024-06-01 17:00:00"},
    ),
    (
        "offset_half_hour",
        _row("offset_half_hour", event_at="2024-06-01 12:00:00+05:30"),
        {"event_at": "2024-06-01 06:30:00"},
    ),
    (
        "offset_largest",
        _row("offset_largest", event_at="2024-06-01 12:00:00-18:00"),
        {"event_at": "2024-06-02 06:00:00"},
    ),
    (
        "utc_suffix",
        _row("utc_suffix", event_at="2024-06-01 12:00:00 UTC"),
        {"event_at": "2024-06-01 12:00:00"},
    ),
    (
        "z_fraction",
        _row("z_fraction", event_at="2024-06-01T12:00:00.250Z"),
        {"event_at": "2024-06-01 12:00:00.250"},
    ),
    # Naive text is local time in source_timezone (Europe/London here).
    (
        "naive_winter",
        _row("naive_winter", event_at="2024-01-15 12:00:00"),
        {"event_at": "2024-01-15 12:00:00"},
    ),
    (
        "naive_summer",
        _row("naive_summer", event_at="2024-07-15 12:00:00"),
        {"event_at": "2024-07-15 11:00:00"},
    ),
    # 01:30 does not exist on 2024-03-31 in London (clocks jump 01:00 ->
    # 02:00): read with the offset before the change, GMT.
    (
        "naive_dst_gap",
        _row("naive_dst_gap", event_at="2024-03-31 01:30:00"),
        {"event_at": "2024-03-31 01:30:00"},
    ),
    # 01:30 happens twice on 2024-10-27 (00:30 and 01:30 UTC): the later,
    # standard-time instant is taken.
    (
        "naive_dst_overlap",
        _row("naive_dst_overlap", event_at="2024-10-27 01:30:00"),
        {"event_at": "2024-10-27 01:30:00"},
    ),
    (
        "naive_date_only",
        _row("naive_date_only", event_at="2024-07-15"),
        {"event_at": "2024-07-14 23:00:00"},
    ),
    (
        "naive_t_fraction",
        _row("naive_t_fraction", event_at="2024-07-15T12:00:00.5"),
        {"event_at": "2024-07-15 11:00:00.500"},
    ),
    (
        "month_day_year",
        _row("month_day_year", event_at="12/1/2010 8:26"),
        {"event_at": "2010-12-01 08:26:00"},
    ),
    (
        "return_negative_quantity",
        _row("return_negative_quantity", event_type="return", price="2",
             quantity="-3"),
        {"event_type": "return", "quantity": 3, "unit_price": 2.0},
    ),  # fmt: skip
    (
        "blank_quantity",
        _row("blank_quantity", event_type="cart"),
        {"quantity": 1},
    ),
    (
        "price_zero",
        _row("price_zero", event_type="purchase", price="0", quantity="1"),
        {"unit_price": 0.0},
    ),
    (
        "quantity_whole_decimal",
        _row("quantity_whole_decimal", event_type="purchase", price="1",
             quantity="2.0"),
        {"quantity": 2},
    ),  # fmt: skip
    (
        "price_padded",
        _row("price_padded", price=" 4.50 "),
        {"unit_price": 4.5},
    ),
    (
        "search_with_comma",
        _row("search_with_comma", event_type="search",
             search_query="blue mug, large"),
        {"event_type": "search", "search_query": "blue mug, large"},
    ),  # fmt: skip
    ("future_within_tolerance", _row("future_within_tolerance", event_at=SOON), {}),
    (
        "leading_zeros",
        _row("leading_zeros", customer_id="00123", product_id="007",
             order_id="000045"),
        {"customer_id": "00123", "product_id": "007", "order_id": "000045"},
    ),  # fmt: skip
    (
        "long_numeric_id",
        _row("long_numeric_id", customer_id="12345678901234567890123"),
        {"customer_id": "12345678901234567890123"},
    ),
]

DUPLICATE = _row("duplicate", event_type="cart", customer_id="D1")

# The second file: byte-order mark, CRLF, quoting, non-ASCII, exact ids.
ENCODING_CASES = [
    ("non_ascii", {"product_name": "Café crème, Größe XL — 日本の茶碗 🙂",
                   "brand": "Müller", "category": "küche"}),
    ("quoted_commas", {"product_name": "Mug, blue, large"}),
    ("embedded_newline", {"product_name": "Line one\nLine two, too"}),
    ("after_newline", {"product_name": "plain"}),
    ("embedded_quotes", {"product_name": 'The "best" mug, 12"'}),
    ("only_a_quote", {"product_name": '"'}),
    ("exact_ids", {"customer_id": "007", "product_id": "000123",
                   "order_id": "0001"}),
    ("long_id_20_digits", {"customer_id": "98765432109876543210"}),
    ("not_merchandise", {"product_name": "Postage", "is_merchandise": "false"}),
]  # fmt: skip
# The third file: few columns, LF, quotes written the RFC 4180 way (doubled).
# DuckDB sniffs each file of a glob on its own; on a small file like this
# one it picks no escape character unless told, and keeps both quotes.
QUOTE_CASES = [
    ("quote_around_newline", "a\nb, c"),
    ("quote_inside", 'say "hi"'),
    ("quote_inch", '12" record'),
    ("quote_alone", '"'),
]
QUOTE_COLUMNS = ["event_at", "event_type", "customer_id", "product_name", "case"]

ENCODING_REJECTED = _row(
    "encoding_rejected",
    customer_id="",
    product_name='naïve, "quoted"\n日本',
)


def _encoding_rows():
    rows = []
    for case, values in ENCODING_CASES:
        row = _row(case, customer_id="E1")
        row["is_merchandise"] = ""
        row.update(values)
        rows.append(row)
    rows.append({**ENCODING_REJECTED, "is_merchandise": ""})
    return rows


def _reject_rows():
    rows = [row for _, row, _ in ACCEPTED_CASES]
    rows += [row for _, row in REJECT_CASES]
    rows += [DUPLICATE, dict(DUPLICATE)]
    return rows


def _quote_rows():
    return [
        {"event_at": "2024-03-01T10:00:00Z", "event_type": "view",
         "customer_id": "Q1", "product_name": name, "case": case}
        for case, name in QUOTE_CASES
    ]  # fmt: skip


def _write(folder: Path, *, shuffle_seed: int | None = None) -> dict:
    """Write the three fixture files; returns {file name: rows as written}."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "cases_rejects.csv": _reject_rows(),
        "cases_encoding.csv": _encoding_rows(),
        "cases_quotes.csv": _quote_rows(),
    }
    if shuffle_seed is not None:
        generator = random.Random(shuffle_seed)
        for rows in files.values():
            generator.shuffle(rows)
    pd.DataFrame(files["cases_rejects.csv"]).to_csv(
        folder / "cases_rejects.csv", index=False
    )
    # utf-8-sig writes the byte-order mark; CRLF as Excel on Windows does.
    pd.DataFrame(files["cases_encoding.csv"]).to_csv(
        folder / "cases_encoding.csv",
        index=False,
        encoding="utf-8-sig",
        lineterminator="\r\n",
    )
    pd.DataFrame(files["cases_quotes.csv"], columns=QUOTE_COLUMNS).to_csv(
        folder / "cases_quotes.csv", index=False
    )
    return files


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    root = tmp_path_factory.mktemp("cleaning_cases")
    files = _write(root / "input")
    result = build_on(
        root / "input" / "cases_*.csv",
        "canonical",
        root / "build",
        select=CORE,
        extra_vars={"source_timezone": SOURCE_TIMEZONE},
        env=CAUTIOUS,
    )
    return result, files, root


@pytest.fixture(scope="module")
def shuffled(tmp_path_factory):
    """Same rows, shuffled, another folder, session TimeZone Asia/Kathmandu
    (+05:45, no DST) instead of the profile's default UTC."""
    root = tmp_path_factory.mktemp("cleaning_shuffled")
    _write(root / "input", shuffle_seed=7)
    return build_on(
        root / "input" / "cases_*.csv",
        "canonical",
        root / "build",
        select=CORE,
        extra_vars={"source_timezone": SOURCE_TIMEZONE},
        env={**CAUTIOUS, "CUSTOMER_ANALYTICS_SESSION_TIMEZONE": "Asia/Kathmandu"},
    )


def _classified(result):
    """int_events_classified with each row's case and file name."""
    frame = result.query(
        f"""
        select
            json_extract_string(raw_values, '$.case') as "case",
            regexp_extract(source_file, '[^/\\\\]+$') as file_name,
            *
        from ({classified_with_raw_values("canonical")})
        """
    )
    return frame


def _expected_raw(row: dict, columns: list[str]) -> dict:
    # The CSV reader reads an empty field as null, and raw_values leaves
    # columns with no value out.
    return {column: row[column] for column in columns if row.get(column)}


# ---------------------------------------------------------------- reasons


def test_every_reject_reason_of_the_seed_is_exercised(cases):
    result, _, _ = cases
    seeded = set(result.query("select reject_reason from staging.reject_reasons")
                 ["reject_reason"])  # fmt: skip
    fixture = {reason for reason, _ in REJECT_CASES} | {"duplicate_event"}
    assert seeded == fixture
    observed = set(result.table("marts.rejected_events")["reject_reason"])
    assert observed == seeded


@pytest.mark.parametrize(
    "reason, case", [(reason, row["case"]) for reason, row in REJECT_CASES]
)
def test_reject_reason_of_each_bad_row(cases, reason, case):
    result, _, _ = cases
    classified = _classified(result).set_index("case")
    assert classified.loc[case, "reject_reason"] == reason


def test_exact_duplicate_keeps_the_first_copy(cases):
    result, files, _ = cases
    classified = _classified(result)
    copies = classified[classified["case"] == "duplicate"].sort_values(
        "source_row_number"
    )
    assert list(copies["reject_reason"]) == [None, "duplicate_event"]
    rejected = result.table("marts.rejected_events")
    copy = rejected[rejected["reject_reason"] == "duplicate_event"].iloc[0]
    kept_id = copies.iloc[0]["event_id"]
    assert copy["raw_row_hash"] == kept_id
    assert kept_id in set(result.table("marts.fct_events")["event_id"])


def test_classified_keeps_raw_values_of_rejected_rows_only(cases):
    result, _, _ = cases
    counts = result.query(
        "select reject_reason is not null as rejected, count(*) as row_count,"
        " count(raw_values) as with_raw_values"
        " from intermediate.int_events_classified group by 1 order by 1"
    )
    clean, rejected = counts.itertuples(index=False)
    assert clean.row_count > 0 and clean.with_raw_values == 0
    assert rejected.row_count > 0 and rejected.with_raw_values == rejected.row_count


def test_rejected_rows_keep_raw_text_file_and_row_number(cases):
    result, files, _ = cases
    columns = COLUMNS + ["is_merchandise"]
    rejected = result.table("marts.rejected_events")
    assert len(rejected) == len(REJECT_CASES) + 2  # + duplicate, encoding
    for record in rejected.itertuples():
        file_name = Path(record.source_file).name
        written = files[file_name][record.source_row_number - 1]
        assert json.loads(record.raw_values) == _expected_raw(written, columns)


# --------------------------------------------------------------- accepted


@pytest.mark.parametrize(
    "case, expected",
    [(case, expected) for case, _, expected in ACCEPTED_CASES],
    ids=[case for case, _, _ in ACCEPTED_CASES],
)
def test_accepted_row_values(cases, case, expected):
    result, _, _ = cases
    classified = _classified(result).set_index("case")
    assert classified.loc[case, "reject_reason"] is None
    event = (
        result.table("marts.fct_events")
        .set_index("event_id")
        .loc[classified.loc[case, "event_id"]]
    )
    for column, value in expected.items():
        if column == "event_at":
            assert event["event_at"] == pd.Timestamp(value), case
        else:
            assert event[column] == value, (case, column)


def test_clean_types_and_defaults(cases):
    result, _, _ = cases
    types = dict(
        result.query(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'marts' and table_name = 'fct_events'"
        ).values
    )
    assert types["event_at"] == "TIMESTAMP"
    assert types["customer_id"] == "VARCHAR"
    assert types["quantity"] == "BIGINT"
    assert types["unit_price"] == "DOUBLE"
    events = result.table("marts.fct_events")
    assert events["is_merchandise"].sum() == len(events) - 1  # not_merchandise


# --------------------------------------------------------------- encoding


@pytest.mark.parametrize("case, values", ENCODING_CASES, ids=[c for c, _ in ENCODING_CASES])
def test_encoding_cases_load_exactly(cases, case, values):
    result, _, _ = cases
    classified = _classified(result).set_index("case")
    assert classified.loc[case, "reject_reason"] is None
    event = (
        result.table("marts.fct_events")
        .set_index("event_id")
        .loc[classified.loc[case, "event_id"]]
    )
    for column, value in values.items():
        if column == "is_merchandise":
            assert event[column] == (value == "true")
        else:
            assert event[column] == value, column


@pytest.mark.parametrize("case, name", QUOTE_CASES, ids=[c for c, _ in QUOTE_CASES])
def test_doubled_quotes_read_as_one(cases, case, name):
    result, _, _ = cases
    classified = _classified(result).set_index("case")
    assert classified.loc[case, "reject_reason"] is None
    assert classified.loc[case, "product_name"] == name.strip()


def test_bom_header_matches_column_names(cases):
    """event_at is the first column, right behind the byte-order mark."""
    result, _, _ = cases
    classified = _classified(result)
    encoding = classified[classified["file_name"] == "cases_encoding.csv"]
    assert len(encoding) == len(ENCODING_CASES) + 1
    assert encoding["event_at"].notna().all()
    keys = json.loads(encoding["raw_values"].iloc[0]).keys()
    assert "event_at" in keys and not any("\ufeff" in key for key in keys)


def test_source_row_number_is_the_data_record_per_file(cases):
    """1-based record after the header, per file of the glob; a quoted field
    spanning two lines is one record."""
    result, files, _ = cases
    classified = _classified(result)
    for record in classified.itertuples():
        written = files[record.file_name][record.source_row_number - 1]
        assert written["case"] == record.case
    counts = classified.groupby("file_name")["source_row_number"].agg(
        ["min", "max", "count"]
    )
    for file_name, rows in files.items():
        assert tuple(counts.loc[file_name]) == (1, len(rows), len(rows))


# ---------------------------------------------------------- reconciliation


def test_raw_rows_reconcile_with_the_fixture(cases):
    result, files, _ = cases
    raw = sum(len(rows) for rows in files.values())
    staged = result.query("select count(*) from staging.stg_canonical__events")
    clean = len(result.table("marts.fct_events"))
    rejected = len(result.table("marts.rejected_events"))
    assert staged.iloc[0, 0] == raw
    assert clean + rejected == raw
    run = json.loads((result.target_path / "run_results.json").read_text())
    statuses = {
        r["unique_id"].split(".")[-1]: r["status"] for r in run["results"]
    }
    assert statuses["assert_raw_rows_reconcile"] == "pass"


def test_data_quality_daily_counts_every_raw_row(cases):
    result, files, _ = cases
    daily = result.table("marts.data_quality_daily")
    raw = sum(len(rows) for rows in files.values())
    assert daily["row_count"].sum() == raw
    rejected = result.table("marts.rejected_events")
    by_reason = daily[~daily["is_accepted"]].groupby("outcome")["row_count"].sum()
    assert by_reason.to_dict() == rejected["reject_reason"].value_counts().to_dict()
    accepted = daily.loc[daily["is_accepted"], "row_count"].sum()
    assert accepted == len(result.table("marts.fct_events"))
    unparseable = daily[daily["outcome"] == "unparseable_timestamp"]
    assert unparseable["event_date"].isna().all()
    shares = daily.groupby("event_date", dropna=False)["share_of_day"].sum()
    assert shares.round(9).eq(1).all()


def test_reconciliation_test_fails_when_counts_differ(cases, tmp_path):
    """Tamper with a built warehouse: the dbt test must fail."""
    result, _, root = cases
    workdir = tmp_path / "tampered"
    workdir.mkdir()
    shutil.copy(result.db_path, workdir / "warehouse.duckdb")
    with duckdb.connect(str(workdir / "warehouse.duckdb")) as con:
        con.execute(
            "delete from marts.fct_events where event_id = "
            "(select min(event_id) from marts.fct_events)"
        )
    tampered = run_dbt(
        ["test", "--select", "assert_raw_rows_reconcile"],
        workdir=workdir,
        dbt_vars={
            "events_path": str(root / "input" / "cases_*.csv"),
            "events_format": "canonical",
            "source_timezone": SOURCE_TIMEZONE,
        },
        check=False,
    )
    assert tampered.returncode != 0
    assert "FAIL 1 assert_raw_rows_reconcile" in tampered.output


# ---------------------------------------------------------- invariance


def test_shuffled_rows_and_session_timezone_give_identical_events(cases, shuffled):
    result, _, _ = cases
    ordered = "event_id"
    left = result.table("marts.fct_events", order_by=ordered)
    right = shuffled.table("marts.fct_events", order_by=ordered)
    pd.testing.assert_frame_equal(left, right)

    sessions = "select event_id, session_id from intermediate.int_events_sessionized"
    pd.testing.assert_frame_equal(
        result.query(sessions + " order by event_id"),
        shuffled.query(sessions + " order by event_id"),
    )

    quarantine = (
        "select reject_reason, raw_values, raw_row_hash, parsed_event_at "
        "from marts.rejected_events order by all"
    )
    pd.testing.assert_frame_equal(result.query(quarantine), shuffled.query(quarantine))

    daily = "select * from marts.data_quality_daily order by all"
    pd.testing.assert_frame_equal(result.query(daily), shuffled.query(daily))


def test_session_timezone_setting_reaches_dbt(shuffled, tmp_path):
    """Without this, the invariance above could pass with a setting that
    never reached DuckDB."""
    shown = run_dbt(
        ["show", "--inline", "select current_setting('TimeZone') as zone"],
        workdir=tmp_path,
        env={"CUSTOMER_ANALYTICS_SESSION_TIMEZONE": "Asia/Kathmandu"},
    )
    assert "Asia/Kathmandu" in shown.output


# ------------------------------------------------- the bundled sample


def test_sample_reconciles_with_an_independent_pandas_read(sample_build):
    """Count the gz file with pandas, not with dbt, and derive each reject
    reason from the raw text independently."""
    raw = pd.read_csv(SAMPLE_PATH, dtype=str, keep_default_na=False)
    quantity = raw["Quantity"].astype(int)
    is_cancellation = raw["InvoiceNo"].str.upper().str.startswith("C")
    invalid_quantity = (quantity < 0) & ~is_cancellation
    duplicate = raw.duplicated(keep="first") & ~invalid_quantity

    staged = sample_build.query(
        "select count(*) from staging.stg_online_retail__events"
    ).iloc[0, 0]
    clean = sample_build.query("select count(*) from marts.fct_events").iloc[0, 0]
    reasons = (
        sample_build.query(
            "select reject_reason, count(*) as n from marts.rejected_events "
            "group by 1"
        )
        .set_index("reject_reason")["n"]
        .to_dict()
    )
    assert staged == len(raw) == 57331
    assert reasons == {
        "invalid_quantity": int(invalid_quantity.sum()),
        "duplicate_event": int(duplicate.sum()),
    }
    assert clean == len(raw) - invalid_quantity.sum() - duplicate.sum()

    guests = sample_build.query(
        "select count(*) from marts.fct_events where customer_id is null"
    ).iloc[0, 0]
    accepted = raw[~invalid_quantity & ~duplicate]
    assert guests == (accepted["CustomerID"] == "").sum()
    returns = sample_build.query(
        "select count(*) from marts.fct_events where event_type = 'return'"
    ).iloc[0, 0]
    assert returns == is_cancellation[~invalid_quantity & ~duplicate].sum()


# ------------------------------------------------- ids independent of globs


def test_event_and_session_ids_do_not_depend_on_other_files(tmp_path):
    # The same rows alone, and in a glob with a file that has an extra
    # column and a file with one stray extra field (a phantom column7 for
    # every row of the union): raw_values leaves out columns with no value,
    # so event_id and session_id are the same.
    header = ["event_at", "event_type", "customer_id", "product_id"]
    rows = [
        ["2024-03-01T10:00:00Z", "view", "C1", "P1"],
        ["2024-03-01T10:05:00Z", "cart", "C1", "P1"],
        ["2024-03-01T10:06:00Z", "view", "C2", ""],
    ]
    alone = tmp_path / "alone"
    alone.mkdir()
    pd.DataFrame(rows, columns=header).to_csv(alone / "a.csv", index=False)
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    shutil.copy(alone / "a.csv", mixed / "a.csv")
    pd.DataFrame(
        [["2024-03-02T09:00:00Z", "view", "C3", "P2", "web"]],
        columns=[*header, "channel"],
    ).to_csv(mixed / "b.csv", index=False)
    (mixed / "c.csv").write_text(
        ",".join(header) + "\n2024-03-02T09:00:00Z,view,C4,P3,stray\n"
        "2024-03-02T09:01:00Z,view,C4,P3\n"
    )
    select = "+int_events_sessionized reject_reasons"
    ids = f"""
        select
            classified.source_row_number,
            classified.event_id,
            sessionized.session_id,
            classified.raw_values
        from ({classified_with_raw_values("canonical")}) as classified
        inner join intermediate.int_events_sessionized as sessionized
            on classified.event_id = sessionized.event_id
        where classified.source_file like '%a.csv'
        order by classified.source_row_number
    """
    built_alone = build_on(alone / "*.csv", "canonical", tmp_path / "b1",
                           select=select, env=CAUTIOUS).query(ids)  # fmt: skip
    built_mixed = build_on(mixed / "*.csv", "canonical", tmp_path / "b2",
                           select=select, env=CAUTIOUS).query(ids)  # fmt: skip
    assert len(built_alone) == 3
    pd.testing.assert_frame_equal(built_alone, built_mixed)
    assert json.loads(built_alone["raw_values"].iloc[2]) == {
        "event_at": "2024-03-01T10:06:00Z",
        "event_type": "view",
        "customer_id": "C2",
    }
