"""Shapley values of documents and images against brute force.

The oracle here builds each row's game by hand, without xaikit's maskers: the tokens of a
document found with ``re.finditer(r"\\w+")`` (hidden ones cut out, or replaced by the mask token),
the pixels of an image's segments replaced by the fill, and enumerates every coalition with the
Shapley weights.
"""

from __future__ import annotations

import re
from itertools import combinations
from math import factorial

import numpy as np
import pytest

import xaikit as xk
from xaikit.errors import InvalidParameterError, ModelOutputError

# --------------------------------------------------------------------------------------
# models (module level: process workers must be able to import them)
# --------------------------------------------------------------------------------------

WEIGHTS = {"good": 2.0, "great": 2.0, "bad": -1.5, "film": 0.3, "plot": -0.4, "not": 0.1}


def text_model(docs: list[str]) -> np.ndarray:
    """Two outputs: weighted word presence with a pair and a triple interaction, and a squashed copy.

    "the" (and any word without a weight) is ignored; "good" and "great" are treated alike.
    """
    out = np.empty((len(docs), 2))
    for i, doc in enumerate(docs):
        words = set(re.findall(r"\w+", doc))
        score = sum(w for word, w in WEIGHTS.items() if word in words)
        score += 1.7 * ("not" in words and "bad" in words)  # "not bad" is good
        score -= 0.9 * ("not" in words and "bad" in words and "film" in words)
        score += 0.6 * ("good" in words and "film" in words) + 0.6 * ("great" in words and "film" in words)
        out[i] = score, np.tanh(score / 2)
    return out


def failing_on_row_2(docs: list[str]) -> np.ndarray:
    """Raises on any document with "boom" but without "safe": row 2's masked copies, not row 2."""
    if any("boom" in d and "safe" not in d for d in docs):
        raise KeyError("boom without safe")
    return np.array([len(d) for d in docs], dtype=float)


DOCS = [
    "the good film was not bad",  # 6 tokens
    "great good plot, the film",  # 5 tokens
    "not bad, not good: the film had a plot",  # 9 occurrences, 8 distinct words
    "bad film is bad",  # 4 occurrences, 3 distinct words
]

SEGMENTS = np.array([
    [0, 0, 1, 1, 2, 2],
    [0, 0, 1, 1, 2, 2],
    [3, 3, 4, 4, 5, 5],
    [3, 3, 4, 4, 5, 5],
])  # 6 segments of 2 x 2 pixels
PIXEL_WEIGHTS = np.array([
    [1.0, 0.5, -1.0, 0.3, 2.0, 0.0],
    [0.2, 1.5, 0.4, -0.6, 1.0, 1.0],
    [0.7, 0.7, 1.2, -0.3, 0.0, 0.0],
    [0.7, 0.7, 0.8, 0.1, 0.0, 0.0],
])  # segment 5 (bottom right) is ignored


def image_model(images: np.ndarray) -> np.ndarray:
    """Two outputs of a batch of (H, W, 3) images: a weighted sum of the pixels with an interaction
    of segments 0 and 2 and one of segments 1, 3 and 4; and its square. Segment 5 is ignored."""
    gray = np.asarray(images, dtype=np.float64).mean(axis=-1)  # (n, H, W)
    linear = np.einsum("nhw,hw->n", gray, PIXEL_WEIGHTS)
    means = np.stack([gray[:, SEGMENTS == s].mean(axis=1) for s in range(6)], axis=1)
    score = linear + 1.5 * means[:, 0] * means[:, 2] - 2.0 * means[:, 1] * means[:, 3] * means[:, 4]
    return np.stack([score, score**2], axis=1)


# --------------------------------------------------------------------------------------
# the oracle
# --------------------------------------------------------------------------------------


