"""Incremental sessionization: int_events_sessionized and its readers
(int_order_lines, fct_sessions, int_session_products, dim_customers,
dim_products) built in two batches equal a --full-refresh build on both
batches, column for column.

The second batch continues a session across the batch boundary (c1), adds
a late event that bridges two old sessions of c2, a new customer (c5),
and a late event that joins the second of c6's two old sessions (c6 is
sessionized again from that session on; its first session's row stays as
built). c3 is old and untouched; c4 is untouched although it has an event
on the day of c1's new events (a day whose events differ), so it is left
alone too. Orders with an order id get lines in both batches: O7, a
cancellation of c7, gets a purchase from c8 (another sessionization key)
and stops being cancelled; O8 gets a return and keeps its flags; c7's O9
is left alone. c10 joins c9's O10 and takes it over (fct_orders counts an
order for its first customer id), so c9's order figures change without an
event of c9's. One module-scoped fixture runs the whole sequence; the tests
read its snapshots.
"""

from __future__ import annotations

import re

import duckdb
import pandas as pd
import pytest

from conftest import build_on, run_dbt, snapshot_tables, write_csv

SELECT = "+fct_sessions +dim_customers +dim_products"
# the models that read int_events_sessionized, with the order models that
# dim_customers and dim_products also read
READERS = (
    "int_order_lines fct_orders fct_sessions int_session_products dim_customers dim_products"
)
ISOLATED = {
    "DBT_INDIRECT_SELECTION": "cautious",
    "DBT_EXCLUDE_RESOURCE_TYPES": "unit_test",
}
TABLES = {
    "intermediate.int_events_sessionized": "event_id",
    "intermediate.int_order_lines": "event_id",
    "marts.fct_sessions": "session_id",
    "marts.dim_customers": "customer_id",
    "marts.dim_products": "product_id",
    "intermediate.int_session_products": "session_id, product_id",
}
HEADER = [
    "event_at",
    "event_type",
    "customer_id",
    "product_id",
    "category",
    "price",
    "quantity",
    "session_id",
    "order_id",
]
BATCH_1 = [
    ["2024-03-10 10:00:00", "view", "c1", "P1", "kitchen", 5.0, None, "s-c1-a", None],
    ["2024-03-10 10:10:00", "cart", "c1", "P1", "kitchen", 5.0, 1, "s-c1-a", None],
    ["2024-03-01 09:00:00", "view", "c2", "P2", "garden", 7.5, None, "s-c2-a", None],
    ["2024-03-01 09:50:00", "view", "c2", "P3", "garden", 2.0, None, "s-c2-b", None],
    ["2024-03-01 12:00:00", "purchase", "c2", "P3", "garden", 2.0, 2, "s-c2-c", None],
    ["2024-02-01 08:00:00", "view", "c3", "P1", "kitchen", 5.0, None, "s-c3-a", None],
    ["2024-02-01 08:05:00", "purchase", "c3", "P1", "kitchen", 5.0, 1, "s-c3-a", None],
    ["2024-03-09 23:50:00", "view", "c4", "P2", "garden", 7.5, None, "s-c4-a", None],
    ["2024-03-10 00:15:00", "cart", "c4", "P2", "garden", 7.5, 1, "s-c4-a", None],
    ["2024-02-10 08:00:00", "view", "c6", "P1", "kitchen", 5.0, None, "s-c6-a", None],
    ["2024-02-10 12:00:00", "view", "c6", "P2", "garden", 7.5, None, "s-c6-b", None],
    # orders with an order id: O7 is only a return so far (a
    # cancellation), O8 and O9 are ordinary purchases
    ["2024-03-01 12:00:00", "purchase", "c7", "P4", "toys", 9.0, 1, None, "O9"],
    ["2024-03-05 09:00:00", "return", "c7", "P1", "kitchen", 5.0, 1, None, "O7"],
    ["2024-03-05 10:00:00", "purchase", "c7", "P2", "garden", 7.5, 2, None, "O8"],
    # O10 is c9's; c9 gets nothing new after this
    ["2024-03-06 10:00:00", "purchase", "c9", "P3", "garden", 2.0, 1, None, "O10"],
]
BATCH_2 = [
    # 15 minutes after c1's cart in batch 1: the same session
    ["2024-03-10 10:25:00", "purchase", "c1", "P1", "kitchen", 5.0, 1, "s-c1-b", None],
    ["2024-03-10 11:30:00", "view", "c1", "P4", "toys", 9.0, None, "s-c1-c", None],
    # late: 25 minutes after 09:00 and before 09:50, bridging them
    ["2024-03-01 09:25:00", "cart", "c2", "P2", "garden", 7.5, 1, "s-c2-a", None],
    ["2024-03-11 08:00:00", "view", "c5", "P4", "toys", 9.0, None, "s-c5-a", None],
    # late, 20 minutes into c6's second session
    ["2024-02-10 12:20:00", "cart", "c6", "P2", "garden", 7.5, 1, "s-c6-b", None],
    # a purchase in O7, by another customer (bad input, but an order may
    # span sessionization keys): O7 is no longer cancelled and now counts
    ["2024-03-05 08:30:00", "purchase", "c8", "P1", "kitchen", 5.0, 1, None, "O7"],
    # a later return of part of O8: the order keeps its flags. c7 is
    # sessionized again from O8's session on; its earlier sessions (O9,
    # O7's return) are not written again
    ["2024-03-12 10:00:00", "return", "c7", "P2", "garden", 7.5, 1, None, "O8"],
    # c10 joins c9's O10; fct_orders counts the order for the first customer
    # id, "c10", so c9 loses it with no event of its own (and gets it back
    # when this file is withdrawn)
    ["2024-03-06 10:30:00", "purchase", "c10", "P1", "kitchen", 5.0, 1, None, "O10"],
]
# Batch 1 again, but c3 loses its purchase and gains a cart in the same
# run: c3 keeps its event count, so the run must still see the change
# (the pre-hook drops c3's rows because one of its events vanished).
SWAPPED = [row for row in BATCH_1 if row[:3] != ["2024-02-01 08:05:00", "purchase", "c3"]]
SWAPPED.append(["2024-02-01 08:20:00", "cart", "c3", "P1", "kitchen", 5.0, 1, "s-c3-a", None])
PROBE = "probe"


