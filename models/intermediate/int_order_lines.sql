{#-
    Purchase and return lines with the order they belong to: one row per
    purchase or return event. fct_orders and every mart that counts orders
    read the order rules from here.

    - order_id is the input's order id. Clickstreams have none: there the
      purchases of one session form one order, with the deterministic id
      "session-" followed by the session_id. A return without an order id
      joins the order of its session the same way.
    - A return line with an order id that has purchases (a refund of that
      order) is subtracted from that order. A return whose order id has no
      purchases, such as an Online Retail cancellation invoice ("C..."),
      forms an order of its own that is_cancelled_order.
    - is_counted_order: the order has at least one merchandise purchase
      line. Only these count as orders (order counts, order numbers,
      average order value). Cancellations and invoices of only postage,
      fees or adjustments are not counted as orders, but a cancellation's
      merchandise lines still reduce revenue.
    - line_revenue follows the revenue rule: unit_price × quantity for
      merchandise lines, 0 for non-merchandise lines (postage, fees, ...).
      It is positive for returns too; is_return says which way it counts.
      The rule lives in the macro behaviour_line_revenue, which fct_sessions
      uses too.
-#}
with

sessionized as (

    select * from {{ ref("int_events_sessionized") }}

),

lines as (

    select
        event_id,
        coalesce(order_id, 'session-' || session_id) as order_id,
        customer_id,
        session_id,
        event_type,
        event_at,
        product_id,
        product_name,
        category,
        brand,
        unit_price,
        quantity,
        is_merchandise,

        event_type = 'return' as is_return,
        {{ behaviour_line_revenue("is_merchandise", "unit_price", "quantity") }}
            as line_revenue

    from sessionized
    where event_type in ('purchase', 'return')

),

with_order_flags as (

    select
        *,
        max(case when not is_return then 1 else 0 end)
            over (partition by order_id)
        = 0 as is_cancelled_order,
        max(case when not is_return and is_merchandise then 1 else 0 end)
            over (partition by order_id)
        = 1 as is_counted_order

    from lines

)

select * from with_order_flags
