"""Product recommendations from item-to-item similarity and popularity.

Tables: product_recommendations (``recommend_products``),
product_similarity (``similar_products``) and recommendation_metrics
(``evaluate_recommendations``). All three start from ``fit_recommender``.

How a list is made
------------------
- Interactions: each customer's views, carts and purchases of merchandise
  products, summed with the weights given (vars
  recommendation_view_weight, _cart_weight, _purchase_weight), into a sparse
  customers × products matrix. Returns, removals and searches are not
  interactions. A product that is non-merchandise on any event is never a
  candidate.
- Item similarity, two kinds, each keeping only a product's 30 most similar
  products (ties: smaller product_id):
  collaborative, the cosine between two products' columns of the
  interaction matrix; content, the cosine between the TF-IDF vectors of
  their name, category and brand. Blended similarity = collaborative + 0.5 ×
  content.
- A customer's personal score for a product is the sum, over the products
  they interacted with, of interaction weight × blended similarity.
- Lists are filled in three tiers, so they are full whenever enough
  products are left: personal scores first, then the most popular products
  of the customer's favourite category (the category with the most
  interaction weight; ties: alphabetical), then the most popular products
  overall. A customer with no usable history gets the last tier only.
- Popularity: the number of orders that contain the product (guest orders
  count too), then the number of views and carts, then product_id.
- Products the customer already bought are removed before the top-N cut
  (unless var recommendation_allow_repeat_purchases is true).
- score = tier + strength, so a higher score always means a better rank:
  2 to 3 for personal (strength = personal score / the customer's best
  personal score), 1 to 2 for the favourite category and 0 to 1 overall
  (strength = 1 - popularity position / list length). Scores are rounded to
  9 decimals; equal scores are ordered by product_id.
- reason: for a personal pick, the largest of its four parts:
  "bought together" (collaborative, from purchases), "viewed together"
  (collaborative, from views and carts), "similar to what you bought" and
  "similar to what you viewed" (content); otherwise "popular in your
  favourite category" or "popular overall".

Scale: the events are aggregated in DuckDB (``_read_inputs``), so Python
sees one row per customer and product, never one per event. Nothing of size
customers × products is ever dense. Similarities are built in blocks of
products and customers are scored in batches, on as many threads as the
process may use (at most ``RANK_THREADS`` or CUSTOMER_ANALYTICS_THREADS;
the sparse products and NumPy's sorts let go of Python's lock); rankings
sort one packed 64-bit key per candidate, and reasons look similarities up
in a hash of packed (product, product) keys.
"""

from __future__ import annotations

import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer

from . import params
from .events import query_events, resolve_as_of, sql_timestamp
from .metrics import ranking_metrics
from .tables import arrow_table, typed_frame

__all__ = [
    "RECOMMENDATIONS_SCHEMA",
    "SIMILARITY_SCHEMA",
    "METRICS_SCHEMA",
    "Recommender",
    "RecommendationEvaluation",
    "fit_recommender",
    "fit_recommenders",
    "recommend",
    "recommend_products",
    "similar_products",
    "evaluate_recommendations",
    "EVENT_COLUMNS",
    "resolve_events_as_of",
    "settings_from_config",
]

NEIGHBOUR_COUNT = 30
CONTENT_WEIGHT = 0.5
CUSTOMER_BATCH_SIZE = 10_000
# Threads that rank batches of customers side by side (fewer when the
# process may use fewer cores). Each holds one batch's candidates, about
# 100 MB at 10 million events.
RANK_THREADS = 4
SIMILARITY_BLOCK_CELLS = 16_000_000
SCORE_DECIMALS = 9

REASONS = (
    "bought together",
    "viewed together",
    "similar to what you bought",
    "similar to what you viewed",
    "popular in your favourite category",
    "popular overall",
)
_CATEGORY_REASON = 4
_OVERALL_REASON = 5

RECOMMENDATIONS_SCHEMA = {
    "customer_id": "str",
    "product_id": "str",
    "rank": "int64",
    "score": "float64",
    "reason": "str",
}
SIMILARITY_SCHEMA = {
    "product_id": "str",
    "similar_product_id": "str",
    "rank": "int64",
    "similarity_score": "float64",
    "method": "str",
}
METRICS_SCHEMA = {
    "model_name": "str",
    "k": "int64",
    "precision_at_k": "float64",
    "recall_at_k": "float64",
    "hit_rate_at_k": "float64",
    "ndcg_at_k": "float64",
    "map_at_k": "float64",
    "catalogue_coverage": "float64",
    "count_customers_evaluated": "int64",
    "holdout_start_at": "datetime64[us]",
    "holdout_end_at": "datetime64[us]",
    "warning": "str",
}
RELEVANT_SCHEMA = {"customer_id": "str", "product_id": "str"}
MODEL_NAME = "recommender"
BASELINE_NAME = "popularity_baseline"

# The columns of marts.fct_events the recommender reads (``_INPUT_COLUMNS``
# are those its DuckDB queries need).
EVENT_COLUMNS = (
    "customer_id",
    "event_type",
    "event_at",
    "product_id",
    "product_name",
    "category",
    "brand",
    "order_id",
    "is_merchandise",
)


@dataclass(frozen=True)
class Recommender:
    """Everything needed to rank products for customers.

    Customer and product indexes are positions in the sorted id arrays. Each
    customer matrix has one extra, empty last row that stands for a
    customer with no history. ``popularity_order`` lists product indexes
    most popular first; category c's products, most popular first, are
    ``category_products[category_start[c]:category_start[c + 1]]``.
    """

    customer_ids: np.ndarray
    product_ids: np.ndarray
    purchases: sparse.csr_matrix
    browsing: sparse.csr_matrix
    bought: sparse.csr_matrix
    collaborative: sparse.csr_matrix
    content: sparse.csr_matrix
    content_weight: float
    blended: sparse.csr_matrix
    popularity_order: np.ndarray
    category_start: np.ndarray
    category_products: np.ndarray
    favourite_category: np.ndarray

    @property
    def unknown_customer(self):
        return len(self.customer_ids)


@dataclass(frozen=True)
class RecommendationEvaluation:
    """recommendation_metrics and the lists and purchases it was measured on."""

    metrics: pd.DataFrame
    recommendations: pd.DataFrame
    baseline_recommendations: pd.DataFrame
    relevant: pd.DataFrame


# --------------------------------------------------------------------------
# Fitting
# --------------------------------------------------------------------------