def fingerprint_books_disagree(db_path) -> dict[str, int]:
    """Per model with fingerprint books: how many day fingerprints differ
    between its books and a recomputation from its table (-1: no books)."""
    models = {
        "fct_events": "marts.fct_events",
        "int_events_sessionized": "intermediate.int_events_sessionized",
    }
    out = {}
    with duckdb.connect(str(db_path), read_only=True) as con:
        for model, table in models.items():
            books = f"""
                select event_day, row_count, hash_sum
                from intermediate.events_day_fingerprints
                where model_name = '{model}'"""
            fresh = f"""
                select cast(event_at as date), count(*),
                    sum(cast(hash(event_id) as hugeint))
                from {table} group by 1"""
            if con.execute(f"select count(*) from ({books})").fetchone()[0] == 0:
                out[model] = -1
                continue
            out[model] = con.execute(
                f"select count(*) from (({books} except all {fresh})"
                f" union all ({fresh} except all {books}))"
            ).fetchone()[0]
    return out


def snapshot(db_path) -> dict[str, pd.DataFrame]:
    return snapshot_tables(db_path, TABLES)


def set_probe(db_path, customers: list[str]) -> None:
    """Mark the stored rows of ``customers`` with a value no build writes;
    a run that rewrites a customer's rows removes the mark. The event mark
    is in search_query, which none of the models reading the events uses,
    so the mark does not spread into them."""
    listed = ", ".join(f"'{customer}'" for customer in customers)
    with duckdb.connect(str(db_path)) as con:
        con.execute(
            f"update intermediate.int_events_sessionized set search_query = '{PROBE}' "
            f"where customer_id in ({listed})"
        )
        con.execute(
            f"update marts.fct_sessions set exit_product_id = '{PROBE}' "
            f"where customer_id in ({listed})"
        )


def set_order_lines_probe(db_path, customers: list[str]) -> None:
    """Mark the stored order lines of ``customers`` like set_probe, in
    product_name, which no model reading int_order_lines uses."""
    listed = ", ".join(f"'{customer}'" for customer in customers)
    with duckdb.connect(str(db_path)) as con:
        con.execute(
            f"update intermediate.int_order_lines set product_name = '{PROBE}' "
            f"where customer_id in ({listed})"
        )


