{#-
    validate_project_vars()
    Stops the build, before any event is read, when a numeric or date var
    of dbt_project.yml holds something the models cannot use. The message
    names the var, the value received and what is allowed. Without it a
    word such as "thirty" surfaces as a raw Binder or Parser Error, and a
    negative session timeout silently makes every event its own session.

    Called at the top of int_events_classified and int_events_sessionized:
        {{ validate_project_vars() }}
    It renders nothing and checks only when dbt executes. A var is a number
    when it is one or is text that reads as one ("30"), booleans excluded.
-#}
{% macro validate_project_vars() -%}
    {%- if not execute -%}
        {{ return("") }}
    {%- endif -%}
    {#- name, lowest allowed, highest allowed (none: no bound), whole.
        Spans of time stop at 100 years (876,000 hours, 52,560,000 minutes,
        36,500 days): beyond that the engines' interval arithmetic and
        pandas' timestamps overflow with a bare error. The tolerance and
        the timeout are whole, as dbt's dateadd rounds them (0.4 hours was
        0). The recommender's weights stop at a million, far below where
        their products overflow to infinity (1e308). -#}
    {%- set bounds = [
        ("future_tolerance_hours", 0, 876000, true),
        ("session_timeout_minutes", 0, 52560000, true),
        ("association_max_itemset_size", 2, 3, true),
        ("segment_k_min", 2, none, true),
        ("segment_k_max", 2, none, true),
        ("segment_random_state", 0, 4294967295, true),
        ("churn_horizon_days", 1, 36500, true),
        ("churn_max_depth", 1, 1000, true),
        ("churn_min_samples_leaf", 1, 1000000000, true),
        ("churn_random_state", 0, 4294967295, true),
        ("recommendation_count", 1, 10000, true),
        ("recommendation_holdout_days", 1, 36500, true),
        ("recommendation_view_weight", 0, 1000000, false),
        ("recommendation_cart_weight", 0, 1000000, false),
        ("recommendation_purchase_weight", 0, 1000000, false),
    ] -%}
    {%- for name, lowest, highest, whole in bounds -%}
        {%- set allowed = (
            ("a whole number" if whole else "a number")
            ~ (" from " ~ lowest ~ " to " ~ highest if highest is not none
               else " of " ~ lowest ~ " or more")
        ) -%}
        {%- set value = validated_number(name, whole, allowed) -%}
        {%- if value < lowest or (highest is not none and value > highest) -%}
            {{ raise_invalid_var(name, allowed) }}
        {%- endif -%}
    {%- endfor -%}
    {#- shares of baskets or of customers: open at 0 -#}
    {%- for name, highest, closed in [
        ("association_min_support", 1, true),
        ("association_min_confidence", 1, true),
        ("churn_test_share", 1, false),
    ] -%}
        {%- set allowed = "a number above 0 and "
            ~ ("at most 1" if closed else "below 1") -%}
        {%- set value = validated_number(name, false, allowed) -%}
        {%- if value <= 0 or value > highest
            or (not closed and value == highest) -%}
            {{ raise_invalid_var(name, allowed) }}
        {%- endif -%}
    {%- endfor -%}
    {%- if validated_number("segment_k_max", true, "")
        < validated_number("segment_k_min", true, "") -%}
        {{ raise_invalid_var(
            "segment_k_max",
            "a whole number not below segment_k_min ("
            ~ var("segment_k_min") ~ ")"
        ) }}
    {%- endif -%}
    {%- do validated_as_of_date() -%}
    {{ return("") }}
{%- endmacro %}

{#-
    validated_number(name, whole, allowed)
    The var `name` as a number, or a build-stopping error saying it must be
    `allowed`.
-#}
{% macro validated_number(name, whole, allowed) -%}
    {%- set raw = var(name) -%}
    {%- set text = raw | string | trim -%}
    {%- set pattern = "^[+-]?[0-9]+$" if whole
        else "^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?$" -%}
    {%- if raw is boolean or not modules.re.match(pattern, text) -%}
        {{ raise_invalid_var(name, allowed) }}
    {%- endif -%}
    {{ return(text | int if whole else text | float) }}
{%- endmacro %}

{#-
    validated_as_of_date()
    The var as_of_date as YYYY-MM-DD text, "" when empty, or a build-stopping
    error when it is not a real calendar date (2024-13-01, 2023-02-29) or
    falls outside 1900-2199 (pandas' timestamps, which the Python models
    use, end in 1677 and 2262).
-#}
{% macro validated_as_of_date() -%}
    {%- set value = var("as_of_date", "") | string | trim -%}
    {%- if value in ["", "None"] -%}
        {{ return("") }}
    {%- endif -%}
    {%- set allowed = "empty (the day after the last event) or a calendar "
        ~ "date from 1900-01-01 to 2199-12-31 in the form YYYY-MM-DD, e.g. "
        ~ "--vars '{as_of_date: 2011-12-01}'"
    -%}
    {%- if not modules.re.match("^[0-9]{4}-[0-9]{2}-[0-9]{2}$", value) -%}
        {{ raise_invalid_var("as_of_date", allowed) }}
    {%- endif -%}
    {#- modules.datetime.strptime would stop with a bare Python error on a
        date that does not exist (Jinja has no try), so the calendar is
        checked here -#}
    {%- set parts = value.split("-") | map("int") | list -%}
    {%- set month_days = [31, 29 if (parts[0] % 4 == 0
        and (parts[0] % 100 != 0 or parts[0] % 400 == 0)) else 28,
        31, 30, 31, 30, 31, 31, 30, 31, 30, 31] -%}
    {%- if parts[0] < 1900 or parts[0] > 2199
        or parts[1] < 1 or parts[1] > 12
        or parts[2] < 1 or parts[2] > month_days[parts[1] - 1] -%}
        {{ raise_invalid_var("as_of_date", allowed) }}
    {%- endif -%}
    {{ return(value) }}
{%- endmacro %}

{% macro raise_invalid_var(name, allowed) -%}
    {{ exceptions.raise_compiler_error(
        "The var " ~ name ~ " is '" ~ var(name) ~ "'; it must be "
        ~ allowed ~ ". Set it in dbt_project.yml or with --vars '{"
        ~ name ~ ": ...}'."
    ) }}
{%- endmacro %}
