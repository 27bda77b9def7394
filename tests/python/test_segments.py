"""Customer segments (customer_analytics_ml.segments) on planted data."""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import silhouette_score

from customer_analytics_ml import params, segments

FEATURES = list(segments.DEFAULT_FEATURES)

# Three groups far apart on every feature: loyal big spenders, lapsed
# one-off buyers and a middle group.
GROUP_CENTRES = {
    "loyal": (8.0, 25.0, 6000.0, 45.0, 0.55, 9.0),
    "lapsed": (240.0, 1.0, 40.0, 2.0, 0.04, 1.0),
    "middle": (60.0, 5.0, 600.0, 12.0, 0.2, 3.0),
}


def planted_customers(per_group=60, seed=7):
    rng = np.random.default_rng(seed)
    frames = []
    for group, centre in GROUP_CENTRES.items():
        noise = np.exp(rng.normal(0.0, 0.08, size=(per_group, len(centre))))
        frame = pd.DataFrame(np.array(centre) * noise, columns=FEATURES)
        frames.append(frame.assign(group=group))
    customers = pd.concat(frames, ignore_index=True)
    customers.insert(0, "customer_id", [f"cust-{i:04d}" for i in range(len(customers))])
    return customers


@pytest.fixture(scope="module")
def planted():
    customers = planted_customers()
    return customers, segments.fit_segments(customers, features=FEATURES)


def test_separated_groups_become_separate_segments(planted):
    customers, result = planted
    chosen = result.model_selection.loc[result.model_selection["is_chosen"], "k"]
    assert chosen.tolist() == [3]
    joined = customers.merge(result.segments, on="customer_id")
    pairs = joined.groupby("group")["segment_id"].nunique()
    assert (pairs == 1).all()
    assert joined.groupby("segment_id")["group"].nunique().eq(1).all()


def test_ids_and_names_follow_the_documented_rules(planted):
    customers, result = planted
    profiles = result.profiles
    assert profiles["segment_id"].tolist() == [1, 2, 3]
    assert profiles["mean_monetary"].is_monotonic_decreasing
    assert profiles["segment_name"].is_unique
    names = dict(zip(profiles["segment_id"], profiles["segment_name"], strict=True))
    # Segment 1 is the loyal group, above average on everything but days
    # since the last order; segment 3 the lapsed one, the mirror image. A
    # name holds the three words of the features farthest from the mean.
    loyal = {"high value", "frequent", "recent", "many sessions", "converting"}
    loyal.add("broad range")
    lapsed = {"low value", "infrequent", "lapsed", "few sessions"}
    lapsed.update({"rarely converting", "narrow range"})
    assert len(names[1].split(", ")) == 3
    assert set(names[1].split(", ")) <= loyal
    assert set(names[3].split(", ")) <= lapsed
    assert segments.FEATURE_WORDS["recency_days"] == ("lapsed", "recent")


def test_any_row_order_gives_the_same_segments(planted):
    customers, result = planted
    shuffled = customers.sample(frac=1.0, random_state=3)
    again = segments.fit_segments(shuffled, features=FEATURES)
    pd.testing.assert_frame_equal(again.segments, result.segments)
    pd.testing.assert_frame_equal(again.profiles, result.profiles)
    pd.testing.assert_frame_equal(again.model_selection, result.model_selection)


def test_profiles_match_an_independent_recount(planted):
    customers, result = planted
    joined = customers.merge(result.segments, on="customer_id")
    for _, row in result.profiles.iterrows():
        members = joined.loc[joined["segment_id"] == row["segment_id"]]
        assert row["count_customers"] == len(members)
        assert row["customer_share"] == pytest.approx(len(members) / len(customers))
        for feature in FEATURES:
            assert row[f"mean_{feature}"] == pytest.approx(members[feature].mean())
            assert row[f"median_{feature}"] == pytest.approx(members[feature].median())

    # The silhouette and inertia, recomputed from the standardized features
    # and the published assignments, match the model selection table.
    matrix = segments.prepare_features(customers, features=FEATURES)
    labels = result.segments.set_index("customer_id").loc[
        matrix.customer_id, "segment_id"
    ]
    expected = silhouette_score(matrix.scaled, labels.to_numpy())
    chosen = result.model_selection.loc[result.model_selection["is_chosen"]].iloc[0]
    assert chosen["silhouette_score"] == pytest.approx(expected)
    assert result.profiles["silhouette_score"].eq(chosen["silhouette_score"]).all()
    inertia = float(np.sum(result.segments["distance_to_centroid"] ** 2))
    assert chosen["inertia"] == pytest.approx(inertia)


def test_model_selection_has_one_row_per_k(planted):
    _, result = planted
    table = result.model_selection
    assert table["k"].tolist() == list(range(2, 9))
    assert table["is_chosen"].sum() == 1
    best = table.loc[table["silhouette_score"].idxmax(), "k"]
    assert table.loc[table["is_chosen"], "k"].item() == best
    assert table["warning"].isna().all()


def test_tables_have_the_documented_columns_and_types(planted):
    _, result = planted
    assert dict(result.segments.dtypes.astype(str)) == {
        "customer_id": "string",
        "segment_id": "int64",
        "segment_name": "string",
        "distance_to_centroid": "float64",
    }
    assert list(result.model_selection.columns) == list(segments.MODEL_SELECTION_SCHEMA)
    assert result.model_selection["k"].dtype == "int64"
    assert result.model_selection["is_chosen"].dtype == bool
    schema = segments.profiles_schema(FEATURES)
    assert list(result.profiles.columns) == list(schema)
    for column, dtype in schema.items():
        expected = "string" if dtype == "str" else dtype
        assert str(result.profiles[column].dtype) == expected, column
    texts = (
        result.segments["customer_id"].tolist()
        + result.profiles["segment_name"].tolist()
    )
    assert all(isinstance(text, str) for text in texts)


