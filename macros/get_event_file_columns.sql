{#-
    get_event_file_columns(path)
    The column names of the raw event file(s) at `path`, read at compile time
    with the same options read_events_file uses. Stops the build with a
    message naming the path and the var to change when nothing matches, or
    when a CSV is not in the encoding of the var events_encoding (see
    check_events_encoding). At parse time (no database yet) it returns [].
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
        {#- the union of the files' columns, in order of first appearance;
            names that differ only in case are one column, as DuckDB's
            union by name merges them (listed twice, a kept file's raw
            values and event ids changed when a later file spelled a
            column in other case) -#}
        {%- set columns = [] -%}
        {%- set seen = [] -%}
        {%- for file in parquet_file_schemas(path) -%}
            {%- for column in file.columns -%}
                {%- if column.name | lower not in seen -%}
                    {%- do seen.append(column.name | lower) -%}
                    {%- do columns.append(column.name) -%}
                {%- endif -%}
            {%- endfor -%}
        {%- endfor -%}
        {{ return(columns) }}
    {%- endif -%}
    {%- do check_events_encoding(quoted_path) -%}
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

{#-
    check_events_encoding(quoted_path)
    With events_encoding utf-8, stops the build with a message naming the
    file and the var when a CSV file is not valid UTF-8 (typically a
    Latin-1 export), instead of DuckDB's "Invalid unicode" dump.

    XXX: the check reads whole files, so it covers only uncompressed files,
    in name order, up to 100 MB in all (about half a second). A bad byte in
    a gzipped file or beyond those 100 MB still stops the build, at
    int_events_classified, with DuckDB's own message ("... is not utf-8
    encoded"); the fix is the same. Checking only the first megabytes of
    each file would need a way to read part of a file, which DuckDB's SQL
    lacks.
-#}
{% macro check_events_encoding(quoted_path) -%}
    {%- if events_encoding() != "utf-8" -%}
        {{ return("") }}
    {%- endif -%}
    {#- listing sizes reads no file content -#}
    {%- set files = run_query(
        "select filename from (select filename, sum(size) over (order by "
        ~ "filename) as running_size from read_blob(" ~ quoted_path ~ ") "
        ~ "where not lower(filename) like '%.gz') "
        ~ "where running_size <= 104857600 order by filename"
    ).columns[0].values() -%}
    {%- if files | length == 0 -%}
        {{ return("") }}
    {%- endif -%}
    {%- set quoted_files = [] -%}
    {%- for file in files -%}
        {%- do quoted_files.append("'" ~ file | replace("'", "''") ~ "'") -%}
    {%- endfor -%}
    {%- set invalid = run_query(
        "select filename from read_blob([" ~ quoted_files | join(", ")
        ~ "]) where try(decode(content)) is null order by filename limit 1"
    ).columns[0].values() -%}
    {%- if invalid | length > 0 -%}
        {{ exceptions.raise_compiler_error(
            "The input file '" ~ invalid[0] ~ "' is not valid UTF-8, the "
            ~ "encoding the var events_encoding names. Exports of the UCI "
            ~ "Online Retail data and from Excel are often Latin-1: build "
            ~ "with --vars '{events_encoding: latin-1}' (or utf-16), or "
            ~ "convert the file to UTF-8."
        ) }}
    {%- endif -%}
{%- endmacro %}

{#-
    On Spark the file(s) are first registered as an external table (see
    spark_register_events_file); its columns are the file's. A CSV's header
    row names them, all read as text.
-#}
{% macro spark__get_event_file_columns(path) -%}
    {%- if not execute -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set source_table = spark_register_events_file(path) -%}
    {%- set described = run_query("describe table " ~ source_table) -%}
    {%- set columns = [] -%}
    {%- for row in described.rows -%}
        {#- partition information, if any, follows an empty or # row -#}
        {%- if row[0] is none or row[0] == "" or row[0].startswith("#") -%}
            {%- break -%}
        {%- endif -%}
        {%- do columns.append(row[0]) -%}
    {%- endfor -%}
    {{ return(columns) }}
{%- endmacro %}