def fit_recommender(
    events,
    *,
    cutoff=None,
    view_weight=1.0,
    cart_weight=3.0,
    purchase_weight=5.0,
    neighbour_count=NEIGHBOUR_COUNT,
    content_weight=CONTENT_WEIGHT,
):
    """Build interactions, similarities and popularity from events.

    Parameters
    ----------
    events : duckdb.DuckDBPyRelation or pandas.DataFrame
        marts.fct_events as a relation, or rows shaped like it. Either way
        the events are aggregated in DuckDB (see ``_read_inputs``); only
        per customer × product counts and per-product facts reach Python.
    cutoff : pandas.Timestamp or None
        Only events strictly before it are used; None uses all.
    view_weight, cart_weight, purchase_weight : float
        Interaction weight of one event of each kind (vars
        recommendation_view_weight, _cart_weight, _purchase_weight).
    neighbour_count : int
        Similar products kept per product, for each kind of similarity.
    content_weight : float
        Weight of content similarity in the blend.

    Returns
    -------
    Recommender
    """
    fits = fit_recommenders(
        events,
        cutoffs=[cutoff],
        view_weight=view_weight,
        cart_weight=cart_weight,
        purchase_weight=purchase_weight,
        neighbour_count=neighbour_count,
        content_weight=content_weight,
    )
    return next(fits)


def fit_recommenders(
    events,
    *,
    cutoffs,
    view_weight=1.0,
    cart_weight=3.0,
    purchase_weight=5.0,
    neighbour_count=NEIGHBOUR_COUNT,
    content_weight=CONTENT_WEIGHT,
):
    """``fit_recommender`` at one or two cutoffs from one reading of the
    events: the same three DuckDB queries serve both fits (the evaluation's
    fit before the holdout and the fit before the as-of date).

    Parameters
    ----------
    cutoffs : list of pandas.Timestamp or None
        Ascending; None (all events) may only be the last.
    Other parameters : as for ``fit_recommender``.

    Yields
    ------
    Recommender
        One per cutoff, in their order, each built only when asked for, so
        a caller that is done with one before asking for the next never
        holds two.
    """
    weights = {"view": view_weight, "cart": cart_weight, "purchase": purchase_weight}
    for event_type, weight in weights.items():
        if not weight >= 0:
            raise ValueError(
                f"var recommendation_{event_type}_weight must be 0 or more, "
                f"got {weight}"
            )
    if neighbour_count < 1:
        raise ValueError(f"neighbour_count must be at least 1, got {neighbour_count}")
    return _fits(
        _read_inputs_at(events, list(cutoffs)),
        weights,
        neighbour_count=neighbour_count,
        content_weight=content_weight,
    )


def _fits(inputs, weights, *, neighbour_count, content_weight):
    for position in range(len(inputs)):
        customer_ids, catalogue, pairs = inputs[position]
        # Let go of what this fit read before the next is built.
        inputs[position] = None
        yield _fit(
            customer_ids,
            catalogue,
            pairs,
            view_weight=weights["view"],
            cart_weight=weights["cart"],
            purchase_weight=weights["purchase"],
            neighbour_count=neighbour_count,
            content_weight=content_weight,
        )


def _fit(
    customer_ids,
    catalogue,
    pairs,
    *,
    view_weight,
    cart_weight,
    purchase_weight,
    neighbour_count,
    content_weight,
):
    """A Recommender from the inputs of one cutoff (``_read_inputs_at``)."""
    product_ids = catalogue["product_id"].to_numpy(dtype=object)
    product_count = len(product_ids)
    shape = (len(customer_ids) + 1, product_count)

    # Weights are applied to the counts here, so a weight change needs no
    # new query: weight × count, the same as summing the weight per event
    # (exactly so for whole-number weights).
    customer = pairs["customer_index"].astype("int64")
    product = pairs["product_index"].astype("int64")
    views = pairs["count_views"].astype("float64")
    carts = pairs["count_carts"].astype("float64")
    bought_count = pairs["count_purchases"].astype("float64")
    purchases = _csr(purchase_weight * bought_count, customer, product, shape)
    browsing = _csr(view_weight * views + cart_weight * carts, customer, product, shape)
    has_bought = bought_count > 0
    bought = _csr(
        np.ones(has_bought.sum()), customer[has_bought], product[has_bought], shape
    )
    purchases.eliminate_zeros()
    browsing.eliminate_zeros()
    interactions = (purchases + browsing).tocsr()

    # Most popular first: orders containing the product, then views and
    # carts, then product_id (the index, as products are sorted by id).
    popularity_order = np.lexsort(
        (
            np.arange(product_count),
            -catalogue["count_browse_lines"].to_numpy(dtype="int64"),
            -catalogue["count_orders"].to_numpy(dtype="int64"),
        )
    )

    category_names, category_of_product = np.unique(
        catalogue["category"].fillna("\x00").to_numpy(dtype=str), return_inverse=True
    )
    if len(category_names) and category_names[0] == "\x00":
        category_of_product = category_of_product - 1
        category_names = category_names[1:]
    category_of_product = category_of_product.astype("int64")
    # Each category's products, most popular first: category c holds
    # by_category[category_start[c] : category_start[c + 1]].
    in_category = popularity_order[category_of_product[popularity_order] >= 0]
    by_category = in_category[
        np.argsort(category_of_product[in_category], kind="stable")
    ]
    category_sizes = np.bincount(
        category_of_product[by_category], minlength=len(category_names)
    )
    category_start = np.concatenate([[0], np.cumsum(category_sizes)])

    collaborative = _collaborative_similarity(interactions, neighbour_count)
    content = _content_similarity(catalogue, neighbour_count)
    blended = (collaborative + content_weight * content).tocsr()
    blended.eliminate_zeros()
    blended.sort_indices()
    return Recommender(
        customer_ids=customer_ids,
        product_ids=product_ids,
        purchases=purchases,
        browsing=browsing,
        bought=bought,
        collaborative=collaborative,
        content=content,
        content_weight=float(content_weight),
        blended=blended,
        popularity_order=popularity_order,
        category_start=category_start,
        category_products=by_category,
        favourite_category=_favourite_category(
            interactions, category_of_product, len(category_names)
        ),
    )


# The inputs of a fit, aggregated in DuckDB. {before} is the filter of the
# later cutoff; {early} is true on events before the earlier one (when both
# fits are read at once, see ``_read_inputs_at``; else the same cutoff).
# - interaction lines: views, carts and purchases of a product that is not
#   non-merchandise on any event before the cutoff (guests included);
# - customers: every customer with any event before the cutoff, in
#   customer_id order (the matrices' rows);
# - products: the products of interaction lines, in product_id order, with
#   popularity counts and the latest non-null name, category and brand (ties
#   at the same time: the greatest value);
# - pairs: per known customer and product, the views, carts and purchases.
# An order is the order_id, or a customer's purchases on one UTC day when
# order_id is missing (events.order_keys; a guest's key reads "None|day").
# Each query reads the events once and keeps no wide intermediate table:
# at 10 million events a shared, materialized "lines" table held 2.9 GB.
# For the two cutoffs every count and latest value is taken twice (all
# lines, early lines); lines of a product that is non-merchandise only
# between the cutoffs are read for the early fit and flagged
# (is_late_non_merchandise) for the late one to leave out.
_LINES_CTE = """
with non_merchandise as (
    select
        cast(product_id as varchar) as product_id,
        bool_or({early}) as is_early
    from events
    where
        {before}
        and product_id is not null
        and not coalesce(cast(is_merchandise as boolean), true)
    group by 1
),
lines as (
    select
        cast(customer_id as varchar) as customer_id,
        cast(product_id as varchar) as product_id,
        cast(event_at as timestamp) as event_at,
        {early} as is_early,
        case cast(event_type as varchar)
            when 'view' then 0 when 'cart' then 1 else 2
        end as kind,
        {columns}
    from events
    where
        {before}
        and product_id is not null
        and cast(event_type as varchar) in ('view', 'cart', 'purchase')
        and cast(product_id as varchar) not in (
            select n.product_id from non_merchandise as n where n.is_early
        )
)
"""

