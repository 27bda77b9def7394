"""Shared rules for reading the clean event table (marts.fct_events).

Every model in this package reads events through these helpers, so that the
as-of date, the order key and the revenue rule are stated once. The models
aggregate events in DuckDB (``query_events``); where their SQL restates the
order key or the revenue rule, the tests hold it to the functions here.

Rules
-----
- As-of date: a ``YYYY-MM-DD`` day, or empty for the day after the last
  event. Only events strictly before it are used.
- Order key: the order_id of a purchase line. When order_id is null (some
  clickstream shapes carry none), all of a customer's purchases on one UTC day
  count as one order, keyed ``"<customer_id>|<YYYY-MM-DD>"``.
- Revenue: merchandise purchase lines (unit_price × quantity) less
  merchandise return lines. Non-merchandise lines are never revenue.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

__all__ = [
    "EVENT_COLUMNS",
    "DAY",
    "check_events",
    "query_events",
    "query_events_in_batches",
    "sql_timestamp",
    "resolve_as_of",
    "order_keys",
    "line_value",
    "sorted_unique",
]

EVENT_COLUMNS = (
    "event_id",
    "customer_id",
    "event_type",
    "event_at",
    "product_id",
    "product_name",
    "category",
    "brand",
    "unit_price",
    "quantity",
    "order_id",
    "source_session_id",
    "search_query",
    "country",
    "is_merchandise",
)

DAY = pd.Timedelta(days=1)

_TEXT_COLUMNS = (
    "customer_id",
    "product_id",
    "order_id",
    "event_type",
    "product_name",
    "category",
    "brand",
    "source_session_id",
)


def check_events(events, *, required, name="events"):
    """Return ``events`` with typed columns, after checking them.

    Parameters
    ----------
    events : pandas.DataFrame
        Rows shaped like marts.fct_events.
    required : iterable of str
        Columns the caller needs. Missing ones raise ``ValueError``.
    name : str
        How to call the frame in error messages.

    Returns
    -------
    pandas.DataFrame
        Only the required columns. ``event_at`` is a naive UTC
        ``datetime64[us]``; ids and texts are Python strings or None;
        ``unit_price`` float64 (missing is 0); ``quantity`` int64 (missing
        is 1); ``is_merchandise`` bool (missing is True).
    """
    required = list(dict.fromkeys(required))
    missing = [column for column in required if column not in events.columns]
    if missing:
        raise ValueError(
            f"{name} is missing column(s) {missing}; expected the columns of "
            f"marts.fct_events, at least {required}"
        )
    columns = {column: events[column] for column in required}
    if "event_at" in columns:
        event_at = columns["event_at"]
        if not pd.api.types.is_datetime64_dtype(event_at):
            event_at = pd.to_datetime(event_at, utc=True).dt.tz_localize(None)
        if event_at.dtype != "datetime64[us]":
            event_at = event_at.astype("datetime64[us]")
        columns["event_at"] = event_at
    for column in _TEXT_COLUMNS:
        if column in columns:
            columns[column] = _as_text(columns[column])
    if "unit_price" in columns:
        price = columns["unit_price"]
        if price.dtype != "float64":
            price = pd.to_numeric(price, errors="coerce").astype("float64")
        columns["unit_price"] = price.fillna(0.0) if price.hasnans else price
    if "quantity" in columns:
        quantity = columns["quantity"]
        if quantity.dtype != "int64":
            quantity = pd.to_numeric(quantity, errors="coerce").fillna(1)
            quantity = quantity.astype("int64")
        columns["quantity"] = quantity
    if "is_merchandise" in columns:
        flag = columns["is_merchandise"]
        if flag.dtype != bool:
            flag = flag.fillna(True).astype(bool)
        columns["is_merchandise"] = flag
    # Columns are shared with the caller's frame, not copied: nothing here
    # or in a caller changes a column in place.
    frame = pd.DataFrame(columns, copy=False)
    return frame


def _as_text(series):
    """Strings stay strings, numbers become their text; missing stays missing
    (None or NaN: test with ``notna``)."""
    if series.dtype == object and pd.api.types.infer_dtype(series) in (
        "string",
        "empty",
    ):
        return series
    text = series.astype("object")
    present = text.notna()
    return text.where(~present, text.astype(str)).where(present, None)


def resolve_as_of(event_at, as_of_date=None):
    """The as-of timestamp: the given day, or the day after the last event.

    Parameters
    ----------
    event_at : pandas.Series of datetime64
        Event timestamps (naive UTC).
    as_of_date : str, date, Timestamp or None
        ``None`` or ``""`` means the day after the last event.

    Returns
    -------
    pandas.Timestamp or None
        Midnight UTC (naive) of the as-of day; None when no date is given and
        there are no events.
    """
    if as_of_date is None or (isinstance(as_of_date, str) and not as_of_date.strip()):
        if len(event_at) == 0 or event_at.isna().all():
            return None
        last = event_at.max()
        try:
            return pd.Timestamp(last).normalize() + DAY
        except (OverflowError, pd.errors.OutOfBoundsDatetime) as error:
            # pandas computes in nanoseconds, from 1677-09-22 to 2262-04-11
            raise ValueError(
                f"the last event is at {last}, where pandas cannot compute "
                "with dates (its range is 1677-09-22 to 2262-04-11); set the "
                "var as_of_date to a day from 1900-01-01 to 2199-12-31"
            ) from error
    try:
        as_of = pd.Timestamp(as_of_date)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"as_of_date must be a day as YYYY-MM-DD or empty, got {as_of_date!r}"
        ) from error
    if as_of.tzinfo is not None:
        as_of = as_of.tz_convert("UTC").tz_localize(None)
    return as_of.normalize()


def order_keys(purchases):
    """Order key of each purchase line (see the module's rules).

    Parameters
    ----------
    purchases : pandas.DataFrame
        Purchase lines with customer_id, order_id and event_at.

    Returns
    -------
    pandas.Series of str
    """
    keys = purchases["order_id"].astype(object)
    missing = keys.isna()
    if missing.any():
        lines = purchases.loc[missing]
        keys = keys.copy()
        keys[missing] = (
            lines["customer_id"].astype(str)
            + "|"
            + lines["event_at"].dt.strftime("%Y-%m-%d")
        )
    return keys


def line_value(events):
    """Signed revenue of each line: + for merchandise purchases, - for returns.

    Non-merchandise lines and other event types are worth 0.

    Returns
    -------
    numpy.ndarray of float64
    """
    codes, event_types = pd.factorize(events["event_type"])
    signs = {"purchase": 1.0, "return": -1.0}
    sign = np.array([signs.get(name, 0.0) for name in event_types] + [0.0])[codes]
    value = sign * events["unit_price"].to_numpy() * events["quantity"].to_numpy()
    return np.where(events["is_merchandise"].to_numpy(dtype=bool), value, 0.0)


def sorted_unique(keys):
    """The distinct values of an integer array, ascending.

    Same result as ``numpy.unique``, by one sort: measured 0.1 s against
    12 s for numpy's hash-based unique on 10 million distinct int64 keys.
    """
    keys = np.sort(np.asarray(keys))
    if len(keys) == 0:
        return keys
    first = np.empty(len(keys), dtype=bool)
    first[0] = True
    np.not_equal(keys[1:], keys[:-1], out=first[1:])
    return keys[first]


def query_events(events, sql, *, required, name="events", arrow=False):
    """Run ``sql`` over the events, which it reads as the table ``events``.

    The models aggregate the events in DuckDB and fetch only the (small)
    result, so ten million event rows never become Python objects.

    Parameters
    ----------
    events : duckdb.DuckDBPyRelation or pandas.DataFrame
        A relation over marts.fct_events (what ``dbt.ref`` gives a Python
        model), or rows shaped like it, which are first checked and typed
        by ``check_events``.
    sql : str
        One query that reads ``events``.
    required : iterable of str
        Columns the query reads; a missing one raises ``ValueError``.

    arrow : bool
        Return a pyarrow Table instead: text stays in Arrow buffers, which
        hold ten million short ids in a fraction of the memory of Python
        strings.

    Returns
    -------
    pandas.DataFrame or pyarrow.Table
        The query's result, rows in the order the query gives them.
    """
    if isinstance(events, duckdb.DuckDBPyRelation):
        _check_relation_columns(events, required, name)
        result = events.query("events", sql)
        return result.to_arrow_table() if arrow else result.df()
    frame = check_events(events, required=required, name=name)
    with duckdb.connect() as connection:
        result = connection.from_df(frame).query("events", sql)
        return result.to_arrow_table() if arrow else result.df()


def _check_relation_columns(events, required, name):
    """Stop with a message naming the missing columns of a DuckDB relation."""
    missing = [column for column in required if column not in events.columns]
    if missing:
        raise ValueError(
            f"{name} is missing column(s) {missing}; expected the columns "
            f"of marts.fct_events, at least {list(required)}"
        )


def query_events_in_batches(events, sql, *, required, batch_rows, name="events"):
    """``query_events`` as a stream: yield the result as pyarrow
    RecordBatches of at most ``batch_rows`` rows, in the query's row order.

    For results with a row per event: only one batch is held at a time, on
    the DuckDB side as on the Arrow side. At 10 million events a whole
    Arrow result and DuckDB's copy of it took 1.4 GB more than the arrays
    the caller keeps.
    """
    if isinstance(events, duckdb.DuckDBPyRelation):
        _check_relation_columns(events, required, name)
        yield from events.query("events", sql).to_arrow_reader(batch_rows)
        return
    frame = check_events(events, required=required, name=name)
    with duckdb.connect() as connection:
        relation = connection.from_df(frame).query("events", sql)
        yield from relation.to_arrow_reader(batch_rows)


def sql_timestamp(timestamp):
    """A naive UTC timestamp as a DuckDB literal (microsecond precision)."""
    text = pd.Timestamp(timestamp).strftime("%Y-%m-%d %H:%M:%S.%f")
    return f"timestamp '{text}'"
