"""int_recommendations_fitted: product_recommendations, product_similarity
and recommendation_metrics from the recommender's two fits, stacked in one
long table; recommendation_table names the table of each row
("recommendations", "similarity", "metrics"). A column that a table does
not have is null on its rows.

Why one model: a dbt Python model returns one table. The lists and the
similarities come from the same fit (all events before the as-of date), and
the metrics from a fit on the events before the holdout; both fits are read
from fct_events by the same three DuckDB queries, which at 10 million
events cost about as much as everything else a fit does. The three tables
read their rows back. How lists are filled, scored, explained and evaluated
is in customer_analytics_ml/recommendations.py.

Config keys (each routed from the var of the same name): as_of_date,
recommendation_count, recommendation_holdout_days,
recommendation_allow_repeat_purchases, recommendation_view_weight,
recommendation_cart_weight, recommendation_purchase_weight.
"""

import pandas as pd
import pyarrow as pa

from customer_analytics_ml import recommendations
from customer_analytics_ml.tables import ARROW_TYPES, arrow_table

# Rows of a DuckDB row group.
ROW_GROUP_ROWS = 122_880
TABLES = {
    "recommendations": recommendations.RECOMMENDATIONS_SCHEMA,
    "similarity": recommendations.SIMILARITY_SCHEMA,
    "metrics": recommendations.METRICS_SCHEMA,
}


def model(dbt, session):
    # One literal dbt.config.get per key: dbt hands a Python model only the
    # config keys it finds written out that way in the file, so a loop over
    # key names would read None for every var (and the defaults would win).
    settings = recommendations.settings_from_config(
        {
            "as_of_date": dbt.config.get("as_of_date"),
            "recommendation_count": dbt.config.get("recommendation_count"),
            "recommendation_holdout_days": dbt.config.get(
                "recommendation_holdout_days"
            ),
            "recommendation_allow_repeat_purchases": dbt.config.get(
                "recommendation_allow_repeat_purchases"
            ),
            "recommendation_view_weight": dbt.config.get("recommendation_view_weight"),
            "recommendation_cart_weight": dbt.config.get("recommendation_cart_weight"),
            "recommendation_purchase_weight": dbt.config.get(
                "recommendation_purchase_weight"
            ),
        }
    )
    # The relation, not a DataFrame: the recommender aggregates the events
    # in DuckDB and reads back only customer × product counts.
    # Unused, but it makes dbt run this model after fct_sessions, so the
    # fit's memory does not add to the window sorts of the two session
    # models (README, "How fast it is": the full build's peak).
    dbt.ref("fct_sessions")
    events = dbt.ref("fct_events")
    as_of = recommendations.resolve_events_as_of(events, settings.get("as_of_date"))
    count = settings.get("count", 10)
    weights = {
        key: settings[key]
        for key in ("view_weight", "cart_weight", "purchase_weight")
        if key in settings
    }
    if as_of is None:
        lists = arrow_table(None, TABLES["recommendations"])
        similar = arrow_table(None, TABLES["similarity"])
        # Warns that there is nothing to evaluate; the rows say so too.
        metrics = recommendations.evaluate_recommendations(events, **settings)
    else:
        holdout_start = as_of - pd.Timedelta(days=settings.get("holdout_days", 30))
        fits = recommendations.fit_recommenders(
            events, cutoffs=[holdout_start, as_of], **weights
        )
        metrics = recommendations.evaluate_recommendations(
            events, **settings, model=next(fits)
        )
        fitted = next(fits)
        # Arrow, not pandas: one row per customer and rank is millions of
        # rows at scale.
        lists = recommendations.recommend(
            fitted,
            count=count,
            allow_repeat_purchases=settings.get("allow_repeat_purchases", False),
            as_arrow=True,
        )
        similar = recommendations.similar_products(None, count=count, model=fitted)
        del fitted
        similar = arrow_table(
            {column: similar[column].to_numpy() for column in similar.columns},
            TABLES["similarity"],
        )
    # pandas' missing values (NaN, NA, NaT) become Arrow nulls, which DuckDB
    # stores as NULL, as it did for the metrics frame.
    metrics = pa.Table.from_pandas(metrics.metrics, preserve_index=False)
    metrics = arrow_table(
        {column: metrics[column] for column in metrics.column_names},
        TABLES["metrics"],
    )
    return stack({"recommendations": lists, "similarity": similar, "metrics": metrics})


def stack(tables):
    """One long Arrow table from the tables: every column of every table,
    null on the rows of a table that does not have it, typed as in the
    schemas whether or not a table has rows."""
    schema = {"recommendation_table": "str"}
    for table_schema in TABLES.values():
        for column, dtype in table_schema.items():
            schema.setdefault(column, dtype)
    parts = []
    for name, table in tables.items():
        columns = {}
        for column, dtype in schema.items():
            if column == "recommendation_table":
                name_value = pa.scalar(name, pa.string())
                columns[column] = pa.repeat(name_value, table.num_rows)
            elif column in table.column_names:
                columns[column] = table[column]
            else:
                columns[column] = pa.nulls(table.num_rows, ARROW_TYPES[dtype])
        parts.append(arrow_table(columns, schema))
    # In chunks of a DuckDB row group: DuckDB then copies the chunks into
    # the table on both threads, in order. At 10 million events (5 million
    # rows) that took 5 CPU s against 10 for the lists as one chunk.
    stacked = pa.concat_tables(parts)
    return pa.Table.from_batches(
        stacked.to_batches(max_chunksize=ROW_GROUP_ROWS), schema=stacked.schema
    )
