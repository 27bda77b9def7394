"""Churn prediction (customer_analytics_ml.churn) on planted data."""

import re

import duckdb
import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as sk_metrics
from sklearn.model_selection import train_test_split

from customer_analytics_ml import churn, params
from customer_analytics_ml.events import (
    check_events,
    line_value,
    order_keys,
    resolve_as_of,
)
from customer_analytics_ml.metrics import classification_metrics

AS_OF = pd.Timestamp("2024-07-01")
HORIZON = 90
CUTOFF = AS_OF - pd.Timedelta(days=HORIZON)


def event(customer, event_type, at, order_id=None, price=10.0, **extra):
    row = {
        "event_id": f"{customer}-{event_type}-{at}-{order_id}",
        "customer_id": customer,
        "event_type": event_type,
        "event_at": pd.Timestamp(at),
        "product_id": extra.pop("product_id", "p1"),
        "product_name": "thing",
        "category": extra.pop("category", "home"),
        "brand": "acme",
        "unit_price": price,
        "quantity": extra.pop("quantity", 1),
        "order_id": order_id,
        "source_session_id": None,
        "search_query": None,
        "country": "GB",
        "is_merchandise": extra.pop("is_merchandise", True),
    }
    assert not extra, extra
    return row


def planted_events(customers=400, seed=11):
    """Planted rule: a customer with at most 2 orders before the training
    cutoff churns; one with 3 or more keeps ordering. Prices, views and
    timing are random, so no other feature separates the two groups."""
    rng = np.random.default_rng(seed)
    rows = []
    for number in range(customers):
        customer = f"c{number:04d}"
        loyal = number % 2 == 0
        orders = rng.integers(3, 7) if loyal else rng.integers(1, 3)
        for order in range(orders):
            at = CUTOFF - pd.Timedelta(hours=float(rng.uniform(24, 24 * 300)))
            price = float(rng.uniform(5, 400))
            rows.append(event(customer, "purchase", at, f"{customer}-o{order}", price))
        for _ in range(rng.integers(0, 8)):
            at = CUTOFF - pd.Timedelta(hours=float(rng.uniform(24, 24 * 300)))
            rows.append(event(customer, rng.choice(["view", "cart"]), at))
        if loyal:
            at = CUTOFF + pd.Timedelta(hours=float(rng.uniform(1, 24 * 85)))
            rows.append(event(customer, "purchase", at, f"{customer}-later"))
    return pd.DataFrame(rows)


DUCKDB_TYPES = {
    "str": "VARCHAR",
    "int64": "BIGINT",
    "float64": "DOUBLE",
    "bool": "BOOLEAN",
    "datetime64[us]": "TIMESTAMP",
}


def warehouse_types(frame):
    """Column types DuckDB gives a DataFrame, as dbt-duckdb stores it."""
    return [str(t) for t in duckdb.sql("select * from frame").types]


@pytest.fixture(scope="module")
def planted():
    events = planted_events()
    return events, churn.fit_churn_model(events, as_of_date="2024-07-01")


def test_the_planted_rule_is_found(planted):
    _, result = planted
    top = result.feature_importance.iloc[0]
    assert top["feature"] == "frequency"
    assert top["importance"] == pytest.approx(1.0)
    rules = result.tree_rules.set_index("rule")
    assert rules.loc["frequency <= 2", "churn_rate"] == 1.0
    assert rules.loc["frequency >= 3", "churn_rate"] == 0.0
    tree = result.metrics.set_index("model_name").loc["decision_tree"]
    assert tree["accuracy"] == 1.0 and tree["roc_auc"] == 1.0


