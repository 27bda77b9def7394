{#-
    The keyword that makes a CTE be computed once, as written, so the
    planner cannot reorder its joins with the query around it:
        my_step as {{ rules_materialized_cte() }} ( select ... )
    DuckDB spells it "materialized"; engines without the hint get a plain
    CTE.
-#}
{% macro rules_materialized_cte() -%}
    {{ return(adapter.dispatch("rules_materialized_cte", "customer_analytics")()) }}
{%- endmacro %}

{% macro default__rules_materialized_cte() -%}
{%- endmacro %}

{% macro duckdb__rules_materialized_cte() -%}
    materialized
{%- endmacro %}
