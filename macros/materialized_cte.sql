{#-
    The keyword that makes a CTE be computed once, as written, so the
    planner cannot reorder its joins with the query around it:
        my_step as {{ materialized_cte() }} ( select ... )
    DuckDB spells it "materialized"; engines without the hint get a plain
    CTE.
-#}
{% macro materialized_cte() -%}
    {{ return(adapter.dispatch("materialized_cte", "customer_analytics")()) }}
{%- endmacro %}

{% macro default__materialized_cte() -%}
{%- endmacro %}

{% macro duckdb__materialized_cte() -%}
    materialized
{%- endmacro %}
