{#-
    get_event_file_columns(path)
    The column names of the raw event file(s) at `path`, read at compile time
    with the same options read_events_file uses. Stops the build with a
    message naming the path and the var to change when nothing matches. At
    parse time (no database yet) it returns [].
-#}
{% macro get_event_file_columns(path) -%}
    {{ return(adapter.dispatch(
        "get_event_file_columns", "customer_analytics"
    )(path)) }}
{%- endmacro %}

{% macro default__get_event_file_columns(path) -%}
    {{ exceptions.raise_compiler_error(
        "get_event_file_columns has no implementation for the "
        ~ adapter.type() ~ " adapter yet; see read_events_file."
    ) }}
{%- endmacro %}

{% macro duckdb__get_event_file_columns(path) -%}
    {%- if not execute -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set quoted_path = "'" ~ path | replace("'", "''") ~ "'" -%}
    {%- set matched = run_query(
        "select count(*) from glob(" ~ quoted_path ~ ")"
    ).columns[0].values()[0] -%}
    {%- if matched == 0 -%}
        {{ exceptions.raise_compiler_error(
            "No input file matches events_path '" ~ path ~ "' (a relative "
            ~ "path is read from the directory dbt runs in). Point the var "
            ~ "events_path at a CSV, gzipped CSV or Parquet file or glob, e.g. "
            ~ "--vars '{events_path: exports/events.csv}'."
        ) }}
    {%- endif -%}
    {%- if is_parquet_path(path) -%}
        {#- the union of the files' columns, in order of first appearance -#}
        {%- set columns = [] -%}
        {%- for file in parquet_file_schemas(path) -%}
            {%- for column in file.columns -%}
                {%- if column.name not in columns -%}
                    {%- do columns.append(column.name) -%}
                {%- endif -%}
            {%- endfor -%}
        {%- endfor -%}
        {{ return(columns) }}
    {%- endif -%}
    {%- set described = run_query(
        "describe select * from read_csv(" ~ quoted_path ~ ", "
        ~ events_csv_options() ~ ")"
    ) -%}
    {#- the reader's own file name column is not a column of the file -#}
    {%- set columns = [] -%}
    {%- for column in described.columns[0].values() -%}
        {%- if column != "_source_file" -%}
            {%- do columns.append(column) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(columns) }}
{%- endmacro %}
