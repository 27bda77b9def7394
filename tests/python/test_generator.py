"""Tests of scripts/generate_events.py and a tiny run of scripts/bench.py.

The reject reasons are checked with an independent pandas reading of the
rules in int_events_classified (same precedence), so the generator is
tested without building the project.
"""

import hashlib
import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2]
SCRIPTS = PROJECT_DIR / "scripts"

EVENTS = 20_000
DIRTY_SHARE = 0.02  # 400 dirty rows, 50 per reason
REASONS = (
    "missing_customer_id",
    "unparseable_timestamp",
    "future_timestamp",
    "unknown_event_type",
    "invalid_price",
    "zero_quantity",
    "invalid_quantity",
    "duplicate_event",
)


def _load_script(name):
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


generator = _load_script("generate_events")
bench = _load_script("bench")


def _content_hash(path):
    frame = pd.read_parquet(path)
    hashed = pd.util.hash_pandas_object(frame, index=True).to_numpy()
    return hashlib.sha256(
        hashed.tobytes() + ",".join(frame.columns).encode()
    ).hexdigest()


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    out = tmp_path_factory.mktemp("generated") / "events.parquet"
    summary = generator.generate(
        EVENTS, out, seed=7, dirty_share=DIRTY_SHARE, append_day=True
    )
    return summary, pd.read_parquet(out), pd.read_parquet(summary["append_day"]["path"])


def classify(frame):
    """The reject reason of each row, following int_events_classified."""
    synonyms = pd.read_csv(PROJECT_DIR / "seeds" / "event_type_synonyms.csv")
    known = set(synonyms["source_value"].str.strip().str.lower())

    def blank(column):
        return frame[column].isna() | frame[column].str.strip().eq("")

    at = pd.to_datetime(frame["event_at"], utc=True, errors="coerce", format="ISO8601")
    now = pd.Timestamp.now(tz="UTC")
    event_type = frame["event_type"].str.strip().str.lower()
    price = pd.to_numeric(frame["price"], errors="coerce")
    quantity = pd.to_numeric(frame["quantity"], errors="coerce")
    is_return = event_type.eq("return")
    rules = [
        ("missing_customer_id", blank("customer_id")),
        ("unparseable_timestamp", at.isna()),
        ("future_timestamp", at > now + pd.Timedelta(hours=24)),
        ("unknown_event_type", ~event_type.isin(known)),
        ("invalid_price", ~blank("price") & price.isna()),
        ("invalid_price", price < 0),
        ("invalid_price", blank("price") & event_type.isin(["purchase", "return"])),
        ("zero_quantity", quantity.eq(0)),
        ("invalid_quantity", ~blank("quantity") & quantity.isna()),
        ("invalid_quantity", quantity.notna() & quantity.ne(quantity.round())),
        ("invalid_quantity", (quantity < 0) & ~is_return),
        ("duplicate_event", frame.duplicated(keep="first")),
    ]
    reason = pd.Series(None, index=frame.index, dtype=object)
    for name, applies in rules:
        reason = reason.where(reason.notna() | ~applies.fillna(False), name)
    return reason


@pytest.fixture(scope="module")
def clean(generated):
    _, events, _ = generated
    rows = events[classify(events).isna()].copy()
    rows["at"] = pd.to_datetime(rows["event_at"], utc=True, format="ISO8601")
    return rows


# ---------------------------------------------------------------------------
# Determinism and size.
# ---------------------------------------------------------------------------


def test_same_arguments_give_identical_rows(generated, tmp_path):
    summary, _, _ = generated
    again = tmp_path / "again.parquet"
    generator.generate(EVENTS, again, seed=7, dirty_share=DIRTY_SHARE, append_day=True)
    assert _content_hash(again) == _content_hash(summary["path"])
    assert _content_hash(generator.append_day_path(again)) == _content_hash(
        summary["append_day"]["path"]
    )


def test_another_seed_gives_other_rows(generated, tmp_path):
    summary, _, _ = generated
    other = tmp_path / "other.parquet"
    generator.generate(EVENTS, other, seed=8, dirty_share=DIRTY_SHARE)
    assert _content_hash(other) != _content_hash(summary["path"])


def test_main_file_does_not_depend_on_append_day(generated, tmp_path):
    summary, _, _ = generated
    alone = tmp_path / "alone.parquet"
    generator.generate(EVENTS, alone, seed=7, dirty_share=DIRTY_SHARE)
    assert _content_hash(alone) == _content_hash(summary["path"])


