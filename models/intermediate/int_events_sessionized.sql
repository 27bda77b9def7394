{#-
    Clean events with the session they belong to: one row per event.

    The session rule: take one customer's events in order of event_at, then
    event_id (so equal timestamps have a fixed order). An event starts a new
    session when it is the customer's first, or when more than
    session_timeout_minutes have passed since the previous event; a gap of
    exactly the timeout stays in the session. Sessions belong to one customer
    and may cross midnight.

    Guest events (no customer id) are sessionized per order: the lines of
    one guest invoice form one session. The sessionization_key names the
    group that is sessionized: "customer|<id>" or "guest|<order id>".

    session_id is the md5 of the sessionization key and the event_id of the
    session's first event, so it is the same on every rebuild.

    Incremental runs: fct_events shows every clean event, so new data
    means events whose event_id is not sessionized yet. A key is touched
    when it
    - has such a new event, whatever its timestamp (late events included), or
    - has an event within session_lookback_hours of the newest event
      already sessionized (this refreshes recent rows whose values changed
      under the same event_id, e.g. after a seed edit; older changes need
      --full-refresh), or
    - lost an event from fct_events (the pre-hook deletes such keys' rows,
      so their remaining events count as new).
    A touched key is sessionized again from the start of its last built
    session that began before its first new or recent event, numbering on
    from that session's number; its earlier sessions cannot change, since
    nothing was added between their events. Those events' rows are replaced
    (delete+insert on event_id), so the table equals a full refresh. Going
    back only to that session, not to the key's first event, matters
    because the lookback touches every recently active customer: at one
    million events, 4,400 customers with 13% of all events, where their
    recent sessions hold a small part of that.
    The pre-hook also stops the run when session_timeout_minutes differs
    from the one the table was built with.
    Of the rows sessionized again only those that are new or differ from
    the built row are written; the rest keep their batch.
    sessionized_batch numbers the run that wrote each row (0 for a full
    refresh), so that fct_sessions and dim_customers rebuild only what
    changed since they last ran (macros/sessions_incremental.sql,
    "Batches"). It is bookkeeping: an incremental build and a full refresh
    differ in it and in nothing else.
    New events are found per key: after the pre-hook, a key has a new event
    exactly when it has more events in fct_events than in this table, so
    only those keys' event_ids are matched against the table. Matching all
    of them was a join of every event with every sessionized event on each
    run; the counts cut this model's incremental query at one million
    events from 5.4 s to 1.2 s.

    Built for speed at tens of millions of events: only the columns the
    session rule needs (key, event_at, event_id) go through the window
    sorts, in two passes (the gap to the previous event, then the running
    session number and id), and the session id is hashed once per session,
    on its first event, then carried forward. The other columns are joined
    back by event_id at the end. The first version carried every column
    through three window sorts; at 10 million events this version takes
    about 40% less time (docs/benchmark.md), and most of what is left is
    writing the table.
-#}
{{ validate_project_vars() }}
{{ config(
    materialized=sessions_materialization(),
    incremental_strategy=sessions_incremental_strategy(),
    unique_key="event_id",
    on_schema_change="fail",
    pre_hook="{{ sessions_prepare_incremental_run(
        this, ref('fct_events'), var('session_timeout_minutes')
    ) }}",
    post_hook="{{ sessions_record_batch() }}"
) }}

with

events as (

    select * from {{ ref("fct_events") }}

),

keyed as (

    -- reads fct_events itself rather than the events CTE: DuckDB
    -- materializes a CTE that is used twice, which here meant copying
    -- every wide row once more before the join back
    select
        event_id,
        event_at,
        coalesce(
            'customer|' || customer_id,
            'guest|' || coalesce(order_id, event_id)
        ) as sessionization_key

    from {{ ref("fct_events") }}

),

{% if is_incremental() %}

already_sessionized as (

    select
        event_id,
        event_at,
        sessionization_key,
        session_number

    from {{ this }}

),

watermark as (

    -- the newest event already sessionized
    select max(event_at) as newest_event_at
    from already_sessionized

),

current_counts as (

    select
        sessionization_key,
        count(*) as event_count

    from keyed
    group by 1

),

built_counts as (

    select
        sessionization_key,
        count(*) as event_count

    from already_sessionized
    group by 1

),

keys_with_new_events as (

    -- the pre-hook has deleted every key that lost an event, so a key's
    -- built events are a subset of its events now, and it has a new event
    -- exactly when it has more events than were built. Counting per key
    -- is far cheaper than matching every event_id against the table
    select current_counts.sessionization_key

    from current_counts
    left join built_counts
        on current_counts.sessionization_key = built_counts.sessionization_key
    where
        built_counts.sessionization_key is null
        or current_counts.event_count != built_counts.event_count

),

built_events_of_those_keys as (

    select already_sessionized.event_id

    from already_sessionized
    inner join keys_with_new_events
        on
            already_sessionized.sessionization_key
            = keys_with_new_events.sessionization_key

),

