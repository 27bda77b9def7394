{#-
    Fails for every row where the SQL boolean `expression` is false.
        - expression_holds:
            arguments:
              expression: "session_ended_at >= session_started_at"
-#}
{% test expression_holds(model, expression) %}

select *
from {{ model }}
where not ({{ expression }})

{% endtest %}