def shapley_by_enumeration(value, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Shapley values ``(k, o)`` and ``v(empty)`` of the game ``value(frozenset) -> (o,)``."""
    v = {frozenset(S): np.asarray(value(frozenset(S)), dtype=float)
         for r in range(k + 1) for S in combinations(range(k), r)}
    phi = np.zeros((k, v[frozenset()].shape[0]))
    for i in range(k):
        others = [j for j in range(k) if j != i]
        for r in range(k):
            w = factorial(r) * factorial(k - r - 1) / factorial(k)
            for S in combinations(others, r):
                phi[i] += w * (v[frozenset(S) | {i}] - v[frozenset(S)])
    return phi, v[frozenset()]


def document_game(doc: str, mode: str = "remove", mask_token: str = "UNKWORDZ"):
    """The words of ``doc`` (distinct, in order of first appearance) and its game, by hand."""
    matches = list(re.finditer(r"\w+", doc))
    words = list(dict.fromkeys(m.group() for m in matches))

    def value(S: frozenset) -> np.ndarray:
        kept = {words[j] for j in S}
        out, pos = [], 0
        for m in matches:
            out.append(doc[pos : m.start()])
            out.append(m.group() if m.group() in kept else ("" if mode == "remove" else mask_token))
            pos = m.end()
        out.append(doc[pos:])
        return text_model(["".join(out)])[0]

    return words, value


def image_game(image: np.ndarray, fill: np.ndarray):
    """The game of ``image`` (H, W, 3): hidden segments' pixels taken from ``fill``."""

    def value(S: frozenset) -> np.ndarray:
        keep = np.isin(SEGMENTS, list(S))[..., None]
        return image_model(np.where(keep, image, fill)[None])[0]

    return value


def mean_fill(image: np.ndarray) -> np.ndarray:
    """Each pixel replaced by the mean colour of its segment (ImageMasker's ``fill="mean"``)."""
    out = np.empty_like(image)
    for s in range(6):
        out[SEGMENTS == s] = image[SEGMENTS == s].mean(axis=0)
    return out


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    return np.random.default_rng(7).uniform(size=(3, 4, 6, 3))


def oracle_documents(docs: list[str], mode: str = "remove") -> tuple[list[list[str]], list[np.ndarray], np.ndarray]:
    names, phis, bases = [], [], []
    for doc in docs:
        words, value = document_game(doc, mode)
        phi, v0 = shapley_by_enumeration(value, len(words))
        names.append(words)
        phis.append(phi)
        bases.append(v0)
    return names, phis, np.array(bases)


def assert_rows_equal(exp, phis: list[np.ndarray], atol: float) -> None:
    for i, phi in enumerate(phis):
        k = phi.shape[0]
        assert exp.lengths[i] == k
        np.testing.assert_allclose(exp.values[i, :k], phi, rtol=0, atol=atol)
        np.testing.assert_array_equal(exp.values[i, k:], 0.0)  # padding


# --------------------------------------------------------------------------------------
# exact values
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["remove", "mask"])
def test_exact_shapley_of_documents_equals_brute_force(mode):
    names, phis, bases = oracle_documents(DOCS, mode)
    exp = xk.ExactShapley(text_model, masker=xk.TextMasker(mode=mode)).explain(DOCS)
    assert isinstance(exp, xk.RaggedAttribution)
    assert [exp[i].feature_names for i in range(len(DOCS))] == names
    assert_rows_equal(exp, phis, 1e-10)
    np.testing.assert_allclose(exp.base_values, bases, rtol=0, atol=1e-10)
    # efficiency: each row's values add up to f(x) - v(empty)
    np.testing.assert_allclose(exp.values.sum(axis=1), text_model(DOCS) - bases, rtol=0, atol=1e-10)
    assert exp.texts == DOCS
    assert [list(s) for s in exp.spans[0][1]] == [[4, 8]]  # "good"
    definition = exp.diagnostics["value_definition"]
    assert (definition["value_function"], definition["estimate"], definition["masker"]) == ("masked", "exact", "text")
    assert ("removed" if mode == "remove" else "'UNKWORDZ'") in definition["text"]
    assert exp.diagnostics["exact"] is True
    assert "std_err" not in exp.diagnostics  # exact: no standard errors, not zeros
    np.testing.assert_array_equal(exp.diagnostics["n_model_calls"], [2**k - 2 for k in exp.lengths])


