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
    means events whose event_id is not sessionized yet. An event's values
    all follow from its event_id (the hash of its raw row), so nothing
    else changes under the same id. A key is touched when it
    - has such a new event, whatever its timestamp (late events included), or
    - lost an event from fct_events (the pre-hook deletes such keys' rows,
      so their remaining events count as new).
    Both are found by event day (macros/events_incremental.sql): each
    day's events are counted and checksummed here and in fct_events, and
    only the days that differ are matched event by event. At 10 million
    events with one new day that is two narrow scans and a match of one
    day's events, where counting every key's events on both sides and
    matching the vanished events over all days took most of the run.
    A touched key is sessionized again from the start of its last built
    session that began before its first new event, numbering on from that
    session's number; its earlier sessions cannot change, since nothing
    was added between their events. Those events' rows are replaced
    (delete+insert on event_id), so the table equals a full refresh.
    The pre-hook also stops the run when session_timeout_minutes differs
    from the one the table was built with.
    sessionized_batch numbers the run that wrote each row (0 for a full
    refresh), so that its readers (fct_sessions, int_session_products,
    dim_customers) rebuild only what changed since they last ran
    (macros/sessions_incremental.sql, "Batches"). It is bookkeeping: an incremental build and a full refresh
    differ in it and in nothing else.
    Until this version a run also re-sessionized every key with an event
    within session_lookback_hours of the newest one, for values changed
    under the same event_id; since an event's values follow from its id,
    that only cost time (612,095 rows re-sessionized and compared with the
    built rows on every daily run at 10 million events).

    Built for speed at tens of millions of events: only the columns the
    session rule needs (the group, event_at, event_id) go through the window
    sorts, in two passes (the gap to the previous event, then the running
    session number and id), and the session id is hashed once per session,
    on its first event, then carried forward. The other columns are joined
    back by event_id at the end. The first version carried every column
    through three window sorts; at 10 million events this version takes
    about 40% less time (docs/benchmark.md), and most of what is left is
    writing the table. An incremental run first copies the touched keys'
    events whole (touched_events below), a few percent of them, and runs
    the same steps on that copy.
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
    post_hook=[
        "{{ sessions_record_batch() }}",
        "{{ events_record_fingerprints(ref('fct_events')) }}",
    ]
) }}

{#- the group sessionized: a customer, else a guest order. The key is
    built from a customer id and a guest's order (or event) id, whichever
    columns hold them -#}
{%- set key_from = "coalesce('customer|' || {customer}, 'guest|' || {guest})" %}
{%- set sessionization_key = key_from.format(
    customer="customer_id", guest="coalesce(order_id, event_id)"
) %}

with

{% if is_incremental() %}

already_sessionized as (

    select
        event_id,
        event_at,
        sessionization_key,
        session_number

    from {{ this }}

),

{%- set on_changed_days = events_on_changed_days(
    "event_at", this, ref("fct_events")
) %}

new_events as (

    -- events not sessionized yet: on the event days whose fingerprints
    -- differ between fct_events and this table (read before the pre-hook
    -- ran, macros/events_incremental.sql), only their event_ids are
    -- matched. Read from fct_events itself, not from keyed, which DuckDB
    -- would then materialize in full for its second use below
    select
        {{ sessionization_key }} as sessionization_key,
        customer_id,
        event_at

    from {{ ref("fct_events") }}
    where
        {{ on_changed_days }}
        and event_id not in (
            select event_id from {{ this }}
            where {{ on_changed_days }}
        )

),

forgotten_keys as (

    -- keys whose rows the pre-hook deleted (an event vanished): all their
    -- remaining events are sessionized again, whatever their day
    select
        sessionization_key,
        customer_id,
        cast(null as timestamp) as event_at

    {%- if this.schema %}
    from {{ sessions_bookkeeping_relation(this, "forgotten_events") }}
    where sessionized_batch = {{ sessions_batch_of_this_run() }}
    {%- else %}
    -- a unit test: its `this` is a fixture, with no books beside it
    from (
        select
            cast(null as string) as sessionization_key,
            cast(null as string) as customer_id
    )
    where false
    {%- endif %}

),

touched_keys as (

    -- a customer's key is 'customer|' and the customer id, so the two
    -- name the same customer; guests have no customer id
    select
        sessionization_key,
        min(customer_id) as customer_id,
        min(event_at) as changed_from

    from (
        select * from new_events
        union all
        select * from forgotten_keys
    )
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

touched_events as {{ materialized_cte() }} (

    -- every column of the touched keys' events (4% of all events for one
    -- new day at 10 million events), read once: the session rule runs on
    -- them and the join back below takes their columns from here. Found
    -- by customer id, which DuckDB filters while it scans, so the other
    -- columns are read only for these rows; matching on the key meant
    -- building it for every event, and the join back reading every
    -- event_id (at 10 million events 1.4 s of the model's 2.8 CPU s)
    select * from {{ ref("fct_events") }}
    where customer_id in (
        select customer_id from touched_keys
        where customer_id is not null
    )

    union all

    select * from {{ ref("fct_events") }}
    where
        customer_id is null
        and {{ sessionization_key }} in (
            select sessionization_key from touched_keys
            where customer_id is null
        )

),

{% endif %}

{#- a full build reads every event; an incremental run the touched ones -#}
{%- set event_source = (
    "touched_events" if is_incremental() else ref("fct_events")
) %}

events as (

    select * from {{ event_source }}

),

keyed as (

    -- reads its source itself rather than the events CTE: in a full build
    -- DuckDB would materialize a CTE that is used twice, which meant
    -- copying every wide row once more before the join back
    select
        event_id,
        event_at,
        -- the group in two columns (customer_id, guest_key) rather than
        -- the key: the window sorts below compare them faster, as every
        -- customer's key starts with the same 9 characters (at 10 million
        -- events the model's query took 12.3 s against 13.5 s)
        customer_id,
        case
            when customer_id is null then coalesce(order_id, event_id)
        end as guest_key

    from {{ event_source }}

),

to_sessionize as (

    select
        keyed.*,
        {{ "coalesce(resume_points.resumed_session_number, 1) - 1"
            if is_incremental() else "0" }} as earlier_session_count

    from keyed
    {%- if is_incremental() %}
    inner join resume_points
        on
            {{ key_from.format(
                customer="keyed.customer_id", guest="keyed.guest_key"
            ) }}
            = resume_points.sessionization_key
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
            partition by customer_id, guest_key
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
        earlier_session_count + sum(is_session_start) over (
            partition by customer_id, guest_key
            order by event_at, event_id
            rows between unbounded preceding and current row
        ) as session_number,
        {{ sessions_last_non_null(
            "case when is_session_start = 1 then "
            ~ hash_key([
                key_from.format(customer="customer_id", guest="guest_key"),
                "event_id",
            ])
            ~ " end"
        ) }} over (
            partition by customer_id, guest_key
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
        {{ key_from.format(
            customer="events.customer_id",
            guest="coalesce(events.order_id, events.event_id)"
        ) }} as sessionization_key,
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

select * from final
