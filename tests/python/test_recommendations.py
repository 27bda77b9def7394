"""Recommendations (customer_analytics_ml.recommendations) on planted data."""

import math

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from customer_analytics_ml import recommendations as rec
from customer_analytics_ml.metrics import ranking_metrics

START = pd.Timestamp("2024-01-01")

# Twelve products in three categories, named so that content similarity
# stays within a category, plus a postage line.
PRODUCTS = {
    "k1": ("red enamel mug", "kitchen.cups", "potter"),
    "k2": ("blue enamel mug", "kitchen.cups", "potter"),
    "k3": ("ceramic tea pot", "kitchen.pots", "potter"),
    "k4": ("steel tea spoon", "kitchen.cutlery", "smith"),
    "h1": ("wool rug", "home.floor", "weaver"),
    "h2": ("glass vase", "home.decor", "glazier"),
    "h3": ("brass desk lamp", "home.lights", "lumen"),
    "h4": ("wall clock", "home.decor", "tick"),
    "o1": ("fountain pen", "office.writing", "quill"),
    "o2": ("ruled paper pad", "office.paper", "quill"),
    "o3": ("heavy stapler", "office.tools", "clamp"),
    "o4": ("black ink bottle", "office.writing", "quill"),
    "POST": ("postage", None, None),
}
# The planted pair: bought together, from different categories and words.
PAIR = ("h3", "o2")


def event(customer, event_type, hours, product, order_id=None):
    name, category, brand = PRODUCTS[product] if product else (None, None, None)
    return {
        "event_id": f"{customer}-{event_type}-{hours}-{product}",
        "customer_id": customer,
        "event_type": event_type,
        "event_at": START + pd.Timedelta(hours=hours),
        "product_id": product,
        "product_name": name,
        "category": category,
        "brand": brand,
        "unit_price": 10.0,
        "quantity": 1,
        "order_id": order_id,
        "source_session_id": None,
        "search_query": "lamp" if event_type == "search" else None,
        "country": "GB",
        "is_merchandise": product != "POST",
    }


def planted_events(seed=2):
    rng = np.random.default_rng(seed)
    rows = []
    merchandise = [product for product in PRODUCTS if product != "POST"]
    for number in range(40):
        customer = f"pair-{number:02d}"
        order = f"{customer}-o"
        for product in (*PAIR, "POST"):
            rows.append(event(customer, "purchase", number, product, order))
    for number in range(80):
        customer = f"noise-{number:02d}"
        for line in range(3):
            product = merchandise[rng.integers(len(merchandise))]
            kind = rng.choice(["view", "view", "cart", "purchase"])
            order = f"{customer}-{line}" if kind == "purchase" else None
            rows.append(event(customer, kind, 100 + number, product, order))
        rows.append(event(customer, "purchase", 100 + number, "POST", f"{customer}-0"))
    rows.append(event("target", "purchase", 300, PAIR[0], "target-o"))
    rows.append(event("newcomer", "search", 300, None))
    rows.append(event("postage-only", "purchase", 300, "POST", "p-o"))
    rows.append(event(None, "purchase", 300, "k4", "guest-order"))
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def planted():
    events = planted_events()
    return events, rec.recommend_products(events, count=5)


def test_the_planted_pair_is_recommended(planted):
    _, lists = planted
    target = lists.loc[lists["customer_id"] == "target"].iloc[0]
    assert (target["product_id"], target["rank"]) == (PAIR[1], 1)
    assert target["reason"] == "bought together"
    assert target["score"] == 3.0
    similar = rec.similar_products(planted_events(), count=3)
    first = similar.loc[similar["product_id"] == PAIR[0]].iloc[0]
    assert first["similar_product_id"] == PAIR[1]
    assert first["method"] == "collaborative"


def test_nothing_already_bought_is_recommended(planted):
    events, lists = planted
    bought = events.loc[
        events["event_type"] == "purchase", ["customer_id", "product_id"]
    ]
    clash = lists.merge(bought, on=["customer_id", "product_id"])
    assert clash.empty
    again = rec.recommend_products(events, count=5, allow_repeat_purchases=True)
    assert not again.merge(bought, on=["customer_id", "product_id"]).empty


def test_non_merchandise_is_never_recommended(planted):
    events, lists = planted
    assert "POST" not in set(lists["product_id"])
    similar = rec.similar_products(events, count=12)
    assert "POST" not in set(similar["product_id"]) | set(similar["similar_product_id"])


