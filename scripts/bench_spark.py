"""Benchmark the Spark build: one canonical Parquet file on local Spark.

    python scripts/bench_spark.py EVENTS.parquet [--workdir DIR] [--skip-tests]

Runs ``dbt build --target spark`` (seeds, SQL models and, unless
--skip-tests, their data and unit tests; customer_scores is left out, as
it needs scripts/spark_ml.py) with the vars events_path=EVENTS.parquet and
events_format=canonical, into a fresh Spark warehouse under --workdir, and
prints one JSON object:

    wall_s          seconds from start to end of the dbt process
    cpu_s           user + system CPU seconds of the whole process tree
                    (dbt's Python and Spark's JVM), read from /proc
    peak_rss_mb     the largest sum of resident memory of that tree,
                    sampled every 0.2 s
    models_s        each model's execution time from dbt's run_results.json
    tests_s         the data and unit tests' summed execution time
    status          dbt's exit code and the count of results per status

Only the standard library is used, so scripts/bench.py can import
``bench_spark`` from the DuckDB virtualenv; the build itself runs with
.venv-spark/bin/dbt (`make spark-venv`). Linux only (/proc).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
SPARK_DBT = PROJECT_DIR / ".venv-spark" / "bin" / "dbt"
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

__all__ = ["bench_spark_build", "main"]


def _process_table() -> dict[int, tuple[int, float, int]]:
    """pid -> (parent pid, CPU seconds, resident bytes) for every process."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                stat = handle.read()
        except OSError:
            continue
        # the command name may hold spaces; fields follow the last ")"
        fields = stat[stat.rfind(")") + 2 :].split()
        parent = int(fields[1])
        cpu = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
        resident = int(fields[21]) * PAGE_BYTES
        table[int(entry)] = (parent, cpu, resident)
    return table


def _tree(table: dict, root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for pid, (parent, _, _) in table.items():
        children.setdefault(parent, []).append(pid)
    found, stack = [], [root]
    while stack:
        pid = stack.pop()
        if pid in table:
            found.append(pid)
            stack.extend(children.get(pid, []))
    return found


class _TreeSampler(threading.Thread):
    """Samples a process tree's memory and keeps each process's last CPU."""

    def __init__(self, root: int, interval_s: float = 0.2):
        super().__init__(daemon=True)
        self.root = root
        self.interval_s = interval_s
        self.peak_bytes = 0
        self.cpu_by_pid: dict[int, float] = {}
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            table = _process_table()
            pids = _tree(table, self.root)
            self.peak_bytes = max(
                self.peak_bytes, sum(table[pid][2] for pid in pids)
            )
            for pid in pids:
                self.cpu_by_pid[pid] = table[pid][1]
            self.done.wait(self.interval_s)


def bench_spark_build(
    events_path: Path | str,
    *,
    workdir: Path | str | None = None,
    skip_tests: bool = False,
    dbt: Path | str = SPARK_DBT,
) -> dict:
    """Build ``events_path`` (canonical Parquet) on local Spark and measure it.

    Returns the dict described in the module docstring. Raises
    FileNotFoundError when the Spark virtualenv or the input is missing and
    RuntimeError, with the end of dbt's output, when the build fails.
    """
    events_path = Path(events_path).resolve()
    if not events_path.exists():
        raise FileNotFoundError(f"no input file at {events_path}")
    if not Path(dbt).exists():
        raise FileNotFoundError(
            f"{dbt} is missing: install the Spark virtualenv with `make spark-venv`"
        )
    own_workdir = workdir is None
    workdir = Path(workdir or tempfile.mkdtemp(prefix="bench_spark_"))
    spark_dir = workdir / "spark"
    shutil.rmtree(spark_dir, ignore_errors=True)
    target = workdir / "target"
    command = [
        str(dbt), "build", "--target", "spark",
        "--project-dir", str(PROJECT_DIR),
        "--profiles-dir", str(PROJECT_DIR / "profiles"),
        "--target-path", str(target), "--log-path", str(workdir / "logs"),
        "--exclude", "customer_scores",
        "--vars", json.dumps(
            {"events_path": str(events_path), "events_format": "canonical"}
        ),
    ]
    if skip_tests:
        command += ["--exclude-resource-type", "test"]
    env = {
        **os.environ,
        "CUSTOMER_ANALYTICS_SPARK_DIR": str(spark_dir),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=PROJECT_DIR, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    sampler = _TreeSampler(process.pid)
    sampler.start()
    output = process.communicate()[0]
    wall = time.perf_counter() - started
    sampler.done.set()
    sampler.join()
    if process.returncode != 0:
        raise RuntimeError(
            f"dbt build on Spark failed ({process.returncode}):\n{output[-4000:]}"
        )
    results = json.loads((target / "run_results.json").read_text())["results"]
    statuses: dict[str, int] = {}
    for result in results:
        statuses[result["status"]] = statuses.get(result["status"], 0) + 1
    measured = {
        "engine": "spark",
        "events_path": str(events_path),
        "wall_s": round(wall, 1),
        "cpu_s": round(sum(sampler.cpu_by_pid.values()), 1),
        "peak_rss_mb": round(sampler.peak_bytes / 2**20),
        "models_s": {
            result["unique_id"].split(".")[-1]: round(result["execution_time"], 2)
            for result in results
            if result["unique_id"].startswith("model.")
        },
        "tests_s": round(
            sum(
                result["execution_time"]
                for result in results
                if result["unique_id"].startswith(("test.", "unit_test."))
            ),
            1,
        ),
        "status": {"returncode": process.returncode, "results": statuses},
    }
    if own_workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    return measured


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("events_path", type=Path, help="canonical Parquet file")
    parser.add_argument("--workdir", type=Path,
                        help="keep the Spark warehouse and dbt target here")
    parser.add_argument("--skip-tests", action="store_true",
                        help="build seeds and models only")
    options = parser.parse_args(argv)
    measured = bench_spark_build(
        options.events_path, workdir=options.workdir, skip_tests=options.skip_tests
    )
    print(json.dumps(measured, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
