{#-
    parse_timestamp_utc(text, source_timezone)
    A UTC timestamp (without zone) from event time text, or null when the
    text is not a date-time. The result does not depend on the session
    TimeZone.

    - Accepted forms: ISO 8601 (a date, or a date-time with a space or "T",
      optional fraction) and month/day/year as in the UCI Online Retail
      export. The year must have four digits, so words DuckDB would otherwise
      read as timestamps ('epoch', 'infinity') count as unparseable.
    - Text that ends in an offset (+02:00, -0500, +05, Z or " UTC", with or
      without a space before it) is converted from that offset. Offsets run
      from -18:00 to +18:00 with minutes below 60, as Spark reads them;
      text with any other offset is unparseable.
    - Text without one is local time in `source_timezone` (an IANA name; a
      wrong name stops the build with a message naming the var). Around a
      daylight-saving change, a local time that happens twice (the autumn
      hour) is read as the later, standard-time instant, and a local time
      that does not exist (the spring gap) is read with the offset in force
      before the change, i.e. one hour later on the clock: in Europe/London,
      2024-10-27 01:30 is 01:30 UTC and 2024-03-31 01:30 is 01:30 UTC.
    - A time before the year 1 in UTC (the year 0000, or 0001-01-01 with a
      positive offset) counts as unparseable. Both engines would read it (as
      a BC date in DuckDB), but Python's dates cannot hold it, and the
      incremental models' day lists and every Python reader are Python.
-#}
{% macro parse_timestamp_utc(text, source_timezone) -%}
    {%- set parsed = adapter.dispatch(
        "parse_timestamp_utc", "customer_analytics"
    )(text, source_timezone) -%}
    {#- the last microsecond before the year 1: greatest() lifts every
        earlier time (and a null) to it and nullif() turns it into null,
        without writing the parse twice; both engines skip nulls in
        greatest() -#}
    {%- set before_year_one -%}
        (timestamp '0001-01-01' - interval 1 microsecond)
    {%- endset -%}
    {{ return(
        "nullif(greatest(" ~ parsed ~ ", " ~ before_year_one ~ "), "
        ~ before_year_one ~ ")"
    ) }}
{%- endmacro %}

{% macro default__parse_timestamp_utc(text, source_timezone) -%}
    {{ exceptions.raise_compiler_error(
        "parse_timestamp_utc has no implementation for the " ~ adapter.type()
        ~ " adapter yet. Add " ~ adapter.type() ~ "__parse_timestamp_utc "
        ~ "following the rules in macros/timestamps.sql."
    ) }}
{%- endmacro %}

{% macro duckdb__parse_timestamp_utc(text, source_timezone) -%}
    {%- set zone = validate_source_timezone(source_timezone) -%}
    case
        when not regexp_matches(
            {{ text }},
            '^(\d{4}-\d{1,2}-\d{1,2}([ T].*)?|\d{1,2}/\d{1,2}/\d{4}( .*)?)$'
        )
            then null
        when regexp_matches(
            {{ text }},
            '\d{2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|UTC|[+-]((0\d|1[0-7])(:?[0-5]\d)?|18(:?00)?))$'
        )
            then timezone(
                'UTC',
                try_cast(
                    regexp_replace(
                        regexp_replace({{ text }}, '\s*(Z|UTC)$', '+00:00'),
                        '\s+([+-]\d{2}(:?\d{2})?)$',
                        '\1'
                    ) as timestamptz
                )
            )
        -- an offset past 18 hours or with 60 minutes or more: DuckDB would
        -- take it, and read it as local time when cast as a timestamp
        when regexp_matches(
            {{ text }},
            '\d{2}:\d{2}(:\d{2}(\.\d+)?)?\s*[+-]\d{2}(:?\d{2})?$'
        )
            then null
        else timezone(
            'UTC',
            timezone(
                '{{ zone }}',
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

{#-
    Spark: the same rules. Spark's string literals treat a backslash as an
    escape, so the patterns use [0-9] and [ \t] instead of \d and \s. A
    zone-less time is read as UTC wall time (the session time zone is UTC,
    profiles.yml) and then moved from source_timezone to UTC. Spark moves a
    local time in the autumn hour to the earlier (summer-time) instant, so
    the later instant is picked here when it shows the same wall time.
-#}
{% macro spark__parse_timestamp_utc(text, source_timezone) -%}
    {%- set zone = validate_source_timezone(source_timezone) -%}
    {%- set wall -%}
        coalesce(
            cast({{ text }} as timestamp),
            to_timestamp({{ text }}, 'M/d/yyyy H:mm:ss'),
            to_timestamp({{ text }}, 'M/d/yyyy H:mm'),
            to_timestamp({{ text }}, 'M/d/yyyy')
        )
    {%- endset -%}
    case
        when not {{ text }} rlike
            '^([0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([ T].*)?|[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}( .*)?)$'
            then null
        when {{ text }} rlike
            '[0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?[ \t]*(Z|UTC|[+-][0-9]{2}(:?[0-9]{2})?)$'
            then cast(
                regexp_replace(
                    regexp_replace(
                        regexp_replace({{ text }}, '[ \t]*(Z|UTC)$', '+00:00'),
                        '[ \t]*([+-][0-9]{2})$',
                        '$1:00'
                    ),
                    '[ \t]*([+-][0-9]{2}):?([0-9]{2})$',
                    '$1:$2'
                ) as timestamp
            )
        {%- if zone | upper == "UTC" %}
        else {{ wall }}
        {%- else %}
        else case
            when from_utc_timestamp(
                to_utc_timestamp({{ wall }}, '{{ zone }}') + interval 1 hour,
                '{{ zone }}'
            ) = {{ wall }}
                then to_utc_timestamp({{ wall }}, '{{ zone }}')
                + interval 1 hour
            else to_utc_timestamp({{ wall }}, '{{ zone }}')
        end
        {%- endif %}
    end
{%- endmacro %}

{#-
    validate_source_timezone(source_timezone)
    The zone name as the database spells it, or a build-stopping error that
    names the var source_timezone and the value received. At parse time it
    returns the name unchanged.
-#}
{% macro validate_source_timezone(source_timezone) -%}
    {{ return(adapter.dispatch(
        "validate_source_timezone", "customer_analytics"
    )(source_timezone)) }}
{%- endmacro %}

{% macro default__validate_source_timezone(source_timezone) -%}
    {{ return(source_timezone) }}
{%- endmacro %}

{% macro duckdb__validate_source_timezone(source_timezone) -%}
    {%- if not execute -%}
        {{ return(source_timezone) }}
    {%- endif -%}
    {%- set wanted = source_timezone | string | trim -%}
    {%- set found = run_query(
        "select name from pg_timezone_names() where lower(name) = lower('"
        ~ wanted | replace("'", "''") ~ "') order by name = '"
        ~ wanted | replace("'", "''") ~ "' desc, name limit 1"
    ).columns[0].values() -%}
    {%- if found | length == 0 -%}
        {{ raise_unknown_source_timezone(source_timezone) }}
    {%- endif -%}
    {{ return(found[0]) }}
{%- endmacro %}

{#-
    Spark has no zone table in SQL; Java's zone names are IANA's, so the
    name is checked against the IANA list dbt ships (pytz).
-#}
{% macro spark__validate_source_timezone(source_timezone) -%}
    {%- set wanted = source_timezone | string | trim -%}
    {%- for name in modules.pytz.all_timezones -%}
        {%- if name == wanted -%}
            {{ return(name) }}
        {%- endif -%}
    {%- endfor -%}
    {%- for name in modules.pytz.all_timezones -%}
        {%- if name | lower == wanted | lower -%}
            {{ return(name) }}
        {%- endif -%}
    {%- endfor -%}
    {{ raise_unknown_source_timezone(source_timezone) }}
{%- endmacro %}

{#- The current time as a UTC timestamp without zone. -#}
{% macro current_timestamp_utc() -%}
    {{ return(adapter.dispatch(
        "current_timestamp_utc", "customer_analytics"
    )()) }}
{%- endmacro %}

{% macro default__current_timestamp_utc() -%}
    to_utc_timestamp(current_timestamp(), current_timezone())
{%- endmacro %}

{% macro duckdb__current_timestamp_utc() -%}
    timezone('UTC', now())
{%- endmacro %}

{#- The one error both engines give for a source_timezone they do not know. -#}
{% macro raise_unknown_source_timezone(source_timezone) -%}
    {{ exceptions.raise_compiler_error(
        "The var source_timezone is '" ~ source_timezone ~ "', which is "
        ~ "not a time zone name. It is the zone of input timestamps that "
        ~ "carry no offset: use an IANA name such as UTC, Europe/London "
        ~ "or America/New_York, e.g. "
        ~ "--vars '{source_timezone: Europe/London}'."
    ) }}
{%- endmacro %}