def test_training_features_ignore_events_after_the_cutoff(planted):
    events, _ = planted
    before = churn.build_training_set(
        events, training_cutoff=CUTOFF, horizon_days=HORIZON
    )
    later = events.copy()
    after = later["event_at"] >= CUTOFF
    # Change every event on or after the cutoff, and add new ones: orders,
    # returns, views, a brand new customer and an event at the cutoff itself.
    later.loc[after, "unit_price"] = 999.0
    later.loc[after, "event_type"] = "return"
    extra = [
        event("c0001", "purchase", CUTOFF, "late-1", 50.0),
        event("c0003", "view", CUTOFF + pd.Timedelta(days=3)),
        event("c0005", "return", CUTOFF + pd.Timedelta(days=9), "late-2"),
        event("newcomer", "purchase", CUTOFF + pd.Timedelta(days=1), "late-3"),
    ]
    later = pd.concat([later, pd.DataFrame(extra)], ignore_index=True)
    changed = churn.build_training_set(
        later, training_cutoff=CUTOFF, horizon_days=HORIZON
    )
    columns = ["customer_id", *churn.CHURN_FEATURES]
    pd.testing.assert_frame_equal(before[columns], changed[columns])
    # The labels do see the change: that is where the horizon belongs.
    assert not before["is_churned"].equals(changed["is_churned"])


def test_the_model_trains_at_as_of_minus_horizon(planted):
    _, result = planted
    assert result.metrics["training_cutoff_at"].eq(CUTOFF).all()
    assert result.metrics["horizon_days"].eq(HORIZON).all()
    assert result.predictions["predicted_at"].eq(AS_OF).all()


def test_features_follow_their_definitions():
    rows = [
        # Customer a: two orders on order ids, one return, one postage line.
        event("a", "purchase", "2024-01-01 10:00", "o1", 20.0, quantity=2),
        event("a", "purchase", "2024-01-01 10:00", "o1", 5.0, category="toys"),
        event("a", "purchase", "2024-01-01 10:00", "o1", 4.0, is_merchandise=False),
        event("a", "purchase", "2024-01-11 09:00", "o2", 30.0),
        event("a", "return", "2024-01-12 09:00", "c1", 10.0),
        event("a", "view", "2023-12-30 08:00"),
        event("a", "cart", "2023-12-30 08:05"),
        # Customer b: clickstream purchases without order ids: one order per day.
        event("b", "purchase", "2024-01-05 08:00", None, 7.0),
        event("b", "purchase", "2024-01-05 18:00", None, 3.0),
        event("b", "purchase", "2024-01-06 08:00", None, 10.0),
        # Customer c only browsed: not a customer for churn.
        event("c", "view", "2024-01-05 08:00"),
        # After the cutoff: ignored.
        event("a", "purchase", "2024-01-20 00:00", "o3", 1000.0),
    ]
    features = churn.build_churn_features(pd.DataFrame(rows), "2024-01-20")
    features = features.set_index("customer_id")
    assert features.index.tolist() == ["a", "b"]
    a, b = features.loc["a"], features.loc["b"]
    assert a["frequency"] == 2 and b["frequency"] == 2
    assert a["monetary"] == pytest.approx(40 + 5 + 30 - 10)
    assert a["avg_order_value"] == pytest.approx((40 + 5 + 30) / 2)
    assert a["return_share"] == pytest.approx(10 / 75)
    assert a["recency_days"] == pytest.approx(8 + 15 / 24)
    assert a["tenure_days"] == pytest.approx(20 + 16 / 24)
    assert a["mean_days_between_orders"] == pytest.approx(9 + 23 / 24)
    assert a["active_days"] == 4
    assert (a["view_count"], a["cart_count"]) == (1, 1)
    assert a["distinct_categories"] == 2
    assert b["mean_days_between_orders"] == pytest.approx(1.0)
    assert b["monetary"] == pytest.approx(20.0)
    assert str(features["frequency"].dtype) == "int64"
    one_order = churn.build_churn_features(pd.DataFrame(rows[7:8]), "2024-01-15")
    assert one_order["mean_days_between_orders"].item() == pytest.approx(10 - 1 / 3)


def test_money_features_do_not_depend_on_row_order():
    """Summed as doubles, 0.1 + 0.2 + 0.3 is 0.6000000000000001 in one
    order and 0.6 in another; the features add whole micro-units, so any
    order gives exactly 0.6."""
    prices = (0.1, 0.2, 0.3)
    rows = [
        event("a", "purchase", f"2024-01-0{day} 10:00", f"o{day}", price)
        for day, price in enumerate(prices, start=1)
    ]
    for ordered in (rows, rows[::-1]):
        features = churn.build_churn_features(pd.DataFrame(ordered), "2024-01-20")
        assert features["monetary"].item() == 0.6
        assert features["avg_order_value"].item() == 0.6 / 3


