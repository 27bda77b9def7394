{#-
    Purchase and return lines with the order they belong to: one row per
    purchase or return event.

    - order_id is the input's order id. Clickstreams have none: there the
      purchases of one session form one order, with the deterministic id
      "session-" followed by the session_id.
    - A return line with an order id that has purchases (a refund of that
      order) is subtracted from that order. A return whose order id has no
      purchases, such as an Online Retail cancellation invoice ("C..."),
      forms an order of its own that is_cancelled and is not counted as an
      order anywhere.
    - line_revenue follows the revenue rule: unit_price × quantity for
      merchandise lines, 0 for non-merchandise lines (postage, fees, ...).
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
        case
            when is_merchandise then unit_price * quantity
            else 0
        end as line_revenue

    from sessionized
    where event_type in ('purchase', 'return')

)

select * from lines