_CUSTOMERS_SQL = """
select
    cast(customer_id as varchar) as customer_id,
    bool_or({early}) as is_early
from events
where {before} and customer_id is not null
group by 1
order by customer_id
"""

# One scan of the lines feeds five groupings (grouping sets), told apart by
# grouping(product_name, category, brand, order_key): 15 per product (the
# line counts), 7, 11 and 13 per product and name, category or brand (the
# latest time of each value), 14 per product and order key. The latest value
# is then the one with the greatest time (ties: the greatest value), found
# on those few rows. At 10 million events: 3.6 CPU s for both cutoffs,
# against 5.4 for one cutoff read as two passes over the lines (the latest
# time per product, then a join back to the lines).
_CATALOGUE_SQL = _LINES_CTE.replace(
    "{columns}",
    """case when cast(event_type as varchar) = 'purchase' then coalesce(
            cast(order_id as varchar),
            coalesce(cast(customer_id as varchar), 'None') || '|'
            || strftime(cast(event_at as timestamp), '%Y-%m-%d')
        ) end as order_key,
        cast(product_name as varchar) as product_name,
        cast(category as varchar) as category,
        cast(brand as varchar) as brand""",
) + """,
grouped as (
    select
        product_id,
        product_name,
        category,
        brand,
        order_key,
        grouping(product_name, category, brand, order_key) as grouping_set,
        count(*) filter (where kind < 2) as count_browse_lines,
        count(*) filter (where kind < 2 and is_early) as count_browse_lines_early,
        count(*) filter (where is_early) as count_lines_early,
        max(event_at) as latest_at,
        max(event_at) filter (where is_early) as latest_at_early
    from lines
    group by grouping sets (
        (product_id),
        (product_id, product_name),
        (product_id, category),
        (product_id, brand),
        (product_id, order_key)
    )
),
orders as (
    select
        product_id,
        count(*) as count_orders,
        count(*) filter (where latest_at_early is not null) as count_orders_early
    from grouped
    where grouping_set = 14 and order_key is not null
    group by product_id
),
attribute_values as (
    select
        product_id,
        grouping_set,
        coalesce(product_name, category, brand) as attribute_value,
        latest_at,
        latest_at_early
    from grouped
    where
        grouping_set in (7, 11, 13)
        and coalesce(product_name, category, brand) is not null
),
attribute_times as (
    select
        product_id,
        grouping_set,
        max(latest_at) as value_at,
        max(latest_at_early) as value_at_early
    from attribute_values
    group by product_id, grouping_set
),
latest_values as (
    select
        v.product_id,
        max(v.attribute_value) filter (
            where v.grouping_set = 7 and v.latest_at = t.value_at
        ) as product_name,
        max(v.attribute_value) filter (
            where v.grouping_set = 11 and v.latest_at = t.value_at
        ) as category,
        max(v.attribute_value) filter (
            where v.grouping_set = 13 and v.latest_at = t.value_at
        ) as brand,
        max(v.attribute_value) filter (
            where v.grouping_set = 7 and v.latest_at_early = t.value_at_early
        ) as product_name_early,
        max(v.attribute_value) filter (
            where v.grouping_set = 11 and v.latest_at_early = t.value_at_early
        ) as category_early,
        max(v.attribute_value) filter (
            where v.grouping_set = 13 and v.latest_at_early = t.value_at_early
        ) as brand_early
    from attribute_values as v
    inner join attribute_times as t
        on v.product_id = t.product_id and v.grouping_set = t.grouping_set
    group by v.product_id
)
select
    p.product_id,
    coalesce(o.count_orders, 0) as count_orders,
    p.count_browse_lines,
    v.product_name,
    v.category,
    v.brand,
    p.count_lines_early,
    coalesce(o.count_orders_early, 0) as count_orders_early,
    p.count_browse_lines_early,
    v.product_name_early,
    v.category_early,
    v.brand_early,
    n.product_id is not null as is_late_non_merchandise
from grouped as p
left join orders as o on p.product_id = o.product_id
left join latest_values as v on p.product_id = v.product_id
left join non_merchandise as n on p.product_id = n.product_id
where p.grouping_set = 15
order by p.product_id
"""

_PAIRS_SQL = _LINES_CTE.replace("{columns}", "1 as line") + """
select
    customer_id,
    product_id,
    cast(count(*) filter (where kind = 0) as integer) as count_views,
    cast(count(*) filter (where kind = 1) as integer) as count_carts,
    cast(count(*) filter (where kind = 2) as integer) as count_purchases,
    cast(count(*) filter (where kind = 0 and is_early) as integer)
        as count_views_early,
    cast(count(*) filter (where kind = 1 and is_early) as integer)
        as count_carts_early,
    cast(count(*) filter (where kind = 2 and is_early) as integer)
        as count_purchases_early
from lines
where customer_id is not null
group by customer_id, product_id
"""

_INPUT_COLUMNS = (
    "customer_id",
    "product_id",
    "event_type",
    "event_at",
    "order_id",
    "is_merchandise",
    "product_name",
    "category",
    "brand",
)
_CATALOGUE_COLUMNS = (
    "product_id",
    "count_orders",
    "count_browse_lines",
    "product_name",
    "category",
    "brand",
)
_COUNT_COLUMNS = ("count_views", "count_carts", "count_purchases")


def _read_inputs(events, cutoff):
    """Customer ids (sorted), the product catalogue (sorted by product_id)
    and the customer × product counts of one cutoff (see
    ``_read_inputs_at``)."""
    return _read_inputs_at(events, [cutoff])[0]


