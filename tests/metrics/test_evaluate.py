"""xk.evaluate: the QualityReport's table, ranking, disagreement, privacy notes and refusals."""

from __future__ import annotations

import numpy as np
import pytest

import xaikit as xk
from xaikit.errors import InvalidParameterError
from xaikit.metrics.complexity import sparseness
from xaikit.metrics.evaluate import evaluate
from xaikit.results.metric_scores import MetricScores
from xaikit.results.quality import QualityReport

W = np.array([3.0, -2.0, 1.0, 0.5, 0.0])


def _model(Z: np.ndarray) -> np.ndarray:
    return np.asarray(Z, dtype=np.float64) @ W


def drop_top(model, X, explanation, *, target=None, n_random=10, batch_size=None, random_state=None):
    """A small faithfulness metric: |output change| when the feature with the largest |phi| is set to 0."""
    X = np.asarray(X, dtype=np.float64)
    phi = np.asarray(explanation.values if hasattr(explanation, "values") else explanation, dtype=np.float64)
    phi = phi[:, :, 0] if phi.ndim == 3 else phi
    rng = np.random.default_rng(random_state)
    f = xk.models.adapt(model)
    base = f.predict(X)[:, 0]

    def score(P):
        Z = X.copy()
        Z[np.arange(len(X)), np.abs(P).argmax(axis=1)] = 0.0
        return np.abs(base - f.predict(Z)[:, 0])

    floor = np.mean([score(rng.permuted(phi, axis=1)) for _ in range(n_random)], axis=0)
    return MetricScores(values=score(phi), floor=floor, method="drop_top", params={"metric": "drop_top", "higher_is_better": True})


@pytest.fixture(scope="module")
def setup():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 5))
    bg = rng.normal(size=(8, 5))
    exact = xk.ExactShapley(_model, background=bg).explain(X)
    noise = xk.Attribution(values=rng.normal(size=(30, 5, 1)), base_values=np.zeros((30, 1)), feature_names=exact.feature_names, method="noise")
    return X, exact, noise


def test_table_and_ranking_follow_the_metrics(setup):
    X, exact, noise = setup
    q = evaluate(_model, X, {"noise": noise, "shap": exact}, metrics=["sparseness", drop_top], n_random=5, random_state=0)
    assert isinstance(q, QualityReport)
    assert q.metric_names == ["sparseness", "drop_top"] and q.method_names == ["noise", "shap"]
    # the per-row values are the metric's own, with the same seed for every method
    direct = sparseness(_model, X, exact, n_random=5, random_state=np.random.SeedSequence(0).spawn(2)[0])
    np.testing.assert_array_equal(q.values[0, 1], direct.values)
    np.testing.assert_array_equal(q.floor[0, 1], direct.floor)
    table = q.table
    assert len(table) == 4
    line = table[(table.metric == "drop_top") & (table.method == "shap")].iloc[0]
    assert line["mean"] == pytest.approx(np.mean(q.values[1, 1]))
    assert line["lower"] < line["mean"] < line["upper"]
    assert line["above_floor"] == pytest.approx(np.mean(q.values[1, 1] - q.floor[1, 1]))
    assert bool(line["above_floor_significant"])
    ranking = q.ranking()
    assert ranking.loc["shap", "drop_top"] == 1.0 and ranking.loc["noise", "drop_top"] == 2.0
    assert ranking.index[0] == "shap"
    assert list(ranking.columns) == ["sparseness", "drop_top", "mean_rank", "overall"]


def test_ties_share_their_mean_rank_and_direction_is_read(setup):
    X, exact, _ = setup
    q = evaluate(_model, X, {"a": exact, "b": exact}, metrics=["sparseness"], random_state=1)
    assert q.ranking()["sparseness"].tolist() == [1.5, 1.5]
    low = QualityReport(values=[[[1.0, 1.0], [2.0, 2.0]]], floor=np.zeros((1, 2, 2)), rank_correlation=[[1.0, 1.0]],
                        top_k_overlap=[[1.0, 1.0]], pair_names=["a vs b"], higher_is_better=[False], privacy=["", ""],
                        metric_names=["m"], method_names=["a", "b"], method="evaluate")
    assert low.ranking()["m"].to_dict() == {"a": 1.0, "b": 2.0}
    assert low.table["above_floor"].tolist() == [-1.0, -2.0]


