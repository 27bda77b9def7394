"""Write the customer analytics report: one self-contained HTML file.

    .venv/bin/python scripts/report.py [--database DB] [--output HTML]

It reads only tables of schema marts, from the published read-only copy by
default (so it runs while the warehouse rebuilds), and writes one HTML file
with inline CSS and SVG: no script or style from the network, it opens from
disk. Each section draws from its mart when the table exists and says "not
built" otherwise. Every chart has a title, labelled axes and a one-line
reading of what it shows.

Defaults: the database is $CUSTOMER_ANALYTICS_PUBLISHED_DIR or
warehouse/published, file customer_analytics.duckdb; the output is
warehouse/report/customer_analytics_report.html. Exits 1 (after writing the
page) when a section failed to render, naming it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import math
import os
import re
import sys
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import duckdb

PROJECT_DIR = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = PROJECT_DIR / "warehouse/report/customer_analytics_report.html"
PALETTE = ["#2563eb", "#f59e0b", "#10b981", "#ef4444"]
WIDTH = 820  # pixels; charts scale down on narrow screens
NUMERIC_TYPES = {"DOUBLE", "FLOAT", "BIGINT", "INTEGER", "HUGEINT", "DECIMAL"}
# Columns that name the model a row of a metrics table is about.
MODEL_COLUMNS = {"model", "model_name", "method", "recommender", "variant"}


# --- Formatting -------------------------------------------------------------


def esc(value) -> str:
    return html.escape(str(value), quote=True)


def fmt_number(value: float, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if abs(value) >= 1e6:
        return f"{value / 1e6:,.1f}M"
    return f"{value:,.{digits}f}"


def fmt_share(value: float) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def share(part: float, whole: float) -> str:
    """part / whole as a percentage, or a dash when whole is 0."""
    return fmt_share(part / whole) if whole else "–"


def fmt_compact(value: float) -> str:
    """Three significant digits, for cells."""
    if value is None or math.isnan(value):
        return "–"
    if abs(value) >= 1000:
        return fmt_number(value)
    return f"{value:.3g}"


def shorten(text: str, length: int = 42) -> str:
    text = str(text)
    return text if len(text) <= length else text[: length - 1] + "…"


def wrap_label(text: str, width: int) -> list[str]:
    """Split at underscores and spaces into at most two lines of about
    ``width`` characters, shortening the second when it is still too long."""
    words = str(text).replace("_", " ").split()
    first = ""
    while words and len(f"{first} {words[0]}".strip()) <= width:
        first = f"{first} {words.pop(0)}".strip()
    if not first:
        return [shorten(" ".join(words), width)]
    return [first] + ([shorten(" ".join(words), width)] if words else [])


def axis_ticks(value: float, count: int = 5) -> list[float]:
    """Evenly spaced round ticks from 0 to at least value (1, 2, 2.5 or 5
    times a power of ten apart)."""
    if value <= 0:
        return [float(tick) for tick in range(count + 1)]
    rough = value / count
    power = 10 ** math.floor(math.log10(rough))
    step = next(s * power for s in (1, 2, 2.5, 5, 10) if s * power >= rough)
    return [step * tick for tick in range(math.ceil(value / step - 1e-9) + 1)]


# --- Charts (inline SVG) ----------------------------------------------------


@dataclass
class Chart:
    """One figure: an SVG plus its title and one-line reading."""

    chart_id: str
    title: str
    svg: str
    reading: str
    details: str = ""  # optional HTML after the reading, e.g. a table

    def html(self) -> str:
        return (
            f'<figure class="chart" id="chart-{esc(self.chart_id)}" '
            f'data-chart="{esc(self.chart_id)}">'
            f"<figcaption><h3>{esc(self.title)}</h3></figcaption>"
            f"{self.svg}"
            f'<p class="reading">{esc(self.reading)}</p>{self.details}</figure>'
        )


def html_table(header: list[str], rows: list[list], numeric: set[int]) -> str:
    """A small table; columns whose index is in ``numeric`` align right."""
    head = "".join(f"<th>{esc(name)}</th>" for name in header)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="number">{esc(cell)}</td>'
            if index in numeric
            else f"<td>{esc(cell)}</td>"
            for index, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def svg_open(width: int, height: int, title: str) -> str:
    return (
        f'<svg role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}">'
        f"<title>{esc(title)}</title>"
    )


def axis_label(x: float, y: float, text: str, axis: str, rotate=False) -> str:
    transform = f' transform="rotate(-90 {x} {y})"' if rotate else ""
    return (
        f'<text class="axis-label" data-axis="{axis}" x="{x}" y="{y}" '
        f'text-anchor="middle"{transform}>{esc(text)}</text>'
    )


def bar_chart(
    chart_id: str,
    title: str,
    categories: list[str],
    series: dict[str, list[float]],
    *,
    x_label: str,
    y_label: str,
    reading: str,
    value_format=fmt_number,
) -> Chart:
    """Horizontal bars, one group per category and one bar per series."""
    names = list(series)
    bar, gap = 16, 10
    group = bar * len(names) + gap
    # Room for the longest category label (up to 7 px a character).
    label_length = min(max(len(c) for c in categories), 40)
    left, right = 44 + label_length * 7, 70
    top = 16 + (18 if len(names) > 1 else 0)
    plot_width = WIDTH - left - right
    height = top + group * len(categories) + 48
    values = [v for vs in series.values() for v in vs if v is not None]
    ticks = axis_ticks(max(values, default=0))
    scale = plot_width / ticks[-1]
    parts = [svg_open(WIDTH, height, title)]
    if len(names) > 1:
        for index, name in enumerate(names):
            x = left + index * 170
            parts.append(
                f'<rect x="{x}" y="4" width="12" height="12" '
                f'fill="{PALETTE[index]}"/><text x="{x + 16}" y="14" '
                f'class="legend">{esc(name)}</text>'
            )
    for value in ticks:
        x = left + value * scale
        parts.append(
            f'<line class="grid" x1="{x:.1f}" x2="{x:.1f}" y1="{top}" '
            f'y2="{height - 40}"/><text class="tick" x="{x:.1f}" '
            f'y="{height - 26}" text-anchor="middle">'
            f"{esc(value_format(value))}</text>"
        )
    for row, category in enumerate(categories):
        y0 = top + row * group
        parts.append(
            f'<text class="tick" x="{left - 8}" y="{y0 + group / 2 + 1:.1f}" '
            f'text-anchor="end"><title>{esc(category)}</title>'
            f"{esc(shorten(category, label_length))}</text>"
        )
        for index, name in enumerate(names):
            value = series[name][row]
            if value is None:
                continue
            y = y0 + index * bar + gap / 2
            width = max(value * scale, 0)
            parts.append(
                f'<rect class="mark" x="{left}" y="{y:.1f}" '
                f'width="{width:.1f}" height="{bar - 2}" '
                f'fill="{PALETTE[index]}"><title>{esc(category)} · '
                f"{esc(name)}: {esc(value_format(value))}</title></rect>"
                f'<text class="value" x="{left + width + 4:.1f}" '
                f'y="{y + bar - 5:.1f}">{esc(value_format(value))}</text>'
            )
    parts.append(
        f'<line class="axis" x1="{left}" x2="{left}" y1="{top}" '
        f'y2="{height - 40}"/>'
    )
    parts.append(axis_label(left + plot_width / 2, height - 6, x_label, "x"))
    parts.append(axis_label(14, top + (height - 40 - top) / 2, y_label, "y", True))
    parts.append("</svg>")
    return Chart(chart_id, title, "".join(parts), reading)


def heat_colour(share: float) -> str:
    """White to dark blue for 0..1."""
    share = min(max(share, 0.0), 1.0)
    low, high = (247, 251, 255), (8, 69, 148)
    rgb = [round(a + (b - a) * share) for a, b in zip(low, high)]
    return "#" + "".join(f"{c:02x}" for c in rgb)


def heatmap(
    chart_id: str,
    title: str,
    rows: list[str],
    columns: list[str],
    cells: dict[tuple[str, str], tuple[float, str]],
    *,
    x_label: str,
    y_label: str,
    reading: str,
) -> Chart:
    """A grid of cells; ``cells[(row, column)] = (shade 0..1, text)``."""
    label_length = min(max(len(row) for row in rows), 48)
    left, top, bottom = 40 + label_length * 7, 10, 70
    cell_width = max(min(560 / max(len(columns), 1), 90), 26)
    cell_height = 24
    width = int(left + cell_width * len(columns) + 20)
    height = top + cell_height * len(rows) + bottom
    parts = [svg_open(width, height, title)]
    for c, column in enumerate(columns):
        # Up to two lines of about 6.5 px a character under each column.
        x = left + (c + 0.5) * cell_width
        lines = wrap_label(column, int(cell_width / 6.5))
        spans = "".join(
            f'<tspan x="{x:.1f}" dy="{0 if i == 0 else 13}">{esc(line)}</tspan>'
            for i, line in enumerate(lines)
        )
        parts.append(
            f'<text class="tick" x="{x:.1f}" y="{height - bottom + 16}" '
            f'text-anchor="middle"><title>{esc(column)}</title>{spans}</text>'
        )
    for r, row in enumerate(rows):
        y = top + r * cell_height
        parts.append(
            f'<text class="tick" x="{left - 8}" y="{y + 16}" '
            f'text-anchor="end">{esc(shorten(row, label_length))}</text>'
        )
        for c, column in enumerate(columns):
            if (row, column) not in cells:
                continue
            shade, text = cells[(row, column)]
            x = left + c * cell_width
            ink = "cell dark" if shade > 0.55 else "cell"
            parts.append(
                f'<rect class="mark" x="{x:.1f}" y="{y}" '
                f'width="{cell_width - 1:.1f}" height="{cell_height - 1}" '
                f'fill="{heat_colour(shade)}"><title>{esc(row)} · '
                f"{esc(column)}: {esc(text)}</title></rect>"
            )
            if cell_width >= 34:
                parts.append(
                    f'<text class="{ink}" x="{x + cell_width / 2:.1f}" '
                    f'y="{y + 16}" text-anchor="middle">'
                    f"{esc(text)}</text>"
                )
    plot_middle = left + cell_width * len(columns) / 2
    parts.append(axis_label(plot_middle, height - 10, x_label, "x"))
    parts.append(
        axis_label(14, top + cell_height * len(rows) / 2, y_label, "y", True)
    )
    parts.append("</svg>")
    return Chart(chart_id, title, "".join(parts), reading)


# --- Sections ---------------------------------------------------------------


@dataclass
class Section:
    section_id: str
    title: str
    intro: str
    marts: list[str]
    charts: list[Chart | Note] = field(default_factory=list)
    note: str = ""
    failed: bool = False

    def html(self) -> str:
        body = "".join(item.html() for item in self.charts)
        if self.note:
            kind = "failed" if self.failed else "note"
            body += f'<p class="{kind}">{esc(self.note)}</p>'
        sources = ", ".join(f"marts.{name}" for name in self.marts)
        return (
            f'<section id="{esc(self.section_id)}"><h2>{esc(self.title)}</h2>'
            f'<p class="intro">{esc(self.intro)} '
            f'<span class="source">Source: {esc(sources)}.</span></p>'
            f"{body}</section>"
        )


class Warehouse:
    """Read-only access to the marts, and which of them exist."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con
        self.tables = {
            name
            for (name,) in con.sql(
                "select table_name from information_schema.tables "
                "where table_schema = 'marts'"
            ).fetchall()
        }

    def rows(self, sql: str) -> list[dict]:
        """Rows as dicts; decimals as floats, so charts can scale them."""
        relation = self.con.sql(sql)
        names = relation.columns
        return [
            {
                name: float(value) if isinstance(value, Decimal) else value
                for name, value in zip(names, row)
            }
            for row in relation.fetchall()
        ]

    def columns(self, table: str) -> list[tuple[str, str]]:
        return self.con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'marts' and table_name = ? "
            "order by ordinal_position",
            [table],
        ).fetchall()


