"""Benchmark the project against plain-Python alternatives at several sizes.

For each size the script generates events (cached), then measures, each in
its own process so that wall time and peak memory are comparable:

- full:        ``dbt build`` of the whole project on a fresh DuckDB file;
- sql_queries: the compiled SQL of the compared models run again on that
               warehouse into in-memory temporary tables (the SQL's own cost,
               without dbt and without writing a stored table);
- daily:       ``dbt run --selector daily`` after the append-day file
               arrives in the input folder (events_path is a glob over that
               folder, the same in every run): the SQL models, the large
               ones incremental, no model retraining and no tests;
- incremental: ``dbt build`` of the whole project on the same new day,
               starting again from the full build's warehouse: the SQL
               models incrementally, the Python models retrained, every
               test run;
- floor:       one DuckDB scan of the raw Parquet touching every column;
- pandas:      notebook-style sessionization (30-minute rule) and RFM;
- mlxtend:     the order baskets, mlxtend's one-hot encoding, fpgrowth and
               association_rules from the purchase lines, stopped after
               --mlxtend-timeout seconds ("cap hit").

The compared computations (the floor's scan, pandas', mlxtend's and the SQL
alone) each run TIMING_RUNS times in their process, and the median counts,
of the wall clock and of the process's CPU time (every thread's).
Peak memory is the largest sum of VmRSS over the process and its children,
read from /proc every 0.1 s (pages shared between processes count twice);
CPU seconds are the tree's user plus system time. The dbt builds mine rules
at the thresholds mlxtend gets (passed as vars). The report ends with the
issue's targets, each marked met or not.
Per-model times come from dbt's run_results.json. A failing dbt build is
reported with the tail of its log and makes the script exit with status 1;
the other measurements are still written.

Usage::

    python scripts/bench.py --sizes 100000,1000000 --out docs/benchmark.md

When the --out file already has the markers REPORT_BEGIN and REPORT_END,
only the text between them is replaced, so notes written around them stay.

Run from anywhere; dbt runs in the project directory with its own database,
target and log folders inside --work-dir. The two runs after the full build
start from a copy of its target folder, so dbt parses the project partially
as a scheduled run on a kept checkout would.
"""

import argparse
import datetime as dt
import importlib.metadata
import json
import os
import platform
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import NamedTuple

PROJECT_DIR = Path(__file__).resolve().parents[1]
GENERATOR = PROJECT_DIR / "scripts" / "generate_events.py"
DBT = str(Path(sys.executable).with_name("dbt"))
DEFAULT_WORK_DIR = Path("/tmp/customer_analytics_bench")
POLL_SECONDS = 0.1
LOG_TAIL_LINES = 40

SESSION_TIMEOUT_MINUTES = 30  # the project's var session_timeout_minutes
MIN_SUPPORT = 0.01  # association_min_support
MIN_CONFIDENCE = 0.3  # association_min_confidence
MAX_ITEMSET_SIZE = 3  # association_max_itemset_size
DENSE_BASKET_CELLS = 500_000_000  # above this, mlxtend gets a sparse one-hot
# Each compared computation (the floor's scan, pandas', mlxtend's and the
# SQL alone) runs this many times in its process and the median counts: a
# single run of a few seconds moved by 20-40% from one run of the script to
# the next on a shared host (mlxtend's rules: 3.3 to 5.6 s on the same data).
TIMING_RUNS = 3

# The work pandas does for sessionization (a session number per customer
# event from customer_id and event_at; no tie-break, no session id, no other
# columns), written as plain SQL over the built fct_events and timed like the
# models' SQL alone: SQL against pandas with the same work on both sides.
PLAIN_SESSIONIZATION = "(plain SQL sessionization)"
PLAIN_SESSIONIZATION_SQL = f"""
with lagged as (
    select
        customer_id,
        event_at,
        lag(event_at) over (
            partition by customer_id order by event_at
        ) as previous_event_at
    from marts.fct_events
    where customer_id is not null
),
flagged as (
    select
        customer_id,
        event_at,
        case
            when previous_event_at is null then 1
            when event_at > previous_event_at
                + interval {SESSION_TIMEOUT_MINUTES} minute then 1
            else 0
        end as is_session_start
    from lagged
)
select
    customer_id,
    event_at,
    sum(is_session_start) over (
        partition by customer_id order by event_at
        rows between unbounded preceding and current row
    ) as session_number
from flagged
"""

# Each compared stage: the dbt models that do the work, the alternative, the
# stage result holding its timing, and which of its timings compares. Models
# not (yet) in the project are skipped; a stage with none of them shows
# "n/a". RFM counts the order models too: pandas starts from the events.
COMPARED_STAGES = (
    (
        "sessions",
        ("int_events_sessionized", "fct_sessions"),
        "pandas sort + diff + cumsum + groupby",
        "pandas_sessions",
        "compute_s",
    ),
    (
        "sessionization",
        ("int_events_sessionized",),
        "pandas sort + diff + cumsum",
        "pandas_sessions",
        "sessionize_s",
    ),
    (
        "sessionization, pandas' work in plain SQL",
        (PLAIN_SESSIONIZATION,),
        "pandas sort + diff + cumsum",
        "pandas_sessions",
        "sessionize_s",
    ),
    (
        "rfm",
        ("int_order_lines", "fct_orders", "customer_rfm"),
        "pandas groupby",
        "pandas_rfm",
        "compute_s",
    ),
    (
        "association rules",
        ("association_rules",),
        "mlxtend baskets + one-hot + fpgrowth + association_rules",
        "mlxtend",
        "compute_s",
    ),
    (
        "association rules, mlxtend's mining only",
        ("association_rules",),
        "mlxtend fpgrowth + association_rules",
        "mlxtend",
        "mining_s",
    ),
)

# The targets, checked at every size (they are set for 10 million).
FULL_BUILD_TARGET_S = 240
PEAK_MEMORY_TARGET_MB = 4096
SESSIONIZATION_SPEEDUP_TARGET = 3  # against pandas
SESSIONIZATION_FLOOR_TARGET = 5  # times the one-scan floor, at most
RULES_SPEEDUP_TARGET = 20  # against mlxtend
INCREMENTAL_SHARE_TARGET = 0.10  # of the full build
RECOMMENDER_TARGET_S = 60  # training and evaluation together
# the recommender's dbt models: the fit (both cutoffs), the two tables read
# back from it, and the evaluation against the popularity baseline
RECOMMENDER_MODELS = (
    "int_recommendations_fitted",
    "product_recommendations",
    "product_similarity",
    "recommendation_metrics",
)


