"""recommendation_metrics: one row per model (recommender, popularity_baseline)
with precision, recall, hit rate, NDCG and MAP at k = recommendation_count,
catalogue coverage and the customers evaluated.

A temporal holdout: the model is fitted on events before the last
recommendation_holdout_days and judged on the purchases inside them.

Read from int_recommendations_fitted, which reads the events once for this
evaluation's fit and for the fit behind product_recommendations and
product_similarity; the rules are in customer_analytics_ml/recommendations.py.
Its config keys are set there.
"""

from customer_analytics_ml import recommendations
from customer_analytics_ml.tables import typed_relation


def model(dbt, session):
    schema = recommendations.METRICS_SCHEMA
    # Returned as a relation: DuckDB copies the rows, pandas never sees them.
    rows = dbt.ref("int_recommendations_fitted").filter(
        "recommendation_table = 'metrics'"
    )
    return typed_relation(rows, schema)
