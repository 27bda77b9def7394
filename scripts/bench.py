"""Benchmark the project against plain-Python alternatives at several sizes.

For each size the script generates events (cached), then measures, each in
its own process so that wall time and peak memory are comparable:

- full:        ``dbt build`` of the whole project on a fresh DuckDB file;
- incremental: ``dbt build`` again after the append-day file arrives (the
               events_path var becomes a glob matching both files);
- floor:       one DuckDB scan of the raw Parquet touching every column;
- pandas:      notebook-style sessionization (30-minute rule) and RFM;
- mlxtend:     fpgrowth + association_rules on the order baskets, stopped
               after --mlxtend-timeout seconds ("cap hit").

Peak memory is the largest sum of VmRSS over the process and its children,
read from /proc every 0.1 s (pages shared between processes count twice).
Per-model times come from dbt's run_results.json. A failing dbt build is
reported with the tail of its log and makes the script exit with status 1;
the other measurements are still written.

Usage::

    python scripts/bench.py --sizes 100000,1000000 --out docs/benchmark.md

Run from anywhere; dbt runs in the project directory with its own database,
target and log folders inside --work-dir.
"""

import argparse
import datetime as dt
import importlib.metadata
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

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

# Which dbt models do the work each alternative is compared with. Models not
# (yet) in the project are skipped; a stage with none of them shows "n/a".
SQL_STAGES = {
    "sessions": ("int_events_sessionized", "fct_sessions"),
    "rfm": ("customer_rfm",),
    "association rules": ("association_rules",),
}


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
    """Run ``command``; return wall seconds, peak tree RSS and how it ended.

    Output goes to ``log_path``. On timeout the whole process group is
    killed and ``timed_out`` is true.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
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
    return {
        "wall_s": wall,
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


def stage_floor(events_path):
    """One DuckDB scan of the raw file that reads every column."""
    import duckdb

    con = duckdb.connect()
    # The same limits as the project's profile.
    threads = os.environ.get("CUSTOMER_ANALYTICS_THREADS", "2")
    memory_limit = os.environ.get("CUSTOMER_ANALYTICS_MEMORY_LIMIT", "4GB")
    con.execute(f"set threads = {threads}")
    con.execute(f"set memory_limit = '{memory_limit}'")
    source = f"read_parquet('{events_path}')"
    columns = [
        row[0] for row in con.execute(f"describe select * from {source}").fetchall()
    ]
    touched = ", ".join(f'sum(length(cast("{c}" as varchar)))' for c in columns)
    began = time.perf_counter()
    row = con.execute(f"select count(*), {touched} from {source}").fetchone()
    return {
        "scan_s": time.perf_counter() - began,
        "rows": row[0],
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
    began = time.perf_counter()
    events = events.sort_values(["customer_id", "event_at"], kind="stable")
    gap = events.groupby("customer_id")["event_at"].diff()
    timeout = pd.Timedelta(minutes=SESSION_TIMEOUT_MINUTES)
    events["is_new_session"] = gap.isna() | (gap > timeout)
    events["session_number"] = events.groupby("customer_id")["is_new_session"].cumsum()
    sessions = events.groupby(["customer_id", "session_number"]).agg(
        started_at=("event_at", "min"),
        ended_at=("event_at", "max"),
        event_count=("event_type", "size"),
    )
    return {
        "read_s": read_s,
        "parse_s": parse_s,
        "compute_s": time.perf_counter() - began,
        "sessions": int(len(sessions)),
    }


def stage_pandas_rfm(events_path):
    """Recency, frequency and monetary per customer, notebook style."""
    import numpy as np
    import pandas as pd

    events, read_s, parse_s = _read_events(
        events_path,
        ["customer_id", "event_at", "event_type", "price", "quantity", "order_id"],
    )
    began = time.perf_counter()
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
    rfm["monetary"] = sales.groupby("customer_id")["amount"].sum().reindex(rfm.index)
    return {
        "read_s": read_s,
        "parse_s": parse_s,
        "compute_s": time.perf_counter() - began,
        "customers": int(len(rfm)),
    }


def stage_mlxtend(events_path):
    """fpgrowth and association_rules on the baskets of purchase orders."""
    import pandas as pd
    from mlxtend.frequent_patterns import association_rules, fpgrowth
    from mlxtend.preprocessing import TransactionEncoder

    began = time.perf_counter()
    lines = pd.read_parquet(
        events_path, columns=["event_type", "order_id", "product_id"]
    )
    lines = lines[lines["event_type"].eq("purchase")].dropna()
    baskets = lines.groupby("order_id")["product_id"].agg(lambda p: sorted(set(p)))
    encoder = TransactionEncoder().fit(baskets)
    cells = len(baskets) * len(encoder.columns_)
    sparse = cells > DENSE_BASKET_CELLS
    encoded = encoder.transform(baskets, sparse=sparse)
    if sparse:
        onehot = pd.DataFrame.sparse.from_spmatrix(encoded, columns=encoder.columns_)
    else:
        onehot = pd.DataFrame(encoded, columns=encoder.columns_)
    prepare_s = time.perf_counter() - began
    began = time.perf_counter()
    frequent = fpgrowth(
        onehot, min_support=MIN_SUPPORT, use_colnames=True, max_len=MAX_ITEMSET_SIZE
    )
    rules = association_rules(
        frequent,
        num_itemsets=len(baskets),
        metric="confidence",
        min_threshold=MIN_CONFIDENCE,
    )
    return {
        "prepare_s": prepare_s,
        "compute_s": time.perf_counter() - began,
        "orders": int(len(baskets)),
        "itemsets": int(len(frequent)),
        "rules": int(len(rules)),
        "one_hot": "sparse" if sparse else "dense",
    }


STAGES = {
    "floor": stage_floor,
    "pandas_sessions": stage_pandas_sessions,
    "pandas_rfm": stage_pandas_rfm,
    "mlxtend": stage_mlxtend,
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


def run_dbt_build(events_path, size_dir, label, *, project_dir, timeout):
    """``dbt build`` the project into size_dir's database; returns measurements
    and per-model times from run_results.json."""
    target = size_dir / f"target_{label}"
    shutil.rmtree(target, ignore_errors=True)
    env = {
        **os.environ,
        "CUSTOMER_ANALYTICS_DB": str(size_dir / "warehouse.duckdb"),
        "CUSTOMER_ANALYTICS_TEMP_DIR": str(size_dir / "duckdb_tmp"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    dbt_vars = {"events_path": str(events_path), "events_format": "canonical"}
    command = [
        DBT,
        "build",
        "--profiles-dir",
        "profiles",
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
    both = size_dir / "events*.parquet"  # the main file and its append day
    result = {"size": size, "generate": generated, "dir": str(size_dir)}

    if not args.skip_dbt:
        for stale in size_dir.glob("warehouse.duckdb*"):
            stale.unlink()
        say("full dbt build")
        result["full"] = run_dbt_build(
            events,
            size_dir,
            "full",
            project_dir=args.project_dir,
            timeout=args.dbt_timeout,
        )
        if result["full"]["status"] == "ok":
            say("incremental dbt build")
            result["incremental"] = run_dbt_build(
                both,
                size_dir,
                "incremental",
                project_dir=args.project_dir,
                timeout=args.dbt_timeout,
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
    return result


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
        "duckdb_memory_limit": os.environ.get("CUSTOMER_ANALYTICS_MEMORY_LIMIT", "4GB"),
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
        "Wall times are seconds of the whole process (dbt includes its start-up "
        "and parsing); peak memory is the summed resident memory of the process "
        "tree. Stage times are dbt's per-model execution times and, for the "
        "alternatives, the computation alone (reading and parsing the file are "
        "shown separately).",
        "",
        "## Whole runs",
        "",
        "| events | generate s | full build s | full peak MB | incremental s "
        "| incremental / full | floor scan s | full build / floor |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        full, incremental, floor = r.get("full"), r.get("incremental"), r["floor"]
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
        peak = f"{full['peak_rss_mb']:.0f}" if full else "n/a"
        lines.append(
            f"| {r['size']:,} | {generated} | {_wall(full)} | {peak} "
            f"| {_wall(incremental)} | {_ratio(incremental_s, full_s)} "
            f"| {_s(floor_s)} | {_ratio(full_s, floor_s)} |"
        )

    lines += [
        "",
        "## Stages against their alternatives",
        "",
        "| events | stage | dbt models s | alternative | read s | parse s "
        "| compute s | peak MB | dbt / alternative |",
        "|---:|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        models = (r.get("full") or {}).get("models", {})
        for stage, alternative, key in (
            ("sessions", "pandas sort + diff + cumsum", "pandas_sessions"),
            ("rfm", "pandas groupby", "pandas_rfm"),
            ("association rules", "mlxtend fpgrowth", "mlxtend"),
        ):
            sql = sql_stage_seconds(models, SQL_STAGES[stage])
            alt = r[key]
            compute = alt.get("compute_s") if alt["status"] == "ok" else None
            read = (
                alt.get("read_s", alt.get("prepare_s"))
                if alt["status"] == "ok"
                else None
            )
            parse = alt.get("parse_s") if alt["status"] == "ok" else None
            shown = _s(compute) if alt["status"] == "ok" else alt["status"]
            lines.append(
                f"| {r['size']:,} | {stage} | {_s(sql)} | {alternative} | {_s(read)} "
                f"| {_s(parse)} | {shown} | {alt['peak_rss_mb']:.0f} "
                f"| {_ratio(sql, compute)} |"
            )
    lines += [
        "",
        "dbt models per stage: "
        + "; ".join(f"{k}: {', '.join(v)}" for k, v in SQL_STAGES.items())
        + '. For mlxtend, "read s" is reading the file and building the '
        "one-hot basket table.",
    ]

    for r in results:
        models = (r.get("full") or {}).get("models")
        if not models:
            continue
        incremental = (r.get("incremental") or {}).get("models", {})
        lines += [
            "",
            f"## Per-model times, {r['size']:,} events",
            "",
            "| node | full build s | incremental build s | status |",
            "|---|---:|---:|---|",
        ]
        for name, m in sorted(models.items(), key=lambda kv: -kv[1]["seconds"]):
            again = incremental.get(name, {}).get("seconds")
            lines.append(
                f"| {name} | {m['seconds']:.2f} | {_s(again)} | {m['status']} |"
            )
        incremental_models = r["full"].get("incremental_models") or []
        lines += [
            "",
            "Incremental models: " + (", ".join(incremental_models) or "none") + ".",
        ]
    return "\n".join(lines) + "\n"


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
        "--skip-dbt",
        action="store_true",
        help="measure only the generator, floor and alternatives",
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
    results = [bench_size(size, args) for size in args.sizes]
    machine = machine_description()
    report = render(results, machine, args)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(report)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps({"machine": machine, "results": results}, indent=2)
        )
    print(report)

    failed = [
        f"{r['size']:,} events: dbt {label} build {r[label]['status']}"
        for r in results
        for label in ("full", "incremental")
        if label in r and r[label]["status"] != "ok"
    ] + [
        f"{r['size']:,} events: {stage} failed"
        for r in results
        for stage in STAGES
        if r[stage]["status"] == "failed"
    ]
    if failed:
        print("bench: " + "; ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
