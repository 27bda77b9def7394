"""churn_tree_rules: one row per leaf of the churn tree: its conditions,
the training customers in it, their churn rate and the risk band.

Read from int_churn_model_fitted, which fits the tree once for all four
churn tables, so they describe the same model; the rules are in
customer_analytics_ml/churn.py. Its config keys are set there.
"""

from customer_analytics_ml import churn
from customer_analytics_ml.tables import typed_relation


def model(dbt, session):
    schema = churn.RULES_SCHEMA
    # Returned as a relation: DuckDB copies the rows, pandas never sees them.
    rows = dbt.ref("int_churn_model_fitted").filter(
        "churn_table = 'tree_rules'"
    )
    return typed_relation(rows, schema)