def funnel_section(wh: Warehouse) -> list[Chart]:
    (totals,) = wh.rows(
        "select sum(session_count) as sessions,"
        " sum(viewed_session_count) as viewed,"
        " sum(carted_session_count) as carted,"
        " sum(purchased_session_count) as purchased"
        " from marts.rpt_funnel_daily"
    )
    sessions = totals["sessions"] or 0
    steps = ["All sessions", "Viewed a product", "Added to cart", "Purchased"]
    values = [sessions, totals["viewed"], totals["carted"], totals["purchased"]]
    if not totals["viewed"] and not totals["carted"]:
        # The steps are strict (a purchase counts after a view and a cart),
        # so inputs without views, like Online Retail, show an empty funnel.
        reading = (
            "The input has no view or cart events, so no session passes the "
            "view → cart → purchase funnel"
        )
        if "fct_sessions" in wh.tables:
            (buying,) = wh.rows(
                "select count(*) filter (where purchase_count > 0) as n"
                " from marts.fct_sessions"
            )
            reading += (
                f"; {fmt_number(buying['n'])} of {fmt_number(sessions)} "
                "sessions did contain a purchase."
            )
        else:
            reading += "."
    else:
        reading = (
            f"{fmt_share(totals['purchased'] / sessions)} of "
            f"{fmt_number(sessions)} sessions went from a view through a "
            f"cart to a purchase; {share(totals['purchased'], totals['carted'])}"
            " of sessions with a cart went on to buy."
        )
    return [
        bar_chart(
            "funnel",
            "Sessions reaching each funnel step",
            steps,
            {"Sessions": values},
            x_label="Sessions",
            y_label="Funnel step",
            reading=reading,
        )
    ]


