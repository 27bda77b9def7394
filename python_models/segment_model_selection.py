"""segment_model_selection: one row per number of segments (k) tried.

Fits k-means for every k from segment_k_min to segment_k_max on the
customer features and keeps the silhouette and inertia of each; the row with
is_chosen = true is the k that customer_segments uses. The rules (features,
transform, tie-breaks, what happens with too few customers) are in
customer_analytics_ml/segments.py.

Config keys (each routed from the var of the same name): segment_features,
segment_k_min, segment_k_max, segment_random_state.
"""

from customer_analytics_ml import segments


def model(dbt, session):
    settings = segments.settings_from_config(
        {
            "segment_features": dbt.config.get("segment_features"),
            "segment_k_min": dbt.config.get("segment_k_min"),
            "segment_k_max": dbt.config.get("segment_k_max"),
            "segment_random_state": dbt.config.get("segment_random_state"),
        }
    )
    tables = segments.read_feature_tables(
        [dbt.ref("customer_rfm"), dbt.ref("dim_customers")], settings["features"]
    )
    customers = segments.gather_features(tables, settings["features"])
    return segments.select_k(customers, **settings)