def test_disagreement_per_row_and_overall(setup):
    X, exact, noise = setup
    from scipy.stats import spearmanr

    q = evaluate(_model, X, {"shap": exact, "same": exact, "noise": noise}, metrics=["sparseness"], k=2, random_state=0)
    assert q.pair_names == ["shap vs same", "shap vs noise", "same vs noise"]
    np.testing.assert_allclose(q.rank_correlation[0], 1.0)
    np.testing.assert_allclose(q.top_k_overlap[0], 1.0)
    a, b = np.abs(exact.values[:, :, 0]), np.abs(noise.values[:, :, 0])
    expected = [spearmanr(a[i], b[i])[0] for i in range(len(a))]
    np.testing.assert_allclose(q.rank_correlation[1], expected, atol=1e-12)
    overall = q.disagreement()
    assert overall.loc["shap", "noise"] == pytest.approx(np.mean(expected))
    assert overall.loc["noise", "shap"] == overall.loc["shap", "noise"]
    assert set(q.disagreement_table().columns) >= {"pair", "rank_correlation", "top_k_overlap_lower"}
    sub = q[:, ["noise", "shap"]]  # methods selected (and reordered): their pair follows
    assert sub.pair_names == ["noise vs shap"]
    np.testing.assert_array_equal(sub.rank_correlation[0], q.rank_correlation[1])
    assert q[:, :, :5].rank_correlation.shape == (3, 5)


def test_privacy_is_recorded_per_explanation(setup):
    X, exact, noise = setup
    q = evaluate(_model, X, {"shap": exact, "noise": noise}, metrics=["sparseness"], random_state=0)
    assert "30 rows of X" in q.privacy[0] and ".data" in q.privacy[0]
    assert q.privacy[1] == ""


def test_save_load_round_trip(setup, tmp_path):
    X, exact, noise = setup
    q = evaluate(_model, X, {"shap": exact, "noise": noise}, metrics=["sparseness", drop_top], random_state=0)
    path = tmp_path / "quality.xai"
    q.save(path)
    back = QualityReport.load(path)
    np.testing.assert_array_equal(back.values, q.values)
    assert back.table.equals(q.table)
    assert back.privacy == q.privacy and back.higher_is_better == q.higher_is_better
    assert back.diagnostics["runtime_s"].shape == (2, 2)


def test_same_seed_same_report(setup):
    X, exact, noise = setup
    one = evaluate(_model, X, {"shap": exact, "noise": noise}, metrics=[drop_top], random_state=3)
    two = evaluate(_model, X, {"shap": exact, "noise": noise}, metrics=[drop_top], random_state=3)
    np.testing.assert_array_equal(one.floor, two.floor)


def test_robustness_metric_needs_explainers(setup):
    X, exact, noise = setup
    seen = {}

    def needs_explainer(model, X, explanation, *, explainer, target=None, n_random=10, batch_size=None, random_state=None):
        seen[explanation.method] = explainer
        return MetricScores(values=np.zeros(len(X)), floor=np.ones(len(X)), method="x", params={"metric": "x", "higher_is_better": False})

    with pytest.raises(InvalidParameterError, match=r"explainers: the metric 'needs_explainer'.*\['shap', 'noise'\]"):
        evaluate(_model, X, {"shap": exact, "noise": noise}, metrics=[needs_explainer])
    with pytest.raises(InvalidParameterError, match=r"explainers: the metric 'max_sensitivity'"):
        evaluate(_model, X, {"shap": exact}, metrics=["max_sensitivity"])
    evaluate(_model, X, {"shap": exact, "noise": noise}, metrics=[needs_explainer], explainers={"shap": "E1", "noise": "E2"})
    assert seen[noise.method] == "E2" and seen[exact.method] == "E1"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"metrics": ["nope"]}, r"metrics: expected one of .*got 'nope'"),
        ({"metrics": "sparseness"}, r"metrics: expected a non-empty list"),
        ({"metrics": ["sparseness", "sparseness"]}, r"metrics: expected each metric once"),
        ({"metric_params": {"entropy": {}}}, r"metric_params: expected names of the metrics"),
        ({"metric_params": {"sparseness": {"random_state": 1}}}, r"'random_state' is set by evaluate"),
        ({"explainers": {"other": object()}}, r"explainers: expected names of explanations"),
        ({"k": 0}, r"k"),
        ({"level": 1.5}, r"level: expected a coverage"),
    ],
)
def test_bad_parameters_are_named(setup, kwargs, match):
    X, exact, _ = setup
    args = {"metrics": ["sparseness"]} | kwargs
    with pytest.raises(InvalidParameterError, match=match):
        evaluate(_model, X, {"shap": exact}, **args)


