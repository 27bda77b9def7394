"""Run one SQL query against the published marts, read-only, and print it.

    .venv/bin/python scripts/query.py "select * from marts.fct_orders limit 5"
    .venv/bin/python scripts/query.py --live "select * from intermediate.int_order_lines limit 5"

By default it reads the published copy that `make build` writes
($CUSTOMER_ANALYTICS_PUBLISHED_DIR, by default warehouse/published), which a
running build never locks. --live reads the warehouse itself
($CUSTOMER_ANALYTICS_DB), which also has the staging and intermediate
schemas but is locked while dbt builds.
"""

import argparse
import os
import sys
from pathlib import Path

import duckdb


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sql", help="the query to run")
    parser.add_argument(
        "--live", action="store_true", help="read the warehouse, not the copy"
    )
    args = parser.parse_args(argv)
    if args.live:
        path = Path(
            os.environ.get(
                "CUSTOMER_ANALYTICS_DB", "warehouse/customer_analytics.duckdb"
            )
        )
    else:
        path = (
            Path(os.environ.get("CUSTOMER_ANALYTICS_PUBLISHED_DIR", "warehouse/published"))
            / "customer_analytics.duckdb"
        )
    if not path.exists():
        print(f"No database at {path}: run `make build` first.", file=sys.stderr)
        return 1
    try:
        with duckdb.connect(str(path), read_only=True) as con:
            con.sql(args.sql).show(max_rows=50, max_width=200)
    except duckdb.IOException as error:
        print(
            f"Cannot open {path} ({error}). A build is probably writing it: "
            "query the published copy (drop --live) or wait.",
            file=sys.stderr,
        )
        return 1
    except duckdb.Error as error:
        print(f"Query failed: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
