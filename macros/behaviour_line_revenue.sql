{#-
    behaviour_line_revenue(is_merchandise, unit_price, quantity)
    The revenue rule for one purchase or return line: unit_price × quantity
    for merchandise, 0 for everything else (postage, fees, ...). Positive
    for returns too; the caller decides which way a line counts. Used by
    int_order_lines and, to skip a join, by fct_sessions, e.g.
        {{ behaviour_line_revenue("is_merchandise", "unit_price", "quantity") }}
-#}
{% macro behaviour_line_revenue(is_merchandise, unit_price, quantity) -%}
    case
        when {{ is_merchandise }} then {{ unit_price }} * {{ quantity }}
        else 0
    end
{%- endmacro %}
