"""Generate synthetic shop events in the project's canonical layout.

The output is a Parquet file the project reads with
``--vars '{events_path: <file>, events_format: canonical}'``. Everything is
drawn from one seed, so the same arguments always give the same rows. The
knobs and the shape of the data are described in docs/generator.md.

How the data is built
---------------------
1. A product catalog: categories, brands, names, prices, and a Zipf-like
   popularity ranking. A few product pairs are planted to be bought together.
2. Session shapes, drawn independently of who browses: how many searches,
   views, carts, removals and purchase lines, whether the order is later
   returned. Enough shapes are drawn to reach the requested number of clean
   events exactly; the last session is cut short to land on it.
3. Customers: when they arrive, whether they lapse (stop coming back after a
   while), how active they are. Every customer gets a session, the rest go to
   the more active ones. Sessions are laid out in time with at least
   ``IDLE_BETWEEN_SESSIONS_S`` of silence between them.
4. Events, in chunks of about ``CHUNK_EVENTS`` rows in order of session start,
   each written as its own Parquet row group. Dirty rows (one per reject
   reason, in turn) are copies of clean rows with one field spoiled, placed
   right after the row they copy.

Run ``python scripts/generate_events.py --help`` for the command line.
"""

import argparse
import datetime as dt
import functools
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

# ---------------------------------------------------------------------------
# Fixed shape of the data. The command-line knobs are in main(); these are
# the constants behind them, stated once.
# ---------------------------------------------------------------------------

SECONDS_PER_DAY = 86_400
CHUNK_EVENTS = 1 << 20  # rows per chunk and row group; part of the seed family

# Funnel, per session. Shares are of the previous step.
MEAN_VIEWS_PER_SESSION = 4.5
MAX_VIEWS_PER_SESSION = 40
MEAN_SEARCHES_PER_SESSION = 0.5
CART_SHARE_OF_VIEWS = 0.30
REMOVE_SHARE_OF_CARTS = 0.15
CONVERTING_SESSION_SHARE = 0.39  # sessions that go to checkout
PURCHASE_SHARE_OF_KEPT_CARTS = 0.90  # in a converting session
# With the shares above, about 0.39 * 0.85 * 0.9 = 30% of carts are bought.
RETURNED_ORDER_SHARE = 0.08
RETURNED_LINE_SHARE = 0.5  # of the lines of a returned order, at least one
PAIR_SHARE_OF_CONVERTING = 0.12  # converting sessions that buy a planted pair

# Time.
MEAN_SECONDS_BETWEEN_EVENTS = 60.0
MAX_SECONDS_BETWEEN_EVENTS = 20 * 60  # well below a 30-minute session timeout
IDLE_BETWEEN_SESSIONS_S = 4 * 3600  # well above a 30-minute session timeout
MAX_DAYS_TO_RETURN = 30

# Customers.
EVENTS_PER_CUSTOMER_AUTO = 20
EXISTING_CUSTOMER_SHARE = 0.30  # already customers on the first day
LAPSING_CUSTOMER_SHARE = 0.35  # stop coming back after a while
MEAN_LAPSING_LIFETIME_DAYS = 30.0
ACTIVITY_SIGMA = 0.9  # lognormal spread of how often customers come back
NEW_CUSTOMER_SHARE_APPEND_DAY = 0.10

# Products.
ZIPF_EXPONENT = 1.07
PAIR_POPULARITY_RANKS = (20, 80)  # planted pairs use mid-popularity products

EVENT_TYPES = ("search", "view", "cart", "remove_from_cart", "purchase", "return")
SEARCH, VIEW, CART, REMOVE, PURCHASE, RETURN = range(len(EVENT_TYPES))

REJECT_REASONS = (
    "missing_customer_id",
    "unparseable_timestamp",
    "future_timestamp",
    "unknown_event_type",
    "invalid_price",
    "zero_quantity",
    "invalid_quantity",
    "duplicate_event",
)

# The spoiled values used for each reject reason, taken in turn.
BLANK_CUSTOMER_IDS = ("", "   ", None)
UNPARSEABLE_TIMESTAMPS = (
    "not a date",
    "",
    "31/12/2024 25:00",
    "2024-02-30T10:00:00+00:00",
)
FUTURE_YEARS = 100
UNKNOWN_EVENT_TYPES = ("wishlist", "checkout_started", "", "clicked_ad")
INVALID_PRICES = ("", "n/a", "negative")  # blank on a purchase; "negative": -price
ZERO_QUANTITIES = ("0", "0.0")
INVALID_QUANTITIES = ("1.5", "-2", "two")

COLUMNS = (
    "event_at",
    "event_type",
    "customer_id",
    "product_id",
    "product_name",
    "category",
    "brand",
    "price",
    "quantity",
    "order_id",
    "session_id",
    "search_query",
    "country",
)
# Every column is text, so that dirty rows can carry unparseable values; the
# project reads every column as text anyway.
SCHEMA = pa.schema([(name, pa.string()) for name in COLUMNS])

