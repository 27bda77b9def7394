"""Each source shape end to end: a small Online Retail fixture (gzipped), the
real REES46 snippet in a glob with a crafted second file, and the real OTTO
snippet renamed into the canonical layout. The two clickstreams are built up
to sessions and order lines."""

from __future__ import annotations

import gzip
import shutil

import pandas as pd
import pytest
from conftest import FIXTURES, build_on, classified_with_raw_values

SELECT = "+int_order_lines +rejected_events +data_quality_daily reject_reasons"
# Only tests whose every parent is built (others' models are not).
CAUTIOUS = {"DBT_INDIRECT_SELECTION": "cautious"}
REES46 = FIXTURES / "rees46_2019-Oct_first1000.csv"
OTTO = FIXTURES / "otto_sample_events.csv"

# ------------------------------------------------------------ online_retail

ONLINE_RETAIL_HEADER = [
    "InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate",
    "UnitPrice", "CustomerID", "Country",
]  # fmt: skip
# (case, row, expected reject_reason or None)
ONLINE_RETAIL_ROWS = [
    ("purchase", ["536365", "85123A", "WHITE HANGING HEART T-LIGHT HOLDER", "6",
                  "12/1/2010 8:26", "2.55", "17850", "United Kingdom"], None),
    ("guest", ["536366", "22633", "HAND WARMER UNION JACK", "6",
               "2010-12-01 08:28:00", "1.85", "", "United Kingdom"], None),
    ("cancelled_discount", ["C536379", "D", "Discount", "-1",
                            "2010-12-01 09:41:00", "27.5", "14527",
                            "United Kingdom"], None),
    ("cancelled_goods", ["C536383", "35004C", "SET OF 3 COLOURED  FLYING DUCKS",
                         "-1", "2010-12-01 09:49:00", "4.65", "15311",
                         "United Kingdom"], None),
    ("postage", ["536370", "POST", "POSTAGE", "3", "2010-12-01 08:45:00", "18",
                 "12583", "France"], None),
    ("voucher_lower_case", ["536371", "gift_0001_20",
                            "Dotcomgiftshop Gift Voucher £20.00", "1",
                            "2010-12-01 09:00:00", "17.02", "", "United Kingdom"],
     None),
    ("leading_zeros", ["536374", "21258", "CAFÉ MUG, 12\" BLUE", "2",
                       "2010-12-01 09:09:00", "10.95", "00077", "EIRE"], None),
    ("lost_stock", ["536375", "21275", "?", "-12", "2010-12-01 09:32:00", "0", "",
                    "United Kingdom"], "invalid_quantity"),
    ("bad_debt", ["A563185", "B", "Adjust bad debt", "1", "2011-08-12 14:50:00",
                  "-11062.06", "", "United Kingdom"], "invalid_price"),
    ("zero_quantity", ["536376", "22114", "HOT WATER BOTTLE", "0",
                       "2010-12-01 09:32:00", "3.45", "15291", "United Kingdom"],
     "zero_quantity"),
    ("day_month_year", ["536377", "22114", "HOT WATER BOTTLE", "1",
                        "31/12/2010 10:00", "3.45", "15291", "United Kingdom"],
     "unparseable_timestamp"),
    ("no_invoice", ["", "22114", "HOT WATER BOTTLE", "1", "2010-12-01 10:00:00",
                    "3.45", "15291", "United Kingdom"], "unknown_event_type"),
]  # fmt: skip


@pytest.fixture(scope="module")
def online_retail(tmp_path_factory):
    root = tmp_path_factory.mktemp("online_retail")
    rows = [row for _, row, _ in ONLINE_RETAIL_ROWS]
    rows.append(list(ONLINE_RETAIL_ROWS[0][1]))  # an exact duplicate line
    frame = pd.DataFrame(rows, columns=ONLINE_RETAIL_HEADER)
    path = root / "online_retail.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8", newline="") as handle:
        frame.to_csv(handle, index=False)
    return build_on(path, "online_retail", root / "build", select=SELECT,
                    env=CAUTIOUS), frame


def _by_row(result, table="intermediate.int_events_classified"):
    return result.query(f"select * from {table}").set_index("source_row_number")


def test_online_retail_reasons(online_retail):
    result, _ = online_retail
    classified = _by_row(result)
    for number, (case, _, reason) in enumerate(ONLINE_RETAIL_ROWS, start=1):
        assert classified.loc[number, "reject_reason"] == reason, case
    duplicate_row = len(ONLINE_RETAIL_ROWS) + 1
    assert classified.loc[duplicate_row, "reject_reason"] == "duplicate_event"


