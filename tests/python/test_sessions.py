"""Sessions: int_events_sessionized and fct_sessions against an independent
pandas implementation of the session rule, on the bundled Online Retail
sample and on a small hand-worked clickstream whose answers are written out
below (equal timestamps, a gap of exactly the timeout, out-of-order input
rows, a session across midnight, interleaved customers).

The reference functions here are plain pandas on fct_events; other test
modules import them (only the non-test names) to build their own
references.
"""

from __future__ import annotations

import hashlib

import duckdb
import numpy as np
import pandas as pd
import pytest

from conftest import build_on, run_dbt, write_csv

# Build only what the session marts need.
SESSIONS_SELECT = "+fct_sessions"
# Run only the data tests whose parents are all built, and no unit tests:
# those run in the full build (sample_build, make dbt-test), while these
# builds are about the marts on small inputs.
ISOLATED = {
    "DBT_INDIRECT_SELECTION": "cautious",
    "DBT_EXCLUDE_RESOURCE_TYPES": "unit_test",
}

EVENT_TYPES = ["view", "cart", "remove_from_cart", "purchase", "return", "search"]


# --- reference implementation ------------------------------------------------


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def sessionize_reference(events: pd.DataFrame, timeout_minutes: int = 30) -> pd.DataFrame:
    """The session rule in pandas: one row per event with sessionization_key,
    session_number and session_id, like int_events_sessionized."""
    frame = events.copy()
    guest_key = "guest|" + frame["order_id"].fillna(frame["event_id"])
    frame["sessionization_key"] = np.where(
        frame["customer_id"].notna(), "customer|" + frame["customer_id"], guest_key
    )
    frame = frame.sort_values(["sessionization_key", "event_at", "event_id"])
    gap = frame.groupby("sessionization_key")["event_at"].diff()
    starts = gap.isna() | (gap > pd.Timedelta(minutes=timeout_minutes))
    frame["session_number"] = starts.astype(int).groupby(frame["sessionization_key"]).cumsum()
    first_event = frame.groupby(["sessionization_key", "session_number"])["event_id"].transform(
        "first"
    )
    frame["session_id"] = [
        md5(f"{key}|{first}") for key, first in zip(frame["sessionization_key"], first_event)
    ]
    return frame.reset_index(drop=True)


def line_revenue(events: pd.DataFrame) -> pd.Series:
    """The revenue rule: unit_price x quantity for merchandise, else 0."""
    return (events["unit_price"] * events["quantity"]).where(events["is_merchandise"], 0.0)


def funnel_steps(sessionized: pd.DataFrame, by: list[str]) -> pd.Series:
    """0-3: view, then cart at or after the first view, then purchase at or
    after that cart, within each group of ``by``."""
    first_view = (
        sessionized[sessionized["event_type"] == "view"].groupby(by)["event_at"].min()
    ).rename("first_view_at")
    carts = sessionized[sessionized["event_type"] == "cart"].join(first_view, on=by)
    first_cart = (
        carts[carts["event_at"] >= carts["first_view_at"]].groupby(by)["event_at"].min()
    ).rename("first_cart_at")
    purchases = sessionized[sessionized["event_type"] == "purchase"].join(
        first_cart, on=by, how="inner"
    )
    purchased = purchases[purchases["event_at"] >= purchases["first_cart_at"]].groupby(by).size()
    groups = sessionized.groupby(by).size().index
    step = pd.Series(0, index=groups)
    step[step.index.isin(first_view.index)] = 1
    step[step.index.isin(first_cart.index)] = 2
    step[step.index.isin(purchased.index)] = 3
    return step


