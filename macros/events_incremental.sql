{#-
    Helpers for fct_events, incremental although it copies rows of
    int_events_classified: a table of 10 million rows rewritten on every
    run was the largest cost of a daily run.

    It compares itself with the table it copies one group of rows at a
    time (an event day), by a fingerprint: the group's row count and the sum of a 64-bit hash of
    what identifies each row's values (the event id). A group
    whose fingerprints differ (or that exists on one side only) is deleted
    by the model's pre-hook and copied again by the model; every other
    group is left alone. So a run after any upstream change - a new file, a
    vanished or reclassified one, a failed or skipped run of this model, a
    run of this model alone - ends with the same rows as a full refresh.
    A daily file costs the rows of its own day, plus a narrow scan of the
    copied table's event ids (its own fingerprints are kept in books, see
    "Fingerprint books" below).

    The hash sum cannot prove two groups equal, but two groups that differ
    and still have the same count and the same sum of 64-bit hashes are as
    likely as a collision of a 64-bit hash.

    rejected_events compares itself with the same table by input file
    instead (rejected_forget_changed_files below). int_order_lines does
    not use fingerprints: its 720,000 rows at 10 million events cost 1.2-1.7
    CPU s to fingerprint, about what replacing its changed orders costs
    (it is incremental by order, macros/order_lines_incremental.sql).
-#}