def test_few_distinct_customers_lower_k_instead_of_failing():
    customers = planted_customers(per_group=1)
    # Six customers, but only three distinct feature rows.
    doubled = pd.concat(
        [customers, customers.assign(customer_id=lambda f: f.customer_id + "b")]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = segments.fit_segments(doubled, features=FEATURES, k_min=4, k_max=8)
    assert result.model_selection["k"].tolist() == [3]
    assert "k tried from 3 to 3" in result.model_selection["warning"].iloc[0]
    assert result.segments["segment_id"].nunique() == 3


def test_too_few_customers_warn_and_share_one_segment():
    customers = planted_customers(per_group=1).head(2)
    with pytest.warns(UserWarning, match="too few customers to segment"):
        result = segments.fit_segments(customers, features=FEATURES)
    assert result.model_selection["k"].tolist() == [1]
    assert result.segments["segment_id"].tolist() == [1, 1]
    assert result.segments["segment_name"].eq("all customers").all()
    assert result.profiles["count_customers"].tolist() == [2]
    assert "too few customers" in result.profiles["warning"].iloc[0]


def test_no_customers_give_empty_tables():
    empty = planted_customers().head(0)
    with pytest.warns(UserWarning):
        result = segments.fit_segments(empty, features=FEATURES)
    assert result.segments.empty and result.profiles.empty
    assert list(result.segments.columns) == list(segments.SEGMENTS_SCHEMA)


def test_missing_values_count_as_zero(planted):
    customers, result = planted
    with_gaps = customers.copy()
    zeros = with_gaps["session_count"].copy()
    zeros.iloc[::7] = 0.0
    with_gaps["session_count"] = zeros
    with_nulls = customers.copy()
    nulls = with_nulls["session_count"].copy()
    nulls.iloc[::7] = np.nan
    with_nulls["session_count"] = nulls
    left = segments.fit_segments(with_gaps, features=FEATURES)
    right = segments.fit_segments(with_nulls, features=FEATURES)
    pd.testing.assert_frame_equal(left.segments, right.segments)


def test_the_feature_list_is_configurable(planted):
    customers, _ = planted
    chosen = ["monetary", "frequency"]
    result = segments.fit_segments(customers, features=chosen, k_max=4)
    assert list(result.profiles.columns) == list(segments.profiles_schema(chosen))
    assert "mean_recency_days" not in result.profiles


def test_bad_settings_name_what_is_wrong(planted):
    customers, _ = planted
    with pytest.raises(ValueError, match="segment_k_min"):
        segments.select_k(customers, features=FEATURES, k_min=1)
    with pytest.raises(ValueError, match="segment_k_max"):
        segments.select_k(customers, features=FEATURES, k_min=5, k_max=3)
    with pytest.raises(ValueError, match="basket_size"):
        segments.select_k(customers, features=["monetary", "basket_size"])
    duplicated = pd.concat([customers, customers.head(1)])
    with pytest.raises(ValueError, match="cust-0000"):
        segments.select_k(duplicated, features=FEATURES)


def test_config_values_may_arrive_as_text():
    settings = segments.settings_from_config(
        {
            "segment_features": "['monetary', 'frequency']",
            "segment_k_min": "3",
            "segment_k_max": 5,
            "segment_random_state": None,
        }
    )
    assert settings == {
        "features": ["monetary", "frequency"],
        "k_min": 3,
        "k_max": 5,
        "random_state": 42,
    }
    assert params.as_str_list("monetary, frequency", key="x") == [
        "monetary",
        "frequency",
    ]
    with pytest.raises(ValueError, match="segment_k_min"):
        segments.settings_from_config({"segment_k_min": "two"})
    with pytest.raises(ValueError, match="segment_k_max"):
        segments.settings_from_config({"segment_k_max": 2.5})


def test_features_are_gathered_from_several_tables(planted):
    customers, _ = planted
    rfm = customers[["customer_id", "recency_days", "frequency", "monetary"]]
    dims = customers[
        ["customer_id", "session_count", "conversion_rate", "distinct_categories"]
    ].iloc[::-1]
    gathered = segments.gather_features([rfm, dims], FEATURES)
    expected = customers[["customer_id", *FEATURES]]
    pd.testing.assert_frame_equal(gathered, expected)
    k = segments.chosen_k(pd.DataFrame({"k": [2, 3], "is_chosen": [False, True]}))
    assert k == 3


def test_silhouettes_match_scikit_learn_on_the_same_sample():
    """All ks' silhouettes come from one pass over the sample's distances;
    scikit-learn's silhouette_score, one k at a time, is the reference."""
    rng = np.random.default_rng(3)
    points = np.vstack(
        [rng.normal(centre, 0.6, size=(150, 3)) for centre in (0.0, 2.0, 5.0)]
    )
    points = np.vstack([points, points[:5]])  # duplicate rows: zero distances
    labelings = [rng.integers(0, k, len(points)) for k in (2, 3, 5)]
    labelings.append(np.where(np.arange(len(points)) == 7, 1, 0))  # a singleton
    labelings.append(np.repeat([0, 1, 2], [150, 150, 155]))
    for sample_size in (120, 10_000):
        ours = segments._silhouettes(points, labelings, 11, sample_size, chunk_rows=37)
        for labels, value in zip(labelings, ours, strict=True):
            reference = silhouette_score(
                points,
                labels,
                sample_size=sample_size if sample_size < len(points) else None,
                random_state=11,
            )
            assert value == pytest.approx(reference, abs=1e-12)
    one_segment = segments._silhouettes(points, [np.zeros(len(points), int)], 0, 50)
    assert np.isnan(one_segment[0])
