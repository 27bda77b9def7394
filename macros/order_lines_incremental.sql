{#-
    behaviour_order_id(order_id, session_id)
    The order a purchase or return line belongs to: the input's order id,
    else "session-" and the session_id (clickstreams: one order per
    session). int_order_lines computes it with this macro, and so does its
    pre-hook when it looks for the orders that changed.
-#}
{% macro behaviour_order_id(order_id, session_id) -%}
    coalesce({{ order_id }}, 'session-' || {{ session_id }})
{%- endmacro %}


{#-
    order_lines_forget_changed_orders(sessionized)
    Pre-hook of int_order_lines, a reader of int_events_sessionized's
    batches (macros/sessions_incremental.sql, "Batches"). Deletes every
    line of each order that may have changed since the batch the table
    has taken in (all lines when it has no record); the model then inserts
    the lines of every order the table does not hold. Whole orders go,
    because an order's flags are computed over all its lines. An order
    changed when one of its lines was
    - written in a later batch: new, or sessionized again, perhaps into
      another session and so another session order. Both the order the
      table holds the line in and the order it belongs to now are
      deleted; or
    - possibly deleted: its key has a forgotten event in a later batch.
      The forgotten events' ids are not kept, so every order of such a
      key that the table holds is deleted.
    Lines written in a later batch are found by sessionized_batch alone,
    without comparing rows. Their keys are not needed: rows of a touched
    key that were not written again are unchanged, and so are their
    orders unless a line of a later batch joins them.
-#}
{% macro order_lines_forget_changed_orders(sessionized) -%}
    {%- if not (sessions_keeps_batches() and is_incremental()) -%}
        {{ return("") }}
    {%- endif -%}
    {%- set consumed = sessions_reader_batch(sessionized) -%}
    delete from {{ this }}
    {%- if consumed is not none %}
    where order_id in (
        select order_id from {{ this }}
        where event_id in (
            select event_id from {{ sessionized }}
            where
                {{ sessions_unread_rows(consumed) }}
                and event_type in ('purchase', 'return')
        )
        union
        select order_id from {{ this }}
        where sessionization_key in (
            select sessionization_key
            from {{ sessions_bookkeeping_relation(
                sessionized, "forgotten_events"
            ) }}
            where {{ sessions_unread_rows(consumed) }}
        )
        union
        select {{ behaviour_order_id("order_id", "session_id") }}
        from {{ sessionized }}
        where
            {{ sessions_unread_rows(consumed) }}
            and event_type in ('purchase', 'return')
    )
    {%- endif %}
{%- endmacro %}