def restore_order_lines_from(db_path, original: dict[str, pd.DataFrame], customer: str) -> None:
    """Undo set_order_lines_probe for one customer."""
    lines = original["intermediate.int_order_lines"]
    with duckdb.connect(str(db_path)) as con:
        for _, row in lines[lines["customer_id"] == customer].iterrows():
            con.execute(
                "update intermediate.int_order_lines set product_name = ? where event_id = ?",
                [row["product_name"], row["event_id"]],
            )


def restore_from(db_path, original: dict[str, pd.DataFrame], customer: str) -> None:
    """Undo set_probe for one customer with the values of ``original``."""
    sessions = original["marts.fct_sessions"]
    events = original["intermediate.int_events_sessionized"]
    with duckdb.connect(str(db_path)) as con:
        for _, row in events[events["customer_id"] == customer].iterrows():
            con.execute(
                "update intermediate.int_events_sessionized set search_query = ? "
                "where event_id = ?",
                [row["search_query"], row["event_id"]],
            )
        for _, row in sessions[sessions["customer_id"] == customer].iterrows():
            con.execute(
                "update marts.fct_sessions set exit_product_id = ? where session_id = ?",
                [row["exit_product_id"], row["session_id"]],
            )


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("incremental_sessions")
    inputs = root / "input"
    inputs.mkdir()
    write_csv(inputs / "part1.csv", HEADER, BATCH_1)
    write_csv(inputs / "part2.csv", HEADER, BATCH_2)
    both = inputs / "part*.csv"
    workdir = root / "incremental"

    def incremental(path, **kwargs):
        return build_on(path, "canonical", workdir, select=SELECT, env=ISOLATED, **kwargs)

    out: dict = {}
    db_path = incremental(inputs / "part1.csv").db_path
    out["batch_1"] = snapshot(db_path)

    set_probe(db_path, ["c2", "c3", "c4", "c6"])
    set_order_lines_probe(db_path, ["c2", "c3", "c7"])
    out["books"] = {"batch_1": fingerprint_books_disagree(db_path)}
    incremental(both)
    out["books"]["batch_2"] = fingerprint_books_disagree(db_path)
    out["batch_2_probed"] = snapshot(db_path)
    for customer in ("c3", "c4", "c6"):
        restore_from(db_path, out["batch_1"], customer)
    for customer in ("c3", "c7"):
        restore_order_lines_from(db_path, out["batch_1"], customer)
    out["batch_2"] = snapshot(db_path)

    incremental(both)
    out["rerun"] = snapshot(db_path)
    out["books"]["rerun"] = fingerprint_books_disagree(db_path)

    # fct_events edited by hand: one event moved to the next day, another
    # duplicated (the day row counts change, the total does not). The
    # next run must notice it although the books still add up
    with duckdb.connect(str(db_path)) as con:
        con.execute(
            "update marts.fct_events set event_at = event_at + interval 1 day"
            " where event_id = (select min(event_id) from marts.fct_events)"
        )
        con.execute(
            "delete from marts.fct_events"
            " where event_id = (select max(event_id) from marts.fct_events)"
        )
        con.execute(
            "insert into marts.fct_events select * from marts.fct_events"
            " where event_id = (select min(event_id) from marts.fct_events)"
        )
    incremental(both)
    out["hand_edited"] = snapshot_tables(db_path, {**TABLES, "marts.fct_events": "event_id"})
    out["books"]["hand_edited"] = fingerprint_books_disagree(db_path)

    full = run_dbt(
        ["build", "--full-refresh", "--select", SELECT],
        workdir=root / "full_refresh",
        dbt_vars={"events_path": str(both), "events_format": "canonical"},
        env=ISOLATED,
    )
    out["full_refresh"] = snapshot_tables(
        full.db_path, {**TABLES, "marts.fct_events": "event_id"}
    )

    # the second file is withdrawn: its events vanish from fct_events
    log = workdir / "logs" / "dbt.log"
    logged_before = log.stat().st_size
    incremental(inputs / "part1.csv")
    out["batch_2_withdrawn"] = snapshot(db_path)
    out["books"]["batch_2_withdrawn"] = fingerprint_books_disagree(db_path)
    with log.open(errors="replace") as text:
        text.seek(logged_before)
        out["batch_2_withdrawn_log"] = text.read()

    out["timeout_changed"] = incremental(
        both, extra_vars={"session_timeout_minutes": 45}, check=False
    )

    swapped = root / "swapped"
    swapped.mkdir()
    write_csv(swapped / "part1.csv", HEADER, SWAPPED)
    incremental(swapped / "part1.csv")
    out["swapped"] = snapshot(db_path)
    out["books"]["swapped"] = fingerprint_books_disagree(db_path)
    full_swapped = run_dbt(
        ["build", "--full-refresh", "--select", SELECT],
        workdir=root / "full_refresh_swapped",
        dbt_vars={"events_path": str(swapped / "part1.csv"), "events_format": "canonical"},
        env=ISOLATED,
    )
    out["swapped_full_refresh"] = snapshot(full_swapped.db_path)

    # Out of order: int_events_sessionized runs twice (batch 2 adds
    # part2, batch 3 swaps c3's purchase for a cart) while its readers are
    # not selected; then dim_customers runs before fct_sessions has caught
    # up, then fct_sessions and dim_customers. Each reader must take in
    # every batch it missed, and dim_customers must not count batches that
    # fct_sessions has not taken in yet as done.
    swapped_both = swapped / "part*.csv"
    write_csv(swapped / "part2.csv", HEADER, BATCH_2)
    late = root / "out_of_order"
    late_build = build_on(inputs / "part1.csv", "canonical", late, select=SELECT, env=ISOLATED)
    # `run`, not `build`: the marts' tests would rightly fail in between
    for path in (both, swapped_both):
        build_on(
            path, "canonical", late, select="+int_events_sessionized", env=ISOLATED, command="run"
        )
    build_on(
        swapped_both,
        "canonical",
        late,
        select="int_order_lines fct_orders int_session_products dim_customers dim_products",
        env=ISOLATED,
        command="run",
    )
    build_on(
        swapped_both, "canonical", late, select="fct_sessions dim_customers", env=ISOLATED
    )
    out["out_of_order"] = snapshot(late_build.db_path)
    out["books"]["out_of_order"] = fingerprint_books_disagree(late_build.db_path)
    # a reader run with nothing new changes nothing
    build_on(swapped_both, "canonical", late, select=READERS, env=ISOLATED)
    out["out_of_order_rerun"] = snapshot(late_build.db_path)
    # a full refresh of int_events_sessionized alone: readers rebuild fully
    run_dbt(
        ["build", "--full-refresh", "--select", "int_events_sessionized"],
        workdir=late,
        dbt_vars={"events_path": str(swapped_both), "events_format": "canonical"},
        env=ISOLATED,
    )
    build_on(swapped_both, "canonical", late, select=READERS, env=ISOLATED)
    out["after_refresh_of_sessionized"] = snapshot(late_build.db_path)
    full_late = run_dbt(
        ["build", "--full-refresh", "--select", SELECT],
        workdir=root / "full_refresh_out_of_order",
        dbt_vars={"events_path": str(swapped_both), "events_format": "canonical"},
        env=ISOLATED,
    )
    out["out_of_order_full_refresh"] = snapshot(full_late.db_path)
    return out


