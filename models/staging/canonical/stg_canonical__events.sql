{{ config(enabled=var("events_format") | lower == "canonical") }}
{#-
    Events exported by the shop in the project's own layout (see the README,
    "Point it at your data", "The three shapes"). event_at, event_type and customer_id are
    required; every other column is optional and read as null when absent.
    is_merchandise may be given as true/false; blank or unrecognised values
    read as true. Columns beyond these are kept in raw_values only.
-#}
{%- set path = var("events_path") -%}
{%- set columns = get_event_file_columns(path) -%}
{{ require_event_columns(
    columns, ["event_at", "event_type", "customer_id"], path, "canonical"
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

        {{ clean_text(pick_column(columns, "customer_id")) }} as customer_id,
        false as allows_guests,
        {{ clean_text(pick_column(columns, "event_at")) }} as event_at_text,
        {{ clean_text(pick_column(columns, "event_type")) }} as event_type_text,
        {{ clean_text(pick_column(columns, "product_id")) }} as product_id,
        {{ clean_text(pick_column(columns, "product_name")) }} as product_name,
        {{ clean_text(pick_column(columns, "category")) }} as category,
        {{ clean_text(pick_column(columns, "brand")) }} as brand,
        {{ clean_text(pick_column(columns, "price")) }} as unit_price_text,
        {{ clean_text(pick_column(columns, "quantity")) }} as quantity_text,
        {{ clean_text(pick_column(columns, "order_id")) }} as order_id,
        {{ clean_text(pick_column(columns, "session_id")) }}
            as source_session_id,
        {{ clean_text(pick_column(columns, "search_query")) }} as search_query,
        {{ clean_text(pick_column(columns, "country")) }} as country,
        coalesce(
            {{ dbt.safe_cast(
                clean_text(pick_column(columns, "is_merchandise")),
                "boolean"
            ) }},
            true
        ) as is_merchandise

    from source

)

select * from renamed
