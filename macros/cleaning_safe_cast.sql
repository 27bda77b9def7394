{#-
    dbt.safe_cast on DuckDB. dbt's default is a plain cast, which stops the
    build on the first value that does not convert (a price of "abc"), and
    dbt-duckdb 1.11 does not override it. This makes dbt.safe_cast behave as
    documented there: null when the value does not convert. Drop this file
    once dbt-duckdb ships its own duckdb__safe_cast.
-#}
{% macro duckdb__safe_cast(field, type) -%}
    try_cast({{ field }} as {{ type }})
{%- endmacro %}
