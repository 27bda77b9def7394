"""churn_predictions: one row per customer with an order before the as-of
date: the chance of no order in the next churn_horizon_days, its risk band
and the tree path behind it (predicted_at is the as-of date).

Read from int_churn_model_fitted, which fits the tree once for all four
churn tables, so they describe the same model; the rules are in
customer_analytics_ml/churn.py. Its config keys are set there.
"""

from customer_analytics_ml import churn
from customer_analytics_ml.tables import typed_relation


def model(dbt, session):
    schema = churn.PREDICTIONS_SCHEMA
    # Returned as a relation: DuckDB copies the rows, pandas never sees them.
    rows = dbt.ref("int_churn_model_fitted").filter(
        "churn_table = 'predictions'"
    )
    return typed_relation(rows, schema)
