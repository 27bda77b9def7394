"""Customer segments: k-means on standardized customer features.

Three tables come from here, each from one public function:

- ``select_k`` -> segment_model_selection: one row per k tried.
- ``assign_segments`` -> customer_segments: one row per customer.
- ``profile_segments`` -> segment_profiles: one row per segment.

``fit_segments`` runs all three in order.

Rules
-----
- Features: the configured columns, each numeric. A missing value counts
  as 0 (a customer with no sessions recorded has 0 sessions).
- Transform: a feature whose skewness is above 1 in absolute value is put
  through sign(x)·log(1 + |x|); then every feature is standardized to mean 0
  and standard deviation 1 (a constant feature stays 0).
- Row order: customers are sorted by customer_id before fitting, so the
  same customers in any row order get the same segments.
- k: every k from k_min to k_max is fitted (k-means++, 4 initialisations,
  fixed random_state) and the k with the highest silhouette wins; a tie goes
  to the smaller k. The silhouette is computed on at most 10,000 customers
  drawn with the same random_state, which keeps it fast on large bases.
- Too little data: k never exceeds the number of distinct feature rows or
  the number of customers minus one; the range is lowered to fit. With
  fewer than 3 customers or fewer than 2 distinct feature rows there is
  nothing to cluster: every customer goes to one segment, and the tables
  carry a warning.
- Segment ids: 1, 2, ... by mean of the ordering feature (monetary when it
  is a feature, else the first feature), highest first; ties go to the
  larger segment, then to the smaller centroid coordinates.
- Names: from each centroid in standardized units, that is against the
  overall mean. A feature at least 0.5 standard deviations above or below
  it gives a word (for example "high value" or "recent"); the three
  strongest words, strongest first, make the name, and a segment with none
  is "average". When two segments would share a name, all their words are
  used, and if they still clash, the segment id is added.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import skew
from sklearn.cluster import KMeans
from sklearn.utils import check_random_state
from threadpoolctl import threadpool_limits

from . import params
from .tables import typed_frame

__all__ = [
    "DEFAULT_FEATURES",
    "SEGMENTS_SCHEMA",
    "MODEL_SELECTION_SCHEMA",
    "SegmentResult",
    "prepare_features",
    "select_k",
    "assign_segments",
    "profile_segments",
    "profiles_schema",
    "fit_segments",
    "gather_features",
    "read_feature_tables",
    "chosen_k",
    "settings_from_config",
]

DEFAULT_FEATURES = (
    "recency_days",
    "frequency",
    "monetary",
    "session_count",
    "conversion_rate",
    "distinct_categories",
)

SKEW_THRESHOLD = 1.0
KMEANS_INITIALISATIONS = 4
SILHOUETTE_SAMPLE_SIZE = 10_000
NAME_THRESHOLD = 0.5
NAME_MAX_WORDS = 3
MIN_CUSTOMERS = 3

# Words for a centroid far above / below the overall mean of a feature. A
# feature not listed here reads "high <feature>" / "low <feature>".
FEATURE_WORDS = {
    "monetary": ("high value", "low value"),
    "frequency": ("frequent", "infrequent"),
    "recency_days": ("lapsed", "recent"),
    "session_count": ("many sessions", "few sessions"),
    "conversion_rate": ("converting", "rarely converting"),
    "distinct_categories": ("broad range", "narrow range"),
    "tenure_days": ("long-standing", "new"),
    "avg_order_value": ("big baskets", "small baskets"),
}

SEGMENTS_SCHEMA = {
    "customer_id": "str",
    "segment_id": "int64",
    "segment_name": "str",
    "distance_to_centroid": "float64",
}

MODEL_SELECTION_SCHEMA = {
    "k": "int64",
    "silhouette_score": "float64",
    "inertia": "float64",
    "is_chosen": "bool",
    "warning": "str",
}


@dataclass(frozen=True)
class FeatureMatrix:
    """Customers sorted by id, their raw features and the model's inputs."""

    customer_id: np.ndarray
    raw: pd.DataFrame
    scaled: np.ndarray
    log_features: tuple


