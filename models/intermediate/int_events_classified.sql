{#-
    Every raw row of the input, parsed into canonical types and classified:
    reject_reason is null for a clean event and otherwise names the first
    problem found, in the precedence order of the seed reject_reasons. One row
    per raw row; fct_events and rejected_events split it, so the two always
    add up to the input.

    Rules stated once:
    - Event types match the seed event_type_synonyms ignoring case and
      surrounding spaces.
    - Quantity: blank means 1. A return's quantity is taken as its absolute
      value (cancellation lines carry negative quantities).
    - event_id is the md5 of the raw row's values, so it does not depend on
      file names, row numbers or row order; an exact duplicate row shares its
      first copy's raw values and is rejected as duplicate_event. Columns
      with no value are left out of raw_values, so neither depends on the
      columns other files of a glob have.
    - raw_values is kept for rejected rows only (null for a clean event).
    - Numeric and date vars are checked first (validate_project_vars): a bad
      value stops the build with a message naming the var.

    Incremental: a run classifies only the input files from the first new,
    vanished or otherwise changed file (in file name order) onwards and
    keeps the rows of the files before it (macros/classified_incremental.sql
    says which changes it sees and which need --full-refresh). A row of a
    reclassified file is a duplicate_event when a kept file or an earlier
    row of the reclassified ones has the same raw values, exactly as in a
    full refresh. A daily file costs its own rows instead of the whole
    input: at 10 million events this model took 38 s on every run.
-#}
{{ validate_project_vars() }}
{{ config(
    materialized=classified_materialization(),
    incremental_strategy="append",
    on_schema_change="fail",
    pre_hook="{{ classified_forget_rebuilt_files(
        this, var('events_path')
    ) }}"
) }}
{%- set events_format = var("events_format") | lower -%}
{#- An events_format with no staging model stops dbt before anything runs,
    with "depends on a node named 'stg_<events_format>__events' which was
    not found" (or "disabled"): that names the file to write for a new shape.
-#}
{%- set staged_model = "stg_" ~ events_format ~ "__events" -%}

{%- set plan = classified_files_plan(this, var("events_path")) %}

with

staged as (

    select * from {{ ref(staged_model) }}
    {%- if is_incremental() and plan.keep %}
    where source_file in {{ classified_file_literals(plan.rebuild) }}
    {%- endif %}

),

file_stamps as (

    -- each classified file's size and modification time now, so that a
    -- later run sees when it was rewritten in place
    {{ classified_file_stamps_cte(plan.rebuild, var("events_path")) }}

),

event_type_synonyms as (

    select
        lower(trim(source_value)) as source_value,
        event_type
    from {{ ref("event_type_synonyms") }}

),

{% if is_incremental() %}

earlier_copies as (

    -- copies of a reclassified row in the kept files (the pre-hook has
    -- deleted the others); they come first in file order
    select
        event_id,
        count(*) as earlier_copy_count

    from {{ this }}
    where event_id in (
        select {{ privacy_event_id("raw_values") }} from staged
    )
    group by 1

),

{% endif %}

parsed as (

    select
        staged.*,

        {{ parse_timestamp_utc(
            "staged.event_at_text", var("source_timezone")
        ) }} as event_at,
        event_type_synonyms.event_type,
        {{ dbt.safe_cast("staged.unit_price_text", "double") }} as unit_price,
        {{ dbt.safe_cast("staged.quantity_text", "double") }}
            as quantity_number,
        row_number() over (
            partition by staged.raw_values
            order by staged.source_file, staged.source_row_number
        ) as copy_number,
        {{ "coalesce(earlier_copies.earlier_copy_count, 0)"
            if is_incremental() else "0" }} as earlier_copy_count

    from staged
    left join event_type_synonyms
        on
            lower(trim(staged.event_type_text))
            = event_type_synonyms.source_value
    {%- if is_incremental() %}
    left join earlier_copies
        on
            {{ privacy_event_id("staged.raw_values") }}
            = earlier_copies.event_id
    {%- endif %}

),

classified as (

    select
        *,
        case
            when customer_id is null and not allows_guests
                then 'missing_customer_id'
            when event_at is null
                then 'unparseable_timestamp'
            when
                event_at > {{ dbt.dateadd(
                    "hour",
                    var("future_tolerance_hours"),
                    current_timestamp_utc()
                ) }}
                then 'future_timestamp'
            when event_type is null
                then 'unknown_event_type'
            when unit_price_text is not null and unit_price is null
                then 'invalid_price'
            -- NaN compares greater than any number, so it fails here too.
            when unit_price < 0 or unit_price > 1e12
                then 'invalid_price'
            when unit_price is null and event_type in ('purchase', 'return')
                then 'invalid_price'
            when quantity_number = 0
                then 'zero_quantity'
            when quantity_text is not null and quantity_number is null
                then 'invalid_quantity'
            when abs(quantity_number) > 1e12
                then 'invalid_quantity'
            when quantity_number != floor(quantity_number)
                then 'invalid_quantity'
            when quantity_number < 0 and event_type != 'return'
                then 'invalid_quantity'
            when copy_number + earlier_copy_count > 1
                then 'duplicate_event'
        end as reject_reason

    from parsed

),

stamped as (

    select
        classified.*,
        file_stamps.source_file_stamp

    from classified
    left join file_stamps
        on classified.source_file = file_stamps.source_file

),

final as (

    select
        {{ privacy_event_id("raw_values") }} as event_id,
        source_file,
        source_file_stamp,
        source_row_number,
        -- rejected rows only: rejected_events shows them, and nothing reads
        -- a clean event's (its values are the parsed columns; the staging
        -- view still has them). At 10 million events writing the table
        -- took 49 of this model's 109 CPU s, 34 without the clean rows' JSON.
        case when reject_reason is not null then raw_values end as raw_values,
        reject_reason,

        customer_id,
        event_type,
        event_at,
        product_id,
        product_name,
        category,
        brand,
        unit_price,
        case
            when reject_reason is not null then null
            when quantity_number is null then 1
            else cast(abs(quantity_number) as bigint)
        end as quantity,
        order_id,
        source_session_id,
        search_query,
        country,
        is_merchandise,
        customer_id is null as is_guest

    from stamped

)

select * from final