def test_session_split_by_the_batch_boundary_is_merged(runs):
    sessions = runs["batch_2"]["marts.fct_sessions"]
    c1 = sessions[sessions["customer_id"] == "c1"].sort_values("session_number")
    assert c1[["session_number", "event_count", "funnel_step_reached"]].values.tolist() == [
        [1, 3, 3],
        [2, 1, 1],
    ]
    before = runs["batch_1"]["marts.fct_sessions"]
    # the session keeps its id: its first event did not change
    assert c1["session_id"].iloc[0] in set(before["session_id"])


def test_late_event_merges_two_old_sessions(runs):
    before = runs["batch_1"]["marts.fct_sessions"]
    after = runs["batch_2"]["marts.fct_sessions"]
    c2_before = before[before["customer_id"] == "c2"].sort_values("session_number")
    c2_after = after[after["customer_id"] == "c2"].sort_values("session_number")
    assert c2_before["event_count"].tolist() == [1, 1, 1]
    assert c2_after["event_count"].tolist() == [3, 1]
    # the merged-away session is gone; the 12:00 session is renumbered 3 -> 2
    assert c2_after["session_id"].tolist() == [
        c2_before["session_id"].iloc[0],
        c2_before["session_id"].iloc[2],
    ]


@pytest.mark.parametrize("table", list(TABLES))
def test_incremental_equals_full_refresh(runs, table):
    pd.testing.assert_frame_equal(runs["batch_2"][table], runs["full_refresh"][table])


