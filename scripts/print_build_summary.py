"""Print where the warehouse is and a few queries to try, after `make build`."""

import os
from pathlib import Path

import duckdb

EXAMPLES = [
    "select outcome, sum(row_count) as row_count "
    "from marts.data_quality_daily group by outcome order by row_count desc",
    "select * from marts.fct_orders order by net_revenue desc limit 5",
    "select rfm_segment, count(*) as customers, sum(monetary) as revenue "
    "from marts.customer_rfm group by 1 order by revenue desc",
    "select antecedent_key, consequent_product_id, confidence, lift "
    "from marts.association_rules order by lift desc limit 5",
]


def main() -> None:
    db_path = Path(
        os.environ.get("CUSTOMER_ANALYTICS_DB", "warehouse/customer_analytics.duckdb")
    ).resolve()
    with duckdb.connect(str(db_path), read_only=True) as con:
        tables = [
            name
            for (name,) in con.sql(
                "select table_name from information_schema.tables "
                "where table_schema = 'marts' order by table_name"
            ).fetchall()
        ]
    print(f"\nWarehouse: {db_path}")
    print(f"Tables in schema marts ({len(tables)}): {', '.join(tables)}")
    print("\nQueries to try (read-only):")
    for sql in EXAMPLES:
        table = sql.split(" from marts.")[1].split()[0]
        if table in tables:
            print(f'  .venv/bin/python scripts/query.py "{sql}"')


if __name__ == "__main__":
    main()
