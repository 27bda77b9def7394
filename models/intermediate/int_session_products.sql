{#-
    The products of each session and how far each got in the funnel: one
    row per session and product, for the events that have a product.
    dim_products counts its conversion rates from here.

    - first_view_at, first_cart_at: the first view and the first cart of
      the product in the session; last_cart_at, last_purchase_at: the last
      cart and the last purchase. "Carted after viewing" is then "the last
      cart is at or after the first view", and the same for purchases
      after the first cart, without ordering the events.

    Why a table of its own: grouping every event with a product by session
    and product (6.3 million groups at 10 million events) was most of
    dim_products' time, and dim_products is rebuilt on every run. Here it
    is incremental like fct_sessions: a run rebuilds, per sessionization
    key that int_events_sessionized wrote, or forgot, in a batch this
    model has not taken in yet, the sessions from the first one those
    rows belong to on (macros/sessions_incremental.sql, "Whole sessions
    from the batches alone"; session_number is here for that), so a daily
    run groups the rows of those batches only.
    A table rebuilt whole where the session models are (Spark).
-#}
{{ config(
    materialized=sessions_materialization(),
    incremental_strategy="append",
    on_schema_change="fail",
    pre_hook="{{ sessions_reader_forget_changed_sessions(
        ref('int_events_sessionized')
    ) }}",
    post_hook="{{ sessions_reader_record(ref('int_events_sessionized')) }}"
) }}
{%- set consumed_batch = sessions_reader_batch(
    ref("int_events_sessionized")
) %}
with

product_events as (

    select
        sessionized.sessionization_key,
        sessionized.session_number,
        sessionized.session_id,
        sessionized.product_id,
        sessionized.event_type,
        sessionized.event_at

    from {{ ref("int_events_sessionized") }} as sessionized
    where
        sessionized.product_id is not null
        and {{ sessions_unread_rows(
            consumed_batch, "sessionized.sessionized_batch"
        ) }}

),

steps as (

    select
        session_id,
        product_id,
        sessionization_key,
        session_number,

        min(case when event_type = 'view' then event_at end) as first_view_at,
        min(case when event_type = 'cart' then event_at end) as first_cart_at,
        max(case when event_type = 'cart' then event_at end) as last_cart_at,
        max(case when event_type = 'purchase' then event_at end)
            as last_purchase_at

    from product_events
    group by 1, 2, 3, 4

)

select * from steps
