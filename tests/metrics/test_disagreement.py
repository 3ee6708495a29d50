"""Disagreement between explanations: Spearman of |phi| and top-k overlap, against scipy and brute force."""

from __future__ import annotations

import numpy as np
import pytest

import xaikit as xk
from xaikit.errors import InvalidParameterError
from xaikit.metrics.disagreement import attribution_matrix, disagreement, rank_correlation, top_k_overlap


def test_rank_correlation_matches_scipy_with_ties():
    from scipy.stats import spearmanr

    rng = np.random.default_rng(0)
    a = rng.integers(-3, 4, size=(40, 6)).astype(float)  # many ties in |a|
    b = rng.normal(size=(40, 6))
    got = rank_correlation(a, b)
    expected = [spearmanr(np.abs(a[i]), np.abs(b[i]))[0] for i in range(40)]
    np.testing.assert_allclose(got, expected, atol=1e-12)


def test_constant_row_gives_nan():
    assert np.isnan(rank_correlation([[1.0, -1.0, 1.0]], [[1.0, 2.0, 3.0]])[0])


def test_top_k_overlap_brute_force():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(25, 7)), rng.normal(size=(25, 7))
    for k in (1, 3, 7):
        got = top_k_overlap(a, b, k)
        for i in range(25):
            top_a = set(np.argsort(-np.abs(a[i]))[:k].tolist())
            top_b = set(np.argsort(-np.abs(b[i]))[:k].tolist())
            assert got[i] == pytest.approx(len(top_a & top_b) / k)
    assert top_k_overlap(a, b, 50).tolist() == [1.0] * 25  # k above d takes every feature


def test_signs_do_not_matter_and_reversal_is_minus_one():
    a = np.array([[1.0, 2.0, 3.0, 4.0]])
    assert rank_correlation(a, -a)[0] == pytest.approx(1.0)
    assert rank_correlation(a, a[:, ::-1])[0] == pytest.approx(-1.0)


def test_disagreement_pairs_in_order():
    rng = np.random.default_rng(2)
    exps = {name: rng.normal(size=(5, 4)) for name in ("a", "b", "c")}
    names, rho, top = disagreement(exps, k=2)
    assert names == ["a vs b", "a vs c", "b vs c"]
    assert rho.shape == top.shape == (3, 5)
    np.testing.assert_allclose(rho[2], rank_correlation(exps["b"], exps["c"]))


def test_attribution_matrix_reads_target_by_name_and_position():
    v = np.arange(12.0).reshape(2, 3, 2)
    exp = xk.Attribution(values=v, base_values=np.zeros((2, 2)), output_names=["no", "yes"], method="demo")
    np.testing.assert_array_equal(attribution_matrix(exp, target="yes"), v[:, :, 1])
    np.testing.assert_array_equal(attribution_matrix(exp, target=0), v[:, :, 0])
    with pytest.raises(InvalidParameterError, match=r"target: expected an output index .* one of \['no', 'yes'\], got 'maybe'"):
        attribution_matrix(exp, target="maybe")
    np.testing.assert_array_equal(attribution_matrix(exp, target=["yes", 0]), np.stack([v[0, :, 1], v[1, :, 0]]))
    with pytest.raises(InvalidParameterError, match="target: expected the output to score"):
        attribution_matrix(exp)


def test_bad_inputs_are_named():
    with pytest.raises(InvalidParameterError, match=r"explanations\['b'\]: expected the rows and features"):
        disagreement({"a": np.zeros((3, 4)), "b": np.zeros((3, 5))})
    with pytest.raises(InvalidParameterError, match="explanation: expected an Attribution or an array"):
        attribution_matrix("text")
    with pytest.raises(InvalidParameterError, match="explanations: expected a dict"):
        disagreement([np.zeros((2, 2))])  # type: ignore[arg-type]