def test_labels_follow_the_definition():
    cutoff = pd.Timestamp("2024-04-01")
    rows = [
        event("kept", "purchase", "2024-03-01", "k1"),
        event("kept", "purchase", "2024-04-01", "k2"),
        event("gone", "purchase", "2024-03-01", "g1"),
        event("gone", "purchase", "2024-06-30", "g2"),
        event("viewed", "purchase", "2024-03-01", "v1"),
        event("viewed", "view", "2024-04-10"),
        event("fresh", "purchase", "2024-04-02", "f1"),
    ]
    labels = churn.label_churn(pd.DataFrame(rows), cutoff, 90)
    assert dict(zip(labels["customer_id"], labels["is_churned"], strict=True)) == {
        "gone": True,
        "kept": False,
        "viewed": True,
    }


def test_metrics_match_scikit_learn_on_the_holdout(planted):
    events, result = planted
    holdout = result.holdout
    table = result.metrics.set_index("model_name")
    for name, predicted, score in (
        ("decision_tree", "is_predicted_churn", "churn_probability"),
        ("recency_baseline", "is_baseline_predicted_churn", "recency_days"),
    ):
        row = table.loc[name]
        truth = holdout["is_churned"]
        assert row["accuracy"] == pytest.approx(
            sk_metrics.accuracy_score(truth, holdout[predicted])
        )
        assert row["precision"] == pytest.approx(
            sk_metrics.precision_score(truth, holdout[predicted], zero_division=0)
        )
        assert row["recall"] == pytest.approx(
            sk_metrics.recall_score(truth, holdout[predicted], zero_division=0)
        )
        assert row["f1_score"] == pytest.approx(
            sk_metrics.f1_score(truth, holdout[predicted], zero_division=0)
        )
        assert row["roc_auc"] == pytest.approx(
            sk_metrics.roc_auc_score(truth, holdout[score])
        )
        assert row["base_churn_rate"] == pytest.approx(truth.mean())
    labelled = churn.build_training_set(
        events, training_cutoff=CUTOFF, horizon_days=HORIZON
    )
    assert table["count_test_customers"].eq(len(holdout)).all()
    assert table["count_train_customers"].eq(len(labelled) - len(holdout)).all()
    assert len(holdout) == round(0.3 * len(labelled))


def test_the_split_is_stratified_with_the_fixed_seed(planted):
    events, result = planted
    labelled = churn.build_training_set(
        events, training_cutoff=CUTOFF, horizon_days=HORIZON
    )
    _, test = train_test_split(
        labelled,
        test_size=0.3,
        stratify=labelled["is_churned"],
        random_state=42,
    )
    assert sorted(test["customer_id"]) == result.holdout["customer_id"].tolist()


def test_the_baseline_threshold_is_the_best_on_the_training_part(planted):
    events, result = planted
    labelled = churn.build_training_set(
        events, training_cutoff=CUTOFF, horizon_days=HORIZON
    )
    train = labelled.loc[~labelled["customer_id"].isin(result.holdout["customer_id"])]
    recency = np.sort(train["recency_days"].unique())
    candidates = [recency[0] - 1.0, *((recency[:-1] + recency[1:]) / 2)]
    best = max(
        candidates,
        key=lambda t: (
            round(
                sk_metrics.f1_score(
                    train["is_churned"], train["recency_days"] > t, zero_division=0
                ),
                12,
            ),
            -t,
        ),
    )
    rule = result.metrics.set_index("model_name").loc["recency_baseline"]
    assert rule["decision_rule"] == f"churned when recency_days > {best:.3f}".rstrip(
        "0"
    ).rstrip(".")
    predicted = result.holdout["recency_days"] > best
    assert predicted.equals(result.holdout["is_baseline_predicted_churn"])


