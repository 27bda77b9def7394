"""customer_segments: one row per customer with its segment.

Refits k-means with the k chosen in segment_model_selection and the same
random_state, which reproduces that fit exactly, so only one k is fitted
here. Segment ids are ordered by mean monetary, highest first; names come
from each centroid's profile. Rules: customer_analytics_ml/segments.py.

Config keys (each routed from the var of the same name): segment_features,
segment_random_state.
"""

from customer_analytics_ml import segments


def model(dbt, session):
    settings = segments.settings_from_config(
        {
            "segment_features": dbt.config.get("segment_features"),
            "segment_random_state": dbt.config.get("segment_random_state"),
        }
    )
    tables = segments.read_feature_tables(
        [dbt.ref("customer_rfm"), dbt.ref("dim_customers")], settings["features"]
    )
    customers = segments.gather_features(tables, settings["features"])
    k = segments.chosen_k(dbt.ref("segment_model_selection").df())
    return segments.assign_segments(
        customers,
        features=settings["features"],
        k=k,
        random_state=settings["random_state"],
    )