def cohort_section(wh: Warehouse) -> list[Chart]:
    rows = wh.rows(
        "select cohort_month, months_since_first_order, retention_rate,"
        " cohort_size from marts.rpt_cohort_retention"
        " order by cohort_month, months_since_first_order"
    )
    if not rows:
        raise EmptyMart(no_rows("rpt_cohort_retention"))
    cohorts = sorted({f"{r['cohort_month']:%Y-%m}" for r in rows})
    offsets = sorted({r["months_since_first_order"] for r in rows})
    labels = {c: c for c in cohorts}
    for r in rows:
        labels[f"{r['cohort_month']:%Y-%m}"] = (
            f"{r['cohort_month']:%Y-%m} (n={r['cohort_size']})"
        )
    cells = {
        (labels[f"{r['cohort_month']:%Y-%m}"], str(r["months_since_first_order"])): (
            r["retention_rate"] or 0.0,
            f"{100 * (r['retention_rate'] or 0):.0f}%",
        )
        for r in rows
    }
    month_one = [
        r["retention_rate"] for r in rows if r["months_since_first_order"] == 1
    ]
    if month_one:
        reading = (
            f"On average {fmt_share(sum(month_one) / len(month_one))} of a "
            f"cohort orders again in its second month ({len(month_one)} "
            "cohorts old enough to tell)."
        )
    else:
        reading = "No cohort is old enough yet to show a second month."
    return [
        heatmap(
            "cohort-retention",
            "Share of each first-order cohort ordering again, by month",
            [labels[c] for c in cohorts],
            [str(o) for o in offsets],
            cells,
            x_label="Months since first order",
            y_label="Cohort (first order month)",
            reading=reading,
        )
    ]


