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
    {%- set value = var("as_of_date", "") | string | trim -%}
    {%- if value == "" or value == "None" -%}
        (
            select cast({{ dbt.dateadd("day", 1, "max(event_at)") }} as date)
            from {{ ref("fct_events") }}
        )
    {%- elif modules.re.match("^[0-9]{4}-[0-9]{2}-[0-9]{2}$", value) -%}
        cast('{{ value }}' as date)
    {%- else -%}
        {{ exceptions.raise_compiler_error(
            "The var as_of_date is '" ~ value ~ "'; it must be a date in "
            ~ "the form YYYY-MM-DD (e.g. --vars '{as_of_date: 2011-12-01}'), "
            ~ "or empty for the day after the last event."
        ) }}
    {%- endif -%}
{%- endmacro %}
