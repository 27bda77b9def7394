{#-
    The canonical clean event table that every other mart reads: one row per
    accepted event. Rows that failed a check are in rejected_events instead.

    A table, not a view of int_events_classified, although storing it again
    costs time (13 s at 10 million events, on every run): a view would apply
    the pseudonym function (registered by the dbt plugin) at read time, so a
    BI tool could not read it, and it would name the warehouse's catalog,
    so it breaks in the published copy and wherever the file is attached
    under another name.
-#}
with

classified as (

    select * from {{ ref("int_events_classified") }}

),

accepted as (

    select
        event_id,
        {{ pseudonymize_customer_id("customer_id") }} as customer_id,
        event_type,
        event_at,
        product_id,
        product_name,
        category,
        brand,
        unit_price,
        quantity,
        order_id,
        source_session_id,
        search_query,
        country,
        is_merchandise

    from classified
    where reject_reason is null

)

select * from accepted
