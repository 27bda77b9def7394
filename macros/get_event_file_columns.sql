{#-
    The column names of the raw event file(s) at `path`, read at compile time.
    Stops the build with a message naming the path and the var to change when
    nothing matches. At parse time (no database yet) it returns [].
-#}
{% macro get_event_file_columns(path) -%}
    {{ return(adapter.dispatch("get_event_file_columns", "customer_analytics")(path)) }}
{%- endmacro %}

{% macro duckdb__get_event_file_columns(path) -%}
    {%- if not execute -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set matched = run_query("select count(*) from glob('" ~ path ~ "')").columns[0].values()[0] -%}
    {%- if matched == 0 -%}
        {{ exceptions.raise_compiler_error(
            "No input file matches events_path '" ~ path ~ "' (relative to "
            ~ "the project directory). Point the var events_path at a CSV, "
            ~ "gzipped CSV or Parquet file or glob, e.g. "
            ~ "--vars '{events_path: exports/events.csv}'."
        ) }}
    {%- endif -%}
    {%- if path.lower().endswith(".parquet") -%}
        {%- set probe = "select * from read_parquet('" ~ path ~ "', union_by_name = true)" -%}
    {%- else -%}
        {%- set probe = "select * from read_csv('" ~ path ~ "', header = true, all_varchar = true, union_by_name = true, null_padding = true, strict_mode = false)" -%}
    {%- endif -%}
    {%- set described = run_query("describe " ~ probe) -%}
    {{ return(described.columns[0].values() | list) }}
{%- endmacro %}