def satisfies(rule, features):
    """Whether a row of features meets every condition of a rule's text."""
    if rule.startswith("all customers"):
        return True
    for condition in rule.split(" and "):
        both = re.fullmatch(r"(\S+) (<=?) (\w+) <= (\S+)", condition)
        if both:
            low, operator, name, high = both.groups()
            value = features[name]
            above = value >= float(low) if operator == "<=" else value > float(low)
            if not (above and value <= float(high)):
                return False
            continue
        name, operator, number = condition.split(" ")
        value, number = features[name], float(number)
        checks = {
            "<=": value <= number,
            ">": value > number,
            ">=": value >= number,
            "=": value == number,
        }
        if not checks[operator]:
            return False
    return True


def test_reasons_and_rules_describe_the_tree():
    events = planted_events(customers=300, seed=5)
    # A deeper, noisier tree than the planted one, so rules have several
    # conditions: flip a tenth of the loyal customers' later orders to views.
    later = events["order_id"].fillna("").str.endswith("-later")
    flip = later & (events.index % 10 == 0)
    events.loc[flip, "event_type"] = "view"
    result = churn.fit_churn_model(
        events, as_of_date="2024-07-01", min_samples_leaf=5, max_depth=4
    )
    rules = result.tree_rules
    assert (
        rules["count_training_customers"].sum()
        == result.metrics["count_train_customers"].iloc[0]
    )
    assert rules["rule"].is_unique and rules["leaf_id"].is_unique
    scoring = churn.build_churn_features(events, AS_OF).set_index("customer_id")
    predictions = result.predictions.set_index("customer_id")
    assert predictions.index.tolist() == scoring.index.tolist()
    by_rule = rules.set_index("rule")
    for customer, row in predictions.iterrows():
        assert satisfies(row["churn_reason"], scoring.loc[customer])
        assert (
            row["churn_probability"] == by_rule.loc[row["churn_reason"], "churn_rate"]
        )
    assert rules["rule"].str.contains(" and ").any()


def test_predictions_have_documented_columns_bands_and_types(planted):
    _, result = planted
    predictions = result.predictions
    assert list(predictions.columns) == list(churn.PREDICTIONS_SCHEMA)
    assert str(predictions["predicted_at"].dtype) == "datetime64[us]"
    assert predictions["churn_probability"].between(0, 1).all()
    probability = predictions["churn_probability"]
    expected = np.where(
        probability >= 0.6, "high", np.where(probability >= 0.3, "medium", "low")
    )
    assert (predictions["churn_risk"] == expected).all()
    assert predictions["customer_id"].is_unique
    for table, schema in (
        (result.metrics, churn.METRICS_SCHEMA),
        (result.feature_importance, churn.IMPORTANCE_SCHEMA),
        (result.tree_rules, churn.RULES_SCHEMA),
    ):
        assert list(table.columns) == list(schema)
        for column, dtype in schema.items():
            assert str(table[column].dtype) == ("string" if dtype == "str" else dtype)
    importance = result.feature_importance
    assert importance["importance_rank"].tolist() == list(range(1, 12))
    assert importance["importance"].sum() == pytest.approx(1.0)


def test_any_row_order_gives_the_same_tables(planted):
    events, result = planted
    again = churn.fit_churn_model(
        events.sample(frac=1.0, random_state=1), as_of_date="2024-07-01"
    )
    for name in ("predictions", "metrics", "feature_importance", "tree_rules"):
        pd.testing.assert_frame_equal(getattr(again, name), getattr(result, name))


