"""Orders: fct_orders against an independent pandas implementation of the
order rules on the bundled sample, and two hand-worked cases whose answers
are written out below: Online Retail invoices (cancellation invoices,
non-merchandise lines, a guest order, orders tied on time) and a clickstream
(purchases without order ids grouped per session, returns that name their
order or their session).
"""

from __future__ import annotations

import pandas as pd
import pytest

from conftest import build_on, write_csv
from test_sessions import assert_same_rows, line_revenue, sessionize_reference

ORDERS_SELECT = "+fct_orders"
# Run only the data tests whose parents are all built, and no unit tests:
# those run in the full build (sample_build, make dbt-test), while these
# builds are about the marts on small inputs.
ISOLATED = {
    "DBT_INDIRECT_SELECTION": "cautious",
    "DBT_EXCLUDE_RESOURCE_TYPES": "unit_test",
}


def orders_reference(events: pd.DataFrame) -> pd.DataFrame:
    """fct_orders in pandas from fct_events: one row per order id."""
    lines = sessionize_reference(events)
    lines = lines[lines["event_type"].isin(["purchase", "return"])].copy()
    lines["order_id"] = lines["order_id"].fillna("session-" + lines["session_id"])
    lines["line_revenue"] = line_revenue(lines)
    lines["is_return"] = lines["event_type"] == "return"
    purchases = lines[~lines["is_return"]]
    returns = lines[lines["is_return"]]
    merchandise = purchases[purchases["is_merchandise"]]

    orders = pd.DataFrame(index=pd.Index(sorted(lines["order_id"].unique()), name="order_id"))
    orders["customer_id"] = lines.groupby("order_id")["customer_id"].min()
    orders["ordered_at"] = purchases.groupby("order_id")["event_at"].min().reindex(
        orders.index
    ).fillna(lines.groupby("order_id")["event_at"].min())
    orders["item_count"] = merchandise.groupby("order_id")["quantity"].sum()
    orders["distinct_product_count"] = merchandise.groupby("order_id")["product_id"].nunique()
    orders["returned_item_count"] = (
        returns[returns["is_merchandise"]].groupby("order_id")["quantity"].sum()
    )
    orders["gross_revenue"] = purchases.groupby("order_id")["line_revenue"].sum()
    orders["returned_revenue"] = returns.groupby("order_id")["line_revenue"].sum()
    counts = ["item_count", "distinct_product_count", "returned_item_count"]
    money = ["gross_revenue", "returned_revenue"]
    orders[counts + money] = orders[counts + money].fillna(0)
    orders["net_revenue"] = orders["gross_revenue"] - orders["returned_revenue"]
    orders["is_cancelled"] = ~orders.index.isin(purchases["order_id"])
    orders["is_counted_order"] = orders.index.isin(merchandise["order_id"])

    numbered = orders[orders["is_counted_order"] & orders["customer_id"].notna()]
    numbered = numbered.reset_index().sort_values(["customer_id", "ordered_at", "order_id"])
    numbered["customer_order_number"] = numbered.groupby("customer_id").cumcount() + 1
    orders["customer_order_number"] = numbered.set_index("order_id")["customer_order_number"]
    return orders.reset_index()


# --- on the bundled sample -----------------------------------------------------


@pytest.fixture(scope="module")
def sample_orders(sample_build) -> pd.DataFrame:
    return sample_build.table("marts.fct_orders")


@pytest.fixture(scope="module")
def sample_events(sample_build) -> pd.DataFrame:
    return sample_build.table("marts.fct_events")


def test_fct_orders_match_pandas_on_sample(sample_orders, sample_events):
    expected = orders_reference(sample_events)
    assert set(sample_orders.columns) == set(expected.columns)
    assert_same_rows(sample_orders, expected, key=["order_id"])


def test_returns_are_subtracted_exactly_once_on_sample(sample_orders, sample_events):
    merchandise = sample_events[sample_events["is_merchandise"]]
    money = merchandise["unit_price"] * merchandise["quantity"]
    purchased = money[merchandise["event_type"] == "purchase"].sum()
    returned = money[merchandise["event_type"] == "return"].sum()
    assert sample_orders["net_revenue"].sum() == pytest.approx(purchased - returned, rel=1e-12)
    assert sample_orders["returned_revenue"].sum() == pytest.approx(returned, rel=1e-12)


