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
-#}
with

sessionized as (

    select * from {{ ref("int_events_sessionized") }}

),

order_lines as (

    select * from {{ ref("int_order_lines") }}

),

product_events as (

    select * from sessionized
    where product_id is not null

),

ranked_attributes as (

    -- each event's rank, newest first, for each descriptive column it has
    select
        product_id,
        product_name,
        category,
        brand,
        row_number() over (
            partition by product_id
            order by
                case when product_name is null then 1 else 0 end,
                event_at desc,
                event_id desc
        ) as name_rank,
        row_number() over (
            partition by product_id
            order by
                case when category is null then 1 else 0 end,
                event_at desc,
                event_id desc
        ) as category_rank,
        row_number() over (
            partition by product_id
            order by
                case when brand is null then 1 else 0 end,
                event_at desc,
                event_id desc
        ) as brand_rank

    from product_events

),

latest_attributes as (

    select
        product_id,
        max(case when name_rank = 1 then product_name end) as product_name,
        max(case when category_rank = 1 then category end) as category,
        max(case when brand_rank = 1 then brand end) as brand

    from ranked_attributes
    group by 1

),

event_counts as (

    select
        product_id,

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

sales as (

    select
        product_id,

        sum(case when not is_return then quantity else 0 end)
            as purchased_item_count,
        sum(case when is_return then quantity else 0 end)
            as returned_item_count,
        sum(case when not is_return then line_revenue else 0 end)
            as gross_revenue,
        sum(case when is_return then line_revenue else 0 end)
            as returned_revenue,
        count(distinct case when not is_return then order_id end)
            as order_count

    from order_lines
    where product_id is not null
    group by 1

),

session_steps as (

    -- per session and product: when it was first viewed
    select
        session_id,
        product_id,
        min(case when event_type = 'view' then event_at end) as first_view_at

    from product_events
    group by 1, 2

),

session_carts as (

    select
        product_events.session_id,
        product_events.product_id,
        min(product_events.event_at) as first_cart_at,
        min(
            case
                when product_events.event_at >= session_steps.first_view_at
                    then product_events.event_at
            end
        ) as first_cart_after_view_at

    from product_events
    inner join session_steps
        on
            product_events.session_id = session_steps.session_id
            and product_events.product_id = session_steps.product_id
    where product_events.event_type = 'cart'
    group by 1, 2

),

session_purchases as (

    select
        product_events.session_id,
        product_events.product_id

    from product_events
    inner join session_carts
        on
            product_events.session_id = session_carts.session_id
            and product_events.product_id = session_carts.product_id
    where
        product_events.event_type = 'purchase'
        and product_events.event_at >= session_carts.first_cart_at
    group by 1, 2

),

session_funnel as (

    select
        session_steps.product_id,

        count(session_steps.first_view_at) as viewed_session_count,
        count(session_carts.first_cart_after_view_at)
            as viewed_then_carted_session_count,
        count(session_carts.first_cart_at) as carted_session_count,
        count(session_purchases.session_id)
            as carted_then_purchased_session_count

    from session_steps
    left join session_carts
        on
            session_steps.session_id = session_carts.session_id
            and session_steps.product_id = session_carts.product_id
    left join session_purchases
        on
            session_steps.session_id = session_purchases.session_id
            and session_steps.product_id = session_purchases.product_id
    group by 1

),

final as (

    select
        event_counts.product_id,
        latest_attributes.product_name,
        latest_attributes.category,
        latest_attributes.brand,
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
    inner join latest_attributes
        on event_counts.product_id = latest_attributes.product_id
    inner join session_funnel
        on event_counts.product_id = session_funnel.product_id
    left join sales
        on event_counts.product_id = sales.product_id

)

select * from final
