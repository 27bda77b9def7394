"""int_churn_model_fitted: every churn table from one fit of the tree, stacked
in one long table; churn_table names the table each row belongs to
("predictions", "metrics", "feature_importance", "tree_rules").

Why one model: a dbt Python model returns one table, and churn_predictions,
churn_model_metrics, churn_feature_importance and churn_tree_rules must all
describe the same tree. Fitting it once here and letting those four read
their rows back (a filter on churn_table) replaces four identical fits, each
of which coded all of fct_events again. A column that a table does not have
is null on its rows. Definition, split, bands and the baseline are in
customer_analytics_ml/churn.py.

Config keys (each routed from the var of the same name): as_of_date,
churn_horizon_days, churn_max_depth, churn_min_samples_leaf,
churn_class_weight, churn_test_share, churn_random_state.
"""

import pandas as pd

from customer_analytics_ml import churn

TABLES = {
    "predictions": churn.PREDICTIONS_SCHEMA,
    "metrics": churn.METRICS_SCHEMA,
    "feature_importance": churn.IMPORTANCE_SCHEMA,
    "tree_rules": churn.RULES_SCHEMA,
}


def model(dbt, session):
    # One literal dbt.config.get per key: dbt hands a Python model only the
    # config keys it finds written out that way in the file, so a loop over
    # key names would read None for every var (and the defaults would win).
    settings = churn.settings_from_config(
        {
            "as_of_date": dbt.config.get("as_of_date"),
            "churn_horizon_days": dbt.config.get("churn_horizon_days"),
            "churn_max_depth": dbt.config.get("churn_max_depth"),
            "churn_min_samples_leaf": dbt.config.get("churn_min_samples_leaf"),
            "churn_class_weight": dbt.config.get("churn_class_weight"),
            "churn_test_share": dbt.config.get("churn_test_share"),
            "churn_random_state": dbt.config.get("churn_random_state"),
        }
    )
    # The relation, not a DataFrame: DuckDB codes the events into numbers
    # and only those reach Python. When the data cannot support training
    # this warns, and the reason is also kept in churn_model_metrics.warning.
    # Unused, but it makes dbt run this model after fct_sessions, so the
    # fit's memory does not add to the window sorts of the two session
    # models (README, "How fast it is": the full build's peak).
    dbt.ref("fct_sessions")
    result = churn.fit_churn_model(dbt.ref("fct_events"), **settings)
    return stack(
        {
            "predictions": result.predictions,
            "metrics": result.metrics,
            "feature_importance": result.feature_importance,
            "tree_rules": result.tree_rules,
        }
    )


def stack(frames):
    """One long frame from the tables, typed so that every column keeps its
    type when some tables (or all) have no rows: whole numbers and booleans
    become nullable, text stays text."""
    schema = {"churn_table": "str"}
    for table_schema in TABLES.values():
        for column, dtype in table_schema.items():
            schema.setdefault(column, dtype)
    nullable = {"int64": "Int64", "bool": "boolean", "float64": "float64"}
    parts = [frame.assign(churn_table=name) for name, frame in frames.items()]
    long = pd.concat(parts, ignore_index=True)
    result = {}
    for column, dtype in schema.items():
        values = long[column] if column in long else pd.Series([], dtype=object)
        if dtype == "str":
            result[column] = values.astype("string")
        elif dtype == "datetime64[us]":
            result[column] = pd.to_datetime(values).astype("datetime64[us]")
        else:
            result[column] = values.astype(nullable[dtype])
    return pd.DataFrame(result, columns=list(schema))