def test_untrainable_data_warns_and_still_builds():
    events = planted_events(customers=40)
    everyone_churns = events.loc[~events["order_id"].fillna("").str.endswith("later")]
    with pytest.warns(UserWarning, match="churn model not trained"):
        result = churn.fit_churn_model(everyone_churns, as_of_date="2024-07-01")
    assert result.metrics["model_name"].tolist() == [
        "decision_tree",
        "recency_baseline",
    ]
    assert result.metrics[["accuracy", "roc_auc", "f1_score"]].isna().all().all()
    assert result.metrics["warning"].str.contains("40 churned and 0 did not").all()
    for table, schema in (
        (result.predictions, churn.PREDICTIONS_SCHEMA),
        (result.tree_rules, churn.RULES_SCHEMA),
        (result.feature_importance, churn.IMPORTANCE_SCHEMA),
    ):
        assert table.empty and list(table.columns) == list(schema)

    # Empty tables and null warnings keep their types in the warehouse.
    for table, schema in (
        (result.predictions, churn.PREDICTIONS_SCHEMA),
        (result.metrics, churn.METRICS_SCHEMA),
        (result.tree_rules, churn.RULES_SCHEMA),
    ):
        assert warehouse_types(table) == [DUCKDB_TYPES[t] for t in schema.values()]
    trained = churn.fit_churn_model(events, as_of_date="2024-07-01")
    assert trained.metrics["warning"].isna().all()
    assert warehouse_types(trained.metrics)[-1] == "VARCHAR"

    with pytest.warns(UserWarning, match="no customer ordered before"):
        churn.fit_churn_model(events, as_of_date="2020-01-01")
    with pytest.warns(UserWarning, match="no events"):
        churn.fit_churn_model(events.head(0))


def test_classification_metrics_match_scikit_learn_with_ties():
    rng = np.random.default_rng(3)
    truth = rng.random(500) < 0.3
    score = np.round(rng.random(500) + truth * 0.3, 1)
    predicted = score > 0.6
    ours = classification_metrics(truth, predicted, score)
    assert ours["accuracy"] == pytest.approx(
        sk_metrics.accuracy_score(truth, predicted)
    )
    assert ours["precision"] == pytest.approx(
        sk_metrics.precision_score(truth, predicted)
    )
    assert ours["recall"] == pytest.approx(sk_metrics.recall_score(truth, predicted))
    assert ours["f1_score"] == pytest.approx(sk_metrics.f1_score(truth, predicted))
    assert ours["roc_auc"] == pytest.approx(sk_metrics.roc_auc_score(truth, score))
    nobody = classification_metrics(truth, np.zeros(500, bool), score)
    assert nobody["precision"] == 0.0 and nobody["f1_score"] == 0.0
    assert np.isnan(
        classification_metrics([True, True], [True, False], [1, 0])["roc_auc"]
    )


def test_config_values_may_arrive_as_text():
    settings = churn.settings_from_config(
        {
            "as_of_date": "",
            "churn_horizon_days": "60",
            "churn_max_depth": 3,
            "churn_min_samples_leaf": "10",
            "churn_class_weight": "none",
            "churn_test_share": "0.25",
            "churn_random_state": None,
        }
    )
    assert settings == {
        "as_of_date": None,
        "horizon_days": 60,
        "max_depth": 3,
        "min_samples_leaf": 10,
        "class_weight": None,
        "test_share": 0.25,
    }
    assert params.as_class_weight("Balanced", key="k") == "balanced"
    with pytest.raises(ValueError, match="churn_class_weight"):
        churn.settings_from_config({"churn_class_weight": "heavy"})
    with pytest.raises(ValueError, match="churn_test_share"):
        churn.fit_churn_model(planted_events(customers=4), test_share=1.0)
    with pytest.raises(ValueError, match="as_of_date"):
        churn.fit_churn_model(planted_events(customers=4), as_of_date="soon")