def test_exact_row_count_and_layout(generated):
    summary, events, _ = generated
    assert len(events) == EVENTS == summary["rows"]
    assert list(events.columns) == list(generator.COLUMNS)


def test_command_line_writes_a_file_and_names_bad_values(tmp_path):
    out = tmp_path / "cli.parquet"
    script = str(SCRIPTS / "generate_events.py")
    done = subprocess.run(
        [sys.executable, script, "--events", "1e3", "--out", str(out)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert len(pd.read_parquet(out)) == 1000
    bad = subprocess.run(
        [
            sys.executable,
            script,
            "--events",
            "1000",
            "--out",
            str(out),
            "--dirty-share",
            "1.5",
        ],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2
    assert "--dirty-share must be in [0, 1), got 1.5" in bad.stderr


# ---------------------------------------------------------------------------
# Dirty rows.
# ---------------------------------------------------------------------------


def test_each_reject_reason_is_planted_at_its_share(generated):
    _, events, _ = generated
    counts = classify(events).value_counts()
    per_reason = round(EVENTS * DIRTY_SHARE) // len(REASONS)
    assert {reason: counts.get(reason, 0) for reason in REASONS} == dict.fromkeys(
        REASONS, per_reason
    )


def test_reasons_follow_the_project_seed():
    seed = pd.read_csv(PROJECT_DIR / "seeds" / "reject_reasons.csv")
    ordered = tuple(seed.sort_values("precedence")["reject_reason"])
    assert generator.REJECT_REASONS == ordered == REASONS


def test_no_dirty_rows_when_share_is_zero(tmp_path):
    out = tmp_path / "clean.parquet"
    generator.generate(5_000, out, seed=3, dirty_share=0.0)
    assert classify(pd.read_parquet(out)).isna().all()


# ---------------------------------------------------------------------------
# Realism.
# ---------------------------------------------------------------------------


def test_funnel_steps_follow_each_other(clean):
    browsing = clean[clean["event_type"] != "return"]
    first = browsing.pivot_table(
        index=["session_id", "product_id"],
        columns="event_type",
        values="at",
        aggfunc="min",
    )
    carts = first[first["cart"].notna()]
    assert (carts["view"] <= carts["cart"]).all()
    bought = first[first["purchase"].notna()]
    assert (bought["cart"] <= bought["purchase"]).all()
    removed = first[first["remove_from_cart"].notna()]
    assert (removed["cart"] <= removed["remove_from_cart"]).all()
    assert bought["remove_from_cart"].isna().all()

    counts = clean["event_type"].value_counts()
    assert 0.25 < counts["cart"] / counts["view"] < 0.40
    assert 0.25 < counts["purchase"] / counts["cart"] < 0.45
    assert counts["search"] > 0 and counts["remove_from_cart"] > 0


def test_session_gaps_are_clear_of_a_30_minute_timeout(clean):
    ordered = clean.sort_values(["customer_id", "at"], kind="stable")
    gap = ordered.groupby("customer_id")["at"].diff()
    # The lines of one return count as one visit.
    visit = ordered["session_id"].fillna("return of " + ordered["order_id"])
    same_session = visit.eq(visit.shift()) & gap.notna()
    assert gap[same_session].max() <= pd.Timedelta(minutes=20)
    between = gap[~same_session & gap.notna()]
    assert between.min() >= pd.Timedelta(hours=1)


def test_orders_and_returns(clean):
    purchases = clean[clean["event_type"] == "purchase"]
    assert purchases.groupby("session_id")["order_id"].nunique().eq(1).all()
    assert purchases.groupby("order_id")["session_id"].nunique().eq(1).all()
    assert not purchases.duplicated(["order_id", "product_id"]).any()

    returns = clean[clean["event_type"] == "return"]
    assert len(returns) > 0
    matched = returns.merge(
        purchases, on=["order_id", "product_id"], suffixes=("", "_bought")
    )
    assert len(matched) == len(returns)
    assert (matched["customer_id"] == matched["customer_id_bought"]).all()
    assert (matched["quantity"] == matched["quantity_bought"]).all()
    assert (matched["at"] > matched["at_bought"]).all()


def test_planted_pairs_are_bought_together(generated, clean):
    summary, _, _ = generated
    purchases = clean[clean["event_type"] == "purchase"]
    orders_of = purchases.groupby("product_id")["order_id"].agg(set)
    n_orders = purchases["order_id"].nunique()
    for a, b in summary["pairs"]:
        both = len(orders_of[a] & orders_of[b])
        assert both / n_orders >= 0.02
        assert both / len(orders_of[a]) >= 0.6
        assert both / len(orders_of[b]) >= 0.6


def test_popularity_is_skewed_and_products_are_described(clean):
    views = clean[clean["event_type"] == "view"]
    per_product = views["product_id"].value_counts()
    top_tenth = per_product.iloc[: max(1, len(per_product) // 10)].sum()
    assert top_tenth / len(views) > 0.4
    described = views.groupby("product_id")[
        ["product_name", "category", "brand", "price"]
    ]
    assert described.nunique().eq(1).all().all()


def test_repeat_buyers_and_lapsing_customers(generated, clean):
    summary, _, _ = generated
    orders = clean[clean["event_type"] == "purchase"].groupby("customer_id")["order_id"]
    assert (orders.nunique() >= 3).sum() > 10
    window_end = pd.Timestamp(summary["window_end"])
    sessions = clean.groupby("customer_id").agg(
        last=("at", "max"), sessions=("session_id", "nunique")
    )
    lapsed = sessions[
        (sessions["sessions"] >= 2)
        & (sessions["last"] < window_end - pd.Timedelta(days=90))
    ]
    assert len(lapsed) > 10


# ---------------------------------------------------------------------------
# The append day.
# ---------------------------------------------------------------------------


def test_append_day_is_strictly_after_the_main_file(generated, clean):
    summary, events, day = generated
    day_rows = day[classify(day).isna()]
    day_at = pd.to_datetime(day_rows["event_at"], utc=True, format="ISO8601")
    assert day_at.min() > clean["at"].max()
    day_start = pd.Timestamp(summary["append_day"]["day"], tz="UTC")
    assert day_start == clean["at"].max().normalize() + pd.Timedelta(days=1)
    assert day_at.max() < day_start + pd.Timedelta(days=1)
    assert len(day) == round(EVENTS / 180)
    assert not set(day["session_id"].dropna()) & set(events["session_id"].dropna())
    assert not set(day["order_id"].dropna()) & set(events["order_id"].dropna())
    assert day["customer_id"].isin(set(events["customer_id"])).mean() > 0.5


# ---------------------------------------------------------------------------
# A tiny benchmark run.
# ---------------------------------------------------------------------------


@pytest.mark.slow
def test_tiny_benchmark_run(tmp_path):
    """The bench completes at 2,000 events: every dbt run succeeds, every
    alternative is measured, and the report has its machine line, stage
    rows and the verdict on each issue target."""
    report, raw = tmp_path / "bench.md", tmp_path / "bench.json"
    done = subprocess.run(
        [
            sys.executable,
            str(SCRIPTS / "bench.py"),
            "--sizes",
            "2000",
            "--work-dir",
            str(tmp_path / "work"),
            "--out",
            str(report),
            "--json",
            str(raw),
            "--mlxtend-timeout",
            "60",
            "--spark-sizes",
            "0",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(raw.read_text())["results"]
    (result,) = results
    full = result["full"]
    assert full["status"] == "ok", done.stderr[-3000:]
    assert full["peak_rss_mb"] > 0 and full["models"]
    assert result["daily"]["status"] == "ok"
    assert result["recommender_alone"]["status"] == "ok"
    assert result["incremental"]["status"] == "ok"
    assert "spark" not in result

    assert result["generate"]["returncode"] == 0
    assert result["floor"]["status"] == "ok" and result["floor"]["rows"] == 2000
    assert result["pandas_sessions"]["status"] == "ok"
    assert result["pandas_sessions"]["sessions"] > 0
    assert result["pandas_rfm"]["status"] == "ok"
    assert result["pandas_rfm"]["customers"] > 0
    mlxtend = result["mlxtend"]
    assert mlxtend["status"] == "ok" and mlxtend["rules"] > 0
    assert mlxtend["compute_s"] == mlxtend["baskets_s"] + mlxtend["mining_s"]
    text = report.read_text()
    assert "cores" in text and "GiB memory" in text and "duckdb 1.5.6" in text
    assert "| 2,000 | sessions |" in text
    whole_runs = text.split("## Whole runs")[1].split("\n## ")[0]
    header, row = (
        line for line in whole_runs.splitlines() if line.startswith("| ")
    )
    cells = dict(zip(header.split(" | "), row.split(" | ")))
    for run in ("full", "daily", "incremental"):
        assert cells[f"{run} peak MB"] == f"{result[run]['peak_rss_mb']:.0f}"
    queries = result["sql_queries"]
    assert set(queries["query_cpu_s"]) == set(queries["query_s"])
    assert all(cpu > 0 for cpu in queries["query_cpu_s"].values())
    compared = [row[0] for row in bench.cpu_comparisons(result)]
    assert compared == [stage for stage, *_ in bench.COMPARED_STAGES]
    assert "| 2,000 | sessionization, pandas' work in plain SQL |" in text.split(
        "## CPU time of the compared computations"
    )[1]
    assert text.strip() in done.stdout
    for where in ("in the full build", "run alone after the build"):
        assert (
            f"| 2,000 | recommendation models, training and evaluation, "
            f"under 60 s, {where}"
        ) in text


def _rules_rows(mlxtend):
    """The association-rules target rows for one size whose rules model
    took 0.5 s in dbt and 0.2 s alone."""
    result = {
        "full": {
            "status": "ok",
            "wall_s": 100.0,
            "peak_rss_mb": 1000.0,
            "models": {"association_rules": {"status": "success", "seconds": 0.5}},
        },
        "floor": {"status": "ok", "scan_s": 1.0},
        "pandas_sessions": {"status": "failed"},
        "mlxtend": mlxtend,
        "sql_queries": {"status": "ok", "query_s": {"association_rules": 0.2}},
    }
    return [
        (measured, met)
        for target, measured, met in bench.check_targets(result)
        if target.startswith("association rules")
    ]


def test_rules_targets_compare_mlxtend_whole_and_mining_alone():
    """The model and the SQL alone against mlxtend's baskets, one-hot and
    mining (8 s); the SQL alone also against the mining alone (3 s)."""
    rows = _rules_rows({"status": "ok", "compute_s": 8.0, "mining_s": 3.0})
    assert rows == [("16.00×", False), ("40.00×", True), ("15.00×", False)]


def test_cpu_comparison_of_a_stage():
    """Sessionization by two DuckDB threads in 3 s wall and 6 CPU s against
    pandas' 9 s on one core: 3× on the wall clock, 1.5× per CPU second,
    two cores busy. A stage whose alternative was stopped (mlxtend) or
    has no CPU time for the timing compared (pandas' whole sessions, from
    an older run) has no row, and neither has a run without the SQL's CPU
    times."""
    query_s = {
        bench.PLAIN_SESSIONIZATION: 3.0,
        "int_events_sessionized": 12.0,
        "fct_sessions": 6.0,
        "association_rules": 0.2,
    }
    result = {
        "sql_queries": {
            "status": "ok",
            "query_s": query_s,
            "query_cpu_s": {name: 2 * s for name, s in query_s.items()},
        },
        "pandas_sessions": {
            "status": "ok",
            "sessionize_s": 9.0,
            "sessionize_cpu_s": 9.0,
            "compute_s": 10.0,
        },
        "mlxtend": {"status": "cap hit", "wall_s": 60.0},
    }
    rows = bench.cpu_comparisons(result)
    assert rows == [
        ("sessionization", 12.0, 24.0, 9.0, 9.0),
        ("sessionization, pandas' work in plain SQL", 3.0, 6.0, 9.0, 9.0),
    ]
    assert bench.cpu_comparison_line(10_000_000, rows[1]) == (
        "| 10,000,000 | sessionization, pandas' work in plain SQL | 3.00 "
        "| 6.00 | 2.0 | 9.00 | 9.00 | 3.00× | 1.50× |"
    )
    del result["sql_queries"]["query_cpu_s"]
    assert bench.cpu_comparisons(result) == []


def test_median_run_counts_cpu_time_apart_from_waiting():
    """Sleeping takes wall time and next to no CPU time; a busy loop takes
    both."""
    slept = bench.median_run(lambda: time.sleep(0.2), runs=1)
    assert slept.seconds >= 0.2 and slept.cpu_seconds < 0.05
    began = time.process_time()
    busy = bench.median_run(lambda: sum(range(3_000_000)), runs=1)
    assert busy.cpu_seconds > 0.5 * busy.seconds
    assert busy.cpu_seconds <= time.process_time() - began
    assert busy.result == sum(range(3_000_000))


def test_rules_targets_when_mlxtend_hits_its_cap():
    """The cap stops mlxtend's whole stage (imports, reading, three runs of
    each step), which bounds no single run: no rules row gets a verdict."""
    rows = _rules_rows({"status": "cap hit", "wall_s": 60.0})
    assert rows == [("n/a (mlxtend stopped at 60 s)", None)] * 3