# ---------------------------------------------------------------------------
# Measuring a process tree.
# ---------------------------------------------------------------------------


def _children_by_parent():
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    return children


def _tree_rss_kib(root):
    children = _children_by_parent()
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, ()))
        try:
            with open(f"/proc/{pid}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            continue
    return total


def measure(command, *, log_path, env=None, cwd=None, timeout=None):
    """Run ``command``; return wall and CPU seconds, peak tree RSS and how it
    ended.

    Output goes to ``log_path``. On timeout the whole process group is
    killed and ``timed_out`` is true.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(log_path, "w") as log:
        began = time.perf_counter()
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
        peak, timed_out = 0, False
        while process.poll() is None:
            peak = max(peak, _tree_rss_kib(process.pid))
            if timeout is not None and time.perf_counter() - began > timeout:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                timed_out = True
                break
            time.sleep(POLL_SECONDS)
        wall = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "wall_s": wall,
        # user + system seconds of the finished tree: steadier than wall
        # time when other work shares the cores
        "cpu_s": after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime,
        "peak_rss_mb": peak / 1024,
        "returncode": process.returncode,
        "timed_out": timed_out,
        "log": str(log_path),
    }


def _tail(path, lines=LOG_TAIL_LINES):
    """The last lines of a log, leaving out dbt's lines for skipped nodes."""
    try:
        text = Path(path).read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join([line for line in text if " SKIP " not in line][-lines:])


# ---------------------------------------------------------------------------
# Stages that run in a child process: `bench.py --stage NAME ...`.
# ---------------------------------------------------------------------------


class Timed(NamedTuple):
    """Medians of one computation's runs, and the last run's result."""

    seconds: float  # wall clock
    cpu_seconds: float  # the process's CPU time, over all its threads
    result: object


def median_run(compute, runs=TIMING_RUNS, *, after=None):
    """Median wall and CPU seconds of ``compute()`` over ``runs`` calls,
    and the last call's result; ``after()``, untimed, follows each call.
    CPU time is the whole process's, so DuckDB's worker threads count.
    The two medians are taken apart, so they may come from different
    calls."""
    seconds, cpu_seconds = [], []
    for _ in range(runs):
        began, cpu_began = time.perf_counter(), time.process_time()
        result = compute()
        seconds.append(time.perf_counter() - began)
        cpu_seconds.append(time.process_time() - cpu_began)
        if after is not None:
            after()
    return Timed(statistics.median(seconds), statistics.median(cpu_seconds), result)


def connect_like_profile(database=None):
    """A DuckDB connection (in memory without ``database``) with the
    project profile's threads and memory limit."""
    import duckdb

    con = duckdb.connect(str(database) if database else ":memory:")
    threads = os.environ.get("CUSTOMER_ANALYTICS_THREADS", "2")
    memory_limit = os.environ.get("CUSTOMER_ANALYTICS_MEMORY_LIMIT", "3GB")
    con.execute(f"set threads = {threads}")
    con.execute(f"set memory_limit = '{memory_limit}'")
    return con


def stage_floor(events_path):
    """One DuckDB scan of the raw file that reads every column."""
    con = connect_like_profile()
    source = f"read_parquet('{events_path}')"
    columns = [
        row[0] for row in con.execute(f"describe select * from {source}").fetchall()
    ]
    touched = ", ".join(f'sum(length(cast("{c}" as varchar)))' for c in columns)
    scan = median_run(
        lambda: con.execute(f"select count(*), {touched} from {source}").fetchone()
    )
    return {
        "scan_s": scan.seconds,
        "scan_cpu_s": scan.cpu_seconds,
        "rows": scan.result[0],
        "columns": len(columns),
    }


def _read_events(events_path, columns):
    import pandas as pd

    began = time.perf_counter()
    events = pd.read_parquet(events_path, columns=columns)
    read_s = time.perf_counter() - began
    began = time.perf_counter()
    # The usual notebook cleaning: parse, drop what does not parse.
    events["event_at"] = pd.to_datetime(
        events["event_at"], utc=True, errors="coerce", format="ISO8601"
    )
    events = events.dropna(subset=["customer_id", "event_at"])
    return events, read_s, time.perf_counter() - began


def stage_pandas_sessions(events_path):
    """Sessionize like an analyst: sort, diff per customer, cumsum."""
    import pandas as pd

    events, read_s, parse_s = _read_events(
        events_path, ["customer_id", "event_at", "event_type"]
    )

    def sessionize():
        ordered = events.sort_values(["customer_id", "event_at"], kind="stable")
        gap = ordered.groupby("customer_id")["event_at"].diff()
        timeout = pd.Timedelta(minutes=SESSION_TIMEOUT_MINUTES)
        ordered["is_new_session"] = gap.isna() | (gap > timeout)
        by_customer = ordered.groupby("customer_id")["is_new_session"]
        ordered["session_number"] = by_customer.cumsum()
        return ordered

    def aggregate():
        return sessionized.result.groupby(["customer_id", "session_number"]).agg(
            started_at=("event_at", "min"),
            ended_at=("event_at", "max"),
            event_count=("event_type", "size"),
        )

    sessionized = median_run(sessionize)
    aggregated = median_run(aggregate)
    return {
        "read_s": read_s,
        "parse_s": parse_s,
        "sessionize_s": sessionized.seconds,
        "sessionize_cpu_s": sessionized.cpu_seconds,
        "aggregate_s": aggregated.seconds,
        "compute_s": sessionized.seconds + aggregated.seconds,
        "compute_cpu_s": sessionized.cpu_seconds + aggregated.cpu_seconds,
        "sessions": int(len(aggregated.result)),
    }


def stage_pandas_rfm(events_path):
    """Recency, frequency and monetary per customer, notebook style."""
    import numpy as np
    import pandas as pd

    events, read_s, parse_s = _read_events(
        events_path,
        ["customer_id", "event_at", "event_type", "price", "quantity", "order_id"],
    )

    def compute():
        sales = events[events["event_type"].isin(["purchase", "return"])].copy()
        price = pd.to_numeric(sales["price"], errors="coerce")
        quantity = pd.to_numeric(sales["quantity"], errors="coerce").fillna(1).abs()
        sign = np.where(sales["event_type"] == "return", -1.0, 1.0)
        sales["amount"] = price * quantity * sign
        as_of = events["event_at"].max().normalize() + pd.Timedelta(days=1)
        purchases = sales[sales["event_type"] == "purchase"]
        rfm = purchases.groupby("customer_id").agg(
            last_order_at=("event_at", "max"), frequency=("order_id", "nunique")
        )
        rfm["recency_days"] = (as_of - rfm["last_order_at"]).dt.days
        monetary = sales.groupby("customer_id")["amount"].sum()
        rfm["monetary"] = monetary.reindex(rfm.index)
        return rfm

    computed = median_run(compute)
    return {
        "read_s": read_s,
        "parse_s": parse_s,
        "compute_s": computed.seconds,
        "compute_cpu_s": computed.cpu_seconds,
        "customers": int(len(computed.result)),
    }


def stage_mlxtend(events_path):
    """Association rules with mlxtend from the purchase lines, the way the
    SQL gets them from int_order_lines: baskets (the distinct products of
    each order), mlxtend's one-hot encoding, then fpgrowth and
    association_rules. The baskets and the mining are timed apart."""
    import pandas as pd
    from mlxtend.frequent_patterns import association_rules, fpgrowth
    from mlxtend.preprocessing import TransactionEncoder

    began = time.perf_counter()
    lines = pd.read_parquet(
        events_path, columns=["event_type", "order_id", "product_id"]
    )
    lines = lines[lines["event_type"].eq("purchase")].dropna()
    read_s = time.perf_counter() - began

    def encode():
        baskets = lines.groupby("order_id")["product_id"].agg(
            lambda products: sorted(set(products))
        )
        encoder = TransactionEncoder().fit(baskets)
        sparse = len(baskets) * len(encoder.columns_) > DENSE_BASKET_CELLS
        encoded = encoder.transform(baskets, sparse=sparse)
        if sparse:
            onehot = pd.DataFrame.sparse.from_spmatrix(
                encoded, columns=encoder.columns_
            )
        else:
            onehot = pd.DataFrame(encoded, columns=encoder.columns_)
        return onehot, sparse

    def mine():
        frequent = fpgrowth(
            onehot,
            min_support=MIN_SUPPORT,
            use_colnames=True,
            max_len=MAX_ITEMSET_SIZE,
        )
        rules = association_rules(
            frequent,
            num_itemsets=len(onehot),
            metric="confidence",
            min_threshold=MIN_CONFIDENCE,
        )
        return frequent, rules

    baskets_run = median_run(encode)
    onehot, sparse = baskets_run.result
    mining_run = median_run(mine)
    frequent, rules = mining_run.result
    return {
        "read_s": read_s,
        "baskets_s": baskets_run.seconds,
        "mining_s": mining_run.seconds,
        "mining_cpu_s": mining_run.cpu_seconds,
        "compute_s": baskets_run.seconds + mining_run.seconds,
        "compute_cpu_s": baskets_run.cpu_seconds + mining_run.cpu_seconds,
        "orders": int(len(onehot)),
        "itemsets": int(len(frequent)),
        "rules": int(len(rules)),
        "one_hot": "sparse" if sparse else "dense",
    }


def stage_sql_queries(size_dir):
    """The compiled SQL of the compared models, each run against the
    warehouse the full build left, into an in-memory temporary table: what
    the SQL costs without dbt around it and without writing a stored table
    (the pandas and mlxtend timings do not write one either)."""
    size_dir = Path(size_dir)
    target = size_dir / "target_full"
    # the model's own compiled file, not a unit test's (which has fixtures)
    nodes = json.loads((target / "manifest.json").read_text())["nodes"]
    compiled_paths = {
        node["name"]: target
        / "compiled"
        / node["package_name"]
        / node["original_file_path"]
        for node in nodes.values()
        if node["resource_type"] == "model"
    }
    con = connect_like_profile(size_dir / "warehouse.duckdb")
    con.execute(f"set temp_directory = '{size_dir / 'duckdb_tmp'}'")
    con.execute("set TimeZone = 'UTC'")
    seconds, cpu_seconds = {}, {}
    for _, names, *_ in COMPARED_STAGES:
        for name in names:
            if name in seconds:
                continue
            if name == PLAIN_SESSIONIZATION:
                sql = PLAIN_SESSIONIZATION_SQL
            else:
                path = compiled_paths.get(name)
                if path is None or not path.exists():
                    continue
                sql = path.read_text()
            timed = median_run(
                lambda sql=sql: con.execute(f"create temp table bench_query as {sql}"),
                after=lambda: con.execute("drop table bench_query"),
            )
            seconds[name], cpu_seconds[name] = timed.seconds, timed.cpu_seconds
    return {"query_s": seconds, "query_cpu_s": cpu_seconds}


STAGES = {
    "floor": stage_floor,
    "pandas_sessions": stage_pandas_sessions,
    "pandas_rfm": stage_pandas_rfm,
    "mlxtend": stage_mlxtend,
    "sql_queries": stage_sql_queries,
}


def run_stage(name, events_path, result_path, *, log_path, timeout=None):
    """Run a stage in a child process and merge its own timings in."""
    result_path.unlink(missing_ok=True)
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--stage",
        name,
        "--events",
        str(events_path),
        "--result",
        str(result_path),
    ]
    measured = measure(command, log_path=log_path, timeout=timeout)
    if measured["timed_out"]:
        measured["status"] = "cap hit"
    elif measured["returncode"] != 0 or not result_path.exists():
        measured["status"] = "failed"
        print(
            f"bench: stage {name} failed; last lines of {log_path}:\n"
            + _tail(log_path),
            file=sys.stderr,
        )
    else:
        measured["status"] = "ok"
        measured.update(json.loads(result_path.read_text()))
    return measured