def test_duckdb_coding_follows_the_order_key_and_revenue_rules():
    """The churn model codes events in SQL; events.order_keys and
    events.line_value state the rules in Python and are the reference."""
    rows = [
        event("a", "purchase", "2024-01-01 10:00", None, 12.5, quantity=2),
        event("a", "purchase", "2024-01-01 18:00", None, 3.0),
        event("a", "purchase", "2024-01-02 09:00", None, 4.0),
        event("a", "return", "2024-01-03", None, 12.5),
        event("b", "purchase", "2024-01-01", "o-7", 8.0, quantity=3),
        event("b", "purchase", "2024-01-05", "o-7", 1.0),
        event("b", "purchase", "2024-01-05", "o-8", 2.0, is_merchandise=False),
        event("b", "return", "2024-01-06", None, 9.0, is_merchandise=False),
        event(None, "purchase", "2024-01-01", "guest", 5.0),
        event("c", "view", "2024-01-02"),
    ]
    events = pd.DataFrame(rows)
    events.loc[1, "unit_price"] = np.nan  # a missing price counts as 0
    codes = churn._encode(events)
    known = check_events(events, required=churn.EVENT_COLUMNS)
    known = known.loc[known["customer_id"].notna()].reset_index(drop=True)
    np.testing.assert_array_equal(codes.value, line_value(known))
    keys = order_keys(known.iloc[codes.order_rows])
    assert keys.tolist() == [
        "a|2024-01-01",
        "a|2024-01-01",
        "a|2024-01-02",
        "o-7",
        "o-7",
    ]
    assert pd.factorize(keys)[0].tolist() == pd.factorize(codes.order)[0].tolist()
    assert resolve_as_of(codes.last_event_at) == pd.Timestamp("2024-01-07")


@pytest.mark.parametrize("batch_rows", [1, 3, 64])
def test_coding_in_batches_gives_the_codes_of_one_pass(batch_rows):
    """The events are fetched and coded a batch at a time; every array must
    equal a plain factorization of the whole table (codes in order of first
    appearance, null as -1), whatever the batch size."""
    events = planted_events(customers=12)
    events.loc[events.index[::7], "category"] = None
    codes = churn._encode(events, batch_rows=batch_rows)
    known = check_events(events, required=churn.EVENT_COLUMNS)
    known = known.loc[known["customer_id"].notna()].reset_index(drop=True)
    customer, customer_names = pd.factorize(known["customer_id"])
    category, category_names = pd.factorize(known["category"])
    assert codes.customer.tolist() == customer.tolist()
    assert codes.customer_names.tolist() == list(customer_names)
    assert codes.category.tolist() == category.tolist()
    assert codes.category_count == len(category_names)
    assert (codes.category == -1).any()
    np.testing.assert_array_equal(codes.value, line_value(known))
    order_rows = np.flatnonzero(
        known["event_type"].eq("purchase") & known["is_merchandise"]
    )
    assert codes.order_rows.tolist() == order_rows.tolist()
    keys = order_keys(known.iloc[order_rows])
    assert codes.order.tolist() == pd.factorize(keys)[0].tolist()
    whole = churn._encode(events, batch_rows=10**6)
    for field in ("at", "kind", "is_merchandise"):
        assert getattr(codes, field).tolist() == getattr(whole, field).tolist()


def test_an_as_of_date_pandas_cannot_hold_is_named():
    # events of 1600 only: the day after the last event is beyond pandas'
    # nanosecond dates, which stopped both models with OutOfBoundsDatetime
    last = pd.Series(pd.array(["1600-01-01 10:00"], dtype="datetime64[us]"))
    with pytest.raises(ValueError, match="last event is at 1600-01-01.*as_of_date"):
        resolve_as_of(last)
    later = pd.Series(pd.array(["2024-01-05 10:00"], dtype="datetime64[us]"))
    assert resolve_as_of(later) == pd.Timestamp("2024-01-06")


def test_a_given_as_of_date_rescues_events_pandas_cannot_date():
    # events of 1600 only: the day after the last one is beyond pandas, but
    # with as_of_date given (what the error above asks for) nothing needs
    # it; the fit once computed it anyway and stopped with that error
    rows = [
        event(customer, "purchase", f"1600-01-{day:02d}", f"{customer}-{day}")
        for customer in ("a", "b", "c")
        for day in (1, 2)
    ]
    frame = pd.DataFrame(rows)
    frame["event_at"] = frame["event_at"].astype("datetime64[us]")
    with pytest.warns(UserWarning, match="not trained"):
        result = churn.fit_churn_model(frame, as_of_date="1900-01-01")
    assert result.predictions.empty
    assert (result.metrics["training_cutoff_at"] == pd.Timestamp("1899-10-03")).all()
