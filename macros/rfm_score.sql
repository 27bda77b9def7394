{#-
    rfm_score(worse_count)
    A 1-5 score (5 = best) from `worse_count`, the number of customers whose
    value is strictly worse than this customer's (rank() - 1 in the order
    worst to best). The expression holds a window over the whole table, so
    use it in a select over every scored customer:

        {{ rfm_score("frequency_worse_count") }} as frequency_score

    The rule: share = worse_count / (the best customers' worse_count), so
    the worst value has share 0 and the best value share 1; then
    score = 1 + floor(5 × share), capped at 5. So 1 = worst fifth of the
    scale, 5 = best fifth, and the best value always gets 5.
    - Equal values have equal worse counts, so ties get equal scores, and
      row order plays no part.
    - When every customer has the same value there is no better or worse:
      everyone gets the middle score 3.
    The share is taken over customers, not over distinct values, so a long
    tail of a few very high values does not push everyone else down to 1.
-#}
{% macro rfm_score(worse_count) -%}
    cast(
        case
            when max({{ worse_count }}) over () = 0 then 3
            else least(
                5,
                1 + floor(
                    cast(5 * {{ worse_count }} as double)
                    / max({{ worse_count }}) over ()
                )
            )
        end
        as {{ dbt.type_int() }}
    )
{%- endmacro %}
