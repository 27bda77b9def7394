"""Churn prediction: a decision tree on features built from events.

Definition: a customer with at least one order before a cutoff has churned
when they place no order in the ``horizon_days`` after it (an order is a
merchandise purchase, keyed as in ``events.order_keys``).

Training and scoring
--------------------
- Training cutoff = as-of date minus the horizon. Training features use only
  events before that cutoff; labels use orders in the horizon after it (up
  to the as-of date). Nothing on or after the cutoff reaches a feature,
  which the tests prove by changing such events.
- The training customers (sorted by customer_id) are split into a training
  and a test part, stratified by label, with a fixed seed. The tree is fitted
  on the training part only and evaluated on the test part; the same tree
  scores every customer with an order before the as-of date, with features
  up to the as-of date, for the next horizon. One tree behind every table
  means the metrics, rules and importances describe exactly the model that
  made the predictions, at the price of fitting on 70 % of the data.
- churn_probability is the churn rate of the customer's leaf among the
  training part (unweighted), the same number as churn_tree_rules shows.
- A customer is predicted to churn when the tree says so: with class_weight
  "balanced" that is a leaf whose churn rate is above the training part's
  churn rate; without class weights, above one half.
- Metrics are measured on the test part; base_churn_rate is its share of
  churned customers, the accuracy of always answering "churned".
- churn_risk bands: low below 0.3, medium from 0.3 to below 0.6, high from
  0.6.
- Baseline: "churned when recency_days > t", with t chosen on the training
  part for the best F1 (ties: the smallest t), scored on the same test part.
  Its ROC AUC ranks customers by recency_days.
- When the data cannot support training (no customer ordered before the
  cutoff, one class only, fewer than 5 customers in a class, or a split that
  leaves a part empty), a warning is raised, the metrics rows carry it with
  empty metric values, and the other tables are empty.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sklearn.model_selection import train_test_split
from sklearn.tree import DecisionTreeClassifier

from . import params
from .events import (
    query_events,
    query_events_in_batches,
    resolve_as_of,
    sorted_unique,
)
from .metrics import classification_metrics
from .tables import typed_frame

__all__ = [
    "CHURN_FEATURES",
    "PREDICTIONS_SCHEMA",
    "METRICS_SCHEMA",
    "IMPORTANCE_SCHEMA",
    "RULES_SCHEMA",
    "HOLDOUT_SCHEMA",
    "ChurnResult",
    "build_churn_features",
    "label_churn",
    "build_training_set",
    "fit_churn_model",
    "risk_band",
    "EVENT_COLUMNS",
    "settings_from_config",
]

# Features per customer, all computed from events before the cutoff:
#   recency_days             days from the last order to the cutoff
#   frequency                distinct orders
#   monetary                 merchandise purchases less returns
#   avg_order_value          merchandise purchases / orders
#   tenure_days              days from the first event of any kind
#   active_days              distinct UTC days with any event
#   mean_days_between_orders (last order - first order) / (orders - 1); for
#                            a one-order customer, the days since that order
#                            (the gap so far, a lower bound on the real one)
#   view_count, cart_count   view and cart events
#   return_share             merchandise returns / merchandise purchases
#                            (0 when nothing was bought for money)
#   distinct_categories      categories of the merchandise bought
CHURN_FEATURES = (
    "recency_days",
    "frequency",
    "monetary",
    "avg_order_value",
    "tenure_days",
    "active_days",
    "mean_days_between_orders",
    "view_count",
    "cart_count",
    "return_share",
    "distinct_categories",
)
_COUNT_FEATURES = {
    "frequency",
    "active_days",
    "view_count",
    "cart_count",
    "distinct_categories",
}

MEDIUM_RISK_FROM = 0.3
HIGH_RISK_FROM = 0.6
MIN_CUSTOMERS_PER_CLASS = 5
TREE_MODEL = "decision_tree"
BASELINE_MODEL = "recency_baseline"

# The columns of marts.fct_events the churn model reads.
EVENT_COLUMNS = (
    "customer_id",
    "event_type",
    "event_at",
    "category",
    "unit_price",
    "quantity",
    "order_id",
    "is_merchandise",
)

FEATURES_SCHEMA = {
    "customer_id": "str",
    **{
        feature: ("int64" if feature in _COUNT_FEATURES else "float64")
        for feature in CHURN_FEATURES
    },
}
PREDICTIONS_SCHEMA = {
    "customer_id": "str",
    "churn_probability": "float64",
    "churn_risk": "str",
    "predicted_at": "datetime64[us]",
    "churn_reason": "str",
}
METRICS_SCHEMA = {
    "model_name": "str",
    "accuracy": "float64",
    "precision": "float64",
    "recall": "float64",
    "f1_score": "float64",
    "roc_auc": "float64",
    "base_churn_rate": "float64",
    "count_train_customers": "int64",
    "count_test_customers": "int64",
    "decision_rule": "str",
    "training_cutoff_at": "datetime64[us]",
    "horizon_days": "int64",
    "warning": "str",
}
IMPORTANCE_SCHEMA = {
    "feature": "str",
    "importance": "float64",
    "importance_rank": "int64",
}
RULES_SCHEMA = {
    "leaf_id": "int64",
    "rule": "str",
    "count_training_customers": "int64",
    "churn_rate": "float64",
    "churn_risk": "str",
    "is_predicted_churn": "bool",
}
HOLDOUT_SCHEMA = {
    "customer_id": "str",
    "is_churned": "bool",
    "churn_probability": "float64",
    "is_predicted_churn": "bool",
    "recency_days": "float64",
    "is_baseline_predicted_churn": "bool",
}


@dataclass(frozen=True)
class ChurnResult:
    """Every churn table from one fit.

    ``holdout`` is the test part with labels and both models' predictions,
    from which the metrics can be recomputed; it is not a warehouse table.
    """

    predictions: pd.DataFrame
    metrics: pd.DataFrame
    feature_importance: pd.DataFrame
    tree_rules: pd.DataFrame
    holdout: pd.DataFrame
    warning: str | None


# --------------------------------------------------------------------------
# Features and labels
# --------------------------------------------------------------------------


def build_churn_features(events, cutoff):
    """Churn features of every customer with an order before ``cutoff``.

    Parameters
    ----------
    events : pandas.DataFrame
        Rows shaped like marts.fct_events.
    cutoff : pandas.Timestamp
        Only events strictly before it are read.

    Returns
    -------
    pandas.DataFrame
        customer_id and ``CHURN_FEATURES``, one row per customer, sorted by
        customer_id.
    """
    return _features(_encode(events), pd.Timestamp(cutoff))


def label_churn(events, cutoff, horizon_days):
    """Churn label of every customer with an order before ``cutoff``.

    Parameters
    ----------
    events : pandas.DataFrame
        Rows shaped like marts.fct_events.
    cutoff : pandas.Timestamp
        Start of the horizon.
    horizon_days : int
        Length of the horizon (var churn_horizon_days).

    Returns
    -------
    pandas.DataFrame
        customer_id, is_churned: True when the customer placed no order in
        [cutoff, cutoff + horizon_days).
    """
    return _labels(_encode(events), pd.Timestamp(cutoff), horizon_days)


_VIEW, _CART, _PURCHASE, _RETURN = range(4)


@dataclass(frozen=True)
class _Codes:
    """The events of known customers as integer codes, made once per fit.

    DuckDB computes the numbers (time, kind, revenue, order key) in one
    scan; ids are coded from Arrow, so ten million events never become
    Python strings. Each cutoff then only filters integer arrays. Order
    lines are merchandise purchases; their order keys are coded
    separately. ``last_event_at`` holds the time of the last event of
    anyone, guests included (empty or null when there is none).
    """

    at: np.ndarray
    customer: np.ndarray
    customer_names: np.ndarray
    kind: np.ndarray
    is_merchandise: np.ndarray
    value: np.ndarray
    category: np.ndarray
    category_count: int
    order_rows: np.ndarray
    order: np.ndarray
    last_event_at: pd.Series


# One row per event of a known customer, in table order (a projection and a
# filter keep it, so float sums are the same on every build). kind: 0 view,
# 1 cart, 2 purchase, 3 return, -1 other. value is events.line_value;
# order_key is events.order_keys on merchandise purchases, else null. A
# missing time sorts first, as numpy's NaT does.
_CODES_SQL = """
with typed as (
    select
        cast(customer_id as varchar) as customer_id,
        cast(event_at as timestamp) as event_at,
        cast(category as varchar) as category,
        coalesce(cast(unit_price as double), 0)
            * coalesce(cast(quantity as bigint), 1) as line_amount,
        cast(order_id as varchar) as order_id,
        coalesce(cast(is_merchandise as boolean), true) as is_merchandise,
        case cast(event_type as varchar)
            when 'view' then 0
            when 'cart' then 1
            when 'purchase' then 2
            when 'return' then 3
            else -1
        end as kind
    from events
    where customer_id is not null
)
select
    coalesce(epoch_us(event_at), -9223372036854775808) as at,
    customer_id,
    cast(kind as tinyint) as kind,
    is_merchandise,
    case
        when is_merchandise and kind = 2 then line_amount
        when is_merchandise and kind = 3 then -line_amount
        else 0.0
    end as value,
    category,
    case when is_merchandise and kind = 2 then coalesce(
        order_id, customer_id || '|' || strftime(event_at, '%Y-%m-%d')
    ) end as order_key
