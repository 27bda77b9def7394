{#-
    bookkeeping_table_exists(relation)
    Whether the table `relation` exists in the warehouse right now. Asks
    the database, not adapter.get_relation: dbt's relation cache does not
    see tables that hooks created earlier in the same invocation, such as
    the session and fingerprint books.
-#}
{% macro bookkeeping_table_exists(relation) -%}
    {%- set found = run_query(
        "select count(*) from information_schema.tables"
        ~ " where table_catalog = '" ~ relation.database ~ "'"
        ~ " and table_schema = '" ~ relation.schema ~ "'"
        ~ " and table_name = '" ~ relation.identifier ~ "'"
    ).columns[0].values()[0] -%}
    {{ return(found > 0) }}
{%- endmacro %}