def _read_inputs_at(events, cutoffs):
    """The inputs of a fit at each of one or two cutoffs, from three DuckDB
    queries whatever their number: customer ids (sorted), the product
    catalogue (sorted by product_id) and the customer × product counts.

    Cutoffs are ascending; None (all events) may only be the last. The pairs
    come back as Arrow text and are numbered there (row of the customer,
    column of the product), so millions of pairs never become Python
    strings.
    """
    if not 1 <= len(cutoffs) <= 2:
        raise ValueError(f"one or two cutoffs are read at once, got {cutoffs}")
    late = cutoffs[-1]
    early = cutoffs[0]
    if early is None and late is not None or (
        early is not None and late is not None and not early <= late
    ):
        raise ValueError(f"cutoffs must be ascending, got {cutoffs}")
    before, is_early = "true", "true"
    if late is not None:
        before = f"cast(event_at as timestamp) < {sql_timestamp(late)}"
    if early is not None:
        is_early = f"cast(event_at as timestamp) < {sql_timestamp(early)}"

    def run(sql, arrow=False):
        return query_events(
            events,
            sql.format(before=before, early=is_early),
            required=_INPUT_COLUMNS,
            arrow=arrow,
        )

    customers = run(_CUSTOMERS_SQL)
    catalogue = run(_CATALOGUE_SQL)
    pairs = run(_PAIRS_SQL, arrow=True)
    early_columns = {f"{column}_early": column for column in _COUNT_COLUMNS}
    early_catalogue = {
        f"{column}_early": column
        for column in _CATALOGUE_COLUMNS
        if f"{column}_early" in catalogue.columns
    }
    inputs = []
    for position in range(len(cutoffs)):
        if position == len(cutoffs) - 1:
            chosen = customers
            products = catalogue.loc[~catalogue["is_late_non_merchandise"]]
            products = products[list(_CATALOGUE_COLUMNS)]
            counts = pairs.select(["customer_id", "product_id", *_COUNT_COLUMNS])
            if products.shape[0] < catalogue.shape[0]:
                counts = counts.filter(
                    pc.is_in(
                        counts["product_id"],
                        value_set=pa.array(products["product_id"], pa.string()),
                    )
                )
        else:
            chosen = customers.loc[customers["is_early"]]
            products = catalogue.loc[catalogue["count_lines_early"] > 0]
            products = products[["product_id", *early_catalogue]]
            products = products.rename(columns=early_catalogue)
            counts = pairs.select(["customer_id", "product_id", *early_columns])
            counts = counts.rename_columns(
                ["customer_id", "product_id", *early_columns.values()]
            )
            total = pc.add(
                pc.add(counts["count_views"], counts["count_carts"]),
                counts["count_purchases"],
            )
            counts = counts.filter(pc.greater(total, 0))
        products = products.reset_index(drop=True)
        customer_ids = chosen["customer_id"].to_numpy(dtype=object)
        inputs.append((customer_ids, products, _numbered(counts, customer_ids, products)))
    return inputs


def _numbered(pairs, customer_ids, catalogue):
    """The pairs' counts as NumPy arrays, with customer_index and
    product_index: positions in the customer and product lists."""
    numbered = {
        "customer_index": pc.index_in(
            pairs["customer_id"], value_set=pa.array(customer_ids, pa.string())
        ),
        "product_index": pc.index_in(
            pairs["product_id"],
            value_set=pa.array(catalogue["product_id"], pa.string()),
        ),
    }
    counts = {column: pairs[column].to_numpy() for column in _COUNT_COLUMNS}
    for column, index in numbered.items():
        if index.null_count:
            raise AssertionError(f"{column}: a pair's id is not in its id list")
        counts[column] = index.to_numpy()
    return counts


def _csr(values, rows, cols, shape):
    matrix = sparse.coo_matrix((values, (rows, cols)), shape=shape).tocsr()
    matrix.sum_duplicates()
    matrix.sort_indices()
    return matrix


def _favourite_category(interactions, category_of_product, category_count):
    """Category with the most interaction weight per customer row, or -1."""
    rows = interactions.shape[0]
    favourite = np.full(rows, -1, dtype="int64")
    if category_count == 0 or interactions.nnz == 0:
        return favourite
    has_category = category_of_product >= 0
    mapping = sparse.csr_matrix(
        (
            np.ones(has_category.sum()),
            (np.flatnonzero(has_category), category_of_product[has_category]),
        ),
        shape=(len(category_of_product), category_count),
    )
    weight = (interactions @ mapping).tocoo()
    order = np.lexsort((weight.col, -weight.data, weight.row))
    first = np.ones(len(order), dtype=bool)
    first[1:] = weight.row[order][1:] != weight.row[order][:-1]
    favourite[weight.row[order][first]] = weight.col[order][first]
    return favourite


# --------------------------------------------------------------------------
# Similarity
# --------------------------------------------------------------------------


def _collaborative_similarity(interactions, neighbour_count):
    """Cosine between products' interaction columns, top neighbours only."""
    product_count = interactions.shape[1]
    norms = np.sqrt(np.asarray(interactions.multiply(interactions).sum(axis=0)))
    norms = norms.ravel()
    scale = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    normalised = (interactions @ sparse.diags(scale)).tocsr()
    by_product = normalised.T.tocsr()
    return _top_neighbours(
        lambda start, stop: by_product[start:stop] @ normalised,
        product_count,
        neighbour_count,
    )


def _content_similarity(catalogue, neighbour_count):
    """Cosine between TF-IDF vectors of name, category and brand."""
    product_count = len(catalogue)
    text = (
        catalogue["product_name"].fillna("")
        + " "
        + catalogue["category"].fillna("").str.replace(r"[._/>]", " ", regex=True)
        + " "
        + catalogue["brand"].fillna("")
    )
    try:
        vectors = TfidfVectorizer(
            stop_words="english", sublinear_tf=True, dtype=np.float64
        ).fit_transform(text)
    except ValueError:
        # No word at all (for example every name is empty): no content links.
        return sparse.csr_matrix((product_count, product_count))
    vectors = vectors.tocsr()
    by_word = vectors.T.tocsr()
    return _top_neighbours(
        lambda start, stop: vectors[start:stop] @ by_word,
        product_count,
        neighbour_count,
    )


def _top_neighbours(block_product, product_count, neighbour_count):
    """Keep each product's ``neighbour_count`` most similar other products.

    ``block_product(start, stop)`` returns the sparse similarity rows of
    products start..stop-1; blocks hold at most ``SIMILARITY_BLOCK_CELLS``
    cells, so memory stays bounded however many products there are. Only
    positive similarities are kept; ties are ranked as in ``_top_in_lists``.
    """
    if product_count == 0:
        return sparse.csr_matrix((0, 0))
    item_bits = max(1, int(product_count - 1).bit_length())
    block_rows = max(1, SIMILARITY_BLOCK_CELLS // product_count)
    block_rows = min(block_rows, 2 ** (31 - item_bits))
    rows, cols, values = [], [], []
    for start in range(0, product_count, block_rows):
        stop = min(start + block_rows, product_count)
        block = block_product(start, stop).tocsr()
        local = np.repeat(np.arange(stop - start), np.diff(block.indptr))
        block.data[block.indices == local + start] = 0.0
        keep = (block.data > 0) & _may_reach_top(
            block.indptr, block.data, neighbour_count, 10.0**-SCORE_DECIMALS
        )
        row, col, _, quantum = _top_in_lists(
            local[keep],
            block.indices[keep],
            _quantise(block.data[keep]),
            neighbour_count,
            item_bits,
        )
        rows.append(row + start)
        cols.append(col)
        values.append(quantum / 10**SCORE_DECIMALS)
    return sparse.csr_matrix(
        (np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))),
        shape=(product_count, product_count),
    )