# (category, typical price, nouns)
CATEGORIES = (
    ("electronics", 180.0, ("headphones", "speaker", "charger", "monitor", "tablet")),
    ("computers", 420.0, ("laptop", "keyboard", "mouse", "webcam", "router")),
    ("home", 45.0, ("lamp", "cushion", "vase", "rug", "clock")),
    ("kitchen", 35.0, ("kettle", "pan", "knife set", "blender", "mug")),
    ("clothing", 40.0, ("t-shirt", "jacket", "jeans", "scarf", "hoodie")),
    ("shoes", 75.0, ("sneakers", "boots", "sandals", "loafers", "slippers")),
    ("beauty", 22.0, ("shampoo", "serum", "lipstick", "perfume", "cream")),
    ("sports", 55.0, ("yoga mat", "dumbbell", "bottle", "racket", "helmet")),
    ("toys", 25.0, ("puzzle", "blocks", "doll", "board game", "kite")),
    ("books", 15.0, ("novel", "cookbook", "atlas", "comic", "guide")),
    ("garden", 30.0, ("hose", "planter", "shears", "seeds", "gloves")),
    ("grocery", 8.0, ("coffee", "tea", "chocolate", "olive oil", "pasta")),
)
CATEGORY_WEIGHTS = (8, 5, 10, 9, 14, 7, 9, 8, 7, 9, 5, 9)
ADJECTIVES = (
    "classic",
    "compact",
    "deluxe",
    "eco",
    "essential",
    "pro",
    "smart",
    "soft",
    "sport",
    "ultra",
    "vintage",
    "wireless",
    "premium",
    "basic",
)
BRAND_SYLLABLES = (
    "ar",
    "bel",
    "cor",
    "dan",
    "el",
    "fin",
    "gro",
    "hal",
    "ix",
    "jo",
    "kel",
    "lum",
    "mor",
    "nov",
    "or",
    "pax",
    "qui",
    "ros",
    "sol",
    "tor",
    "ul",
    "ven",
)
BRANDS_PER_CATEGORY = 6
COUNTRIES = ("DE", "FR", "GB", "NL", "ES", "IT", "PL", "SE", "US", "BE")
COUNTRY_WEIGHTS = (30, 15, 14, 8, 8, 7, 6, 4, 4, 4)

# Roles of the seed family: each part of the data draws from its own stream,
# so adding a part (the append day) does not change the others.
ROLE_CATALOG, ROLE_SHAPES, ROLE_CUSTOMERS, ROLE_PLACEMENT, ROLE_CHUNK = range(5)
ROLE_APPEND = 10


def _rng(seed, *key):
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


# ---------------------------------------------------------------------------
# Small vectorized helpers over groups stored contiguously.
# ---------------------------------------------------------------------------


def _group_starts(counts):
    return np.cumsum(counts) - counts


def _group_arange(counts):
    """0, 1, ... within each group of the given sizes, concatenated."""
    total = int(counts.sum())
    return np.arange(total) - np.repeat(_group_starts(counts), counts)


def _group_rank(groups, counts, keys):
    """Rank of each key within its group; groups are sorted and contiguous."""
    order = np.lexsort((keys, groups))
    ranks = np.empty(len(groups), dtype=np.int64)
    ranks[order] = _group_arange(counts)
    return ranks


def _zipf_sampler(n_products, rng):
    """A function drawing product indices with Zipf-like popularity.

    Popularity rank r has weight 1 / r**ZIPF_EXPONENT; ranks are shuffled
    over product ids, so popular products are not the low ids.
    """
    weights = 1.0 / np.arange(1, n_products + 1) ** ZIPF_EXPONENT
    cdf = np.cumsum(weights / weights.sum())
    cdf[-1] = 1.0
    by_rank = rng.permutation(n_products)

    def sample(sampler_rng, size):
        ranks = np.searchsorted(cdf, sampler_rng.random(size), side="right")
        return by_rank[np.minimum(ranks, n_products - 1)]

    return sample, by_rank


# ---------------------------------------------------------------------------
# Catalog.
# ---------------------------------------------------------------------------


def build_catalog(seed, n_products, n_pairs):
    """Products with names, categories, brands, prices and popularity.

    Returns a dict of arrays indexed by product (0-based), the Zipf sampler,
    and ``pairs``, an (n_pairs, 2) array of planted bought-together products.
    """
    rng = _rng(seed, ROLE_CATALOG)
    n_categories = len(CATEGORIES)
    brand_names = []
    for _ in range(n_categories * BRANDS_PER_CATEGORY):
        syllables = rng.choice(len(BRAND_SYLLABLES), size=rng.integers(2, 4))
        brand_names.append("".join(BRAND_SYLLABLES[s] for s in syllables).title())

    weights = np.asarray(CATEGORY_WEIGHTS, dtype=float)
    category = rng.choice(n_categories, size=n_products, p=weights / weights.sum())
    brand = category * BRANDS_PER_CATEGORY + rng.integers(
        0, BRANDS_PER_CATEGORY, size=n_products
    )
    noun = rng.integers(0, 5, size=n_products)
    adjective = rng.integers(0, len(ADJECTIVES), size=n_products)
    typical = np.array([c[1] for c in CATEGORIES])[category]
    price = np.maximum(
        np.round(typical * rng.lognormal(0.0, 0.5, size=n_products)) - 0.01, 0.99
    )

    names, queries, prices = [], [], []
    for i in range(n_products):
        noun_text = CATEGORIES[category[i]][2][noun[i]]
        brand_text = brand_names[brand[i]]
        names.append(f"{brand_text} {ADJECTIVES[adjective[i]]} {noun_text}")
        queries.append(noun_text)
        queries.append(f"{brand_text.lower()} {noun_text}")
        prices.append(f"{price[i]:.2f}")

    sample, by_rank = _zipf_sampler(n_products, rng)
    low, high = PAIR_POPULARITY_RANKS
    high = min(high, n_products)
    low = min(low, max(high - 2 * n_pairs, 0))
    pair_products = rng.choice(by_rank[low:high], size=2 * n_pairs, replace=False)
    return {
        "n_products": n_products,
        "product_id": pa.array([f"P{i + 1:06d}" for i in range(n_products)]),
        "product_name": pa.array(names),
        "category": pa.array([CATEGORIES[c][0] for c in category]),
        "brand": pa.array([brand_names[b] for b in brand]),
        "price": pa.array(prices),
        "price_value": price,
        "search_query": pa.array(queries),
        "sample": sample,
        "pairs": pair_products.reshape(n_pairs, 2),
    }


