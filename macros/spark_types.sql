{#-
    Type names on Spark. The project spells types the DuckDB way in YAML
    (contracts' data_type, the seeds' column_types): varchar, varchar[].
    Spark SQL has no length-less varchar and no "[]" arrays, so on Spark
    these names are translated before they reach SQL:
        varchar, text, char      -> string
        <type>[]                 -> array<type>
    Everything else (bigint, integer, double, boolean, date, timestamp) is
    spelled the same by both engines and passes through unchanged.
-#}
{% macro spark_type_name(data_type) -%}
    {%- set name = data_type | string | trim -%}
    {%- if name.endswith("[]") -%}
        {{ return("array<" ~ spark_type_name(name[:-2]) ~ ">") }}
    {%- endif -%}
    {%- if name | lower in ["varchar", "text", "char", "string"] -%}
        {{ return("string") }}
    {%- endif -%}
    {{ return(name) }}
{%- endmacro %}

{#-
    dbt.cast on Spark, with the type name translated. dbt builds a
    contract's "empty schema" query with it, so the contracts written for
    DuckDB are checked on Spark too.
-#}
{% macro spark__cast(field, type) -%}
    cast({{ field }} as {{ spark_type_name(type) }})
{%- endmacro %}

{#-
    dbt-spark's seed table and row loading (dbt/include/spark/macros/
    materializations/seed.sql), changed only to translate the seeds'
    column_types with spark_type_name (once per seed, not per row).
-#}
{#-
    The Spark type of each seed column, in column order: the seed's
    column_types where given, else the type dbt infers, translated.
-#}
{% macro spark_seed_column_types(model, agate_table) %}
    {%- set column_override = model["config"].get("column_types", {}) -%}
    {%- set types = [] -%}
    {%- for col_name in agate_table.column_names -%}
        {%- set inferred_type = adapter.convert_type(agate_table, loop.index0) -%}
        {%- do types.append(
            spark_type_name(column_override.get(col_name, inferred_type))
        ) -%}
    {%- endfor -%}
    {{ return(types) }}
{% endmacro %}

{% macro spark__create_csv_table(model, agate_table) %}
    {%- set types = spark_seed_column_types(model, agate_table) -%}
    {%- set quote_seed_column = model["config"].get("quote_columns", None) -%}
    {% set sql %}
    create table {{ this.render() }} (
        {%- for col_name in agate_table.column_names -%}
            {{ adapter.quote_seed_column(col_name | string, quote_seed_column) }}
            {{ types[loop.index0] }}
            {%- if not loop.last %}, {% endif -%}
        {%- endfor -%}
    )
    {{ file_format_clause() }}
    {{ location_clause() }}
    {{ comment_clause() }}
    {% endset %}
    {% call statement("_") -%}
        {{ sql }}
    {%- endcall %}
    {{ return(sql) }}
{% endmacro %}

{% macro spark__load_csv_rows(model, agate_table) %}
    {%- set batch_size = get_batch_size() -%}
    {%- set types = spark_seed_column_types(model, agate_table) -%}
    {%- set statements = [] -%}
    {%- for chunk in agate_table.rows | batch(batch_size) -%}
        {%- set bindings = [] -%}
        {%- for row in chunk -%}
            {%- do bindings.extend(row) -%}
        {%- endfor -%}
        {% set sql %}
        insert into {{ this.render() }} values
        {% for row in chunk -%}
            ({%- for type in types -%}
                cast({{ get_binding_char() }} as {{ type }})
                {%- if not loop.last %}, {% endif -%}
            {%- endfor -%})
            {%- if not loop.last %},{% endif %}
        {%- endfor %}
        {% endset %}
        {%- do adapter.add_query(sql, bindings=bindings, abridge_sql_log=True) -%}
        {%- if loop.index0 == 0 -%}
            {%- do statements.append(sql) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(statements[0]) }}
{% endmacro %}
