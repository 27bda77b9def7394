{#-
    Helpers for the incremental marts that copy rows of
    int_events_classified or int_events_sessionized: fct_events,
    rejected_events and int_order_lines.

    Each of them keeps no bookkeeping of its own. Instead it compares
    itself with the table it copies, one group of rows at a time (an event
    day, or an input file), by a fingerprint: the group's row count and the
    sum of a 64-bit hash of what identifies each row's values. A group
    whose fingerprints differ (or that exists on one side only) is deleted
    by the model's pre-hook and copied again by the model; every other
    group is left alone. So a run after any upstream change - a new file, a
    vanished or reclassified one, a failed or skipped run of this model, a
    run of this model alone - ends with the same rows as a full refresh.
    A daily file costs the rows of its own day, plus two narrow scans of
    the columns the fingerprints read.

    The hash sum cannot prove two groups equal, but two groups that differ
    and still have the same count and the same sum of 64-bit hashes are as
    likely as a collision of a 64-bit hash; the models note where that is
    the whole check.
-#}

{#-
    events_materialization()
    How fct_events, rejected_events and int_order_lines are materialized:
    incremental where the adapter can delete rows and the fingerprints
    below are written for it, else a table rebuilt whole on every run
    (the same rows).
-#}
{% macro events_materialization() -%}
    {{ return(adapter.dispatch(
        "events_materialization", "customer_analytics"
    )()) }}
{%- endmacro %}

{% macro default__events_materialization() -%}
    {{ return("table") }}
{%- endmacro %}

{% macro duckdb__events_materialization() -%}
    {{ return("incremental") }}
{%- endmacro %}

{#-
    events_row_hash(expressions)
    A 64-bit hash of several expressions, as a number that sums without
    overflow (the fingerprints add it up over a group).
-#}
{% macro events_row_hash(expressions) -%}
    {{ return(adapter.dispatch(
        "events_row_hash", "customer_analytics"
    )(expressions)) }}
{%- endmacro %}

{% macro default__events_row_hash(expressions) -%}
    {{ exceptions.raise_compiler_error(
        "events_row_hash has no implementation for the " ~ adapter.type()
        ~ " adapter. Add " ~ adapter.type() ~ "__events_row_hash (a 64-bit "
        ~ "hash as a number that sums without overflow), or let "
        ~ adapter.type() ~ "__events_materialization return 'table'."
    ) }}
{%- endmacro %}

{% macro duckdb__events_row_hash(expressions) -%}
    cast(hash({{ expressions | join(", ") }}) as hugeint)
{%- endmacro %}

{#-
    events_changed_groups(group, mine, theirs)
    A query of the group values whose fingerprints differ between two
    row sets. `group` is the grouping expression (the same on both sides);
    `mine` and `theirs` are dicts with "relation" (a table or a
    parenthesized query), "hashed" (the list of expressions hashed per
    row) and optionally "where" (a filter).
-#}
{% macro events_changed_groups(group, mine, theirs) -%}
    with

    {%- for name, side in [("mine", mine), ("theirs", theirs)] %}

    {{ name }} as (

        select
            {{ group }} as group_value,
            count(*) as row_count,
            sum({{ events_row_hash(side.hashed) }}) as hash_sum

        from {{ side.relation }}
        {%- if side.where %}
        where {{ side.where }}
        {%- endif %}
        group by 1

    ),
    {%- endfor %}

    changed as (

        select coalesce(mine.group_value, theirs.group_value) as group_value

        from mine
        full outer join theirs
            on mine.group_value = theirs.group_value
        where
            mine.group_value is null
            or theirs.group_value is null
            or mine.row_count != theirs.row_count
            or mine.hash_sum != theirs.hash_sum

    )

    select group_value from changed
{%- endmacro %}

{#-
    events_forget_changed_groups(relation, group, mine, theirs)
    Pre-hook of the models above; does nothing unless the run is
    incremental. Deletes from `relation` every group whose fingerprint
    differs from the table it copies (events_changed_groups), so the model
    can append those groups again: it appends the groups that `relation`
    no longer has. `group` must never be null on either side.
-#}
{% macro events_forget_changed_groups(relation, group, mine, theirs) -%}
    {%- if not execute or not is_incremental() -%}
        {{ return("") }}
    {%- endif -%}
    delete from {{ relation }}
    where {{ group }} in (
        {{ events_changed_groups(group, mine, theirs) }}
    )
{%- endmacro %}

{#-
    order_lines_forget_changed_orders(order_lines, sessionized)
    Pre-hook of int_order_lines; does nothing unless the run is
    incremental. An order's flags depend on all its lines, so whole orders
    are replaced: every order with a line on an event day whose lines
    differ from int_events_sessionized (by count and a checksum of event_id
    and session_id), as it is here or as it is there, is deleted. The model
    then appends every order it no longer has.
-#}
{% macro order_lines_forget_changed_orders(order_lines, sessionized) -%}
    {%- if not execute or not is_incremental() -%}
        {{ return("") }}
    {%- endif -%}
    {%- set day = "cast(event_at as date)" -%}
    {%- set sessionized_lines = (
        "(select * from " ~ sessionized
        ~ " where event_type in ('purchase', 'return'))"
    ) -%}
    delete from {{ order_lines }}
    where order_id in (
        with

        changed_days as (

            {{ events_changed_groups(
                day,
                {"relation": order_lines, "hashed": ["event_id", "session_id"]},
                {
                    "relation": sessionized_lines,
                    "hashed": ["event_id", "session_id"],
                },
            ) | indent(12) }}

        )

        select order_id
        from {{ order_lines }}
        where {{ day }} in (select group_value from changed_days)

        union all

        select {{ order_lines_order_id("order_id", "session_id") }}
        from {{ sessionized_lines }} as lines
        where {{ day }} in (select group_value from changed_days)
    )
{%- endmacro %}

{#-
    order_lines_order_id(order_id, session_id)
    An order line's order: the input's order id, or for clickstreams
    without one "session-" and the session id (int_order_lines).
-#}
{% macro order_lines_order_id(order_id, session_id) -%}
    coalesce({{ order_id }}, 'session-' || {{ session_id }})
{%- endmacro %}
