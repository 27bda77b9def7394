{#-
    ml_model_output(model_name)
    The table a Python model writes (customer_segments, churn_predictions,
    product_recommendations, ...), for SQL models that read it, e.g.
        select * from {{ ml_model_output("customer_segments") }}

    On DuckDB it is ref(model_name). dbt-spark runs Python models only on
    Databricks, so on the spark target the Python models are disabled
    (dbt_project.yml) and scripts/spark_ml.py writes the same tables into
    the marts schema; here that table is read directly. When it is not
    there yet the build stops and says which script to run.
-#}
{% macro ml_model_output(model_name) -%}
    {{ return(adapter.dispatch(
        "ml_model_output", "customer_analytics"
    )(model_name)) }}
{%- endmacro %}

{% macro default__ml_model_output(model_name) -%}
    {{ return(ref(model_name)) }}
{%- endmacro %}

{% macro spark__ml_model_output(model_name) -%}
    {%- set schema = generate_schema_name("marts", none) -%}
    {%- set relation = api.Relation.create(
        schema=schema, identifier=model_name, type="table"
    ) -%}
    {%- if execute and adapter.get_relation(
        database=none, schema=schema, identifier=model_name
    ) is none -%}
        {{ exceptions.raise_compiler_error(
            "The table " ~ schema ~ "." ~ model_name ~ " is not built. On "
            ~ "Spark the Python models are replaced by scripts/spark_ml.py: "
            ~ "run it after the SQL models and before " ~ this.identifier
            ~ " (make build-spark does both), e.g. "
            ~ ".venv-spark/bin/python scripts/spark_ml.py"
        ) }}
    {%- endif -%}
    {{ return(relation) }}
{%- endmacro %}
