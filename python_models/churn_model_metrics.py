"""churn_model_metrics: one row per model (decision_tree, recency_baseline):
accuracy, precision, recall, F1 and ROC AUC on the held-out customers, the
base churn rate and the split sizes. When the data cannot support training,
the metrics are empty and warning says why.

Read from int_churn_model_fitted, which fits the tree once for all four
churn tables, so they describe the same model; the rules are in
customer_analytics_ml/churn.py. Its config keys are set there.
"""

from customer_analytics_ml import churn
from customer_analytics_ml.tables import typed_relation


def model(dbt, session):
    schema = churn.METRICS_SCHEMA
    # Returned as a relation: DuckDB copies the rows, pandas never sees them.
    rows = dbt.ref("int_churn_model_fitted").filter(
        "churn_table = 'metrics'"
    )
    return typed_relation(rows, schema)
