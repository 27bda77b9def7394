"""The HTML report: rendered in headless Chromium, every chart draws, the
page logs no error and loads nothing from the network.

Chromium is Debian's package. When /usr/bin/chromium is missing the setup
installs it with apt-get (CI runs as root on a fresh machine); elsewhere it
fails with the command to run.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser

import duckdb
import pytest

from conftest import PROJECT_DIR

REPORT = PROJECT_DIR / "scripts" / "report.py"


def load_script(name: str, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


report = load_script("customer_analytics_report", REPORT)
publish = load_script(
    "customer_analytics_publish", PROJECT_DIR / "scripts" / "publish.py"
)

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Any host name fails to resolve: a page that needed the network breaks.
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--enable-logging=stderr",
    "--v=0",
]


@pytest.fixture(scope="session")
def chromium() -> str:
    path = shutil.which("chromium")
    if path:
        return path
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.fail(
            "The report test needs Debian's Chromium: run "
            "`apt-get update && apt-get install -y chromium` as root."
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "chromium"],
    ):
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            pytest.fail(
                f"`{' '.join(command)}` failed ({done.returncode}); the report "
                f"test needs Debian's chromium package:\n{done.stderr[-2000:]}"
            )
    return shutil.which("chromium")


class ReportDom(HTMLParser):
    """The parts of the dumped DOM the checks need."""

    def __init__(self):
        super().__init__()
        self.body = {}
        self.figures = []
        self.notes = []  # [section id, note class, text]
        self._section = None
        self._capture = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        if tag == "body":
            self.body = attrs
        elif tag == "section":
            self._section = attrs.get("id")
        elif tag == "figure" and "chart" in classes:
            self.figures.append(
                {
                    "section": self._section,
                    "attrs": attrs,
                    "title": "",
                    "reading": "",
                    "axes": {},
                }
            )
        elif self.figures and tag == "h3":
            self._capture = ("title", None)
        elif self.figures and tag == "p" and "reading" in classes:
            self._capture = ("reading", None)
        elif self.figures and tag == "text" and "axis-label" in classes:
            self._capture = ("axes", attrs.get("data-axis"))
        elif tag == "p" and {"note", "failed"} & set(classes):
            self.notes.append([self._section, classes[0], ""])
            self._capture = ("note", None)

    def handle_endtag(self, tag):
        if tag in ("h3", "p", "text"):
            self._capture = None

    def handle_data(self, data):
        if not self._capture:
            return
        kind, axis = self._capture
        if kind == "note":
            self.notes[-1][2] += data
        elif kind == "axes":
            axes = self.figures[-1]["axes"]
            axes[axis] = axes.get(axis, "") + data
        else:
            self.figures[-1][kind] += data


@pytest.fixture(scope="module")
def rendered(sample_build, chromium, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("report")
    # As `make report` runs: from the publication of a build.
    publish.publish(sample_build.db_path, workdir / "published")
    output = workdir / "report.html"
    written = subprocess.run(
        [
            sys.executable,
            str(REPORT),
            "--output",
            str(output),
        ],
        env={
            **os.environ,
            "CUSTOMER_ANALYTICS_PUBLISHED_DIR": str(workdir / "published"),
        },
        capture_output=True,
        text=True,
    )
    assert written.returncode == 0, written.stderr
    browser = subprocess.run(
        [
            chromium,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={workdir / 'profile'}",
            "--dump-dom",
            output.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert browser.returncode == 0, browser.stderr[-3000:]
    dom = ReportDom()
    dom.feed(browser.stdout)
    with duckdb.connect(str(sample_build.db_path), read_only=True) as con:
        marts = {
            name
            for (name,) in con.sql(
                "select table_name from information_schema.tables "
                "where table_schema = 'marts'"
            ).fetchall()
        }
    return {
        "html": output.read_text(encoding="utf-8"),
        "dom": dom,
        "stderr": browser.stderr,
        "marts": marts,
    }


def test_every_chart_drew_without_errors(rendered):
    dom = rendered["dom"]
    assert "Data: customer_analytics.duckdb, published " in rendered["html"]
    assert dom.body.get("data-errors") == "0"
    charts = len(dom.figures)
    assert charts >= 5
    assert dom.body.get("data-charts") == str(charts)
    assert dom.body.get("data-charts-drawn") == str(charts)
    for figure in dom.figures:
        assert int(figure["attrs"]["data-drawn-marks"]) > 0, figure


def test_the_browser_logged_nothing_from_the_page(rendered):
    # Console messages and uncaught errors show as CONSOLE lines.
    console = [line for line in rendered["stderr"].splitlines() if "CONSOLE" in line]
    assert not console


def test_every_chart_has_a_title_axis_labels_and_a_reading(rendered):
    for figure in rendered["dom"].figures:
        name = figure["attrs"]["data-chart"]
        assert figure["title"].strip(), name
        assert figure["axes"].get("x", "").strip(), name
        assert figure["axes"].get("y", "").strip(), name
        assert len(figure["reading"].strip()) > 20, name


def test_sections_draw_from_every_mart_that_exists(rendered):
    dom = rendered["dom"]
    assert not [note for note in dom.notes if note[1] == "failed"]
    for section_id, _, _, marts, _ in report.SECTIONS:
        charts = [f for f in dom.figures if f["section"] == section_id]
        notes = [text for section, _, text in dom.notes if section == section_id]
        if set(marts) <= rendered["marts"]:
            # Drawn, or (for an input without such data) an empty-mart note.
            assert charts or any("has no rows" in text for text in notes)
        else:
            assert not charts
            assert [text for text in notes if text.startswith("Not built")]


def test_the_page_is_self_contained(rendered):
    page = rendered["html"]
    assert not re.search(r"https?://|//cdn|<link\b|\bsrc\s*=|@import", page)
    assert page.count("<script>") == 1  # the inline check, nothing loaded


def test_missing_marts_are_named_not_built(tmp_path):
    database = tmp_path / "partial.duckdb"
    with duckdb.connect(str(database)) as con:
        con.execute("create schema marts")
        con.execute(
            "create table marts.data_quality_daily as select"
            " date '2024-01-01' as event_date, 'accepted' as outcome,"
            " true as is_accepted, 9::bigint as row_count, 0.9 as share_of_day"
            " union all select date '2024-01-01', 'invalid_price', false,"
            " 1::bigint, 0.1"
        )
    output = tmp_path / "report.html"
    assert report.main(["--database", str(database), "--output", str(output)]) == 0
    dom = ReportDom()
    dom.feed(output.read_text(encoding="utf-8"))
    assert [figure["attrs"]["data-chart"] for figure in dom.figures] == [
        "data-quality"
    ]
    not_built = [note for note in dom.notes if note[2].startswith("Not built")]
    assert len(not_built) == len(report.SECTIONS) - 1
    assert "9 of 10 raw rows (90.0%) were accepted" in output.read_text()


def test_model_sections_draw_from_tables_shaped_like_the_python_models(
    tmp_path,
):
    # Columns as customer_analytics_ml writes them (segments, churn,
    # recommendations), so these sections are exercised before the models
    # run in every build.
    database = tmp_path / "models.duckdb"
    with duckdb.connect(str(database)) as con:
        con.execute("create schema marts")
        con.execute(
            "create table marts.segment_profiles as select * from (values"
            " (0, 'frequent, recent', 60, 0.3, 0.41, 12.0, 9.5, 4200.0, null),"
            " (1, 'lapsed', 140, 0.7, 0.41, 210.0, 1.2, 250.0, null))"
            " t(segment_id, segment_name, count_customers, customer_share,"
            " silhouette_score, mean_recency_days, mean_frequency,"
            " mean_monetary, warning)"
        )
        con.execute(
            "create table marts.churn_predictions as select 'c' || i as"
            " customer_id, i / 200 as churn_probability,"
            " case when i >= 140 then 'high' else 'low' end as churn_risk"
            " from range(200) t(i)"
        )
        # Two scores each, then columns that are not model scores.
        con.execute(
            "create table marts.churn_model_metrics as select * from (values"
            " ('decision_tree', 0.7, 0.8, 0.4, 300, null),"
            " ('recency_baseline', 0.6, 0.9, 0.4, 300, null))"
            " t(model_name, accuracy, roc_auc, base_churn_rate,"
            " count_train_customers, warning)"
        )
        con.execute(
            "create table marts.recommendation_metrics as select * from (values"
            " ('recommender', 0.7, 0.8, 10, 300, null),"
            " ('popularity_baseline', 0.6, 0.9, 10, 300, null))"
            " t(model_name, precision_at_k, hit_rate_at_k, k,"
            " count_customers_evaluated, warning)"
        )
    output = tmp_path / "report.html"
    assert report.main(["--database", str(database), "--output", str(output)]) == 0
    dom = ReportDom()
    dom.feed(output.read_text(encoding="utf-8"))
    drawn = {f["attrs"]["data-chart"]: f for f in dom.figures}
    assert {
        "segment-profiles",
        "churn-risk",
        "churn-metrics",
        "recommendation-metrics",
    } <= set(drawn)
    churn = drawn["churn-risk"]["reading"]
    assert "50.0% of 200 scored customers" in churn
    assert "by risk band: high 60, low 140" in churn
    # Scores only: base rates, counts and k are not drawn as model scores.
    assert drawn["churn-metrics"]["reading"] == (
        "The model beats its baseline on 1 of 2 scores (accuracy)."
    )
    assert drawn["recommendation-metrics"]["reading"] == (
        "Top 10 lists for 300 customers with purchases in the holdout. "
        "The model beats its baseline on 1 of 2 scores (precision_at_k)."
    )


def test_a_missing_database_is_named(tmp_path, capsys):
    missing = tmp_path / "none.duckdb"
    assert report.main(["--database", str(missing)]) == 1
    assert str(missing) in capsys.readouterr().err