def sessions_reference(events: pd.DataFrame, timeout_minutes: int = 30) -> pd.DataFrame:
    """fct_sessions in pandas: one row per session."""
    frame = sessionize_reference(events, timeout_minutes)
    frame["line_revenue"] = line_revenue(frame)
    frame = frame.sort_values(["session_id", "event_at", "event_id"])
    grouped = frame.groupby("session_id")
    sessions = grouped.agg(
        customer_id=("customer_id", "first"),
        sessionization_key=("sessionization_key", "first"),
        session_number=("session_number", "first"),
        session_started_at=("event_at", "min"),
        session_ended_at=("event_at", "max"),
        event_count=("event_id", "size"),
    )
    for event_type in EVENT_TYPES:
        counts = frame[frame["event_type"] == event_type].groupby("session_id").size()
        sessions[f"{event_type}_count"] = counts.reindex(sessions.index, fill_value=0)
    views = frame[frame["event_type"] == "view"]
    sessions["viewed_product_count"] = (
        views.groupby("session_id")["product_id"].nunique().reindex(sessions.index, fill_value=0)
    )
    for event_type, column in [("purchase", "gross_revenue"), ("return", "returned_revenue")]:
        money = frame[frame["event_type"] == event_type].groupby("session_id")["line_revenue"].sum()
        sessions[column] = money.reindex(sessions.index, fill_value=0.0)
    sessions["net_revenue"] = sessions["gross_revenue"] - sessions["returned_revenue"]
    with_product = frame[frame["product_id"].notna()].groupby("session_id")["product_id"]
    sessions["entry_product_id"] = with_product.first().reindex(sessions.index)
    sessions["exit_product_id"] = with_product.last().reindex(sessions.index)
    with_source = frame[frame["source_session_id"].notna()].groupby("session_id")
    sessions["source_session_id"] = with_source["source_session_id"].first().reindex(
        sessions.index
    )
    sessions["session_date"] = sessions["session_started_at"].dt.normalize()
    sessions["duration_seconds"] = (
        sessions["session_ended_at"] - sessions["session_started_at"]
    ).dt.total_seconds()
    sessions["is_converted"] = sessions["purchase_count"] > 0
    sessions["is_cart_abandoned"] = (sessions["cart_count"] > 0) & (sessions["purchase_count"] == 0)
    sessions["funnel_step_reached"] = funnel_steps(frame, ["session_id"]).reindex(sessions.index)
    return sessions.reset_index()


# --- comparison helper -------------------------------------------------------


def normalize(frame: pd.DataFrame) -> pd.DataFrame:
    """Make DuckDB and pandas frames comparable: ns datetimes, numbers as
    float, missing text as None."""
    out = frame.copy()
    for column in out.columns:
        series = out[column]
        if pd.api.types.is_datetime64_any_dtype(series):
            out[column] = series.astype("datetime64[ns]")
        elif pd.api.types.is_bool_dtype(series):
            out[column] = series.astype(bool)
        elif pd.api.types.is_numeric_dtype(series):
            out[column] = series.astype("float64")
        else:
            out[column] = series.astype(object).where(series.notna(), None)
    return out


def assert_same_rows(actual: pd.DataFrame, expected: pd.DataFrame, key: list[str]) -> None:
    """Every column of ``expected`` equals ``actual`` row for row (matched on
    ``key``); floats to 1e-9 relative."""
    assert len(actual) == len(expected), (len(actual), len(expected))
    columns = list(expected.columns)
    left = normalize(actual[columns]).sort_values(key).reset_index(drop=True)
    right = normalize(expected[columns]).sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(left, right, check_exact=False, rtol=1e-9, atol=1e-9)


# --- on the bundled sample -----------------------------------------------------


@pytest.fixture(scope="module")
def sample_events(sample_build) -> pd.DataFrame:
    return sample_build.table("marts.fct_events")


def test_sessionized_events_match_pandas_on_sample(sample_build, sample_events):
    expected = sessionize_reference(sample_events)
    actual = sample_build.table("intermediate.int_events_sessionized")
    assert_same_rows(
        actual,
        expected[["event_id", "sessionization_key", "session_number", "session_id"]],
        key=["event_id"],
    )


def test_fct_sessions_match_pandas_on_sample(sample_build, sample_events):
    expected = sessions_reference(sample_events)
    actual = sample_build.table("marts.fct_sessions")
    assert set(actual.columns) == set(expected.columns)
    assert_same_rows(actual, expected, key=["session_id"])
    # Online Retail: every customer session and every guest invoice is
    # non-trivial input for the rule.
    assert len(actual) > 1000
    assert actual["customer_id"].isna().sum() > 0


def test_sessions_never_span_customers_on_sample(sample_build):
    shared = sample_build.query(
        """
        select session_id
        from intermediate.int_events_sessionized
        group by session_id
        having count(distinct coalesce(customer_id, '-')) > 1
            or count(distinct sessionization_key) > 1
        """
    )
    assert shared.empty