def rfm_section(wh: Warehouse) -> list[Chart]:
    rows = wh.rows(
        "select rfm_segment, count(*) as customers, sum(monetary) as revenue"
        " from marts.customer_rfm group by 1 order by revenue desc"
    )
    if not rows:
        raise EmptyMart(no_rows("customer_rfm"))
    customers = sum(r["customers"] for r in rows)
    revenue = sum(r["revenue"] or 0 for r in rows) or 1.0
    top = rows[0]
    reading = (
        f"'{top['rfm_segment']}' holds {fmt_share(top['customers'] / customers)} "
        f"of the {fmt_number(customers)} customers and "
        f"{fmt_share((top['revenue'] or 0) / revenue)} of their revenue."
    )
    segments = [r["rfm_segment"] for r in rows]
    return [
        bar_chart(
            "rfm-segments",
            "RFM segments: share of customers and of revenue",
            segments,
            {
                "Share of customers": [r["customers"] / customers for r in rows],
                "Share of revenue": [(r["revenue"] or 0) / revenue for r in rows],
            },
            x_label="Share of all customers / of all revenue",
            y_label="RFM segment",
            reading=reading,
            value_format=fmt_share,
        )
    ]


def rules_section(wh: Warehouse) -> list[Chart]:
    names = (
        "select product_id, any_value(product_name) as product_name"
        " from marts.dim_products group by 1"
        if "dim_products" in wh.tables
        else "select null::varchar as product_id, null::varchar as product_name"
    )
    rows = wh.rows(
        "with names as (" + names + "), top_rules as ("
        " select * from marts.association_rules"
        " order by lift desc, confidence desc, antecedent_key,"
        " consequent_product_id limit 10)"
        " select top_rules.*,"
        " (select string_agg(coalesce(n.product_name, a.id), ' + ')"
        "  from unnest(top_rules.antecedent_product_ids) as a(id)"
        "  left join names as n on n.product_id = a.id) as antecedent,"
        " coalesce(c.product_name, top_rules.consequent_product_id)"
        " as consequent"
        " from top_rules left join names as c"
        " on c.product_id = top_rules.consequent_product_id"
        " order by lift desc, confidence desc"
    )
    if not rows:
        raise EmptyMart(no_rows("association_rules"))
    labels = [
        f"{r['antecedent'].strip()} → {r['consequent'].strip()}" for r in rows
    ]
    best = rows[0]
    reading = (
        f"Baskets with {best['antecedent'].strip()} contain "
        f"{best['consequent'].strip()} {fmt_share(best['confidence'])} of the "
        f"time, {best['lift']:.1f} times its usual rate (support "
        f"{fmt_share(best['support'])})."
    )
    chart = bar_chart(
        "association-rules",
        "Top 10 product rules by lift",
        labels,
        {"Lift": [r["lift"] for r in rows]},
        x_label="Lift (times more likely than in an average basket)",
        y_label="Rule",
        reading=reading,
        value_format=lambda v: f"{v:,.1f}",
    )
    chart.details = html_table(
        ["Basket has", "Also has", "Support", "Confidence", "Lift"],
        [
            [
                r["antecedent"].strip(),
                r["consequent"].strip(),
                fmt_share(r["support"]),
                fmt_share(r["confidence"]),
                f"{r['lift']:.1f}",
            ]
            for r in rows
        ],
        numeric={2, 3, 4},
    )
    return [chart]