def test_every_list_is_full_ranked_and_ordered(planted):
    events, lists = planted
    customers = set(events["customer_id"].dropna())
    assert set(lists["customer_id"]) == customers
    sizes = lists.groupby("customer_id").size()
    assert (sizes == 5).all()
    for _, group in lists.groupby("customer_id"):
        assert group["rank"].tolist() == [1, 2, 3, 4, 5]
        assert group["score"].is_monotonic_decreasing
        assert group["product_id"].is_unique
    # A list still fills when it must reach into every tier: eleven
    # products are left for the target customer after the one it bought.
    long = rec.recommend_products(events, count=11)
    target = long.loc[long["customer_id"] == "target"]
    assert len(target) == 11
    assert set(target["product_id"]) == set(PRODUCTS) - {"POST", PAIR[0]}


def test_a_new_customer_gets_the_popularity_fallback(planted):
    events, lists = planted
    model = rec.fit_recommender(events)
    order_count = (
        events.loc[
            (events["event_type"] == "purchase") & events["is_merchandise"],
            ["product_id", "order_id"],
        ]
        .drop_duplicates()
        .groupby("product_id")
        .size()
    )
    browse_count = (
        events.loc[events["event_type"].isin(["view", "cart"])]
        .groupby("product_id")
        .size()
    )
    popular = (
        pd.DataFrame({"orders": order_count, "browsing": browse_count})
        .fillna(0)
        .reset_index(names="product_id")
        .sort_values(
            ["orders", "browsing", "product_id"], ascending=[False, False, True]
        )
    )["product_id"].tolist()
    for customer in ("newcomer", "postage-only"):
        mine = lists.loc[lists["customer_id"] == customer]
        assert mine["product_id"].tolist() == popular[:5]
        assert mine["reason"].eq("popular overall").all()
    stranger = rec.recommend(model, customer_ids=["stranger"], count=5)
    assert stranger["product_id"].tolist() == popular[:5]


def test_tiers_keep_their_order_and_the_favourite_category_is_used(planted):
    events, _ = planted
    model = rec.fit_recommender(events)
    lists = rec.recommend(model, count=11)
    tier = lists["reason"].map(
        lambda reason: (
            2
            if reason.startswith("popular overall")
            else (1 if reason.startswith("popular in") else 0)
        )
    )
    assert (
        lists.assign(tier=tier)
        .groupby("customer_id")["tier"]
        .apply(lambda tiers: tiers.is_monotonic_increasing)
        .all()
    )
    categories = pd.Series({p: c for p, (_, c, _) in PRODUCTS.items()})
    in_category = lists.loc[lists["reason"] == "popular in your favourite category"]
    for customer, group in in_category.groupby("customer_id"):
        history = events.loc[
            (events["customer_id"] == customer)
            & events["event_type"].isin(["view", "cart", "purchase"])
            & events["is_merchandise"]
        ]
        weights = history["event_type"].map({"view": 1.0, "cart": 3.0, "purchase": 5.0})
        by_category = weights.groupby(history["category"]).sum()
        favourite = by_category[by_category == by_category.max()].index.min()
        assert set(categories[group["product_id"]]) == {favourite}


def test_ties_are_broken_by_product_id():
    rows = [event("a", "view", 1, product) for product in ("o3", "k2", "h1")]
    rows.append(event("b", "search", 2, None))
    lists = rec.recommend_products(pd.DataFrame(rows), count=3)
    newcomer = lists.loc[lists["customer_id"] == "b"]
    assert newcomer["product_id"].tolist() == ["h1", "k2", "o3"]


def test_any_row_order_and_batch_size_give_the_same_tables(planted):
    events, lists = planted
    shuffled = events.sample(frac=1.0, random_state=4)
    pd.testing.assert_frame_equal(rec.recommend_products(shuffled, count=5), lists)
    pd.testing.assert_frame_equal(
        rec.similar_products(shuffled, count=4), rec.similar_products(events, count=4)
    )
    model = rec.fit_recommender(events)
    pd.testing.assert_frame_equal(rec.recommend(model, count=5, batch_size=7), lists)


@pytest.mark.parametrize("threads", [1, 2, 4])
def test_threads_rank_batches_into_the_same_lists(planted, monkeypatch, threads):
    events, lists = planted
    model = rec.fit_recommender(events)
    monkeypatch.setattr(rec, "_rank_thread_count", lambda batches: threads)
    # batches of 3 customers: many batches, finishing in any order
    pd.testing.assert_frame_equal(rec.recommend(model, count=5, batch_size=3), lists)