from typed
"""


# Rows fetched at a time when coding the events: batches keep the Arrow and
# DuckDB copies of the result small; the coded arrays are a third of its size.
_ENCODE_BATCH_ROWS = 1_000_000


def _encode(events, *, batch_rows=_ENCODE_BATCH_ROWS):
    last = query_events(
        events,
        "select max(cast(event_at as timestamp)) as last_at from events",
        required=("event_at",),
    )["last_at"]
    customers, categories, orders = _Coder(), _Coder(), _Coder()
    parts = {"at": [], "customer": [], "kind": [], "is_merchandise": []}
    parts.update(value=[], category=[], order_rows=[], order=[])
    rows_before = 0
    for batch in query_events_in_batches(
        events, _CODES_SQL, required=EVENT_COLUMNS, batch_rows=batch_rows
    ):
        kind = batch["kind"].to_numpy()
        is_merchandise = batch["is_merchandise"].to_numpy(zero_copy_only=False)
        order_rows = np.flatnonzero((kind == _PURCHASE) & is_merchandise)
        parts["at"].append(batch["at"].to_numpy())
        parts["customer"].append(customers.codes(batch["customer_id"]))
        parts["kind"].append(kind)
        parts["is_merchandise"].append(is_merchandise)
        parts["value"].append(batch["value"].to_numpy())
        parts["category"].append(categories.codes(batch["category"]))
        parts["order_rows"].append(order_rows + rows_before)
        parts["order"].append(orders.codes(batch["order_key"].take(order_rows)))
        rows_before += batch.num_rows
    dtypes = {"at": "int64", "kind": "int8", "is_merchandise": bool, "value": float}
    arrays = {}
    for column, chunks in parts.items():
        dtype = dtypes.get(column, "int64")
        arrays[column] = np.concatenate(chunks) if chunks else np.zeros(0, dtype)
        chunks.clear()
    return _Codes(
        customer_names=customers.values().astype(str),
        category_count=len(categories.values()),
        last_event_at=pd.to_datetime(last),
        **arrays,
    )


class _Coder:
    """Integer codes of Arrow text, batch after batch, without Python strings.

    Each distinct value gets the next code the first time it is seen, so
    the codes are those of one dictionary encoding of all batches in order;
    null is -1.
    """

    def __init__(self):
        self._known = pa.array([], pa.string())

    def codes(self, column):
        encoded = pc.dictionary_encode(column)
        dictionary = encoded.dictionary.cast(pa.string())
        code = pc.index_in(dictionary, value_set=self._known)
        code = code.fill_null(-1).to_numpy(zero_copy_only=False).astype("int64")
        new = code < 0
        code[new] = len(self._known) + np.arange(new.sum())
        self._known = pa.concat_arrays([self._known, dictionary.filter(new)])
        # A null value's index is -1, which reads the -1 appended here.
        lookup = np.append(code, -1).astype("int32")
        return lookup[encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False)]

    def values(self):
        """The distinct values, by code."""
        return self._known.to_numpy(zero_copy_only=False)


def _microseconds(timestamp):
    return np.datetime64(pd.Timestamp(timestamp), "us").astype("int64")


_MICROSECONDS_PER_DAY = 86_400_000_000
# Money sums are exact in micro-units of the currency (6 decimals).
_MICROS = 1_000_000


def _features(codes, cutoff):
    """``build_churn_features`` on coded events."""
    cutoff_at = _microseconds(cutoff)
    in_window = codes.at[codes.order_rows] < cutoff_at
    order_rows = codes.order_rows[in_window]
    if len(order_rows) == 0:
        return typed_frame(None, FEATURES_SCHEMA)

    # Customers: those with an order line, numbered in customer_id order.
    used = np.flatnonzero(np.bincount(codes.customer[order_rows]))
    order = np.argsort(codes.customer_names[used], kind="stable")
    customers = codes.customer_names[used][order]
    count = len(customers)
    # int32 positions: the per-event arrays below are half the size.
    position = np.full(len(codes.customer_names) + 1, -1, dtype="int32")
    position[used[order]] = np.arange(count)
    line_customer = position[codes.customer]
    rows = np.flatnonzero((codes.at < cutoff_at) & (line_customer >= 0))
    who, when, what = line_customer[rows], codes.at[rows], codes.kind[rows]
    value = codes.value[rows]

    # Orders: each order's time is its first line's.
    order_time = (
        pd.Series(codes.at[order_rows])
        .groupby([line_customer[order_rows], codes.order[in_window]], sort=False)
        .min()
    )
    order_customer = order_time.index.get_level_values(0).to_numpy()
    by_order = pd.Series(order_time.to_numpy()).groupby(order_customer)
    first_order_at = _per_customer(by_order.min(), count)
    last_order_at = _per_customer(by_order.max(), count)
    frequency = np.bincount(order_customer, minlength=count)

    is_purchase = (what == _PURCHASE) & codes.is_merchandise[rows]
    is_return = (what == _RETURN) & codes.is_merchandise[rows]
    # Money is added up in whole micro-units (as the SQL marts do): sums of
    # integer-valued doubles are exact in any order, so the totals do not
    # depend on the order DuckDB hands the rows over in. Summing the raw
    # doubles let a feature differ in its last bit between two builds at
    # 10 million events.
    micros = np.rint(value * _MICROS)
    purchased = (
        np.bincount(who[is_purchase], micros[is_purchase], minlength=count) / _MICROS
    )
    returned = -(
        np.bincount(who[is_return], micros[is_return], minlength=count) / _MICROS
    )
    # Every customer has a line here (their orders), so no start stays unset.
    first_event_at = np.full(count, np.iinfo("int64").max)
    np.minimum.at(first_event_at, who, when)
    day = when // _MICROSECONDS_PER_DAY
    day = day - day.min()
    width = day.max() + 1
    active_days = np.bincount(
        sorted_unique(who * width + day) // width, minlength=count
    )
    category = codes.category[rows][is_purchase]
    bought_category = category >= 0
    width = max(codes.category_count, 1)
    pairs = sorted_unique(
        who[is_purchase][bought_category].astype("int64") * width
        + category[bought_category]
    )
    distinct_categories = np.bincount(pairs // width, minlength=count)

    def days(delta):
        return delta / _MICROSECONDS_PER_DAY

    span = days(last_order_at - first_order_at)
    since_first_order = days(cutoff_at - first_order_at)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_gap = np.where(
            frequency > 1, span / np.maximum(frequency - 1, 1), since_first_order
        )
        return_share = np.where(purchased > 0, returned / purchased, 0.0)

    return typed_frame(
        {
            "customer_id": customers,
            "recency_days": days(cutoff_at - last_order_at),
            "frequency": frequency,
            "monetary": purchased - returned,
            "avg_order_value": purchased / frequency,
            "tenure_days": days(cutoff_at - first_event_at),
            "active_days": active_days,
            "mean_days_between_orders": mean_gap,
            "view_count": np.bincount(who[what == _VIEW], minlength=count),
            "cart_count": np.bincount(who[what == _CART], minlength=count),
            "return_share": return_share,
            "distinct_categories": distinct_categories,
        },
        FEATURES_SCHEMA,
    )


def _per_customer(grouped, count):
    """A per-customer Series (indexed 0..count-1) as an array of length count."""
    values = np.zeros(count, dtype="int64")
    values[grouped.index.to_numpy()] = grouped.to_numpy()
    return values


def _labels(codes, cutoff, horizon_days):
    """``label_churn`` on coded events."""
    cutoff_at = _microseconds(cutoff)
    horizon_end = _microseconds(cutoff + pd.Timedelta(days=horizon_days))
    at = codes.at[codes.order_rows]
    customer = codes.customer[codes.order_rows]
    before = sorted_unique(customer[at < cutoff_at])
    in_horizon = sorted_unique(customer[(at >= cutoff_at) & (at < horizon_end)])
    names = codes.customer_names[before]
    order = np.argsort(names, kind="stable")
    return typed_frame(
        {
            "customer_id": names[order],
            "is_churned": ~np.isin(before[order], in_horizon),
        },
        {"customer_id": "str", "is_churned": "bool"},
    )


def build_training_set(events, *, training_cutoff, horizon_days):
    """Features before the training cutoff joined to labels after it.

    Returns
    -------
    pandas.DataFrame
        customer_id, ``CHURN_FEATURES``, is_churned; sorted by customer_id.
    """
    return _training_set(_encode(events), pd.Timestamp(training_cutoff), horizon_days)


def _training_set(codes, training_cutoff, horizon_days):
    features = _features(codes, training_cutoff)
    labels = _labels(codes, training_cutoff, horizon_days)
    return features.merge(labels, on="customer_id", how="inner", validate="one_to_one")


# --------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------


def fit_churn_model(
    events,
    *,
    as_of_date=None,
    horizon_days=90,
    max_depth=4,
    min_samples_leaf=20,
    class_weight="balanced",
    test_share=0.3,
    random_state=42,
):
    """Train, evaluate and apply the churn tree.

    Parameters
    ----------
    events : pandas.DataFrame
        Rows shaped like marts.fct_events.
    as_of_date : str or None
        ``YYYY-MM-DD``; None or "" is the day after the last event (var
        as_of_date).
    horizon_days : int
        Churn horizon (var churn_horizon_days).
    max_depth, min_samples_leaf : int
        Tree limits (vars churn_max_depth, churn_min_samples_leaf).
    class_weight : "balanced" or None
        Var churn_class_weight.
    test_share : float
        Share of training customers held out for evaluation, between 0 and 1
        (var churn_test_share).
    random_state : int
        Seed of the split and the tree (var churn_random_state).

    Returns
    -------
    ChurnResult
    """
    _check_settings(horizon_days, max_depth, min_samples_leaf, class_weight, test_share)
    codes = _encode(events)
    # The day after the last event only when no as_of_date is given: that
    # day may be one pandas cannot hold, while the given date always is.
    as_of = resolve_as_of(codes.last_event_at, as_of_date)
    if as_of is None:
        return _untrained("there are no events to train on", None, horizon_days)
    training_cutoff = as_of - pd.Timedelta(days=horizon_days)
    # The labels' horizon ends at the as-of date, so nothing on or after it
    # is read here or in the scoring features below.
    labelled = _training_set(codes, training_cutoff, horizon_days)
    split, problem = _split(labelled, test_share, random_state, training_cutoff)
    if problem:
        return _untrained(problem, training_cutoff, horizon_days)
    train, test = split

    tree = DecisionTreeClassifier(
        max_depth=max_depth,
        min_samples_leaf=min_samples_leaf,
        class_weight=class_weight,
        random_state=random_state,
    )
    tree.fit(_matrix(train), train["is_churned"].to_numpy())
    leaves = _describe_leaves(tree, train)

    test_leaf = tree.apply(_matrix(test))
    test_probability = leaves.loc[test_leaf, "churn_rate"].to_numpy()
    test_prediction = tree.predict(_matrix(test)).astype(bool)
    threshold = _fit_recency_threshold(
        train["recency_days"].to_numpy(), train["is_churned"].to_numpy()
    )
    test_recency = test["recency_days"].to_numpy()
    holdout = typed_frame(
        {
            "customer_id": test["customer_id"],
            "is_churned": test["is_churned"],
            "churn_probability": test_probability,
            "is_predicted_churn": test_prediction,
            "recency_days": test_recency,
            "is_baseline_predicted_churn": test_recency > threshold,
        },
        HOLDOUT_SCHEMA,
    )

    weights = "none" if class_weight is None else class_weight
    tree_rule = (
        f"decision tree: max_depth {max_depth}, min_samples_leaf "
        f"{min_samples_leaf}, class_weight {weights}"
    )
    metrics = typed_frame(
        pd.DataFrame(
            [
                _metrics_row(
                    TREE_MODEL,
                    tree_rule,
                    holdout["is_churned"],
                    holdout["is_predicted_churn"],
                    holdout["churn_probability"],
                ),
                _metrics_row(
                    BASELINE_MODEL,
                    f"churned when recency_days > {_number(threshold)}",
                    holdout["is_churned"],
                    holdout["is_baseline_predicted_churn"],
                    holdout["recency_days"],
                ),
            ]
        ).assign(
            count_train_customers=len(train),
            count_test_customers=len(test),
            training_cutoff_at=training_cutoff,
            horizon_days=horizon_days,
            warning=None,
        ),
        METRICS_SCHEMA,
    )

    scoring = _features(codes, as_of)
    scoring_leaf = tree.apply(_matrix(scoring)) if len(scoring) else np.array([], int)
    scored = leaves.loc[scoring_leaf]
    predictions = typed_frame(
        {
            "customer_id": scoring["customer_id"],
            "churn_probability": scored["churn_rate"],
            "churn_risk": scored["churn_risk"],
            "predicted_at": np.full(len(scoring), as_of),
            "churn_reason": scored["rule"],
        },
        PREDICTIONS_SCHEMA,
    )

    importance = pd.DataFrame(
        {"feature": CHURN_FEATURES, "importance": tree.feature_importances_}
    ).sort_values(["importance", "feature"], ascending=[False, True], kind="stable")
    importance["importance_rank"] = np.arange(1, len(importance) + 1)

    rules = leaves.reset_index().sort_values(
        ["churn_rate", "leaf_id"], ascending=[False, True], kind="stable"
    )
    return ChurnResult(
        predictions=predictions,
        metrics=metrics,
        feature_importance=typed_frame(importance, IMPORTANCE_SCHEMA),
        tree_rules=typed_frame(rules, RULES_SCHEMA),
        holdout=holdout,
        warning=None,
    )


def risk_band(probability):
    """ "low", "medium" or "high" for each churn probability (see the bands)."""
    probability = np.asarray(probability, dtype="float64")
    return np.select(
        [probability >= HIGH_RISK_FROM, probability >= MEDIUM_RISK_FROM],
        ["high", "medium"],
        default="low",
    ).astype(object)


def _check_settings(
    horizon_days, max_depth, min_samples_leaf, class_weight, test_share
):
    if horizon_days < 1:
        raise ValueError(
            f"var churn_horizon_days must be at least 1, got {horizon_days}"
        )
    if max_depth < 1:
        raise ValueError(f"var churn_max_depth must be at least 1, got {max_depth}")
    if min_samples_leaf < 1:
        raise ValueError(
            f"var churn_min_samples_leaf must be at least 1, got {min_samples_leaf}"
        )
    if class_weight not in ("balanced", None):
        raise ValueError(
            f'var churn_class_weight must be "balanced" or none, got {class_weight!r}'
        )
    if not 0 < test_share < 1:
        raise ValueError(
            "var churn_test_share must be between 0 and 1 (both excluded), "
            f"got {test_share}"
        )


def _split(labelled, test_share, random_state, training_cutoff):
    """The stratified training and test parts, or why there are none."""
    cutoff_day = training_cutoff.strftime("%Y-%m-%d")
    if labelled.empty:
        return None, f"no customer ordered before the training cutoff {cutoff_day}"
    counts = labelled["is_churned"].value_counts()
    churned, retained = int(counts.get(True, 0)), int(counts.get(False, 0))
    if min(churned, retained) < MIN_CUSTOMERS_PER_CLASS:
        return None, (
            f"of {len(labelled)} customers with an order before the training "
            f"cutoff {cutoff_day}, {churned} churned and {retained} did not; "
            f"each group needs at least {MIN_CUSTOMERS_PER_CLASS}"
        )
    try:
        train, test = train_test_split(
            labelled,
            test_size=test_share,
            stratify=labelled["is_churned"],
            random_state=random_state,
        )
    except ValueError as error:
        return None, f"cannot split {len(labelled)} training customers: {error}"
    return (
        train.sort_values("customer_id", kind="stable"),
        test.sort_values("customer_id", kind="stable"),
    ), None


def _matrix(frame):
    return frame.loc[:, list(CHURN_FEATURES)].to_numpy(dtype="float64")


def _untrained(problem, training_cutoff, horizon_days):
    warnings.warn(f"churn model not trained: {problem}", stacklevel=3)
    metrics = typed_frame(
        {
            "model_name": [TREE_MODEL, BASELINE_MODEL],
            "accuracy": [np.nan] * 2,
            "precision": [np.nan] * 2,
            "recall": [np.nan] * 2,
            "f1_score": [np.nan] * 2,
            "roc_auc": [np.nan] * 2,
            "base_churn_rate": [np.nan] * 2,
            "count_train_customers": [0] * 2,
            "count_test_customers": [0] * 2,
            "decision_rule": [None] * 2,
            "training_cutoff_at": [training_cutoff] * 2,
            "horizon_days": [horizon_days] * 2,
            "warning": [f"churn model not trained: {problem}"] * 2,
        },
        METRICS_SCHEMA,
    )
    return ChurnResult(
        predictions=typed_frame(None, PREDICTIONS_SCHEMA),
        metrics=metrics,
        feature_importance=typed_frame(None, IMPORTANCE_SCHEMA),
        tree_rules=typed_frame(None, RULES_SCHEMA),
        holdout=typed_frame(None, HOLDOUT_SCHEMA),
        warning=problem,
    )


def _metrics_row(model_name, decision_rule, is_churned, predicted, score):
    values = classification_metrics(is_churned, predicted, score)
    return {
        "model_name": model_name,
        "accuracy": values["accuracy"],
        "precision": values["precision"],
        "recall": values["recall"],
        "f1_score": values["f1_score"],
        "roc_auc": values["roc_auc"],
        "base_churn_rate": values["positive_rate"],
        "decision_rule": decision_rule,
    }


# --------------------------------------------------------------------------
# Baseline
# --------------------------------------------------------------------------

_MAX_THRESHOLDS = 512


def _fit_recency_threshold(recency, is_churned):
    """The recency threshold with the best training F1 (ties: the smallest).

    Candidates are the midpoints between distinct recency values (at most
    512, taken at quantiles on large data) and one below the smallest value,
    which flags everyone.
    """
    recency = np.asarray(recency, dtype="float64")
    is_churned = np.asarray(is_churned, dtype=bool)
    values = np.unique(recency)
    if len(values) > _MAX_THRESHOLDS:
        values = np.unique(np.quantile(recency, np.linspace(0, 1, _MAX_THRESHOLDS)))
    candidates = np.concatenate([[values[0] - 1.0], (values[:-1] + values[1:]) / 2])

    order = np.argsort(recency, kind="stable")
    sorted_recency = recency[order]
    churned_below = np.concatenate([[0], np.cumsum(is_churned[order])])
    below = np.searchsorted(sorted_recency, candidates, side="right")
    flagged = len(recency) - below
    true_pos = churned_below[-1] - churned_below[below]
    f1 = 2 * true_pos / (flagged + churned_below[-1])
    best = np.flatnonzero(np.round(f1, 12) == np.round(f1.max(), 12))
    return float(candidates[best].min())


# --------------------------------------------------------------------------
# Reading the tree
# --------------------------------------------------------------------------


def _describe_leaves(tree, train):
    """Rule, size and churn rate of every leaf, indexed by leaf_id."""
    structure = tree.tree_
    leaf_of = tree.apply(_matrix(train))
    churned = train["is_churned"].to_numpy()
    rules = _leaf_rules(structure)
    leaf_ids = np.array(sorted(rules), dtype="int64")
    counts = pd.Series(leaf_of).value_counts().reindex(leaf_ids, fill_value=0)
    rates = pd.Series(churned, dtype="float64").groupby(leaf_of).mean()
    rates = rates.reindex(leaf_ids)
    predicted = tree.classes_[np.argmax(structure.value[leaf_ids, 0, :], axis=1)]
    leaves = pd.DataFrame(
        {
            "rule": [rules[leaf] for leaf in leaf_ids],
            "count_training_customers": counts.to_numpy(),
            "churn_rate": rates.to_numpy(),
            "churn_risk": risk_band(rates.to_numpy()),
            "is_predicted_churn": predicted.astype(bool),
        },
        index=pd.Index(leaf_ids, name="leaf_id"),
    )
    return leaves


def _leaf_rules(structure):
    """Readable conditions on the path to each leaf: {leaf_id: text}."""
    rules = {}
    stack = [(0, {})]
    while stack:
        node, bounds = stack.pop()
        left = structure.children_left[node]
        if left == -1:
            rules[node] = _describe_bounds(bounds)
            continue
        feature = CHURN_FEATURES[structure.feature[node]]
        threshold = float(structure.threshold[node])
        low, high = bounds.get(feature, (-math.inf, math.inf))
        to_left = dict(bounds)
        to_left[feature] = (low, min(high, threshold))
        to_right = dict(bounds)
        to_right[feature] = (max(low, threshold), high)
        stack.append((structure.children_right[node], to_right))
        stack.append((left, to_left))
    return rules


def _describe_bounds(bounds):
    """Conditions in the order their features first split on the path.

    A tree sends x <= threshold left. For a count feature the bounds are
    shown as whole numbers: "frequency <= 1.5" reads "frequency <= 1".
    """
    if not bounds:
        return "all customers (the tree has no split)"
    parts = []
    for feature, (low, high) in bounds.items():
        if feature in _COUNT_FEATURES:
            low_text = None if low == -math.inf else _number(math.floor(low) + 1)
            high_text = None if high == math.inf else _number(math.floor(high))
            if low_text is not None and low_text == high_text:
                parts.append(f"{feature} = {low_text}")
            elif low_text is not None and high_text is not None:
                parts.append(f"{low_text} <= {feature} <= {high_text}")
            elif low_text is not None:
                parts.append(f"{feature} >= {low_text}")
            else:
                parts.append(f"{feature} <= {high_text}")
        else:
            low_text = None if low == -math.inf else _number(low)
            high_text = None if high == math.inf else _number(high)
            if low_text is not None and high_text is not None:
                parts.append(f"{low_text} < {feature} <= {high_text}")
            elif low_text is not None:
                parts.append(f"{feature} > {low_text}")
            else:
                parts.append(f"{feature} <= {high_text}")
    return " and ".join(parts)


def _number(value):
    # XXX: shown to 3 decimals for reading; a customer within 0.0005 of a
    # threshold may sit on the other side of the printed value.
    text = f"{float(value):.3f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def settings_from_config(config):
    """Keyword arguments for ``fit_churn_model`` from a model's config values.

    Parameters
    ----------
    config : dict
        Values of the config keys as_of_date, churn_horizon_days,
        churn_max_depth, churn_min_samples_leaf, churn_class_weight,
        churn_test_share and churn_random_state. An absent or null value
        takes the default of the var of the same name, so class weights are
        switched off with churn_class_weight "none", not null; as_of_date
        may be empty.
    """
    settings = {
        "as_of_date": params.as_optional_str(
            config.get("as_of_date"), key="as_of_date"
        ),
    }
    readers = {
        "churn_horizon_days": ("horizon_days", params.as_int, {"minimum": 1}),
        "churn_max_depth": ("max_depth", params.as_int, {"minimum": 1}),
        "churn_min_samples_leaf": ("min_samples_leaf", params.as_int, {"minimum": 1}),
        "churn_test_share": (
            "test_share",
            params.as_float,
            {"minimum": 0.0, "maximum": 1.0},
        ),
        "churn_random_state": ("random_state", params.as_int, {"minimum": 0}),
    }
    for key, (name, reader, limits) in readers.items():
        if config.get(key) is not None:
            settings[name] = reader(config[key], key=key, **limits)
    if config.get("churn_class_weight") is not None:
        settings["class_weight"] = params.as_class_weight(
            config["churn_class_weight"], key="churn_class_weight"
        )
    return settings
