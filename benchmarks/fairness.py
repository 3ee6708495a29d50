"""Group fairness on Adult: xaikit.FairnessReport against fairlearn's MetricFrame, time and agreement.

Data: UCI Adult as shipped (``load_adult``): a scikit-learn model (one-hot categories and
``HistGradientBoostingClassifier``) fitted on ``adult.data`` (32,561 rows) decides on ``adult.test``
(16,281 rows). Groups: sex x race (10 intersectional groups, the smallest of about 60 rows).

Measured (wall clock, best of ``--repeats`` for xaikit, one run for fairlearn's bootstrap):

- point estimates: per-group selection rate, true and false positive rates, precision, accuracy,
  count; demographic parity difference and ratio, equalized odds difference and ratio, equal
  opportunity difference and ratio, predictive parity difference. fairlearn: one ``MetricFrame`` of
  the five metrics and ``count`` plus its ``demographic_parity_*``, ``equalized_odds_*`` and
  ``equal_opportunity_*`` functions, as a user writes them.
- 1,000 bootstrap resamples: fairlearn's ``MetricFrame(n_boot=1000, ci_quantiles=[0.025, 0.975])``
  (plain resampling of all rows) against ``FairnessReport.intervals(1000)`` plain
  (``stratify=False``, the same scheme) and stratified (the default).

Agreement: the largest absolute difference of the point estimates (expected 0 up to rounding), and of
the 95% interval bounds of the per-group metrics and of the differences fairlearn bootstraps (different
random draws: they agree up to Monte Carlo noise).

Run: ``python benchmarks/fairness.py`` (``--n-boot 1000``; ``--quick`` for 100 resamples).
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import warnings
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pandas as pd

from xaikit.datasets import load_adult
from xaikit.fairness import FairnessReport

METRICS = ("selection_rate", "true_positive_rate", "false_positive_rate", "precision", "accuracy")


def fit_and_predict() -> tuple[np.ndarray, np.ndarray, np.ndarray, pd.DataFrame]:
    """``(y_true, y_pred, y_score, sensitive features)`` on the Adult test rows."""
    from sklearn.compose import make_column_transformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    train, test = load_adult(), load_adult("test")
    categorical = list(train.categorical_features)

    def prepare(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        for c in categorical:
            frame[c] = frame[c].astype(str)
        return frame

    encode = make_column_transformer((OneHotEncoder(handle_unknown="ignore", sparse_output=False), categorical), remainder="passthrough")
    model = make_pipeline(encode, HistGradientBoostingClassifier(random_state=0)).fit(prepare(train.frame), np.asarray(train.target))
    X = prepare(test.frame)
    score = model.predict_proba(X)[:, 1]
    y_pred = (score >= 0.5).astype(int)
    sf = test.frame[["sex", "race"]].astype(str).reset_index(drop=True)
    return np.asarray(test.target).astype(int), y_pred, score, sf


def best_of(fn: Any, repeats: int) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def fairlearn_metrics() -> dict[str, Any]:
    import fairlearn.metrics as fm
    from sklearn.metrics import accuracy_score, precision_score

    return {"selection_rate": fm.selection_rate, "true_positive_rate": fm.true_positive_rate,
            "false_positive_rate": fm.false_positive_rate, "precision": precision_score, "accuracy": accuracy_score,
            "count": fm.count}


def fairlearn_point(y: np.ndarray, p: np.ndarray, sf: pd.DataFrame) -> dict[str, Any]:
    import fairlearn.metrics as fm

    mf = fm.MetricFrame(metrics=fairlearn_metrics(), y_true=y, y_pred=p, sensitive_features=sf)
    kw = {"sensitive_features": sf}
    return {
        "by_group": mf.by_group,
        "demographic_parity_difference": fm.demographic_parity_difference(y, p, **kw),
        "demographic_parity_ratio": fm.demographic_parity_ratio(y, p, **kw),
        "equalized_odds_difference": fm.equalized_odds_difference(y, p, **kw),
        "equalized_odds_ratio": fm.equalized_odds_ratio(y, p, **kw),
        "equal_opportunity_difference": fm.equal_opportunity_difference(y, p, **kw),
        "equal_opportunity_ratio": fm.equal_opportunity_ratio(y, p, **kw),
        "predictive_parity_difference": float(mf.difference()["precision"]),
    }


def xaikit_point(y: np.ndarray, p: np.ndarray, sf: pd.DataFrame) -> dict[str, Any]:
    fr = FairnessReport(y, p, sensitive_features=sf)
    out: dict[str, Any] = {"by_group": fr.by_group}
    for name in ("demographic_parity", "equalized_odds", "equal_opportunity"):
        out[f"{name}_difference"] = fr.difference(name)
        out[f"{name}_ratio"] = fr.ratio(name)
    out["predictive_parity_difference"] = fr.difference("predictive_parity")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="100 resamples")
    args = parser.parse_args()
    n_boot = 100 if args.quick else args.n_boot
    warnings.filterwarnings("ignore")
    import fairlearn
    import fairlearn.metrics as fm

    y, p, score, sf = fit_and_predict()
    print(f"Adult test: {len(y):,} rows, {sf.value_counts().size} groups of sex x race (smallest {sf.value_counts().min()} rows); "
          f"fairlearn {fairlearn.__version__}, numpy {np.__version__}, {platform.processor() or platform.machine()}, "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}")

    t_fl_point, fl = best_of(lambda: fairlearn_point(y, p, sf), args.repeats)
    t_xk_point, xk = best_of(lambda: xaikit_point(y, p, sf), args.repeats)
    ours, theirs = xk["by_group"], fl["by_group"].dropna(how="all")
    point_gap = max(float(np.abs(ours[m].to_numpy() - theirs[m].to_numpy(dtype=float)).max()) for m in METRICS)
    point_gap = max(point_gap, *(abs(xk[k] - fl[k]) for k in xk if k != "by_group"))
    counts_equal = bool((ours["count"].to_numpy() == theirs["count"].to_numpy()).all())

    start = time.perf_counter()
    mf = fm.MetricFrame(metrics=fairlearn_metrics(), y_true=y, y_pred=p, sensitive_features=sf, n_boot=n_boot,
                        ci_quantiles=[0.025, 0.975], random_state=0)
    t_fl_boot = time.perf_counter() - start
    fr = FairnessReport(y, p, sensitive_features=sf)
    t_plain, plain = best_of(lambda: fr.intervals(n_boot, stratify=False, random_state=0), args.repeats)
    t_strat, strat = best_of(lambda: fr.intervals(n_boot, random_state=0), args.repeats)
    fr_scores = FairnessReport(y, p, sensitive_features=sf, y_score=score)
    t_cal, _ = best_of(lambda: fr_scores.intervals(n_boot, random_state=0), args.repeats)

    # interval agreement: per-group bounds, and the differences fairlearn bootstraps
    lower_fl, upper_fl = (mf.by_group_ci[k].dropna(how="all") for k in (0, 1))
    ours_ci = plain.by_group_intervals()
    per_metric = {
        m: max(float(np.abs(ours_ci[f"{m}_lower"].to_numpy() - lower_fl[m].to_numpy(dtype=float)).max()),
               float(np.abs(ours_ci[f"{m}_upper"].to_numpy() - upper_fl[m].to_numpy(dtype=float)).max()))
        for m in METRICS
    }
    bound_gap = max(per_metric.values())
    diff_ci = mf.difference_ci()
    diff_lo, diff_hi = diff_ci[0], diff_ci[1]
    stored = plain.disparity_intervals or {}
    pairs = {"demographic_parity_difference": "selection_rate", "equal_opportunity_difference": "true_positive_rate",
             "predictive_parity_difference": "precision", "accuracy_difference": "accuracy"}
    diff_gap = max(max(abs(stored[k][1] - float(diff_lo[m])), abs(stored[k][2] - float(diff_hi[m]))) for k, m in pairs.items())
    width = float(np.nanmean(ours_ci[[f"{m}_upper" for m in METRICS]].to_numpy() - ours_ci[[f"{m}_lower" for m in METRICS]].to_numpy()))

    rows = [
        ("point estimates (5 metrics x 10 groups, 7 disparities)", t_xk_point, t_fl_point,
         f"max |diff| {point_gap:.1e}; counts equal: {counts_equal}"),
        (f"{n_boot} bootstrap resamples, plain (fairlearn's scheme)", t_plain, t_fl_boot,
         f"bounds: per group max |diff| {bound_gap:.4f}, differences {diff_gap:.4f} (mean interval width {width:.4f})"),
        (f"{n_boot} bootstrap resamples, stratified by group (default)", t_strat, t_fl_boot, "fairlearn has no stratified bootstrap"),
        (f"{n_boot} resamples, stratified, with calibration by group", t_cal, float("nan"), "fairlearn has no calibration by group"),
    ]
    head = f"{'task':60s} {'xaikit s':>9s} {'fairlearn s':>12s} {'speed-up':>9s}  agreement"
    print(head)
    print("-" * len(head))
    for name, ours_t, theirs_t, note in rows:
        ratio = theirs_t / ours_t if np.isfinite(theirs_t) else float("nan")
        theirs_text = f"{theirs_t:12.3f}" if np.isfinite(theirs_t) else f"{'-':>12s}"
        ratio_text = f"{ratio:8.1f}x" if np.isfinite(ratio) else f"{'-':>9s}"
        print(f"{name:60s} {ours_t:9.3f} {theirs_text} {ratio_text}  {note}")
    print("largest |difference| of the per-group 95% bounds, xaikit plain vs fairlearn, per metric: "
          + ", ".join(f"{m} {v:.4f}" for m, v in per_metric.items()))
    rare = ours["count"].idxmin()
    in_rare = (sf.apply(tuple, axis=1) == rare).to_numpy()
    rng = np.random.default_rng(0)
    by_hand = []  # a plain loop of resamples, TP / (TP + FN) of the group, 0 where it has no positive label
    for _ in range(n_boot):
        i = rng.integers(0, len(y), len(y))
        yy, pp = y[i][in_rare[i]], p[i][in_rare[i]]
        by_hand.append((yy & pp).sum() / yy.sum() if yy.sum() else 0.0)
    hand_lo, hand_hi = np.quantile(by_hand, [0.025, 0.975])
    print(f"smallest group {rare}: {int(in_rare.sum())} rows, {int((in_rare & (y == 1)).sum())} positive labels; 95% bounds of its "
          f"true positive rate: xaikit [{ours_ci.loc[rare, 'true_positive_rate_lower']:.3f}, {ours_ci.loc[rare, 'true_positive_rate_upper']:.3f}], "
          f"fairlearn [{float(lower_fl.loc[rare, 'true_positive_rate']):.3f}, {float(upper_fl.loc[rare, 'true_positive_rate']):.3f}], "
          f"a hand-written loop of {n_boot} resamples [{hand_lo:.3f}, {hand_hi:.3f}]")
    eo = strat.disparities().loc["equalized_odds_difference"]
    print(f"equalized odds difference (xaikit, stratified): {eo['value']:.4f} [{eo['lower']:.4f}, {eo['upper']:.4f}] "
          "(fairlearn's bootstrap gives no interval of it: it is the max over two metrics)")


if __name__ == "__main__":
    main()
