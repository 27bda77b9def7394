{#-
    A deterministic text key built from several expressions, e.g.
        {{ hash_key(["customer_id", "cast(event_at as varchar)"]) }}
    Nulls hash differently from empty strings, and a separator keeps
    ("ab", "c") apart from ("a", "bc").
-#}
{% macro hash_key(expressions) -%}
    {{ return(adapter.dispatch("hash_key", "customer_analytics")(expressions)) }}
{%- endmacro %}

{% macro default__hash_key(expressions) -%}
    md5(concat_ws('|'
    {%- for expression in expressions %},
        coalesce(cast({{ expression }} as {{ dbt.type_string() }}), '\x00null')
    {%- endfor %}
    ))
{%- endmacro %}

{#-
    Spark reads a backslash in a string literal as an escape, so it is
    doubled to give the same text (and the same hash) as the default.
-#}
{% macro spark__hash_key(expressions) -%}
    md5(concat_ws('|'
    {%- for expression in expressions %},
        coalesce(cast({{ expression }} as string), '\\x00null')
    {%- endfor %}
    ))
{%- endmacro %}
