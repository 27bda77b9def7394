{{ config(enabled=var("events_format") | lower == "online_retail") }}
{#-
    Order lines in the UCI Online Retail layout, one row per raw line, mapped
    onto the canonical event columns as text. Parsing and validation happen
    once for every shape in int_events_classified.

    - Every line is a purchase, except invoices starting with "C", which are
      cancellations: event type return (their quantity is negative in the
      file; the canonical quantity is its absolute value).
    - A blank CustomerID is a guest order, kept with a null customer_id.
    - Stock codes listed in the seed non_merchandise_stock_codes (postage,
      fees, manual adjustments, discounts, ...) get is_merchandise = false.
-#}
{%- set path = var("events_path") -%}
{%- set columns = get_event_file_columns(path) -%}
{{ require_event_columns(
    columns,
    ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate",
     "UnitPrice", "CustomerID", "Country"],
    path,
    "online_retail"
) }}

with

source as (

    select * from {{ read_events_file(path) }}

),

non_merchandise as (

    select upper(stock_code) as stock_code
    from {{ ref("non_merchandise_stock_codes") }}

),

renamed as (

    select
        source._source_file as source_file,
        source._source_row_number as source_row_number,
        {{ raw_values_json(columns) }} as raw_values,

        {{ clean_text(pick_column(columns, "CustomerID")) }} as customer_id,
        true as allows_guests,
        {{ clean_text(pick_column(columns, "InvoiceDate")) }} as event_at_text,
        case
            when upper(trim({{ pick_column(columns, "InvoiceNo") }})) like 'C%'
                then 'return'
            when {{ clean_text(pick_column(columns, "InvoiceNo")) }} is not null
                then 'purchase'
        end as event_type_text,
        {{ clean_text(pick_column(columns, "StockCode")) }} as product_id,
        {{ clean_text(pick_column(columns, "Description")) }} as product_name,
        cast(null as {{ dbt.type_string() }}) as category,
        cast(null as {{ dbt.type_string() }}) as brand,
        {{ clean_text(pick_column(columns, "UnitPrice")) }} as unit_price_text,
        {{ clean_text(pick_column(columns, "Quantity")) }} as quantity_text,
        {{ clean_text(pick_column(columns, "InvoiceNo")) }} as order_id,
        cast(null as {{ dbt.type_string() }}) as source_session_id,
        cast(null as {{ dbt.type_string() }}) as search_query,
        {{ clean_text(pick_column(columns, "Country")) }} as country,
        non_merchandise.stock_code is null as is_merchandise

    from source
    left join non_merchandise
        on
            upper(trim(source.{{ pick_column(columns, "StockCode") }}))
            = non_merchandise.stock_code

)

select * from renamed