# ---------------------------------------------------------------------------
# dbt.
# ---------------------------------------------------------------------------


def run_dbt_build(
    events_path,
    size_dir,
    label,
    *,
    project_dir,
    profiles_dir,
    timeout,
    command=("build",),
    start_from_target=None,
):
    """``dbt build`` (or ``command``) the project into size_dir's database;
    returns measurements and per-model times from run_results.json.

    With ``start_from_target``, the run's target folder starts as a copy of
    that one, so dbt can reuse its parsed project (partial parsing)."""
    target = size_dir / f"target_{label}"
    shutil.rmtree(target, ignore_errors=True)
    if start_from_target is not None:
        shutil.copytree(start_from_target, target)
        (target / "run_results.json").unlink(missing_ok=True)
    env = {
        **os.environ,
        "CUSTOMER_ANALYTICS_DB": str(size_dir / "warehouse.duckdb"),
        "CUSTOMER_ANALYTICS_TEMP_DIR": str(size_dir / "duckdb_tmp"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    dbt_vars = {
        "events_path": str(events_path),
        "events_format": "canonical",
        # mlxtend runs at these thresholds, so the rules compared are the same
        "association_min_support": MIN_SUPPORT,
        "association_min_confidence": MIN_CONFIDENCE,
        "association_max_itemset_size": MAX_ITEMSET_SIZE,
    }
    command = [
        DBT,
        *command,
        "--profiles-dir",
        str(profiles_dir or "profiles"),
        "--target-path",
        str(target),
        "--log-path",
        str(size_dir / f"logs_{label}"),
        "--vars",
        json.dumps(dbt_vars),
    ]
    measured = measure(
        command,
        log_path=size_dir / f"dbt_{label}.log",
        env=env,
        cwd=project_dir,
        timeout=timeout,
    )
    measured["models"] = _model_times(target / "run_results.json")
    measured["incremental_models"] = _incremental_models(target / "manifest.json")
    if measured["timed_out"]:
        measured["status"] = "cap hit"
    elif measured["returncode"] != 0:
        measured["status"] = "failed"
    else:
        measured["status"] = "ok"
    if measured["status"] != "ok":
        print(
            f"bench: dbt build ({label}) {measured['status']}; last lines of "
            f"{measured['log']}:\n" + _tail(measured["log"]),
            file=sys.stderr,
        )
    return measured


def _model_times(run_results):
    try:
        results = json.loads(run_results.read_text())["results"]
    except (OSError, ValueError, KeyError):
        return {}
    times = {}
    for result in results:
        kind, _, name = result["unique_id"].split(".", 2)
        if kind in ("model", "seed"):
            times[name.split(".")[-1]] = {
                "kind": kind,
                "status": result["status"],
                "seconds": result.get("execution_time") or 0.0,
            }
    tests = [r for r in results if r["unique_id"].startswith("test.")]
    if not tests:  # a run without tests (dbt run)
        return times
    times["(all data tests)"] = {
        "kind": "test",
        "status": f"{sum(r['status'] == 'pass' for r in tests)}/{len(tests)} pass",
        "seconds": sum(r.get("execution_time") or 0.0 for r in tests),
    }
    return times


def _incremental_models(manifest):
    try:
        nodes = json.loads(manifest.read_text())["nodes"].values()
    except (OSError, ValueError, KeyError):
        return []
    return sorted(
        n["name"]
        for n in nodes
        if n.get("resource_type") == "model"
        and n.get("config", {}).get("materialized") == "incremental"
    )


def sql_query_seconds(result, names):
    """Summed in-memory query time of the stage's models, or None."""
    queries = result.get("sql_queries") or {}
    if queries.get("status") != "ok":
        return None
    found = [queries["query_s"][n] for n in names if n in queries["query_s"]]
    return sum(found) if found else None


def sql_stage_seconds(models, names):
    """Summed execution time of the stage's models that ran, or None."""
    found = [
        models[n]["seconds"]
        for n in names
        if n in models and models[n]["status"] == "success"
    ]
    return sum(found) if found else None


# ---------------------------------------------------------------------------
# One size.
# ---------------------------------------------------------------------------


def generate_cached(size, work_dir, seed, dirty_share):
    """Generate (or reuse) the main and append-day files for one size."""
    size_dir = work_dir / f"n{size}_seed{seed}_dirty{dirty_share:g}"
    events = size_dir / "events.parquet"
    meta_path = size_dir / "generated.json"
    if meta_path.exists() and events.exists():
        meta = json.loads(meta_path.read_text())
        meta["cached"] = True
        return size_dir, meta
    size_dir.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        str(GENERATOR),
        "--events",
        str(size),
        "--out",
        str(events),
        "--seed",
        str(seed),
        "--dirty-share",
        str(dirty_share),
        "--append-day",
    ]
    meta = measure(command, log_path=size_dir / "generate.log")
    if meta["returncode"] != 0:
        raise RuntimeError(f"generating {size} events failed:\n{_tail(meta['log'])}")
    meta["cached"] = False
    meta_path.write_text(json.dumps(meta, indent=2))
    return size_dir, meta


def bench_size(size, args):
    def say(text):
        print(f"bench [{size:,}]: {text}", file=sys.stderr)

    say("generating")
    size_dir, generated = generate_cached(
        size, args.work_dir, args.seed, args.dirty_share
    )
    events = size_dir / "events.parquet"
    # dbt reads a folder through one glob that never changes, as a scheduled
    # run would; the append day arrives in it after the full build
    inbox = size_dir / "input"
    shutil.rmtree(inbox, ignore_errors=True)
    inbox.mkdir()
    (inbox / "events.parquet").symlink_to(events)
    arrived = inbox / "events_append_day.parquet"
    in_inbox = inbox / "events*.parquet"
    warehouse = size_dir / "warehouse.duckdb"
    after_full = size_dir / "warehouse_after_full.duckdb"
    result = {
        "size": size,
        "generate": generated,
        "dir": str(size_dir),
        # other work on a shared machine shows here; quote it with the times
        "load_at_start": os.getloadavg()[0],
    }

    def dbt(label, **options):
        # every dbt run of this size: same input glob, folder and settings
        return run_dbt_build(
            in_inbox,
            size_dir,
            label,
            project_dir=args.project_dir,
            profiles_dir=args.profiles_dir,
            timeout=args.dbt_timeout,
            **options,
        )

    if not args.skip_dbt:
        for stale in size_dir.glob("warehouse*.duckdb*"):
            stale.unlink()
        say("full dbt build")
        result["full"] = dbt("full")
        if result["full"]["status"] == "ok":
            say("the compared models' SQL, without dbt")
            result["sql_queries"] = run_stage(
                "sql_queries",
                size_dir,
                size_dir / "sql_queries.json",
                log_path=size_dir / "sql_queries.log",
            )
            # in the full build they share the cores with the SQL models
            # beside them; alone they show what they cost by themselves
            say("the recommender's models alone")
            result["recommender_alone"] = dbt(
                "recommender",
                command=("run", "--select", *RECOMMENDER_MODELS),
                start_from_target=size_dir / "target_full",
            )
            shutil.copyfile(warehouse, after_full)
            # the copy (3 GB at 10 million events) is written back to disk
            # now, not while the daily run is timed
            os.sync()
            arrived.symlink_to(size_dir / "events_append_day.parquet")
            say("daily run (dbt run --selector daily)")
            result["daily"] = dbt(
                "daily",
                command=("run", "--selector", "daily"),
                start_from_target=size_dir / "target_full",
            )
            # the whole project on the same new day, from the full build's
            # warehouse again (same path, so partial parsing holds)
            shutil.move(warehouse, size_dir / "warehouse_daily.duckdb")
            shutil.move(after_full, warehouse)
            say("incremental dbt build of the whole project")
            result["incremental"] = dbt(
                "incremental",
                start_from_target=size_dir / "target_full",
            )

    for name, timeout in (
        ("floor", None),
        ("pandas_sessions", None),
        ("pandas_rfm", None),
        ("mlxtend", args.mlxtend_timeout),
    ):
        say(name)
        result[name] = run_stage(
            name,
            events,
            size_dir / f"{name}.json",
            log_path=size_dir / f"{name}.log",
            timeout=timeout,
        )
    if size in args.spark_sizes and not args.skip_dbt:
        say("full dbt build on local Spark")
        result["spark"] = run_spark_build(events, size_dir / "spark")
    result["load_at_end"] = os.getloadavg()[0]
    return result


def run_spark_build(events_path, workdir):
    """The full SQL build (models and tests) on local Spark, measured by
    scripts/bench_spark.py; a failure is reported, not raised, so the DuckDB
    measurements are still written."""
    sys.path.insert(0, str(PROJECT_DIR / "scripts"))
    from bench_spark import bench_spark_build

    try:
        measured = bench_spark_build(events_path, workdir=workdir)
    except (FileNotFoundError, RuntimeError) as error:
        print(f"bench: Spark build failed: {error}", file=sys.stderr)
        return {"status": "failed", "error": str(error)[-2000:]}
    measured["dbt_status"], measured["status"] = measured["status"], "ok"
    return measured


# ---------------------------------------------------------------------------
# Report.
# ---------------------------------------------------------------------------


def machine_description():
    def version(package):
        try:
            return importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"

    memory_kib = 0
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                memory_kib = int(line.split()[1])
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory_kib / 1024 / 1024, 1),
        "python": platform.python_version(),
        "duckdb": version("duckdb"),
        "dbt-core": version("dbt-core"),
        "dbt-duckdb": version("dbt-duckdb"),
        "pandas": version("pandas"),
        "mlxtend": version("mlxtend"),
        "duckdb_threads": os.environ.get("CUSTOMER_ANALYTICS_THREADS", "2"),
        "duckdb_memory_limit": os.environ.get("CUSTOMER_ANALYTICS_MEMORY_LIMIT", "3GB"),
    }


