{#-
    Helpers for the incremental session models (int_events_sessionized and
    fct_sessions). Both replace every row of a touched sessionization key
    (a customer, or one guest order) with delete+insert on that key, so that
    sessions which merge, split or disappear never leave stale rows behind.
-#}

{#-
    sessions_incremental_strategy()
    The incremental strategy used to replace a touched key's rows.
-#}
{% macro sessions_incremental_strategy() -%}
    {{ return(adapter.dispatch(
        "sessions_incremental_strategy", "customer_analytics"
    )()) }}
{%- endmacro %}

{#-
    delete+insert exists on DuckDB, Postgres, Snowflake, Redshift and
    BigQuery. XXX: dbt-spark has no delete+insert; a spark__ version needs
    merge plus the vanished-row deletes below, and is not written yet.
-#}
{% macro default__sessions_incremental_strategy() -%}
    {{ return("delete+insert") }}
{%- endmacro %}


{#-
    sessions_materialization()
    How the two session models are materialized: incremental where the
    adapter can replace a key's rows (delete+insert), else a table rebuilt
    whole on every run, which gives the same rows.
-#}
{% macro sessions_materialization() -%}
    {{ return(adapter.dispatch(
        "sessions_materialization", "customer_analytics"
    )()) }}
{%- endmacro %}

{% macro default__sessions_materialization() -%}
    {{ return("incremental") }}
{%- endmacro %}

{#-
    Spark: dbt-spark offers delete+insert only through merge on Delta or
    Iceberg tables, and this project writes plain Parquet (no extra jars).
    XXX: so on Spark both session models are rebuilt from every event on
    each run. That costs a full sessionization per run (measured in the
    README, "Running on Apache Spark"); a Delta table with a merge plus the
    vanished-row deletes of the pre-hooks would make it incremental.
-#}
{% macro spark__sessions_materialization() -%}
    {{ return("table") }}
{%- endmacro %}


{#-
    sessions_prepare_incremental_run(sessionized, events, timeout_minutes)
    Pre-hook of int_events_sessionized; does nothing unless the run is
    incremental.
    1. Stops the run when the table was built with another
       session_timeout_minutes: old sessions would silently follow the old
       rule. The message says how to rebuild.
    2. Deletes every row of a key that has an event no longer in fct_events
       (the input was corrected or shortened). The key's remaining events
       then count as new and are sessionized again, so sessions split or
       renumbered by the removal come out as in a full refresh.
-#}
{% macro sessions_prepare_incremental_run(
    sessionized, events, timeout_minutes
) -%}
    {%- if execute and is_incremental() -%}
        {%- set built_with = run_query(
            "select distinct session_timeout_minutes from " ~ sessionized
        ).columns[0].values() | list -%}
        {%- for minutes in built_with -%}
            {%- if minutes | int != timeout_minutes | int -%}
                {{ exceptions.raise_compiler_error(
                    sessionized ~ " was sessionized with "
                    ~ "session_timeout_minutes = " ~ minutes ~ " but this "
                    ~ "run has " ~ timeout_minutes ~ ". Rebuild the "
                    ~ "sessions with the new timeout: dbt build "
                    ~ "--full-refresh --select int_events_sessionized+"
                ) }}
            {%- endif -%}
        {%- endfor -%}
        {{ return(adapter.dispatch(
            "sessions_forget_vanished_events", "customer_analytics"
        )(sessionized, events)) }}
    {%- endif -%}
    {{ return("") }}
{%- endmacro %}

{% macro default__sessions_forget_vanished_events(sessionized, events) -%}
    delete from {{ sessionized }}
    where sessionization_key in (
        select sessionization_key
        from {{ sessionized }}
        where event_id not in (select event_id from {{ events }})
    )
{%- endmacro %}


{#-
    sessions_forget_vanished_sessions(sessions, sessionized)
    Pre-hook of fct_sessions; does nothing unless the run is incremental.
    Deletes the sessions whose session_id is no longer in
    int_events_sessionized (merged into an earlier session by a late event,
    or emptied by a removed event). The model itself then rebuilds every
    key whose remaining sessions changed.
-#}
{% macro sessions_forget_vanished_sessions(sessions, sessionized) -%}
    {%- if execute and is_incremental() -%}
        {{ return(adapter.dispatch(
            "sessions_forget_vanished_sessions", "customer_analytics"
        )(sessions, sessionized)) }}
    {%- endif -%}
    {{ return("") }}
{%- endmacro %}

{% macro default__sessions_forget_vanished_sessions(sessions, sessionized) -%}
    delete from {{ sessions }}
    where session_id not in (select session_id from {{ sessionized }})
{%- endmacro %}