def test_explanations_refused_when_empty_or_wrong_rows(setup):
    X, exact, _ = setup
    with pytest.raises(InvalidParameterError, match="explanations: expected a dict"):
        evaluate(_model, X, {}, metrics=["sparseness"])
    with pytest.raises(InvalidParameterError, match=r"explanations\['short'\]: expected one row per row of X \(30\)"):
        evaluate(_model, X, {"short": exact[:10]}, metrics=["sparseness"])


def test_several_outputs_disagreement_reads_the_predicted_output():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(12, 3))

    def two(Z):
        Z = np.asarray(Z, dtype=np.float64)
        return np.column_stack([Z[:, 0], -Z[:, 0]])

    v = rng.normal(size=(12, 3, 2))
    a = xk.Attribution(values=v, base_values=np.zeros((12, 2)), method="a")
    b = xk.Attribution(values=np.where(np.arange(2) == 0, v, -v * np.arange(1, 4)[None, :, None]), base_values=np.zeros((12, 2)), method="b")
    q = evaluate(two, X, {"a": a, "b": b}, metrics=["sparseness"], random_state=0)
    from xaikit.metrics.disagreement import rank_correlation

    pick = (X[:, 0] < 0).astype(int)  # the larger output of each row
    expected = rank_correlation(v[np.arange(12), :, pick], b.values[np.arange(12), :, pick])
    np.testing.assert_allclose(q.rank_correlation[0], expected)
    assert not np.allclose(expected, 1.0)


def test_the_issue_call_with_faithfulness_and_robustness_metrics():
    from sklearn.ensemble import GradientBoostingRegressor

    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 5))
    model = GradientBoostingRegressor(n_estimators=20, max_depth=2, random_state=0).fit(X, X @ W)
    rows = X[:15]
    exact, kernel = xk.ExactShapley(model, background=X[:16]), xk.KernelShap(model, background=X[:16])
    noise = xk.Attribution(values=rng.normal(size=(15, 5, 1)), base_values=np.zeros((15, 1)), method="noise")
    explanations = {"exact": exact.explain(rows), "kernel": kernel.explain(rows, random_state=0), "noise": noise}
    q = evaluate(model, rows, explanations, metrics=["deletion", "insertion", "infidelity", "max_sensitivity", "sparseness"],
                 explainers={"exact": exact, "kernel": kernel, "noise": exact}, metric_params={"max_sensitivity": {"n_samples": 3}},
                 random_state=0)
    ranking = q.ranking()
    # exact and kernel SHAP of 5 features agree: deletion orders the features alike, so they tie, ahead of noise
    assert ranking.loc["exact", "deletion"] == ranking.loc["kernel", "deletion"] == 1.5
    assert ranking.loc["noise", "deletion"] == 3.0 and ranking.loc["noise", "insertion"] == 3.0
    assert ranking.index[-1] == "noise"
    table = q.table.set_index(["metric", "method"])
    assert bool(table.loc[("deletion", "exact"), "above_floor_significant"])
    assert q.higher_is_better == [False, True, False, False, True]
    np.testing.assert_allclose(q.top_k_overlap[0], 1.0)  # exact vs kernel