# --------------------------------------------------------------------------
# Ranking
# --------------------------------------------------------------------------


def recommend(
    model,
    *,
    customer_ids=None,
    count=10,
    allow_repeat_purchases=False,
    popularity_only=False,
    batch_size=CUSTOMER_BATCH_SIZE,
    as_arrow=False,
):
    """Top ``count`` products for each customer.

    Parameters
    ----------
    model : Recommender
    customer_ids : iterable of str or None
        Whom to recommend for; None is every customer the model knows.
        Customers it does not know get the popularity fallback.
    count : int
        List length (var recommendation_count).
    allow_repeat_purchases : bool
        Keep products the customer already bought (var
        recommendation_allow_repeat_purchases).
    popularity_only : bool
        Skip the personal and category tiers: the popularity baseline.
    batch_size : int
        Customers scored at a time.
    as_arrow : bool
        Return a pyarrow Table (the same columns, typed as in
        ``tables.arrow_table``): at 10 million events the lists have 5
        million rows, which as Python strings take gigabytes.

    Returns
    -------
    pandas.DataFrame or pyarrow.Table
        customer_id, product_id, rank, score, reason; sorted by customer_id
        and rank.
    """
    if count < 1:
        raise ValueError(f"var recommendation_count must be at least 1, got {count}")
    if customer_ids is None:
        customer_ids = model.customer_ids
    customer_ids = pd.unique(pd.Series(list(customer_ids), dtype=object).astype(str))
    customer_ids = np.sort(customer_ids).astype(object)
    rows = pd.Index(model.customer_ids).get_indexer(customer_ids)
    rows = np.where(rows < 0, model.unknown_customer, rows)
    product_count = len(model.product_ids)
    if product_count == 0 or len(customer_ids) == 0:
        if as_arrow:
            return arrow_table(None, RECOMMENDATIONS_SCHEMA)
        return typed_frame(None, RECOMMENDATIONS_SCHEMA)

    # Bits of the packed ranking key: batch row | score | product.
    product_bits = max(1, int(product_count - 1).bit_length())
    row_bits = 63 - 32 - product_bits
    if row_bits < 1:
        raise ValueError(f"too many products to rank ({product_count})")
    batch_size = max(1, min(batch_size, 2**row_bits))

    rank = partial(
        _rank_batch,
        model,
        count=count,
        allow_repeat=allow_repeat_purchases,
        popularity_only=popularity_only,
        product_bits=product_bits,
        # the popularity baseline explains no personal pick
        similarities=None if popularity_only else _similarity_lookup(
            model, product_bits
        ),
    )
    starts = range(0, len(rows), batch_size)
    # Batches are independent and come back in their order, so the lists
    # are the same whatever the number of threads.
    with ThreadPoolExecutor(_rank_thread_count(len(starts))) as pool:
        parts = list(pool.map(rank, [rows[s : s + batch_size] for s in starts]))
    for start, picked in zip(starts, parts):
        picked["customer"] = start + picked.pop("batch_row")
    table = {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}
    ids = {
        "customer_id": (customer_ids, table.pop("customer")),
        "product_id": (model.product_ids, table.pop("product")),
        "reason": (np.asarray(REASONS, dtype=object), table.pop("reason_code")),
    }
    if as_arrow:
        # Text is gathered in Arrow: millions of rows, few distinct values.
        for column, (values, position) in ids.items():
            table[column] = pc.take(pa.array(values, pa.string()), position)
        return arrow_table(table, RECOMMENDATIONS_SCHEMA)
    for column, (values, position) in ids.items():
        table[column] = values[position]
    return typed_frame(table, RECOMMENDATIONS_SCHEMA)


