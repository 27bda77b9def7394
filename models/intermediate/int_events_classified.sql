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
    - Numeric and date vars are checked first (validate_project_vars): a bad
      value stops the build with a message naming the var.
-#}
{{ validate_project_vars() }}
{%- set events_format = var("events_format") | lower -%}
{#- An events_format with no staging model stops dbt before anything runs,
    with "depends on a node named 'stg_<events_format>__events' which was
    not found" (or "disabled"): that names the file to write for a new shape.
-#}
{%- set staged_model = "stg_" ~ events_format ~ "__events" -%}

with

staged as (

    select * from {{ ref(staged_model) }}

),

event_type_synonyms as (

    select
        lower(trim(source_value)) as source_value,
        event_type
    from {{ ref("event_type_synonyms") }}

),

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
        ) as copy_number

    from staged
    left join event_type_synonyms
        on
            lower(trim(staged.event_type_text))
            = event_type_synonyms.source_value

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
            when copy_number > 1
                then 'duplicate_event'
        end as reject_reason

    from parsed

),

final as (

    select
        {{ privacy_event_id("raw_values") }} as event_id,
        source_file,
        source_row_number,
        raw_values,
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

    from classified

)

select * from final