def test_only_touched_customers_are_rewritten(runs):
    events = runs["batch_2_probed"]["intermediate.int_events_sessionized"]
    sessions = runs["batch_2_probed"]["marts.fct_sessions"]
    probed_events = events.loc[events["search_query"] == PROBE]
    probed = sessions.loc[sessions["exit_product_id"] == PROBE]
    probed_sessions = set(zip(probed["customer_id"], probed["session_number"]))
    # c3 and c4 got nothing new: left alone, although c4 has an event on
    # the day of c1's new events. c2 (late event) was rewritten; c6 from
    # its second session on, so its first session's event keeps the mark.
    marked = zip(probed_events["customer_id"], probed_events["event_at"].astype(str))
    assert sorted(marked) == [
        ("c3", "2024-02-01 08:00:00"),
        ("c3", "2024-02-01 08:05:00"),
        ("c4", "2024-03-09 23:50:00"),
        ("c4", "2024-03-10 00:15:00"),
        ("c6", "2024-02-10 08:00:00"),
    ]
    # fct_sessions replaces the sessions from the first rewritten one on:
    # c6's first session keeps the mark there too
    assert probed_sessions == {("c3", 1), ("c4", 1), ("c6", 1)}


def test_only_changed_orders_are_rewritten(runs):
    lines = runs["batch_2_probed"]["intermediate.int_order_lines"]
    probed = lines.loc[lines["product_name"] == PROBE]
    # c3's order got nothing new; c7's O9 neither, although c7 has new
    # events. c2's order was written again with c2's sessions (its
    # session kept its id, and so the order its id), c7's O7 because of
    # c8's purchase in it, O8 because of its return.
    assert sorted(zip(probed["customer_id"], probed["order_id"])) == [
        ("c3", lines.loc[lines["customer_id"] == "c3", "order_id"].iloc[0]),
        ("c7", "O9"),
    ]


def order_flags(lines: pd.DataFrame) -> dict:
    """{order_id: (line count, is_cancelled_order, is_counted_order)} of
    the orders O7-O9, checking that all lines of an order have the same
    flags."""
    flags = {}
    for order_id, order in lines[lines["order_id"].str.fullmatch("O[7-9]")].groupby("order_id"):
        pairs = set(zip(order["is_cancelled_order"], order["is_counted_order"]))
        assert len(pairs) == 1, order_id
        flags[order_id] = (len(order), *pairs.pop())
    return flags


def test_order_lines_of_two_batches_form_one_order(runs):
    """O7 turns from a cancellation into a counted order; O8 keeps its flags."""
    assert order_flags(runs["batch_1"]["intermediate.int_order_lines"]) == {
        "O7": (1, True, False),
        "O8": (1, False, True),
        "O9": (1, False, True),
    }
    assert order_flags(runs["batch_2"]["intermediate.int_order_lines"]) == {
        "O7": (2, False, True),
        "O8": (2, False, True),
        "O9": (1, False, True),
    }


@pytest.mark.parametrize("table", list(TABLES))
def test_rerun_without_new_data_changes_nothing(runs, table):
    pd.testing.assert_frame_equal(runs["rerun"][table], runs["batch_2"][table])


@pytest.mark.parametrize("table", list(TABLES))
def test_withdrawn_events_are_forgotten(runs, table):
    """Back to batch 1 only: c1's and c2's sessions split again, c5 goes."""
    pd.testing.assert_frame_equal(runs["batch_2_withdrawn"][table], runs["batch_1"][table])


def statements_of(log: str, model: str) -> list[str]:
    """The SQL statements dbt's debug log shows for one model."""
    entry = re.compile(r"^\S*\d\d:\d\d:\d\d\.\d+ \[", re.MULTILINE)
    marker = f"On model.customer_analytics.{model}: "
    return [
        part.split(marker, 1)[1]
        for part in entry.split(log)
        if marker in part.split("\n", 1)[0]
    ]


