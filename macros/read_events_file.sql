{#-
    read_events_file(path)
    Table expression that reads the raw event file(s) at `path` with every
    column as text, plus `_source_file` and `_source_row_number`. CSV,
    gzipped CSV and Parquet are told apart by extension; the files of one
    glob are combined by column name (a column missing from a file is null).

    `_source_row_number` is the 1-based data record within its file. For a
    CSV that is the record after the header, counted as the CSV reader sees
    them: a quoted field that spans several lines is one record, and blank
    lines are not counted, so it can differ from the text line number. For
    Parquet it is the file's row number, plus one.

    Usage: select * from {{ read_events_file(var("events_path")) }}
-#}
{% macro read_events_file(path) -%}
    {{ return(adapter.dispatch(
        "read_events_file", "customer_analytics"
    )(path)) }}
{%- endmacro %}

{% macro default__read_events_file(path) -%}
    {{ exceptions.raise_compiler_error(
        "read_events_file has no implementation for the " ~ adapter.type()
        ~ " adapter yet. Add a " ~ adapter.type() ~ "__read_events_file macro "
        ~ "(and " ~ adapter.type() ~ "__get_event_file_columns) that returns "
        ~ "every column as text plus _source_file and _source_row_number."
    ) }}
{%- endmacro %}

{% macro duckdb__read_events_file(path) -%}
    {#- also stops the build, naming the var, when no file matches -#}
    {%- set columns = get_event_file_columns(path) -%}
    {%- set quoted_path = "'" ~ path | replace("'", "''") ~ "'" -%}
    {%- if is_parquet_path(path) %}
    (
        -- One select per file, unioned by column name: read as one scan,
        -- DuckDB would give every file the first file's column types, so a
        -- float would widen to double (0.1 becoming 0.10000000149011612)
        -- and a zone-less timestamp would be read in the session TimeZone.
        {%- for file in parquet_file_schemas(path) %}
        {%- set own_row_number = "file_row_number"
            in file.columns | map(attribute="name") | list %}
        select
            {%- for column in file.columns %}
            {{ parquet_value_as_text(column.name, column.type) }}
                as {{ adapter.quote(column.name) }},
            {%- endfor %}
            _source_file,
            {%- if own_row_number %}
            -- the file has a column named file_row_number, which the reader's
            -- own option would clash with; the scan keeps file order, so
            -- counting rows as they stream gives the same number
            row_number() over () as _source_row_number
            {%- else %}
            file_row_number + 1 as _source_row_number
            {%- endif %}
        from read_parquet(
            '{{ file.file | replace("'", "''") }}',
            filename = '_source_file',
            file_row_number = {{ (not own_row_number) | lower }}
        )
        {%- if not loop.last %}
        union all by name
        {%- endif %}
        {%- endfor %}
    )
    {%- else %}
    (
        -- The CSV scan keeps file order (the reader runs single-threaded, see
        -- duckdb__events_csv_options, and preserve_insertion_order is on by
        -- default), so numbering rows as they stream gives record order.
        with numbered as (
            select
                *,
                row_number() over () as _scan_position
            from read_csv(
                {{ quoted_path }}, {{ events_csv_options() }}
            )
        )

        select
            {%- for column in columns %}
            {{ adapter.quote(column) }},
            {%- endfor %}
            _source_file,
            _scan_position
            - min(_scan_position) over (partition by _source_file)
            + 1 as _source_row_number
        from numbered
    )
    {%- endif %}
{%- endmacro %}

{#-
    parquet_file_schemas(path)
    One entry per Parquet file matching `path`, in file name order:
    {"file": ..., "columns": [{"name": ..., "type": ...}, ...]}, with the
    column types DuckDB reads from that file. [] at parse time.
-#}
{% macro parquet_file_schemas(path) -%}
    {%- if not execute -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set files = run_query(
        "select file from glob('" ~ path | replace("'", "''")
        ~ "') order by file"
    ).columns[0].values() -%}
    {%- set schemas = [] -%}
    {%- for file in files -%}
        {%- set described = run_query(
            "describe select * from read_parquet('"
            ~ file | replace("'", "''") ~ "')"
        ) -%}
        {%- set columns = [] -%}
        {%- for row in described.rows -%}
            {%- do columns.append({"name": row[0], "type": row[1]}) -%}
        {%- endfor -%}
        {%- do schemas.append({"file": file, "columns": columns}) -%}
    {%- endfor -%}
    {{ return(schemas) }}
{%- endmacro %}

{#-
    A typed Parquet value as the text a CSV export would hold. An instant
    (timestamp with time zone) is written in UTC with an explicit +00:00, so
    neither the text nor the event_id built from it depends on the session
    TimeZone; everything else is DuckDB's plain cast, which writes the
    shortest text that reads back as the same value (0.1 stays 0.1).
-#}
{% macro parquet_value_as_text(column_name, column_type) -%}
    {%- set quoted = adapter.quote(column_name) -%}
    {%- if column_type | upper == "TIMESTAMP WITH TIME ZONE" -%}
        cast(timezone('UTC', {{ quoted }}) as varchar) || '+00:00'
    {%- else -%}
        cast({{ quoted }} as varchar)
    {%- endif -%}
{%- endmacro %}

{#- True when `path` names Parquet file(s), by extension. -#}
{% macro is_parquet_path(path) -%}
    {{ return(path.lower().endswith(".parquet")) }}
{%- endmacro %}

{#-
    events_csv_options()
    The read_csv options used both to probe a CSV's columns and to read it,
    so the two always agree.
    - all_varchar: values arrive exactly as written ("00123" stays "00123",
      20-digit ids are not rounded); parsing happens in int_events_classified.
    - escape '"': a doubled quote inside a quoted field is one quote, as in
      RFC 4180 and as pandas, Excel and most exports write it. The sniffer
      otherwise may pick no escape and keep both quotes.
    - null_padding + strict_mode off: a short row gets nulls and a bad row is
      loaded as well as it can be, so it is quarantined instead of stopping
      the build. null_padding with quoted newlines needs the single-threaded
      reader (parallel = false); it also keeps the row order.
    - filename under its own name, so a data column called "filename" is kept.
    - encoding from the var events_encoding (default utf-8).
-#}
{% macro events_csv_options() -%}
    {{ return(adapter.dispatch(
        "events_csv_options", "customer_analytics"
    )()) }}
{%- endmacro %}

{% macro duckdb__events_csv_options() -%}
    header = true, all_varchar = true, escape = '"', null_padding = true,
                strict_mode = false, parallel = false, union_by_name = true,
                filename = '_source_file', encoding = '{{ events_encoding() }}'
{%- endmacro %}

{#-
    Spark's CSV options with the same meaning: header, every column as text
    (no schema inference), RFC 4180 quotes, short rows padded with nulls
    (PERMISSIVE), quoted line breaks (multiLine) and the encoding. The
    files of a glob must share a header (enforceSchema off stops the build
    otherwise).
-#}
{% macro spark__events_csv_options() -%}
    {%- set encodings = {
        "utf-8": "UTF-8", "utf-16": "UTF-16", "latin-1": "ISO-8859-1"
    } -%}
    header 'true', inferSchema 'false', escape '"', mode 'PERMISSIVE',
    multiLine 'true', enforceSchema 'false',
    encoding '{{ encodings[events_encoding()] }}'
{%- endmacro %}

{#-
    events_encoding()
    The var events_encoding as the CSV reader spells it (utf-8, utf-16 or
    latin-1; common aliases such as UTF8 or ISO-8859-1 are accepted), or a
    build-stopping error naming the var and the allowed values.
-#}
{% macro events_encoding() -%}
    {%- set value = var("events_encoding", "utf-8") | string | trim -%}
    {%- set aliases = {
        "utf-8": "utf-8", "utf8": "utf-8",
        "utf-16": "utf-16", "utf16": "utf-16",
        "latin-1": "latin-1", "latin1": "latin-1",
        "iso-8859-1": "latin-1", "iso8859-1": "latin-1",
    } -%}
    {%- if value | lower not in aliases -%}
        {{ exceptions.raise_compiler_error(
            "The var events_encoding is '" ~ value ~ "'; the CSV reader "
            ~ "knows utf-8, utf-16 and latin-1. Convert a file in another "
            ~ "encoding (e.g. windows-1252) to UTF-8 first."
        ) }}
    {%- endif -%}
    {{ return(aliases[value | lower]) }}
{%- endmacro %}

{#-
    Spark: the file(s) at `path`, registered as the external table
    staging.events_file_source (no data is copied; the table is re-pointed
    at `path` on every run), read with every column as text.

    - CSV: the header row names the columns; a doubled quote is one quote;
      quoted fields may span lines (multiLine, which also reads each file
      whole and in order, so numbering a file's rows as they are scanned
      gives record order, as on DuckDB); a short row gets nulls. The files
      of a glob must share one header: a file whose header differs stops
      the build (enforceSchema off).
    - Parquet: the files' columns by name (mergeSchema); typed values are
      cast to Spark's text, an instant written in UTC with +00:00 as on
      DuckDB. _source_row_number comes from the reader's row index.
    - _source_file is the path as the var events_path spells it (see
      spark_source_file), so it matches DuckDB's.

    XXX: DuckDB sniffs the CSV delimiter; Spark reads comma-separated files
    only. Doubles and decimals in Parquet input may be written differently
    from DuckDB's text in exponent form (1.0E10 against 10000000000.0),
    which changes raw_values and event_id but not the parsed values.
    Converting such files to CSV or to text columns removes the difference.
-#}
{% macro spark__read_events_file(path) -%}
    {%- set columns = get_event_file_columns(path) -%}
    {%- set source_table = spark_events_source_table() -%}
    {%- set source_file = spark_source_file(
        path, "_metadata.file_path"
    ) -%}
    {%- if is_parquet_path(path) %}
    (
        select
            {%- for column in spark_columns_with_types(source_table) %}
            {{ spark_parquet_value_as_text(column.name, column.type) }}
                as {{ adapter.quote(column.name) }},
            {%- endfor %}
            {{ source_file }} as _source_file,
            _metadata.row_index + 1 as _source_row_number
        from {{ source_table }}
    )
    {%- else %}
    (
        with scanned as (
            select
                *,
                {{ source_file }} as _source_file,
                monotonically_increasing_id() as _scan_position
            from {{ source_table }}
        )

        select
            {%- for column in columns %}
            {{ adapter.quote(column) }},
            {%- endfor %}
            _source_file,
            cast(row_number() over (
                partition by _source_file order by _scan_position
            ) as bigint) as _source_row_number
        from scanned
    )
    {%- endif %}
{%- endmacro %}

{% macro spark_events_source_table() -%}
    {{ return(generate_schema_name("staging", none) ~ ".events_file_source") }}
{%- endmacro %}

{#-
    spark_register_events_file(path)
    (Re)creates the external table spark_events_source_table() over `path`
    and returns its name. Runs only when dbt executes.
-#}
{% macro spark_register_events_file(path) -%}
    {%- set source_table = spark_events_source_table() -%}
    {#- Spark would read a relative location from its warehouse folder;
        DuckDB reads it from the directory dbt runs in, which is the JVM's
        working directory in session mode -#}
    {%- set full_path = path -%}
    {%- if not path.startswith("/") and ":/" not in path -%}
        {%- set working_directory = run_query(
            "select java_method('java.lang.System', 'getProperty', "
            ~ "'user.dir')"
        ).columns[0].values()[0] -%}
        {%- set full_path = working_directory ~ "/" ~ path -%}
    {%- endif -%}
    {%- set quoted_path = "'" ~ full_path | replace("\\", "\\\\")
        | replace("'", "\\'") ~ "'" -%}
    {%- do run_query(
        "create schema if not exists " ~ generate_schema_name("staging", none)
    ) -%}
    {%- do run_query("drop table if exists " ~ source_table) -%}
    {%- if is_parquet_path(path) -%}
        {%- do run_query(
            "create table " ~ source_table ~ " using parquet options ("
            ~ "path " ~ quoted_path ~ ", mergeSchema 'true')"
        ) -%}
    {%- else -%}
        {%- do run_query(
            "create table " ~ source_table ~ " using csv options ("
            ~ "path " ~ quoted_path ~ ", " ~ events_csv_options() ~ ")"
        ) -%}
    {%- endif -%}
    {{ return(source_table) }}
{%- endmacro %}

{#- [{"name": ..., "type": ...}] of a Spark table, in column order. -#}
{% macro spark_columns_with_types(relation) -%}
    {%- if not execute -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set columns = [] -%}
    {%- for row in run_query("describe table " ~ relation).rows -%}
        {%- if row[0] is none or row[0] == "" or row[0].startswith("#") -%}
            {%- break -%}
        {%- endif -%}
        {%- do columns.append({"name": row[0], "type": row[1]}) -%}
    {%- endfor -%}
    {{ return(columns) }}
{%- endmacro %}

{#- Spark's counterpart of parquet_value_as_text. -#}
{% macro spark_parquet_value_as_text(column_name, column_type) -%}
    {%- set quoted = adapter.quote(column_name) -%}
    {%- if column_type | lower == "timestamp" -%}
        {#- an instant; the session time zone is UTC (profiles.yml) -#}
        cast({{ quoted }} as string) || '+00:00'
    {%- else -%}
        cast({{ quoted }} as string)
    {%- endif -%}
{%- endmacro %}

{#-
    spark_source_file(path, uri)
    The file a row came from, spelled as DuckDB spells it: `path` itself
    when it names one file; for a glob, the matched file's path starting
    from the glob's directory as written (data/exports/a.csv for
    data/exports/*.csv). `uri` is Spark's file URI (file:/abs/path, with
    %-escapes), which is decoded first.
-#}
{% macro spark_source_file(path, uri) -%}
    {%- set glob_at = [] -%}
    {%- for character in path -%}
        {%- if character in "*?[{" and glob_at | length == 0 -%}
            {%- do glob_at.append(loop.index0) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if glob_at | length == 0 -%}
        {{ return("'" ~ path | replace("\\", "\\\\") | replace("'", "\\'")
            ~ "'") }}
    {%- endif -%}
    {%- set head = path[:glob_at[0]] -%}
    {%- set prefix = head[:head.rfind("/") + 1] -%}
    {%- set remainder = path[prefix | length:] -%}
    {%- set decoded = "url_decode(replace(" ~ uri ~ ", '+', '%2B'))" -%}
    {%- if prefix == "" -%}
        {{ return("substring_index(" ~ decoded ~ ", '/', -"
            ~ (remainder.count("/") + 1) ~ ")") }}
    {%- endif -%}
    {%- set quoted_prefix = "'" ~ prefix | replace("\\", "\\\\")
        | replace("'", "\\'") ~ "'" -%}
    {%- if prefix.startswith("/") -%}
        {{ return("substring(" ~ decoded ~ ", instr(" ~ decoded ~ ", "
            ~ quoted_prefix ~ "))") }}
    {%- endif -%}
    {{ return("substring(" ~ decoded ~ ", instr(" ~ decoded ~ ", '/' || "
        ~ quoted_prefix ~ ") + 1)") }}
{%- endmacro %}
