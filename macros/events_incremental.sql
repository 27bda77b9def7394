{#-
    Helpers for fct_events, incremental although it copies rows of
    int_events_classified: a table of 10 million rows rewritten on every
    run was the largest cost of a daily run.

    It keeps no bookkeeping of its own. Instead it compares itself with
    the table it copies one group of rows at a time (an event day), by a
    fingerprint: the group's row count and the sum of a 64-bit hash of
    what identifies each row's values (the event id). A group
    whose fingerprints differ (or that exists on one side only) is deleted
    by the model's pre-hook and copied again by the model; every other
    group is left alone. So a run after any upstream change - a new file, a
    vanished or reclassified one, a failed or skipped run of this model, a
    run of this model alone - ends with the same rows as a full refresh.
    A daily file costs the rows of its own day, plus two narrow scans of
    the columns the fingerprints read.

    The hash sum cannot prove two groups equal, but two groups that differ
    and still have the same count and the same sum of 64-bit hashes are as
    likely as a collision of a 64-bit hash.

    Not used where it does not pay: rejected_events (20,000 rows at 10
    million events) and int_order_lines (720,000) read narrow columns to
    find their rows, and the fingerprints cost about what rewriting them
    does (measured at 10 million events: 1.2-1.7 CPU s for the order lines'
    fingerprints alone), so they stay tables.
-#}

{#-
    events_materialization()
    How fct_events is materialized: incremental where the adapter can
    delete rows and the fingerprints below are written for it, else a
    table rebuilt whole on every run (the same rows).
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

{#- Spark's tables are rebuilt whole (spark__events_materialization), so
    this serves only the unit tests that render the incremental SQL. -#}
{% macro spark__events_row_hash(expressions) -%}
    cast(xxhash64({{ expressions | join(", ") }}) as decimal(38, 0))
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
    events_on_changed_days(column, relation, source, source_where=none)
    A filter on `column` (event_at) that keeps the event days (dates of
    event_at) whose fingerprints differ between `relation` and `source`
    (rows of `source` matching source_where). Both fct_events (against
    int_events_classified) and int_events_sessionized (against
    fct_events) find their work this way.

    The days are read when the SQL is rendered and written into it as
    ranges of constants (consecutive days merged), so DuckDB checks them
    inside the table scan: row groups whose event_at range misses every
    day are skipped, and the other columns are read only for rows that
    match. A join with the changed days, or `cast(event_at as date) in
    (subquery)`, read every column of every row (at 10 million events,
    fct_events' copy of one new day took 2.8 s that way). In a unit test,
    where the relations are fixtures that cannot be queried while
    rendering, the filter is that subquery.

    The filter is written between two comments that name what was
    compared, e.g. `/* changed event days: ... */ (...) /* end of changed
    event days */`, so the compiled SQL shows which days a run rebuilt.
    A model's SQL is rendered before its pre-hook runs, and nothing
    changes between the two, so the pre-hook passes from_model_sql=true
    and takes the same filter from the model's compiled SQL instead of
    computing the fingerprints again: at 10 million events each
    computation reads two 10-million-row event id columns, 0.4-1.3 s of
    the daily run's longest chain of models. Where the model's SQL holds
    no such filter, it is computed.
-#}
{% macro events_on_changed_days(
    column, relation, source, source_where=none, from_model_sql=false
) -%}
    {%- set label = "changed event days: " ~ column ~ " of " ~ relation
        ~ " against " ~ source
        ~ (" where " ~ source_where if source_where else "") -%}
    {%- if from_model_sql -%}
        {%- set written = events_filter_in_model_sql(label) -%}
        {%- if written is not none -%}
            {{ return(written) }}
        {%- endif -%}
    {%- endif -%}
    {{ return(
        "/* " ~ label ~ " */ "
        ~ events_changed_days_filter(column, relation, source, source_where)
        ~ " /* end of changed event days */"
    ) }}
{%- endmacro %}

{#-
    events_filter_in_model_sql(label)
    The filter that events_on_changed_days wrote under `label` into the
    compiled SQL of the model being run, with its two comments, or none (no compiled SQL in this
    context, or no such filter in it).
-#}
{% macro events_filter_in_model_sql(label) -%}
    {%- set start = "/* " ~ label ~ " */ " -%}
    {%- set end = " /* end of changed event days */" -%}
    {%- set code = compiled_code or "" -%}
    {%- set at = code.find(start) -%}
    {%- if at < 0 -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set rest = code[at + start | length:] -%}
    {%- set stop = rest.find(end) -%}
    {{ return(start ~ rest[:stop] ~ end if stop >= 0 else none) }}
{%- endmacro %}

{% macro events_changed_days_filter(column, relation, source, source_where) -%}
    {%- set day = "cast(event_at as date)" -%}
    {%- set changed = events_changed_groups(
        day,
        {"relation": relation, "hashed": ["event_id"]},
        {"relation": source, "hashed": ["event_id"], "where": source_where},
    ) -%}
    {%- if not execute -%}
        {{ return("false") }}
    {%- elif not relation.schema -%}
        {{ return("cast(" ~ column ~ " as date) in (" ~ changed ~ ")") }}
    {%- endif -%}
    {%- set days = run_query(changed).columns[0].values() | sort -%}
    {%- if days | length == 0 -%}
        {{ return("false") }}
    {%- endif -%}
    {%- set one_day = modules.datetime.timedelta(days=1) -%}
    {%- set runs = namespace(first=none, last=none, parts=[]) -%}
    {%- for day in days + [none] -%}
        {%- if day is not none and runs.last is not none
            and day == runs.last + one_day -%}
            {%- set runs.last = day -%}
        {%- else -%}
            {%- if runs.first is not none -%}
                {%- do runs.parts.append(
                    "(" ~ column ~ " >= timestamp '" ~ runs.first.isoformat()
                    ~ "' and " ~ column ~ " < timestamp '"
                    ~ (runs.last + one_day).isoformat() ~ "')"
                ) -%}
            {%- endif -%}
            {%- set runs.first = day -%}
            {%- set runs.last = day -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return("(" ~ runs.parts | join(" or ") ~ ")") }}
{%- endmacro %}

{#-
    events_forget_changed_days(relation, source, source_where=none)
    Pre-hook of fct_events; does nothing unless the run is incremental.
    Deletes from `relation` the rows of every event day whose fingerprint
    differs from `source` (events_on_changed_days); the model then copies
    those days again.
-#}
{% macro events_forget_changed_days(relation, source, source_where=none) -%}
    {%- if not execute or not is_incremental() -%}
        {{ return("") }}
    {%- endif -%}
    delete from {{ relation }}
    where {{ events_on_changed_days(
        "event_at", relation, source, source_where, from_model_sql=true
    ) }}
{%- endmacro %}