def test_cancellations_are_never_counted_as_orders_on_sample(sample_orders, sample_events):
    cancellation_ids = set(
        sample_events.loc[sample_events["order_id"].str.startswith("C"), "order_id"]
    )
    cancellations = sample_orders[sample_orders["order_id"].isin(cancellation_ids)]
    assert len(cancellations) == len(cancellation_ids) > 100
    assert cancellations["is_cancelled"].all()
    assert not cancellations["is_counted_order"].any()
    assert cancellations["customer_order_number"].isna().all()
    assert (cancellations["gross_revenue"] == 0).all()
    counted = sample_orders[sample_orders["is_counted_order"]]
    assert not counted["order_id"].isin(cancellation_ids).any()
    # guest orders are kept, without a customer and without an order number
    guests = counted[counted["customer_id"].isna()]
    assert len(guests) > 0
    assert guests["customer_order_number"].isna().all()


# --- hand-worked Online Retail invoices -----------------------------------------

RETAIL_HEADER = [
    "InvoiceNo",
    "StockCode",
    "Description",
    "Quantity",
    "InvoiceDate",
    "UnitPrice",
    "CustomerID",
    "Country",
]
RETAIL_ROWS = [
    ["1001", "85123A", "MUG", 3, "2011-01-05 10:00:00", 2.0, "17850", "United Kingdom"],
    ["1001", "22423", "LAMP", 1, "2011-01-05 10:00:00", 10.0, "17850", "United Kingdom"],
    ["1001", "POST", "POSTAGE", 1, "2011-01-05 10:00:00", 5.0, "17850", "United Kingdom"],
    # cancels one mug of 1001
    ["C1001", "85123A", "MUG", -1, "2011-01-06 09:00:00", 2.0, "17850", "United Kingdom"],
    # two orders at the same minute: numbered by order id
    ["1003", "22423", "LAMP", 2, "2011-02-01 12:00:00", 10.0, "17850", "United Kingdom"],
    ["1002", "85123A", "MUG", 1, "2011-02-01 12:00:00", 2.0, "17850", "United Kingdom"],
    # a guest order
    ["1004", "85123A", "MUG", 5, "2011-02-02 08:00:00", 2.0, None, "France"],
    ["1004", "22423", "LAMP", 1, "2011-02-02 08:00:00", 10.0, None, "France"],
    # postage only: not an order
    ["1005", "POST", "POSTAGE", 1, "2011-02-03 08:00:00", 15.0, "12345", "Spain"],
    # cancels an order from before the data
    ["C2000", "22423", "LAMP", -1, "2010-12-15 08:00:00", 10.0, "12345", "Spain"],
    ["1006", "85123A", "MUG", 2, "2011-03-01 08:00:00", 2.0, "12345", "Spain"],
]
ORDER_COLUMNS = [
    "order_id",
    "customer_id",
    "ordered_at",
    "item_count",
    "distinct_product_count",
    "returned_item_count",
    "gross_revenue",
    "returned_revenue",
    "net_revenue",
    "is_cancelled",
    "is_counted_order",
    "customer_order_number",
]
NA = None
RETAIL_EXPECTED = [
    ["1001", "17850", "2011-01-05 10:00", 4, 2, 0, 16.0, 0.0, 16.0, False, True, 1],
    ["1002", "17850", "2011-02-01 12:00", 1, 1, 0, 2.0, 0.0, 2.0, False, True, 2],
    ["1003", "17850", "2011-02-01 12:00", 2, 1, 0, 20.0, 0.0, 20.0, False, True, 3],
    ["1004", NA, "2011-02-02 08:00", 6, 2, 0, 20.0, 0.0, 20.0, False, True, NA],
    ["1005", "12345", "2011-02-03 08:00", 0, 0, 0, 0.0, 0.0, 0.0, False, False, NA],
    ["1006", "12345", "2011-03-01 08:00", 2, 1, 0, 4.0, 0.0, 4.0, False, True, 1],
    ["C1001", "17850", "2011-01-06 09:00", 0, 0, 1, 0.0, 2.0, -2.0, True, False, NA],
    ["C2000", "12345", "2010-12-15 08:00", 0, 0, 1, 0.0, 10.0, -10.0, True, False, NA],
]


