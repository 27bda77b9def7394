{#-
    rules_item_list(expressions)
    A list (array) value of the given item expressions, in the order given,
    e.g. {{ rules_item_list(["item_1", "item_2"]) }}. DuckDB returns a
    varchar[]; other engines an array<string>.
-#}
{% macro rules_item_list(expressions) -%}
    {{ return(adapter.dispatch(
        "rules_item_list", "customer_analytics"
    )(expressions)) }}
{%- endmacro %}

{% macro default__rules_item_list(expressions) -%}
    array({{ expressions | join(", ") }})
{%- endmacro %}

{% macro duckdb__rules_item_list(expressions) -%}
    list_value({{ expressions | join(", ") }})
{%- endmacro %}
