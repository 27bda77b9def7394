{#-
    sessions_last_non_null(expression)
    A window function call: the last non-null value of `expression` in the
    window frame, to be followed by an over (...) clause, e.g.
        {{ sessions_last_non_null("started_session_id") }} over (
            partition by sessionization_key
            order by event_at, event_id
            rows between unbounded preceding and current row
        )
    carries each session's id from its first event to the events after it.
-#}
{% macro sessions_last_non_null(expression) -%}
    {{ return(adapter.dispatch(
        "sessions_last_non_null", "customer_analytics"
    )(expression)) }}
{%- endmacro %}

{#- DuckDB, Spark 3.2+, Snowflake and BigQuery accept IGNORE NULLS. -#}
{% macro default__sessions_last_non_null(expression) -%}
    last_value({{ expression }} ignore nulls)
{%- endmacro %}

{#- Spark takes IGNORE NULLS as last_value's second argument. -#}
{% macro spark__sessions_last_non_null(expression) -%}
    last_value({{ expression }}, true)
{%- endmacro %}
