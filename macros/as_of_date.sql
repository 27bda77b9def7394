{#-
    as_of_date()
    The date that recency, churn and cohort ages are measured to, as a SQL
    date expression. Use it in a select list or a one-row CTE:

        as_of as (
            select {{ as_of_date() }} as as_of_date
        )

    - With the var as_of_date set (YYYY-MM-DD), that date.
    - With the var empty (the default), the day after the last clean event
      in fct_events, so that a customer who bought on the last day of the
      data has a recency of 1 day. This form is a scalar subquery on
      fct_events, so a model that calls it depends on fct_events.

    The as-of date is exclusive: models that call it look only at what
    happened before it (up to the end of the previous day).
-#}
{% macro as_of_date() -%}
    {#- stops the build unless empty or a real calendar date -#}
    {%- set value = validated_as_of_date() -%}
    {%- if value == "" -%}
        (
            select cast({{ dbt.dateadd("day", 1, "max(event_at)") }} as date)
            from {{ ref("fct_events") }}
        )
    {%- else -%}
        cast('{{ value }}' as date)
    {%- endif -%}
{%- endmacro %}