@dataclass(frozen=True)
class SegmentResult:
    """The three segment tables of one fit."""

    segments: pd.DataFrame
    profiles: pd.DataFrame
    model_selection: pd.DataFrame


# --------------------------------------------------------------------------
# Features
# --------------------------------------------------------------------------


def prepare_features(customers, *, features=DEFAULT_FEATURES):
    """Sort, fill, log-transform where skewed, and standardize.

    Parameters
    ----------
    customers : pandas.DataFrame
        One row per customer: customer_id and the feature columns.
    features : sequence of str
        Feature columns, in the order used for names and tie-breaks.

    Returns
    -------
    FeatureMatrix
    """
    features = _check_features(features)
    missing = [c for c in ["customer_id", *features] if c not in customers.columns]
    if missing:
        raise ValueError(
            f"customer features are missing column(s) {missing}; the feature "
            f"list (var segment_features) is {features}"
        )
    if customers["customer_id"].isna().any():
        raise ValueError("customer features have a null customer_id")
    frame = customers.loc[:, ["customer_id", *features]].copy()
    frame["customer_id"] = frame["customer_id"].astype(str)
    if frame["customer_id"].duplicated().any():
        duplicate = frame.loc[frame["customer_id"].duplicated(), "customer_id"].iloc[0]
        raise ValueError(
            f"customer features must have one row per customer; "
            f"customer_id {duplicate!r} appears more than once"
        )
    frame = frame.sort_values("customer_id", kind="stable").reset_index(drop=True)

    raw = pd.DataFrame(index=frame.index)
    for feature in features:
        try:
            values = pd.to_numeric(frame[feature], errors="raise")
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"segment feature {feature!r} must be numeric: {error}"
            ) from error
        values = values.astype("float64").replace([np.inf, -np.inf], np.nan)
        raw[feature] = values.fillna(0.0)

    if frame.empty:
        return FeatureMatrix(
            customer_id=np.array([], dtype=object),
            raw=raw,
            scaled=np.zeros((0, len(features))),
            log_features=(),
        )
    columns = []
    log_features = []
    for feature in features:
        values = raw[feature].to_numpy()
        if len(values) > 2 and np.ptp(values) > 0:
            if abs(skew(values)) > SKEW_THRESHOLD:
                values = np.sign(values) * np.log1p(np.abs(values))
                log_features.append(feature)
        spread = values.std()
        centred = values - values.mean()
        columns.append(centred / spread if spread > 0 else np.zeros_like(values))
    scaled = np.column_stack(columns)
    return FeatureMatrix(
        customer_id=frame["customer_id"].to_numpy(dtype=object),
        raw=raw,
        scaled=scaled,
        log_features=tuple(log_features),
    )


def _check_features(features):
    features = list(features)
    if not features:
        raise ValueError("var segment_features must name at least one feature")
    if len(set(features)) != len(features):
        raise ValueError(f"var segment_features repeats a feature: {features}")
    return features


# --------------------------------------------------------------------------
# Choosing k
# --------------------------------------------------------------------------


