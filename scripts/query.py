"""Run one SQL query against the warehouse, read-only, and print the result.

    .venv/bin/python scripts/query.py "select * from marts.fct_orders limit 5"

The database is $CUSTOMER_ANALYTICS_DB, by default
warehouse/customer_analytics.duckdb.
"""

import os
import sys

import duckdb


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    path = os.environ.get(
        "CUSTOMER_ANALYTICS_DB", "warehouse/customer_analytics.duckdb"
    )
    if not os.path.exists(path):
        print(f"No warehouse at {path}: run `make build` first.", file=sys.stderr)
        return 1
    with duckdb.connect(path, read_only=True) as con:
        con.sql(argv[1]).show(max_rows=50, max_width=200)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