def data_quality_section(wh: Warehouse) -> list[Chart]:
    rows = wh.rows(
        "select outcome, sum(row_count) as row_count"
        " from marts.data_quality_daily group by 1"
        " order by outcome != 'accepted', row_count desc"
    )
    if not rows:
        raise EmptyMart(no_rows("data_quality_daily"))
    total = sum(r["row_count"] for r in rows)
    accepted = sum(r["row_count"] for r in rows if r["outcome"] == "accepted")
    rejected = [r for r in rows if r["outcome"] != "accepted"]
    reading = (
        f"{fmt_number(accepted)} of {fmt_number(total)} raw rows "
        f"({fmt_share(accepted / total)}) were accepted"
        + (
            f"; the main reject reason is {rejected[0]['outcome']} "
            f"({fmt_number(rejected[0]['row_count'])} rows)."
            if rejected
            else "; none was rejected."
        )
    )
    return [
        bar_chart(
            "data-quality",
            "Raw rows accepted and rejected, by reason",
            [r["outcome"] for r in rows],
            {"Rows": [r["row_count"] for r in rows]},
            x_label="Raw rows",
            y_label="Outcome",
            reading=reading,
        )
    ]


def segments_section(wh: Warehouse) -> list[Chart]:
    columns = dict(wh.columns("segment_profiles"))
    label = "segment_name" if "segment_name" in columns else "segment_id"
    size = next(
        name
        for name in ("count_customers", "customer_count", "size", "customers")
        if name in columns
    )
    # Feature means: numeric columns named mean_<feature> or <feature>_mean.
    means = [
        name
        for name, kind in columns.items()
        if re.fullmatch(r"mean_\w+|\w+_mean", name)
        and kind.split("(")[0] in NUMERIC_TYPES
    ]
    rows = wh.rows(
        f"select * from marts.segment_profiles order by {size} desc, {label}"
    )
    if not rows:
        raise EmptyMart(no_rows("segment_profiles"))
    labels = [f"{r[label]} (n={r[size]:,})" for r in rows]
    features = [re.sub(r"^mean_|_mean$", "", name) for name in means]
    cells = {}
    for name, feature in zip(means, features):
        values = [r[name] for r in rows if r[name] is not None]
        low, high = min(values, default=0), max(values, default=0)
        for r, row_label in zip(rows, labels):
            if r[name] is None:
                continue
            # Equal averages in every segment stay pale: nothing stands out.
            shade = (r[name] - low) / (high - low) if high > low else 0.1
            cells[(row_label, feature)] = (shade, fmt_compact(r[name]))
    total = sum(r[size] for r in rows)
    biggest = rows[0]
    reading = (
        f"{len(rows)} segments; the largest, '{biggest[label]}', holds "
        f"{share(biggest[size], total)} of the {fmt_number(total)} customers"
    )
    if rows[0].get("silhouette_score") is not None:
        reading += f" (silhouette {rows[0]['silhouette_score']:.2f})"
    reading += ". Darker means a higher average than the other segments."
    warnings = sorted({str(r["warning"]) for r in rows if r.get("warning")})
    if warnings:
        reading += " Warning from the model: " + " ".join(warnings)
    return [
        heatmap(
            "segment-profiles",
            "K-means segments: average of each feature",
            labels,
            features,
            cells,
            x_label="Feature (average per segment)",
            y_label="Segment",
            reading=reading,
        )
    ]