def _s(value):
    if value is None:
        return "n/a"
    return f"{value:.2f}" if value >= 0.1 else f"{value:.3f}"


def _ratio(numerator, denominator):
    if numerator is None or not denominator:
        return "n/a"
    return f"{numerator / denominator:.2f}×"


def _wall(stage):
    """Wall seconds of a measured stage, or its status when it did not finish."""
    if stage is None:
        return "n/a"
    if stage.get("status", "ok") != "ok":
        return stage["status"]
    return f"{stage['wall_s']:.2f}"


def check_targets(r):
    """(target, measured, met) rows for one size; met is None when a
    measurement is missing."""
    full, incremental = r.get("full") or {}, r.get("incremental") or {}
    daily = r.get("daily") or {}
    models = full.get("models", {})
    full_s = full.get("wall_s") if full.get("status") == "ok" else None
    incremental_s = (
        incremental.get("wall_s") if incremental.get("status") == "ok" else None
    )
    daily_s = daily.get("wall_s") if daily.get("status") == "ok" else None
    floor_s = r["floor"].get("scan_s") if r["floor"]["status"] == "ok" else None
    sessionize_sql = sql_stage_seconds(models, ("int_events_sessionized",))
    sessionize_alone = sql_query_seconds(r, ("int_events_sessionized",))
    sessionize_plain = sql_query_seconds(r, (PLAIN_SESSIONIZATION,))
    rules_alone = sql_query_seconds(r, ("association_rules",))
    pandas = r["pandas_sessions"]
    sessionize_pandas = pandas.get("sessionize_s") if pandas["status"] == "ok" else None
    pandas_from_file = (
        pandas["read_s"] + pandas["parse_s"] + pandas["sessionize_s"]
        if pandas["status"] == "ok"
        else None
    )
    rules_sql = sql_stage_seconds(models, ("association_rules",))
    recommender_s = (
        sql_stage_seconds(models, RECOMMENDER_MODELS)
        if all(models.get(n, {}).get("status") == "success" for n in RECOMMENDER_MODELS)
        else None
    )
    alone = r.get("recommender_alone") or {}
    recommender_alone_s = (
        sql_stage_seconds(alone.get("models", {}), RECOMMENDER_MODELS)
        if alone.get("status") == "ok"
        else None
    )
    mlxtend = r["mlxtend"]
    rules_alt = mlxtend.get("compute_s") if mlxtend["status"] == "ok" else None
    mining_alt = mlxtend.get("mining_s") if mlxtend["status"] == "ok" else None

    def row(target, numerator, denominator, limit, *, at_least, unit="×"):
        if numerator is None or not denominator:
            return target, "n/a", None
        value = numerator / denominator
        met = value >= limit if at_least else value < limit
        shown = f"{value:.2f}{unit}" if unit == "×" else f"{value:.0f}{unit}"
        return target, shown, met

    rows = [
        row(
            f"full build under {FULL_BUILD_TARGET_S} s",
            full_s,
            1,
            FULL_BUILD_TARGET_S,
            at_least=False,
            unit=" s",
        ),
        row(
            f"full build peak under {PEAK_MEMORY_TARGET_MB} MB",
            full.get("peak_rss_mb") if full_s else None,
            1,
            PEAK_MEMORY_TARGET_MB,
            at_least=False,
            unit=" MB",
        ),
        row(
            f"sessionization (model) at least {SESSIONIZATION_SPEEDUP_TARGET}× "
            "faster than pandas (compute only)",
            sessionize_pandas,
            sessionize_sql,
            SESSIONIZATION_SPEEDUP_TARGET,
            at_least=True,
        ),
        row(
            f"sessionization (model) at least {SESSIONIZATION_SPEEDUP_TARGET}× "
            "faster than pandas (read + parse + compute)",
            pandas_from_file,
            sessionize_sql,
            SESSIONIZATION_SPEEDUP_TARGET,
            at_least=True,
        ),
        row(
            f"sessionization (model's SQL alone) at least "
            f"{SESSIONIZATION_SPEEDUP_TARGET}× faster than pandas (compute only)",
            sessionize_pandas,
            sessionize_alone,
            SESSIONIZATION_SPEEDUP_TARGET,
            at_least=True,
        ),
        row(
            f"sessionization (plain SQL, pandas' work) at least "
            f"{SESSIONIZATION_SPEEDUP_TARGET}× faster than pandas (compute only)",
            sessionize_pandas,
            sessionize_plain,
            SESSIONIZATION_SPEEDUP_TARGET,
            at_least=True,
        ),
        row(
            f"sessionization (model) within {SESSIONIZATION_FLOOR_TARGET}× the "
            "floor",
            sessionize_sql,
            floor_s,
            SESSIONIZATION_FLOOR_TARGET,
            at_least=False,
        ),
        row(
            f"sessionization (model's SQL alone) within "
            f"{SESSIONIZATION_FLOOR_TARGET}× the floor",
            sessionize_alone,
            floor_s,
            SESSIONIZATION_FLOOR_TARGET,
            at_least=False,
        ),
        row(
            f"sessionization (plain SQL, pandas' work) within "
            f"{SESSIONIZATION_FLOOR_TARGET}× the floor",
            sessionize_plain,
            floor_s,
            SESSIONIZATION_FLOOR_TARGET,
            at_least=False,
        ),
        row(
            f"association rules (model) at least {RULES_SPEEDUP_TARGET}× faster "
            "than mlxtend (baskets + one-hot + mining)",
            rules_alt,
            rules_sql,
            RULES_SPEEDUP_TARGET,
            at_least=True,
        ),
        row(
            f"association rules (SQL alone) at least {RULES_SPEEDUP_TARGET}× "
            "faster than mlxtend (baskets + one-hot + mining)",
            rules_alt,
            rules_alone,
            RULES_SPEEDUP_TARGET,
            at_least=True,
        ),
        row(
            f"association rules (SQL alone, its baskets included) at least "
            f"{RULES_SPEEDUP_TARGET}× faster than mlxtend's mining alone",
            mining_alt,
            rules_alone,
            RULES_SPEEDUP_TARGET,
            at_least=True,
        ),
        row(
            f"recommendation models, training and evaluation, under "
            f"{RECOMMENDER_TARGET_S} s, in the full build "
            f"({', '.join(RECOMMENDER_MODELS)})",
            recommender_s,
            1,
            RECOMMENDER_TARGET_S,
            at_least=False,
            unit=" s",
        ),
        row(
            f"recommendation models, training and evaluation, under "
            f"{RECOMMENDER_TARGET_S} s, run alone after the build "
            "(`dbt run --select` of the same models)",
            recommender_alone_s,
            1,
            RECOMMENDER_TARGET_S,
            at_least=False,
            unit=" s",
        ),
        row(
            f"daily run (SQL models, no retraining, no tests) under "
            f"{INCREMENTAL_SHARE_TARGET:.0%} of the full build",
            daily_s,
            full_s,
            INCREMENTAL_SHARE_TARGET,
            at_least=False,
        ),
        row(
            f"incremental build with retraining and tests under "
            f"{INCREMENTAL_SHARE_TARGET:.0%} of the full build",
            incremental_s,
            full_s,
            INCREMENTAL_SHARE_TARGET,
            at_least=False,
        ),
    ]
    if mlxtend["status"] == "cap hit":
        # The cap stopped the whole stage (imports, reading, every timed
        # run), so it bounds no single run from below: no verdict.
        rows = [
            (target, f"n/a (mlxtend stopped at {mlxtend['wall_s']:.3g} s)", None)
            if target.startswith("association rules")
            else (target, measured, met)
            for target, measured, met in rows
        ]
    return rows


