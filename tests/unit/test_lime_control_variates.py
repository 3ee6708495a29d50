"""LIME's control variates on documents and images: exact expectations, the same estimand, less spread.

The oracle of the expected sums is enumeration of every subset of a few features under the law; the
oracle of the estimand is the plain ridge fit (``control_variates=False``) over many seeds.
"""

from __future__ import annotations

import itertools
import math
import re

import numpy as np
import pytest

import xaikit as xk
from tests.unit.test_lime_variance import _mean_gap
from xaikit.errors import InvalidParameterError
from xaikit.explainers.surrogate import _control_variates as cv

K = 60  # seeds (repeated documents) per estimate
DOC = "the good film had a great cast and a fine score but a weak plot"
WORDS = {"good": 1.0, "great": 1.2, "fine": 0.6, "weak": -1.5, "plot": -0.4, "film": 0.2}


def _tfidf_model(texts: list[str]) -> np.ndarray:
    """A logistic model of a length-normalised bag of words (as TF-IDF + logistic regression is):
    curved in the score, and every hidden word rescales the others."""
    out = []
    for t in texts:
        words = re.findall(r"\w+", t)
        score = sum(WORDS.get(w, 0.0) for w in words) / math.sqrt(max(len(words), 1))
        out.append(1.0 / (1.0 + math.exp(-3.0 * score)))
    return np.asarray(out)[:, None]


def _laws(d: int) -> dict[str, np.ndarray]:
    item_text = xk.TextMasker().prepare(" ".join(f"w{j}" for j in range(d)))[0]
    seg = np.arange(d)[None, :]
    masker = xk.ImageMasker(seg)
    item_image = masker.prepare(np.zeros((1, d)))[0]
    return {"text": xk.TextMasker().kept_count_law(item_text), "image": masker.kept_count_law(item_image)}


@pytest.mark.parametrize("kind", ["text", "image"])
def test_expected_sums_equal_the_enumeration(kind: str) -> None:
    d, n = 5, 7
    rng = np.random.default_rng(3)
    prob = _laws(d)[kind]
    assert prob.sum() == pytest.approx(1.0, abs=1e-15)
    weight, b = rng.uniform(0.2, 1.0, d + 1), rng.normal(size=d)
    e = cv.expected_sums(prob, weight, n, b)
    rest = np.array([1, 4])
    # every subset, with its probability under the law, then row 0 (everything kept)
    sw, sz, szz, sq, szq, sr, szr = 0.0, np.zeros(d), np.zeros((d, d)), np.zeros(3), np.zeros((d, 3)), 0.0, np.zeros(d)
    for bits in itertools.product([0.0, 1.0], repeat=d):
        z = np.array(bits)
        c = int(z.sum())
        p = (n - 1) * prob[c] / math.comb(d, c)
        q = cv.controls(z[None, :], b)[0]
        r = z[rest] @ b[rest]
        sw, sz, szz = sw + p * weight[c], sz + p * weight[c] * z, szz + p * weight[c] * np.outer(z, z)
        sq, szq = sq + p * weight[c] * q, szq + p * weight[c] * np.outer(z, q)
        sr, szr = sr + p * weight[c] * r, szr + p * weight[c] * z * r
    ones = np.ones(d)
    q0 = cv.controls(ones[None, :], b)[0]
    sw, sz, szz = sw + weight[d], sz + weight[d] * ones, szz + weight[d] * np.outer(ones, ones)
    sq, szq = sq + weight[d] * q0, szq + weight[d] * np.outer(ones, q0)
    sr, szr = sr + weight[d] * b[rest].sum(), szr + weight[d] * b[rest].sum()
    assert e.sw == pytest.approx(sw, rel=1e-12)
    np.testing.assert_allclose(e.s * ones, sz, rtol=1e-12)
    np.testing.assert_allclose(e.a * np.eye(d) + e.c * np.outer(ones, ones), szz, rtol=1e-12)
    np.testing.assert_allclose(e.sq, sq, rtol=1e-12)
    np.testing.assert_allclose(e.szq, szq, rtol=1e-12, atol=1e-12 * np.abs(szq).max())
    got_r, got_szr = cv.rest_control(e, b, rest)
    assert got_r == pytest.approx(sr, rel=1e-12)
    np.testing.assert_allclose(got_szr, szr, rtol=1e-12, atol=1e-12 * np.abs(szr).max())
    # the closed-form ridge fit against the expected normal equations solved densely
    sel, alpha = np.array([0, 2, 3]), 0.7
    G = szz[np.ix_(sel, sel)] - np.outer(sz[sel], sz[sel]) / sw
    C = szq[sel] - np.outer(sz[sel], sq) / sw
    coef = np.linalg.solve(G + alpha * np.eye(sel.size), C)
    got_coef, got_intercept = cv.population_fit(e, e.sq, e.szq, sel, alpha)
    np.testing.assert_allclose(got_coef, coef, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got_intercept, (sq - sz[sel] @ coef) / sw, rtol=1e-10, atol=1e-12)


