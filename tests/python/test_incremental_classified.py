"""Incremental classification: int_events_classified run after files are
added or removed equals a --full-refresh build on the same files, and so do
the models that read it (fct_events, rejected_events, data_quality_daily and
the sessions).

The files are canonical CSVs in one folder, read through a glob, and change
between runs:

1. ``part1.csv`` alone;
2. ``part2.csv`` arrives: it repeats a row of part1 (a duplicate across
   files) and has a row twice (a duplicate inside the new file); part1's
   rows must not be rewritten;
3. a run with no new file changes nothing;
4. ``part0.csv`` arrives, which sorts before the others and repeats rows of
   both: its copies become the first ones and the later copies turn into
   duplicate_event;
5. ``part0.csv`` is withdrawn: back to the result of step 2;
6. a future_timestamp reject in part1 comes within future_tolerance_hours
   (the var is raised instead of waiting for the clock): part1 is
   classified again and the row is accepted;
7. ``part2.csv`` is rewritten in place under the same name (a row changed,
   one dropped, a purchase added): its new size and modification time make
   the run classify it again;
8. ``part3.csv`` arrives and is then rewritten, each time with only
   int_events_classified run (the marts skip two runs); the next run of
   everything catches up.

fct_events is incremental too (by event day), and it and every table
built from it, the order lines included, must follow every step.

Every step is compared, column by column, with a --full-refresh build of the
same folder in another database. One module-scoped fixture runs the whole
sequence; the tests read its snapshots.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

import duckdb
import pandas as pd
import pytest
from conftest import run_dbt, snapshot_tables, write_csv

SELECT = "+fct_sessions +rejected_events +data_quality_daily +int_order_lines"
ISOLATED = {
    "DBT_INDIRECT_SELECTION": "cautious",
    "DBT_EXCLUDE_RESOURCE_TYPES": "unit_test test",
}
TABLES = {
    "intermediate.int_events_classified": "source_file, source_row_number",
    "marts.fct_events": "event_id",
    "marts.rejected_events": "source_file, source_row_number",
    "marts.data_quality_daily": "event_date, outcome",
    "intermediate.int_events_sessionized": "event_id",
    "marts.fct_sessions": "session_id",
    "intermediate.int_order_lines": "event_id",
}
HEADER = ["event_at", "event_type", "customer_id", "product_id", "price", "quantity"]
# ten days ahead: rejected with the default tolerance of 24 hours, accepted
# with a tolerance of 30 days
FUTURE = (datetime.now(timezone.utc) + timedelta(days=10)).strftime(
    "%Y-%m-%dT%H:%M:%SZ"
)
PART1 = [
    ["2024-03-01 10:00:00", "view", "c1", "P1", 5.0, None],
    ["2024-03-01 10:05:00", "cart", "c1", "P1", 5.0, 1],
    ["2024-03-02 09:00:00", "purchase", "c2", "P2", 7.5, 2],
    [FUTURE, "view", "c3", "P3", 1.0, None],
]
PART2 = [
    # the same raw values as part1's first row: a duplicate
    ["2024-03-01 10:00:00", "view", "c1", "P1", 5.0, None],
    ["2024-03-01 10:20:00", "purchase", "c1", "P1", 5.0, 1],
    # twice in the new file: the second copy is a duplicate
    ["2024-03-03 08:00:00", "view", "c4", "P4", 3.0, None],
    ["2024-03-03 08:00:00", "view", "c4", "P4", 3.0, None],
    ["2024-03-03 08:10:00", "unknown-type", "c4", "P4", 3.0, None],
]
PART0 = [
    # copies of part1's cart and part2's purchase, in a file that sorts first
    ["2024-03-01 10:05:00", "cart", "c1", "P1", 5.0, 1],
    ["2024-03-01 10:20:00", "purchase", "c1", "P1", 5.0, 1],
    ["2024-03-04 12:00:00", "view", "c5", "P1", 5.0, None],
]
# part2 as rewritten in place: its first row changed, the unknown type
# dropped, a purchase added on another day
PART2_REWRITTEN = [
    ["2024-03-01 10:01:00", "view", "c1", "P1", 5.0, None],
    ["2024-03-01 10:20:00", "purchase", "c1", "P1", 5.0, 1],
    ["2024-03-03 08:00:00", "view", "c4", "P4", 3.0, None],
    ["2024-03-03 08:00:00", "view", "c4", "P4", 3.0, None],
    ["2024-03-05 09:00:00", "purchase", "c4", "P4", 3.0, 2],
]
PART3 = [
    ["2024-03-06 11:00:00", "view", "c2", "P2", 7.5, None],
    ["2024-03-06 11:02:00", "purchase", "c2", "P2", 7.5, 1],
]
PART3_REWRITTEN = [
    ["2024-03-06 11:00:00", "view", "c2", "P2", 7.5, None],
    ["2024-03-06 11:03:00", "purchase", "c2", "P2", 7.5, 3],
    ["2024-03-07 08:00:00", "bogus", "c2", "P2", 7.5, None],
]
PROBE = "probe"
WIDE_TOLERANCE = {"future_tolerance_hours": 24 * 30}


def snapshot(db_path) -> dict[str, pd.DataFrame]:
    return snapshot_tables(db_path, TABLES)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("incremental_classified")
    inputs = root / "input"
    inputs.mkdir()
    glob = inputs / "part*.csv"
    out: dict = {}

    def build(workdir, extra_vars=None, full_refresh=False):
        dbt_vars = {"events_path": str(glob), "events_format": "canonical"}
        dbt_vars.update(extra_vars or {})
        args = ["build", "--select", SELECT]
        if full_refresh:
            args.append("--full-refresh")
        return run_dbt(args, workdir=workdir, dbt_vars=dbt_vars, env=ISOLATED)

    def step(name, extra_vars=None):
        """Build incrementally, then from scratch on the same files."""
        db_path = build(root / "incremental", extra_vars).db_path
        out[name] = snapshot(db_path)
        full = build(root / f"full_{name}", extra_vars, full_refresh=True)
        out[f"{name}_full"] = snapshot(full.db_path)
        return db_path

    write_csv(inputs / "part1.csv", HEADER, PART1)
    db_path = step("part1")

    # mark part1's clean rows in a column nothing downstream reads, and
    # its quarantined row in a column the quarantine's comparison skips
    with duckdb.connect(str(db_path)) as con:
        con.execute(
            "update intermediate.int_events_classified "
            f"set raw_values = '{PROBE}' "
            "where source_file like '%part1.csv' and reject_reason is null"
        )
        con.execute(
            f"update marts.rejected_events set raw_values = '{PROBE}' "
            "where source_file like '%part1.csv'"
        )
    write_csv(inputs / "part2.csv", HEADER, PART2)
    step("part2_probed")
    original = out["part1"]["intermediate.int_events_classified"]
    with duckdb.connect(str(db_path)) as con:
        out["probed_files"] = sorted(
            con.sql(
                "select distinct source_file from intermediate.int_events_classified "
                f"where raw_values = '{PROBE}'"
            ).df()["source_file"]
        )
        out["probed_rejected_files"] = sorted(
            con.sql(
                "select distinct source_file from marts.rejected_events "
                f"where raw_values = '{PROBE}'"
            ).df()["source_file"]
        )
        con.register("original", original)
        con.execute(
            "update intermediate.int_events_classified as classified "
            "set raw_values = original.raw_values from original "
            "where classified.source_file = original.source_file "
            "and classified.source_row_number = original.source_row_number"
        )
        con.execute(
            "update marts.rejected_events as rejected "
            "set raw_values = original.raw_values from original "
            "where rejected.source_file = original.source_file "
            "and rejected.source_row_number = original.source_row_number"
        )
    out["part2"] = snapshot(db_path)

    out["rerun"] = snapshot(build(root / "incremental").db_path)

    # a quarantined row of a kept file deleted by hand comes back
    with duckdb.connect(str(db_path)) as con:
        con.execute(
            "delete from marts.rejected_events "
            "where source_file like '%part2.csv' and source_row_number = 4"
        )
    out["rejected_repaired"] = snapshot(build(root / "incremental").db_path)

    write_csv(inputs / "part0.csv", HEADER, PART0)
    step("part0")

    (inputs / "part0.csv").unlink()
    step("withdrawn")

    step("future_due", WIDE_TOLERANCE)

    write_csv(inputs / "part2.csv", HEADER, PART2_REWRITTEN)
    touch_later(inputs / "part2.csv")
    step("rewritten", WIDE_TOLERANCE)

    classified_only = ["run", "--select", "int_events_classified"]
    for rows in (PART3, PART3_REWRITTEN):
        write_csv(inputs / "part3.csv", HEADER, rows)
        touch_later(inputs / "part3.csv")
        run_dbt(
            classified_only,
            workdir=root / "incremental",
            dbt_vars={
                "events_path": str(glob),
                "events_format": "canonical",
                **WIDE_TOLERANCE,
            },
            env=ISOLATED,
        )
    step("caught_up", WIDE_TOLERANCE)
    return out


def touch_later(path) -> None:
    """Move a rewritten file's modification time on by a minute, so the
    test does not depend on the file system's clock resolution."""
    stat = path.stat()
    os.utime(path, (stat.st_atime + 60, stat.st_mtime + 60))


