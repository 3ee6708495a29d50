"""reason_codes: the principal reasons of a decision from exact Shapley values of a linear model (closed
form w_j (x_j - mean_j)), of documents (words) and of images (regions), paired with counterfactuals."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import xaikit as xk
from xaikit.errors import InvalidParameterError
from xaikit.explainers.counterfactual.reason_codes import ReasonCodes, reason_codes
from xaikit.results.counterfactuals import CounterfactualSet

W = np.array([0.8, -1.5, 0.3, 2.0, -0.4, 1.1])
NAMES = ["income", "debt", "tenure", "savings", "late_payments", "age"]


@pytest.fixture(scope="module")
def linear() -> tuple[Any, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    background = rng.normal(size=(30, 6))
    X = rng.normal(size=(4, 6))
    exp = xk.ExactShapley(lambda Z: Z @ W, background=background).explain(X)
    exp = xk.Attribution(values=exp.values, base_values=exp.base_values, data=X, feature_names=NAMES,
                         output_names=["score"], method="exact_shapley")
    return exp, X, W * (X - background.mean(axis=0))


def test_all_reasons_are_the_largest_closed_form_terms(linear: tuple[Any, np.ndarray, np.ndarray]) -> None:
    exp, X, phi = linear
    codes = reason_codes(exp, k=4, include="all")
    for i in range(len(X)):
        expected = np.argsort(-np.abs(phi[i]), kind="stable")[:4]
        got = codes.of(i)
        assert [r.feature for r in got] == [NAMES[j] for j in expected]
        np.testing.assert_allclose([r.weight for r in got], phi[i, expected], rtol=0, atol=1e-10)
        assert [r.rank for r in got] == [1, 2, 3, 4]
        assert [r.direction for r in got] == ["toward" if phi[i, j] < 0 else "away from" for j in expected]
        assert [r.value for r in got] == [f"{X[i, j]:.6g}" for j in expected]


def test_adverse_reasons_lowered_the_score_most(linear: tuple[Any, np.ndarray, np.ndarray]) -> None:
    exp, X, phi = linear
    low = reason_codes(exp, k=3)  # a low score is adverse: the most negative terms
    high = reason_codes(exp, k=3, adverse="high")  # a high score is adverse: the most positive terms
    for i in range(len(X)):
        neg = [j for j in np.argsort(phi[i], kind="stable") if phi[i, j] < 0][:3]
        pos = [j for j in np.argsort(-phi[i], kind="stable") if phi[i, j] > 0][:3]
        assert [r.feature for r in low.of(i)] == [NAMES[j] for j in neg]
        assert [r.feature for r in high.of(i)] == [NAMES[j] for j in pos]
        assert all(r.weight < 0 and r.direction == "toward" for r in low.of(i))
        assert all(r.weight > 0 and r.direction == "toward" for r in high.of(i))
    # the score printed is the model's output: base value plus the attributions
    assert low.scores[0] == pytest.approx(float(X[0] @ W))


def test_text_of_a_table(linear: tuple[Any, np.ndarray, np.ndarray]) -> None:
    exp, X, phi = linear
    codes = reason_codes(exp, k=2, row=1)
    text = codes.text()
    first = codes.of(1)[0]
    assert text.startswith(f"row 1: score = {float(X[1] @ W):.3g} (adverse when low); principal reasons:")
    assert f"1. {first.feature} = {X[1, NAMES.index(first.feature)]:.6g} lowered score by {abs(first.weight):.3g}" in text
    assert codes.rows == (1,) and len(text.splitlines()) == 3
    frame = codes.to_frame()
    assert frame["feature"].tolist() == [r.feature for r in codes.of(1)]


def word_score(docs: list[str]) -> np.ndarray:
    """A repayment score: each 'late' costs 0.3, each 'missed' 0.2, each 'paid' gives 0.1."""
    words = [d.split() for d in docs]
    return np.array([1.0 - 0.3 * w.count("late") - 0.2 * w.count("missed") + 0.1 * w.count("paid") for w in words])


def test_reasons_of_a_document_are_its_words() -> None:
    exp = xk.ExactShapley(word_score, masker=xk.TextMasker()).explain(["paid late late missed on time"])
    codes = reason_codes(exp, k=4)
    reasons = codes.of(0)
    # bag of words, words removed: each word's value is its weight times its count
    assert [(r.feature, round(r.weight, 10)) for r in reasons] == [("late", -0.6), ("missed", -0.2)]
    assert reasons[0].kind == "word" and reasons[0].value == "'late' (2 occurrences)"
    assert "the word 'late' (2 occurrences) lowered output by 0.6" in codes.text()
    everything = reason_codes(exp, k=3, include="all").of(0)
    assert [r.feature for r in everything] == ["late", "missed", "paid"]
    assert everything[2].direction == "away from"


SEGMENTS = np.array([[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 3, 3], [2, 2, 3, 3]])
PIXEL_W = np.array([[1.0, 1.0, -2.0, -2.0], [1.0, 1.0, -2.0, -2.0], [0.5, 0.5, 0.0, 0.0], [0.5, 0.5, 0.0, 0.0]])


def test_reasons_of_an_image_are_its_regions() -> None:
    images = np.ones((1, 4, 4, 3))

    def model(batch: np.ndarray) -> np.ndarray:
        return np.einsum("nhw,hw->n", np.asarray(batch, dtype=np.float64).mean(axis=-1), PIXEL_W)

    exp = xk.ExactShapley(model, masker=xk.ImageMasker(SEGMENTS, fill="constant", fill_value=0.0)).explain(images)
    codes = reason_codes(exp, k=2, include="all")
    reasons = codes.of(0)
    # segment values: 4, -8, 2, 0 (sums of the pixel weights); the top two by size: segment 1, then segment 0
    assert [(r.feature, round(r.weight, 10)) for r in reasons] == [("segment 1", -8.0), ("segment 0", 4.0)]
    assert reasons[0].kind == "region" and reasons[0].value == "rows 0-1, columns 2-3, 4 pixels"
    assert "segment 1 (rows 0-1, columns 2-3, 4 pixels) lowered output by 8" in codes.text()
    assert [r.feature for r in reason_codes(exp, k=4, adverse="high").of(0)] == ["segment 0", "segment 2"]


def _counterfactual_set() -> CounterfactualSet:
    # row 0 declined; its valid counterfactuals: raise income (distance 2) or raise income and cut debt (3)
    return CounterfactualSet(
        values=[[[3.0, 1.0, 0.0], [3.0, 0.0, 0.0], [1.0, 1.0, 5.0]]],
        data=[[1.0, 1.0, 0.0]],
        valid=[[1, 1, 0]],
        distance=[[2.0, 3.0, 5.0]],
        changed=[[[1, 0, 0], [1, 1, 0], [0, 0, 1]]],
        plausibility=[[0.1, 0.2, 0.3]],
        predictions=[[[0.7], [0.8], [0.4]]],
        original_predictions=[[0.3]],
        feature_types=["numeric", "numeric", "numeric"],
        domains=[None, None, None],
        feature_names=["income", "debt", "tenure"],
        method="demo",
    )


def test_paired_with_the_counterfactual() -> None:
    exp = xk.Attribution(values=[[[-0.3], [-0.1], [0.05]]], base_values=[[0.65]], data=[[1.0, 1.0, 0.0]],
                         feature_names=["income", "debt", "tenure"], output_names=["approve"], method="demo")
    cfs = _counterfactual_set()
    codes = reason_codes(exp, k=4, counterfactual=cfs)
    assert [(r.feature, r.changed_by_counterfactual) for r in codes.of(0)] == [("income", True), ("debt", False)]
    assert codes.counterfactuals == (cfs.text(0),)
    assert codes.text().endswith("what would change the decision: change income from 1 to 3")
    assert "(toward the decision; the counterfactual changes it)" in codes.text()
    texts = reason_codes(exp, counterfactual=["raise income to 3"])
    assert texts.counterfactuals == ("raise income to 3",) and texts.of(0)[0].changed_by_counterfactual is None


def test_no_adverse_reason_is_said() -> None:
    exp = xk.Attribution(values=[[[0.3], [0.1]]], base_values=[[0.5]], feature_names=["a", "b"], method="demo")
    codes = reason_codes(exp)
    assert codes.of(0) == [] and "none: no feature pushes toward the adverse decision" in codes.text()


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [
        ({"k": 0}, "^k: "),
        ({"adverse": "bad"}, "^adverse: "),
        ({"include": "some"}, "^include: "),
        ({"row": 5}, "^row: "),
        ({"target": "nope"}, "^target: "),
        ({"counterfactual": ["one", "two"]}, "^counterfactual: "),
        ({"counterfactual": 3}, "^counterfactual: "),
    ],
)
def test_errors_name_the_parameter(kwargs: dict[str, Any], word: str) -> None:
    exp = xk.Attribution(values=[[[0.3], [-0.1]]], base_values=[[0.5]], feature_names=["a", "b"], method="demo")
    with pytest.raises(InvalidParameterError, match=word):
        reason_codes(exp, **kwargs)


def test_errors_on_the_explanation() -> None:
    two = xk.Attribution(values=[[[0.3, -0.3]]], base_values=[[0.5, 0.5]], feature_names=["a"], output_names=["no", "yes"], method="demo")
    with pytest.raises(InvalidParameterError, match="^target: "):
        reason_codes(two)
    assert reason_codes(two, target="yes").output == "yes"
    with pytest.raises(InvalidParameterError, match="^exp: "):
        reason_codes(np.zeros((1, 2, 1)))
    assert isinstance(reason_codes(two, target=0), ReasonCodes)
    with pytest.raises(InvalidParameterError, match="^row: "):
        reason_codes(two, target=0).text(3)


def test_display_draws_the_reasons_and_the_counterfactual() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from xaikit.plots import style
    from xaikit.plots.reason_codes import ReasonCodesDisplay

    exp = xk.Attribution(values=[[[-0.3], [-0.1], [0.05]]], base_values=[[0.65]], data=[[1.0, 1.0, 0.0]],
                         feature_names=["income", "debt", "tenure"], output_names=["approve"], method="demo")
    codes = reason_codes(exp, k=3, include="all", counterfactual=_counterfactual_set())
    disp = ReasonCodesDisplay.from_reason_codes(codes)
    try:
        widths = [bar.get_width() for bar in disp.bars_]
        assert widths == pytest.approx([0.3, 0.1, 0.05])
        colours = [matplotlib.colors.to_hex(bar.get_facecolor()) for bar in disp.bars_]
        assert colours == [style.POSITIVE.lower(), style.POSITIVE.lower(), style.NEGATIVE.lower()]
        assert [t.get_text() for t in disp.ax_.get_yticklabels()] == ["1. income = 1", "2. debt = 1", "3. tenure = 0"]
        assert "change income from 1 to 3" in disp.ax_.get_title()
    finally:
        plt.close(disp.figure_)
    with pytest.raises(InvalidParameterError, match="^codes: "):
        ReasonCodesDisplay.from_reason_codes(exp)
    two = reason_codes(xk.Attribution(values=np.zeros((2, 1, 1)), base_values=np.zeros((2, 1)), method="demo"))
    with pytest.raises(InvalidParameterError, match="^row: "):
        ReasonCodesDisplay.from_reason_codes(two)