def test_online_retail_rules(online_retail):
    result, _ = online_retail
    classified = _by_row(result)
    cases = {case: number for number, (case, _, _) in
             enumerate(ONLINE_RETAIL_ROWS, start=1)}  # fmt: skip
    row = classified.loc[cases["purchase"]]
    assert (row.event_type, row.quantity, row.customer_id) == (
        "purchase", 6, "17850",
    )  # fmt: skip
    assert row.event_at == pd.Timestamp("2010-12-01 08:26:00")
    assert row.is_merchandise
    guest = classified.loc[cases["guest"]]
    assert guest.customer_id is None and guest.reject_reason is None
    for case in ("cancelled_discount", "cancelled_goods"):
        cancelled = classified.loc[cases[case]]
        assert (cancelled.event_type, cancelled.quantity) == ("return", 1)
        assert cancelled.order_id.startswith("C")
    assert not classified.loc[cases["cancelled_discount"], "is_merchandise"]
    assert classified.loc[cases["cancelled_goods"], "is_merchandise"]
    assert not classified.loc[cases["postage"], "is_merchandise"]
    assert not classified.loc[cases["voucher_lower_case"], "is_merchandise"]
    assert classified.loc[cases["leading_zeros"], "customer_id"] == "00077"
    assert (
        classified.loc[cases["leading_zeros"], "product_name"]
        == 'CAFÉ MUG, 12" BLUE'
    )


def test_online_retail_revenue_rule(online_retail):
    """Non-merchandise lines stay events but count 0 revenue."""
    result, _ = online_retail
    lines = result.query(
        "select order_id, line_revenue, is_merchandise, is_return "
        "from intermediate.int_order_lines"
    ).set_index("order_id")
    assert lines.loc["536370", "line_revenue"] == 0  # postage
    assert lines.loc["536365", "line_revenue"] == pytest.approx(6 * 2.55)
    assert lines.loc["C536383", "is_return"]


def test_online_retail_reconciles(online_retail):
    result, frame = online_retail
    clean = result.query("select count(*) from marts.fct_events").iloc[0, 0]
    rejected = result.query("select count(*) from marts.rejected_events").iloc[0, 0]
    assert clean + rejected == len(frame)
    assert rejected == sum(1 for *_, r in ONLINE_RETAIL_ROWS if r) + 1


# ------------------------------------------------------------------- rees46

REES46_HEADER = [
    "event_time", "event_type", "product_id", "category_id", "category_code",
    "brand", "price", "user_id", "user_session",
]  # fmt: skip
REES46_CRAFTED = [
    # case, row, expected reject_reason
    ("no_user", ["2019-10-01 00:20:00 UTC", "view", "1", "20530", "", "", "1.0",
                 "", "s-1"], "missing_customer_id"),
    ("user_id_20_digits", ["2019-10-01 00:20:01 UTC", "view", "2", "20530",
                           "kids.toys", "lego", "9.99",
                           "12345678901234567890", "s-2"], None),
    ("remove_from_cart", ["2019-10-01 00:20:02 UTC", "remove_from_cart", "2",
                          "20530", "kids.toys", "lego", "9.99",
                          "12345678901234567890", "s-2"], None),
    ("view_without_price", ["2019-10-01 00:20:03 UTC", "view", "3", "20531", "",
                            "", "", "12345678901234567890", "s-2"], None),
    ("purchase_without_price", ["2019-10-01 00:20:04 UTC", "purchase", "3",
                                "20531", "", "", "", "12345678901234567890",
                                "s-2"], "invalid_price"),
]  # fmt: skip


@pytest.fixture(scope="module")
def rees46(tmp_path_factory):
    """The real snippet, a crafted second file with one line copied from the
    first (an exact duplicate across files) and a header-only third file."""
    root = tmp_path_factory.mktemp("rees46")
    folder = root / "input"
    folder.mkdir()
    shutil.copy(REES46, folder / "2019-Oct-part1.csv")
    real = pd.read_csv(REES46, dtype=str, keep_default_na=False)
    crafted = [row for _, row, _ in REES46_CRAFTED] + [list(real.iloc[5])]
    pd.DataFrame(crafted, columns=REES46_HEADER).to_csv(
        folder / "2019-Oct-part2.csv", index=False
    )
    (folder / "2019-Oct-part3.csv").write_text(",".join(REES46_HEADER) + "\n")
    result = build_on(folder / "2019-Oct-part*.csv", "rees46", root / "build",
                      select=SELECT, env=CAUTIOUS)  # fmt: skip
    return result, real


