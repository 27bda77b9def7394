"""The Python models on Spark: segments, churn and recommendations.

    .venv-spark/bin/python scripts/spark_ml.py [--build-first] [--skip-tests]
        [--vars YAML] [--target-path DIR] [--log-path DIR]

dbt-spark runs dbt Python models only on Databricks, so on the ``spark``
target the models in python_models/ are disabled (dbt_project.yml). This
script stands in for them, in one process and one Spark session:

1. With ``--build-first``, ``dbt build --target spark`` of everything but
   customer_scores (seeds, SQL models, their tests).
2. Each Python model's own ``model(dbt, session)`` function, run in dbt's
   order, with its config exactly as dbt renders it (vars included, read
   from the parsed project) and ``dbt.ref`` answering with the Spark-built
   table (or the output of a Python model run before it) as a DuckDB
   relation, the API the models are written against. Each result is
   written to the Spark table the model would have built: same schema,
   same name, same columns, Parquet.
3. ``dbt build --target spark --select customer_scores``: the SQL model
   that joins the model outputs, with its contract and tests.

So the segment, churn and recommendation tables on Spark come from the
same code and settings as on DuckDB. The session is the one dbt-spark
opens from profiles/profiles.yml (its warehouse, metastore and time zone),
so CUSTOMER_ANALYTICS_SPARK_DIR and the other variables there apply.

Each model reads whole tables into pandas, as on DuckDB; that is fine for
one machine and is the part to rewrite (e.g. with Spark's own MLlib) for
data that no longer fits in one process.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

PROJECT_DIR = Path(__file__).resolve().parents[1]
MODELS_DIR = PROJECT_DIR / "python_models"

__all__ = ["run_python_models", "main"]


def _dbt(args: list[str], common: list[str]):
    """Run one dbt command in this process; stop with its error if it fails."""
    from dbt.cli.main import dbtRunner

    result = dbtRunner().invoke([*args, *common])
    if not result.success:
        raise SystemExit(
            f"dbt {' '.join(args)} failed on the spark target"
            + (f": {result.exception}" if result.exception else "")
        )
    return result.result


def _python_nodes(manifest) -> list:
    """The project's Python models (disabled on Spark), in dependency order."""
    nodes = {}
    for candidates in manifest.disabled.values():
        for node in candidates:
            if getattr(node, "language", "sql") == "python":
                nodes[node.name] = node
    ordered: list = []

    def visit(name: str, path: tuple = ()) -> None:
        if name in path:
            raise ValueError(f"Python models depend on each other in a cycle: {path}")
        if any(node.name == name for node in ordered):
            return
        for ref in nodes[name].refs:
            if ref.name in nodes:
                visit(ref.name, (*path, name))
        ordered.append(nodes[name])

    for name in sorted(nodes):
        visit(name)
    return ordered


class _Config:
    """``dbt.config`` as a Python model sees it: the node's rendered config."""

    def __init__(self, values: dict):
        self._values = values

    def get(self, key, default=None):
        return self._values.get(key, default)

    def __call__(self, *args, **kwargs):
        return None


class _Dbt:
    """The part of dbt's Python model API the project's models use."""

    def __init__(self, node, spark, outputs: dict, con):
        self.config = _Config(node.config.to_dict())
        self._spark = spark
        self._outputs = outputs
        self._con = con
        self._node = node

    def ref(self, name: str, *args, **kwargs):
        if name in self._outputs:
            frame = self._outputs[name]
        else:
            schema = _schema_of(self._spark, name)
            frame = self._spark.table(f"{schema}.{name}").toPandas()
        return self._con.from_df(frame)


def _schema_of(spark, name: str) -> str:
    """The schema holding table ``name`` (marts, intermediate or staging)."""
    for schema in ("marts", "intermediate", "staging"):
        if spark.catalog.tableExists(f"{schema}.{name}"):
            return schema
    raise ValueError(
        f"The table {name} is not on Spark: build the SQL models first "
        "(dbt build --target spark, or this script with --build-first)."
    )


def _spark_type(dtype) -> str:
    """The Spark SQL type that holds a pandas column of ``dtype``."""
    text = str(dtype)
    if text in ("Int64", "int64", "Int32", "int32"):
        return "bigint"
    if text in ("float64", "Float64", "float32"):
        return "double"
    if text in ("bool", "boolean"):
        return "boolean"
    if text.startswith("datetime64"):
        return "timestamp"
    return "string"


