{#-
    parse_timestamp_utc(text, source_timezone)
    A UTC timestamp (without zone) from event time text, or null when the
    text is not a date-time. Text that ends in an offset (+02:00, -0500, Z,
    " UTC") is converted from that offset; text without one is read in
    `source_timezone`. The result does not depend on the session TimeZone.
    Accepted forms: ISO 8601 (date, date-time with space or "T", optional
    fraction), and month/day/year as in the UCI Online Retail export.
-#}
{% macro parse_timestamp_utc(text, source_timezone) -%}
    {{ return(adapter.dispatch("parse_timestamp_utc", "customer_analytics")(text, source_timezone)) }}
{%- endmacro %}

{% macro duckdb__parse_timestamp_utc(text, source_timezone) -%}
    case
        when regexp_matches(
            {{ text }},
            '\d{2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|UTC|[+-]\d{2}(:?\d{2})?)$'
        )
            then timezone(
                'UTC',
                try_cast(regexp_replace({{ text }}, '\s*UTC$', '+00:00')
                    as timestamptz)
            )
        else timezone(
            'UTC',
            timezone(
                '{{ source_timezone }}',
                coalesce(
                    try_cast({{ text }} as timestamp),
                    try_strptime(
                        {{ text }},
                        ['%m/%d/%Y %H:%M:%S', '%m/%d/%Y %H:%M', '%m/%d/%Y']
                    )
                )
            )
        )
    end
{%- endmacro %}

{#- The current time as a UTC timestamp without zone. -#}
{% macro current_timestamp_utc() -%}
    {{ return(adapter.dispatch("current_timestamp_utc", "customer_analytics")()) }}
{%- endmacro %}

{% macro default__current_timestamp_utc() -%}
    to_utc_timestamp(current_timestamp(), current_timezone())
{%- endmacro %}

{% macro duckdb__current_timestamp_utc() -%}
    timezone('UTC', now())
{%- endmacro %}