def test_dummy_and_symmetric_tokens():
    exp = xk.ExactShapley(text_model, masker=xk.TextMasker()).explain(["the good great film the end"])
    row = exp[0]
    the, end = row.feature_names.index("the"), row.feature_names.index("end")
    good, great = row.feature_names.index("good"), row.feature_names.index("great")
    np.testing.assert_array_equal(row.values[0, [the, end]], 0.0)  # ignored by the model
    assert abs(row.values[0, good, 0]) > 1.0
    np.testing.assert_allclose(row.values[0, good], row.values[0, great], rtol=0, atol=1e-12)


@pytest.mark.parametrize("fill", ["constant", "mean"])
def test_exact_shapley_of_images_equals_brute_force(fill, images):
    masker = xk.ImageMasker(SEGMENTS, fill=fill, fill_value=0.25)
    exp = xk.ExactShapley(image_model, masker=masker).explain(images)
    assert isinstance(exp, xk.RaggedAttribution) and exp.shape == (3, 6, 2)
    np.testing.assert_array_equal(exp.segments, np.broadcast_to(SEGMENTS, (3, 4, 6)))
    assert exp[0].feature_names == [f"segment {j}" for j in range(6)]
    for i, image in enumerate(images):
        filled = np.full_like(image, 0.25) if fill == "constant" else mean_fill(image)
        phi, v0 = shapley_by_enumeration(image_game(image, filled), 6)
        np.testing.assert_allclose(exp.values[i], phi, rtol=0, atol=1e-10)
        np.testing.assert_allclose(exp.base_values[i], v0, rtol=0, atol=1e-10)
    np.testing.assert_allclose(exp.values.sum(axis=1), image_model(images) - exp.base_values, rtol=0, atol=1e-10)
    np.testing.assert_allclose(exp.values[:, 5], 0.0, rtol=0, atol=1e-12)  # segment 5 is ignored by the model
    assert exp.diagnostics["value_definition"]["masker"] == "image"
    assert "std_err" not in exp.diagnostics


def test_model_calls_are_batched():
    calls = []

    def counting(docs):
        calls.append(len(docs))
        return text_model(docs)

    xk.ExactShapley(counting, masker=xk.TextMasker()).explain(DOCS)
    # the originals and the fully hidden documents in one call each, then one call per row
    assert calls[:2] == [len(DOCS), len(DOCS)]
    assert len(calls) == 2 + len(DOCS)
    calls.clear()
    xk.ExactShapley(counting, masker=xk.TextMasker()).explain(DOCS[:1], batch_size=10)
    assert max(calls) <= 10 and sum(calls[2:]) == 2**6 - 2


# --------------------------------------------------------------------------------------
# sampled estimators
# --------------------------------------------------------------------------------------

SAMPLED = [xk.KernelShap, xk.LeverageShap, xk.PermutationShap]


#: Documents of 8 distinct words (254 coalitions between the empty and the full one), and budgets
#: below that at which a single document's standard errors are estimated from enough samples
#: (at the minimum budgets, one game's standard errors come from too few samples to be trusted).
LONG_DOCS = [DOCS[2], "the plot was not good but the film was great"]
BUDGETS = {xk.KernelShap: 120, xk.LeverageShap: 120, xk.PermutationShap: 200}


@pytest.mark.parametrize("cls", SAMPLED)
def test_sampled_documents_within_four_standard_errors(cls):
    _, phis, bases = oracle_documents(LONG_DOCS)
    assert [p.shape[0] for p in phis] == [8, 8]
    for seed in range(3):
        exp = cls(text_model, masker=xk.TextMasker()).explain(LONG_DOCS, n_samples=BUDGETS[cls], random_state=seed)
        assert exp.diagnostics["value_definition"]["estimate"] == "sampled"
        se = exp.diagnostics["std_err"]
        errors = np.abs(exp.values - np.stack(phis))
        assert np.all(errors <= 4 * se + 1e-9), (cls.__name__, seed, errors.max())
        assert errors.max() > 1e-6  # sampled, not exact
        np.testing.assert_allclose(exp.values.sum(axis=1), text_model(LONG_DOCS) - bases, rtol=0, atol=1e-10)