def churn_section(wh: Warehouse) -> list[Chart]:
    rows = wh.rows(
        "select least(floor(churn_probability * 10), 9) as bin,"
        " count(*) as customers"
        " from marts.churn_predictions group by 1 order by 1"
    )
    if not rows:
        raise EmptyMart(no_rows("churn_predictions"))
    counts = {int(r["bin"]): r["customers"] for r in rows}
    total = sum(counts.values())
    high = sum(n for b, n in counts.items() if b >= 5)
    bins = [f"{b / 10:.1f}–{(b + 1) / 10:.1f}" for b in range(10)]
    charts = [
        bar_chart(
            "churn-risk",
            "Customers by predicted churn probability",
            bins,
            {"Customers": [counts.get(b, 0) for b in range(10)]},
            x_label="Customers",
            y_label="Churn probability",
            reading=(
                f"{share(high, total)} of {fmt_number(total)} scored "
                "customers have a churn probability of 0.5 or more"
                + risk_counts(wh)
                + "."
            ),
        )
    ]
    try:
        charts.append(
            model_against_baseline(
                wh, "churn_model_metrics", "churn-metrics", "Decision tree"
            )
        )
    except EmptyMart as empty:
        charts.append(Note(f"No model metrics to compare: {empty}"))
    return charts


def risk_counts(wh: Warehouse) -> str:
    """', by risk band: high 12, ...' from the model's own bands."""
    rows = wh.rows(
        "select churn_risk, count(*) as n from marts.churn_predictions"
        " group by 1 order by min(churn_probability) desc"
    )
    bands = ", ".join(f"{r['churn_risk']} {fmt_number(r['n'])}" for r in rows)
    return f"; by risk band: {bands}" if bands else ""


def recommendations_section(wh: Warehouse) -> list[Chart]:
    chart = model_against_baseline(
        wh, "recommendation_metrics", "recommendation-metrics", "Recommendations"
    )
    columns = dict(wh.columns("recommendation_metrics"))
    if {"k", "count_customers_evaluated"} <= set(columns):
        (split,) = wh.rows(
            "select max(k) as k, max(count_customers_evaluated) as customers"
            " from marts.recommendation_metrics"
        )
        chart.reading = (
            f"Top {split['k']} lists for {fmt_number(split['customers'])} "
            f"customers with purchases in the holdout. {chart.reading}"
        )
    return [chart]


def metric_pairs(rows: list[dict]) -> dict[str, dict[str, float]]:
    """{metric: {"model": value, "baseline": value}} from a metrics table.

    Accepts the shapes a metrics table can take: one row per metric (a
    ``metric`` column, a model value and a baseline value column), one row
    per model (a ``model`` column naming it, one column per metric), or one
    row with ``<metric>`` and ``baseline_<metric>`` columns.
    """
    if not rows:
        return {}
    keys = list(rows[0])

    def is_baseline(text: str) -> bool:
        return bool(re.search(r"baseline|popular", str(text)))

    def numeric(row: dict) -> dict[str, float]:
        return {
            k: float(v)
            for k, v in row.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)
        }

    pairs: dict[str, dict[str, float]] = {}
    if "metric" in keys:
        for row in rows:
            for column, value in numeric(row).items():
                side = "baseline" if is_baseline(column) else "model"
                pairs.setdefault(str(row["metric"]), {}).setdefault(side, value)
        return pairs
    label = next((k for k in keys if k in MODEL_COLUMNS), None)
    if label:
        for row in rows:
            side = "baseline" if is_baseline(row[label]) else "model"
            for metric, value in numeric(row).items():
                pairs.setdefault(metric, {}).setdefault(side, value)
        return pairs
    for column, value in numeric(rows[0]).items():
        metric = re.sub(r"^(baseline|popularity)_|_(baseline|popularity)$", "", column)
        side = "baseline" if metric != column else "model"
        pairs.setdefault(metric, {})[side] = value
    return pairs


# Metrics that describe the data or the split, not the model's quality.
NOT_A_SCORE = re.compile(r"base_|size|count|evaluated|^k$")