# ---------------------------------------------------------------------------
# Sessions: shapes, customers, times.
# ---------------------------------------------------------------------------


def _draw_shapes(rng, n, n_pairs):
    views = np.minimum(
        rng.geometric(1.0 / MEAN_VIEWS_PER_SESSION, size=n), MAX_VIEWS_PER_SESSION
    )
    searches = np.minimum(rng.poisson(MEAN_SEARCHES_PER_SESSION, size=n), 5)
    carts = rng.binomial(views, CART_SHARE_OF_VIEWS)
    removes = rng.binomial(carts, REMOVE_SHARE_OF_CARTS)
    converts = rng.random(n) < CONVERTING_SESSION_SHARE
    purchases = np.where(
        converts, rng.binomial(carts - removes, PURCHASE_SHARE_OF_KEPT_CARTS), 0
    )
    has_pair = converts & (rng.random(n) < PAIR_SHARE_OF_CONVERTING) & (n_pairs > 0)
    pair = np.where(has_pair, rng.integers(0, max(n_pairs, 1), size=n), -1)
    lines = purchases + 2 * has_pair
    returned = (lines > 0) & (rng.random(n) < RETURNED_ORDER_SHARE)
    returns = np.where(
        returned, np.maximum(rng.binomial(lines, RETURNED_LINE_SHARE), 1), 0
    )
    in_session = searches + views + carts + removes + purchases + 6 * has_pair
    # Sum of (events - 1) exponential gaps, drawn as one gamma per session.
    duration = np.where(
        in_session > 1,
        rng.gamma(np.maximum(in_session - 1, 1), MEAN_SECONDS_BETWEEN_EVENTS),
        0.0,
    )
    return {
        "searches": searches,
        "views": views,
        "carts": carts,
        "removes": removes,
        "purchases": purchases,
        "pair": pair,
        "returns": returns,
        "in_session": in_session,
        "events": in_session + returns,
        "duration": duration,
    }


def plan_shapes(seed, role, n_clean, n_pairs):
    """Session shapes adding up to exactly ``n_clean`` events.

    ``keep`` is the number of events each session writes: all of them except
    in the last session, which is cut short (latest events first).
    """
    rng = _rng(seed, *role, ROLE_SHAPES)
    parts, total, mean_events = [], 0, 7.0
    while total < n_clean:
        batch = int((n_clean - total) / mean_events * 1.1) + 16
        shapes = _draw_shapes(rng, batch, n_pairs)
        parts.append(shapes)
        total += int(shapes["events"].sum())
    if not parts:
        parts.append(_draw_shapes(rng, 0, n_pairs))
    shapes = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    cumulative = np.cumsum(shapes["events"])
    n_sessions = int(np.searchsorted(cumulative, n_clean, side="left")) + 1
    n_sessions = min(n_sessions, len(cumulative)) if n_clean > 0 else 0
    shapes = {k: v[:n_sessions] for k, v in shapes.items()}
    keep = shapes["events"].copy()
    if n_sessions:
        keep[-1] -= int(cumulative[n_sessions - 1]) - n_clean
    shapes["keep"] = keep
    return shapes


def _place_sessions(rng, customer, shapes, first_at, last_at, earliest, window_end):
    """Start time of each session and time of its return, in epoch seconds.

    ``customer`` is sorted. Each session reserves its duration plus the idle
    gap; the spare time of a customer's active span is spread at random
    between the sessions, so sessions never overlap or come closer than the
    idle gap. A customer with more sessions than fit in the span is moved to
    start earlier (and, rarely, runs past the span).
    """
    n = len(customer)
    busy = shapes["duration"] + shapes["in_session"]
    reserve = busy + IDLE_BETWEEN_SESSIONS_S
    counts = np.bincount(customer, minlength=len(first_at))
    reserved = np.bincount(customer, weights=reserve, minlength=len(first_at))
    start = np.maximum(earliest, np.minimum(first_at, last_at - reserved))
    spare = np.maximum(last_at - start - reserved, 0.0)

    spread = rng.random(n)
    order = np.lexsort((spread, customer))
    spread = spread[order]
    before = np.cumsum(reserve) - reserve
    before -= np.repeat(before[_group_starts(counts)[counts > 0]], counts[counts > 0])
    session_start = start[customer] + spread * spare[customer] + before
    session_start = np.floor(session_start).astype(np.int64)

    session_end = session_start + np.ceil(busy).astype(np.int64)
    is_last = np.ones(n, dtype=bool)
    is_last[:-1] = customer[1:] != customer[:-1]
    next_start = np.empty(n, dtype=np.int64)
    next_start[:-1] = session_start[1:]
    horizon = np.minimum(window_end, session_end + MAX_DAYS_TO_RETURN * SECONDS_PER_DAY)
    next_start = np.where(is_last, horizon, next_start)
    next_start = np.maximum(next_start, session_end + IDLE_BETWEEN_SESSIONS_S)
    fraction = rng.uniform(0.25, 0.75, size=n)
    return_at = session_end + np.floor(fraction * (next_start - session_end))
    return session_start, return_at.astype(np.int64)


# ---------------------------------------------------------------------------
# Events of one chunk of sessions.
# ---------------------------------------------------------------------------


