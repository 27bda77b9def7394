{#-
    Clean events with the session they belong to: one row per event.

    The session rule: take one customer's events in order of event_at, then
    event_id (so equal timestamps have a fixed order). An event starts a new
    session when it is the customer's first, or when more than
    session_timeout_minutes have passed since the previous event; a gap of
    exactly the timeout stays in the session. Sessions belong to one customer
    and may cross midnight.

    Guest events (no customer id) are sessionized per order: the lines of
    one guest invoice form one session.

    session_id is the md5 of the sessionization key and the event_id of the
    session's first event, so it is the same on every rebuild.
-#}
with

events as (

    select * from {{ ref("fct_events") }}

),

keyed as (

    select
        *,
        coalesce(
            'customer|' || customer_id,
            'guest|' || coalesce(order_id, event_id)
        ) as sessionization_key

    from events

),

lagged as (

    -- the previous event of the same customer, in the session order
    select
        *,
        lag(event_at) over (
            partition by sessionization_key
            order by event_at, event_id
        ) as previous_event_at

    from keyed

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

    select
        *,
        sum(is_session_start) over (
            partition by sessionization_key
            order by event_at, event_id
            rows between unbounded preceding and current row
        ) as session_number

    from flagged

),

with_session_id as (

    select
        *,
        first_value(event_id) over (
            partition by sessionization_key, session_number
            order by event_at, event_id
            rows between unbounded preceding and unbounded following
        ) as session_first_event_id

    from numbered

),

final as (

    select
        event_id,
        {{ hash_key(["sessionization_key", "session_first_event_id"]) }}
            as session_id,
        session_number,
        sessionization_key,
        customer_id,
        event_type,
        event_at,
        product_id,
        product_name,
        category,
        brand,
        unit_price,
        quantity,
        order_id,
        source_session_id,
        search_query,
        country,
        is_merchandise

    from with_session_id

)

select * from final