def _write(spark, frame: pd.DataFrame, table: str) -> None:
    """Replace Spark table ``table`` with ``frame``, typed column by column."""
    from pyspark.sql import types as T

    names = {"bigint": T.LongType(), "double": T.DoubleType(),
             "boolean": T.BooleanType(), "timestamp": T.TimestampType(),
             "string": T.StringType()}
    schema = T.StructType(
        [T.StructField(str(c), names[_spark_type(frame[c].dtype)], True)
         for c in frame.columns]
    )
    rows = []
    for record in frame.astype(object).itertuples(index=False, name=None):
        rows.append(tuple(None if _missing(v) else _plain(v) for v in record))
    spark.createDataFrame(rows, schema).write.mode("overwrite").format(
        "parquet"
    ).saveAsTable(table)


def _as_frame(result) -> pd.DataFrame:
    """A Python model's result as a pandas frame, whatever it returned.

    The models return pandas frames, DuckDB relations or Arrow tables (all
    three are valid dbt-duckdb results). Relations and Arrow tables go
    through Arrow with pandas' nullable types, so a whole-number column
    with nulls stays whole numbers (``Int64``) instead of turning into
    doubles, and is written to Spark as ``bigint`` like on DuckDB.
    """
    if isinstance(result, pd.DataFrame):
        return result
    if isinstance(result, duckdb.DuckDBPyRelation):
        result = result.to_arrow_table()
    if not isinstance(result, pa.Table):
        raise TypeError(
            "A Python model returned a "
            f"{type(result).__name__}; expected a pandas DataFrame, a DuckDB "
            "relation or an Arrow table."
        )
    nullable = {
        pa.int8(): pd.Int64Dtype(), pa.int16(): pd.Int64Dtype(),
        pa.int32(): pd.Int32Dtype(), pa.int64(): pd.Int64Dtype(),
        pa.bool_(): pd.BooleanDtype(),
    }
    return result.to_pandas(types_mapper=nullable.get)


def _missing(value) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _plain(value):
    """A Python value Spark accepts for a numpy or pandas scalar."""
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if hasattr(value, "item"):
        return value.item()
    return value


def run_python_models(spark, manifest) -> dict[str, int]:
    """Run every Python model of the project over the Spark tables.

    Returns the number of rows written per table. Each model's result goes
    to ``<schema>.<model name>`` on Spark, the schema it configures.
    """
    counts = {}
    outputs: dict[str, pd.DataFrame] = {}
    with duckdb.connect() as con:
        for node in _python_nodes(manifest):
            path = MODELS_DIR / Path(node.original_file_path).name
            spec = importlib.util.spec_from_file_location(f"_model_{node.name}", path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            frame = _as_frame(
                module.model(_Dbt(node, spark, outputs, con), spark)
            )
            outputs[node.name] = frame
            schema = node.config.schema or "marts"
            spark.sql(f"create schema if not exists {schema}")
            _write(spark, frame, f"{schema}.{node.name}")
            counts[f"{schema}.{node.name}"] = len(frame)
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build-first", action="store_true",
                        help="dbt build the SQL models on Spark first")
    parser.add_argument("--skip-tests", action="store_true",
                        help="build without running dbt's data tests")
    parser.add_argument("--vars", help="dbt --vars, as for dbt build")
    parser.add_argument("--target-path", help="dbt --target-path")
    parser.add_argument("--log-path", help="dbt --log-path")
    options = parser.parse_args(argv)

    common = ["--target", "spark", "--project-dir", str(PROJECT_DIR),
              "--profiles-dir", str(PROJECT_DIR / "profiles")]
    if options.vars:
        common += ["--vars", options.vars]
    if options.target_path:
        common += ["--target-path", options.target_path]
    if options.log_path:
        common += ["--log-path", options.log_path]

    skip = ["--exclude-resource-type", "test"] if options.skip_tests else []
    if options.build_first:
        _dbt(["build", "--exclude", "customer_scores", *skip], common)
    manifest = _dbt(["parse"], common)
    # opens dbt-spark's session (profiles.yml settings); reused below
    _dbt(["show", "--inline", "select 1 as ready", "--limit", "1"], common)
    from pyspark.sql import SparkSession

    spark = SparkSession.getActiveSession() or SparkSession.builder.getOrCreate()
    spark.conf.set("spark.sql.execution.arrow.pyspark.enabled", "true")
    counts = run_python_models(spark, manifest)
    _dbt(["build", "--select", "customer_scores", *skip], common)
    print(json.dumps({"python_model_tables": counts}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
