{#-
    behaviour_first_by(value, order_columns)
    behaviour_last_by(value, order_columns)
    Aggregates: the non-null `value` of the group's row that comes first
    (last) in the order of `order_columns`, a list of expressions compared
    in turn; null when every value is null. One pass over the group, no
    window sort, e.g.
        {{ behaviour_first_by("product_id", ["event_at", "event_id"]) }}
            as entry_product_id
    The order columns must not be null and must single out one row (end
    with a key such as event_id).
-#}
{% macro behaviour_first_by(value, order_columns) -%}
    {{ return(adapter.dispatch(
        "behaviour_first_by", "customer_analytics"
    )(value, order_columns)) }}
{%- endmacro %}

{% macro behaviour_last_by(value, order_columns) -%}
    {{ return(adapter.dispatch(
        "behaviour_last_by", "customer_analytics"
    )(value, order_columns)) }}
{%- endmacro %}

{#- Spark 3+ and Databricks: min_by / max_by over a struct. -#}
{% macro default__behaviour_first_by(value, order_columns) -%}
    min_by({{ value }}, struct({{ order_columns | join(", ") }}))
    filter (where {{ value }} is not null)
{%- endmacro %}

{% macro default__behaviour_last_by(value, order_columns) -%}
    max_by({{ value }}, struct({{ order_columns | join(", ") }}))
    filter (where {{ value }} is not null)
{%- endmacro %}

{% macro duckdb__behaviour_first_by(value, order_columns) -%}
    arg_min({{ value }}, row({{ order_columns | join(", ") }}))
    filter (where {{ value }} is not null)
{%- endmacro %}

{% macro duckdb__behaviour_last_by(value, order_columns) -%}
    arg_max({{ value }}, row({{ order_columns | join(", ") }}))
    filter (where {{ value }} is not null)
{%- endmacro %}