def cpu_comparisons(r):
    """Per compared stage whose SQL ran alone: (stage, SQL wall s, SQL CPU
    s, alternative wall s, alternative CPU s). The alternatives run on one
    core and DuckDB on its threads, so the wall-clock speedup is the speedup
    per CPU second times the cores DuckDB kept busy."""
    queries = r.get("sql_queries") or {}
    if queries.get("status") != "ok" or "query_cpu_s" not in queries:
        return []
    rows = []
    for stage, names, _, key, timing in COMPARED_STAGES:
        alternative = r.get(key) or {}
        cpu_timing = timing.removesuffix("_s") + "_cpu_s"
        if alternative.get("status") != "ok" or cpu_timing not in alternative:
            continue
        if not all(n in queries["query_cpu_s"] for n in names):
            continue
        rows.append(
            (
                stage,
                sum(queries["query_s"][n] for n in names),
                sum(queries["query_cpu_s"][n] for n in names),
                alternative[timing],
                alternative[cpu_timing],
            )
        )
    return rows


def cpu_comparison_line(size, row):
    """One row of the CPU table, from a row of ``cpu_comparisons``."""
    stage, sql_s, sql_cpu_s, alt_s, alt_cpu_s = row
    cores_busy = f"{sql_cpu_s / sql_s:.1f}" if sql_s else "n/a"
    return (
        f"| {size:,} | {stage} | {_s(sql_s)} | {_s(sql_cpu_s)} | {cores_busy} "
        f"| {_s(alt_s)} | {_s(alt_cpu_s)} | {_ratio(alt_s, sql_s)} "
        f"| {_ratio(alt_cpu_s, sql_cpu_s)} |"
    )