def _assert_same(left: pd.DataFrame, right: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(
        left.reset_index(drop=True), right.reset_index(drop=True)
    )


STEPS = ["part1", "part0", "withdrawn", "future_due", "rewritten", "caught_up"]


@pytest.mark.parametrize("table", list(TABLES))
@pytest.mark.parametrize("step", STEPS)
def test_incremental_equals_full_refresh(runs, step, table):
    _assert_same(runs[step][table], runs[f"{step}_full"][table])


@pytest.mark.parametrize("table", list(TABLES))
def test_new_file_equals_full_refresh(runs, table):
    _assert_same(runs["part2"][table], runs["part2_probed_full"][table])


def test_kept_file_is_not_rewritten(runs):
    # part1's clean rows still carry the mark only the stored copy had:
    # the run that added part2 classified part2 alone
    assert [path.rsplit("/", 1)[1] for path in runs["probed_files"]] == ["part1.csv"]


def test_kept_file_is_not_quarantined_again(runs):
    # part1's quarantined row keeps its mark: the run that added part2
    # copied part2's rejected rows alone
    files = [path.rsplit("/", 1)[1] for path in runs["probed_rejected_files"]]
    assert files == ["part1.csv"]


def test_quarantine_repairs_a_deleted_row(runs):
    repaired = runs["rejected_repaired"]["marts.rejected_events"]
    assert len(repaired) == len(runs["part2"]["marts.rejected_events"])
    _assert_same(repaired, runs["part2"]["marts.rejected_events"])


def test_duplicates_across_and_inside_files(runs):
    classified = runs["part2"]["intermediate.int_events_classified"]
    files = classified["source_file"].str.rsplit("/", n=1).str[1]
    reasons = dict(
        zip(zip(files, classified["source_row_number"]), classified["reject_reason"])
    )
    assert reasons[("part1.csv", 1)] is None
    assert reasons[("part2.csv", 1)] == "duplicate_event"
    assert reasons[("part2.csv", 3)] is None
    assert reasons[("part2.csv", 4)] == "duplicate_event"


def test_earlier_file_takes_the_first_copy(runs):
    classified = runs["part0"]["intermediate.int_events_classified"]
    files = classified["source_file"].str.rsplit("/", n=1).str[1]
    reasons = dict(
        zip(zip(files, classified["source_row_number"]), classified["reject_reason"])
    )
    assert reasons[("part0.csv", 1)] is None
    assert reasons[("part1.csv", 2)] == "duplicate_event"
    assert reasons[("part0.csv", 2)] is None
    assert reasons[("part2.csv", 2)] == "duplicate_event"


@pytest.mark.parametrize("table", list(TABLES))
def test_rerun_without_new_files_changes_nothing(runs, table):
    _assert_same(runs["rerun"][table], runs["part2"][table])


@pytest.mark.parametrize("table", list(TABLES))
def test_withdrawn_file_is_forgotten(runs, table):
    _assert_same(runs["withdrawn"][table], runs["part2"][table])


def test_future_reject_is_accepted_once_due(runs):
    def reason(step):
        classified = runs[step]["intermediate.int_events_classified"]
        return classified.loc[
            classified["customer_id"] == "c3", "reject_reason"
        ].tolist()

    assert reason("part2") == ["future_timestamp"]
    assert reason("future_due") == [None]


def test_rewritten_file_is_classified_again(runs):
    # the changed first row of part2 is there, the dropped one is gone
    events = runs["rewritten"]["marts.fct_events"]
    assert (events["event_at"] == pd.Timestamp("2024-03-01 10:01:00")).any()
    rejected = runs["rewritten"]["marts.rejected_events"]
    assert "unknown_event_type" not in set(rejected["reject_reason"])


def test_quarantine_follows_a_parsed_time_that_moves(tmp_path):
    """A header that spells event_at with a trailing tab is a column of
    its own to DuckDB; the first file's event_at is the one read while
    that file is there. With it withdrawn, the second file's times are
    read: a quarantined row keeps its id, reason and row number but gets
    a parsed time, and the incremental run must pick that up as a full
    refresh does."""
    inputs = tmp_path / "input"
    inputs.mkdir()
    glob = inputs / "part*.csv"
    write_csv(
        inputs / "part1.csv",
        ["event_at", "event_type", "customer_id"],
        [["2024-03-01 09:00:00", "view", "c1"]],
    )
    write_csv(
        inputs / "part2.csv",
        ["event_type", "event_at\t", "customer_id"],
        [["view", "2024-03-01 10:00:00", None]],
    )
    dbt_vars = {"events_path": str(glob), "events_format": "canonical"}
    select = ["build", "--select", "+rejected_events"]

    def build(workdir, *extra):
        return run_dbt(
            [*select, *extra], workdir=workdir, dbt_vars=dbt_vars, env=ISOLATED
        )

    build(tmp_path / "incremental")
    (inputs / "part1.csv").unlink()
    incremental = build(tmp_path / "incremental")
    full = build(tmp_path / "full", "--full-refresh")
    tables = {"marts.rejected_events": "source_file, source_row_number"}
    left = snapshot_tables(incremental.db_path, tables)["marts.rejected_events"]
    right = snapshot_tables(full.db_path, tables)["marts.rejected_events"]
    assert left["parsed_event_at"].notna().all()
    _assert_same(left, right)