def model_against_baseline(
    wh: Warehouse, table: str, chart_id: str, model_name: str
) -> Chart:
    """Model and baseline side by side on every 0-1 score of a metrics
    table; every metric, counts included, in a table below."""
    rows = wh.rows(f"select * from marts.{table}")
    warnings = sorted({str(r["warning"]) for r in rows if r.get("warning")})
    pairs = metric_pairs(rows)
    scores = {
        metric: sides
        for metric, sides in pairs.items()
        if len(sides) == 2
        and not NOT_A_SCORE.search(metric)
        and all(0 <= v <= 1 for v in sides.values())
    }
    if not scores:
        raise EmptyMart(" ".join(warnings) or f"marts.{table} has no scores.")
    metrics = list(scores)
    wins = [m for m in metrics if scores[m]["model"] > scores[m]["baseline"]]
    reading = (
        f"The model beats its baseline on {len(wins)} of {len(metrics)} "
        f"scores ({', '.join(wins) or 'none'})."
    )
    if warnings:
        reading += " Warning from the model: " + " ".join(warnings)
    chart = bar_chart(
        chart_id,
        f"{model_name}: model against baseline on the same split",
        metrics,
        {
            "Model": [scores[m]["model"] for m in metrics],
            "Baseline": [scores[m]["baseline"] for m in metrics],
        },
        x_label="Score (0 to 1, higher is better)",
        y_label="Metric",
        reading=reading,
        value_format=lambda v: f"{v:.3f}",
    )
    chart.details = html_table(
        ["Metric", "Model", "Baseline"],
        [
            [
                metric,
                fmt_compact(sides["model"]) if "model" in sides else "–",
                fmt_compact(sides["baseline"]) if "baseline" in sides else "–",
            ]
            for metric, sides in pairs.items()
        ],
        numeric={1, 2},
    )
    return chart


class EmptyMart(Exception):
    """The mart exists but has nothing to draw; the message says why."""


def no_rows(table: str) -> str:
    return f"marts.{table} has no rows for this input."


@dataclass
class Note:
    """A remark in place of a chart that could not be drawn."""

    text: str

    def html(self) -> str:
        return f'<p class="note">{esc(self.text)}</p>'


# (id, title, intro, marts read, function)
SECTIONS = [
    (
        "funnel",
        "Funnel",
        "How far sessions get: product view, cart, purchase.",
        ["rpt_funnel_daily"],
        funnel_section,
    ),
    (
        "cohorts",
        "Cohort retention",
        "Customers grouped by the month of their first order, and the share "
        "of each group that orders again in the months after.",
        ["rpt_cohort_retention"],
        cohort_section,
    ),
    (
        "rfm",
        "RFM segments",
        "Customers scored on recency, frequency and monetary value and "
        "named by segment.",
        ["customer_rfm"],
        rfm_section,
    ),
    (
        "segments",
        "Customer segments (k-means)",
        "Customers clustered on their behaviour; each segment's average "
        "feature values side by side.",
        ["segment_profiles"],
        segments_section,
    ),
    (
        "churn",
        "Churn risk",
        "The decision tree's churn probability for each customer, and its "
        "test-set metrics against a simple recency-rule baseline.",
        ["churn_predictions", "churn_model_metrics"],
        churn_section,
    ),
    (
        "rules",
        "Association rules",
        "Products bought together more often than chance would give.",
        ["association_rules"],
        rules_section,
    ),
    (
        "recommendations",
        "Recommendations",
        "Product recommendations evaluated on a time holdout, against "
        "recommending the most popular products.",
        ["recommendation_metrics"],
        recommendations_section,
    ),
    (
        "data-quality",
        "Data quality",
        "Every raw input row is either accepted as an event or rejected "
        "with a reason.",
        ["data_quality_daily"],
        data_quality_section,
    ),
]


def build_sections(wh: Warehouse) -> list[Section]:
    sections = []
    for section_id, title, intro, marts, draw in SECTIONS:
        section = Section(section_id, title, intro, marts)
        missing = [name for name in marts if name not in wh.tables]
        if missing:
            section.note = (
                "Not built: "
                + ", ".join(f"marts.{name}" for name in missing)
                + " does not exist in this warehouse yet."
            )
        else:
            try:
                section.charts = draw(wh)
            except EmptyMart as empty:
                section.note = str(empty)
            except duckdb.Error as error:
                section.failed = True
                section.note = f"Could not render this section: {error}"
        sections.append(section)
    return sections


# --- Page -------------------------------------------------------------------