def _estimates(control_variates: bool, seed: int, n_features: int = 20) -> np.ndarray:
    lime = xk.Lime(_tfidf_model, masker=xk.TextMasker(), n_features=n_features)
    exp = lime.explain([DOC] * K, n_samples=300, random_state=seed, control_variates=control_variates)
    return np.concatenate([exp.values[:, :, 0], exp.base_values], axis=1)


def test_control_variates_keep_the_estimand_and_cut_the_spread() -> None:
    plain, controlled = _estimates(False, 0), _estimates(True, 1)
    assert _mean_gap(controlled, plain) < 4.0
    assert controlled.std(axis=0, ddof=1).mean() < 0.85 * plain.std(axis=0, ddof=1).mean()


def test_controls_without_their_exact_expectation_fail_the_comparison(monkeypatch) -> None:
    """Negative control: the controls' part replaced by 0 instead of its expectation is biased."""
    plain = _estimates(False, 0)

    def zero(e, sq, szq, sel, alpha):
        return np.zeros((sel.size, sq.size)), np.zeros(sq.size)

    monkeypatch.setattr(cv, "population_fit", zero)
    assert _mean_gap(_estimates(True, 1), plain) > 4.0


def test_selected_features_are_steadier() -> None:
    """With 7 of the 13 words kept ("highest_weights"), the selected set changes less from seed to seed."""
    def spread(control_variates: bool) -> float:
        chosen = _estimates(control_variates, 2, n_features=7)[:, :-1] != 0
        return float(chosen.var(axis=0).sum())

    assert spread(True) < 0.5 * spread(False)


def test_a_kernel_of_the_whole_sample_turns_them_off() -> None:
    """A kernel whose weights are not a function of each perturbation's own distance (here, normalised
    over the sample) has no law of its weights: the plain fit is used."""
    def shared(distances: np.ndarray, width: float) -> np.ndarray:
        k = np.exp(-(distances**2) / width**2)
        return k / k.mean()

    lime = xk.Lime(_tfidf_model, masker=xk.TextMasker(), kernel=shared)
    on = lime.explain([DOC], n_samples=300, random_state=4)
    off = lime.explain([DOC], n_samples=300, random_state=4, control_variates=False)
    np.testing.assert_array_equal(on.values, off.values)
    default = xk.Lime(_tfidf_model, masker=xk.TextMasker())
    assert not np.array_equal(default.explain([DOC], n_samples=300, random_state=4).values,
                              default.explain([DOC], n_samples=300, random_state=4, control_variates=False).values)


def test_tables_and_small_budgets_are_not_affected() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 3))
    lime = xk.Lime(lambda A: np.tanh(A[:, 0] * A[:, 1]), masker=xk.TabularMasker(X))
    np.testing.assert_array_equal(lime.explain(X[:2], n_samples=200, random_state=1).values,
                                  lime.explain(X[:2], n_samples=200, random_state=1, control_variates=False).values)
    words = xk.Lime(_tfidf_model, masker=xk.TextMasker())  # 13 words: from 4 (13 + 4) = 68 samples
    np.testing.assert_array_equal(words.explain([DOC], n_samples=60, random_state=1).values,
                                  words.explain([DOC], n_samples=60, random_state=1, control_variates=False).values)


def test_bad_control_variates_are_named() -> None:
    with pytest.raises(InvalidParameterError, match="control_variates"):
        xk.Lime(_tfidf_model, masker=xk.TextMasker()).explain([DOC], n_samples=100, control_variates="yes")


@pytest.mark.parametrize("sampling", ["iid", "stratified"])
def test_standard_errors_cover_with_control_variates(sampling: str) -> None:
    """The sandwich standard errors of the adjusted fit against the spread over 200 seeds: at least 93%
    of the coefficients within 2 SE of their mean over the seeds."""
    lime = xk.Lime(_tfidf_model, masker=xk.TextMasker(), n_features=20)
    exp = lime.explain([DOC] * 200, n_samples=300, random_state=5, sampling=sampling)
    values, se = exp.values[:, :, 0], exp.diagnostics["std_err"][:, :, 0]
    assert (np.abs(values - values.mean(axis=0)) <= 2 * se).mean() >= 0.93


def test_a_masker_that_draws_its_own_way_states_no_law() -> None:
    """A subclass overriding ``sample`` (here: always hides one word) does not inherit LIME's law: the
    plain fit is used, whose estimand is then its own."""
    class OneHidden(xk.TextMasker):
        def sample(self, item, n_samples, rng, *, sampling="iid"):
            S = np.ones((n_samples, item.n_features))
            S[np.arange(1, n_samples), rng.integers(0, item.n_features, n_samples - 1)] = 0.0
            return S

    masker = OneHidden()
    assert masker.kept_count_law(masker.prepare(DOC)[0]) is None
    lime = xk.Lime(_tfidf_model, masker=masker)
    np.testing.assert_array_equal(lime.explain([DOC], n_samples=300, random_state=2).values,
                                  lime.explain([DOC], n_samples=300, random_state=2, control_variates=False).values)
