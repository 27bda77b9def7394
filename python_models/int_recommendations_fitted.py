"""int_recommendations_fitted: product_recommendations and product_similarity
from one fit of the recommender, stacked in one long table;
recommendation_table names the table of each row ("recommendations",
"similarity"). A column that a table does not have is null on its rows.

Why one model: a dbt Python model returns one table, and both tables come
from the same fit (all events before the as-of date). Fitting once here and
letting the two read their rows back replaces two identical fits.
recommendation_metrics fits on its own, on the events before the holdout.
How lists are filled, scored and explained is in
customer_analytics_ml/recommendations.py.

Config keys (each routed from the var of the same name): as_of_date,
recommendation_count, recommendation_allow_repeat_purchases,
recommendation_view_weight, recommendation_cart_weight,
recommendation_purchase_weight.
"""

import pandas as pd

from customer_analytics_ml import recommendations
from customer_analytics_ml.tables import typed_frame

CONFIG_KEYS = (
    "as_of_date",
    "recommendation_count",
    "recommendation_allow_repeat_purchases",
    "recommendation_view_weight",
    "recommendation_cart_weight",
    "recommendation_purchase_weight",
)
TABLES = {
    "recommendations": recommendations.RECOMMENDATIONS_SCHEMA,
    "similarity": recommendations.SIMILARITY_SCHEMA,
}


def model(dbt, session):
    settings = recommendations.settings_from_config(
        {key: dbt.config.get(key) for key in CONFIG_KEYS}
    )
    # The relation, not a DataFrame: the recommender aggregates the events
    # in DuckDB and reads back only customer × product counts.
    events = dbt.ref("fct_events")
    as_of = recommendations.resolve_events_as_of(events, settings.get("as_of_date"))
    count = settings.get("count", 10)
    if as_of is None:
        lists = typed_frame(None, TABLES["recommendations"])
        similar = typed_frame(None, TABLES["similarity"])
    else:
        fitted = recommendations.fit_recommender(
            events,
            cutoff=as_of,
            view_weight=settings.get("view_weight", 1.0),
            cart_weight=settings.get("cart_weight", 3.0),
            purchase_weight=settings.get("purchase_weight", 5.0),
        )
        lists = recommendations.recommend(
            fitted,
            count=count,
            allow_repeat_purchases=settings.get("allow_repeat_purchases", False),
        )
        similar = recommendations.similar_products(None, count=count, model=fitted)
    return stack({"recommendations": lists, "similarity": similar})


def stack(frames):
    """One long frame from the tables, typed so that every column keeps its
    type when a table has no rows: whole numbers become nullable, text stays
    text."""
    schema = {"recommendation_table": "str"}
    for table_schema in TABLES.values():
        for column, dtype in table_schema.items():
            schema.setdefault(column, dtype)
    nullable = {"int64": "Int64", "float64": "float64"}
    parts = [frame.assign(recommendation_table=name) for name, frame in frames.items()]
    long = pd.concat(parts, ignore_index=True)
    result = {}
    for column, dtype in schema.items():
        values = long[column] if column in long else pd.Series([], dtype=object)
        if dtype == "str":
            result[column] = values.astype("string")
        else:
            result[column] = values.astype(nullable[dtype])
    return pd.DataFrame(result, columns=list(schema))
