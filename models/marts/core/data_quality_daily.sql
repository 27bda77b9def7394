{#-
    Accepted and rejected raw rows per event day and outcome, for a data
    quality tile: one row per event_date and outcome, where outcome is
    'accepted' or a reject reason. event_date is null for rows whose
    timestamp could not be parsed.
-#}
with

classified as (

    select * from {{ ref("int_events_classified") }}

),

counted as (

    select
        cast(event_at as date) as event_date,
        coalesce(reject_reason, 'accepted') as outcome,
        count(*) as row_count

    from classified
    group by 1, 2

),

with_shares as (

    select
        event_date,
        outcome,
        outcome = 'accepted' as is_accepted,
        row_count,
        cast(row_count as double)
        / sum(row_count) over (partition by event_date) as share_of_day

    from counted

)

select * from with_shares
