{#-
    The quarantine: one row per raw row that did not become an event, with
    its original values as text, where it came from, and why it was rejected.
-#}
with

classified as (

    select * from {{ ref("int_events_classified") }}

),

rejected as (

    select
        source_file,
        source_row_number,
        reject_reason,
        {{ privacy_mask_raw_values("raw_values", "customer_id") }}
            as raw_values,
        event_id as raw_row_hash,
        event_at as parsed_event_at

    from classified
    where reject_reason is not null

)

select * from rejected