def test_thread_count_follows_cores_setting_cap_and_batches(monkeypatch):
    monkeypatch.delenv("CUSTOMER_ANALYTICS_THREADS", raising=False)
    monkeypatch.setattr(rec.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    assert rec._rank_thread_count(50) == min(2, rec.RANK_THREADS)
    assert rec._rank_thread_count(1) == 1
    assert rec._rank_thread_count(0) == 1
    monkeypatch.setattr(rec.os, "sched_getaffinity", lambda pid: set(range(64)))
    assert rec._rank_thread_count(50) == rec.RANK_THREADS
    monkeypatch.setenv("CUSTOMER_ANALYTICS_THREADS", "1")
    assert rec._rank_thread_count(50) == 1
    # the profile's own default applies to anything that is not a count
    monkeypatch.setenv("CUSTOMER_ANALYTICS_THREADS", "two")
    assert rec._rank_thread_count(50) == rec.RANK_THREADS


def test_tables_have_the_documented_columns_and_types(planted):
    events, lists = planted
    evaluation = rec.evaluate_recommendations(
        events, as_of_date="2024-01-14", holdout_days=2, count=5
    )
    for table, schema in (
        (lists, rec.RECOMMENDATIONS_SCHEMA),
        (rec.similar_products(events, count=3), rec.SIMILARITY_SCHEMA),
        (evaluation.metrics, rec.METRICS_SCHEMA),
    ):
        assert list(table.columns) == list(schema)
        for column, dtype in schema.items():
            assert str(table[column].dtype) == ("string" if dtype == "str" else dtype)
    assert set(lists["reason"]) <= set(rec.REASONS)


def plain_ranking_metrics(lists, relevant, k, catalogue_size):
    """Textbook top-k metrics, one customer at a time."""
    wanted = relevant.groupby("customer_id")["product_id"].apply(set).to_dict()
    ranked = lists.sort_values("rank").groupby("customer_id")["product_id"].apply(list)
    totals = {"precision": 0.0, "recall": 0.0, "hit": 0.0, "ndcg": 0.0, "map": 0.0}
    shown = set()
    for customer, products in wanted.items():
        top = ranked.get(customer, [])[:k]
        shown.update(top)
        hits = [product in products for product in top]
        totals["precision"] += sum(hits) / k
        totals["recall"] += sum(hits) / len(products)
        totals["hit"] += float(any(hits))
        dcg = sum(1 / math.log2(i + 2) for i, hit in enumerate(hits) if hit)
        ideal = sum(1 / math.log2(i + 2) for i in range(min(len(products), k)))
        totals["ndcg"] += dcg / ideal
        precisions = [sum(hits[: i + 1]) / (i + 1) for i, hit in enumerate(hits) if hit]
        totals["map"] += sum(precisions) / min(len(products), k)
    count = len(wanted)
    return {
        "precision_at_k": totals["precision"] / count,
        "recall_at_k": totals["recall"] / count,
        "hit_rate_at_k": totals["hit"] / count,
        "ndcg_at_k": totals["ndcg"] / count,
        "map_at_k": totals["map"] / count,
        "catalogue_coverage": len(shown) / catalogue_size,
        "count_customers_evaluated": count,
    }


# A second, less popular pair for the holdout data.
OTHER_PAIR = ("k1", "o4")


def holdout_events(seed=8):
    """Sixty days of two planted pairs: the second product of a pair is
    bought four days after the first, so many land in the holdout. The
    popular pair's products top the popularity list, so only a model that
    learnt the pairs gets the other pair right."""
    rng = np.random.default_rng(seed)
    rows = []
    merchandise = [product for product in PRODUCTS if product != "POST"]
    for number in range(150):
        customer = f"c{number:03d}"
        day = float(rng.uniform(0, 55)) * 24
        pair = PAIR if number % 5 < 3 else OTHER_PAIR
        first, second = pair if number % 2 else pair[::-1]
        rows.append(event(customer, "purchase", day, first, f"{customer}-1"))
        rows.append(event(customer, "purchase", day + 96, second, f"{customer}-2"))
        rows.append(event(customer, "purchase", day + 96, "POST", f"{customer}-2"))
        for line in range(2):
            product = merchandise[rng.integers(len(merchandise))]
            rows.append(event(customer, "view", day + line, product))
    return pd.DataFrame(rows)


def test_evaluation_metrics_match_an_independent_recount():
    events = holdout_events()
    evaluation = rec.evaluate_recommendations(
        events, as_of_date="2024-03-01", holdout_days=10, count=2
    )
    # The purchases that count, rebuilt in plain pandas.
    holdout_start = pd.Timestamp("2024-02-20")
    purchases = events.loc[
        (events["event_type"] == "purchase") & events["is_merchandise"]
    ]
    inside = purchases.loc[purchases["event_at"] >= holdout_start]
    before = purchases.loc[purchases["event_at"] < holdout_start]
    seen = set(zip(before["customer_id"], before["product_id"], strict=True))
    expected = sorted(
        {
            pair
            for pair in zip(inside["customer_id"], inside["product_id"], strict=True)
            if pair not in seen
        }
    )
    relevant = evaluation.relevant
    assert (
        list(zip(relevant["customer_id"], relevant["product_id"], strict=True))
        == expected
    )

    catalogue = len(rec.fit_recommender(events, cutoff=holdout_start).product_ids)
    table = evaluation.metrics.set_index("model_name")
    for name, lists in (
        ("recommender", evaluation.recommendations),
        ("popularity_baseline", evaluation.baseline_recommendations),
    ):
        reference = plain_ranking_metrics(lists, relevant, 2, catalogue)
        for metric, value in reference.items():
            assert table.loc[name, metric] == pytest.approx(value), (name, metric)
    assert table["holdout_start_at"].eq(holdout_start).all()
    assert table["count_customers_evaluated"].gt(10).all()
    # The planted pairs make the model beat popularity on this split.
    model, baseline = table.loc["recommender"], table.loc["popularity_baseline"]
    assert model["hit_rate_at_k"] > baseline["hit_rate_at_k"]
    assert model["ndcg_at_k"] > baseline["ndcg_at_k"]


def test_ranking_metrics_match_a_plain_loop_on_random_lists():
    rng = np.random.default_rng(5)
    lists = []
    for customer in range(60):
        products = rng.choice(40, size=rng.integers(0, 8), replace=False)
        lists += [
            (f"c{customer}", f"p{p}", rank + 1) for rank, p in enumerate(products)
        ]
    lists = pd.DataFrame(lists, columns=["customer_id", "product_id", "rank"])
    relevant = pd.DataFrame(
        [
            (f"c{customer}", f"p{p}")
            for customer in range(0, 70, 2)
            for p in rng.choice(40, size=rng.integers(1, 6), replace=False)
        ],
        columns=["customer_id", "product_id"],
    )
    for k in (1, 3, 5):
        ours = ranking_metrics(lists, relevant, k=k, catalogue_size=40)
        reference = plain_ranking_metrics(lists, relevant, k, 40)
        assert ours == pytest.approx(reference)


def test_a_holdout_without_purchases_warns_and_still_builds(planted):
    events, _ = planted
    with pytest.warns(UserWarning, match="no customer bought"):
        evaluation = rec.evaluate_recommendations(
            events, as_of_date="2024-03-01", holdout_days=5
        )
    metrics = evaluation.metrics
    assert metrics["model_name"].tolist() == ["recommender", "popularity_baseline"]
    assert metrics["precision_at_k"].isna().all()
    assert metrics["warning"].notna().all()
    with pytest.warns(UserWarning, match="no events"):
        rec.evaluate_recommendations(events.head(0))
    assert rec.recommend_products(events.head(0)).empty


def test_a_catalogue_without_similar_pairs_gives_empty_similarities():
    # One product (and postage): no pair of products is similar. The
    # similarity table is empty, with its columns, and every customer still
    # gets the one product it has not bought.
    events = pd.DataFrame(
        [
            event("a", "purchase", 1, "k1", "a-o"),
            event("a", "purchase", 1, "POST", "a-o"),
            event("b", "view", 2, "k1"),
        ]
    )
    similar = rec.similar_products(events, count=3)
    assert similar.empty
    assert list(similar.columns) == list(rec.SIMILARITY_SCHEMA)
    lists = rec.recommend_products(events, count=3)
    assert lists[["customer_id", "product_id"]].values.tolist() == [["b", "k1"]]


@pytest.mark.parametrize("run", [1, 3, 8, 16])
def test_the_linear_time_cut_keeps_the_exact_top(run, monkeypatch):
    """Whatever the run length, every entry of a row's exact top survives
    the cut (the values are rounded to 0.01, so ties are many)."""
    monkeypatch.setattr(rec, "_RUN", run)
    rng = np.random.default_rng(1)
    rows, cols = 60, 500
    dense = np.round(rng.random((rows, cols)), 2) * (rng.random((rows, cols)) < 0.6)
    matrix = sparse.csr_matrix(dense)
    counts = rng.integers(1, 40, rows)
    keep = rec._may_reach_top(matrix.indptr, matrix.data, counts, 1e-9)
    row = np.repeat(np.arange(rows), np.diff(matrix.indptr))
    picked = rec._top_in_lists(
        row[keep], matrix.indices[keep], rec._quantise(matrix.data[keep]), 40, 9
    )
    got = pd.DataFrame({"row": picked[0], "col": picked[1], "rank": picked[2]}).query(
        "rank <= @counts[row]"
    )
    expected = []
    for r in range(rows):
        order = sorted(((-value, c) for c, value in enumerate(dense[r]) if value > 0))[
            : counts[r]
        ]
        expected += [(r, c, rank + 1) for rank, (_, c) in enumerate(order)]
    assert list(got.itertuples(index=False, name=None)) == expected
    assert keep.sum() < len(keep)


def test_config_values_may_arrive_as_text():
    settings = rec.settings_from_config(
        {
            "as_of_date": None,
            "recommendation_count": "7",
            "recommendation_holdout_days": 14,
            "recommendation_allow_repeat_purchases": "False",
            "recommendation_view_weight": "0.5",
            "recommendation_cart_weight": None,
            "recommendation_purchase_weight": 4,
        }
    )
    assert settings == {
        "as_of_date": None,
        "count": 7,
        "holdout_days": 14,
        "allow_repeat_purchases": False,
        "view_weight": 0.5,
        "purchase_weight": 4.0,
    }
    with pytest.raises(ValueError, match="recommendation_allow_repeat_purchases"):
        rec.settings_from_config({"recommendation_allow_repeat_purchases": "maybe"})
    with pytest.raises(ValueError, match="recommendation_view_weight"):
        rec.fit_recommender(planted_events(), view_weight=-1)


def test_the_interaction_matrices_match_a_plain_pandas_recount():
    """The counts the recommender aggregates in DuckDB, rebuilt in pandas
    from the events, with non-integer weights."""
    events = planted_events()
    cutoff = START + pd.Timedelta(hours=150)
    weights = {"view": 0.7, "cart": 2.5, "purchase": 4.25}
    model = rec.fit_recommender(
        events,
        cutoff=cutoff,
        view_weight=weights["view"],
        cart_weight=weights["cart"],
        purchase_weight=weights["purchase"],
    )
    before = events.loc[events["event_at"] < cutoff]
    non_merchandise = set(before.loc[~before["is_merchandise"], "product_id"].dropna())
    lines = before.loc[
        before["product_id"].notna()
        & before["event_type"].isin(list(weights))
        & ~before["product_id"].isin(non_merchandise)
    ]
    customers = sorted(before["customer_id"].dropna().unique())
    assert model.customer_ids.tolist() == customers
    assert model.product_ids.tolist() == sorted(lines["product_id"].unique())
    known = lines.loc[lines["customer_id"].notna()]
    row = {customer: i for i, customer in enumerate(model.customer_ids)}
    column = {product: j for j, product in enumerate(model.product_ids)}
    shape = (len(model.customer_ids) + 1, len(model.product_ids))
    expected = {name: np.zeros(shape) for name in ("purchases", "browsing", "bought")}
    for line in known.itertuples():
        cell = (row[line.customer_id], column[line.product_id])
        weight = weights[line.event_type]
        if line.event_type == "purchase":
            expected["purchases"][cell] += weight
            expected["bought"][cell] = 1.0
        else:
            expected["browsing"][cell] += weight
    for name, matrix in expected.items():
        np.testing.assert_allclose(getattr(model, name).toarray(), matrix, rtol=1e-12)


def test_lists_and_reasons_match_a_plain_dense_recount(planted):
    """The personal tier, rebuilt with dense matrices one customer at a time:
    score = history @ (collaborative + 0.5 × content), bought products left
    out, best first with ties to the smaller product_id; the reason is the
    largest of the four parts (ties to the earlier part)."""
    events, _ = planted
    model = rec.fit_recommender(events)
    lists = rec.recommend(model, count=5)
    purchases, browsing = model.purchases.toarray(), model.browsing.toarray()
    collaborative, content = model.collaborative.toarray(), model.content.toarray()
    blended = collaborative + model.content_weight * content
    bought = model.bought.toarray() > 0
    checked = 0
    for row, customer in enumerate(model.customer_ids):
        scores = (purchases[row] + browsing[row]) @ blended
        allowed = [
            j
            for j in range(len(model.product_ids))
            if scores[j] > 0 and not bought[row, j]
        ]
        if not allowed:
            continue
        best = scores[allowed].max()
        candidates = [
            (-round(scores[j] / best, 9), model.product_ids[j], j) for j in allowed
        ]
        personal = sorted(candidates)[:5]
        mine = lists.loc[lists["customer_id"] == customer].head(len(personal))
        assert mine["product_id"].tolist() == [p for _, p, _ in personal], customer
        for (_, _, j), reason in zip(personal, mine["reason"], strict=True):
            parts = [
                purchases[row] @ collaborative[:, j],
                browsing[row] @ collaborative[:, j],
                model.content_weight * (purchases[row] @ content[:, j]),
                model.content_weight * (browsing[row] @ content[:, j]),
            ]
            assert reason == rec.REASONS[int(np.argmax(parts))], (customer, j)
            checked += 1
    assert checked > 100


def test_a_duckdb_relation_gives_the_same_tables_as_a_frame(planted):
    """dbt hands the models a DuckDB relation; tests mostly pass frames."""
    events, lists = planted
    with duckdb.connect() as connection:
        relation = connection.from_df(events)
        pd.testing.assert_frame_equal(rec.recommend_products(relation, count=5), lists)
        pd.testing.assert_frame_equal(
            rec.evaluate_recommendations(
                relation, as_of_date="2024-01-14", holdout_days=2, count=5
            ).metrics,
            rec.evaluate_recommendations(
                events, as_of_date="2024-01-14", holdout_days=2, count=5
            ).metrics,
        )
        model = rec.fit_recommender(relation)
        arrow = rec.recommend(model, count=5, as_arrow=True).to_pandas()
    for column, dtype in rec.RECOMMENDATIONS_SCHEMA.items():
        expected = lists[column].astype(object if dtype == "str" else dtype)
        assert arrow[column].tolist() == expected.tolist(), column


def test_catalogue_and_popularity_match_a_plain_pandas_recount():
    """Name, category and brand: the latest non-null value (ties at the same
    time: the greatest); orders: distinct order keys, a missing order_id
    keyed by customer and day; browsing: view and cart lines."""
    rows = [
        event("a", "view", 1, "k1"),
        event("b", "purchase", 2, "k1", "o-1"),
        event("c", "purchase", 2, "k1", None),
        event("c", "purchase", 3, "k2", None),
        event(None, "purchase", 4, "k2", None),
        event("d", "cart", 5, "k2"),
    ]
    events = pd.DataFrame(rows)
    renamed = {0: "a mug", 1: "b mug", 2: "c mug", 3: None, 4: "z mug", 5: "y mug"}
    events["product_name"] = [renamed[i] for i in range(len(events))]
    events.loc[3, "brand"] = "later brand"
    _, catalogue, _ = rec._read_inputs(events, None)
    catalogue = catalogue.set_index("product_id")
    # k1: lines at hours 1, 2, 2 -> latest time 2 holds "b mug" and "c mug".
    # k2: lines at 3 (no name), 4, 5 -> "y mug" at hour 5.
    assert catalogue.loc["k1", "product_name"] == "c mug"
    assert catalogue.loc["k2", "product_name"] == "y mug"
    assert catalogue.loc["k2", "brand"] == PRODUCTS["k2"][2]
    # k1: order o-1 and c's day; k2: c's day and the guest's day.
    assert catalogue["count_orders"].to_dict() == {"k1": 2, "k2": 2}
    assert catalogue["count_browse_lines"].to_dict() == {"k1": 1, "k2": 1}


def two_cutoff_events():
    """planted_events with what differs between an early and a late cutoff:
    a product that turns non-merchandise between them, a renamed product,
    customers and products first seen between them, and guest lines."""
    events = planted_events()
    extra = [
        event("late-only", "view", 200, "k3"),
        event("late-only", "purchase", 210, "o3", "late-o"),
        event(None, "view", 220, "h4"),
        event("noise-05", "cart", 230, "o4"),
    ]
    events = pd.concat([events, pd.DataFrame(extra)], ignore_index=True)
    renamed = events["product_id"].eq("k1") & (events["event_at"] > START + pd.Timedelta(hours=150))
    events.loc[renamed, "product_name"] = "crimson enamel mug"
    turned = events["product_id"].eq("o1") & (events["event_at"] > START + pd.Timedelta(hours=170))
    events.loc[turned.idxmax(), "is_merchandise"] = False
    events.loc[events["product_id"].eq("o4") & (events["event_at"] < START + pd.Timedelta(hours=150)), "order_id"] = None
    return events


@pytest.mark.parametrize(
    "early, late", [(150, 260), (150, None), (150, 150), (None, None)]
)
def test_fits_at_two_cutoffs_from_one_reading_equal_separate_fits(early, late):
    """fit_recommenders reads the events once for both cutoffs; each model
    must equal fit_recommender at its own cutoff, field by field."""
    events = two_cutoff_events()

    def hours(value):
        return None if value is None else START + pd.Timedelta(hours=value)

    weights = {"view_weight": 0.7, "cart_weight": 2.5, "purchase_weight": 4.25}
    cutoffs = [hours(early), hours(late)]
    together = list(rec.fit_recommenders(events, cutoffs=cutoffs, **weights))
    assert len(together) == 2
    for cutoff, model in zip(cutoffs, together, strict=True):
        alone = rec.fit_recommender(events, cutoff=cutoff, **weights)
        for field in rec.Recommender.__dataclass_fields__:
            got, expected = getattr(model, field), getattr(alone, field)
            if sparse.issparse(expected):
                assert got.shape == expected.shape, field
                assert (got != expected).nnz == 0, field
            else:
                np.testing.assert_array_equal(got, expected, err_msg=field)
    if early == 150 and late == 260:
        # The cases the combined reading must tell apart all occur here.
        early_model, late_model = together
        assert "o1" in early_model.product_ids and "o1" not in late_model.product_ids
        assert "late-only" in late_model.customer_ids
        assert "late-only" not in early_model.customer_ids


def test_two_cutoffs_must_be_ascending():
    with pytest.raises(ValueError, match="ascending"):
        rec.fit_recommenders(
            planted_events(), cutoffs=[START + pd.Timedelta(hours=5), START]
        )


def test_the_stacked_table_comes_in_row_group_chunks_with_every_row():
    """int_recommendations_fitted hands DuckDB its rows in chunks of a row
    group, so DuckDB copies them on every thread; the rows and their order
    must be those of the plain stacked tables."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parents[2] / "python_models" / "int_recommendations_fitted.py"
    spec = importlib.util.spec_from_file_location("int_recommendations_fitted", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    chunk_rows = 7
    module.ROW_GROUP_ROWS = chunk_rows
    model = rec.fit_recommender(planted_events())
    lists = rec.recommend(model, count=3, as_arrow=True)
    similar = rec.similar_products(None, count=3, model=model)
    similar = module.arrow_table(
        {column: similar[column].to_numpy() for column in similar.columns},
        rec.SIMILARITY_SCHEMA,
    )
    stacked = module.stack({"recommendations": lists, "similarity": similar})
    assert max(len(chunk) for chunk in stacked.to_batches()) <= chunk_rows
    assert stacked.num_rows == lists.num_rows + similar.num_rows
    head = stacked.slice(0, lists.num_rows).select(lists.column_names)
    assert head.equals(lists)
    assert stacked["recommendation_table"].to_pylist() == (
        ["recommendations"] * lists.num_rows + ["similarity"] * similar.num_rows
    )


def test_a_relation_without_a_needed_column_is_named_in_the_error():
    """Both readers of the event relation say which column is missing."""
    from customer_analytics_ml import events as event_queries

    with duckdb.connect() as connection:
        relation = connection.sql("select 'a' as customer_id")
        needed = ("customer_id", "product_id")
        with pytest.raises(ValueError, match=r"fct_events is missing .*product_id"):
            event_queries.query_events(
                relation, "select * from events", required=needed, name="fct_events"
            )
        with pytest.raises(ValueError, match=r"fct_events is missing .*product_id"):
            list(
                event_queries.query_events_in_batches(
                    relation,
                    "select * from events",
                    required=needed,
                    batch_rows=10,
                    name="fct_events",
                )
            )