@pytest.mark.parametrize("cls", [xk.KernelShap, xk.LeverageShap])
def test_regression_estimators_exact_when_the_budget_covers_every_coalition(cls):
    _, phis, bases = oracle_documents(DOCS)
    exp = cls(text_model, masker=xk.TextMasker()).explain(DOCS, n_samples=2**8 - 2, random_state=0)
    assert_rows_equal(exp, phis, 1e-9)
    np.testing.assert_allclose(exp.base_values, bases, rtol=0, atol=1e-12)
    assert exp.diagnostics["exact"] is True and "std_err" not in exp.diagnostics
    assert exp.diagnostics["value_definition"]["estimate"] == "exact"


def test_permutation_dummy_gets_exactly_zero_and_efficiency_holds():
    doc = ["the good film was not bad"]
    exp = xk.PermutationShap(text_model, masker=xk.TextMasker()).explain(doc, n_samples=20, random_state=1)
    row = exp[0]
    np.testing.assert_array_equal(row.values[0, [row.feature_names.index("the"), row.feature_names.index("was")]], 0.0)
    np.testing.assert_allclose(exp.values.sum(axis=1), text_model(doc) - exp.base_values, rtol=0, atol=1e-12)


@pytest.mark.parametrize("cls", [xk.KernelShap, xk.PermutationShap])
def test_sampled_images_within_four_standard_errors(cls, images):
    # a constant fill (a segment filled with its mean would keep the segment means the
    # interactions read, and leave an additive game, which the estimators get exactly)
    masker = xk.ImageMasker(SEGMENTS, fill="constant", fill_value=0.9)
    n_samples = 60 if cls is xk.KernelShap else 200  # below 2**6 - 2 coalitions; 20 orders of 6 segments
    exp = cls(image_model, masker=masker).explain(images, n_samples=n_samples, random_state=3)
    assert exp.diagnostics["exact"] is False
    se = exp.diagnostics["std_err"]
    for i, image in enumerate(images):
        phi, _ = shapley_by_enumeration(image_game(image, np.full_like(image, 0.9)), 6)
        errors = np.abs(exp.values[i] - phi)
        assert np.all(errors <= 4 * se[i] + 1e-9) and errors.max() > 1e-9
    np.testing.assert_allclose(exp.values.sum(axis=1), image_model(images) - exp.base_values, rtol=0, atol=1e-10)


# --------------------------------------------------------------------------------------
# reproducibility
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [xk.ExactShapley, *SAMPLED])
def test_serial_equals_processes(cls):
    kw = {} if cls is xk.ExactShapley else {"n_samples": 28, "random_state": 4}
    explainer = cls(text_model, masker=xk.TextMasker())
    serial = explainer.explain(DOCS, executor="serial", **kw)
    pooled = explainer.explain(DOCS, executor="processes:2", **kw)
    threads = explainer.explain(DOCS, executor="threads:2", **kw)
    for other in (pooled, threads):
        np.testing.assert_array_equal(serial.values, other.values)
        np.testing.assert_array_equal(serial.base_values, other.base_values)
        np.testing.assert_array_equal(serial.diagnostics.get("std_err"), other.diagnostics.get("std_err"))


@pytest.mark.parametrize("cls", SAMPLED)
def test_same_seed_same_values(cls):
    explainer = cls(text_model, masker=xk.TextMasker())
    a = explainer.explain(DOCS, n_samples=28, random_state=5)
    b = explainer.explain(DOCS, n_samples=28, random_state=5)
    c = explainer.explain(DOCS, n_samples=28, random_state=6)
    np.testing.assert_array_equal(a.values, b.values)
    np.testing.assert_array_equal(a.diagnostics["std_err"], b.diagnostics["std_err"])
    assert not np.array_equal(a.values, c.values)


