"""Give every output table exactly its documented columns and dtypes.

An output keeps the same column types whether it has rows or not, so the
warehouse table (and its dbt tests) never changes type between builds.
Types: ``str`` is pandas' ``string`` dtype (missing is NA), ``int64``,
``float64`` (missing is NaN, stored as NULL), ``bool``, and
``datetime64[us]`` (naive UTC, DuckDB's TIMESTAMP).

Text is never left in an ``object`` column: DuckDB reads an object column
that is empty or all null as INTEGER, so a warning column with no warning
would change the table's type.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["typed_frame"]


def typed_frame(data, schema):
    """Build a DataFrame with the columns of ``schema``, in its order.

    Parameters
    ----------
    data : mapping or pandas.DataFrame or None
        Column values; columns absent from ``data`` are left empty, which is
        only allowed when there are no rows.
    schema : dict of str to str
        Column name to one of ``str``, ``int64``, ``float64``, ``bool``,
        ``datetime64[us]``.
    """
    data = {} if data is None else data
    frame = pd.DataFrame(
        {column: _values(data[column]) for column in schema if column in data}
    )
    absent = [column for column in schema if column not in frame]
    if absent and len(frame):
        raise ValueError(f"output is missing column(s) {absent}")
    result = {}
    for column, dtype in schema.items():
        values = frame[column] if column in frame else pd.Series([], dtype="object")
        if dtype == "str":
            values = values.astype("object")
            present = values.notna()
            values = values.where(~present, values.astype(str)).where(present, None)
            values = values.astype("string")
        elif dtype == "datetime64[us]":
            values = pd.to_datetime(values).astype("datetime64[us]")
        else:
            values = values.astype(dtype)
        result[column] = values.reset_index(drop=True)
    return pd.DataFrame(result, columns=list(schema))


def _values(values):
    """Drop any index, so that columns line up by position."""
    if isinstance(values, (pd.Series, pd.Index)):
        return values.to_numpy()
    return values
