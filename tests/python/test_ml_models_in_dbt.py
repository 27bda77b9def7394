"""The dbt Python models (segments, churn, recommendations) and
marts.customer_scores, as dbt builds them.

The package's rules are tested directly in test_segments.py, test_churn.py
and test_recommendations.py; these tests check the wiring: the tables are
the same on a second build, they agree with each other and with
fct_events, and a tiny clickstream still builds (with warnings in the
tables instead of a failure).
"""

from __future__ import annotations

import ast

import pandas as pd
import pytest
import yaml
from conftest import FIXTURES, PROJECT_DIR, SAMPLE_PATH, build_on, run_dbt

PYTHON_MARTS = {
    "segment_model_selection": ["k"],
    "customer_segments": ["customer_id"],
    "segment_profiles": ["segment_id"],
    "churn_predictions": ["customer_id"],
    "churn_model_metrics": ["model_name"],
    "churn_feature_importance": ["feature"],
    "churn_tree_rules": ["leaf_id"],
    "product_recommendations": ["customer_id", "rank"],
    "product_similarity": ["product_id", "rank"],
    "recommendation_metrics": ["model_name"],
}


@pytest.fixture(scope="module")
def second_build(tmp_path_factory):
    """The Python marts and customer_scores built again into a fresh
    database (only they and their parents, seeds included, without tests)."""
    selected = " ".join(f"+{name}" for name in [*PYTHON_MARTS, "customer_scores"])
    return run_dbt(
        [
            "build",
            "--select",
            selected,
            "--exclude-resource-type",
            "test",
            "unit_test",
        ],
        workdir=tmp_path_factory.mktemp("ml_second_build"),
        dbt_vars={"events_path": str(SAMPLE_PATH), "events_format": "online_retail"},
    )


def _sorted(build, name, keys):
    return build.table(f"marts.{name}").sort_values(keys, ignore_index=True)


@pytest.mark.parametrize("name", [*PYTHON_MARTS, "customer_scores"])
def test_a_second_build_gives_identical_tables(sample_build, second_build, name):
    keys = PYTHON_MARTS.get(name, ["customer_id"])
    first = _sorted(sample_build, name, keys)
    second = _sorted(second_build, name, keys)
    assert len(first) > 0
    pd.testing.assert_frame_equal(first, second, check_exact=True)


def test_lists_hold_no_product_the_customer_already_bought(sample_build):
    repeats = sample_build.query(
        """
        select count(*) as repeat_count
        from marts.product_recommendations as recommendations
        inner join marts.fct_events as events
            on recommendations.customer_id = events.customer_id
            and recommendations.product_id = events.product_id
        where events.event_type = 'purchase'
        """
    )
    assert repeats["repeat_count"].iloc[0] == 0


def test_lists_hold_only_merchandise(sample_build):
    non_merchandise = sample_build.query(
        """
        select count(*) as product_count
        from marts.product_recommendations
        where product_id in (
            select product_id from marts.fct_events where not is_merchandise
        )
        """
    )
    assert non_merchandise["product_count"].iloc[0] == 0


def test_every_customer_gets_a_full_list(sample_build):
    lengths = sample_build.query(
        """
        select customer_id, count(*) as list_length, max(rank) as last_rank
        from marts.product_recommendations
        group by 1
        """
    )
    assert (lengths["list_length"] == 10).all()
    assert (lengths["last_rank"] == 10).all()


def test_segment_sizes_match_the_customers_in_them(sample_build):
    counted = sample_build.query(
        """
        select segment_id, segment_name, count(*) as count_customers
        from marts.customer_segments
        group by 1, 2
        order by 1
        """
    )
    profiles = sample_build.table("marts.segment_profiles", order_by="segment_id")
    pd.testing.assert_frame_equal(
        counted,
        profiles[["segment_id", "segment_name", "count_customers"]],
        check_dtype=False,
    )
    assert profiles["customer_share"].sum() == pytest.approx(1.0)
    chosen = sample_build.query(
        "select k from marts.segment_model_selection where is_chosen"
    )
    assert chosen["k"].tolist() == [len(profiles)]


def test_segments_cover_the_rfm_customers(sample_build):
    missing = sample_build.query(
        """
        select count(*) as customer_count
        from marts.customer_rfm
        where customer_id not in (select customer_id from marts.customer_segments)
        """
    )
    assert missing["customer_count"].iloc[0] == 0


def test_each_risk_band_matches_its_probability(sample_build):
    predictions = sample_build.table("marts.churn_predictions")
    expected = pd.cut(
        predictions["churn_probability"],
        bins=[-float("inf"), 0.3, 0.6, float("inf")],
        right=False,
        labels=["low", "medium", "high"],
    ).astype(str)
    assert (predictions["churn_risk"] == expected).all()
    assert set(predictions["churn_risk"]) == {"low", "medium", "high"}


def test_each_prediction_is_a_leaf_of_the_tree(sample_build):
    unmatched = sample_build.query(
        """
        select count(*) as customer_count
        from marts.churn_predictions as predictions
        left join marts.churn_tree_rules as rules
            on predictions.churn_reason = rules.rule
            and predictions.churn_probability = rules.churn_rate
            and predictions.churn_risk = rules.churn_risk
        where rules.leaf_id is null
        """
    )
    assert unmatched["customer_count"].iloc[0] == 0