def expected_frame(rows: list[list[object]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=ORDER_COLUMNS)
    frame["ordered_at"] = pd.to_datetime(frame["ordered_at"])
    frame["customer_order_number"] = frame["customer_order_number"].astype("float64")
    return frame


@pytest.fixture(scope="module")
def retail_build(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("orders_retail")
    path = write_csv(workdir / "invoices.csv", RETAIL_HEADER, RETAIL_ROWS)
    return build_on(path, "online_retail", workdir, select=ORDERS_SELECT, env=ISOLATED)


def test_retail_hand_case(retail_build):
    actual = retail_build.table("marts.fct_orders")
    assert_same_rows(actual, expected_frame(RETAIL_EXPECTED), key=["order_id"])


def test_retail_hand_case_matches_pandas(retail_build):
    actual = retail_build.table("marts.fct_orders")
    expected = orders_reference(retail_build.table("marts.fct_events"))
    assert_same_rows(actual, expected, key=["order_id"])


# --- hand-worked clickstream orders ------------------------------------------------

CLICK_HEADER = [
    "event_at",
    "event_type",
    "customer_id",
    "product_id",
    "price",
    "quantity",
    "order_id",
    "is_merchandise",
]
CLICK_ROWS = [
    # one session, two purchases without an order id: one order; a return
    # without an order id in the same session is subtracted from it
    ["2024-05-01 10:00:00", "view", "u1", "P1", 5.0, None, None, None],
    ["2024-05-01 10:05:00", "purchase", "u1", "P1", 5.0, 1, None, None],
    ["2024-05-01 10:06:00", "purchase", "u1", "P2", 2.0, 3, None, None],
    ["2024-05-01 10:07:00", "return", "u1", "P2", 2.0, 1, None, None],
    # an order with an id, fully refunded a week later by a return naming it
    ["2024-05-02 09:00:00", "purchase", "u1", "P1", 5.0, 1, "O-77", None],
    ["2024-05-09 09:00:00", "return", "u1", "P1", 5.0, 1, "O-77", None],
    # a refund of an order outside the data, and a fee-only order
    ["2024-05-03 09:00:00", "return", "u2", "P3", 8.0, 2, "O-99", None],
    ["2024-05-04 09:00:00", "purchase", "u2", "FEE", 1.5, 1, "O-100", "false"],
]


@pytest.fixture(scope="module")
def click_build(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("orders_click")
    path = write_csv(workdir / "events.csv", CLICK_HEADER, CLICK_ROWS)
    return build_on(path, "canonical", workdir, select=ORDERS_SELECT, env=ISOLATED)


def test_clickstream_hand_case(click_build):
    actual = click_build.table("marts.fct_orders")
    session_order = actual.loc[actual["order_id"].str.startswith("session-"), "order_id"]
    assert len(session_order) == 1
    session_id = click_build.query(
        """
        select distinct session_id from intermediate.int_events_sessionized
        where customer_id = 'u1' and event_at < '2024-05-02'
        """
    )["session_id"]
    assert session_order.iloc[0] == "session-" + session_id.iloc[0]
    expected = expected_frame(
        [
            [session_order.iloc[0], "u1", "2024-05-01 10:05", 4, 2, 1, 11.0, 2.0, 9.0, False, True, 1],
            ["O-77", "u1", "2024-05-02 09:00", 1, 1, 1, 5.0, 5.0, 0.0, False, True, 2],
            ["O-99", "u2", "2024-05-03 09:00", 0, 0, 2, 0.0, 16.0, -16.0, True, False, NA],
            ["O-100", "u2", "2024-05-04 09:00", 0, 0, 0, 0.0, 0.0, 0.0, False, False, NA],
        ]
    )
    assert_same_rows(actual, expected, key=["order_id"])


def test_clickstream_hand_case_matches_pandas(click_build):
    actual = click_build.table("marts.fct_orders")
    expected = orders_reference(click_build.table("marts.fct_events"))
    assert_same_rows(actual, expected, key=["order_id"])