def _rank_thread_count(batch_count):
    """Threads for ``recommend``: the cores this process may use, no more
    than CUSTOMER_ANALYTICS_THREADS when that is set (the profile's DuckDB
    and dbt threads), at most ``RANK_THREADS`` and at most one per batch."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    setting = os.environ.get("CUSTOMER_ANALYTICS_THREADS", "").strip()
    if setting.isdigit() and int(setting) > 0:
        cores = min(cores, int(setting))
    return max(1, min(RANK_THREADS, cores, batch_count))


def _rank_batch(
    model, batch, *, count, allow_repeat, popularity_only, product_bits, similarities
):
    """Pick and explain the top ``count`` products of one batch of customers.

    Candidates are kept as packed (batch row, product) keys. Already bought
    products are dropped first, so the cut below always has ``count`` allowed
    products when enough exist.
    """
    product_count = len(model.product_ids)
    if allow_repeat:
        excluded = sparse.csr_matrix((len(batch), product_count))
    else:
        excluded = model.bought[batch]
    excluded_keys = _pair_keys_of(excluded, product_bits)
    needed = count + np.diff(excluded.indptr)

    tiers = []
    taken = np.zeros(0, dtype="int64")
    if not popularity_only:
        history = model.purchases[batch] + model.browsing[batch]
        personal = (history @ model.blended).tocsr()
        # Cut each row to what can reach its top (count + its bought
        # products), then drop the bought ones; only the few survivors are
        # looked up and ranked. The margin keeps values that could tie
        # after the score is rounded.
        room = needed
        keep = (personal.data > 0) & _may_reach_top(
            personal.indptr,
            personal.data,
            room,
            1e-8 * _row_max(personal.indptr, personal.data),
        )
        kept = np.flatnonzero(keep)
        row = np.searchsorted(personal.indptr, kept, side="right") - 1
        keys = (row << product_bits) | personal.indices[kept]
        allowed = ~_contains(excluded_keys, keys)
        row, keys, value = row[allowed], keys[allowed], personal.data[kept][allowed]
        indptr = np.concatenate(
            [[0], np.cumsum(np.bincount(row, minlength=len(batch)))]
        )
        score = 2.0 + np.maximum(value / _row_max(indptr, value)[row], 1e-9)
        tiers.append((keys, score, 0))
        taken = np.sort(keys)

        favourite = model.favourite_category[batch]
        first = model.category_start[np.maximum(favourite, 0)]
        size = model.category_start[np.maximum(favourite, 0) + 1] - first
        length = np.where(favourite >= 0, np.minimum(needed, size), 0)
        row, offset = _expand(length)
        keys = (row << product_bits) | model.category_products[first[row] + offset]
        fresh = ~_contains(taken, keys) & ~_contains(excluded_keys, keys)
        tiers.append((keys[fresh], 2.0 - offset[fresh] / size[row[fresh]], 4))
        taken = np.sort(np.concatenate([taken, keys[fresh]]))

    row, offset = _expand(np.minimum(needed, product_count))
    keys = (row << product_bits) | model.popularity_order[offset]
    fresh = ~_contains(taken, keys) & ~_contains(excluded_keys, keys)
    tiers.append((keys[fresh], 1.0 - offset[fresh] / product_count, 5))

    keys = np.concatenate([tier_keys for tier_keys, _, _ in tiers])
    row, product, rank, quantum = _top_in_lists(
        keys >> product_bits,
        keys & ((1 << product_bits) - 1),
        _quantise(np.concatenate([score for _, score, _ in tiers])),
        count,
        product_bits,
    )
    score = quantum / 10**SCORE_DECIMALS
    reason = np.where(score > 1.0, _CATEGORY_REASON, _OVERALL_REASON)
    is_personal = score > 2.0
    reason[is_personal] = _personal_reason(
        model, batch[row[is_personal]], product[is_personal], similarities
    )
    return {
        "batch_row": row,
        "product": product,
        "rank": rank,
        "score": score,
        "reason_code": reason,
    }


def _personal_reason(model, customer_rows, products, similarities):
    """Reason code (0-3) of personal picks: the largest of their four parts.

    Parts, in this order (a tie goes to the earlier): collaborative from
    purchases, collaborative from views and carts, content from purchases,
    content from views and carts. A part is the sum, over the products in
    that part of the customer's history, of interaction weight × the
    similarity of that product to the pick. Each pick is expanded into its
    customer's history and both similarities are looked up at once by the
    packed (product, pick) key, so the work is picks × history length.
    """
    if len(products) == 0:
        return np.zeros(0, dtype="int64")
    keys, collaborative, content, product_bits = similarities
    parts = {}
    for source, history in enumerate((model.purchases, model.browsing)):
        starts = history.indptr[customer_rows]
        lengths = history.indptr[customer_rows + 1] - starts
        pick, offset = _expand(lengths)
        entry = starts[pick] + offset
        neighbour = history.indices[entry].astype("int64")
        # A cell that neither kind stores reads position -1, the 0 appended
        # to each kind's values; adding 0.0 leaves every sum as it was.
        position = keys.get_indexer((neighbour << product_bits) | products[pick])
        weight = history.data[entry]
        for kind, (values, scale) in enumerate(
            ((collaborative, 1.0), (content, model.content_weight))
        ):
            part = np.bincount(pick, weight * values[position], minlength=len(products))
            parts[kind, source] = scale * part
    return np.argmax(np.column_stack([parts[key] for key in sorted(parts)]), axis=1)


def _similarity_lookup(model, product_bits):
    """A hash index of the packed (row, column) keys of every stored
    similarity, with the collaborative and the content value under each (0
    where that kind has none, and one more 0 at the end, read by a key that
    is not stored), and the key width.

    A hash lookup: measured 0.2 s against 1.3 s for a binary search
    (numpy.searchsorted) of 11 million keys among 90 thousand.
    """
    content = model.content
    union = (model.collaborative + content).tocsr()
    union.sort_indices()
    keys = _pair_keys_of(union, product_bits)
    values = []
    for similarity in (model.collaborative, content):
        similarity = similarity.tocsr(copy=True)
        similarity.sort_indices()
        stored = np.zeros(len(keys))
        stored[np.searchsorted(keys, _pair_keys_of(similarity, product_bits))] = (
            similarity.data
        )
        values.append(np.append(stored, 0.0))
    index = pd.Index(keys)
    # Build the hash now: the batches' threads then only read it (pandas
    # fills it on first use, and two threads doing so at once can disagree;
    # pandas-dev/pandas#21150).
    index.get_indexer(keys[:1])
    return index, values[0], values[1], product_bits


def _quantise(scores):
    """Scores as whole units of 10**-SCORE_DECIMALS, the precision of every
    ranking here; equal after rounding means tied."""
    quantum = np.rint(np.asarray(scores, dtype="float64") * 10**SCORE_DECIMALS)
    return quantum.astype("int64")


# Run length of ``_may_reach_top``. At 10 million events a personal-score
# row holds about 450 products: runs of 8 keep half as many candidates as
# runs of 16 (52 against 108 a customer) for the same pruning time, and
# everything after the pruning scales with the candidates kept; runs of 4
# keep 25 but take twice as long.
_RUN = 8


def _may_reach_top(indptr, scores, counts, margins):
    """Mask of the entries of CSR rows that can be among their row's top
    ``counts`` (one count per row, or one for all), in linear time.

    Each row is cut into runs of ``_RUN`` entries. At least k entries are at or
    above the k-th largest run maximum, so an entry more than the row's
    margin below it can never make the cut. Counts are rounded up to
    count × 2**j, so one partition serves every row. This keeps a few
    hundred entries of a row of thousands, and the exact ranking then sorts
    only those.
    """
    lengths = np.diff(indptr)
    runs = -(-lengths // _RUN)
    counts = np.broadcast_to(np.asarray(counts, dtype="int64"), runs.shape)
    long_rows = np.flatnonzero(runs > counts)
    if len(long_rows) == 0:
        return np.ones(len(scores), dtype=bool)
    row_of_run, run_in_row = _expand(runs)
    run_max = np.maximum.reduceat(scores, indptr[:-1][row_of_run] + run_in_row * _RUN)
    slot = np.full(len(runs), -1)
    slot[long_rows] = np.arange(len(long_rows))
    in_long = slot[row_of_run] >= 0
    width = int(runs[long_rows].max())
    grid = np.full((len(long_rows), width), -np.inf)
    grid[slot[row_of_run[in_long]], run_in_row[in_long]] = run_max[in_long]

    base = int(counts[long_rows].min())
    steps = np.ceil(np.log2(counts[long_rows] / base)).astype("int64")
    rounded = np.minimum(base * 2**steps, width)
    ladder = np.unique(rounded)
    grid = np.partition(grid, width - ladder, axis=1)
    floor = np.full(len(runs), -np.inf)
    floor[long_rows] = grid[np.arange(len(long_rows)), width - rounded]
    margins = np.broadcast_to(np.asarray(margins, dtype="float64"), runs.shape)
    return scores >= np.repeat(floor - margins, lengths)


def _row_max(indptr, values):
    """Largest value of each CSR row (0 for an empty row)."""
    lengths = np.diff(indptr)
    best = np.zeros(len(lengths))
    filled = lengths > 0
    if filled.any():
        best[filled] = np.maximum.reduceat(values, indptr[:-1][filled])
    return best


def _top_in_lists(rows, items, quantum, count, item_bits):
    """The ``count`` best items of each row: row, item, rank (from 1) and
    score quantum.

    Ranking: higher quantum first, then the smaller item index, that is the
    smaller product_id. One sort of packed 64-bit keys does it (row
    ascending, then quantum descending, then item ascending), so rows must
    fit in 31 - item_bits bits and quanta in 32 bits.
    """
    score_bits = 32
    quantum = np.asarray(quantum, dtype="int64")
    if len(quantum) and (quantum.min() < 0 or quantum.max() >= 2**score_bits):
        raise ValueError("scores to rank must be between 0 and 4.29")
    rows = np.asarray(rows, dtype="int64")
    if len(rows) and rows.max() >= 2 ** (63 - score_bits - item_bits):
        raise ValueError("too many rows to rank in one batch")
    packed = rows << (score_bits + item_bits)
    packed |= (2**score_bits - 1 - quantum) << item_bits
    packed |= np.asarray(items, dtype="int64")
    packed.sort()
    rows = packed >> (score_bits + item_bits)
    boundary = np.ones(len(rows), dtype=bool)
    boundary[1:] = rows[1:] != rows[:-1]
    starts = np.flatnonzero(boundary)
    rank = np.arange(len(rows)) - np.repeat(
        starts, np.diff(np.append(starts, len(rows)))
    )
    keep = rank < count
    packed = packed[keep]
    return (
        rows[keep],
        packed & ((1 << item_bits) - 1),
        rank[keep] + 1,
        2**score_bits - 1 - ((packed >> item_bits) & (2**score_bits - 1)),
    )


def _expand(length):
    """Row number and 0-based offset of each item of rows of given lengths."""
    length = np.asarray(length, dtype="int64")
    row = np.repeat(np.arange(len(length)), length)
    starts = np.repeat(np.cumsum(length) - length, length)
    return row, np.arange(length.sum()) - starts


def _pair_keys_of(matrix, product_bits):
    """Sorted (row, column) keys of a CSR matrix's stored cells."""
    matrix = matrix.tocsr()
    matrix.sort_indices()
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    return (rows.astype("int64") << product_bits) | matrix.indices.astype("int64")


