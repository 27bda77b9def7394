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
import pyarrow as pa

__all__ = ["typed_frame", "arrow_table", "typed_relation", "ARROW_TYPES"]

# The Arrow type of each schema type; DuckDB stores them as VARCHAR, BIGINT,
# DOUBLE, BOOLEAN and TIMESTAMP, the same as the pandas dtypes.
ARROW_TYPES = {
    "str": pa.string(),
    "int64": pa.int64(),
    "float64": pa.float64(),
    "bool": pa.bool_(),
    "datetime64[us]": pa.timestamp("us"),
}


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


def arrow_table(data, schema):
    """``typed_frame`` for large outputs: a pyarrow Table with the columns of
    ``schema``, in its order, each cast to its Arrow type.

    Parameters
    ----------
    data : mapping of column to array-like (numpy, pyarrow) or None
        Column values; columns absent from ``data`` are left empty, which is
        only allowed when there are no rows.
    schema : dict of str to str
        As for ``typed_frame``.
    """
    data = {} if data is None else data
    lengths = {len(values) for values in data.values()}
    if len(lengths) > 1:
        raise ValueError(f"output columns differ in length: {sorted(lengths)}")
    rows = lengths.pop() if lengths else 0
    absent = [column for column in schema if column not in data]
    if absent and rows:
        raise ValueError(f"output is missing column(s) {absent}")
    columns = {}
    for column, dtype in schema.items():
        arrow_type = ARROW_TYPES[dtype]
        values = data.get(column)
        if values is None:
            columns[column] = pa.array([], arrow_type)
        elif isinstance(values, (pa.Array, pa.ChunkedArray)):
            columns[column] = values.cast(arrow_type)
        else:
            columns[column] = pa.array(values, arrow_type)
    return pa.table(columns)


_DUCKDB_TYPES = {
    "str": "varchar",
    "int64": "bigint",
    "float64": "double",
    "bool": "boolean",
    "datetime64[us]": "timestamp",
}


def typed_relation(relation, schema):
    """``typed_frame`` inside DuckDB: the columns of ``schema`` from a
    relation, in its order, each cast to its type. A Python model can return
    this relation, so a table read back from another model is copied by
    DuckDB without passing through pandas.

    Parameters
    ----------
    relation : duckdb.DuckDBPyRelation
    schema : dict of str to str
        As for ``typed_frame``.
    """
    missing = [column for column in schema if column not in relation.columns]
    if missing:
        raise ValueError(f"input is missing column(s) {missing}")
    return relation.project(
        ", ".join(
            f'cast("{column}" as {_DUCKDB_TYPES[dtype]}) as "{column}"'
            for column, dtype in schema.items()
        )
    )
