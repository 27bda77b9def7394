"""product_recommendations: for each customer, the top recommendation_count
products with rank (1 is best), score and reason.

Read from int_recommendations_fitted, which fits the recommender once for
product_recommendations and product_similarity; the rules are in
customer_analytics_ml/recommendations.py. Its config keys are set there.
"""

from customer_analytics_ml import recommendations
from customer_analytics_ml.tables import typed_relation


def model(dbt, session):
    schema = recommendations.RECOMMENDATIONS_SCHEMA
    # Returned as a relation: DuckDB copies the rows, pandas never sees them.
    rows = dbt.ref("int_recommendations_fitted").filter(
        "recommendation_table = 'recommendations'"
    )
    return typed_relation(rows, schema)
