"""Evaluation metrics, written out so that each formula is visible.

The tests compare every function here with an independent reference
(scikit-learn for the classification metrics, a plain loop for the ranking
metrics), so the package does not grade itself with the code it is graded by.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

__all__ = ["classification_metrics", "ranking_metrics"]


def classification_metrics(y_true, y_pred, y_score):
    """Accuracy, precision, recall, F1 and ROC AUC of a binary prediction.

    Parameters
    ----------
    y_true, y_pred : array-like of bool or {0, 1}
        Actual and predicted class; 1 (True) is the positive class.
    y_score : array-like of float
        A score that ranks positives higher, used for ROC AUC only.

    Returns
    -------
    dict
        ``accuracy``, ``precision``, ``recall``, ``f1_score``, ``roc_auc`` and
        ``positive_rate`` (share of actual positives). Precision, recall and
        F1 are 0 when their denominator is 0; ROC AUC is NaN when only one
        class is present.

    Notes
    -----
    ROC AUC is the Mann-Whitney statistic: the chance that a random positive
    scores above a random negative, with ties counting one half.
    """
    y_true = np.asarray(y_true).astype(bool)
    y_pred = np.asarray(y_pred).astype(bool)
    y_score = np.asarray(y_score, dtype="float64")
    count = y_true.size
    true_pos = int(np.sum(y_true & y_pred))
    false_pos = int(np.sum(~y_true & y_pred))
    false_neg = int(np.sum(y_true & ~y_pred))
    positives = int(np.sum(y_true))
    negatives = count - positives

    precision = true_pos / (true_pos + false_pos) if true_pos + false_pos else 0.0
    recall = true_pos / (true_pos + false_neg) if true_pos + false_neg else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    if positives and negatives:
        ranks = rankdata(y_score, method="average")
        roc_auc = (ranks[y_true].sum() - positives * (positives + 1) / 2) / (
            positives * negatives
        )
    else:
        roc_auc = float("nan")
    return {
        "accuracy": float(np.mean(y_true == y_pred)) if count else float("nan"),
        "precision": float(precision),
        "recall": float(recall),
        "f1_score": float(f1),
        "roc_auc": float(roc_auc),
        "positive_rate": float(positives / count) if count else float("nan"),
    }


def ranking_metrics(recommendations, relevant, *, k, catalogue_size):
    """Top-k ranking quality of recommendation lists against what was bought.

    Parameters
    ----------
    recommendations : pandas.DataFrame
        customer_id, product_id, rank (1 is best; unique per customer).
    relevant : pandas.DataFrame
        customer_id, product_id: what each customer went on to buy. The
        customers evaluated are exactly the customers in this frame.
    k : int
        Cut-off: only ranks 1..k count.
    catalogue_size : int
        Number of products that could have been recommended.

    Returns
    -------
    dict
        ``precision_at_k`` (hits / k), ``recall_at_k`` (hits / relevant
        count), ``hit_rate_at_k`` (share of customers with a hit),
        ``ndcg_at_k`` (binary gain, log2 discount, ideal = all relevant items
        first), ``map_at_k`` (mean of precision at each hit's rank, divided by
        min(relevant count, k)), each averaged over evaluated customers;
        ``catalogue_coverage`` (distinct products recommended to them / the
        catalogue size) and ``count_customers_evaluated``. Averages are NaN
        when nobody is evaluated.
    """
    relevant = relevant.loc[:, ["customer_id", "product_id"]].drop_duplicates()
    relevant_counts = relevant.groupby("customer_id").size()
    evaluated = relevant_counts.index
    customer_count = len(evaluated)

    top = recommendations.loc[
        (recommendations["rank"] <= k) & recommendations["customer_id"].isin(evaluated),
        ["customer_id", "product_id", "rank"],
    ]
    if top.duplicated(["customer_id", "rank"]).any():
        raise ValueError("recommendations repeat a rank for a customer")
    covered = top["product_id"].nunique()
    coverage = covered / catalogue_size if catalogue_size else float("nan")
    if customer_count == 0:
        nothing = float("nan")
        return {
            "precision_at_k": nothing,
            "recall_at_k": nothing,
            "hit_rate_at_k": nothing,
            "ndcg_at_k": nothing,
            "map_at_k": nothing,
            "catalogue_coverage": float(coverage),
            "count_customers_evaluated": 0,
        }

    hits = top.merge(relevant, on=["customer_id", "product_id"], how="inner")
    hits = hits.sort_values(["customer_id", "rank"], kind="stable")
    hits["hits_so_far"] = hits.groupby("customer_id").cumcount() + 1
    hits["precision_at_rank"] = hits["hits_so_far"] / hits["rank"]
    hits["discount"] = 1.0 / np.log2(hits["rank"] + 1.0)
    per_customer = hits.groupby("customer_id").agg(
        hit_count=("rank", "size"),
        dcg=("discount", "sum"),
        precision_sum=("precision_at_rank", "sum"),
    )
    per_customer = per_customer.reindex(evaluated, fill_value=0)

    relevant_count = relevant_counts.to_numpy()
    ideal_length = np.minimum(relevant_count, k)
    ideal_gains = np.concatenate(
        [[0.0], np.cumsum(1.0 / np.log2(np.arange(1, k + 1) + 1.0))]
    )
    hit_count = per_customer["hit_count"].to_numpy()
    return {
        "precision_at_k": float(np.mean(hit_count / k)),
        "recall_at_k": float(np.mean(hit_count / relevant_count)),
        "hit_rate_at_k": float(np.mean(hit_count > 0)),
        "ndcg_at_k": float(
            np.mean(per_customer["dcg"].to_numpy() / ideal_gains[ideal_length])
        ),
        "map_at_k": float(
            np.mean(per_customer["precision_sum"].to_numpy() / ideal_length)
        ),
        "catalogue_coverage": float(coverage),
        "count_customers_evaluated": int(customer_count),
    }