# --- hand-worked case ------------------------------------------------------------

HAND_HEADER = [
    "event_at",
    "event_type",
    "customer_id",
    "product_id",
    "price",
    "quantity",
    "session_id",
    "search_query",
]
# Deliberately out of time order. Customer 0042: two views at the same
# second, a cart exactly 30 minutes later (after midnight), a purchase at
# that same second, then a view 30 minutes and 1 second later (new
# session). Customer 7, interleaved with 0042: a search, a cart BEFORE the
# first view, a purchase, and a view 29:59 later. Customer 9: one cart.
HAND_ROWS = [
    ["2024-03-02T00:50:01Z", "view", "0042", "P3", 1.0, None, "w3", None],
    ["2024-03-01T23:56:00Z", "cart", "7", "P2", 3.0, 1, "v1", None],
    ["2024-03-01T23:50:00Z", "view", "0042", "P1", 4.5, None, "w1", None],
    ["2024-03-02T00:20:00Z", "purchase", "0042", "P1", 4.5, 2, "w2", None],
    ["2024-03-01T23:55:00Z", "search", "7", None, None, None, "v1", "mug"],
    ["2024-03-02T00:20:00Z", "cart", "0042", "P1", 4.5, 1, "w2", None],
    ["2024-03-01T23:57:00Z", "view", "7", "P2", 3.0, None, "v1", None],
    ["2024-03-01T23:50:00Z", "view", "0042", "P2", 3.0, None, "w1", None],
    ["2024-03-05T12:00:00Z", "cart", "9", "P1", 4.5, 1, None, None],
    ["2024-03-02T00:27:59Z", "view", "7", "P4", 2.0, None, "v2", None],
    ["2024-03-01T23:58:00Z", "purchase", "7", "P2", 3.0, 1, "v1", None],
]


