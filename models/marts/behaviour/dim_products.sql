{#-
    Products with their activity and sales: one row per product_id seen in
    any clean event.

    - product_name, category, brand: from the product's most recent event
      that has one (ties: the larger event_id), so renamed products show
      their current name.
    - Counts are events by type; item counts are units; money follows the
      revenue rule (merchandise only; non-merchandise products show 0).
    - view_to_cart_rate: of the sessions that viewed the product, the share
      that carted it at the same time as or after the first view.
      cart_to_purchase_rate: of the sessions that carted it, the share that
      purchased it at the same time as or after the first cart. Both are
      null when nothing was viewed (or carted), e.g. on Online Retail input.

    Built with aggregations only (no window sorts): the latest descriptive
    values in two passes (when each was last seen, then its value at that
    time), and the per-session funnel from
    int_session_products, one row per (session, product) pair with the
    times of its steps, using "there is a cart at or after the first view"
    = "the last cart is at or after the first view" (and the same for
    purchases after the first cart). Grouping the events into those pairs
    here took half of this model's time on every run; int_session_products
    keeps them incrementally (at 10 million events this model's query went
    from 3.7 s to 1.8 s).

    A table rebuilt on every run, not incremental like fct_sessions and
    dim_customers: one day of new events touches about half of all
    products, and rebuilding just those (from their whole history, found
    with sessionized_batch) measured 15 s of CPU at 10 million events
    against 5.6 s for the whole table.
-#}
with

product_events as (

    -- the columns the counts need, of events with a product. Each step
    -- below reads int_events_sessionized itself, with only its own columns:
    -- DuckDB materializes a CTE that is used twice, and copying every wide
    -- row of the event table was most of this model's time: at 10 million
    -- events a daily run took 89 s before, 26 s after (2 loaded cores)
    select
        product_id,
        event_id,
        event_type,
        event_at,
        product_name,
        category,
        brand,
        is_merchandise

    from {{ ref("int_events_sessionized") }}
    where product_id is not null

),

order_lines as (

    select
        product_id,
        order_id,
        quantity,
        line_revenue,
        is_return

    from {{ ref("int_order_lines") }}

),

event_counts as (

    select
        product_id,

        max(case when product_name is not null then event_at end)
            as product_name_seen_at,
        max(case when category is not null then event_at end)
            as category_seen_at,
        max(case when brand is not null then event_at end) as brand_seen_at,
        max(case when is_merchandise then 1 else 0 end) = 1
            as is_merchandise,
        min(event_at) as first_seen_at,
        max(event_at) as last_seen_at,
        count(case when event_type = 'view' then 1 end) as view_count,
        count(case when event_type = 'cart' then 1 end) as cart_count,
        count(case when event_type = 'purchase' then 1 end) as purchase_count,
        count(case when event_type = 'return' then 1 end) as return_count

    from product_events
    group by 1

),

latest_times as (

    -- each product's times of its latest name, category and brand (most
    -- often one time for all three)
    select
        product_id,
        product_name_seen_at as seen_at
    from event_counts
    union
    select
        product_id,
        category_seen_at as seen_at
    from event_counts
    union
    select
        product_id,
        brand_seen_at as seen_at
    from event_counts

),

latest_values as (

    -- the descriptive values on the events found above (ties on time: the
    -- larger event_id), from a second, narrow pass that keeps only events
    -- at those times. Ordering every event by (event_at, event_id) in the
    -- pass above cost twice as much (at 10 million events 1.6 s against
    -- 1.0 s for both passes). The events are matched on product and time
    -- together, so the scan drops the others before reading their names:
    -- with the times as a filter after a join on product alone, this pass
    -- read and joined every event (at 10 million events 3.5 CPU s for the
    -- whole model, against 2.3-2.9)
    select
        events.product_id,

        {{ behaviour_last_by(
            "case when events.event_at = event_counts.product_name_seen_at"
            ~ " then events.product_name end",
            ["events.event_id"]
        ) }} as product_name,
        {{ behaviour_last_by(
            "case when events.event_at = event_counts.category_seen_at"
            ~ " then events.category end",
            ["events.event_id"]
        ) }} as category,
        {{ behaviour_last_by(
            "case when events.event_at = event_counts.brand_seen_at"
            ~ " then events.brand end",
            ["events.event_id"]
        ) }} as brand

    from {{ ref("int_events_sessionized") }} as events
    inner join latest_times
        on
            events.product_id = latest_times.product_id
            and events.event_at = latest_times.seen_at
    inner join event_counts
        on events.product_id = event_counts.product_id
    group by 1

),

sales as (

    select
        product_id,

        sum(case when not is_return then quantity else 0 end)
            as purchased_item_count,
        sum(case when is_return then quantity else 0 end)
            as returned_item_count,
        {{ behaviour_money_sum(
            "case when not is_return then line_revenue else 0 end"
        ) }} as gross_revenue,
        {{ behaviour_money_sum(
            "case when is_return then line_revenue else 0 end"
        ) }} as returned_revenue,
        count(distinct case when not is_return then order_id end)
            as order_count

    from order_lines
    where product_id is not null
    group by 1

),

session_steps as (

    select * from {{ ref("int_session_products") }}

),

session_funnel as (

    select
        product_id,

        count(first_view_at) as viewed_session_count,
        count(case when last_cart_at >= first_view_at then 1 end)
            as viewed_then_carted_session_count,
        count(first_cart_at) as carted_session_count,
        count(case when last_purchase_at >= first_cart_at then 1 end)
            as carted_then_purchased_session_count

    from session_steps
    group by 1

),

final as (

    select
        event_counts.product_id,
        latest_values.product_name,
        latest_values.category,
        latest_values.brand,
        event_counts.is_merchandise,

        event_counts.first_seen_at,
        event_counts.last_seen_at,
        event_counts.view_count,
        event_counts.cart_count,
        event_counts.purchase_count,
        event_counts.return_count,
        coalesce(sales.order_count, 0) as order_count,
        cast(coalesce(sales.purchased_item_count, 0) as bigint)
            as purchased_item_count,
        cast(coalesce(sales.returned_item_count, 0) as bigint)
            as returned_item_count,
        cast(coalesce(sales.gross_revenue, 0) as double) as gross_revenue,
        cast(coalesce(sales.returned_revenue, 0) as double)
            as returned_revenue,
        cast(
            coalesce(sales.gross_revenue, 0)
            - coalesce(sales.returned_revenue, 0) as double
        ) as net_revenue,
        session_funnel.viewed_session_count,
        session_funnel.carted_session_count,
        cast(session_funnel.viewed_then_carted_session_count as double)
        / nullif(session_funnel.viewed_session_count, 0) as view_to_cart_rate,
        cast(session_funnel.carted_then_purchased_session_count as double)
        / nullif(session_funnel.carted_session_count, 0)
            as cart_to_purchase_rate

    from event_counts
    inner join session_funnel
        on event_counts.product_id = session_funnel.product_id
    left join latest_values
        on event_counts.product_id = latest_values.product_id
    left join sales
        on event_counts.product_id = sales.product_id

)

select * from final
