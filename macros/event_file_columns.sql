{#-
    Helpers for staging models that map a raw file's columns onto the
    canonical layout. Column names match case-insensitively and ignore
    surrounding spaces and a UTF-8 byte-order mark.
-#}

{% macro normalize_column_name(name) -%}
    {{ return(name | replace("\ufeff", "") | trim | lower) }}
{%- endmacro %}

{#- The file's column spelled like `wanted` (quoted), or a typed null.
    Files of one glob may spell it differently (`event_at` in one,
    `event_at` with a trailing tab in another), which the reader keeps as
    separate columns, each empty on the other files' rows: then the first
    of them that has a value, in column order. -#}
{% macro pick_column(columns, wanted) -%}
    {%- set found = [] -%}
    {%- for column in columns -%}
        {%- if normalize_column_name(column) == wanted | lower -%}
            {%- do found.append(adapter.quote(column)) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if not found -%}
        {{ return("cast(null as " ~ dbt.type_string() ~ ")") }}
    {%- elif found | length == 1 -%}
        {{ return(found[0]) }}
    {%- endif -%}
    {{ return("coalesce(" ~ found | join(", ") ~ ")") }}
{%- endmacro %}

{#-
    Stop the build when a required column is missing, naming it and the
    file.
-#}
{% macro require_event_columns(columns, required, path, shape) -%}
    {%- if execute -%}
        {%- set present = [] -%}
        {%- for column in columns -%}
            {%- do present.append(normalize_column_name(column)) -%}
        {%- endfor -%}
        {%- set missing = [] -%}
        {%- for wanted in required -%}
            {%- if wanted | lower not in present -%}
                {%- do missing.append(wanted) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if missing -%}
            {{ exceptions.raise_compiler_error(
                "The " ~ shape ~ " input '" ~ path ~ "' has no column "
                ~ missing | join(", ") ~ " (required: " ~ required | join(", ")
                ~ "; found: " ~ present | join(", ") ~ "). Fix the file's "
                ~ "header, or set the var events_format to the shape it has."
            ) }}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#-
    Every original column that has a value, as one JSON object in text, in
    file column order. Columns with no value (an empty CSV field, or a
    column only another file of the glob has, or the phantom column a stray
    extra field in one row adds to every row) are left out, so a row's raw
    values, and the event_id hashed from them, depend only on the row
    itself.
-#}
{% macro raw_values_json(columns) -%}
    {{ return(adapter.dispatch(
        "raw_values_json", "customer_analytics"
    )(columns)) }}
{%- endmacro %}

{#- Spark's to_json leaves null fields out by itself. -#}
{% macro default__raw_values_json(columns) -%}
    to_json(named_struct(
    {%- for column in columns %}
        '{{ normalize_column_name(column) | replace("'", "''") }}',
        {{ adapter.quote(column) }}
        {%- if not loop.last %},{% endif %}
    {%- endfor %}
    ))
{%- endmacro %}

{#-
    DuckDB's json_object keeps nulls, so the object is put together here,
    with the same text json_object gives ({"a":"x","b":"y"}, no spaces):
    concat_ws skips the null entries.
-#}
{% macro duckdb__raw_values_json(columns) -%}
    '{' || concat_ws(','
    {%- for column in columns %},
        case
            when {{ adapter.quote(column) }} is not null
                then to_json('{{ normalize_column_name(column)
                    | replace("'", "''") }}')
                || ':' || to_json({{ adapter.quote(column) }})
        end
    {%- endfor %}
    ) || '}'
{%- endmacro %}

{#- Trimmed text with blanks as null. -#}
{% macro clean_text(expression) -%}
    nullif(trim({{ expression }}), '')
{%- endmacro %}
