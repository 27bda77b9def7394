{#-
    rules_decimal_fraction(var_name, min_value, max_value, allow_min=true)
    The var `var_name`, a decimal number such as 0.015, as an exact fraction
    [numerator, denominator] with a power-of-ten denominator, read to 9
    decimal places. Thresholds compare with whole numbers this way
        basket_count * denominator >= numerator * total_baskets
    so a value exactly at the threshold is kept, with no float rounding.
    Stops the build, naming the var, when it is not a number in
    [min_value, max_value] (or (min_value, max_value] when not allow_min).
-#}
{% macro rules_decimal_fraction(
    var_name, min_value, max_value, allow_min=true
) -%}
    {%- set raw = var(var_name) -%}
    {%- set text = raw | string | trim -%}
    {%- set value = text | float(default=none) -%}
    {%- set below = value is none or value < min_value
        or (not allow_min and value == min_value) -%}
    {%- if below or value > max_value -%}
        {{ exceptions.raise_compiler_error(
            "The var " ~ var_name ~ " is '" ~ text ~ "'; it must be a number "
            ~ ("from " if allow_min else "greater than ") ~ min_value
            ~ " to " ~ max_value ~ ", e.g. --vars '{" ~ var_name ~ ": 0.05}'."
        ) }}
    {%- endif -%}
    {%- set digits = "%.9f" | format(value) -%}
    {%- set whole, decimals = digits.split(".") -%}
    {%- set decimals = decimals.rstrip("0") -%}
    {%- set numerator = (whole ~ decimals) | int -%}
    {%- set denominator = 10 ** (decimals | length) -%}
    {%- if numerator == 0 and not allow_min -%}
        {{ exceptions.raise_compiler_error(
            "The var " ~ var_name ~ " is '" ~ text ~ "', which is 0 to 9 "
            ~ "decimal places; it must be greater than " ~ min_value ~ "."
        ) }}
    {%- endif -%}
    {{ return([numerator, denominator]) }}
{%- endmacro %}