@pytest.fixture(scope="module")
def hand_build(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("sessions_hand")
    path = write_csv(workdir / "events.csv", HAND_HEADER, HAND_ROWS)
    return build_on(path, "canonical", workdir, select=SESSIONS_SELECT, env=ISOLATED)


@pytest.fixture(scope="module")
def hand_sessions(hand_build) -> pd.DataFrame:
    return hand_build.table("marts.fct_sessions", order_by="customer_id, session_number")


def test_hand_case_session_boundaries(hand_sessions):
    shape = hand_sessions[["customer_id", "session_number", "event_count"]]
    assert shape.values.tolist() == [
        ["0042", 1, 4],  # ties, exactly-at-timeout gap, across midnight
        ["0042", 2, 1],  # 30 minutes and 1 second: a new session
        ["7", 1, 5],  # interleaved with 0042 but its own session; 29:59 gap
        ["9", 1, 1],
    ]


def test_hand_case_session_columns(hand_build, hand_sessions):
    first, second, seven, nine = (row for _, row in hand_sessions.iterrows())

    assert first["session_started_at"] == pd.Timestamp("2024-03-01 23:50:00")
    assert first["session_ended_at"] == pd.Timestamp("2024-03-02 00:20:00")
    assert first["session_date"] == pd.Timestamp("2024-03-01")  # start day
    assert first["duration_seconds"] == 1800
    assert (first["view_count"], first["cart_count"], first["purchase_count"]) == (2, 1, 1)
    assert first["viewed_product_count"] == 2
    assert first["gross_revenue"] == pytest.approx(9.0)  # 2 x 4.5
    assert first["net_revenue"] == pytest.approx(9.0)
    assert first["is_converted"] and not first["is_cart_abandoned"]
    # cart and purchase in the same second still complete the funnel
    assert first["funnel_step_reached"] == 3
    assert first["exit_product_id"] == "P1"
    assert first["source_session_id"] == "w1"

    # The two views at 23:50:00 are ordered by event_id: the smaller one is
    # the session's first event, gives the entry product and the id.
    ties = hand_build.query(
        """
        select event_id, product_id from marts.fct_events
        where customer_id = '0042' and event_at = '2024-03-01 23:50:00'
        order by event_id
        """
    )
    assert first["entry_product_id"] == ties["product_id"].iloc[0]
    assert first["session_id"] == md5(f"customer|0042|{ties['event_id'].iloc[0]}")

    assert second["duration_seconds"] == 0
    assert second["funnel_step_reached"] == 1
    assert second["entry_product_id"] == second["exit_product_id"] == "P3"

    # the search has no product: the entry product is the cart's
    assert (seven["entry_product_id"], seven["exit_product_id"]) == ("P2", "P4")
    assert seven["search_count"] == 1
    assert seven["session_ended_at"] == pd.Timestamp("2024-03-02 00:27:59")
    # the cart came before the first view, so the funnel stops at the view
    assert seven["funnel_step_reached"] == 1
    assert seven["is_converted"]
    assert seven["gross_revenue"] == pytest.approx(3.0)

    assert nine["is_cart_abandoned"] and not nine["is_converted"]
    assert nine["funnel_step_reached"] == 0
    assert pd.isna(nine["source_session_id"])


def test_hand_case_matches_pandas(hand_build, hand_sessions):
    events = hand_build.table("marts.fct_events")
    assert_same_rows(hand_sessions, sessions_reference(events), key=["session_id"])


def test_hand_case_timeout_var_is_honoured(tmp_path):
    """With session_timeout_minutes = 0 only events at the very same instant
    share a session (a gap equal to the timeout stays in the session)."""
    path = write_csv(tmp_path / "events.csv", HAND_HEADER, HAND_ROWS)
    result = build_on(
        path,
        "canonical",
        tmp_path,
        select="+int_events_sessionized",
        env=ISOLATED,
        extra_vars={"session_timeout_minutes": 0},
    )
    counts = result.query(
        """
        select customer_id, count(distinct session_id) as session_count
        from intermediate.int_events_sessionized
        group by 1 order by 1
        """
    ).values.tolist()
    # 0042: 23:50 (two views), 00:20 (cart and purchase), 00:50:01
    assert counts == [["0042", 3], ["7", 5], ["9", 1]]


# --- the macro behind viewed_product_count ---------------------------------------

# (group, value, event type): repeats, null values, rows the condition
# leaves out, a group whose only viewed value is null, a group with no view
COUNTED_ROWS = [
    ("a", "P1", "view"),
    ("a", "P1", "view"),
    ("a", "P2", "view"),
    ("a", None, "view"),
    ("a", "P3", "cart"),
    ("b", None, "view"),
    ("b", "P1", "cart"),
    ("c", "P9", "purchase"),
    ("d", "P4", "cart"),
    ("d", "P4", "view"),
]


def test_count_distinct_macro_matches_pandas(tmp_path):
    """behaviour_count_distinct, rendered by dbt as the models use it and run
    on DuckDB, against pandas' nunique, for two conditions."""
    values = ", ".join(
        "({})".format(", ".join("null" if v is None else f"'{v}'" for v in row))
        for row in COUNTED_ROWS
    )
    conditions = {"viewed": "t = 'view'", "carted_or_viewed": "t = 'cart' or t = 'view'"}
    counted = ", ".join(
        f"{{{{ behaviour_count_distinct('v', \"{condition}\") }}}} as {name}"
        for name, condition in conditions.items()
    )
    inline = f"select g, {counted} from (values {values}) as x(g, v, t) group by g"
    compiled = run_dbt(["compile", "--quiet", "--inline", inline], workdir=tmp_path)
    with duckdb.connect() as con:
        actual = con.sql(compiled.output).df().set_index("g").sort_index()

    frame = pd.DataFrame(COUNTED_ROWS, columns=["g", "v", "t"])
    expected = pd.DataFrame(index=sorted(frame["g"].unique()))
    expected["viewed"] = frame[frame["t"] == "view"].groupby("g")["v"].nunique()
    expected["carted_or_viewed"] = (
        frame[frame["t"].isin(["cart", "view"])].groupby("g")["v"].nunique()
    )
    expected = expected.fillna(0).astype("int64")
    expected.index.name = "g"
    pd.testing.assert_frame_equal(actual, expected)
    # by hand: a counts P1 and P2 (P3 is a cart), b and c count nothing
    assert actual["viewed"].tolist() == [2, 0, 0, 1]