def test_batch_size_and_target_do_not_change_values(images):
    explainer = xk.KernelShap(image_model, masker=xk.ImageMasker(SEGMENTS, fill="constant"))
    full = explainer.explain(images, n_samples=30, random_state=0)
    small = explainer.explain(images, n_samples=30, random_state=0, batch_size=7)
    np.testing.assert_array_equal(full.values, small.values)
    part = explainer.explain(images, n_samples=30, random_state=0, target=1)
    np.testing.assert_array_equal(part.values, full.values[..., [1]])
    np.testing.assert_array_equal(part.diagnostics["std_err"], full.diagnostics["std_err"][..., [1]])


def test_result_round_trips_through_a_file(tmp_path):
    exp = xk.KernelShap(text_model, masker=xk.TextMasker()).explain(DOCS, n_samples=28, random_state=0)
    path = tmp_path / "docs.xai"
    exp.save(path)
    back = xk.Explanation.load(path)
    np.testing.assert_array_equal(back.values, exp.values)
    assert back.texts == exp.texts and back[2].feature_names == exp[2].feature_names


# --------------------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("executor", ["serial", "threads:2"])
def test_model_error_names_the_row_whose_masked_copies_raised(executor):
    docs = ["fine one", "fine two", "boom safe", "fine three"]
    with pytest.raises(ModelOutputError, match="masked copies of row 2 of X") as info:
        xk.ExactShapley(failing_on_row_2, masker=xk.TextMasker()).explain(docs, executor=executor)
    assert isinstance(info.value.__cause__, KeyError)


def test_model_error_on_the_documents_names_x():
    with pytest.raises(ModelOutputError, match=r"while predicting X \(3 rows; first failing: row 1\)"):
        xk.ExactShapley(failing_on_row_2, masker=xk.TextMasker()).explain(["a", "boom", "c"])


def _failing_tabular(X: np.ndarray) -> np.ndarray:
    """Raises on a masked copy of the row whose first feature is 7.5 (its second taken from the background)."""
    if np.any((X[:, 0] == 7.5) & (X[:, 1] == 0.0)):
        raise ValueError("bad combination")
    return X.sum(axis=1)


@pytest.mark.parametrize("executor", ["serial", "threads:2"])
def test_model_error_names_the_table_row(executor):
    X = np.array([[1.0, 1.0], [2.0, 1.0], [3.0, 1.0], [7.5, 1.0], [0.5, 1.0]])
    with pytest.raises(ModelOutputError, match="masked copies of row 3 of X"):
        xk.ExactShapley(_failing_tabular, background=np.zeros((3, 2))).explain(X, executor=executor)
    with pytest.raises(ModelOutputError, match="while predicting background"):
        xk.ExactShapley(_failing_tabular, background=np.array([[7.5, 0.0]])).explain(X[:1])


def test_text_masker_refuses_tabular_arguments():
    with pytest.raises(InvalidParameterError, match="^background: a TextMasker"):
        xk.ExactShapley(text_model, masker=xk.TextMasker(), background=np.zeros((2, 2)))
    with pytest.raises(InvalidParameterError, match="^masker: expected a TabularMasker, TextMasker or ImageMasker"):
        xk.KernelShap(text_model, masker="words")


def test_empty_document_is_its_own_base_value():
    exp = xk.KernelShap(text_model, masker=xk.TextMasker()).explain(["", "good film"], n_samples=8, random_state=0)
    assert exp.lengths.tolist() == [0, 2]
    np.testing.assert_array_equal(exp.values[0], 0.0)
    np.testing.assert_allclose(exp.base_values[0], text_model([""])[0], rtol=0, atol=0)
    np.testing.assert_allclose(exp.values.sum(axis=1), text_model(["", "good film"]) - exp.base_values, atol=1e-12)