def _distinct_products(rng, catalog, session, fixed, products):
    """Redraw products so that no product is viewed twice in a session."""
    n_products = catalog["n_products"]
    for attempt in range(200):
        key = session * n_products + products
        order = np.lexsort((~fixed, key))
        repeated = np.zeros(len(key), dtype=bool)
        repeated[order[1:]] = key[order[1:]] == key[order[:-1]]
        if not repeated.any():
            return products
        redraw = np.flatnonzero(repeated)
        if attempt < 10:
            products[redraw] = catalog["sample"](rng, len(redraw))
        else:
            products[redraw] = rng.integers(0, n_products, size=len(redraw))
    raise RuntimeError("could not draw distinct products per session")


def build_chunk(rng, sessions, catalog, customer_ids, customer_country):
    """Clean events of a chunk of sessions, sorted by time.

    ``sessions`` is a dict of per-session arrays (shapes plus customer,
    start, return_at, session_number, order_number). Returns the table and
    the event times in epoch seconds.
    """
    n = len(sessions["start"])
    idx = np.arange(n)
    has_pair = sessions["pair"] >= 0
    views_total = sessions["views"] + 2 * has_pair

    # Views: organic ones from popularity, plus the planted pair.
    view_session = np.repeat(idx, views_total)
    view_local = _group_arange(views_total)
    is_pair_view = view_local >= np.repeat(sessions["views"], views_total)
    products = catalog["sample"](rng, len(view_session))
    pair_rows = np.flatnonzero(is_pair_view)
    pair_of = sessions["pair"][view_session[pair_rows]]
    which = view_local[pair_rows] - sessions["views"][view_session[pair_rows]]
    products[pair_rows] = catalog["pairs"][pair_of, which]
    products = _distinct_products(rng, catalog, view_session, is_pair_view, products)
    view_position = _group_rank(view_session, views_total, rng.random(len(products)))

    # Which organic views go to cart, are removed or bought: by a random
    # ranking of the session's organic views. The pair is always bought.
    organic_rank = _group_rank(
        view_session,
        views_total,
        np.where(is_pair_view, 2.0, rng.random(len(products))),
    )
    carts = sessions["carts"][view_session]
    removes = sessions["removes"][view_session]
    purchases = sessions["purchases"][view_session]
    carted = is_pair_view | (organic_rank < carts)
    removed = ~is_pair_view & (organic_rank < removes)
    bought = is_pair_view | (
        ~is_pair_view & (organic_rank >= removes) & (organic_rank < removes + purchases)
    )
    quantity = np.minimum(rng.geometric(0.75, size=len(products)), 10)

    # Order inside a session: a search comes just before some view, a cart
    # right after its view, a removal somewhere after its cart, and the
    # purchase lines together at the end (checkout).
    n_views_of = views_total[view_session].astype(float)
    search_session = np.repeat(idx, sessions["searches"])
    search_key = (
        np.floor(rng.random(len(search_session)) * views_total[search_session]) - 0.5
    )
    search_product = catalog["sample"](rng, len(search_session))
    cart_key = view_position + 0.3
    remove_key = cart_key + 0.01 + rng.random(len(products)) * (n_views_of - cart_key)
    buy_key = n_views_of + 1.0 + view_position * 1e-3

    c, r, b = np.flatnonzero(carted), np.flatnonzero(removed), np.flatnonzero(bought)
    session = np.concatenate(
        [
            search_session,
            view_session,
            view_session[c],
            view_session[r],
            view_session[b],
        ]
    )
    kind = np.concatenate(
        [
            np.full(len(search_session), SEARCH),
            np.full(len(products), VIEW),
            np.full(len(c), CART),
            np.full(len(r), REMOVE),
            np.full(len(b), PURCHASE),
        ]
    )
    key = np.concatenate(
        [
            search_key,
            view_position.astype(float),
            cart_key[c],
            remove_key[r],
            buy_key[b],
        ]
    )
    product = np.concatenate(
        [search_product, products, products[c], products[r], products[b]]
    )
    qty = np.concatenate(
        [
            np.zeros(len(search_session), dtype=np.int64),
            np.zeros(len(products), dtype=np.int64),
            quantity[c],
            quantity[r],
            quantity[b],
        ]
    )
    query_choice = np.concatenate(
        [
            rng.integers(0, 2, size=len(search_session)),
            np.zeros(len(products) + len(c) + len(r) + len(b), dtype=np.int64),
        ]
    )
    order = np.lexsort((key, session))
    session, kind, product, qty, query_choice = (
        a[order] for a in (session, kind, product, qty, query_choice)
    )
    in_session = np.bincount(session, minlength=n)
    if not np.array_equal(in_session, sessions["in_session"]):
        raise AssertionError("session shapes and built events disagree")

    # Times: exponential gaps scaled to the session's drawn duration, at
    # least one second apart; the lines of one checkout share a timestamp.
    local = _group_arange(in_session)
    gap_draw = rng.exponential(1.0, size=len(session))
    gap_draw[local == 0] = 0.0
    total_draw = np.bincount(session, weights=gap_draw, minlength=n)
    scale = np.divide(
        sessions["duration"], total_draw, out=np.zeros(n), where=total_draw > 0
    )
    gap = np.floor(gap_draw * scale[session]).astype(np.int64) + 1
    gap = np.minimum(gap, MAX_SECONDS_BETWEEN_EVENTS)
    gap[local == 0] = 0
    later_line = np.zeros(len(session), dtype=bool)
    later_line[1:] = (
        (kind[1:] == PURCHASE) & (kind[:-1] == PURCHASE) & (session[1:] == session[:-1])
    )
    gap[later_line] = 0
    elapsed = np.cumsum(gap)  # the first gap of each session is zero
    at = (
        sessions["start"][session]
        + elapsed
        - elapsed[_group_starts(in_session)][session]
    )

    # Returns: some lines of the order, after the session, one second apart.
    bought_sorted = np.flatnonzero(kind == PURCHASE)
    line_rank = _group_arange(np.bincount(session[bought_sorted], minlength=n))
    returned = bought_sorted[line_rank < sessions["returns"][session[bought_sorted]]]
    return_line = line_rank[line_rank < sessions["returns"][session[bought_sorted]]]
    session = np.concatenate([session, session[returned]])
    kind = np.concatenate([kind, np.full(len(returned), RETURN)])
    product = np.concatenate([product, product[returned]])
    qty = np.concatenate([qty, qty[returned]])
    query_choice = np.concatenate(
        [query_choice, np.zeros(len(returned), dtype=np.int64)]
    )
    at = np.concatenate([at, sessions["return_at"][session[returned]] + return_line])
    position = np.concatenate(
        [local, sessions["in_session"][session[returned]] + return_line]
    )

    # The last session of the whole file may be cut short.
    keep = position < sessions["keep"][session]
    session, kind, product, qty, query_choice, at, position = (
        a[keep] for a in (session, kind, product, qty, query_choice, at, position)
    )
    order = np.lexsort((position, sessions["session_number"][session], at))
    session, kind, product, qty, query_choice, at = (
        a[order] for a in (session, kind, product, qty, query_choice, at)
    )
    return _to_table(
        session,
        kind,
        product,
        qty,
        query_choice,
        at,
        sessions,
        catalog,
        customer_ids,
        customer_country,
    ), at


