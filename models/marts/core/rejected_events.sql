{#-
    The quarantine: one row per raw row that did not become an event, with
    its original values as text, where it came from, and why it was rejected.

    Incremental by input file (macros/events_incremental.sql): a run
    compares each file's rejected rows here and in int_events_classified
    by count and a checksum of row number, reason and raw-row hash, and
    copies again only the files that differ. A raw row's other columns
    follow from its raw values, which the raw-row hash stands for. Kept
    files cost a scan of reject_reason and no more: rebuilt whole, this
    table read every raw row's columns on each run.
-#}
{{ config(
    materialized=events_materialization(),
    incremental_strategy="append",
    on_schema_change="fail",
    pre_hook="{{ events_forget_changed_groups(
        this,
        'source_file',
        {
            'relation': this,
            'hashed': ['source_row_number', 'reject_reason', 'raw_row_hash'],
        },
        {
            'relation': ref('int_events_classified'),
            'hashed': ['source_row_number', 'reject_reason', 'event_id'],
            'where': 'reject_reason is not null',
        },
    ) }}"
) }}

with

classified as (

    select * from {{ ref("int_events_classified") }}
    {%- if is_incremental() %}
    -- the files the pre-hook deleted, and new files
    where source_file not in (select distinct source_file from {{ this }})
    {%- endif %}

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
