{#-
    Privacy: with the var pseudonymize_customer_ids on, customer ids leave
    the cleaning layer as a keyed hash (HMAC-SHA256, 32 hex characters) with
    the key from the environment variable CUSTOMER_ANALYTICS_PSEUDONYM_KEY.
    With the var off every macro here returns its input unchanged, e.g.
        {{ pseudonymize_customer_id("customer_id") }} as customer_id,
        {{ privacy_mask_raw_values("raw_values", "customer_id") }}
            as raw_values,
        {{ privacy_event_id("raw_values") }} as event_id,

    The key never passes through Jinja (compiled SQL, target/ and logs would
    keep it): on DuckDB the hashing runs in SQL functions that the dbt-duckdb
    plugin customer_analytics_ml.duckdb_plugin registers and that read the
    key themselves. Another adapter needs its own keyed-hash function; until
    it has one, the build stops when the var is on.
-#}

{#- True when the var is on; accepts booleans and the text true/false. -#}
{% macro privacy_is_on() -%}
    {%- set value = var("pseudonymize_customer_ids") -%}
    {%- if value in [true, false] -%}
        {{ return(value) }}
    {%- endif -%}
    {%- set text = value | string | trim | lower -%}
    {%- if text in ["true", "false"] -%}
        {{ return(text == "true") }}
    {%- endif -%}
    {{ exceptions.raise_compiler_error(
        "The var pseudonymize_customer_ids must be true or false, got '"
        ~ value ~ "'."
    ) }}
{%- endmacro %}

{#- The customer id, or its keyed hash when the var is on. -#}
{% macro pseudonymize_customer_id(expression) -%}
    {%- if not privacy_is_on() -%}
        {{ return(expression) }}
    {%- endif -%}
    {{ return(adapter.dispatch(
        "pseudonymize_customer_id", "customer_analytics"
    )(expression)) }}
{%- endmacro %}

{% macro default__pseudonymize_customer_id(expression) -%}
    {{ privacy_unsupported_adapter() }}
{%- endmacro %}

{% macro duckdb__pseudonymize_customer_id(expression) -%}
    {%- do privacy_require_key() -%}
    customer_analytics_pseudonym({{ expression }})
{%- endmacro %}

{#-
    A raw row's JSON text with the customer id (`customer_id_expression`,
    the raw trimmed id) replaced by its keyed hash when the var is on.
-#}
{% macro privacy_mask_raw_values(
    raw_values_expression, customer_id_expression
) -%}
    {%- if not privacy_is_on() -%}
        {{ return(raw_values_expression) }}
    {%- endif -%}
    {{ return(adapter.dispatch(
        "privacy_mask_raw_values", "customer_analytics"
    )(raw_values_expression, customer_id_expression)) }}
{%- endmacro %}

{% macro default__privacy_mask_raw_values(
    raw_values_expression, customer_id_expression
) -%}
    {{ privacy_unsupported_adapter() }}
{%- endmacro %}

{% macro duckdb__privacy_mask_raw_values(
    raw_values_expression, customer_id_expression
) -%}
    {%- do privacy_require_key() -%}
    customer_analytics_mask_raw_values(
        {{ raw_values_expression }}, {{ customer_id_expression }}
    )
{%- endmacro %}

{#-
    The event id of a raw row: its md5, or with the var on the md5 of a
    secret derived from the key followed by the row. An unkeyed hash of a
    row that holds the raw customer id would give the id away: guess ids,
    rebuild the row from its visible columns, compare. The secret is
    computed once per query, so keyed ids cost no more than plain ones.
-#}
{% macro privacy_event_id(raw_values_expression) -%}
    {%- if not privacy_is_on() -%}
        {{ return("md5(" ~ raw_values_expression ~ ")") }}
    {%- endif -%}
    {{ return(adapter.dispatch(
        "privacy_event_id", "customer_analytics"
    )(raw_values_expression)) }}
{%- endmacro %}

{% macro default__privacy_event_id(raw_values_expression) -%}
    {{ privacy_unsupported_adapter() }}
{%- endmacro %}

{% macro duckdb__privacy_event_id(raw_values_expression) -%}
    {%- do privacy_require_key() -%}
    md5(customer_analytics_event_id_salt() || {{ raw_values_expression }})
{%- endmacro %}

{#-
    Stop the build unless the plugin is registered and the key is set. Runs
    only when dbt executes (there is no database while it parses).
-#}
{% macro privacy_require_key() -%}
    {%- if not execute -%}
        {{ return("") }}
    {%- endif -%}
    {%- set registered = run_query(
        "select count(*) from duckdb_functions() where function_name"
        ~ " = 'customer_analytics_pseudonym_key_status'"
    ).columns[0].values()[0] -%}
    {%- if registered == 0 -%}
        {{ exceptions.raise_compiler_error(
            "pseudonymize_customer_ids is on, but the SQL functions that "
            ~ "hash customer ids are not registered. Add the dbt-duckdb "
            ~ "plugin to the output in profiles/profiles.yml:\n"
            ~ "      plugins:\n"
            ~ "        - module: customer_analytics_ml.duckdb_plugin"
        ) }}
    {%- endif -%}
    {%- set status = run_query(
        "select customer_analytics_pseudonym_key_status()"
    ).columns[0].values()[0] -%}
    {%- if status == "missing" -%}
        {{ exceptions.raise_compiler_error(
            "pseudonymize_customer_ids is on, but the environment variable "
            ~ "CUSTOMER_ANALYTICS_PSEUDONYM_KEY is not set. Set it to a "
            ~ "secret of at least 16 characters (keep it out of the "
            ~ "repository), e.g. from `python -c \"import secrets; "
            ~ "print(secrets.token_hex(32))\"`, or turn the var off."
        ) }}
    {%- elif status == "too_short" -%}
        {{ exceptions.raise_compiler_error(
            "pseudonymize_customer_ids is on, but the environment variable "
            ~ "CUSTOMER_ANALYTICS_PSEUDONYM_KEY is shorter than 16 "
            ~ "characters; a short key lets anyone who guesses it recompute "
            ~ "the hashes. Use a longer random secret."
        ) }}
    {%- endif -%}
{%- endmacro %}

{% macro privacy_unsupported_adapter() -%}
    {{ exceptions.raise_compiler_error(
        "pseudonymize_customer_ids is on, but the keyed hash of customer ids "
        ~ "exists only for DuckDB (SQL functions registered by the plugin "
        ~ "customer_analytics_ml.duckdb_plugin), not for the adapter '"
        ~ adapter.type() ~ "'. Register a keyed-hash function there and add "
        ~ "a " ~ adapter.type() ~ "__ version of these macros, or turn the var "
        ~ "off."
    ) }}
{%- endmacro %}
