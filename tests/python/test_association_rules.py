"""Association rules (marts.association_rules, marts.association_rules_by_category).

Independent references: mlxtend's apriori + association_rules on the same
baskets, rebuilt here from fct_events with pandas, on the bundled sample
and on a hand-made fixture; and hand-worked counts and metrics for the
fixture's rules (thresholds exactly hit, confidence 1, single-item baskets,
a rule with two antecedent items, an empty result).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from mlxtend.frequent_patterns import apriori, association_rules

from conftest import PROJECT_DIR, build_on, write_csv

RULE_COLUMNS = [
    "antecedent_item_count",
    "antecedent_basket_count",
    "consequent_basket_count",
    "rule_basket_count",
    "total_baskets",
    "antecedent_support",
    "consequent_support",
    "support",
    "confidence",
    "lift",
    "leverage",
    "conviction",
    "zhangs_metric",
    "jaccard",
    "kulczynski",
]
# our column -> mlxtend's column
METRICS = {
    "antecedent_support": "antecedent support",
    "consequent_support": "consequent support",
    "support": "support",
    "confidence": "confidence",
    "lift": "lift",
    "leverage": "leverage",
    "conviction": "conviction",
    "zhangs_metric": "zhangs_metric",
    "jaccard": "jaccard",
    "kulczynski": "kulczynski",
}
SELECT = "+association_rules +association_rules_by_category"
# Run only the data tests whose models are all built here.
CAUTIOUS = {"DBT_INDIRECT_SELECTION": "cautious"}


def project_vars() -> dict:
    with open(PROJECT_DIR / "dbt_project.yml") as handle:
        return yaml.safe_load(handle)["vars"]


# --- the reference: baskets from fct_events, rules from mlxtend -------------


def baskets_from_events(events: pd.DataFrame, item_column: str) -> pd.DataFrame:
    """One row per (order, item): the distinct items of each order's
    merchandise purchase lines. Orders with no such item are no basket."""
    bought = events[
        (events["event_type"] == "purchase")
        & events["is_merchandise"]
        & events[item_column].notna()
    ]
    return (
        bought[["order_id", item_column]]
        .drop_duplicates()
        .rename(columns={item_column: "item"})
    )


def antecedent_key(items) -> str:
    """The mart's key of an antecedent: sorted items joined by "|", with
    "%" and "|" inside an item written "%25" and "%7C"."""
    return "|".join(
        item.replace("%", "%25").replace("|", "%7C") for item in sorted(items)
    )


def mlxtend_rules(
    baskets: pd.DataFrame, min_support: float, min_confidence: float, max_len: int
) -> tuple[pd.DataFrame, int]:
    """mlxtend's rules with one consequent, keyed like the mart, and the
    number of baskets."""
    one_hot = pd.crosstab(baskets["order_id"], baskets["item"]).astype(bool)
    basket_count = len(one_hot)
    itemsets = apriori(
        one_hot, min_support=min_support, use_colnames=True, max_len=max_len
    )
    if itemsets.empty:
        return pd.DataFrame(columns=["antecedent_key", "consequent"]), basket_count
    # mlxtend divides by zero for rules whose consequent is in every basket
    # (its certainty, computed inside np.where), and numpy warns; the
    # comparison below handles such cells itself (assert_same_as_mlxtend).
    with np.errstate(divide="ignore", invalid="ignore"):
        rules = association_rules(
            itemsets,
            num_itemsets=basket_count,
            metric="confidence",
            min_threshold=min_confidence,
        )
    rules = rules[rules["consequents"].map(len) == 1].copy()
    rules["antecedent_key"] = rules["antecedents"].map(antecedent_key)
    rules["consequent"] = rules["consequents"].map(lambda items: next(iter(items)))
    return rules.reset_index(drop=True), basket_count


def assert_same_as_mlxtend(
    mart: pd.DataFrame, consequent_column: str, reference: pd.DataFrame, n: int
) -> None:
    """Same rule set; every metric within 1e-9; our nulls exactly where the
    formula divides by zero (mlxtend writes inf or 0 there)."""
    ours = mart.set_index(["antecedent_key", consequent_column]).sort_index()
    theirs = reference.set_index(["antecedent_key", "consequent"]).sort_index()
    assert list(ours.index) == list(theirs.index)
    assert (ours["total_baskets"] == n).all()
    for column, their_column in METRICS.items():
        our_values = ours[column].astype(float).to_numpy()
        their_values = theirs[their_column].astype(float).to_numpy()
        if column == "conviction":
            # mlxtend: inf when confidence is 1; ours: null
            assert np.array_equal(
                np.isnan(our_values), theirs["confidence"].to_numpy() == 1.0
            )
            their_values = np.where(np.isinf(their_values), np.nan, their_values)
        if column == "zhangs_metric":
            # mlxtend: 0 when the antecedent is in every basket; ours: null
            in_every_basket = ours["antecedent_basket_count"].to_numpy() == n
            assert np.array_equal(np.isnan(our_values), in_every_basket)
            their_values = np.where(in_every_basket, np.nan, their_values)
        np.testing.assert_allclose(
            our_values, their_values, rtol=0, atol=1e-9, equal_nan=True,
            err_msg=column,
        )
    # the counts are the supports times the number of baskets
    for count, support in [
        ("antecedent_basket_count", "antecedent support"),
        ("consequent_basket_count", "consequent support"),
        ("rule_basket_count", "support"),
    ]:
        assert (ours[count] == (theirs[support] * n).round().astype(int)).all()


def assert_antecedent_lists(mart: pd.DataFrame, list_column: str) -> None:
    for items, key, size in zip(
        mart[list_column], mart["antecedent_key"], mart["antecedent_item_count"]
    ):
        assert list(items) == sorted(items)
        assert antecedent_key(items) == key
        assert len(items) == size


# --- the bundled sample -------------------------------------------------------


@pytest.fixture(scope="module")
def sample_events(sample_build) -> pd.DataFrame:
    return sample_build.table("marts.fct_events")


def test_sample_rules_match_mlxtend(sample_build, sample_events):
    settings = project_vars()
    reference, n = mlxtend_rules(
        baskets_from_events(sample_events, "product_id"),
        settings["association_min_support"],
        settings["association_min_confidence"],
        settings["association_max_itemset_size"],
    )
    mart = sample_build.table("marts.association_rules")

    assert_same_as_mlxtend(mart, "consequent_product_id", reference, n)
    assert_antecedent_lists(mart, "antecedent_product_ids")
    # the defaults give a reviewable rule set that exercises every branch
    assert 100 <= len(mart) <= 500
    assert (mart["antecedent_item_count"] == 2).any()
    assert mart["conviction"].isna().any()
    # single-item baskets are part of the total
    basket_sizes = baskets_from_events(sample_events, "product_id").groupby(
        "order_id"
    ).size()
    assert (basket_sizes == 1).sum() > 0
    assert mart["total_baskets"].iloc[0] == len(basket_sizes)


def test_sample_has_no_category_rules(sample_build):
    """Online Retail has no categories: an empty table with all columns."""
    mart = sample_build.table("marts.association_rules_by_category")
    assert mart.empty
    assert list(mart.columns) == [
        "antecedent_key",
        "consequent_category",
        "antecedent_categories",
        *RULE_COLUMNS,
    ]


# --- a hand-made fixture ------------------------------------------------------
#
# Products A, B (kitchen), C (garden), D (toys), E (no category), F (books).
# Baskets (orders with a merchandise purchase):
#   O1 A B C   O2 A B C   O3 A B (B later returned: stays in the basket)
#   O4 A D     O5 D       O6 E     O7 F     O8 A D     O9 D
#   O10 A (two purchase lines of A: counts once)
# Not baskets: C11 (a cancellation returning A and B), O12 (postage only).
# So 10 baskets, 5 of them with a single item. Counts: A 6, B 3, C 2, D 4,
# E 1, F 1; AB 3, AC 2, BC 2, AD 2; ABC 2.
#
# With min_support 0.2 (2 baskets) and min_confidence 0.5:
#   frequent: A, B, C, D; AB, AC, BC, AD (exactly 2); ABC (exactly 2).
#   A->B 3/6 = 0.5 (exactly), B->A 3/3, C->A 2/2, B->C 2/3, C->B 2/2,
#   D->A 2/4 = 0.5 (exactly), AB->C 2/3, AC->B 2/2, BC->A 2/2.
#   Out: A->C 2/6, A->D 2/6 (confidence); E, F (support 1 basket).
# Categories (9 baskets: O6 has no categorised item): kitchen 6, garden 2,
# toys 4, books 1; kitchen+garden 2, kitchen+toys 2:
#   garden->kitchen 2/2, toys->kitchen 2/4 = 0.5.

HEADER = [
    "event_at", "event_type", "customer_id", "product_id", "category",
    "price", "quantity", "order_id", "is_merchandise",
]
CATEGORY = {"A": "kitchen", "B": "kitchen", "C": "garden", "D": "toys",
            "E": "", "F": "books", "POST": ""}
BASKETS = {
    "O1": ["A", "B", "C"], "O2": ["A", "B", "C"], "O3": ["A", "B"],
    "O4": ["A", "D"], "O5": ["D"], "O6": ["E"], "O7": ["F"],
    "O8": ["A", "D"], "O9": ["D"], "O10": ["A", "A"],
}


def fixture_rows() -> list[list[object]]:
    rows = []

    def line(day, minute, event_type, customer, product, order, merch=True):
        rows.append([
            f"2024-05-{day:02d}T10:{minute:02d}:00Z", event_type, customer,
            product, CATEGORY[product], 2.5, 1, order, str(merch).lower(),
        ])

    for number, (order, products) in enumerate(BASKETS.items(), start=1):
        for minute, product in enumerate(products):
            line(number, minute, "purchase", f"K{number}", product, order)
    line(3, 30, "return", "K3", "B", "O3")
    line(11, 0, "return", "K11", "A", "C11")
    line(11, 1, "return", "K11", "B", "C11")
    line(12, 0, "purchase", "K12", "POST", "O12", merch=False)
    return rows


@pytest.fixture(scope="module")
def fixture_path(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("rules_fixture")
    return write_csv(folder / "events.csv", HEADER, fixture_rows())


@pytest.fixture(scope="module")
def fixture_build(fixture_path, tmp_path_factory):
    return build_on(
        fixture_path, "canonical", tmp_path_factory.mktemp("rules_build"),
        select=SELECT, env=CAUTIOUS,
        extra_vars={
            "association_min_support": 0.2,
            "association_min_confidence": 0.5,
            "association_max_itemset_size": 3,
        },
    )


def rules_by_key(mart: pd.DataFrame, consequent_column: str) -> dict:
    return {
        (row["antecedent_key"], row[consequent_column]): row
        for _, row in mart.iterrows()
    }


def test_fixture_rules_by_hand(fixture_build):
    mart = fixture_build.table("marts.association_rules")
    rules = rules_by_key(mart, "consequent_product_id")
    assert set(rules) == {
        ("A", "B"), ("B", "A"), ("C", "A"), ("B", "C"), ("C", "B"),
        ("D", "A"), ("A|B", "C"), ("A|C", "B"), ("B|C", "A"),
    }
    assert (mart["total_baskets"] == 10).all()
    assert_antecedent_lists(mart, "antecedent_product_ids")

    # thresholds met exactly are kept
    assert rules[("A", "B")]["confidence"] == 0.5
    assert rules[("D", "A")]["support"] == 0.2
    assert rules[("A|B", "C")]["support"] == 0.2

    # B -> A: A 6, B 3, AB 3 of 10; confidence 1, so conviction is null
    rule = rules[("B", "A")]
    assert (rule["antecedent_basket_count"], rule["consequent_basket_count"],
            rule["rule_basket_count"]) == (3, 6, 3)
    assert rule["confidence"] == 1.0 and math.isnan(rule["conviction"])
    assert rule["lift"] == pytest.approx(1 / 0.6, abs=1e-12)
    assert rule["leverage"] == pytest.approx(0.3 - 0.3 * 0.6, abs=1e-12)
    assert rule["zhangs_metric"] == pytest.approx(0.12 / 0.21, abs=1e-12)
    assert rule["jaccard"] == pytest.approx(3 / 6, abs=1e-12)
    assert rule["kulczynski"] == pytest.approx((1 + 3 / 6) / 2, abs=1e-12)

    # D -> A: D 4, A 6, AD 2 of 10; a negative association
    rule = rules[("D", "A")]
    assert rule["lift"] == pytest.approx(0.5 / 0.6, abs=1e-12)
    assert rule["leverage"] == pytest.approx(0.2 - 0.4 * 0.6, abs=1e-12)
    assert rule["conviction"] == pytest.approx(0.4 / 0.5, abs=1e-12)
    assert rule["zhangs_metric"] == pytest.approx(-0.04 / 0.16, abs=1e-12)
    assert rule["jaccard"] == pytest.approx(2 / 8, abs=1e-12)
    assert rule["kulczynski"] == pytest.approx((2 / 4 + 2 / 6) / 2, abs=1e-12)

    # {A, B} -> C, from the 3-itemset ABC: AB 3, C 2, ABC 2 of 10
    rule = rules[("A|B", "C")]
    assert list(rule["antecedent_product_ids"]) == ["A", "B"]
    assert rule["antecedent_item_count"] == 2
    assert (rule["antecedent_basket_count"], rule["consequent_basket_count"],
            rule["rule_basket_count"]) == (3, 2, 2)
    assert rule["confidence"] == pytest.approx(2 / 3, abs=1e-12)
    assert rule["lift"] == pytest.approx((2 / 3) / 0.2, abs=1e-12)
    assert rule["leverage"] == pytest.approx(0.2 - 0.3 * 0.2, abs=1e-12)
    assert rule["conviction"] == pytest.approx(0.8 / (1 / 3), abs=1e-12)
    assert rule["zhangs_metric"] == pytest.approx(1.0, abs=1e-12)
    assert rule["jaccard"] == pytest.approx(2 / 3, abs=1e-12)
    assert rule["kulczynski"] == pytest.approx((2 / 3 + 1) / 2, abs=1e-12)


def test_fixture_category_rules_by_hand(fixture_build):
    mart = fixture_build.table("marts.association_rules_by_category")
    rules = rules_by_key(mart, "consequent_category")
    assert set(rules) == {("garden", "kitchen"), ("toys", "kitchen")}
    assert (mart["total_baskets"] == 9).all()
    assert rules[("toys", "kitchen")]["confidence"] == 0.5
    assert math.isnan(rules[("garden", "kitchen")]["conviction"])
    assert_antecedent_lists(mart, "antecedent_categories")


@pytest.mark.parametrize(
    ("mart_name", "item_column", "consequent_column"),
    [
        ("association_rules", "product_id", "consequent_product_id"),
        ("association_rules_by_category", "category", "consequent_category"),
    ],
)
def test_fixture_rules_match_mlxtend(
    fixture_build, mart_name, item_column, consequent_column
):
    events = fixture_build.table("marts.fct_events")
    reference, n = mlxtend_rules(
        baskets_from_events(events, item_column), 0.2, 0.5, 3
    )
    mart = fixture_build.table(f"marts.{mart_name}")
    assert_same_as_mlxtend(mart, consequent_column, reference, n)


def test_stricter_thresholds_and_pairs_only(fixture_path, tmp_path):
    """min_support 0.3 with itemsets of at most 2 items: the pair AB, in
    exactly 3 of 10 baskets, passes; no rule has two antecedent items. At
    category level (9 baskets, 3 needed) kitchen + toys is in only 2, so
    nothing passes and the table is empty with all its columns."""
    result = build_on(
        fixture_path, "canonical", tmp_path, select=SELECT, env=CAUTIOUS,
        extra_vars={
            "association_min_support": 0.3,
            "association_min_confidence": 0.5,
            "association_max_itemset_size": 2,
        },
    )
    mart = result.table("marts.association_rules")
    assert set(rules_by_key(mart, "consequent_product_id")) == {
        ("A", "B"), ("B", "A"),
    }
    assert (mart["rule_basket_count"] == 3).all()
    assert (mart["antecedent_item_count"] == 1).all()
    reference, n = mlxtend_rules(
        baskets_from_events(result.table("marts.fct_events"), "product_id"),
        0.3, 0.5, 2,
    )
    assert_same_as_mlxtend(mart, "consequent_product_id", reference, n)

    by_category = result.table("marts.association_rules_by_category")
    assert by_category.empty
    assert list(by_category.columns) == [
        "antecedent_key", "consequent_category", "antecedent_categories",
        *RULE_COLUMNS,
    ]


def test_a_bar_inside_a_product_id_makes_no_shared_key(tmp_path):
    # The product "A|B" with C in ten baskets and A, B, C in ten more: the
    # antecedent "A|B" and the pair A, B had one key, so their rules were
    # joined with each other's counts and came out twice.
    rows = []
    for number in range(20):
        order = f"O{number}"
        products = ["A|B", "C"] if number < 10 else ["A", "B", "C"]
        products += ["100%"] if number % 2 else []
        for minute, product in enumerate(products):
            rows.append([
                f"2024-05-01T10:{minute:02d}:00Z", "purchase", f"K{number}",
                product, "kitchen", 2.5, 1, order, "true",
            ])  # fmt: skip
    path = write_csv(tmp_path / "events.csv", HEADER, rows)
    result = build_on(
        path, "canonical", tmp_path, select="+association_rules", env=CAUTIOUS,
        extra_vars={
            "association_min_support": 0.2,
            "association_min_confidence": 0.5,
            "association_max_itemset_size": 3,
        },
    )
    mart = result.table("marts.association_rules")
    assert {("A%7CB", "C"), ("A|B", "C"), ("100%25", "C")} <= set(
        zip(mart["antecedent_key"], mart["consequent_product_id"])
    )
    assert_antecedent_lists(mart, "antecedent_product_ids")
    reference, n = mlxtend_rules(
        baskets_from_events(result.table("marts.fct_events"), "product_id"),
        0.2, 0.5, 3,
    )
    assert_same_as_mlxtend(mart, "consequent_product_id", reference, n)


def test_bad_threshold_is_named(fixture_path, tmp_path):
    result = build_on(
        fixture_path, "canonical", tmp_path, command="parse", check=False,
        extra_vars={"association_min_support": 0},
    )
    assert result.returncode != 0
    assert "association_min_support" in result.output
