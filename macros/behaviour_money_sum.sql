{#-
    behaviour_money_sum(expression)
    The sum of an amount of money, the same to the last digit on every
    build. Summing doubles in parallel adds them in an order that varies
    from run to run, which changes the last binary digits; rounding the
    double sum is not enough at millions-scale totals (5742275.340002 one
    build, 5742275.340001 the next, seen at 10 million events). So each
    amount is rounded to 6 decimals as an exact decimal, the decimals are
    summed exactly (any order gives the same total) and the total is
    returned as a double. Prices carry at most a few decimals, so no cent
    is lost.
-#}
{% macro behaviour_money_sum(expression) -%}
    cast(
        sum(cast({{ expression }} as decimal(38, 6)))
        as double
    )
{%- endmacro %}