def test_churn_split_covers_the_customers_who_ordered_before_the_cutoff(
    sample_build,
):
    metrics = sample_build.table("marts.churn_model_metrics")
    cutoff = metrics["training_cutoff_at"].iloc[0]
    ordered = sample_build.query(
        f"""
        select count(distinct customer_id) as customer_count
        from marts.fct_events
        where
            event_type = 'purchase'
            and is_merchandise
            and customer_id is not null
            and event_at < timestamp '{cutoff}'
        """
    )["customer_count"].iloc[0]
    split = metrics["count_train_customers"] + metrics["count_test_customers"]
    assert (split == ordered).all()
    assert metrics["warning"].isna().all()
    assert metrics["base_churn_rate"].nunique() == 1


def test_feature_importances_sum_to_one(sample_build):
    importance = sample_build.table("marts.churn_feature_importance")
    assert importance["importance"].sum() == pytest.approx(1.0)
    assert sorted(importance["importance_rank"]) == list(range(1, 12))


def test_evaluated_customers_are_those_with_a_new_holdout_purchase(sample_build):
    metrics = sample_build.table("marts.recommendation_metrics")
    start, end = metrics[["holdout_start_at", "holdout_end_at"]].iloc[0]
    expected = sample_build.query(
        f"""
        with purchases as (

            select customer_id, product_id, event_at
            from marts.fct_events
            where
                event_type = 'purchase'
                and is_merchandise
                and customer_id is not null
                and product_id is not null
                and event_at < timestamp '{end}'

        )

        select count(distinct customer_id) as customer_count
        from purchases as holdout
        where
            event_at >= timestamp '{start}'
            and not exists (
                select 1 from purchases as earlier
                where
                    earlier.customer_id = holdout.customer_id
                    and earlier.product_id = holdout.product_id
                    and earlier.event_at < timestamp '{start}'
            )
        """
    )["customer_count"].iloc[0]
    assert (metrics["count_customers_evaluated"] == expected).all()
    assert metrics["warning"].isna().all()


def test_customer_scores_has_one_row_per_customer(sample_build):
    counts = sample_build.query(
        """
        select
            (select count(*) from marts.customer_scores) as score_rows,
            (select count(*) from marts.dim_customers) as customer_rows,
            (select count(*) from marts.customer_scores
             where churn_risk is not null) as scored_rows,
            (select count(*) from marts.churn_predictions) as prediction_rows
        """
    ).iloc[0]
    assert counts["score_rows"] == counts["customer_rows"]
    assert counts["scored_rows"] == counts["prediction_rows"]


def test_a_tiny_clickstream_builds_with_warnings_in_the_tables(tmp_path):
    # 330 users over one day: no customer ordered before the churn cutoff
    # and nothing precedes the recommendation holdout.
    result = build_on(
        FIXTURES / "rees46_2019-Oct_first1000.csv", "rees46", tmp_path
    )
    assert "churn model not trained" in result.output
    churn = result.table("marts.churn_model_metrics")
    assert churn["warning"].str.contains("not trained").all()
    assert len(result.table("marts.churn_predictions")) == 0
    evaluation = result.table("marts.recommendation_metrics")
    assert evaluation["warning"].str.contains("not evaluated").all()
    assert len(result.table("marts.product_recommendations")) > 0
    scores = result.table("marts.customer_scores")
    assert len(scores) == len(result.table("marts.dim_customers"))


def _configured_keys():
    """{Python model: the config keys _python_models.yml routes to it}."""
    spec_path = PROJECT_DIR / "python_models" / "_python_models.yml"
    spec = yaml.safe_load(spec_path.read_text())
    return {
        model["name"]: set(model["config"])
        for model in spec["models"]
        if model.get("config")
    }


@pytest.mark.parametrize("name, keys", sorted(_configured_keys().items()))
def test_every_python_model_is_handed_its_configured_vars(sample_build, name, keys):
    # dbt gives a Python model only the config keys written out as literal
    # dbt.config.get("key") calls in its file; the churn and recommendation
    # models once asked in a loop and got none, so every var was ignored.
    compiled = (
        sample_build.target_path
        / "run"
        / "customer_analytics"
        / "python_models"
        / f"{name}.py"
    )
    line = next(
        line
        for line in compiled.read_text().splitlines()
        if line.startswith("config_dict = ")
    )
    handed = ast.literal_eval(line.removeprefix("config_dict = "))
    assert keys <= set(handed)


def test_vars_reach_the_churn_and_recommendation_models(tmp_path):
    as_of = pd.Timestamp("2011-10-01")
    result = build_on(
        SAMPLE_PATH,
        "online_retail",
        tmp_path,
        select="+churn_predictions +churn_model_metrics"
        " +product_recommendations +recommendation_metrics",
        extra_vars={
            "as_of_date": "2011-10-01",
            "churn_horizon_days": 45,
            "recommendation_count": 3,
            "recommendation_holdout_days": 20,
        },
        env={"DBT_EXCLUDE_RESOURCE_TYPES": "test unit_test"},
    )
    lists = result.table("marts.product_recommendations")
    assert lists.groupby("customer_id")["rank"].max().max() == 3
    evaluation = result.table("marts.recommendation_metrics")
    assert (evaluation["holdout_end_at"] == as_of).all()
    assert (evaluation["holdout_start_at"] == as_of - pd.Timedelta(days=20)).all()
    assert (evaluation["k"] == 3).all()
    churn = result.table("marts.churn_model_metrics")
    assert (churn["horizon_days"] == 45).all()
    assert (churn["training_cutoff_at"] == as_of - pd.Timedelta(days=45)).all()
    predictions = result.table("marts.churn_predictions")
    assert len(predictions) > 0
    assert (predictions["predicted_at"] == as_of).all()
