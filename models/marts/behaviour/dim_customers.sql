{#-
    What each customer did and what they are interested in: one row per
    customer id (guests are left out).

    - Event counts are clean events by type; sessions and orders come from
      fct_sessions and fct_orders. order_count counts counted orders only
      (is_counted_order); net_revenue adds every fct_orders row of the
      customer, cancellations included.
    - average_order_value = net_revenue / order_count; null without orders.
    - average_days_between_orders: days from the first to the last counted
      order divided by order_count - 1; null with fewer than two orders.
    - conversion_rate: converted sessions (with a purchase) / sessions.
    - cart_abandonment_rate: sessions with a cart event but no purchase /
      sessions with a cart event; null when the customer never carted.
    - Interests: top_category and top_brand are the ones with the most
      events of any type; ties go to the alphabetically first.
      top_category_share (top_brand_share) is that category's (brand's)
      share of the customer's events that have a category (brand). All are
      null when no event has a category (brand), as on Online Retail input.
    - country: from the most recent event that has one (ties: the larger
      event_id), taken with behaviour_last_by in the same pass as the
      counts rather than with a window sort.
    - Aggregations only, no window sorts: at 10 million events the three
      windows this model had were about a third of its time.

    Incremental runs rebuild only the customers with a row that
    int_events_sessionized wrote, or forgot, in a batch this model has not
    taken in yet (macros/sessions_incremental.sql, "Batches"): the pre-hook
    deletes their rows and the model computes them again from all their
    events, sessions and orders. A customer's orders change with their own
    events, and with other customers' lines in an order id they share, so
    the customers of every order with a changed line are rebuilt too
    (sessions_changed_customers; a run that rebuilt only the customers
    with changed events kept stale order figures for the others). This
    assumes int_order_lines and fct_orders were built from the same events
    (they are upstream in every run that includes this model). Batches
    that fct_sessions has not taken in yet stay due here as well.
-#}
{{ config(
    materialized=sessions_materialization(),
    incremental_strategy="append",
    on_schema_change="fail",
    pre_hook="{{ sessions_reader_forget_changed_customers(
        ref('int_events_sessionized'), ref('int_order_lines')
    ) }}",
    post_hook="{{ sessions_reader_record(
        ref('int_events_sessionized'), also_after=['fct_sessions']
    ) }}"
) }}
-- depends_on: {{ ref("int_order_lines") }}
{%- set consumed_batch = sessions_reader_batch(
    ref("int_events_sessionized")
) %}
{#- The changed customers, written out where they filter rather than as
    one CTE: DuckDB materializes a CTE that is used more than once, and a
    match with a materialized CTE no longer filters the table scan. -#}
{%- set only_touched = (
    "and customer_id in (" ~ sessions_changed_customers(
        ref("int_events_sessionized"), ref("int_order_lines"), consumed_batch
    ) ~ ")"
    if consumed_batch is not none else ""
) %}
{%- set interest_events = (
    "customer_events" if consumed_batch is not none
    else ref("int_events_sessionized")
) %}
with

customer_events as {{
    materialized_cte() if consumed_batch is not none else ""
}} (

    -- the columns the counts need. In a full build category_events and
    -- brand_events read int_events_sessionized themselves, with only their
    -- own columns: DuckDB materializes a CTE that is used more than once,
    -- and copying every event row for the three steps was most of this
    -- model's time (at 10 million events 47 s before, 13 s after). An
    -- incremental run copies only the touched customers' events (4% of
    -- them for one new day at 10 million events), once, and the three
    -- steps read that copy instead of probing every event three times
    select
        customer_id,
        event_id,
        event_type,
        event_at,
        product_id,
        country,
        category,
        brand

    from {{ ref("int_events_sessionized") }}
    where customer_id is not null {{ only_touched }}

),

sessions as (

    select * from {{ ref("fct_sessions") }}

),

orders as (

    select * from {{ ref("fct_orders") }}

),

event_summary as (

    select
        customer_id,

        min(event_at) as first_seen_at,
        max(event_at) as last_seen_at,
        count(*) as event_count,
        count(case when event_type = 'view' then 1 end) as view_count,
        count(case when event_type = 'cart' then 1 end) as cart_count,
        count(case when event_type = 'remove_from_cart' then 1 end)
            as remove_from_cart_count,
        count(case when event_type = 'purchase' then 1 end) as purchase_count,
        count(case when event_type = 'return' then 1 end) as return_count,
        count(case when event_type = 'search' then 1 end) as search_count,
        count(distinct product_id) as distinct_products,
        {{ behaviour_last_by("country", ["event_at", "event_id"]) }}
            as country

    from customer_events
    group by 1

),

