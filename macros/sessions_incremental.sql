{#-
    Helpers for the incremental session models: int_events_sessionized
    replaces the rows of the events it sessionizes again (delete+insert on
    event_id); the models that read it (fct_sessions, int_session_products,
    dim_customers) replace every row of a changed key or customer (see
    "Batches" below), so that sessions which merge, split or disappear
    never leave stale rows behind. int_order_lines replaces whole orders
    the same way (macros/order_lines_incremental.sql).
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
        )(sessionized, events, sessions_batch_of_this_run())) }}
    {%- endif -%}
    {{ return("") }}
{%- endmacro %}

{#-
    The vanished events are looked for only on the event days whose
    fingerprints differ between the two tables (events_on_changed_days in
    macros/events_incremental.sql): an event that left fct_events changed
    its day's fingerprint. The deleted rows' keys, customers and products
    are written to sessions_forgotten_events first (see "Batches" below),
    so that the readers revisit them, and so that the model sessionizes
    the keys' remaining events again.
-#}
{% macro default__sessions_forget_vanished_events(
    sessionized, events, batch
) -%}
    {%- set on_changed_days = events_on_changed_days(
        "event_at", sessionized, events, from_model_sql=true
    ) -%}
    {{ sessions_create_bookkeeping(sessionized) }}
    create temporary table sessions_vanished_keys as
    select distinct sessionization_key
    from {{ sessionized }}
    where
        {{ on_changed_days }}
        and event_id not in (
            select event_id from {{ events }}
            where {{ on_changed_days }}
        );
    insert into {{ sessions_bookkeeping_relation(
        sessionized, "forgotten_events"
    ) }} (
        sessionized_batch, sessionization_key, customer_id, product_id,
        order_id
    )
    select distinct
        {{ batch }},
        sessionization_key,
        customer_id,
        product_id,
        order_id
    from {{ sessionized }}
    where sessionization_key in (
        select sessionization_key from sessions_vanished_keys
    );
    delete from {{ sessionized }}
    where sessionization_key in (
        select sessionization_key from sessions_vanished_keys
    );
    drop table sessions_vanished_keys
{%- endmacro %}


{#-
    Batches: how the models that read int_events_sessionized (fct_sessions,
    int_session_products, dim_customers and int_order_lines; "readers"
    below) find what changed without comparing every row.

    Each run of int_events_sessionized writes its rows with a batch number
    (sessionized_batch): 0 on a full refresh, then 1, 2, ... one per
    incremental run. Two small tables beside it keep the books:
    - sessions_batches: one row per model. For int_events_sessionized the
      last batch it wrote; for each reader the last batch it has taken in.
    - sessions_forgotten_events: the key, customer, product and input
      order id of every row the pre-hook deleted because its event left
      fct_events, with the batch that deleted it. A reader must revisit them even when nothing
      of theirs is left to carry a batch number.
    A reader rebuilds the keys (customers, orders) that appear in any
    batch after the one it has taken in - all of them, so a reader that
    missed runs (skipped, failed, or not selected) catches up in one run -
    and then records the last batch; fct_sessions and int_session_products
    rebuild a part of each such key only ("Whole sessions from the batches
    alone" below). Rows of one event_id never change
    key, customer or product: event_id is the md5 of the raw row, so a
    changed value is a new event and the old one counts as forgotten.
    A full refresh of int_events_sessionized numbers everything 0 again and
    empties both tables, so each reader rebuilds everything on its next run.
    On an adapter where the session models are tables rebuilt whole
    (Spark), none of this runs and every row has batch 0.
-#}

{% macro sessions_bookkeeping_relation(sessionized, name) -%}
    {{ return(api.Relation.create(
        database=sessionized.database,
        schema=sessionized.schema,
        identifier="sessions_" ~ name,
        type="table"
    )) }}
{%- endmacro %}

{% macro sessions_keeps_batches() -%}
    {{ return(execute and sessions_materialization() == "incremental") }}
{%- endmacro %}

{#-
    sessions_recorded_batch(sessionized, model_name)
    The batch recorded for model_name (see above), or none when there is
    no record (never built, or int_events_sessionized was rebuilt since).
-#}
{% macro sessions_recorded_batch(sessionized, model_name) -%}
    {#- a unit test's `this` names no schema: nothing is recorded there -#}
    {%- if not (sessions_keeps_batches() and sessionized.schema) -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set batches = sessions_bookkeeping_relation(sessionized, "batches") -%}
    {%- if not bookkeeping_table_exists(batches) -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set found = run_query(
        "select max(sessionized_batch) from " ~ batches
        ~ " where model_name = '" ~ model_name ~ "'"
    ).columns[0].values() -%}
    {{ return(found[0] if found and found[0] is not none else none) }}
{%- endmacro %}

{#-
    sessions_batch_of_this_run()
    The batch number int_events_sessionized writes in this run.
-#}
{% macro sessions_batch_of_this_run() -%}
    {%- if not is_incremental() -%}
        {{ return(0) }}
    {%- endif -%}
    {%- set last = sessions_recorded_batch(this, this.identifier) -%}
    {{ return((last or 0) + 1) }}
{%- endmacro %}

{% macro sessions_create_bookkeeping(sessionized) -%}
    create table if not exists
    {{ sessions_bookkeeping_relation(sessionized, "batches") }} (
        model_name varchar not null,
        sessionized_batch bigint not null
    );
    create table if not exists
    {{ sessions_bookkeeping_relation(sessionized, "forgotten_events") }} (
        sessionized_batch bigint not null,
        sessionization_key varchar not null,
        customer_id varchar,
        product_id varchar,
        order_id varchar
    );
    {#- books written before order_id was kept -#}
    alter table
    {{ sessions_bookkeeping_relation(sessionized, "forgotten_events") }}
    add column if not exists order_id varchar;
{%- endmacro %}

{% macro sessions_set_recorded_batch(sessionized, model_name, batch) -%}
    {%- set batches = sessions_bookkeeping_relation(sessionized, "batches") -%}
    delete from {{ batches }} where model_name = '{{ model_name }}';
    {%- if batch is not none %}
    insert into {{ batches }} values ('{{ model_name }}', {{ batch }});
    {%- endif %}
{%- endmacro %}

{#-
    sessions_record_batch()
    Post-hook of int_events_sessionized. After an incremental run: records
    this run's batch, and drops forgotten events that every reader has
    taken in (a reader with no record rebuilds everything anyway). After a
    full refresh: empties the books, so every reader rebuilds in full.
-#}
{% macro sessions_record_batch() -%}
    {%- if not sessions_keeps_batches() -%}
        {{ return("") }}
    {%- endif -%}
    {%- set batches = sessions_bookkeeping_relation(this, "batches") -%}
    {%- set forgotten = sessions_bookkeeping_relation(
        this, "forgotten_events"
    ) -%}
    {{ sessions_create_bookkeeping(this) }}
    {%- if is_incremental() %}
    {{ sessions_set_recorded_batch(
        this, this.identifier, sessions_batch_of_this_run()
    ) }}
    delete from {{ forgotten }}
    where sessionized_batch <= coalesce(
        (
            select min(sessionized_batch) from {{ batches }}
            where model_name != '{{ this.identifier }}'
        ),
        {{ sessions_batch_of_this_run() }}
    );
    {%- else %}
    delete from {{ batches }};
    delete from {{ forgotten }};
    {{ sessions_set_recorded_batch(this, this.identifier, 0) }}
    {%- endif %}
{%- endmacro %}


{#-
    sessions_changed(sessionized, consumed_batch, column)
    The distinct values of `column` (sessionization_key, customer_id,
    product_id or order_id) that a reader which has taken in batches up to
    consumed_batch must rebuild: those of rows written, or forgotten, in a
    later batch. A narrow scan of two columns, not a comparison.
-#}
{% macro sessions_changed(sessionized, consumed_batch, column) -%}
    select {{ column }}
    from {{ sessionized }}
    where
        {{ sessions_unread_rows(consumed_batch) }}
        and {{ column }} is not null
    union
    select {{ column }}
    from {{ sessions_bookkeeping_relation(sessionized, "forgotten_events") }}
    where
        {{ sessions_unread_rows(consumed_batch) }}
        and {{ column }} is not null
{%- endmacro %}

{#-
    sessions_reader_batch(sessionized)
    For a reader model: the batch it has taken in so far, or none when it
    must rebuild every row (not an incremental run, or no record).
-#}
{% macro sessions_reader_batch(sessionized) -%}
    {%- if not is_incremental() -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(sessions_recorded_batch(sessionized, this.identifier)) }}
{%- endmacro %}

{#-
    sessions_reader_forget_changed_customers(sessionized, order_lines)
    Pre-hook of a reader with one row per customer (dim_customers):
    deletes the rows of every changed customer (sessions_changed_customers
    below; all rows when it has no record); the model then inserts them
    again from their whole history. Deleting first also removes the
    customers that have no events left.
-#}
{% macro sessions_reader_forget_changed_customers(sessionized, order_lines) -%}
    {%- if not (sessions_keeps_batches() and is_incremental()) -%}
        {{ return("") }}
    {%- endif -%}
    {%- set consumed = sessions_reader_batch(sessionized) -%}
    delete from {{ this }}
    {%- if consumed is not none %}
    where customer_id in (
        {{ sessions_changed_customers(sessionized, order_lines, consumed) }}
    )
    {%- endif %}
{%- endmacro %}

{#-
    Whole sessions from the batches alone (fct_sessions,
    int_session_products). A run of
    int_events_sessionized rewrites a touched key from the start of its
    last session before the change on, and a forgotten key from its first
    event. So for each key with rows in the batches a reader has not taken
    in, take the smallest session_number among those rows: every event of
    that session and of the key's later ones is in those batches, and the
    key's earlier sessions have not changed since the reader took them in.
    A reader that keeps session_number can then replace just those
    sessions, read from the batches' rows, which are the last ones written
    and so sit together at the end of the table, where DuckDB skips the
    rest by each row group's minimum and maximum. Matching every row
    against the changed keys read all 10 million rows instead (at 10
    million events with one new day: 383 thousand rows of 7,525 keys
    against 108 thousand rows of the 15 thousand sessions that can change).
-#}

{#-
    sessions_unread_rows(consumed_batch, batch_column)
    A condition on int_events_sessionized's sessionized_batch (batch_column)
    that keeps the rows of the batches after consumed_batch; true when the
    reader rebuilds everything (consumed_batch is none).
-#}
{% macro sessions_unread_rows(consumed_batch, batch_column="sessionized_batch") -%}
    {%- if consumed_batch is none -%}
        true
    {%- else -%}
        {{ batch_column }} > {{ consumed_batch }}
    {%- endif -%}
{%- endmacro %}

{#-
    sessions_reader_forget_changed_sessions(sessionized)
    Pre-hook of a reader whose rows carry the session's key and
    session_number (fct_sessions, int_session_products): deletes, per
    key, the sessions from the smallest number among the rows of the
    batches it has not taken in (see above), and every session of a key
    forgotten in those batches, which removes the keys with no events
    left; all rows when it has no record.
-#}
{% macro sessions_reader_forget_changed_sessions(sessionized) -%}
    {%- if not (sessions_keeps_batches() and is_incremental()) -%}
        {{ return("") }}
    {%- endif -%}
    {#- a table built by a version without session_number: say how to
        rebuild, instead of DuckDB's binder error on the delete below -#}
    {%- set built_columns = adapter.get_columns_in_relation(this)
        | map(attribute="name") | map("lower") | list -%}
    {%- if "session_number" not in built_columns -%}
        {{ exceptions.raise_compiler_error(
            this ~ " has no session_number column: it was built by an "
            ~ "earlier version. Rebuild the sessions once: dbt build "
            ~ "--full-refresh --select int_events_sessionized+"
        ) }}
    {%- endif -%}
    {%- set consumed = sessions_reader_batch(sessionized) -%}
    {%- if consumed is none %}
    delete from {{ this }}
    {%- else %}
    delete from {{ this }} as built
    using (
        select
            sessionization_key,
            min(session_number) as first_changed_number
        from {{ sessionized }}
        where {{ sessions_unread_rows(consumed) }}
        group by 1
    ) as changed
    where
        built.sessionization_key = changed.sessionization_key
        and built.session_number >= changed.first_changed_number;
    delete from {{ this }}
    where sessionization_key in (
        select sessionization_key
        from {{ sessions_bookkeeping_relation(sessionized, "forgotten_events") }}
        where {{ sessions_unread_rows(consumed) }}
    )
    {%- endif %}
{%- endmacro %}

{#-
    sessions_changed_customers(sessionized, order_lines, consumed_batch)
    For a reader of customers' orders (dim_customers): the customers of
    rows written or forgotten in a later batch (sessions_changed), and
    every customer with a line in an order that such a row belongs to. An
    input order id can span customers (bad input, but it happens): when
    one customer's line joins or leaves such an order, the order's figures
    and the customer it is counted for (fct_orders takes the first
    customer id) change for the others too. An event's order id never
    changes under its event_id, and orders without an input order id
    ("session-..." orders) belong to one session and so one customer.
    `order_lines` is int_order_lines, up to date in the same run.
-#}
{% macro sessions_changed_customers(sessionized, order_lines, consumed_batch) -%}
    {{ sessions_changed(sessionized, consumed_batch, "customer_id") }}
    union
    select customer_id
    from {{ order_lines }}
    where
        customer_id is not null
        and order_id in (
            {{ sessions_changed(sessionized, consumed_batch, "order_id") }}
        )
{%- endmacro %}

{#-
    sessions_reader_record(sessionized, also_after=[])
    Post-hook of a reader: records the batch it has now taken in, which is
    the last one int_events_sessionized wrote - or less, when the reader
    also reads another reader (also_after, e.g. dim_customers reads
    fct_sessions) that is behind: then the batches that reader has not
    taken in yet stay due here too. No record when such a reader has none.
-#}
{% macro sessions_reader_record(sessionized, also_after=[]) -%}
    {%- if not sessions_keeps_batches() -%}
        {{ return("") }}
    {%- endif -%}
    {%- set batch = namespace(
        value=sessions_recorded_batch(sessionized, sessionized.identifier)
    ) -%}
    {%- for other in also_after -%}
        {%- set other_batch = sessions_recorded_batch(sessionized, other) -%}
        {%- if other_batch is none or batch.value is none -%}
            {%- set batch.value = none -%}
        {%- elif other_batch < batch.value -%}
            {%- set batch.value = other_batch -%}
        {%- endif -%}
    {%- endfor -%}
    {{ sessions_create_bookkeeping(sessionized) }}
    {{ sessions_set_recorded_batch(sessionized, this.identifier, batch.value) }}
{%- endmacro %}
