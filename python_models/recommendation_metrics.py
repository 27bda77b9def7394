"""recommendation_metrics: one row per model (recommender, popularity_baseline)
with precision, recall, hit rate, NDCG and MAP at k = recommendation_count,
catalogue coverage and the customers evaluated.

A temporal holdout: the model is fitted on events before the last
recommendation_holdout_days and judged on the purchases inside them.

Config keys (each routed from the var of the same name): as_of_date,
recommendation_count, recommendation_holdout_days,
recommendation_allow_repeat_purchases, recommendation_view_weight,
recommendation_cart_weight, recommendation_purchase_weight.
"""

from customer_analytics_ml import recommendations


def model(dbt, session):
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
    # The relation, not a DataFrame: the events are aggregated in DuckDB.
    events = dbt.ref("fct_events")
    return recommendations.evaluate_recommendations(events, **settings).metrics
