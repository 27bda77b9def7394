"""segment_profiles: one row per segment with its size, share, the mean and
median of each feature, and the silhouette of the chosen k.

Reads customer_segments and segment_model_selection rather than fitting
again. Its mean_<feature> and median_<feature> columns follow the var
segment_features.

Config keys (each routed from the var of the same name): segment_features.
"""

from customer_analytics_ml import segments


def model(dbt, session):
    settings = segments.settings_from_config(
        {"segment_features": dbt.config.get("segment_features")}
    )
    tables = segments.read_feature_tables(
        [dbt.ref("customer_rfm"), dbt.ref("dim_customers")], settings["features"]
    )
    customers = segments.gather_features(tables, settings["features"])
    return segments.profile_segments(
        customers,
        dbt.ref("customer_segments").df(),
        dbt.ref("segment_model_selection").df(),
        features=settings["features"],
    )
