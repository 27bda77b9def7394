"""rpt_funnel_daily, dim_products, rpt_cohort_retention and dim_customers
against independent pandas implementations (on the bundled Online Retail
sample and on the REES46 clickstream fixture), on a hand-worked clickstream
whose answers are written out below (ties, a cancellation before the first
order, cart abandonment, a quiet cohort month), and on an input with no
orders at all (empty marts must build and pass their tests).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import FIXTURES, build_on, write_csv
from test_orders import orders_reference
from test_sessions import (
    assert_same_rows,
    line_revenue,
    sessionize_reference,
    sessions_reference,
)

BEHAVIOUR_SELECT = "+path:models/marts/behaviour"
ISOLATED = {
    "DBT_INDIRECT_SELECTION": "cautious",
    "DBT_EXCLUDE_RESOURCE_TYPES": "unit_test",
}


def ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    """numerator / denominator, NaN where the denominator is 0."""
    return numerator / denominator.where(denominator != 0)


# --- reference implementations -------------------------------------------------


def funnel_reference(events: pd.DataFrame) -> pd.DataFrame:
    sessions = sessions_reference(events)
    step = sessions["funnel_step_reached"]
    days = sessions.assign(
        viewed=step >= 1, carted=step >= 2, purchased=step >= 3
    ).groupby("session_date")
    funnel = pd.DataFrame(
        {
            "session_count": days.size(),
            "viewed_session_count": days["viewed"].sum(),
            "carted_session_count": days["carted"].sum(),
            "purchased_session_count": days["purchased"].sum(),
        }
    )
    funnel["view_to_cart_rate"] = ratio(funnel["carted_session_count"], funnel["viewed_session_count"])
    funnel["cart_to_purchase_rate"] = ratio(
        funnel["purchased_session_count"], funnel["carted_session_count"]
    )
    funnel["view_to_purchase_rate"] = ratio(
        funnel["purchased_session_count"], funnel["viewed_session_count"]
    )
    return funnel.rename_axis("funnel_date").reset_index()


def latest_value(frame: pd.DataFrame, by: str, column: str) -> pd.Series:
    """The value of ``column`` on the newest row (event_at, then event_id)
    of each ``by`` group that has one."""
    known = frame[frame[column].notna()].sort_values(["event_at", "event_id"])
    return known.groupby(by)[column].last()


def products_reference(events: pd.DataFrame) -> pd.DataFrame:
    frame = sessionize_reference(events)
    frame = frame[frame["product_id"].notna()].copy()
    frame["line_revenue"] = line_revenue(frame)
    by_product = frame.groupby("product_id")
    products = pd.DataFrame(
        {
            "is_merchandise": by_product["is_merchandise"].any(),
            "first_seen_at": by_product["event_at"].min(),
            "last_seen_at": by_product["event_at"].max(),
        }
    )
    for column in ["product_name", "category", "brand"]:
        products[column] = latest_value(frame, "product_id", column).reindex(products.index)
    for event_type in ["view", "cart", "purchase", "return"]:
        typed = frame[frame["event_type"] == event_type]
        products[f"{event_type}_count"] = typed.groupby("product_id").size()
    purchases = frame[frame["event_type"] == "purchase"]
    returns = frame[frame["event_type"] == "return"]
    order_ids = purchases["order_id"].fillna("session-" + purchases["session_id"])
    products["order_count"] = order_ids.groupby(purchases["product_id"]).nunique()
    products["purchased_item_count"] = purchases.groupby("product_id")["quantity"].sum()
    products["returned_item_count"] = returns.groupby("product_id")["quantity"].sum()
    products["gross_revenue"] = purchases.groupby("product_id")["line_revenue"].sum()
    products["returned_revenue"] = returns.groupby("product_id")["line_revenue"].sum()

    pair = ["session_id", "product_id"]
    first_view = frame[frame["event_type"] == "view"].groupby(pair)["event_at"].min()
    carts = frame[frame["event_type"] == "cart"]
    first_cart = carts.groupby(pair)["event_at"].min()
    cart_after_view = carts.merge(first_view.rename("first_view_at").reset_index(), on=pair)
    cart_after_view = cart_after_view[cart_after_view["event_at"] >= cart_after_view["first_view_at"]]
    bought = purchases.merge(first_cart.rename("first_cart_at").reset_index(), on=pair)
    bought = bought[bought["event_at"] >= bought["first_cart_at"]]
    products["viewed_session_count"] = first_view.groupby("product_id").size()
    products["carted_session_count"] = first_cart.groupby("product_id").size()
    viewed_then_carted = cart_after_view.groupby("product_id")["session_id"].nunique()
    carted_then_bought = bought.groupby("product_id")["session_id"].nunique()

    counts = [column for column in products.columns if column.endswith("_count")]
    money = ["gross_revenue", "returned_revenue"]
    products[counts + money] = products[counts + money].fillna(0)
    products["net_revenue"] = products["gross_revenue"] - products["returned_revenue"]
    products["view_to_cart_rate"] = ratio(
        viewed_then_carted.reindex(products.index, fill_value=0), products["viewed_session_count"]
    )
    products["cart_to_purchase_rate"] = ratio(
        carted_then_bought.reindex(products.index, fill_value=0), products["carted_session_count"]
    )
    return products.rename_axis("product_id").reset_index()


def cohorts_reference(events: pd.DataFrame) -> pd.DataFrame:
    orders = orders_reference(events)
    orders["activity_month"] = orders["ordered_at"].dt.to_period("M").dt.to_timestamp()
    known = orders[orders["customer_id"].notna()]
    cohort_of = known[known["is_counted_order"]].groupby("customer_id")["activity_month"].min()
    sizes = cohort_of.value_counts()
    months = sorted(pd.to_datetime(orders["activity_month"].unique()))
    rows = []
    for cohort_month, size in sizes.items():
        members = known[known["customer_id"].map(cohort_of) == cohort_month]
        cumulative = 0.0
        for month in (m for m in months if m >= cohort_month):
            in_month = members[members["activity_month"] == month]
            counted = in_month[in_month["is_counted_order"]]
            net = float(in_month["net_revenue"].sum())
            cumulative += net
            rows.append(
                {
                    "cohort_month": cohort_month,
                    "months_since_first_order": (month.year - cohort_month.year) * 12
                    + month.month
                    - cohort_month.month,
                    "activity_month": month,
                    "cohort_size": size,
                    "active_customer_count": counted["customer_id"].nunique(),
                    "retention_rate": counted["customer_id"].nunique() / size,
                    "order_count": len(counted),
                    "net_revenue": net,
                    "cumulative_net_revenue": cumulative,
                }
            )
    return pd.DataFrame(rows, columns=COHORT_COLUMNS)


COHORT_COLUMNS = [
    "cohort_month",
    "months_since_first_order",
    "activity_month",
    "cohort_size",
    "active_customer_count",
    "retention_rate",
    "order_count",
    "net_revenue",
    "cumulative_net_revenue",
]


def top_by_events(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """Per customer, the value of ``column`` with the most events (ties: the
    alphabetically first) and its share of the events that have one."""
    counts = frame[frame[column].notna()].groupby(["customer_id", column]).size()
    counts = counts.rename("events").reset_index()
    counts["share"] = counts["events"] / counts.groupby("customer_id")["events"].transform("sum")
    counts = counts.sort_values(["customer_id", "events", column], ascending=[True, False, True])
    return counts.groupby("customer_id").first()[[column, "share"]]


def customers_reference(events: pd.DataFrame) -> pd.DataFrame:
    known = events[events["customer_id"].notna()]
    by_customer = known.groupby("customer_id")
    customers = pd.DataFrame(
        {
            "first_seen_at": by_customer["event_at"].min(),
            "last_seen_at": by_customer["event_at"].max(),
            "event_count": by_customer.size(),
            "distinct_categories": by_customer["category"].nunique(),
            "distinct_products": by_customer["product_id"].nunique(),
            "country": latest_value(known, "customer_id", "country"),
        }
    )
    for event_type in ["view", "cart", "remove_from_cart", "purchase", "return", "search"]:
        typed = known[known["event_type"] == event_type].groupby("customer_id").size()
        customers[f"{event_type}_count"] = typed.reindex(customers.index, fill_value=0)

    sessions = sessions_reference(events)
    sessions = sessions[sessions["customer_id"].notna()].groupby("customer_id")
    customers["session_count"] = sessions.size()
    customers["converted_session_count"] = sessions["is_converted"].sum()
    carted = sessions["cart_count"].apply(lambda counts: (counts > 0).sum())
    customers["conversion_rate"] = customers["converted_session_count"] / customers["session_count"]
    customers["cart_abandonment_rate"] = ratio(sessions["is_cart_abandoned"].sum(), carted)

    orders = orders_reference(events)
    orders = orders[orders["customer_id"].notna()]
    counted = orders[orders["is_counted_order"]].groupby("customer_id")
    customers["order_count"] = counted.size().reindex(customers.index, fill_value=0)
    customers["cancellation_count"] = (
        orders[orders["is_cancelled"]].groupby("customer_id").size()
    ).reindex(customers.index, fill_value=0)
    customers["first_order_at"] = counted["ordered_at"].min()
    customers["last_order_at"] = counted["ordered_at"].max()
    for column in ["gross_revenue", "returned_revenue", "net_revenue"]:
        total = orders.groupby("customer_id")[column].sum()
        customers[column] = total.reindex(customers.index, fill_value=0.0)
    customers["average_order_value"] = ratio(customers["net_revenue"], customers["order_count"])
    span_days = (customers["last_order_at"] - customers["first_order_at"]).dt.total_seconds() / 86400
    customers["average_days_between_orders"] = ratio(span_days, customers["order_count"] - 1)

    for column in ["category", "brand"]:
        top = top_by_events(known, column)
        customers[f"top_{column}"] = top[column]
        customers[f"top_{column}_share"] = top["share"]
    return customers.rename_axis("customer_id").reset_index()


# --- builds ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rees46_build(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("behaviour_rees46")
    return build_on(
        FIXTURES / "rees46_2019-Oct_first1000.csv",
        "rees46",
        workdir,
        select=BEHAVIOUR_SELECT,
        env=ISOLATED,
    )


@pytest.fixture(scope="module", params=["sample", "rees46"])
def real_build(request, sample_build, rees46_build):
    """The bundled Online Retail sample, then the REES46 clickstream."""
    return {"sample": sample_build, "rees46": rees46_build}[request.param]


def test_funnel_matches_pandas(real_build):
    events = real_build.table("marts.fct_events")
    actual = real_build.table("marts.rpt_funnel_daily")
    assert_same_rows(actual, funnel_reference(events), key=["funnel_date"])


def test_products_match_pandas(real_build):
    events = real_build.table("marts.fct_events")
    actual = real_build.table("marts.dim_products")
    expected = products_reference(events)
    assert set(actual.columns) == set(expected.columns)
    assert_same_rows(actual, expected, key=["product_id"])


def test_cohorts_match_pandas(real_build):
    events = real_build.table("marts.fct_events")
    actual = real_build.table("marts.rpt_cohort_retention")
    expected = cohorts_reference(events)
    assert_same_rows(actual, expected, key=["cohort_month", "months_since_first_order"])


def test_customers_match_pandas(real_build):
    events = real_build.table("marts.fct_events")
    actual = real_build.table("marts.dim_customers")
    expected = customers_reference(events)
    assert set(actual.columns) == set(expected.columns)
    assert_same_rows(actual, expected, key=["customer_id"])


def test_clickstream_marts_are_not_trivial_on_rees46(rees46_build):
    funnel = rees46_build.table("marts.rpt_funnel_daily")
    assert funnel["viewed_session_count"].sum() > 300
    assert funnel["carted_session_count"].sum() > 0
    assert funnel["purchased_session_count"].sum() > 0
    sessions = rees46_build.table("marts.fct_sessions")
    assert len(sessions) > 300
    assert (sessions["event_count"] > 1).sum() > 50
    assert sessions["source_session_id"].notna().all()
    customers = rees46_build.table("marts.dim_customers")
    assert customers["top_category"].notna().all()
    assert customers["top_brand"].notna().sum() > 200


def test_guests_are_left_out_of_customer_marts(sample_build):
    guests = sample_build.query(
        "select count(*) as n from marts.fct_orders where customer_id is null"
    )["n"].iloc[0]
    assert guests > 0
    nulls = sample_build.query(
        "select count(*) as n from marts.dim_customers where customer_id is null"
    )["n"].iloc[0]
    assert nulls == 0
    cohort_customers = sample_build.query(
        """
        select sum(cohort_size) as n
        from marts.rpt_cohort_retention where months_since_first_order = 0
        """
    )["n"].iloc[0]
    with_orders = sample_build.query(
        """
        select count(distinct customer_id) as n from marts.fct_orders
        where is_counted_order and customer_id is not null
        """
    )["n"].iloc[0]
    assert cohort_customers == with_orders


# --- hand-worked clickstream ------------------------------------------------------------

HAND_HEADER = [
    "event_at",
    "event_type",
    "customer_id",
    "product_id",
    "product_name",
    "category",
    "brand",
    "price",
    "quantity",
    "order_id",
    "country",
]
P1 = ["P1", "Mug", "kitchen", "acme", 10.0]
P1_RENAMED = ["P1", "Mug v2", "kitchen", "acme", 10.0]
P2 = ["P2", "Rake", "garden", "bolt", 4.0]
HAND_ROWS = [
    # ann: a full funnel in January, an abandoned cart in March, a second
    # order in March and a return of half of it five days later
    ["2024-01-10 10:00:00", "view", "ann", *P1, None, None, "NL"],
    ["2024-01-10 10:01:00", "cart", "ann", *P1, 1, None, "NL"],
    ["2024-01-10 10:02:00", "purchase", "ann", *P1, 1, "A1", "NL"],
    ["2024-01-10 10:03:00", "view", "ann", *P2, None, None, "NL"],
    ["2024-03-05 09:00:00", "view", "ann", *P2, None, None, "BE"],
    ["2024-03-05 09:01:00", "cart", "ann", *P2, 1, None, "BE"],
    ["2024-03-20 12:00:00", "purchase", "ann", *P2, 2, "A2", "BE"],
    ["2024-03-25 12:00:00", "return", "ann", *P2, 1, "A2", "BE"],
    # bob: one view in each category and brand -> alphabetical tie-break
    ["2024-02-01 08:00:00", "view", "bob", *P1, None, None, None],
    ["2024-02-01 08:01:00", "view", "bob", *P2, None, None, None],
    # cat: refund of an order from before the data, then a first order
    ["2024-01-05 08:00:00", "return", "cat", *P1, 1, "X0", "DE"],
    ["2024-02-15 08:00:00", "purchase", "cat", *P1_RENAMED, 1, "C1", "DE"],
]


@pytest.fixture(scope="module")
def hand_build(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("behaviour_hand")
    path = write_csv(workdir / "events.csv", HAND_HEADER, HAND_ROWS)
    return build_on(path, "canonical", workdir, select=BEHAVIOUR_SELECT, env=ISOLATED)


def test_hand_case_customers(hand_build):
    customers = hand_build.table("marts.dim_customers").set_index("customer_id")
    ann, bob, cat = customers.loc["ann"], customers.loc["bob"], customers.loc["cat"]

    assert ann["session_count"] == 4
    assert ann["conversion_rate"] == 0.5  # January and 20 March
    assert ann["cart_abandonment_rate"] == 0.5  # the March 5 cart
    assert ann["order_count"] == 2
    assert ann["net_revenue"] == pytest.approx(10 + 8 - 4)
    assert ann["average_order_value"] == pytest.approx(7.0)
    first, last = pd.Timestamp("2024-01-10 10:02"), pd.Timestamp("2024-03-20 12:00")
    assert ann["average_days_between_orders"] == pytest.approx(
        (last - first).total_seconds() / 86400
    )
    # kitchen: 3 events, garden: 5 events
    assert (ann["top_category"], ann["top_category_share"]) == ("garden", 5 / 8)
    assert (ann["top_brand"], ann["top_brand_share"]) == ("bolt", 5 / 8)
    assert (ann["distinct_categories"], ann["distinct_products"]) == (2, 2)
    assert ann["country"] == "BE"  # the most recent

    # one event each: the alphabetically first wins
    assert (bob["top_category"], bob["top_category_share"]) == ("garden", 0.5)
    assert (bob["top_brand"], bob["top_brand_share"]) == ("acme", 0.5)
    assert bob["order_count"] == 0 and bob["net_revenue"] == 0
    assert pd.isna(bob["average_order_value"]) and pd.isna(bob["first_order_at"])
    assert pd.isna(bob["cart_abandonment_rate"]) and pd.isna(bob["country"])

    assert (cat["order_count"], cat["cancellation_count"]) == (1, 1)
    assert cat["net_revenue"] == pytest.approx(0.0)  # 10 bought, 10 refunded
    assert cat["first_order_at"] == pd.Timestamp("2024-02-15 08:00")
    assert pd.isna(cat["average_days_between_orders"])


def test_hand_case_cohorts(hand_build):
    actual = hand_build.table("marts.rpt_cohort_retention")
    jan, feb, mar = (pd.Timestamp(f"2024-{m:02d}-01") for m in (1, 2, 3))
    expected = pd.DataFrame(
        [
            # ann's cohort: a quiet February shows as 0, not as a gap
            [jan, 0, jan, 1, 1, 1.0, 1, 10.0, 10.0],
            [jan, 1, feb, 1, 0, 0.0, 0, 0.0, 10.0],
            [jan, 2, mar, 1, 1, 1.0, 1, 4.0, 14.0],
            # cat's cohort: the January refund predates it and is left out
            [feb, 0, feb, 1, 1, 1.0, 1, 10.0, 10.0],
            [feb, 1, mar, 1, 0, 0.0, 0, 0.0, 10.0],
        ],
        columns=COHORT_COLUMNS,
    )
    assert_same_rows(actual, expected, key=["cohort_month", "months_since_first_order"])


def test_hand_case_funnel(hand_build):
    actual = hand_build.table("marts.rpt_funnel_daily", order_by="funnel_date")
    steps = actual[
        ["session_count", "viewed_session_count", "carted_session_count", "purchased_session_count"]
    ].values.tolist()
    assert actual["funnel_date"].dt.strftime("%m-%d").tolist() == [
        "01-05", "01-10", "02-01", "02-15", "03-05", "03-20", "03-25",
    ]
    assert steps == [
        [1, 0, 0, 0],
        [1, 1, 1, 1],
        [1, 1, 0, 0],
        [1, 0, 0, 0],
        [1, 1, 1, 0],
        [1, 0, 0, 0],
        [1, 0, 0, 0],
    ]
    assert actual["view_to_cart_rate"].tolist()[1:3] == [1.0, 0.0]
    assert pd.isna(actual["view_to_cart_rate"].iloc[0])  # no views that day


def test_hand_case_products(hand_build):
    products = hand_build.table("marts.dim_products").set_index("product_id")
    mug, rake = products.loc["P1"], products.loc["P2"]
    assert mug["product_name"] == "Mug v2"  # the most recent name
    assert mug["view_to_cart_rate"] == 0.5  # ann's January session, not bob's
    assert mug["cart_to_purchase_rate"] == 1.0
    assert (mug["gross_revenue"], mug["returned_revenue"], mug["net_revenue"]) == (20, 10, 10)
    assert mug["order_count"] == 2
    assert rake["view_to_cart_rate"] == pytest.approx(1 / 3)
    assert rake["cart_to_purchase_rate"] == 0.0  # bought in a later session
    assert (rake["purchased_item_count"], rake["returned_item_count"]) == (2, 1)


def test_latest_product_values_tie_on_time_go_to_the_larger_event_id(tmp_path_factory):
    """Two events of one product at the same second with different names,
    categories and brands: dim_products takes each from the event with
    the larger event_id, and a null brand never wins. A later event with
    a name only moves the name alone: each value comes from its own
    latest time."""
    workdir = tmp_path_factory.mktemp("behaviour_ties")
    rows = [
        ["2024-05-01 10:00:00", "view", "eve", "P9", "Lamp", "home", "lumo", 3.0,
         None, None, None],
        ["2024-05-01 10:00:00", "view", "eve", "P9", "Lamp XL", "lighting", None, 3.0,
         None, None, None],
        ["2024-04-01 10:00:00", "view", "eve", "P9", "Lamp", "home", "old brand", 3.0,
         None, None, None],
        ["2024-05-02 09:00:00", "view", "eve", "P9", "Lamp 2", None, None, 3.0,
         None, None, None],
    ]
    path = write_csv(workdir / "events.csv", HAND_HEADER, rows)
    built = build_on(path, "canonical", workdir, select=BEHAVIOUR_SELECT, env=ISOLATED)
    tied = built.query(
        "select event_id, product_name, category from marts.fct_events"
        " where event_at = timestamp '2024-05-01 10:00:00' order by event_id desc"
    )
    product = built.table("marts.dim_products").set_index("product_id").loc["P9"]
    assert tied["product_name"].iloc[0] in ("Lamp", "Lamp XL")
    assert product["product_name"] == "Lamp 2"  # the latest event with a name
    assert product["category"] == tied["category"].iloc[0]
    assert product["brand"] == "lumo"  # the latest event with a brand


def test_hand_case_matches_pandas(hand_build):
    events = hand_build.table("marts.fct_events")
    for table, reference, key in [
        ("rpt_funnel_daily", funnel_reference, ["funnel_date"]),
        ("dim_products", products_reference, ["product_id"]),
        ("rpt_cohort_retention", cohorts_reference, ["cohort_month", "months_since_first_order"]),
        ("dim_customers", customers_reference, ["customer_id"]),
    ]:
        assert_same_rows(hand_build.table(f"marts.{table}"), reference(events), key=key)


# --- no orders at all ------------------------------------------------------------------


@pytest.fixture(scope="module")
def views_only_build(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("behaviour_views_only")
    path = write_csv(
        workdir / "events.csv",
        ["event_at", "event_type", "customer_id", "product_id"],
        [["2024-06-01 10:00:00", "view", "zoe", "P1"], ["2024-06-01 10:05:00", "view", "zoe", "P2"]],
    )
    return build_on(path, "canonical", workdir, select=BEHAVIOUR_SELECT, env=ISOLATED)


def test_empty_results_build_and_pass_their_tests(views_only_build):
    assert views_only_build.table("marts.fct_orders").empty
    assert views_only_build.table("marts.rpt_cohort_retention").empty
    zoe = views_only_build.table("marts.dim_customers").iloc[0]
    assert zoe["order_count"] == 0 and zoe["net_revenue"] == 0
    assert zoe["conversion_rate"] == 0
    assert pd.isna(zoe["average_order_value"]) and pd.isna(zoe["cart_abandonment_rate"])
    assert pd.isna(zoe["top_category"]) and pd.isna(zoe["top_category_share"])
    funnel = views_only_build.table("marts.rpt_funnel_daily").iloc[0]
    assert (funnel["viewed_session_count"], funnel["view_to_cart_rate"]) == (1, 0.0)
    assert np.isnan(funnel["cart_to_purchase_rate"])
    products = views_only_build.table("marts.dim_products")
    assert (products["gross_revenue"] == 0).all() and (products["order_count"] == 0).all()
