"""Print where the warehouse is and a few queries to try, after `make build`."""

import os
from pathlib import Path

import duckdb

db_path = Path(
    os.environ.get("CUSTOMER_ANALYTICS_DB", "warehouse/customer_analytics.duckdb")
).resolve()

with duckdb.connect(str(db_path), read_only=True) as con:
    tables = con.sql(
        "select table_name from information_schema.tables "
        "where table_schema = 'marts' order by table_name"
    ).fetchall()

print(f"\nWarehouse: {db_path}")
print("Tables in schema marts: " + ", ".join(name for (name,) in tables))
print(
    f"""
Try:
  .venv/bin/python -c "import duckdb; print(duckdb.connect('{db_path}', read_only=True).sql('select outcome, sum(row_count) as row_count from marts.data_quality_daily group by outcome order by row_count desc'))"

or with the DuckDB command line (pip install duckdb-cli is not needed; any
DuckDB client works), read-only:
  duckdb -readonly {db_path}
  select event_type, count(*) from marts.fct_events group by 1;
  select reject_reason, count(*) from marts.rejected_events group by 1;
"""
)
