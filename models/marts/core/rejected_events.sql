{#-
    The quarantine: one row per raw row that did not become an event, with
    its original values as text, where it came from, and why it was rejected.

    Incremental by input file (rejected_forget_changed_files in
    macros/events_incremental.sql): the pre-hook compares each file's
    rejected rows here and in int_events_classified by count and a
    checksum of their ids, reasons, row numbers and parsed times, and
    deletes the files that differ; the model then copies the rejected rows
    of every file this table does not hold. Rebuilding the table on every
    run read the raw values of all 10 million classified rows at 10
    million events (1.8 CPU s of every daily run); the comparison reads
    the narrow columns of the rejected rows only.
-#}
{{ config(
    materialized=events_materialization(),
    incremental_strategy="append",
    on_schema_change="fail",
    pre_hook="{{ rejected_forget_changed_files(
        ref('int_events_classified')
    ) }}"
) }}

with

classified as (

    select * from {{ ref("int_events_classified") }}
    {%- if is_incremental() %}
    -- the files with rejected rows that this table does not hold: new
    -- ones, and the ones the pre-hook deleted
    where source_file in (
        select source_file from {{ ref("int_events_classified") }}
        where reject_reason is not null
        except
        select source_file from {{ this }}
    )
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
