"""product_similarity: for each product, its recommendation_count most similar
products with rank, similarity_score and method ("collaborative" or
"content"), for "customers also bought" widgets.

Read from int_recommendations_fitted, which fits the recommender once for
product_recommendations and product_similarity; the rules are in
customer_analytics_ml/recommendations.py. Its config keys are set there.
"""

from customer_analytics_ml import recommendations
from customer_analytics_ml.tables import typed_relation


def model(dbt, session):
    schema = recommendations.SIMILARITY_SCHEMA
    # Returned as a relation: DuckDB copies the rows, pandas never sees them.
    rows = dbt.ref("int_recommendations_fitted").filter(
        "recommendation_table = 'similarity'"
    )
    return typed_relation(rows, schema)