def _masked(values, mask):
    return pa.array(values, mask=mask)


def _prefixed_numbers(prefix, numbers, width, mask):
    text = pc.utf8_lpad(
        pc.cast(pa.array(numbers), pa.string()), width=width, padding="0"
    )
    text = pc.binary_join_element_wise(prefix, text, "")
    return pc.if_else(pa.array(mask), pa.nulls(len(numbers), pa.string()), text)


@functools.cache
def _clock():
    """The 86,400 times of day as 'THH:MM:SS+00:00'."""
    return pa.array(
        [
            f"T{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}+00:00"
            for s in range(SECONDS_PER_DAY)
        ]
    )


def format_times(seconds):
    """ISO 8601 text with a +00:00 offset for epoch seconds.

    Built from a table of the days present and a table of the 86,400 times
    of day, which is several times faster than formatting each timestamp.
    """
    seconds = np.asarray(seconds, dtype=np.int64)
    days, day_index = np.unique(seconds // SECONDS_PER_DAY, return_inverse=True)
    epoch = dt.date(1970, 1, 1)
    day_text = pa.array(
        [(epoch + dt.timedelta(days=int(d))).isoformat() for d in days], pa.string()
    )
    return pc.binary_join_element_wise(
        day_text.take(pa.array(day_index.ravel())),
        _clock().take(pa.array(seconds % SECONDS_PER_DAY)),
        "",
    )


def _to_table(
    session,
    kind,
    product,
    qty,
    query_choice,
    at,
    sessions,
    catalog,
    customer_ids,
    customer_country,
):
    is_search = kind == SEARCH
    no_product = _masked(product, is_search)
    customer = sessions["customer"][session]
    has_order = (kind == PURCHASE) | (kind == RETURN)
    columns = {
        "event_at": format_times(at),
        "event_type": pa.array(
            np.asarray(EVENT_TYPES, dtype=object)[kind], pa.string()
        ),
        "customer_id": customer_ids.take(pa.array(customer)),
        "product_id": catalog["product_id"].take(no_product),
        "product_name": catalog["product_name"].take(no_product),
        "category": catalog["category"].take(no_product),
        "brand": catalog["brand"].take(no_product),
        "price": catalog["price"].take(no_product),
        "quantity": pc.if_else(
            pa.array((kind == VIEW) | is_search),
            pa.nulls(len(kind), pa.string()),
            pc.cast(pa.array(qty), pa.string()),
        ),
        "order_id": _prefixed_numbers(
            "O", sessions["order_number"][session], 8, ~has_order
        ),
        "session_id": _prefixed_numbers(
            "S", sessions["session_number"][session], 9, kind == RETURN
        ),
        "search_query": catalog["search_query"].take(
            _masked(product * 2 + query_choice, ~is_search)
        ),
        "country": customer_country.take(pa.array(customer)),
    }
    return pa.table(columns, schema=SCHEMA)


# ---------------------------------------------------------------------------
# Dirty rows.
# ---------------------------------------------------------------------------


def plant_dirty(rng, table, at, n_dirty, first_dirty):
    """Copies of clean rows with one field spoiled, placed after their source.

    The j-th dirty row of the file (counting from ``first_dirty``) gets reject
    reason j mod 8 and, within that reason, the spoiled value j div 8 mod the
    number of values, so reasons and values are spread evenly.
    """
    if n_dirty == 0 or table.num_rows == 0:
        return table
    number = first_dirty + np.arange(n_dirty)
    reason = number % len(REJECT_REASONS)
    variant = number // len(REJECT_REASONS)
    kinds = table.column("event_type").to_numpy(zero_copy_only=False)
    is_purchase = np.flatnonzero(kinds == "purchase")
    not_return = np.flatnonzero(kinds != "return")
    everyone = np.arange(table.num_rows)

    sources, pieces = [], []
    for r, name in enumerate(REJECT_REASONS):
        which = np.flatnonzero(reason == r)
        if not len(which):
            continue
        pool = everyone
        if name == "invalid_price" and len(is_purchase):
            pool = is_purchase
        elif name == "invalid_quantity" and len(not_return):
            pool = not_return
        source = np.sort(
            rng.choice(pool, size=len(which), replace=len(which) > len(pool))
        )
        rows = table.take(pa.array(source))
        v = variant[which]
        if name == "missing_customer_id":
            rows = _replace(rows, "customer_id", _pick(BLANK_CUSTOMER_IDS, v))
        elif name == "unparseable_timestamp":
            rows = _replace(rows, "event_at", _pick(UNPARSEABLE_TIMESTAMPS, v))
        elif name == "future_timestamp":
            later = at[source] + int(FUTURE_YEARS * 365.25 * SECONDS_PER_DAY)
            rows = _replace(rows, "event_at", format_times(later).to_pylist())
        elif name == "unknown_event_type":
            rows = _replace(rows, "event_type", _pick(UNKNOWN_EVENT_TYPES, v))
        elif name == "invalid_price":
            prices = rows.column("price").to_pylist()
            values = []
            for price, choice in zip(prices, _pick(INVALID_PRICES, v), strict=True):
                if choice == "negative":
                    choice = "-" + (price or "1.00")
                elif choice == "" and pool is everyone:
                    choice = "n/a"  # no purchase to leave without a price
                values.append(choice)
            rows = _replace(rows, "price", values)
        elif name == "zero_quantity":
            rows = _replace(rows, "quantity", _pick(ZERO_QUANTITIES, v))
        elif name == "invalid_quantity":
            rows = _replace(rows, "quantity", _pick(INVALID_QUANTITIES, v))
        sources.append(source)
        pieces.append(rows)

    placed = np.concatenate([everyone.astype(float)] + [s + 0.5 for s in sources])
    combined = pa.concat_tables([table] + pieces)
    return combined.take(pa.array(np.argsort(placed, kind="stable")))


def _pick(values, variant):
    return [values[i % len(values)] for i in variant]


def _replace(table, column, values):
    i = table.schema.get_field_index(column)
    return table.set_column(i, column, pa.array(values, pa.string()))


# ---------------------------------------------------------------------------
# Writing a file.
# ---------------------------------------------------------------------------


def _dirty_count(n_events, dirty_share):
    if not 0.0 <= dirty_share < 1.0:
        raise ValueError(f"--dirty-share must be in [0, 1), got {dirty_share}")
    return int(round(n_events * dirty_share))


def _write(
    path, seed, role, sessions, catalog, customer_ids, customer_country, n_dirty
):
    """Write sessions chunk by chunk; returns (rows written, last event second)."""
    order = np.lexsort((sessions["session_number"], sessions["start"]))
    sessions = {k: v[order] for k, v in sessions.items()}
    cumulative = np.cumsum(sessions["keep"])
    n_clean = int(cumulative[-1]) if len(cumulative) else 0
    bounds = (
        np.searchsorted(
            cumulative, np.arange(CHUNK_EVENTS, n_clean, CHUNK_EVENTS), side="left"
        )
        + 1
    )
    bounds = np.unique(np.concatenate([[0], bounds, [len(cumulative)]]))

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    rows, last_at, dirty_done, clean_done = 0, None, 0, 0
    with pq.ParquetWriter(partial, SCHEMA) as writer:
        for chunk, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
            rng = _rng(seed, *role, ROLE_CHUNK, chunk)
            part = {k: v[lo:hi] for k, v in sessions.items()}
            table, at = build_chunk(rng, part, catalog, customer_ids, customer_country)
            clean_done += table.num_rows
            # Dirty rows go to chunks in proportion to their clean rows.
            dirty_here = int(n_dirty * clean_done // max(n_clean, 1)) - dirty_done
            table = plant_dirty(rng, table, at, dirty_here, dirty_done)
            dirty_done += dirty_here
            writer.write_table(table, row_group_size=table.num_rows)
            rows += table.num_rows
            if len(at):
                last_at = (
                    int(at.max()) if last_at is None else max(last_at, int(at.max()))
                )
        if rows == 0:
            writer.write_table(SCHEMA.empty_table())
    os.replace(partial, path)
    return rows, last_at


def _customer_ids(n):
    return _prefixed_numbers("C", np.arange(1, n + 1), 7, np.zeros(n, dtype=bool))


def append_day_path(out):
    """Where --append-day writes: next to the main file, `<stem>_append_day`."""
    out = Path(out)
    return out.with_name(out.stem + "_append_day" + out.suffix)


def generate(
    n_events,
    out,
    *,
    seed=42,
    customers="auto",
    days=180,
    start="2024-01-01",
    dirty_share=0.002,
    append_day=False,
    products="auto",
    pairs=5,
):
    """Write ``n_events`` rows (clean plus dirty) to the Parquet file ``out``.

    With ``append_day``, also write one more day of events, strictly after
    the main file's last day, to ``append_day_path(out)``. Returns a summary
    dict: paths, row counts, customers, products, window, planted pairs.
    """
    if n_events < 1:
        raise ValueError(f"--events must be a positive number, got {n_events}")
    if days < 1:
        raise ValueError(f"--days must be at least 1, got {days}")
    max_pairs = (PAIR_POPULARITY_RANKS[1] - PAIR_POPULARITY_RANKS[0]) // 2
    if not 0 <= pairs <= max_pairs:
        raise ValueError(f"--pairs must be between 0 and {max_pairs}, got {pairs}")
    try:
        window_start = dt.datetime.strptime(start, "%Y-%m-%d").replace(tzinfo=dt.UTC)
    except ValueError:
        raise ValueError(
            f"--start must be a date as YYYY-MM-DD, got {start!r}"
        ) from None
    window_start_s = int(window_start.timestamp())
    window_end_s = window_start_s + days * SECONDS_PER_DAY
    if window_end_s + 2 * SECONDS_PER_DAY > time.time():
        warnings.warn(
            f"--start {start} with --days {days} reaches past today: the project "
            "quarantines events later than build time plus 24 hours as "
            "future_timestamp. Choose an earlier --start.",
            stacklevel=2,
        )
    n_customers = _count_or_auto(
        "--customers", customers, max(10, n_events // EVENTS_PER_CUSTOMER_AUTO), 1
    )
    n_products = _count_or_auto(
        "--products", products, int(np.clip(3 * np.sqrt(n_events), 300, 10_000)), 100
    )

    catalog = build_catalog(seed, n_products, pairs)
    n_dirty = _dirty_count(n_events, dirty_share)
    if n_events - n_dirty < 1:
        raise ValueError(
            f"--events {n_events} with --dirty-share {dirty_share} leaves no clean "
            "event; ask for more events or a smaller share"
        )
    shapes = plan_shapes(seed, (), n_events - n_dirty, pairs)
    n_sessions = len(shapes["keep"])

    # Customers: arrival, lapsing, activity.
    rng = _rng(seed, ROLE_CUSTOMERS)
    existing = rng.random(n_customers) < EXISTING_CUSTOMER_SHARE
    first_at = np.where(
        existing,
        window_start_s,
        rng.uniform(window_start_s, window_end_s - SECONDS_PER_DAY, size=n_customers),
    )
    lapsing = rng.random(n_customers) < LAPSING_CUSTOMER_SHARE
    lifetime = SECONDS_PER_DAY * (
        1 + rng.exponential(MEAN_LAPSING_LIFETIME_DAYS, size=n_customers)
    )
    last_at = np.where(
        lapsing, np.minimum(first_at + lifetime, window_end_s), window_end_s
    )
    activity = np.clip(rng.lognormal(0.0, ACTIVITY_SIGMA, size=n_customers), 0.1, 15.0)
    country_p = np.asarray(COUNTRY_WEIGHTS, float) / sum(COUNTRY_WEIGHTS)
    country = rng.choice(len(COUNTRIES), size=n_customers, p=country_p)

    # Every customer gets one session; the rest go by activity times span.
    if n_sessions >= n_customers:
        weight = activity * (last_at - first_at)
        counts = 1 + rng.multinomial(n_sessions - n_customers, weight / weight.sum())
    else:
        counts = np.zeros(n_customers, dtype=np.int64)
        counts[rng.choice(n_customers, size=n_sessions, replace=False)] = 1
    customer = np.repeat(np.arange(n_customers), counts)
    _check_room(
        customer,
        shapes,
        window_end_s - window_start_s,
        "raise --customers or --days, or lower --events",
    )

    placement_rng = _rng(seed, ROLE_PLACEMENT)
    session_start, return_at = _place_sessions(
        placement_rng,
        customer,
        shapes,
        first_at,
        last_at,
        window_start_s,
        window_end_s,
    )
    sessions = dict(shapes, customer=customer, start=session_start, return_at=return_at)
    _number_sessions(sessions, 0, 0)

    all_ids = _customer_ids(n_customers)
    all_countries = pa.array(np.asarray(COUNTRIES, dtype=object)[country], pa.string())
    rows, last_event = _write(
        out, seed, (), sessions, catalog, all_ids, all_countries, n_dirty
    )
    summary = {
        "path": str(out),
        "rows": rows,
        "dirty_rows": n_dirty,
        "customers": int((counts > 0).sum()),
        "products": n_products,
        "sessions": n_sessions,
        "window_start": window_start.isoformat(),
        "window_end": dt.datetime.fromtimestamp(window_end_s, dt.UTC).isoformat(),
        "last_event_at": _iso(last_event),
        "pairs": [
            [
                catalog["product_id"][int(a)].as_py(),
                catalog["product_id"][int(b)].as_py(),
            ]
            for a, b in catalog["pairs"]
        ],
    }
    if not append_day:
        return summary

    # One more day, from the day after the last event of the main file: the
    # customers who have not lapsed, plus a few new ones.
    day_start = (last_event // SECONDS_PER_DAY + 1) * SECONDS_PER_DAY
    day_end = day_start + SECONDS_PER_DAY
    n_day = max(1, int(round(n_events / days)))
    n_day_dirty = _dirty_count(n_day, dirty_share)
    day_shapes = plan_shapes(seed, (ROLE_APPEND,), n_day - n_day_dirty, pairs)
    rng = _rng(seed, ROLE_APPEND, ROLE_CUSTOMERS)
    n_new = max(1, int(round(n_customers * NEW_CUSTOMER_SHARE_APPEND_DAY / days)))
    staying = np.flatnonzero(~lapsing)
    pool = np.concatenate([staying, n_customers + np.arange(n_new)])
    pool_weight = np.concatenate(
        [activity[staying], np.full(n_new, np.median(activity))]
    )
    n_day_sessions = len(day_shapes["keep"])
    chosen = rng.choice(
        len(pool),
        size=n_day_sessions,
        replace=n_day_sessions > len(pool),
        p=pool_weight / pool_weight.sum(),
    )
    day_customer = np.sort(pool[chosen])
    used, day_customer = np.unique(day_customer, return_inverse=True)
    _check_room(
        day_customer,
        day_shapes,
        SECONDS_PER_DAY - IDLE_BETWEEN_SESSIONS_S,
        "the append day needs more customers; raise --customers",
    )
    day_first = np.full(len(used), day_start + IDLE_BETWEEN_SESSIONS_S, dtype=float)
    day_last = np.full(len(used), day_end, dtype=float)
    day_start_s, day_return = _place_sessions(
        _rng(seed, ROLE_APPEND, ROLE_PLACEMENT),
        day_customer,
        day_shapes,
        day_first,
        day_last,
        day_start + IDLE_BETWEEN_SESSIONS_S,
        day_end,
    )
    day_sessions = dict(
        day_shapes, customer=day_customer, start=day_start_s, return_at=day_return
    )
    _number_sessions(
        day_sessions, n_sessions, int(sessions["order_number"].max(initial=0))
    )
    new_country = rng.choice(len(COUNTRIES), size=n_new, p=country_p)
    countries = np.concatenate([country, new_country])[used]
    day_path = append_day_path(out)
    day_rows, day_last_event = _write(
        day_path,
        seed,
        (ROLE_APPEND,),
        day_sessions,
        catalog,
        _customer_ids(n_customers + n_new).take(pa.array(used)),
        pa.array(np.asarray(COUNTRIES, dtype=object)[countries], pa.string()),
        n_day_dirty,
    )
    summary["append_day"] = {
        "path": str(day_path),
        "rows": day_rows,
        "dirty_rows": n_day_dirty,
        "day": _iso(day_start)[:10],
        "first_event_allowed_at": _iso(day_start),
        "last_event_at": _iso(day_last_event),
    }
    return summary


def _count_or_auto(option, value, auto, minimum):
    if value == "auto":
        return auto
    try:
        count = int(value)
    except (TypeError, ValueError):
        count = None
    if count is None or count < minimum:
        raise ValueError(
            f"{option} must be 'auto' or a whole number of at least {minimum}, "
            f"got {value!r}"
        )
    return count


def _check_room(customer, shapes, span_s, option_hint):
    """Stop when a customer has more sessions than fit in the window."""
    reserve = shapes["duration"] + shapes["in_session"] + IDLE_BETWEEN_SESSIONS_S
    busiest = np.bincount(customer, weights=reserve).max(initial=0.0)
    if busiest > span_s:
        raise ValueError(
            f"one customer would need {busiest / SECONDS_PER_DAY:.0f} days for their "
            f"sessions (at least {IDLE_BETWEEN_SESSIONS_S // 3600} hours apart) but "
            f"the window has {span_s / SECONDS_PER_DAY:.0f}: {option_hint}"
        )


def _number_sessions(sessions, first_session, first_order):
    """Session and order numbers in order of session start (1-based)."""
    rank = np.empty(len(sessions["start"]), dtype=np.int64)
    rank[np.lexsort((np.arange(len(rank)), sessions["start"]))] = np.arange(len(rank))
    sessions["session_number"] = first_session + rank + 1
    has_order = (sessions["purchases"] + 2 * (sessions["pair"] >= 0)) > 0
    by_start = np.argsort(rank)
    order_number = np.zeros(len(rank), dtype=np.int64)
    order_number[by_start] = np.cumsum(has_order[by_start])
    sessions["order_number"] = np.where(has_order, first_order + order_number, 0)


def _iso(seconds):
    if seconds is None:
        return None
    return dt.datetime.fromtimestamp(int(seconds), dt.UTC).isoformat()


# ---------------------------------------------------------------------------
# Command line.
# ---------------------------------------------------------------------------


def _positive_count(text):
    value = int(float(text))  # accepts 1e6
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return value


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Write synthetic shop events in the canonical layout "
        "(Parquet). See docs/generator.md.",
    )
    parser.add_argument(
        "--events",
        type=_positive_count,
        required=True,
        help="rows to write, clean plus dirty (e.g. 1000000 or 1e6)",
    )
    parser.add_argument("--out", required=True, help="Parquet file to write")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--customers", default="auto", help="number of customers, or auto (events / 20)"
    )
    parser.add_argument(
        "--products",
        default="auto",
        help="catalog size, or auto (3 * sqrt(events), 300..10000)",
    )
    parser.add_argument(
        "--pairs", type=int, default=5, help="planted bought-together product pairs"
    )
    parser.add_argument("--days", type=int, default=180, help="length of the window")
    parser.add_argument(
        "--start",
        default="2024-01-01",
        help="first day of the window (UTC), YYYY-MM-DD",
    )
    parser.add_argument(
        "--dirty-share",
        type=float,
        default=0.002,
        help="share of rows that fail validation, spread evenly "
        "over the 8 reject reasons",
    )
    parser.add_argument(
        "--append-day",
        action="store_true",
        help="also write <out stem>_append_day.parquet: one more "
        "day of events after the main file",
    )
    parser.add_argument("--verbose", action="store_true", help="print a summary")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    try:
        summary = generate(
            args.events,
            args.out,
            seed=args.seed,
            customers=args.customers,
            days=args.days,
            start=args.start,
            dirty_share=args.dirty_share,
            append_day=args.append_day,
            products=args.products,
            pairs=args.pairs,
        )
    except ValueError as error:
        parser.error(str(error))
    if args.verbose:
        seconds = time.perf_counter() - began
        print(
            f"wrote {summary['rows']:,} rows to {summary['path']} in {seconds:.1f} s "
            f"({summary['customers']:,} customers, {summary['sessions']:,} sessions, "
            f"last event {summary['last_event_at']})"
        )
        if "append_day" in summary:
            day = summary["append_day"]
            print(f"wrote {day['rows']:,} rows for {day['day']} to {day['path']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