def _contains(sorted_keys, keys):
    """Whether each of ``keys`` is in ``sorted_keys``."""
    if len(sorted_keys) == 0 or len(keys) == 0:
        return np.zeros(len(keys), dtype=bool)
    position = np.searchsorted(sorted_keys, keys)
    position = np.minimum(position, len(sorted_keys) - 1)
    return sorted_keys[position] == keys


# --------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------


def recommend_products(
    events,
    *,
    as_of_date=None,
    count=10,
    allow_repeat_purchases=False,
    view_weight=1.0,
    cart_weight=3.0,
    purchase_weight=5.0,
):
    """product_recommendations: lists for every customer, from all events
    before the as-of date.

    Returns
    -------
    pandas.DataFrame
        customer_id, product_id, rank, score, reason.
    """
    as_of = resolve_events_as_of(events, as_of_date)
    if as_of is None:
        return typed_frame(None, RECOMMENDATIONS_SCHEMA)
    model = fit_recommender(
        events,
        cutoff=as_of,
        view_weight=view_weight,
        cart_weight=cart_weight,
        purchase_weight=purchase_weight,
    )
    return recommend(model, count=count, allow_repeat_purchases=allow_repeat_purchases)


def similar_products(
    events,
    *,
    as_of_date=None,
    count=10,
    view_weight=1.0,
    cart_weight=3.0,
    purchase_weight=5.0,
    model=None,
):
    """product_similarity: each product's most similar products.

    similarity_score is the blended similarity (collaborative + 0.5 ×
    content); method names the larger part ("collaborative" on a tie).
    Ties are ordered by similar_product_id.

    Returns
    -------
    pandas.DataFrame
        product_id, similar_product_id, rank, similarity_score, method.
    """
    if model is None:
        as_of = resolve_events_as_of(events, as_of_date)
        if as_of is None:
            return typed_frame(None, SIMILARITY_SCHEMA)
        model = fit_recommender(
            events,
            cutoff=as_of,
            view_weight=view_weight,
            cart_weight=cart_weight,
            purchase_weight=purchase_weight,
        )
    product_count = len(model.product_ids)
    if product_count == 0:
        return typed_frame(None, SIMILARITY_SCHEMA)
    collaborative = model.collaborative
    content = (model.content_weight * model.content).tocsr()
    blended = model.blended
    product_bits = max(1, int(product_count - 1).bit_length())
    chunk_rows = 2 ** (31 - product_bits)
    if chunk_rows < 1:
        raise ValueError(f"too many products to rank ({product_count})")
    picked = []
    for start in range(0, product_count, chunk_rows):
        chunk = blended[start : start + chunk_rows]
        local_row = np.repeat(np.arange(chunk.shape[0]), np.diff(chunk.indptr))
        row, similar, rank, quantum = _top_in_lists(
            local_row, chunk.indices, _quantise(chunk.data), count, product_bits
        )
        picked.append((row + start, similar, rank, quantum / 10**SCORE_DECIMALS))
    row, similar, rank, score = (
        np.concatenate(part) for part in zip(*picked, strict=True)
    )
    if len(row) == 0:
        # No two products are similar (one product, or none shares a
        # customer, a category or a brand). scipy answers an empty cell
        # lookup with a sparse matrix, not an array.
        return typed_frame(None, SIMILARITY_SCHEMA)
    collaborative_part = np.asarray(collaborative[row, similar]).ravel()
    content_part = np.asarray(content[row, similar]).ravel()
    return typed_frame(
        {
            "product_id": model.product_ids[row],
            "similar_product_id": model.product_ids[similar],
            "rank": rank,
            "similarity_score": score,
            "method": np.where(
                collaborative_part >= content_part, "collaborative", "content"
            ),
        },
        SIMILARITY_SCHEMA,
    )


