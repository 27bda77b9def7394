{#-
    behaviour_seconds_between(start_at, end_at)
    Seconds from start_at to end_at as a double, fractions included, e.g.
        {{ behaviour_seconds_between("started_at", "ended_at") }}
-#}
{% macro behaviour_seconds_between(start_at, end_at) -%}
    {{ return(adapter.dispatch(
        "behaviour_seconds_between", "customer_analytics"
    )(start_at, end_at)) }}
{%- endmacro %}

{% macro default__behaviour_seconds_between(start_at, end_at) -%}
    cast({{ dbt.datediff(start_at, end_at, "millisecond") }} as double)
    / 1000
{%- endmacro %}

{#- DuckDB's datediff counts boundaries crossed; epoch() keeps fractions. -#}
{% macro duckdb__behaviour_seconds_between(start_at, end_at) -%}
    (epoch({{ end_at }}) - epoch({{ start_at }}))
{%- endmacro %}

{#- Spark: whole microseconds since the epoch, so fractions are kept. -#}
{% macro spark__behaviour_seconds_between(start_at, end_at) -%}
    cast(unix_micros({{ end_at }}) - unix_micros({{ start_at }}) as double)
    / 1000000
{%- endmacro %}