def test_rees46_real_snippet_is_all_clean(rees46):
    result, real = rees46
    classified = result.query(
        "select * from intermediate.int_events_classified "
        "where source_file like '%part1.csv' order by source_row_number"
    )
    assert len(classified) == len(real) == 1000
    assert list(classified["source_row_number"]) == list(range(1, 1001))
    assert classified["reject_reason"].isna().all()
    assert list(classified["customer_id"]) == list(real["user_id"])
    assert list(classified["source_session_id"]) == list(real["user_session"])
    expected_at = pd.to_datetime(real["event_time"].str.replace(" UTC", ""))
    assert (classified["event_at"].values == expected_at.values).all()
    expected_category = real["category_code"].where(
        real["category_code"] != "", real["category_id"]
    )
    assert list(classified["category"]) == list(expected_category)
    assert (classified["quantity"] == 1).all()
    counts = classified["event_type"].value_counts().to_dict()
    assert counts == real["event_type"].value_counts().to_dict()


def test_rees46_crafted_rows(rees46):
    result, real = rees46
    crafted = result.query(
        "select * from intermediate.int_events_classified "
        "where source_file like '%part2.csv' order by source_row_number"
    )
    assert list(crafted["source_row_number"]) == list(
        range(1, len(REES46_CRAFTED) + 2)
    )
    for (case, _, reason), got in zip(REES46_CRAFTED, crafted.itertuples()):
        assert got.reject_reason == reason, case
    assert crafted.iloc[1]["customer_id"] == "12345678901234567890"
    assert crafted.iloc[2]["event_type"] == "remove_from_cart"
    assert pd.isna(crafted.iloc[3]["unit_price"])
    assert crafted.iloc[3]["category"] == "20531"
    # the copy of part 1's sixth line is the duplicate, not the original
    assert crafted.iloc[-1]["reject_reason"] == "duplicate_event"
    empty = result.query(
        "select count(*) from intermediate.int_events_classified "
        "where source_file like '%part3.csv'"
    )
    assert empty.iloc[0, 0] == 0


def test_rees46_clickstream_sessions_and_orders(rees46):
    result, real = rees46
    sessions = result.query(
        "select count(distinct session_id) as sessions, count(*) as events "
        "from intermediate.int_events_sessionized"
    )
    assert sessions.loc[0, "events"] == 1000 + 3
    assert 0 < sessions.loc[0, "sessions"] <= real["user_id"].nunique() + 1
    orders = result.query("select * from intermediate.int_order_lines")
    assert len(orders) == (real["event_type"] == "purchase").sum()
    assert orders["order_id"].str.startswith("session-").all()


# --------------------------------------------------------------------- otto


@pytest.fixture(scope="module")
def otto(tmp_path_factory):
    root = tmp_path_factory.mktemp("otto")
    raw = pd.read_csv(OTTO, dtype=str, keep_default_na=False)
    canonical = raw.rename(
        columns={
            "session": "customer_id",
            "aid": "product_id",
            "type": "event_type",
            "event_time": "event_at",
        }
    )
    canonical["session_id"] = canonical["customer_id"]
    path = root / "otto_canonical.csv"
    canonical.to_csv(path, index=False)
    return build_on(path, "canonical", root / "build", select=SELECT,
                    env=CAUTIOUS), raw


def test_otto_event_types_and_times(otto):
    result, raw = otto
    classified = result.query(
        "select *, cast(json_extract_string(raw_values, '$.ts_ms') as bigint) "
        f"as ts_ms from ({classified_with_raw_values('canonical')}) "
        "order by source_row_number"
    )
    assert len(classified) == len(raw) == 862
    mapping = {"clicks": "view", "carts": "cart", "orders": "purchase"}
    assert list(classified["event_type"]) == [mapping[t] for t in raw["type"]]
    # An outside check of the offset parsing: the epoch milliseconds column.
    expected = pd.to_datetime(classified["ts_ms"], unit="ms")
    assert (classified["event_at"].values == expected.values).all()
    assert list(classified["customer_id"]) == list(raw["session"])


def test_otto_orders_without_price_are_quarantined(otto):
    """OTTO has no prices: its orders are purchases with a missing price,
    which the contract quarantines as invalid_price."""
    result, raw = otto
    reasons = result.query(
        "select reject_reason, count(*) as n from marts.rejected_events group by 1"
    )
    assert reasons.set_index("reject_reason")["n"].to_dict() == {
        "invalid_price": (raw["type"] == "orders").sum()
    }
    events = result.query("select count(*) from marts.fct_events").iloc[0, 0]
    assert events == (raw["type"] != "orders").sum()
    sessionized = result.query(
        "select count(distinct sessionization_key) "
        "from intermediate.int_events_sessionized"
    ).iloc[0, 0]
    assert sessionized == raw["session"].nunique()