@pytest.mark.parametrize(
    ("model", "pre_hook_statement"),
    [
        ("fct_events", "delete from"),
        ("int_events_sessionized", "create temporary table sessions_vanished_keys"),
    ],
)
def test_changed_days_are_computed_once_per_run(runs, model, pre_hook_statement):
    """The day fingerprints run once, while the model's SQL is rendered;
    the pre-hook takes the same day filter from the compiled SQL."""
    statements = statements_of(runs["batch_2_withdrawn_log"], model)
    fingerprints = [s for s in statements if "as group_value" in s]
    assert len(fingerprints) == 1, fingerprints
    # the pre-hook's statement names the days, as the model's SQL does
    pre_hook = [
        s for s in statements
        if pre_hook_statement in s and "/* changed event days of " in s
    ]
    assert len(pre_hook) == 1, statements
    # the withdrawn file's day is in the filter the pre-hook used
    assert "timestamp '2024-03-1" in pre_hook[0]
    # and the post-hook rewrites the books of those days only
    books = [s for s in statements if "insert into" in s and "events_day_fingerprints" in s]
    assert len(books) == 1, statements
    assert "event_at >= timestamp '2024-03-1" in books[0]


@pytest.mark.parametrize("table", [*TABLES, "marts.fct_events"])
def test_hand_edited_events_are_repaired(runs, table):
    pd.testing.assert_frame_equal(runs["hand_edited"][table], runs["full_refresh"][table])


def test_fingerprint_books_match_the_tables(runs):
    """After every run the day fingerprints fct_events and
    int_events_sessionized keep for the next run equal a recomputation
    from their rows (a stale book would hide a changed day)."""
    for state, disagreements in runs["books"].items():
        assert disagreements == {"fct_events": 0, "int_events_sessionized": 0}, state


def test_changing_the_timeout_asks_for_a_full_refresh(runs):
    result = runs["timeout_changed"]
    assert result.returncode != 0
    assert "session_timeout_minutes = 30 but this run has 45" in result.output
    assert "--full-refresh" in result.output


@pytest.mark.parametrize("table", list(TABLES))
def test_event_swapped_for_another_keeps_no_stale_rows(runs, table):
    """One event out and one in for c3 in a single run: same event count,
    still equal to a full refresh (c3's session gets a cart, no purchase)."""
    swapped = runs["swapped"][table]
    pd.testing.assert_frame_equal(swapped, runs["swapped_full_refresh"][table])
    if table in ("marts.fct_sessions", "marts.dim_customers"):
        c3 = swapped[swapped["customer_id"] == "c3"]
        assert c3[["cart_count", "purchase_count"]].values.tolist() == [[1, 0]]
    elif table == "intermediate.int_events_sessionized":
        c3 = swapped[swapped["customer_id"] == "c3"]
        assert sorted(c3["event_type"]) == ["cart", "view"]


@pytest.mark.parametrize("table", list(TABLES))
@pytest.mark.parametrize(
    "state", ["out_of_order", "out_of_order_rerun", "after_refresh_of_sessionized"]
)
def test_readers_catch_up_on_missed_batches(runs, state, table):
    """Readers that missed two runs of int_events_sessionized (one with a
    forgotten event), or ran before fct_sessions, or after a full refresh
    of int_events_sessionized alone, equal a full refresh."""
    pd.testing.assert_frame_equal(runs[state][table], runs["out_of_order_full_refresh"][table])


def test_customer_loses_a_shared_order_without_events_of_its_own(runs):
    """c9 has no event in the second batch, but c10's purchase in O10 makes
    fct_orders count O10 for c10: dim_customers must rebuild c9 too, and
    give it back when the batch is withdrawn."""

    def orders_of(state, customer):
        customers = runs[state]["marts.dim_customers"].set_index("customer_id")
        return customers.loc[customer, "order_count"]

    assert orders_of("batch_1", "c9") == 1
    assert orders_of("batch_2", "c9") == 0
    assert orders_of("batch_2", "c10") == 1
    assert orders_of("batch_2_withdrawn", "c9") == 1
