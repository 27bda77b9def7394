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

    Incremental runs (a reader of int_events_sessionized's batches, like
    fct_sessions; macros/sessions_incremental.sql, "Batches"): the table
    always holds whole orders, every line of an order or none, because
    the order flags are computed over all of an order's lines and an order
    id may span several sessionization keys (an order id shared by two
    customers). The pre-hook (order_lines_forget_changed_orders,
    macros/order_lines_incremental.sql) deletes every order with a line
    written or forgotten in a batch this model has not taken in yet, and
    the model inserts the lines of every order the table does not hold -
    all lines of those orders, so the flags come out as in a full refresh.
    At 10 million events with one new day, a daily run replaces 3,724
    orders (8,045 lines) instead of rebuilding all 720,000 lines: about
    1.5-2.2 s instead of 4.0 s. What is left is mostly reading every
    purchase and return row of int_events_sessionized to find the lines
    of the missing orders.
-#}
{{ config(
    materialized=sessions_materialization(),
    incremental_strategy="append",
    on_schema_change="fail",
    pre_hook="{{ order_lines_forget_changed_orders(
        ref('int_events_sessionized')
    ) }}",
    post_hook="{{ sessions_reader_record(ref('int_events_sessionized')) }}"
) }}
with

sessionized as (

    select * from {{ ref("int_events_sessionized") }}

),

lines as (

    select
        event_id,
        {{ behaviour_order_id("order_id", "session_id") }} as order_id,
        customer_id,
        session_id,
        sessionization_key,
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

{% if is_incremental() %}

missing_lines as (

    -- the lines of the orders the table does not hold: the ones the
    -- pre-hook deleted, and new orders
    select * from lines
    where order_id not in (select order_id from {{ this }})

),

{% endif %}

with_order_flags as (

    select
        *,
        max(case when not is_return then 1 else 0 end)
            over (partition by order_id)
        = 0 as is_cancelled_order,
        max(case when not is_return and is_merchandise then 1 else 0 end)
            over (partition by order_id)
        = 1 as is_counted_order

    from {{ "missing_lines" if is_incremental() else "lines" }}

)

select * from with_order_flags
