{#-
    Helpers for staging models that map a raw file's columns onto the
    canonical layout. Column names match case-insensitively and ignore
    surrounding spaces and a UTF-8 byte-order mark.
-#}

{% macro normalize_column_name(name) -%}
    {{ return(name | replace("\ufeff", "") | trim | lower) }}
{%- endmacro %}

{#- The file's column spelled like `wanted` (quoted), or a typed null. -#}
{% macro pick_column(columns, wanted) -%}
    {%- for column in columns -%}
        {%- if normalize_column_name(column) == wanted | lower -%}
            {{ return(adapter.quote(column)) }}
        {%- endif -%}
    {%- endfor -%}
    {{ return("cast(null as " ~ dbt.type_string() ~ ")") }}
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

{#- Every original column and value as one JSON object, text. -#}
{% macro raw_values_json(columns) -%}
    {{ return(adapter.dispatch(
        "raw_values_json", "customer_analytics"
    )(columns)) }}
{%- endmacro %}

{% macro default__raw_values_json(columns) -%}
    to_json(named_struct(
    {%- for column in columns %}
        '{{ normalize_column_name(column) | replace("'", "''") }}',
        {{ adapter.quote(column) }}
        {%- if not loop.last %},{% endif %}
    {%- endfor %}
    ))
{%- endmacro %}

{% macro duckdb__raw_values_json(columns) -%}
    cast(json_object(
    {%- for column in columns %}
        '{{ normalize_column_name(column) | replace("'", "''") }}',
        {{ adapter.quote(column) }}
        {%- if not loop.last %},{% endif %}
    {%- endfor %}
    ) as varchar)
{%- endmacro %}

{#- Trimmed text with blanks as null. -#}
{% macro clean_text(expression) -%}
    nullif(trim({{ expression }}), '')
{%- endmacro %}
