{#-
    Orders for BI: one row per order id in int_order_lines, which states
    how order ids are formed and which orders count. Guest orders are
    included with a null customer_id.

    - ordered_at: the order's first purchase line; for a cancellation (no
      purchase lines) its first return line.
    - item_count and distinct_product_count describe the merchandise
      purchased; returned_item_count the merchandise units returned.
    - Money follows the revenue rule (merchandise only). Each return line
      is subtracted once, from the order it names: net_revenue =
      gross_revenue - returned_revenue, negative for a cancellation.
    - customer_order_number numbers a customer's counted orders 1, 2, ... by
      ordered_at, then order_id; null for orders that do not count and for
      guest orders.
    - An order id shared by several customers (bad input) is given to the
      smallest customer id.
-#}
with

order_lines as (

    select * from {{ ref("int_order_lines") }}

),

orders as (

    select
        order_id,
        is_cancelled_order as is_cancelled,
        is_counted_order,
        min(customer_id) as customer_id,

        min(case when not is_return then event_at end) as first_purchase_at,
        min(event_at) as first_line_at,
        sum(
            case when not is_return and is_merchandise then quantity else 0 end
        ) as item_count,
        count(
            distinct case
                when not is_return and is_merchandise then product_id
            end
        ) as distinct_product_count,
        sum(
            case when is_return and is_merchandise then quantity else 0 end
        ) as returned_item_count,
        {{ behaviour_money_sum(
            "case when not is_return then line_revenue else 0 end"
        ) }} as gross_revenue,
        {{ behaviour_money_sum(
            "case when is_return then line_revenue else 0 end"
        ) }} as returned_revenue

    from order_lines
    -- the two flags are the same on every line of an order
    group by 1, 2, 3

),

numbered as (

    select
        order_id,
        customer_id,

        coalesce(first_purchase_at, first_line_at) as ordered_at,
        cast(item_count as bigint) as item_count,
        distinct_product_count,
        cast(returned_item_count as bigint) as returned_item_count,
        cast(gross_revenue as double) as gross_revenue,
        cast(returned_revenue as double) as returned_revenue,
        cast(gross_revenue - returned_revenue as double) as net_revenue,
        is_cancelled,
        is_counted_order,
        -- bigint on every engine (Spark's row_number() is a 32-bit int)
        cast(
            case
                when is_counted_order and customer_id is not null
                    then row_number() over (
                        partition by customer_id, is_counted_order
                        order by
                            coalesce(first_purchase_at, first_line_at),
                            order_id
                    )
            end as bigint
        ) as customer_order_number

    from orders

)

select * from numbered
