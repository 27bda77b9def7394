{{ config(enabled=var("events_format") | lower == "rees46") }}
{#-
    A clickstream in the REES46 multi-category-store layout, one row per raw
    event, mapped onto the canonical event columns as text. event_time
    carries a " UTC" suffix; category is the dotted category_code, falling
    back to the numeric category_id when the code is blank. user_id is
    required: REES46 has no guest events.
-#}
{%- set path = var("events_path") -%}
{%- set columns = get_event_file_columns(path) -%}
{{ require_event_columns(
    columns,
    ["event_time", "event_type", "product_id", "category_id", "category_code",
     "brand", "price", "user_id", "user_session"],
    path,
    "rees46"
) }}

with

source as (

    select * from {{ read_events_file(path) }}

),

renamed as (

    select
        _source_file as source_file,
        _source_row_number as source_row_number,
        {{ raw_values_json(columns) }} as raw_values,

        {{ clean_text(pick_column(columns, "user_id")) }} as customer_id,
        false as allows_guests,
        {{ clean_text(pick_column(columns, "event_time")) }} as event_at_text,
        {{ clean_text(pick_column(columns, "event_type")) }} as event_type_text,
        {{ clean_text(pick_column(columns, "product_id")) }} as product_id,
        cast(null as {{ dbt.type_string() }}) as product_name,
        coalesce(
            {{ clean_text(pick_column(columns, "category_code")) }},
            {{ clean_text(pick_column(columns, "category_id")) }}
        ) as category,
        {{ clean_text(pick_column(columns, "brand")) }} as brand,
        {{ clean_text(pick_column(columns, "price")) }} as unit_price_text,
        cast(null as {{ dbt.type_string() }}) as quantity_text,
        cast(null as {{ dbt.type_string() }}) as order_id,
        {{ clean_text(pick_column(columns, "user_session")) }}
            as source_session_id,
        cast(null as {{ dbt.type_string() }}) as search_query,
        cast(null as {{ dbt.type_string() }}) as country,
        true as is_merchandise

    from source

)

select * from renamed