def select_k(
    customers,
    *,
    features=DEFAULT_FEATURES,
    k_min=2,
    k_max=8,
    random_state=42,
    silhouette_sample_size=SILHOUETTE_SAMPLE_SIZE,
):
    """Fit k-means for each k in the range and pick k by silhouette.

    Parameters
    ----------
    customers : pandas.DataFrame
        One row per customer: customer_id and the feature columns.
    features : sequence of str
        Feature columns (var segment_features).
    k_min, k_max : int
        Range of k to try, both included (vars segment_k_min,
        segment_k_max); lowered when the data has too few distinct rows.
    random_state : int
        Seed of k-means and of the silhouette sample (var
        segment_random_state).
    silhouette_sample_size : int
        Most customers the silhouette is computed on.

    Returns
    -------
    pandas.DataFrame
        segment_model_selection: k, silhouette_score, inertia, is_chosen,
        warning. One row per k tried; a single row with k = 1 when there is
        nothing to cluster.
    """
    if k_min < 2:
        raise ValueError(f"var segment_k_min must be at least 2, got {k_min}")
    if k_max < k_min:
        raise ValueError(
            f"var segment_k_max must be at least segment_k_min ({k_min}), "
            f"got {k_max}"
        )
    matrix = prepare_features(customers, features=features)
    candidates, warning = _candidate_ks(matrix.scaled, k_min, k_max)
    if not candidates:
        warnings.warn(warning, stacklevel=2)
        scaled = matrix.scaled
        inertia = (
            float(np.sum((scaled - scaled.mean(axis=0)) ** 2)) if len(scaled) else 0.0
        )
        return typed_frame(
            {
                "k": [1],
                "silhouette_score": [np.nan],
                "inertia": [inertia],
                "is_chosen": [True],
                "warning": [warning],
            },
            MODEL_SELECTION_SCHEMA,
        )

    models = [_kmeans(matrix.scaled, k, random_state) for k in candidates]
    silhouettes = _silhouettes(
        matrix.scaled,
        [model.labels_ for model in models],
        random_state,
        silhouette_sample_size,
    )
    table = pd.DataFrame(
        {
            "k": candidates,
            "silhouette_score": silhouettes,
            "inertia": [float(model.inertia_) for model in models],
        }
    )
    scored = table["silhouette_score"].round(12)
    best = scored.max()
    chosen_k = (
        table.loc[scored == best, "k"].min()
        if scored.notna().any()
        else table["k"].min()
    )
    table["is_chosen"] = table["k"] == chosen_k
    table["warning"] = warning
    return typed_frame(table, MODEL_SELECTION_SCHEMA)


def _candidate_ks(scaled, k_min, k_max):
    """The k values to try and a note when the range had to be lowered."""
    count = len(scaled)
    distinct = len(np.unique(scaled, axis=0)) if count else 0
    if count < MIN_CUSTOMERS or distinct < 2:
        return [], (
            f"too few customers to segment ({count} customers, {distinct} distinct "
            f"feature rows; at least {MIN_CUSTOMERS} and 2 are needed): every "
            f"customer is in one segment"
        )
    upper = min(k_max, distinct, count - 1)
    if upper >= k_max:
        return list(range(k_min, k_max + 1)), None
    lower = min(k_min, upper)
    return list(range(lower, upper + 1)), (
        f"only {count} customers with {distinct} distinct feature rows: "
        f"k tried from {lower} to {upper} instead of {k_min} to {k_max}"
    )


def _kmeans(scaled, k, random_state):
    # One OpenMP thread: k-means sums its centres across threads in whatever
    # order they finish, which could move a boundary customer between runs.
    with threadpool_limits(limits=1, user_api="openmp"):
        return KMeans(
            n_clusters=k,
            n_init=KMEANS_INITIALISATIONS,
            random_state=random_state,
        ).fit(scaled)