def evaluate_recommendations(
    events,
    *,
    as_of_date=None,
    holdout_days=30,
    count=10,
    allow_repeat_purchases=False,
    view_weight=1.0,
    cart_weight=3.0,
    purchase_weight=5.0,
    model=None,
):
    """recommendation_metrics: a temporal holdout of the last days.

    The model is fitted on events before holdout start = as-of date minus
    ``holdout_days``, then lists of ``count`` products are made for every
    customer who bought a merchandise product inside the holdout (before the
    as-of date); those purchases are what a list should contain. Products a
    customer bought before the holdout are not counted as hits when repeat
    purchases are not allowed, since they could not be recommended. A
    popularity baseline (the overall tier alone, with the same exclusions)
    is measured on the same customers.

    ``model``, when given, is the recommender already fitted on the same
    events before holdout start (``fit_recommenders``, which reads the
    events once for it and for the fit before the as-of date); the weights
    are then those it was fitted with.

    Returns
    -------
    RecommendationEvaluation
        ``metrics`` is the table: model_name ("recommender",
        "popularity_baseline"), k, precision_at_k, recall_at_k,
        hit_rate_at_k, ndcg_at_k, map_at_k, catalogue_coverage,
        count_customers_evaluated, holdout_start_at, holdout_end_at,
        warning.
    """
    if holdout_days < 1:
        raise ValueError(
            f"var recommendation_holdout_days must be at least 1, got {holdout_days}"
        )
    as_of = resolve_events_as_of(events, as_of_date)
    if as_of is None:
        return _unevaluated("there are no events", None, None, count)
    holdout_start = as_of - pd.Timedelta(days=holdout_days)
    if model is None:
        model = fit_recommender(
            events,
            cutoff=holdout_start,
            view_weight=view_weight,
            cart_weight=cart_weight,
            purchase_weight=purchase_weight,
        )
    relevant = typed_frame(
        query_events(
            events,
            _RELEVANT_SQL.format(
                holdout_start=sql_timestamp(holdout_start),
                as_of=sql_timestamp(as_of),
                earlier="false" if allow_repeat_purchases else "true",
            ),
            required=_RELEVANT_COLUMNS,
        ),
        RELEVANT_SCHEMA,
    )
    if relevant.empty:
        return _unevaluated(
            "no customer bought a new merchandise product in the holdout",
            holdout_start,
            as_of,
            count,
        )
    if len(model.product_ids) == 0:
        return _unevaluated(
            "no product was viewed, carted or bought before the holdout",
            holdout_start,
            as_of,
            count,
        )
    evaluated = relevant["customer_id"].unique()
    lists = recommend(
        model,
        customer_ids=evaluated,
        count=count,
        allow_repeat_purchases=allow_repeat_purchases,
    )
    baseline = recommend(
        model,
        customer_ids=evaluated,
        count=count,
        allow_repeat_purchases=allow_repeat_purchases,
        popularity_only=True,
    )
    rows = []
    for name, table in ((MODEL_NAME, lists), (BASELINE_NAME, baseline)):
        values = ranking_metrics(
            table, relevant, k=count, catalogue_size=len(model.product_ids)
        )
        rows.append({"model_name": name, **values})
    metrics = pd.DataFrame(rows).assign(
        k=count, holdout_start_at=holdout_start, holdout_end_at=as_of, warning=None
    )
    return RecommendationEvaluation(
        metrics=typed_frame(metrics, METRICS_SCHEMA),
        recommendations=lists,
        baseline_recommendations=baseline,
        relevant=relevant,
    )


# What a holdout list should contain: the (customer, product) pairs of
# merchandise purchases by a known customer inside the holdout, less, when
# {earlier} is true, pairs the customer had already bought before it.
_RELEVANT_SQL = """
with purchases as (
    select
        cast(customer_id as varchar) as customer_id,
        cast(product_id as varchar) as product_id,
        cast(event_at as timestamp) as event_at
    from events
    where
        customer_id is not null
        and product_id is not null
        and event_type = 'purchase'
        and coalesce(cast(is_merchandise as boolean), true)
        and event_at < {as_of}
),
inside as (
    select distinct customer_id, product_id
    from purchases
    where event_at >= {holdout_start}
),
earlier as (
    select distinct customer_id, product_id
    from purchases
    where event_at < {holdout_start} and {earlier}
)
select i.customer_id, i.product_id
from inside as i
anti join earlier as e
    on i.customer_id = e.customer_id and i.product_id = e.product_id
order by i.customer_id, i.product_id
"""
_RELEVANT_COLUMNS = (
    "customer_id",
    "product_id",
    "event_type",
    "event_at",
    "is_merchandise",
)


def resolve_events_as_of(events, as_of_date=None):
    """``events.resolve_as_of`` on a relation or frame of events: the given
    day, or the day after the last event (None when there is none)."""
    if as_of_date is not None and not (
        isinstance(as_of_date, str) and not as_of_date.strip()
    ):
        return resolve_as_of(pd.Series([], dtype="datetime64[us]"), as_of_date)
    last = query_events(
        events,
        "select max(cast(event_at as timestamp)) as last_at from events",
        required=("event_at",),
    )["last_at"]
    return resolve_as_of(pd.to_datetime(last), None)


def _unevaluated(problem, holdout_start, holdout_end, count):
    message = f"recommendations not evaluated: {problem}"
    warnings.warn(message, stacklevel=3)
    nothing = [np.nan, np.nan]
    metrics = typed_frame(
        {
            "model_name": [MODEL_NAME, BASELINE_NAME],
            "k": [count, count],
            "precision_at_k": nothing,
            "recall_at_k": nothing,
            "hit_rate_at_k": nothing,
            "ndcg_at_k": nothing,
            "map_at_k": nothing,
            "catalogue_coverage": nothing,
            "count_customers_evaluated": [0, 0],
            "holdout_start_at": [holdout_start] * 2,
            "holdout_end_at": [holdout_end] * 2,
            "warning": [message] * 2,
        },
        METRICS_SCHEMA,
    )
    empty = typed_frame(None, RECOMMENDATIONS_SCHEMA)
    return RecommendationEvaluation(
        metrics=metrics,
        recommendations=empty,
        baseline_recommendations=empty,
        relevant=typed_frame(None, RELEVANT_SCHEMA),
    )


def settings_from_config(config):
    """Keyword arguments for the table functions from a model's config values.

    Parameters
    ----------
    config : dict
        Values of any of the config keys as_of_date, recommendation_count,
        recommendation_holdout_days, recommendation_allow_repeat_purchases,
        recommendation_view_weight, recommendation_cart_weight and
        recommendation_purchase_weight. Only the keys given are returned;
        a None value takes the function's default (the var's default).

    Returns
    -------
    dict
        Keyword arguments named as in ``evaluate_recommendations``.
    """
    readers = {
        "as_of_date": ("as_of_date", params.as_optional_str, {}),
        "recommendation_count": ("count", params.as_int, {"minimum": 1}),
        "recommendation_holdout_days": ("holdout_days", params.as_int, {"minimum": 1}),
        "recommendation_allow_repeat_purchases": (
            "allow_repeat_purchases",
            params.as_bool,
            {},
        ),
        "recommendation_view_weight": ("view_weight", params.as_float, {"minimum": 0}),
        "recommendation_cart_weight": ("cart_weight", params.as_float, {"minimum": 0}),
        "recommendation_purchase_weight": (
            "purchase_weight",
            params.as_float,
            {"minimum": 0},
        ),
    }
    settings = {}
    for key, (name, reader, limits) in readers.items():
        if key in config and (config[key] is not None or name == "as_of_date"):
            settings[name] = reader(config[key], key=key, **limits)
    return settings
