{#-
    behaviour_money_sum(expression)
    The sum of an amount of money, rounded to 6 decimals. Summing doubles
    in parallel adds them in an order that varies from run to run, which
    changes the last binary digits (268.46 one build, 268.4600000000001 the
    next); prices carry at most a few decimals, so rounding to 6 gives the
    same value on every build without losing a cent.
-#}
{% macro behaviour_money_sum(expression) -%}
    round(sum({{ expression }}), 6)
{%- endmacro %}
