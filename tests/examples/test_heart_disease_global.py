"""Run examples/heart_disease_global.py in quick mode and check its printed numbers against direct computations."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from example_loader import load_example

import xaikit as xk


def test_heart_disease_global(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("sklearn")
    pytest.importorskip("pandas")
    from sklearn.metrics import r2_score

    from xaikit.results.rules import Rules

    result = load_example("heart_disease_global").main(tmp_path, quick=True)
    out = capsys.readouterr().out
    model, X, X_test, y_test, frame = result["model"], result["X"], result["X_test"], result["y_test"], result["frame"]

    assert f"test accuracy: {model.score(X_test, y_test):.4f}" in out
    # The fidelity printed is R^2 on the held-out patients, which the surrogate did not see.
    rules = result["rules"]
    d = rules.diagnostics
    train, test = d["train_rows"], d["test_rows"]
    assert not set(train.tolist()) & set(test.tolist()) and len(train) + len(test) == len(frame) == 297
    truth = model.predict_proba(X)[:, 1:]
    held_out = r2_score(truth[test], rules.predict(frame.iloc[test]))
    on_fit = r2_score(truth[train], rules.predict(frame.iloc[train]))
    line = re.search(r"fidelity R\^2 (\S+) on (\d+) held-out patients \((\S+) on the (\d+)", out)
    assert line is not None
    assert float(line.group(1)) == pytest.approx(held_out, abs=5e-5) and int(line.group(2)) == len(test)
    assert float(line.group(3)) == pytest.approx(on_fit, abs=5e-5) and int(line.group(4)) == len(train)
    assert held_out > 0.5
    # Every rule printed, each fit patient in exactly one, predicting the mean probability of its patients.
    for text in rules.rules():
        assert "  " + text in out
    leaf = rules.apply(frame.iloc[train])
    np.testing.assert_array_equal(np.bincount(leaf, minlength=rules.n_rules), rules.support)
    means = np.array([truth[train][leaf == i, 0].mean() for i in range(rules.n_rules)])
    np.testing.assert_allclose(rules.prediction[:, 0], means, rtol=1e-12)
    # Mean |SHAP| computed again from TreeSHAP.
    shap = xk.TreeShap(model).explain(X_test, executor="serial")
    scores = np.abs(shap.values[:, :, 0]).mean(axis=0)
    names = list(frame.columns)
    for name, score in result["shap_ranking"][:5]:
        assert score == pytest.approx(scores[names.index(name)], rel=1e-12)
        assert f"  {name:<10} {score:.4f}" in out
    assert [n for n, _ in result["shap_ranking"]] == [names[i] for i in np.argsort(-scores, kind="stable")]
    # Permutation importance: the drops printed are the means over the repeats.
    for name, score in result["permutation_ranking"][:5]:
        assert f"  {name:<10} {score:.4f}" in out
    assert result["permutation_ranking"][0][1] > 0
    # Partial dependence: the mean predicted probability with thalach set to each grid value.
    j = names.index("thalach")
    for g, a in zip(result["pd_grid"], result["pd_average"]):
        Xg = X_test.copy()
        Xg[:, j] = g
        assert a == pytest.approx(model.predict_proba(Xg)[:, 1].mean(), abs=1e-10)
        assert f"thalach = {g:6.1f}: {a:.4f}" in out
    # ALE: the local effects of each bin (the model at the bin's upper edge minus at its lower edge, over
    # the patients in the bin) accumulated; the curve printed is that, centred by the bin counts.
    edges, ale = result["ale_grid"], result["ale_average"]
    col = X[:, j]
    slot = np.clip(np.searchsorted(edges, col, side="left"), 1, len(edges) - 1)  # bin k is (edges[k-1], edges[k]]
    steps = []
    for k in range(1, len(edges)):
        rows = X[slot == k]
        hi, lo = rows.copy(), rows.copy()
        hi[:, j], lo[:, j] = edges[k], edges[k - 1]
        steps.append((model.predict_proba(hi)[:, 1] - model.predict_proba(lo)[:, 1]).mean())
    curve = np.concatenate([[0.0], np.cumsum(steps)])
    counts = np.bincount(slot, minlength=len(edges))[1:]
    centred = curve - (counts * curve[1:]).sum() / counts.sum()
    np.testing.assert_allclose(ale, centred, atol=1e-10)
    for g, a in zip(edges, ale):
        assert f"thalach = {g:6.1f}: {a:+.4f} [" in out
    loaded = Rules.load(result["saved_path"])
    assert loaded.rules() == rules.rules()