def _peak(stage):
    """A run's peak memory, or n/a for a run that failed or was stopped
    (its peak is of a run cut short)."""
    if not stage or stage.get("status", "ok") != "ok" or "peak_rss_mb" not in stage:
        return "n/a"
    return f"{stage['peak_rss_mb']:.0f}"


def _cpu(stage):
    if not stage or stage.get("status", "ok") != "ok" or "cpu_s" not in stage:
        return "n/a"
    return f"{stage['cpu_s']:.0f}"


def render(results, machine, args):
    lines = [
        "# Benchmark",
        "",
        f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC with "
        f"`scripts/bench.py` (seed {args.seed}, dirty share {args.dirty_share:g}, "
        f"mlxtend cap {args.mlxtend_timeout:g} s).",
        "",
        f"Machine: {machine['cpu']}, {machine['cores']} cores, "
        f"{machine['memory_gib']} GiB memory. Python {machine['python']}, "
        f"duckdb {machine['duckdb']}, dbt-core {machine['dbt-core']}, "
        f"dbt-duckdb {machine['dbt-duckdb']}, pandas {machine['pandas']}, "
        f"mlxtend {machine['mlxtend']}. DuckDB threads "
        f"{machine['duckdb_threads']}, memory limit {machine['duckdb_memory_limit']}.",
        "",
        "Load average (1 minute) at the start and end of each size: "
        + ", ".join(
            f"{r['size']:,}: {r.get('load_at_start', 0):.1f} / "
            f"{r.get('load_at_end', 0):.1f}"
            for r in results
        )
        + f" (on {machine['cores']} cores; above that, other work shared them).",
        "",
        "Wall times are seconds of the whole process (dbt includes its start-up "
        "and parsing); CPU seconds are user plus system time of the process "
        "tree, which other work on the machine disturbs less; peak memory is "
        "the summed resident memory of the process tree. Stage times are "
        "dbt's per-model execution times and, for the alternatives, the "
        "computation alone (reading and parsing the file are "
        "shown separately).",
        "",
        "## Whole runs",
        "",
        "| events | generate s | full build s | full CPU s | full peak MB "
        "| daily s | daily CPU s | daily peak MB | daily / full "
        "| incremental build s | incremental CPU s | incremental peak MB "
        "| incremental / full | floor scan s | full build / floor |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        full, incremental, floor = r.get("full"), r.get("incremental"), r["floor"]
        daily = r.get("daily")
        daily_s = daily["wall_s"] if daily and daily["status"] == "ok" else None
        full_s = full["wall_s"] if full and full["status"] == "ok" else None
        incremental_s = (
            incremental["wall_s"]
            if incremental and incremental["status"] == "ok"
            else None
        )
        floor_s = floor.get("scan_s") if floor["status"] == "ok" else None
        generated = f"{r['generate']['wall_s']:.1f}"
        if r["generate"]["cached"]:
            generated += " (cached)"
        lines.append(
            f"| {r['size']:,} | {generated} | {_wall(full)} | {_cpu(full)} "
            f"| {_peak(full)} | {_wall(daily)} | {_cpu(daily)} | {_peak(daily)} "
            f"| {_ratio(daily_s, full_s)} | {_wall(incremental)} "
            f"| {_cpu(incremental)} | {_peak(incremental)} "
            f"| {_ratio(incremental_s, full_s)} "
            f"| {_s(floor_s)} | {_ratio(full_s, floor_s)} |"
        )

    lines += [
        "",
        "Full build: `dbt build` of the whole project (models, Python models, "
        "every test) on a new warehouse. Daily: `dbt run --selector daily` "
        "once one more day of events has arrived: every SQL model, the large "
        "ones incrementally, without retraining the Python models and without "
        "tests. Incremental build: the same new day from the full build's "
        "warehouse with `dbt build` of the whole project: the SQL models "
        "incrementally, the Python models retrained and every test run. Both "
        "start from a copy of the full build's target folder (partial "
        "parsing).",
    ]
    lines += render_spark(results)
    lines += [
        "## Stages against their alternatives",
        "",
        "| events | stage | dbt models s | SQL alone s | alternative | read s "
        "| parse s | compute s | peak MB | dbt / alternative "
        "| SQL alone / alternative |",
        "|---:|---|---:|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        models = (r.get("full") or {}).get("models", {})
        for stage, names, alternative, key, timing in COMPARED_STAGES:
            sql = sql_stage_seconds(models, names)
            alone = sql_query_seconds(r, names)
            alt = r[key]
            ok = alt["status"] == "ok"
            compute = alt.get(timing) if ok else None
            read = alt.get("read_s", alt.get("prepare_s")) if ok else None
            parse = alt.get("parse_s") if ok else None
            shown = _s(compute) if ok else alt["status"]
            lines.append(
                f"| {r['size']:,} | {stage} | {_s(sql)} | {_s(alone)} | {alternative} "
                f"| {_s(read)} | {_s(parse)} | {shown} | {alt['peak_rss_mb']:.0f} "
                f"| {_ratio(sql, compute)} | {_ratio(alone, compute)} |"
            )
    lines += [
        "",
        "dbt models per stage: "
        + "; ".join(
            f"{stage}: {', '.join(names)}" for stage, names, *_ in COMPARED_STAGES
        )
        + '. "dbt models s" are dbt\'s execution times: the query plus '
        "writing the table, its contract and its column comments. \"SQL alone "
        's" runs the same compiled SQL again after the build into an '
        "in-memory temporary table, as the alternatives keep their results in "
        "memory. It, the floor's scan and each step of pandas' and mlxtend's "
        f"compute are each the median of {TIMING_RUNS} runs in one process. "
        'For mlxtend, "read s" is reading the file and keeping the purchase '
        "lines; its compute is building the baskets and mlxtend's one-hot "
        "table, then mining. The SQL starts from int_order_lines (purchase "
        "and return lines) and keeps the merchandise purchases inside its "
        "time. The row \"mlxtend's mining only\" leaves the baskets and the "
        "one-hot table out of mlxtend's time while the SQL still builds its "
        "baskets. A capped mlxtend gets no ratio. Both sides mine at support "
        f"{MIN_SUPPORT:g}, confidence {MIN_CONFIDENCE:g}, itemsets up to "
        f"{MAX_ITEMSET_SIZE} (passed to dbt as vars).",
        "",
    ]
    cpu_lines = [
        cpu_comparison_line(r["size"], row)
        for r in results
        for row in cpu_comparisons(r)
    ]
    if cpu_lines:
        lines += [
            "## CPU time of the compared computations",
            "",
            "| events | stage | SQL alone s | SQL alone CPU s | cores busy "
            "| alternative s | alternative CPU s | speedup, wall "
            "| speedup per CPU second |",
            "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
            *cpu_lines,
            "",
            "The same computations as above, with the median CPU time of the "
            "process over the same runs (every thread's). Cores busy is the "
            "SQL's CPU median over its wall median. pandas and mlxtend "
            f"compute on one core; DuckDB runs on {machine['duckdb_threads']} "
            "threads. So the speedup on the wall clock is the speedup per CPU "
            "second times the cores DuckDB kept busy: a 3× speedup with two "
            "cores busy needs the SQL to spend at most two thirds of the "
            "alternative's CPU time.",
            "",
        ]
    lines += [
        "## Targets",
        "",
        "Set for 10 million events; checked at every size.",
        "",
        "| events | target | measured | met |",
        "|---:|---|---:|---|",
    ]
    for r in results:
        for target, measured, met in check_targets(r):
            lines.append(
                f"| {r['size']:,} | {target} | {measured} "
                f"| {'n/a' if met is None else 'yes' if met else 'no'} |"
            )

    for r in results:
        models = (r.get("full") or {}).get("models")
        if not models:
            continue
        incremental = (r.get("incremental") or {}).get("models", {})
        daily = (r.get("daily") or {}).get("models", {})
        lines += [
            "",
            f"## Per-model times, {r['size']:,} events",
            "",
            "| node | full build s | daily run s | incremental build s | status |",
            "|---|---:|---:|---:|---|",
        ]
        for name, m in sorted(models.items(), key=lambda kv: -kv[1]["seconds"]):
            again = incremental.get(name, {}).get("seconds")
            that_day = daily.get(name, {}).get("seconds")
            lines.append(
                f"| {name} | {m['seconds']:.2f} | {_s(that_day)} | {_s(again)} "
                f"| {m['status']} |"
            )
        incremental_models = r["full"].get("incremental_models") or []
        lines += [
            "",
            "Incremental models: " + (", ".join(incremental_models) or "none") + ".",
        ]
    return "\n".join(lines) + "\n"


def render_spark(results):
    """The Spark column: the same SQL build on local Spark against DuckDB."""
    spark_runs = [r for r in results if "spark" in r]
    if not spark_runs:
        return [""]
    lines = [
        "",
        "## On local Spark",
        "",
        "| events | Spark build s | Spark CPU s | Spark peak MB "
        "| Spark SQL models s | DuckDB SQL models s | Spark / DuckDB | status |",
        "|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in spark_runs:
        spark, full = r["spark"], r.get("full") or {}
        # the SQL models both engines build (Spark runs no Python models)
        duckdb_sql = sum(
            m["seconds"]
            for name, m in full.get("models", {}).items()
            if m["kind"] == "model" and name in spark.get("models_s", {})
        )
        if spark["status"] != "ok":
            lines.append(
                f"| {r['size']:,} | n/a | n/a | n/a | n/a | {_s(duckdb_sql)} "
                f"| n/a | {spark['status']} |"
            )
            continue
        spark_sql = sum(spark["models_s"].values())
        lines.append(
            f"| {r['size']:,} | {spark['wall_s']:.1f} | {spark['cpu_s']:.0f} "
            f"| {spark['peak_rss_mb']:.0f} | {_s(spark_sql)} | {_s(duckdb_sql)} "
            f"| {_ratio(spark_sql, duckdb_sql)} | ok |"
        )
    lines += [
        "",
        "Spark: `dbt build --target spark` of every SQL model, seed and test "
        "(dbt-spark's session method, local PySpark on both cores, a new "
        "warehouse; scripts/bench_spark.py), peak memory including the JVM. "
        "The two model columns are dbt's summed execution times of the same "
        "SQL models on each engine (the Python models run only on DuckDB; "
        "tests are left out of both, as the test sets differ).",
        "",
    ]
    return lines


REPORT_BEGIN = "<!-- bench.py writes from here -->"
REPORT_END = "<!-- bench.py writes up to here -->"


def merge_report(path, report):
    """The text to write to ``path``: the report alone, or, when the file
    exists and has the two markers, the file with the report put between
    them, keeping what was written by hand around them (such as profiling
    notes from before and after a change)."""
    try:
        existing = Path(path).read_text()
    except OSError:
        return report
    if REPORT_BEGIN not in existing or REPORT_END not in existing:
        return report
    block = f"{REPORT_BEGIN}\n{report}{REPORT_END}\n"
    head, rest = existing.split(REPORT_BEGIN, 1)
    tail = rest.split(REPORT_END, 1)[1].lstrip("\n")
    return head + block + ("\n" + tail if tail else "")


# ---------------------------------------------------------------------------
# Command line.
# ---------------------------------------------------------------------------


def _sizes(text):
    try:
        sizes = [int(float(part)) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            "--sizes must be comma-separated event counts like 100000,1000000, "
            f"got {text!r}"
        ) from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(
            f"--sizes must be positive counts, got {text!r}"
        )
    return sizes


def _spark_sizes(text):
    """Like --sizes, but 0 (or nothing) means no Spark build at all."""
    if text.strip() in ("", "0"):
        return []
    return _sizes(text)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        type=_sizes,
        default=[100_000],
        help="comma-separated event counts (default 100000)",
    )
    parser.add_argument("--out", type=Path, help="write the markdown report here")
    parser.add_argument("--json", type=Path, help="write the raw measurements here")
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=DEFAULT_WORK_DIR,
        help=f"generated files, databases and logs (default {DEFAULT_WORK_DIR})",
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--dirty-share", type=float, default=0.002)
    parser.add_argument(
        "--mlxtend-timeout",
        type=float,
        default=300.0,
        help="seconds before mlxtend is stopped and reported as 'cap hit'",
    )
    parser.add_argument(
        "--dbt-timeout",
        type=float,
        default=7200.0,
        help="seconds before a dbt build is stopped",
    )
    parser.add_argument(
        "--project-dir",
        type=Path,
        default=PROJECT_DIR,
        help="the dbt project to build (default: this checkout)",
    )
    parser.add_argument(
        "--profiles-dir",
        type=Path,
        help="dbt profiles folder (default: the project's profiles/), e.g. to "
        "try other DuckDB settings",
    )
    parser.add_argument(
        "--skip-dbt",
        action="store_true",
        help="measure only the generator, floor and alternatives",
    )
    parser.add_argument(
        "--spark-sizes",
        type=_spark_sizes,
        default=[1_000_000],
        help="sizes also built on local Spark, needs .venv-spark "
        "(default 1000000; pass 0 for none)",
    )
    parser.add_argument("--stage", choices=sorted(STAGES), help=argparse.SUPPRESS)
    parser.add_argument("--events", help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.stage:
        outcome = STAGES[args.stage](args.events)
        args.result.write_text(json.dumps(outcome))
        return 0

    args.work_dir = args.work_dir.resolve()
    if args.profiles_dir:
        args.profiles_dir = args.profiles_dir.resolve()
    machine = machine_description()
    results = []
    for size in args.sizes:
        results.append(bench_size(size, args))
        if args.json:
            # saved after every size, so a long run that is stopped keeps
            # what it measured
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(
                json.dumps({"machine": machine, "results": results}, indent=2)
            )
    report = render(results, machine, args)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(merge_report(args.out, report))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps({"machine": machine, "results": results}, indent=2)
        )
    print(report)

    failed = [
        f"{r['size']:,} events: dbt {label} build {r[label]['status']}"
        for r in results
        for label in ("full", "daily", "incremental")
        if label in r and r[label]["status"] != "ok"
    ] + [
        f"{r['size']:,} events: {stage} failed"
        for r in results
        for stage in STAGES
        if stage in r and r[stage]["status"] == "failed"
    ]
    if failed:
        print("bench: " + "; ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