def _silhouettes(scaled, labelings, random_state, sample_size, chunk_rows=1000):
    """Mean silhouette of each labelling, all from one pass over distances.

    Each k's silhouette is measured on the same sample of at most
    ``sample_size`` customers, drawn as scikit-learn's silhouette_score
    draws it with this random_state, so the sample's distances are computed
    once for every k instead of once per k (the silhouettes took 26 of 29 s
    of segment_model_selection at 1 million events). Definitions as in
    scikit-learn: a is the mean distance to the other members of the own
    segment, b the smallest mean distance to another segment, s = (b - a) /
    max(a, b), and 0 for a customer alone in its segment. A labelling with
    a single segment in the sample has no silhouette (NaN).
    """
    count = len(scaled)
    if count > sample_size:
        sample = check_random_state(random_state).permutation(count)[:sample_size]
    else:
        sample = np.arange(count)
    points = scaled[sample]
    labels = [np.unique(labels[sample], return_inverse=True)[1] for labels in labelings]
    one_hots = [np.eye(int(codes.max()) + 1)[codes] for codes in labels]
    sums = [np.zeros(one_hot.shape) for one_hot in one_hots]
    squared = np.einsum("ij,ij->i", points, points)
    with threadpool_limits(limits=1):
        for start in range(0, len(points), chunk_rows):
            block = points[start : start + chunk_rows]
            distance = squared[start : start + chunk_rows, None] + squared[None, :]
            distance -= 2.0 * (block @ points.T)
            np.maximum(distance, 0.0, out=distance)
            np.sqrt(distance, out=distance)
            rows = np.arange(len(block))
            distance[rows, start + rows] = 0.0
            for one_hot, total in zip(one_hots, sums, strict=True):
                total[start : start + chunk_rows] = distance @ one_hot
    scores = []
    for codes, total in zip(labels, sums, strict=True):
        sizes = np.bincount(codes)
        # scikit-learn needs 2 to (sample size - 1) segments.
        if not 2 <= len(sizes) <= len(points) - 1:
            scores.append(float("nan"))
            continue
        own = total[np.arange(len(points)), codes]
        a = own / np.maximum(sizes[codes] - 1, 1)
        means = total / sizes
        means[np.arange(len(points)), codes] = np.inf
        b = means.min(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            s = np.nan_to_num((b - a) / np.maximum(a, b))
        s[sizes[codes] == 1] = 0.0
        scores.append(float(s.mean()))
    return scores


# --------------------------------------------------------------------------
# Assigning customers
# --------------------------------------------------------------------------


def assign_segments(customers, *, features=DEFAULT_FEATURES, k, random_state=42):
    """Fit k-means with the chosen k and give each customer a named segment.

    Parameters
    ----------
    customers : pandas.DataFrame
        One row per customer: customer_id and the feature columns.
    features : sequence of str
        Feature columns (var segment_features).
    k : int
        Number of segments, normally the chosen row of ``select_k``; 1 puts
        everyone in one segment.
    random_state : int
        Seed of k-means; the same as given to ``select_k``.

    Returns
    -------
    pandas.DataFrame
        customer_segments: customer_id, segment_id, segment_name,
        distance_to_centroid (Euclidean, in standardized feature units).
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    matrix = prepare_features(customers, features=features)
    if len(matrix.customer_id) == 0:
        return typed_frame(None, SEGMENTS_SCHEMA)
    if k == 1:
        labels = np.zeros(len(matrix.customer_id), dtype="int64")
        centres = matrix.scaled.mean(axis=0, keepdims=True)
    else:
        model = _kmeans(matrix.scaled, k, random_state)
        labels = model.labels_.astype("int64")
        centres = model.cluster_centers_

    order = _segment_order(matrix, labels, centres, list(features))
    segment_ids = np.empty(len(order), dtype="int64")
    segment_ids[order] = np.arange(1, len(order) + 1)
    names = (
        _segment_names(centres[order], list(features)) if k > 1 else ["all customers"]
    )
    name_by_label = {
        int(label): names[position] for position, label in enumerate(order)
    }

    distance = np.linalg.norm(matrix.scaled - centres[labels], axis=1)
    return typed_frame(
        {
            "customer_id": matrix.customer_id,
            "segment_id": segment_ids[labels],
            "segment_name": [name_by_label[label] for label in labels],
            "distance_to_centroid": distance,
        },
        SEGMENTS_SCHEMA,
    )


def _segment_order(matrix, labels, centres, features):
    """Labels in segment-id order (see the module's rules)."""
    order_feature = "monetary" if "monetary" in features else features[0]
    values = matrix.raw[order_feature].to_numpy()
    keys = []
    for label in range(len(centres)):
        members = labels == label
        mean = float(values[members].mean()) if members.any() else -np.inf
        keys.append((-mean, -int(members.sum()), tuple(centres[label]), label))
    return np.array([key[-1] for key in sorted(keys)], dtype="int64")


def _segment_names(ordered_centres, features):
    """A readable, unique name for each centroid (see the module's rules)."""
    all_words = [_centroid_words(centre, features) for centre in ordered_centres]
    names = [_join(words[:NAME_MAX_WORDS]) for words in all_words]
    for clash in _clashes(names):
        names[clash] = _join(all_words[clash])
    for clash in _clashes(names):
        names[clash] = f"{names[clash]} (segment {clash + 1})"
    return names


def _centroid_words(centre, features):
    scored = []
    for position, (feature, z) in enumerate(zip(features, centre, strict=True)):
        if abs(z) < NAME_THRESHOLD:
            continue
        label = feature.replace("_", " ")
        high, low = FEATURE_WORDS.get(feature, (f"high {label}", f"low {label}"))
        scored.append((-abs(z), position, high if z > 0 else low))
    return [word for _, _, word in sorted(scored)]


def _join(words):
    return ", ".join(words) if words else "average"


def _clashes(names):
    counts = pd.Series(names).value_counts()
    return [i for i, name in enumerate(names) if counts[name] > 1]


# --------------------------------------------------------------------------
# Profiles
# --------------------------------------------------------------------------


def profiles_schema(features=DEFAULT_FEATURES):
    """Columns of segment_profiles for a feature list."""
    schema = {
        "segment_id": "int64",
        "segment_name": "str",
        "count_customers": "int64",
        "customer_share": "float64",
        "silhouette_score": "float64",
    }
    for feature in features:
        schema[f"mean_{feature}"] = "float64"
        schema[f"median_{feature}"] = "float64"
    schema["warning"] = "str"
    return schema


def profile_segments(
    customers, segments, model_selection, *, features=DEFAULT_FEATURES
):
    """Size, share and feature means and medians of each segment.

    Parameters
    ----------
    customers : pandas.DataFrame
        The features given to ``assign_segments``.
    segments : pandas.DataFrame
        customer_segments, as returned by ``assign_segments``.
    model_selection : pandas.DataFrame
        segment_model_selection, as returned by ``select_k``; its chosen row
        gives the silhouette and the warning.
    features : sequence of str
        Feature columns (var segment_features).

    Returns
    -------
    pandas.DataFrame
        segment_profiles: segment_id, segment_name, count_customers,
        customer_share, silhouette_score, mean_<feature> and
        median_<feature> for each feature (raw values, missing counted as
        0), warning. One row per segment, by segment_id.
    """
    features = _check_features(features)
    schema = profiles_schema(features)
    matrix = prepare_features(customers, features=features)
    chosen = model_selection.loc[model_selection["is_chosen"]]
    silhouette = float(chosen["silhouette_score"].iloc[0]) if len(chosen) else np.nan
    warning = chosen["warning"].iloc[0] if len(chosen) else None

    members = pd.DataFrame({"customer_id": matrix.customer_id}).join(matrix.raw)
    members = members.merge(
        segments.loc[:, ["customer_id", "segment_id", "segment_name"]],
        on="customer_id",
        how="inner",
        validate="one_to_one",
    )
    if len(members) != len(segments):
        raise ValueError("customer_segments has customers missing from the features")
    if members.empty:
        return typed_frame(None, schema)
    grouped = members.groupby(["segment_id", "segment_name"], sort=True)
    table = grouped.size().rename("count_customers").reset_index()
    table["customer_share"] = table["count_customers"] / len(members)
    table["silhouette_score"] = silhouette
    means = grouped[features].mean().reset_index(drop=True)
    medians = grouped[features].median().reset_index(drop=True)
    for feature in features:
        table[f"mean_{feature}"] = means[feature].to_numpy()
        table[f"median_{feature}"] = medians[feature].to_numpy()
    table["warning"] = warning
    return typed_frame(table, schema)


def fit_segments(
    customers,
    *,
    features=DEFAULT_FEATURES,
    k_min=2,
    k_max=8,
    random_state=42,
    silhouette_sample_size=SILHOUETTE_SAMPLE_SIZE,
):
    """Choose k, assign segments and profile them, in one call.

    Parameters are those of ``select_k``.

    Returns
    -------
    SegmentResult
    """
    model_selection = select_k(
        customers,
        features=features,
        k_min=k_min,
        k_max=k_max,
        random_state=random_state,
        silhouette_sample_size=silhouette_sample_size,
    )
    k = int(model_selection.loc[model_selection["is_chosen"], "k"].iloc[0])
    segments = assign_segments(
        customers, features=features, k=k, random_state=random_state
    )
    profiles = profile_segments(customers, segments, model_selection, features=features)
    return SegmentResult(segments, profiles, model_selection)


# --------------------------------------------------------------------------
# For the dbt entry points
# --------------------------------------------------------------------------


def gather_features(frames, features):
    """One row per customer of the first frame, with each feature taken from
    the first frame that has it.

    Parameters
    ----------
    frames : sequence of pandas.DataFrame
        Per-customer tables keyed by customer_id, for example customer_rfm
        then dim_customers. The first one decides which customers are
        segmented.
    features : sequence of str
        Feature columns wanted.

    Returns
    -------
    pandas.DataFrame
        customer_id and the features found (a missing one is reported by
        ``prepare_features``).
    """
    base, *others = frames
    wanted = [feature for feature in features if feature in base.columns]
    combined = base.loc[:, ["customer_id", *wanted]]
    for frame in others:
        extra = [
            feature
            for feature in features
            if feature in frame.columns and feature not in combined.columns
        ]
        if extra:
            combined = combined.merge(
                frame.loc[:, ["customer_id", *extra]].drop_duplicates("customer_id"),
                on="customer_id",
                how="left",
            )
    return combined


def read_feature_tables(relations, features):
    """The per-customer tables for ``gather_features``, read from DuckDB
    relations with only customer_id and the wanted features, so a wide
    table such as dim_customers is never read whole.

    Parameters
    ----------
    relations : sequence of duckdb.DuckDBPyRelation
        For example customer_rfm then dim_customers, as ``dbt.ref`` gives
        them.
    features : sequence of str
        Feature columns wanted (var segment_features).

    Returns
    -------
    list of pandas.DataFrame
    """
    frames = []
    for relation in relations:
        wanted = [column for column in features if column in relation.columns]
        columns = ", ".join(f'"{column}"' for column in ["customer_id", *wanted])
        frames.append(relation.project(columns).df())
    return frames


def chosen_k(model_selection):
    """The k of the chosen row of segment_model_selection."""
    chosen = model_selection.loc[model_selection["is_chosen"].astype(bool), "k"]
    if len(chosen) != 1:
        raise ValueError(
            f"segment_model_selection must have exactly one chosen row, "
            f"found {len(chosen)}"
        )
    return int(chosen.iloc[0])


def settings_from_config(config):
    """Keyword arguments for ``select_k`` from a model's config values.

    Parameters
    ----------
    config : dict
        Values of the config keys segment_features, segment_k_min,
        segment_k_max and segment_random_state; a key that is absent or None
        takes the default (the default of the var of the same name).

    Returns
    -------
    dict
        features, k_min, k_max, random_state.
    """
    settings = {
        "features": list(DEFAULT_FEATURES),
        "k_min": 2,
        "k_max": 8,
        "random_state": 42,
    }
    readers = {
        "segment_features": ("features", params.as_str_list, {}),
        "segment_k_min": ("k_min", params.as_int, {"minimum": 2}),
        "segment_k_max": ("k_max", params.as_int, {"minimum": 2}),
        "segment_random_state": ("random_state", params.as_int, {"minimum": 0}),
    }
    for key, (name, reader, limits) in readers.items():
        if config.get(key) is not None:
            settings[name] = reader(config[key], key=key, **limits)
    return settings
