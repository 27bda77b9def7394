{#-
    Table expression that reads the raw event file(s) at `path` with every
    column as text, plus `_source_file` and `_source_row_number` (1-based data
    row within its file, header excluded). CSV, gzipped CSV and Parquet are
    told apart by extension. Files of one glob are combined by column name.
-#}
{% macro read_events_file(path) -%}
    {{ return(adapter.dispatch("read_events_file", "customer_analytics")(path)) }}
{%- endmacro %}

{% macro duckdb__read_events_file(path) -%}
    {%- set columns = get_event_file_columns(path) -%}
    {%- if path.lower().endswith(".parquet") %}
    (
        select
            {%- for column in columns %}
            cast("{{ column }}" as varchar) as "{{ column }}",
            {%- endfor %}
            filename as _source_file,
            file_row_number + 1 as _source_row_number
        from read_parquet(
            '{{ path }}', filename = true, file_row_number = true,
            union_by_name = true
        )
    )
    {%- else %}
    (
        -- DuckDB keeps the file order of a CSV scan (preserve_insertion_order
        -- is on), so numbering the rows as they stream gives line order.
        with numbered as (
            select
                *,
                row_number() over () as _scan_position
            from read_csv(
                '{{ path }}', header = true, all_varchar = true,
                filename = true, union_by_name = true, auto_detect = true,
                null_padding = true, strict_mode = false
            )
        )

        select
            {%- for column in columns %}
            "{{ column }}",
            {%- endfor %}
            filename as _source_file,
            _scan_position
            - min(_scan_position) over (partition by filename)
            + 1 as _source_row_number
        from numbered
    )
    {%- endif %}
{%- endmacro %}
