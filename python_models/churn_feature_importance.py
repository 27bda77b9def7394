"""churn_feature_importance: one row per churn feature with the tree's
impurity importance and its rank.

Read from int_churn_model_fitted, which fits the tree once for all four
churn tables, so they describe the same model; the rules are in
customer_analytics_ml/churn.py. Its config keys are set there.
"""

from customer_analytics_ml import churn
from customer_analytics_ml.tables import typed_relation


def model(dbt, session):
    schema = churn.IMPORTANCE_SCHEMA
    # Returned as a relation: DuckDB copies the rows, pandas never sees them.
    rows = dbt.ref("int_churn_model_fitted").filter(
        "churn_table = 'feature_importance'"
    )
    return typed_relation(rows, schema)