new_events as (

    -- the events of those keys that are not sessionized yet
    select
        keyed.sessionization_key,
        keyed.event_at

    from keyed
    inner join keys_with_new_events
        on keyed.sessionization_key = keys_with_new_events.sessionization_key
    left join built_events_of_those_keys
        on keyed.event_id = built_events_of_those_keys.event_id
    where built_events_of_those_keys.event_id is null

),

recent_events as (

    select
        keyed.sessionization_key,
        keyed.event_at

    from keyed
    cross join watermark
    where
        keyed.event_at >= {{ dbt.dateadd(
            "hour",
            -1 * var("session_lookback_hours"),
            "watermark.newest_event_at"
        ) }}

),

changed_events as (

    -- new events, and every event within the lookback
    select * from new_events
    union all
    select * from recent_events

),

touched_keys as (

    select
        sessionization_key,
        min(event_at) as changed_from

    from changed_events
    group by 1

),

sessions_before_change as (

    -- built sessions of touched keys with events before the first change
    select
        already_sessionized.sessionization_key,
        already_sessionized.session_number,
        min(already_sessionized.event_at) as session_started_at

    from already_sessionized
    inner join touched_keys
        on
            already_sessionized.sessionization_key
            = touched_keys.sessionization_key
    where already_sessionized.event_at < touched_keys.changed_from
    group by 1, 2

),

resume_points as (

    -- the last of those sessions is sessionized again from its start and
    -- keeps its number; null: the key starts from its first event
    select
        touched_keys.sessionization_key,
        max(sessions_before_change.session_started_at) as resume_at,
        max(sessions_before_change.session_number) as resumed_session_number

    from touched_keys
    left join sessions_before_change
        on
            touched_keys.sessionization_key
            = sessions_before_change.sessionization_key
    group by 1

),

{% endif %}

to_sessionize as (

    select
        keyed.*,
        {{ "coalesce(resume_points.resumed_session_number, 1) - 1"
            if is_incremental() else "0" }} as earlier_session_count

    from keyed
    {%- if is_incremental() %}
    inner join resume_points
        on keyed.sessionization_key = resume_points.sessionization_key
    where
        resume_points.resume_at is null
        or keyed.event_at >= resume_points.resume_at
    {%- endif %}

),

lagged as (

    -- the previous event of the same key, in the session order
    select
        *,
        lag(event_at) over (
            partition by sessionization_key
            order by event_at, event_id
        ) as previous_event_at

    from to_sessionize

),

flagged as (

    select
        *,
        case
            when previous_event_at is null then 1
            when
                event_at > {{ dbt.dateadd(
                    "minute",
                    var("session_timeout_minutes"),
                    "previous_event_at"
                ) }}
                then 1
            else 0
        end as is_session_start

    from lagged

),

numbered as (

    -- a session's id is set on its first event and carried forward
    select
        event_id,
        sessionization_key,
        earlier_session_count + sum(is_session_start) over (
            partition by sessionization_key
            order by event_at, event_id
            rows between unbounded preceding and current row
        ) as session_number,
        {{ sessions_last_non_null(
            "case when is_session_start = 1 then "
            ~ hash_key(["sessionization_key", "event_id"])
            ~ " end"
        ) }} over (
            partition by sessionization_key
            order by event_at, event_id
            rows between unbounded preceding and current row
        ) as session_id

    from flagged

),

final as (

    select
        events.event_id,
        numbered.session_id,
        cast(numbered.session_number as bigint) as session_number,
        numbered.sessionization_key,
        events.customer_id,
        events.event_type,
        events.event_at,
        events.product_id,
        events.product_name,
        events.category,
        events.brand,
        events.unit_price,
        events.quantity,
        events.order_id,
        events.source_session_id,
        events.search_query,
        events.country,
        events.is_merchandise,

        cast(
            {{ var("session_timeout_minutes") }} as integer
        ) as session_timeout_minutes,
        -- which run wrote the row (bookkeeping for the readers)
        cast(
            {{ sessions_batch_of_this_run() }} as bigint
        ) as sessionized_batch

    from numbered
    inner join events
        on numbered.event_id = events.event_id

)
{%- if is_incremental() %},
{%- set compared_columns = [
    "session_id", "session_number", "sessionization_key", "customer_id",
    "event_type", "event_at", "product_id", "product_name", "category",
    "brand", "unit_price", "quantity", "order_id", "source_session_id",
    "search_query", "country", "is_merchandise", "session_timeout_minutes",
] %}

changed_rows as (

    -- only rows that are new or differ from the built row are written:
    -- most events re-sessionized for the lookback come out as they were,
    -- and rewriting them would make the readers of this table rebuild
    -- every recently active customer. At 10 million events one day's run
    -- re-sessionizes 612,095 rows and only 55,445 (the new events)
    -- change: 7,525 keys to rebuild instead of 49,737
    select final.*

    from final
    left join {{ this }} as built
        on final.event_id = built.event_id
    where
        built.event_id is null
        {%- for column in compared_columns %}
        or final.{{ column }} is distinct from built.{{ column }}
        {%- endfor %}

)
{%- endif %}

select * from {{ "changed_rows" if is_incremental() else "final" }}