STYLE = """
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;
color:#1f2937;background:#f9fafb}
header,main{max-width:980px;margin:0 auto;padding:0 24px}
header{padding-top:24px}h1{margin:0 0 4px}h2{margin:0 0 4px}
h3{font-size:15px;margin:0 0 6px}
nav a{margin-right:14px;color:#2563eb}
section{background:#fff;border:1px solid #e5e7eb;border-radius:8px;
padding:18px 22px;margin:18px 0}
.intro{color:#4b5563;margin:0 0 12px}.source{color:#6b7280;font-size:13px}
figure{margin:12px 0 18px}svg{max-width:100%;height:auto;display:block}
.reading{margin:6px 0 0;font-style:italic}
.note{color:#92400e;background:#fffbeb;padding:8px 12px;border-radius:6px}
.failed{color:#991b1b;background:#fef2f2;padding:8px 12px;border-radius:6px}
text{font-size:12px;fill:#374151}.axis-label{font-size:13px;fill:#111827;
font-weight:600}.tick{fill:#4b5563}.value{fill:#111827}
.grid{stroke:#e5e7eb}.axis{stroke:#6b7280}.cell{font-size:11px}
.cell.dark{fill:#fff}
table{border-collapse:collapse;font-size:13px;margin:8px 0}
th,td{padding:3px 10px;border-bottom:1px solid #e5e7eb;text-align:left}
td.number{text-align:right;font-variant-numeric:tabular-nums}
footer{max-width:980px;margin:0 auto 32px;padding:0 24px;color:#6b7280;
font-size:13px}
"""

# Runs in the browser after the page is parsed: counts, per chart, the marks
# that have a visible size, and records any script error, so a headless
# browser's DOM dump shows whether every chart drew.
CHECK_SCRIPT = """
(function () {
  var errors = 0;
  window.addEventListener("error", function () {
    errors += 1;
    document.body.setAttribute("data-errors", String(errors));
  });
  var figures = document.querySelectorAll("figure.chart");
  var drawn = 0;
  figures.forEach(function (figure) {
    var marks = 0;
    figure.querySelectorAll(".mark").forEach(function (mark) {
      var box = mark.getBoundingClientRect();
      if (box.width > 0 && box.height > 0) { marks += 1; }
    });
    figure.setAttribute("data-drawn-marks", String(marks));
    if (marks > 0) { drawn += 1; }
  });
  document.body.setAttribute("data-charts", String(figures.length));
  document.body.setAttribute("data-charts-drawn", String(drawn));
  document.body.setAttribute("data-errors", String(errors));
})();
"""


def published_at(con: duckdb.DuckDBPyConnection) -> str:
    """When the copy was published, if it is a publication."""
    try:
        (value,) = con.sql(
            "select max(published_at) from meta.published_tables"
        ).fetchone()
    except duckdb.Error:
        return "not a publication (read from the warehouse itself)"
    return f"published {value:%Y-%m-%d %H:%M} UTC"


def render_page(sections: list[Section], source: str) -> str:
    now = dt.datetime.now(dt.timezone.utc)
    links = "".join(
        f'<a href="#{esc(s.section_id)}">{esc(s.title)}</a>' for s in sections
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>Customer analytics report</title>"
        f"<style>{STYLE}</style></head><body>"
        "<header><h1>Customer analytics report</h1>"
        f"<p>Data: {esc(source)}. Written {now:%Y-%m-%d %H:%M} UTC.</p>"
        f"<nav>{links}</nav></header><main>"
        + "".join(s.html() for s in sections)
        + "</main><footer>Built only from the tables of schema marts; "
        "re-run <code>make report</code> after a build.</footer>"
        f"<script>{CHECK_SCRIPT}</script></body></html>"
    )


def write_report(database: Path, output: Path) -> list[Section]:
    """Render the report from ``database`` into ``output``; the sections."""
    if not database.exists():
        raise FileNotFoundError(
            f"No database at {database}: run `make build` (which publishes) "
            "or pass --database."
        )
    with duckdb.connect(str(database), read_only=True) as con:
        sections = build_sections(Warehouse(con))
        source = f"{database.name}, {published_at(con)}"
    output.parent.mkdir(parents=True, exist_ok=True)
    temporary = output.with_name(output.name + ".tmp")
    temporary.write_text(render_page(sections, source), encoding="utf-8")
    os.replace(temporary, output)
    return sections


def main(argv: list[str] | None = None) -> int:
    published = os.environ.get("CUSTOMER_ANALYTICS_PUBLISHED_DIR")
    published_dir = (
        Path(published) if published else PROJECT_DIR / "warehouse/published"
    )
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database",
        type=Path,
        default=published_dir / "customer_analytics.duckdb",
        help="DuckDB file with schema marts (default: the published copy)",
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    try:
        sections = write_report(args.database, args.output)
    except FileNotFoundError as error:
        print(f"report: {error}", file=sys.stderr)
        return 1
    failed = [s.title for s in sections if s.failed]
    if failed:
        print(
            f"report: sections that failed to render: {', '.join(failed)} "
            f"(see {args.output})",
            file=sys.stderr,
        )
        return 1
    print(f"Report written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