{#-
    events_materialization()
    How fct_events and rejected_events are materialized: incremental
    where the adapter can delete rows and the fingerprints below are
    written for it, else a table rebuilt whole on every run (the same
    rows).
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
    `mine` and `theirs` are dicts with either "query" (a query of
    group_value, row_count, hash_sum, e.g. from the fingerprint books
    below) or "relation" (a table or a parenthesized query), "hashed"
    (the list of expressions hashed per row) and optionally "where" (a
    filter).
-#}
{% macro events_changed_groups(group, mine, theirs) -%}
    with

    {%- for name, side in [("mine", mine), ("theirs", theirs)] %}

    {{ name }} as (
        {%- if side.query %}

        {{ side.query }}
        {%- else %}

        select
            {{ group }} as group_value,
            count(*) as row_count,
            sum({{ events_row_hash(side.hashed) }}) as hash_sum

        from {{ side.relation }}
        {%- if side.where %}
        where {{ side.where }}
        {%- endif %}
        group by 1
        {%- endif %}

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
    events_on_changed_days(column, relation, source, source_where=none,
        from_model_sql=false)
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

    A comment before the filter names what was compared and lists the
    days, e.g. `/* changed event days of ... against ...: 2024-06-29 */`,
    so the compiled SQL shows which days a run rebuilt. A model's SQL is
    rendered before its hooks run, and nothing the days depend on changes
    before the model's own statement, so its pre-hook passes
    from_model_sql=true and takes the days from that comment in the
    model's compiled SQL instead of computing the fingerprints again (at
    10 million events each computation was 0.4-1.3 s of the daily run's
    longest chain of models). Where the compiled SQL has no such comment,
    the days are computed.
-#}
{% macro events_on_changed_days(
    column, relation, source, source_where=none, from_model_sql=false
) -%}
    {%- if not execute -%}
        {{ return("false") }}
    {%- elif not relation.schema -%}
        {{ return(
            "cast(" ~ column ~ " as date) in ("
            ~ events_changed_groups(
                "cast(event_at as date)",
                {"relation": relation, "hashed": ["event_id"]},
                {"relation": source, "hashed": ["event_id"],
                    "where": source_where},
            ) ~ ")"
        ) }}
    {%- endif -%}
    {%- set days = events_changed_days(
        relation, source, source_where, from_model_sql
    ) -%}
    {{ return(
        "/* " ~ events_changes_label(relation, source, source_where) ~ ": "
        ~ (days | join(" ") if days else "none") ~ " */ "
        ~ events_days_filter(column, days)
    ) }}
{%- endmacro %}

{% macro events_changes_label(relation, source, source_where) -%}
    {{ return(
        "changed event days of " ~ relation ~ " against " ~ source
        ~ (" where " ~ source_where if source_where else "")
    ) }}
{%- endmacro %}

{#-
    events_changed_days(relation, source, source_where, from_model_sql)
    The changed event days (ISO dates, sorted) that events_on_changed_days
    filters on: from the comment in the compiled SQL of the model being
    run when from_model_sql and the comment is there, else computed from
    the fingerprints (each side from the fingerprint books when they hold
    it, else from the table).
-#}
{% macro events_changed_days(relation, source, source_where, from_model_sql) -%}
    {%- if from_model_sql -%}
        {%- set written = events_days_in_model_sql(
            events_changes_label(relation, source, source_where)
        ) -%}
        {%- if written is not none -%}
            {{ return(written) }}
        {%- endif -%}
    {%- endif -%}
    {%- set changed = events_changed_groups(
        "cast(event_at as date)",
        events_fingerprint_side(relation),
        events_fingerprint_side(source, source_where),
    ) -%}
    {%- set days = [] -%}
    {%- for day in run_query(changed).columns[0].values() -%}
        {%- do days.append(day.isoformat()) -%}
    {%- endfor -%}
    {{ return(days | sort) }}
{%- endmacro %}

{#-
    events_days_in_model_sql(label)
    The days listed under `label` in the compiled SQL of the model being
    run, or none (no compiled SQL in this context, or no such comment).
-#}
{% macro events_days_in_model_sql(label) -%}
    {%- set start = "/* " ~ label ~ ": " -%}
    {%- set code = compiled_code or "" -%}
    {%- set at = code.find(start) -%}
    {%- if at < 0 -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set rest = code[at + start | length:] -%}
    {%- set stop = rest.find(" */") -%}
    {%- if stop < 0 -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set listed = rest[:stop] -%}
    {{ return([] if listed == "none" else listed.split(" ")) }}
{%- endmacro %}

{#-
    events_days_filter(column, days)
    `column` within any of the days (ISO dates), as ranges of constants,
    consecutive days merged; false when there are none.
-#}
{% macro events_days_filter(column, days) -%}
    {%- if not days -%}
        {{ return("false") }}
    {%- endif -%}
    {%- set one_day = modules.datetime.timedelta(days=1) -%}
    {%- set runs = namespace(first=none, last=none, parts=[]) -%}
    {%- set dates = [] -%}
    {%- for day in days -%}
        {%- do dates.append(modules.datetime.date.fromisoformat(day)) -%}
    {%- endfor -%}
    {%- for day in (dates | sort) + [none] -%}
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


{#-
    Fingerprint books. fct_events and int_events_sessionized keep their own
    per-day fingerprints (row count and hash sum of the day's event ids)
    in events_day_fingerprints, beside the session books in the
    intermediate schema, written by their post-hooks in the same
    transaction as their rows. The next run compares with those instead
    of hashing the tables' 10 million event ids again: fct_events reads
    its own side from the books, int_events_sessionized both sides. An
    incremental run rewrites the books of the changed days only; every
    other day's events are the same (int_events_sessionized rewrites some
    rows of other days, of keys sessionized again, but under the same
    event ids). A full refresh, or a run whose compiled SQL does not name
    its changed days, rewrites all of a model's books.

    The books are read only when they hold the table's row count of every
    day (a narrow scan of event_at); otherwise (no books yet, or rows
    added, deleted or moved to another day outside dbt) the side is
    computed from the table, as before the books, and the post-hook
    writes them all again. An edit outside dbt that keeps every day's row
    count (one event swapped for another on the same day) is not noticed:
    after editing these tables by hand, rebuild them with --full-refresh.
-#}
{% macro events_fingerprint_books(relation) -%}
    {{ return(api.Relation.create(
        database=relation.database,
        schema=generate_schema_name("intermediate", none) | trim,
        identifier="events_day_fingerprints",
        type="table"
    )) }}
{%- endmacro %}

{#-
    events_fingerprint_side(relation, where=none)
    One side of events_changed_groups for `relation`: its books when they
    hold it (whole tables only), else the table itself.
-#}
{% macro events_fingerprint_side(relation, where=none) -%}
    {%- set computed = {"relation": relation, "hashed": ["event_id"],
        "where": where} -%}
    {%- if where or not relation.schema -%}
        {{ return(computed) }}
    {%- endif -%}
    {%- set books = events_fingerprint_books(relation) -%}
    {%- if not bookkeeping_table_exists(books) -%}
        {{ return(computed) }}
    {%- endif -%}
    {%- set disagreeing = run_query(
        "select count(*) from ("
        ~ events_books_disagreeing_days(books, relation) ~ ") as days"
    ).columns[0].values()[0] -%}
    {#- no books for a table with rows disagree on every day; for an empty
        table, empty books give the same comparison as the table -#}
    {%- if disagreeing > 0 -%}
        {{ return(computed) }}
    {%- endif -%}
    {{ return({"query":
        "select event_day as group_value, row_count, hash_sum from "
        ~ books ~ " where model_name = '" ~ relation.identifier ~ "'"
    }) }}
{%- endmacro %}

{#-
    events_books_disagreeing_days(books, relation)
    A query of the days whose row count in `relation`'s books is not the
    table's (a day missing on either side included): a narrow scan of
    event_at.
-#}
{% macro events_books_disagreeing_days(books, relation) -%}
    select coalesce(booked.event_day, counted.event_day) as event_day
    from (
        select event_day, row_count from {{ books }}
        where model_name = '{{ relation.identifier }}'
    ) as booked
    full outer join (
        select cast(event_at as date) as event_day, count(*) as row_count
        from {{ relation }}
        group by 1
    ) as counted
        on booked.event_day = counted.event_day
    where booked.row_count is distinct from counted.row_count
{%- endmacro %}

{#-
    events_record_fingerprints(source, source_where=none)
    Post-hook of fct_events and int_events_sessionized (`source` and
    source_where as in their events_on_changed_days): writes this model's
    books (see above). Nothing where the model is not incremental (it is
    then rebuilt whole and never compared).
-#}
{% macro events_record_fingerprints(source, source_where=none) -%}
    {%- if not execute or config.get("materialized") != "incremental" -%}
        {{ return("") }}
    {%- endif -%}
    {%- set books = events_fingerprint_books(this) -%}
    {%- set days = none -%}
    {%- if is_incremental() -%}
        {%- set days = events_days_in_model_sql(
            events_changes_label(this, source, source_where)
        ) -%}
    {%- endif -%}
    create table if not exists {{ books }} (
        model_name {{ dbt.type_string() }} not null,
        event_day date not null,
        row_count bigint not null,
        hash_sum {{ events_hash_sum_type() }} not null
    );
    {%- if days is none %}
    delete from {{ books }} where model_name = '{{ this.identifier }}';
    {%- elif days %}
    delete from {{ books }}
    where
        model_name = '{{ this.identifier }}'
        and event_day in ('{{ days | join("', '") }}');
    {%- endif %}
    {%- if days is none or days %}
    {{ events_insert_fingerprints(books, days) }};
    {%- endif %}
    {%- if days is not none %}
    {#- books that did not hold every day before (none yet, or a table
        changed outside dbt) still miss a day's row count: all of them
        again -#}
    delete from {{ books }}
    where
        model_name = '{{ this.identifier }}'
        and exists ({{ events_books_disagreeing_days(books, this) }});
    {{ events_insert_fingerprints(
        books, none,
        "not exists (select 1 from " ~ books ~ " where model_name = '"
        ~ this.identifier ~ "')"
    ) }};
    {%- endif %}
{%- endmacro %}

{#- The books of this model's `days` (all days when none), read from
    the table; `condition` guards the whole insert. -#}
{% macro events_insert_fingerprints(books, days, condition="true") -%}
    insert into {{ books }}
    select
        '{{ this.identifier }}',
        event_day,
        count(*),
        sum(event_hash)
    from (
        select
            cast(event_at as date) as event_day,
            {{ events_row_hash(["event_id"]) }} as event_hash
        from {{ this }}
        where
            {{ events_days_filter("event_at", days) if days else "true" }}
            and {{ condition }}
    ) as hashed
    group by 2
{%- endmacro %}

{#-
    rejected_forget_changed_files(classified)
    Pre-hook of rejected_events; does nothing unless the run is
    incremental. Deletes the rows of every input file whose rejected rows
    differ here and in `classified` (int_events_classified): by count and
    the sum of a hash of each row's id, reason, row number and parsed
    time, grouped by file. raw_values follows from the id (its md5), for
    one setting of the vars. The parsed time is hashed too: which input
    column it is read from can depend on the other files of the glob (a
    header that spells a column differently), so it can change while the
    raw row does not. Only rejected rows are read, about 0.2% of the
    input: no books are needed. An edit by hand to raw_values is not
    noticed: rebuild with --full-refresh after editing it.
-#}
{% macro rejected_forget_changed_files(classified) -%}
    {%- if not execute or not is_incremental() -%}
        {{ return("") }}
    {%- endif -%}
    delete from {{ this }}
    where source_file in (
        {{ events_changed_groups(
            "source_file",
            {"relation": this,
                "hashed": ["raw_row_hash", "reject_reason",
                    "source_row_number", "parsed_event_at"]},
            {"relation": classified,
                "hashed": ["event_id", "reject_reason", "source_row_number",
                    "event_at"],
                "where": "reject_reason is not null"},
        ) }}
    )
{%- endmacro %}

{#- The type of a fingerprint's hash sum (events_row_hash summed). -#}
{% macro events_hash_sum_type() -%}
    {{ return(adapter.dispatch(
        "events_hash_sum_type", "customer_analytics"
    )()) }}
{%- endmacro %}

{% macro default__events_hash_sum_type() -%}
    {{ return("decimal(38, 0)") }}
{%- endmacro %}

{% macro duckdb__events_hash_sum_type() -%}
    {{ return("hugeint") }}
{%- endmacro %}
