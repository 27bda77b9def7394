{#-
    Fails for every combination of `columns` that occurs more than once.
    Nulls count as a value, so two rows with a null in the same place clash.
        data_tests:
          - unique_combination:
              arguments:
                columns: [event_date, outcome]
-#}
{% test unique_combination(model, columns) %}

select
    {{ columns | join(", ") }},
    count(*) as occurrences
from {{ model }}
group by {{ columns | join(", ") }}
having count(*) > 1

{% endtest %}
