-- Every raw row is either a clean event or quarantined, never both, never
-- neither: raw rows = fct_events rows + rejected_events rows. Returns a row
-- (and fails the build) when the counts differ.
{%- set staged_model = "stg_" ~ var("events_format") ~ "__events" %}

with

raw_rows as (

    select count(*) as row_count from {{ ref(staged_model) }}

),

clean_rows as (

    select count(*) as row_count from {{ ref("fct_events") }}

),

rejected_rows as (

    select count(*) as row_count from {{ ref("rejected_events") }}

)

select
    raw_rows.row_count as raw_row_count,
    clean_rows.row_count as clean_row_count,
    rejected_rows.row_count as rejected_row_count
from raw_rows
cross join clean_rows
cross join rejected_rows
where raw_rows.row_count != clean_rows.row_count + rejected_rows.row_count
