{#-
    Models land in exactly the schema they configure (staging, intermediate,
    marts) instead of dbt's default "<target schema>_<custom schema>", so that
    BI tools and analysts can rely on fixed names. Models without a custom
    schema fall back to the target schema.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