session_summary as (

    select
        customer_id,

        count(*) as session_count,
        count(case when is_converted then 1 end) as converted_session_count,
        count(case when cart_count > 0 then 1 end) as carted_session_count,
        count(case when is_cart_abandoned then 1 end)
            as abandoned_cart_session_count

    from sessions
    where customer_id is not null {{ only_touched }}
    group by 1

),

order_summary as (

    select
        customer_id,

        count(case when is_counted_order then 1 end) as order_count,
        count(case when is_cancelled then 1 end) as cancellation_count,
        min(case when is_counted_order then ordered_at end) as first_order_at,
        max(case when is_counted_order then ordered_at end) as last_order_at,
        {{ behaviour_money_sum("gross_revenue") }} as gross_revenue,
        {{ behaviour_money_sum("returned_revenue") }} as returned_revenue,
        {{ behaviour_money_sum("net_revenue") }} as net_revenue

    from orders
    where customer_id is not null {{ only_touched }}
    group by 1

),

category_events as (

    select
        customer_id,
        category,
        count(*) as event_count

    from {{ interest_events }}
    where customer_id is not null and category is not null
    group by 1, 2

),

top_categories as (

    -- most events first, then alphabetical; also how many there are
    select
        customer_id,

        {{ behaviour_first_by("category", ["-event_count", "category"]) }}
            as top_category,
        cast(max(event_count) as double) / sum(event_count)
            as top_category_share,
        count(*) as distinct_categories

    from category_events
    group by 1

),

brand_events as (

    select
        customer_id,
        brand,
        count(*) as event_count

    from {{ interest_events }}
    where customer_id is not null and brand is not null
    group by 1, 2

),

top_brands as (

    -- most events first, then alphabetical
    select
        customer_id,

        {{ behaviour_first_by("brand", ["-event_count", "brand"]) }}
            as top_brand,
        cast(max(event_count) as double) / sum(event_count)
            as top_brand_share

    from brand_events
    group by 1

),

final as (

    select
        event_summary.customer_id,
        event_summary.country,

        event_summary.first_seen_at,
        event_summary.last_seen_at,
        order_summary.first_order_at,
        order_summary.last_order_at,
        session_summary.session_count,
        session_summary.converted_session_count,
        cast(session_summary.converted_session_count as double)
        / session_summary.session_count as conversion_rate,
        event_summary.event_count,
        event_summary.view_count,
        event_summary.cart_count,
        event_summary.remove_from_cart_count,
        event_summary.purchase_count,
        event_summary.return_count,
        event_summary.search_count,
        coalesce(order_summary.order_count, 0) as order_count,
        coalesce(order_summary.cancellation_count, 0) as cancellation_count,
        cast(coalesce(order_summary.gross_revenue, 0) as double)
            as gross_revenue,
        cast(coalesce(order_summary.returned_revenue, 0) as double)
            as returned_revenue,
        cast(coalesce(order_summary.net_revenue, 0) as double)
            as net_revenue,
        cast(order_summary.net_revenue as double)
        / nullif(order_summary.order_count, 0) as average_order_value,
        {{ behaviour_seconds_between(
            "order_summary.first_order_at", "order_summary.last_order_at"
        ) }}
        / 86400
        / nullif(order_summary.order_count - 1, 0)
            as average_days_between_orders,
        coalesce(top_categories.distinct_categories, 0)
            as distinct_categories,
        event_summary.distinct_products,
        cast(session_summary.abandoned_cart_session_count as double)
        / nullif(session_summary.carted_session_count, 0)
            as cart_abandonment_rate,
        top_categories.top_category,
        top_categories.top_category_share,
        top_brands.top_brand,
        top_brands.top_brand_share

    from event_summary
    inner join session_summary
        on event_summary.customer_id = session_summary.customer_id
    left join order_summary
        on event_summary.customer_id = order_summary.customer_id
    left join top_categories
        on event_summary.customer_id = top_categories.customer_id
    left join top_brands
        on event_summary.customer_id = top_brands.customer_id

)

select * from final
