{#-
    The view -> cart -> purchase funnel per day: one row per UTC day on which
    at least one session started (a session counts on the day it started,
    even when it crosses midnight).

    A session reaches a step when the step's event happens at the same time
    as or after the previous step within the session (funnel_step_reached in
    fct_sessions). Rates are null when their denominator is 0, e.g. on
    Online Retail input, which has no views.
-#}
with

sessions as (

    select * from {{ ref("fct_sessions") }}

),

counted as (

    select
        session_date as funnel_date,

        count(*) as session_count,
        count(case when funnel_step_reached >= 1 then 1 end)
            as viewed_session_count,
        count(case when funnel_step_reached >= 2 then 1 end)
            as carted_session_count,
        count(case when funnel_step_reached >= 3 then 1 end)
            as purchased_session_count

    from sessions
    group by 1

),

with_rates as (

    select
        *,
        cast(carted_session_count as double)
        / nullif(viewed_session_count, 0) as view_to_cart_rate,
        cast(purchased_session_count as double)
        / nullif(carted_session_count, 0) as cart_to_purchase_rate,
        cast(purchased_session_count as double)
        / nullif(viewed_session_count, 0) as view_to_purchase_rate

    from counted

)

select * from with_rates
