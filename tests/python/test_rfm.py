"""RFM scores and segments (marts.customer_rfm).

Independent references: recency, frequency and monetary recomputed with
plain pandas from fct_events on the bundled sample, the scoring rule and
segment map re-implemented in pandas, and a hand-worked fixture (ties, two
distinct values, all values equal, an earlier as-of date, shuffled rows).
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import PROJECT_DIR, build_on, write_csv

SEGMENTS_SEED = PROJECT_DIR / "seeds" / "rfm_segments.csv"
SELECT = "+customer_rfm"
# Run only the data tests whose models are all built here.
CAUTIOUS = {"DBT_INDIRECT_SELECTION": "cautious"}


# --- the reference: plain pandas from fct_events ----------------------------


def rfm_from_events(events: pd.DataFrame) -> pd.DataFrame:
    """Recency, frequency and monetary per customer with a counted order.

    An order counts when it has a merchandise purchase line; monetary is
    merchandise purchases less merchandise returns, floored at 0; the as-of
    date is the day after the last event."""
    as_of = events["event_at"].max().normalize() + pd.Timedelta(days=1)
    lines = events[
        events["event_type"].isin(["purchase", "return"])
        & events["customer_id"].notna()
    ].copy()
    is_purchase = lines["event_type"] == "purchase"
    merchandise = lines["is_merchandise"].astype(bool)
    value = lines["unit_price"] * lines["quantity"]
    lines["net"] = np.where(merchandise, np.where(is_purchase, value, -value), 0.0)
    lines["counted_line"] = is_purchase & merchandise

    counted_orders = set(lines.loc[lines["counted_line"], "order_id"])
    counted = lines[lines["order_id"].isin(counted_orders) & is_purchase]
    # an order is placed at its first purchase line
    orders = counted.groupby(["customer_id", "order_id"])["event_at"].min()
    per_customer = orders.groupby("customer_id").agg(["max", "size"])
    per_customer.columns = ["last_ordered_at", "frequency"]
    per_customer["monetary"] = (
        lines.groupby("customer_id")["net"].sum().clip(lower=0)
    )
    per_customer["recency_days"] = (
        as_of - per_customer["last_ordered_at"].dt.normalize()
    ).dt.days
    return per_customer


def scores_from_values(values: pd.Series, higher_is_better: bool) -> pd.Series:
    """The documented rule: worse = customers strictly worse; score =
    1 + floor(5 * worse / worse of the best), capped at 5; all equal -> 3."""
    worse = (values if higher_is_better else -values).rank(method="min") - 1
    if worse.max() == 0:
        return pd.Series(3, index=values.index)
    return (1 + np.floor(5 * worse / worse.max())).clip(upper=5).astype(int)


def segment_of(recency: int, frequency: int, monetary: int) -> str:
    segments = pd.read_csv(SEGMENTS_SEED)
    match = segments[
        segments["recency_score_min"].le(recency)
        & segments["recency_score_max"].ge(recency)
        & segments["frequency_score_min"].le(frequency)
        & segments["frequency_score_max"].ge(frequency)
        & segments["monetary_score_min"].le(monetary)
        & segments["monetary_score_max"].ge(monetary)
    ]
    assert len(match) == 1, (recency, frequency, monetary)
    return match["rfm_segment"].iloc[0]


# --- the bundled sample -------------------------------------------------------


@pytest.fixture(scope="module")
def sample_rfm(sample_build) -> pd.DataFrame:
    return sample_build.table("marts.customer_rfm").set_index("customer_id")


def test_sample_raw_values_match_pandas(sample_build, sample_rfm):
    reference = rfm_from_events(sample_build.table("marts.fct_events"))
    assert sorted(sample_rfm.index) == sorted(reference.index)
    reference = reference.loc[sample_rfm.index]
    assert (sample_rfm["recency_days"] == reference["recency_days"]).all()
    assert (sample_rfm["frequency"] == reference["frequency"]).all()
    assert (sample_rfm["last_ordered_at"] == reference["last_ordered_at"]).all()
    np.testing.assert_allclose(
        sample_rfm["monetary"], reference["monetary"], rtol=0, atol=1e-6
    )
    # the sample exercises the floor at 0 and guests are left out
    assert (sample_rfm["monetary"] == 0).any()
    assert sample_rfm.index.notna().all()


def test_sample_scores_and_segments_follow_the_rule(sample_rfm):
    for measure, higher_is_better in [
        ("recency_days", False), ("frequency", True), ("monetary", True)
    ]:
        score = measure.split("_")[0] + "_score"
        expected = scores_from_values(sample_rfm[measure], higher_is_better)
        assert (sample_rfm[score] == expected).all(), measure
        assert set(sample_rfm[score]) == {1, 2, 3, 4, 5}
    cells = (
        sample_rfm["recency_score"].astype(str)
        + sample_rfm["frequency_score"].astype(str)
        + sample_rfm["monetary_score"].astype(str)
    )
    assert (sample_rfm["rfm_cell"] == cells).all()
    segments = [
        segment_of(r, f, m)
        for r, f, m in zip(
            sample_rfm["recency_score"],
            sample_rfm["frequency_score"],
            sample_rfm["monetary_score"],
        )
    ]
    assert list(sample_rfm["rfm_segment"]) == segments


# --- a hand-worked fixture ------------------------------------------------------
#
# The last event is a view on 2024-03-31, so the as-of date is 2024-04-01.
#   C1  O1 03-31 30.30                       R 1   F 1  M 30.30
#   C2  O2 03-02 10.10, O3 03-31 20.20       R 1   F 2  M 30.30 (a tie with
#       C1 only when summed exactly: 10.1 + 20.2 != 30.3 in floating point)
#   C3  O4 03-11 2 x 5.00 (and a view)       R 21  F 1  M 10
#   C4  O5 03-01 100, O6 03-21 100, and a cancellation 03-22 of 100
#                                            R 11  F 2  M 100
#   C5  O8 03-01 5.00 + postage 3.00         R 31  F 1  M 5
#   C6  only a cancellation                  (not a customer with orders)
#   C7  O10 03-16 20, a cancellation 03-17 of 100
#                                            R 16  F 1  M 0 (floored)
#   C8  only a postage order                 (not a counted order)
# Worse counts and scores (1 + floor(5 * worse / max worse), capped at 5):
#   recency   31:0 21:1 16:2 11:3 1:4 (max 4) -> C5 1, C3 2, C7 3, C4 4, C1 C2 5
#   frequency  1:0 2:4  (two values)          -> 1 and 5
#   monetary   0:0 5:1 10:2 30.3:3 100:5      -> C7 1, C5 2, C3 3, C1 C2 4, C4 5

HEADER = [
    "event_at", "event_type", "customer_id", "product_id", "price",
    "quantity", "order_id", "is_merchandise",
]
ROWS = [
    ["2024-03-31T09:00:00Z", "purchase", "C1", "P1", 30.3, 1, "O1", "true"],
    ["2024-03-31T12:00:00Z", "view", "C1", "P2", 20.2, "", "", "true"],
    ["2024-03-02T10:00:00Z", "purchase", "C2", "P1", 10.1, 1, "O2", "true"],
    ["2024-03-31T08:00:00Z", "purchase", "C2", "P2", 20.2, 1, "O3", "true"],
    ["2024-03-11T10:00:00Z", "purchase", "C3", "P1", 5.0, 2, "O4", "true"],
    ["2024-03-30T10:00:00Z", "view", "C3", "P1", 5.0, "", "", "true"],
    ["2024-03-01T10:00:00Z", "purchase", "C4", "P3", 100.0, 1, "O5", "true"],
    ["2024-03-21T10:00:00Z", "purchase", "C4", "P3", 100.0, 1, "O6", "true"],
    ["2024-03-22T10:00:00Z", "return", "C4", "P3", 100.0, 1, "X7", "true"],
    ["2024-03-01T11:00:00Z", "purchase", "C5", "P1", 5.0, 1, "O8", "true"],
    ["2024-03-01T11:00:00Z", "purchase", "C5", "POST", 3.0, 1, "O8", "false"],
    ["2024-03-15T10:00:00Z", "return", "C6", "P1", 5.0, 1, "X9", "true"],
    ["2024-03-16T10:00:00Z", "purchase", "C7", "P2", 20.0, 1, "O10", "true"],
    ["2024-03-17T10:00:00Z", "return", "C7", "P3", 100.0, 1, "X11", "true"],
    ["2024-03-20T10:00:00Z", "purchase", "C8", "POST", 3.0, 1, "O12", "false"],
]
COLUMNS = [
    "recency_days", "frequency", "monetary",
    "recency_score", "frequency_score", "monetary_score",
    "rfm_cell", "rfm_segment",
]
EXPECTED = pd.DataFrame(
    [
        ["C1", 1, 1, 30.3, 5, 1, 4, "514", "new"],
        ["C2", 1, 2, 30.3, 5, 5, 4, "554", "champions"],
        ["C3", 21, 1, 10.0, 2, 1, 3, "213", "hibernating"],
        ["C4", 11, 2, 100.0, 4, 5, 5, "455", "loyal"],
        ["C5", 31, 1, 5.0, 1, 1, 2, "112", "lost"],
        ["C7", 16, 1, 0.0, 3, 1, 1, "311", "about to sleep"],
    ],
    columns=["customer_id", *COLUMNS],
).set_index("customer_id")


def build_fixture(rows, workdir: Path, extra_vars: dict | None = None):
    workdir.mkdir(parents=True, exist_ok=True)
    path = write_csv(workdir / "events.csv", HEADER, rows)
    result = build_on(
        path, "canonical", workdir, select=SELECT, env=CAUTIOUS,
        extra_vars=extra_vars,
    )
    return result.table("marts.customer_rfm").set_index("customer_id")


@pytest.fixture(scope="module")
def fixture_rfm(tmp_path_factory) -> pd.DataFrame:
    return build_fixture(ROWS, tmp_path_factory.mktemp("rfm_fixture"))


def test_fixture_by_hand(fixture_rfm):
    assert (fixture_rfm["as_of_date"] == pd.Timestamp("2024-04-01")).all()
    pd.testing.assert_frame_equal(
        fixture_rfm[COLUMNS].sort_index(), EXPECTED, check_dtype=False
    )
    # exact tie, so equal scores
    assert fixture_rfm.loc["C1", "monetary"] == fixture_rfm.loc["C2", "monetary"]


def test_shuffled_rows_change_nothing(fixture_rfm, tmp_path):
    rows = list(ROWS)
    random.Random(7).shuffle(rows)
    assert rows != ROWS
    shuffled = build_fixture(rows, tmp_path)
    pd.testing.assert_frame_equal(shuffled.sort_index(), fixture_rfm.sort_index())


def test_earlier_as_of_date_and_all_equal_frequency(tmp_path):
    """As of 2024-03-12 only the orders before it count: C2 (10.10 on
    03-02), C3 (10.00 on 03-11), C4 (100 on 03-01), C5 (5 on 03-01); C4's
    later cancellation does not. Everyone has one order, so every
    frequency_score is the middle 3.
      recency  C4 C5 11:0, C2 10:2, C3 1:3 (max 3) -> 1, 1, 4, 5
      monetary C5 5:0, C3 10:1, C2 10.1:2, C4 100:3 -> 1, 2, 4, 5"""
    rfm = build_fixture(ROWS, tmp_path, {"as_of_date": "2024-03-12"})
    expected = pd.DataFrame(
        [
            ["C2", 10, 1, 10.1, 4, 3, 4, "434", "potential loyalist"],
            ["C3", 1, 1, 10.0, 5, 3, 2, "532", "potential loyalist"],
            ["C4", 11, 1, 100.0, 1, 3, 5, "135", "at risk"],
            ["C5", 11, 1, 5.0, 1, 3, 1, "131", "at risk"],
        ],
        columns=["customer_id", *COLUMNS],
    ).set_index("customer_id")
    assert (rfm["as_of_date"] == pd.Timestamp("2024-03-12")).all()
    pd.testing.assert_frame_equal(
        rfm[COLUMNS].sort_index(), expected, check_dtype=False
    )


def test_the_largest_accepted_order_is_summed(tmp_path):
    # price and quantity at 1e11 each (the cleaning accepts up to 1e12):
    # one order of 1e22 overflowed a numeric(28, 6) sum
    huge = ["2024-03-31T10:00:00Z", "purchase", "C9", "P1", 1e11, 10**11, "O13", "true"]
    rfm = build_fixture([*ROWS, huge], tmp_path)
    assert rfm.loc["C9", "monetary"] == 1e22
    assert rfm.loc["C9", "monetary_score"] == 5


def test_bad_as_of_date_is_named(tmp_path):
    path = write_csv(tmp_path / "events.csv", HEADER, ROWS)
    result = build_on(
        path, "canonical", tmp_path, command="parse", check=False,
        extra_vars={"as_of_date": "12/03/2024"},
    )
    assert result.returncode != 0
    assert "as_of_date" in result.output and "YYYY-MM-DD" in result.output
