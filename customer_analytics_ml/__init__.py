"""Modelling functions behind the customer_analytics dbt Python models.

Each module takes and returns pandas DataFrames, so pytest can call it
directly; the files in python_models/ only read config and refs and call it.

- segments: k-means customer segments, their profiles and the choice of k.
- churn: churn features from events, the decision tree, its metrics and rules.
- recommendations: item-to-item and content similarity, popularity fallback,
  product lists and their temporal-holdout evaluation.
- metrics: classification and ranking metrics, written out.
- events, params, tables: shared rules for events, config values and output
  column types.
"""
