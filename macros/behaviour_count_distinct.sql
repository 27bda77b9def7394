{#-
    behaviour_count_distinct(value, condition)
    Aggregate: how many distinct non-null values `value` takes on the
    group's rows where `condition` holds (0 when there are none), e.g.
        {{ behaviour_count_distinct("product_id", "event_type = 'view'") }}
    The same number as count(distinct case when ... then value end).
    DuckDB collects the values into a list and counts its distinct
    elements: its count(distinct ...) with a case inside regroups every row
    by group and value, which was about a third of fct_sessions' time at
    10 million events (18 s against 12-15 s for the query).
-#}
{% macro behaviour_count_distinct(value, condition) -%}
    {{ return(adapter.dispatch(
        "behaviour_count_distinct", "customer_analytics"
    )(value, condition)) }}
{%- endmacro %}

{% macro default__behaviour_count_distinct(value, condition) -%}
    count(distinct case when ({{ condition }}) then {{ value }} end)
{%- endmacro %}

{% macro duckdb__behaviour_count_distinct(value, condition) -%}
    {#- list_unique leaves nulls out; an empty group's list is null -#}
    coalesce(
        cast(
            list_unique(list({{ value }}) filter (where {{ condition }}))
            as bigint
        ),
        0
    )
{%- endmacro %}
