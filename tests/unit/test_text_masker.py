"""Tests of xaikit.maskers.text: tokenising documents, sampling coalitions, rendering them."""

from __future__ import annotations

import json
import pickle
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xaikit.maskers.text import TextItem, TextMasker
from xaikit.testing import assert_raises_naming as raises_naming

MESSY = "  Hello, world! Café naïve—hello_world 42 world...\tcafé  "


def whitespace_tokens(text: str) -> list[str]:
    """A module-level callable tokenizer (so that maskers using it pickle)."""
    return text.split()


def whitespace_spans(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in re.finditer(r"\S+", text)]


def occurrences(item: TextItem) -> list[tuple[int, int, int]]:
    """Every token occurrence as (start, end, feature), in text order."""
    return sorted((s, e, j) for j, spans in enumerate(item.spans) for s, e in spans)


def reference_render(item: TextItem, row: np.ndarray, hidden: str | None) -> str:
    """Rebuild a document from the spans: hidden occurrences dropped (``hidden=None``) or replaced."""
    out, pos = [], 0
    for s, e, j in occurrences(item):
        out.append(item.text[pos:s])
        if row[j] == 1:
            out.append(item.text[s:e])
        elif hidden is not None:
            out.append(hidden)
        pos = e
    out.append(item.text[pos:])
    return "".join(out)


# ================================================================ tokenising
class TestTokenize:
    def test_default_tokens_are_word_runs_and_spans_map_back(self):
        item = TextMasker(features="positional").prepare(MESSY)[0]
        expected = re.findall(r"\w+", MESSY)
        assert list(item.tokens) == expected
        assert "Café" in item.tokens and "naïve" in item.tokens and "hello_world" in item.tokens
        for token, spans in zip(item.tokens, item.spans):
            assert len(spans) == 1
            s, e = spans[0]
            assert MESSY[s:e] == token
        assert [sp for sp, _, _ in occurrences(item)] == [m.start() for m in re.finditer(r"\w+", MESSY)]

    def test_bag_of_words_groups_repeated_tokens_in_order_of_first_appearance(self):
        item = TextMasker().prepare(MESSY)[0]
        words = re.findall(r"\w+", MESSY)
        assert list(item.feature_names) == list(dict.fromkeys(words))
        assert item.tokens == item.feature_names
        assert item.n_features == len(set(words))
        j = item.feature_names.index("world")
        assert len(item.spans[j]) == words.count("world") == 2
        for token, spans in zip(item.tokens, item.spans):
            assert all(MESSY[s:e] == token for s, e in spans)
        assert len(occurrences(item)) == len(words)

    def test_positional_features_are_one_per_occurrence_with_unique_names(self):
        masker = TextMasker(features="positional")
        item = masker.prepare("a b a c a")[0]
        assert item.feature_names == ("a", "b", "a#2", "c", "a#3")
        assert item.tokens == ("a", "b", "a", "c", "a")
        assert item.n_features == 5

    def test_positional_names_stay_unique_when_a_generated_name_is_a_real_token(self):
        item = TextMasker(r"\S+", features="positional").prepare("a a#2 a a a#2")[0]
        names = item.feature_names
        assert len(set(names)) == len(names) == 5
        assert names[0] == "a" and names[1] == "a#2"
        assert item.tokens == ("a", "a#2", "a", "a", "a#2")

    def test_lowercase_groups_case_insensitively_and_keeps_original_spans(self):
        text = "The cat and the hat. THE end"
        item = TextMasker(lowercase=True).prepare(text)[0]
        assert item.feature_names == ("the", "cat", "and", "hat", "end")
        assert item.tokens[0] == "The"
        assert [text[s:e] for s, e in item.spans[0]] == ["The", "the", "THE"]
        plain = TextMasker().prepare(text)[0]
        assert plain.n_features == 7
        positional = TextMasker(lowercase=True, features="positional").prepare("Go go GO")[0]
        assert positional.feature_names == ("go", "go#2", "go#3")
        assert positional.tokens == ("Go", "go", "GO")

    def test_document_without_tokens(self):
        masker = TextMasker()
        for text in ["", "  ...!? "]:
            item = masker.prepare(text)[0]
            assert item.n_features == 0
            S = masker.sample(item, 7, np.random.default_rng(0))
            assert S.shape == (7, 0)
            assert masker.render(item, S) == [text] * 7
            np.testing.assert_array_equal(masker.distances(S), np.zeros(7))


# ================================================================ custom tokenizers
class TestTokenizers:
    def test_regex_string_matches_are_tokens(self):
        text = "don't stop-believing, ok"
        item = TextMasker(r"[\w'-]+", features="positional").prepare(text)[0]
        assert item.tokens == ("don't", "stop-believing", "ok")
        compiled = TextMasker(re.compile(r"[\w'-]+"), features="positional").prepare(text)[0]
        assert compiled == item

    def test_empty_regex_matches_are_ignored(self):
        item = TextMasker(r"\w*", features="positional").prepare("ab, cd")[0]
        assert item.tokens == ("ab", "cd")

    def test_callable_returning_strings_is_located_left_to_right(self):
        text = "a-b a  b-a"
        item = TextMasker(whitespace_tokens, features="positional").prepare(text)[0]
        assert item.tokens == ("a-b", "a", "b-a")
        assert [sp[0] for sp in item.spans] == [(0, 3), (4, 5), (7, 10)]

    def test_callable_returning_spans(self):
        text = "one  two three"
        item = TextMasker(whitespace_spans).prepare(text)[0]
        assert item.feature_names == ("one", "two", "three")
        assert item.spans == (((0, 3),), ((5, 8),), ((9, 14),))
        np_item = TextMasker(lambda t: np.array(whitespace_spans(t))).prepare(text)[0]
        assert np_item == item

    def test_callable_and_regex_agree_with_default_on_word_runs(self):
        words = lambda t: re.findall(r"\w+", t)
        a = TextMasker(words).prepare(MESSY)[0]
        b = TextMasker().prepare(MESSY)[0]
        c = TextMasker(r"\w+").prepare(MESSY)[0]
        assert a == b == c

    @pytest.mark.parametrize(
        "tokenizer, fragments",
        [
            (42, ("callable", "42 (int)")),
            (["a"], ("callable", "list")),
            ("(", ("regular expression", "'('")),
        ],
    )
    def test_bad_tokenizer_at_construction(self, tokenizer, fragments):
        with raises_naming("tokenizer", *fragments):
            TextMasker(tokenizer)

    @pytest.mark.parametrize(
        "tokenizer, fragments",
        [
            (lambda t: ["hello", "nowhere"], ("'nowhere'", "not in the text")),
            (lambda t: ["world", "hello"], ("'hello'",)),  # out of order
            (lambda t: "hello", ("list of token strings",)),
            (lambda t: None, ("None",)),
            (lambda t: [(0, 5), (3, 8)], ("(3, 8)",)),  # overlapping
            (lambda t: [(0, 500)], ("(0, 500)",)),  # outside the text
            (lambda t: ["hello", (6, 11)], ("item 0",)),  # mixed
            (lambda t: [(0.0, 5.0)], ("item 0",)),
        ],
    )
    def test_bad_tokenizer_output_at_prepare(self, tokenizer, fragments):
        masker = TextMasker(tokenizer)
        with raises_naming("tokenizer", *fragments):
            masker.prepare("hello world")


# ================================================================ input documents
class TestPrepare:
    def test_accepts_str_and_sequences_of_str(self):
        pd = pytest.importorskip("pandas")
        masker = TextMasker()
        docs = ["good film", "bad film"]
        expected = masker.prepare(docs)
        assert len(expected) == 2 and expected[0].text == "good film"
        assert masker.prepare("good film") == expected[:1]
        for X in [tuple(docs), np.array(docs), pd.Series(docs, index=[10, 20]), np.array(docs, dtype=object)]:
            assert masker.prepare(X) == expected
            assert all(type(item.text) is str for item in masker.prepare(X))

    @pytest.mark.parametrize(
        "X, fragments",
        [
            (3, ("3 (int)",)),
            (None, ("None",)),
            (b"bytes", ("bytes",)),
            ([], ("at least one",)),
            (["ok", None], ("element 1", "None")),
            (("ok", "fine", 2.5), ("element 2", "2.5 (float)")),
            (np.array([["a", "b"]]), ("shape (1, 2)",)),
            ({"a": 1}, ("dict",)),
        ],
    )
    def test_bad_documents_name_the_parameter(self, X, fragments):
        with raises_naming("X", *fragments):
            TextMasker().prepare(X)

    def test_error_uses_the_given_name(self):
        with raises_naming("documents", "element 0"):
            TextMasker().prepare([1], name="documents")

    def test_nan_in_a_series_is_reported(self):
        pd = pytest.importorskip("pandas")
        with raises_naming("X", "element 1", "nan"):
            TextMasker().prepare(pd.Series(["a", np.nan]))


# ================================================================ parameters
class TestParameters:
    @pytest.mark.parametrize(
        "kwargs, name",
        [
            ({"mode": "drop"}, "mode"),
            ({"features": "bow"}, "features"),
            ({"mask_token": 0}, "mask_token"),
            ({"lowercase": "yes"}, "lowercase"),
        ],
    )
    def test_bad_parameters_name_themselves(self, kwargs, name):
        with raises_naming(name):
            TextMasker(**kwargs)

    def test_class_attributes(self):
        assert TextMasker.kind == "text"
        assert TextMasker.default_kernel_width == 25.0

    def test_summary_is_json_and_describes_the_settings(self):
        s = TextMasker().summary()
        assert json.loads(json.dumps(s)) == s
        assert s["kind"] == "text" and s["tokenizer"] == "default" and s["pattern"] == r"\w+"
        assert s["mode"] == "remove" and s["features"] == "bag_of_words" and s["lowercase"] is False
        s = TextMasker(r"\S+", mode="mask", mask_token="[MASK]", features="positional", lowercase=True).summary()
        assert json.loads(json.dumps(s)) == s
        assert (s["tokenizer"], s["pattern"], s["mode"], s["mask_token"], s["features"], s["lowercase"]) == (
            "regex", r"\S+", "mask", "[MASK]", "positional", True
        )
        s = TextMasker(whitespace_tokens).summary()
        assert json.loads(json.dumps(s)) == s
        assert s["tokenizer"] == "callable" and s["tokenizer_name"].endswith("whitespace_tokens")

    def test_repr_names_the_settings(self):
        assert "mode='mask'" in repr(TextMasker(mode="mask"))


# ================================================================ sampling
class TestSample:
    def test_shape_row_zero_and_number_hidden(self):
        masker = TextMasker()
        item = masker.prepare("one two three four five six")[0]
        d = item.n_features
        S = masker.sample(item, 500, np.random.default_rng(1))
        assert S.shape == (500, d) and S.dtype == np.float64
        assert set(np.unique(S)) == {0.0, 1.0}
        np.testing.assert_array_equal(S[0], np.ones(d))
        hidden = d - S[1:].sum(axis=1)
        assert hidden.min() >= 1 and hidden.max() <= d

    def test_number_hidden_is_uniform_and_features_are_exchangeable(self):
        stats = pytest.importorskip("scipy.stats")
        masker = TextMasker()
        item = masker.prepare("a b c d e")[0]
        d, n = item.n_features, 20_000
        S = masker.sample(item, n + 1, np.random.default_rng(2))
        hidden = (d - S[1:].sum(axis=1)).astype(int)
        counts = np.bincount(hidden, minlength=d + 1)
        assert counts[0] == 0
        # LIME draws the number hidden uniformly from 1..d
        assert stats.chisquare(counts[1:]).pvalue > 1e-4
        # given k hidden, each feature is hidden with probability k / d, so overall (d + 1) / (2 d)
        rate = 1 - S[1:].mean(axis=0)
        np.testing.assert_allclose(rate, (d + 1) / (2 * d), atol=0.02)
        # given k, every k-subset is equally likely: check pairs for k = 2
        pairs = S[1:][hidden == 2]
        codes = np.packbits((pairs == 0).astype(np.uint8), axis=1, bitorder="little")[:, 0]
        _, pair_counts = np.unique(codes, return_counts=True)
        assert len(pair_counts) == d * (d - 1) // 2
        assert stats.chisquare(pair_counts).pvalue > 1e-4

    def test_deterministic_given_the_generator_seed(self):
        masker = TextMasker()
        item = masker.prepare("the quick brown fox jumps over the lazy dog")[0]
        a = masker.sample(item, 50, np.random.default_rng(7))
        b = masker.sample(item, 50, np.random.default_rng(7))
        c = masker.sample(item, 50, np.random.default_rng(8))
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, c)

    def test_single_feature_is_hidden_half_of_the_time(self):
        masker = TextMasker()
        item = masker.prepare("word, word!")[0]
        assert item.n_features == 1
        S = masker.sample(item, 4001, np.random.default_rng(3))
        assert S[0, 0] == 1
        assert abs(S[1:, 0].mean() - 0.5) < 0.04

    def test_one_sample_is_the_document(self):
        masker = TextMasker()
        item = masker.prepare("a b c")[0]
        np.testing.assert_array_equal(masker.sample(item, 1, np.random.default_rng(0)), np.ones((1, 3)))

    def test_bad_n_samples(self):
        masker = TextMasker()
        item = masker.prepare("a b")[0]
        with raises_naming("n_samples", ">= 1"):
            masker.sample(item, 0, np.random.default_rng(0))


# ================================================================ rendering
class TestRender:
    @pytest.mark.parametrize("features", ["bag_of_words", "positional"])
    @pytest.mark.parametrize("mode", ["remove", "mask"])
    @pytest.mark.parametrize("lowercase", [False, True])
    def test_matches_a_reference_built_from_spans(self, features, mode, lowercase):
        masker = TextMasker(mode=mode, features=features, lowercase=lowercase, mask_token="<?>")
        item = masker.prepare(MESSY)[0]
        S = masker.sample(item, 200, np.random.default_rng(4))
        out = masker.render(item, S)
        assert out[0] == MESSY
        hidden = None if mode == "remove" else "<?>"
        assert out == [reference_render(item, row, hidden) for row in S]

    def test_remove_drops_exactly_the_hidden_tokens_and_keeps_separators(self):
        masker = TextMasker()
        item = masker.prepare("Nice, warm day.")[0]
        S = np.array([[1, 0, 1], [0, 0, 0], [1, 1, 1]])
        assert masker.render(item, S) == ["Nice,  day.", ",  .", "Nice, warm day."]

    def test_bag_of_words_hides_every_occurrence(self):
        text = "spam eggs spam, ham spam"
        masker = TextMasker()
        item = masker.prepare(text)[0]
        row = np.ones(item.n_features)
        row[item.feature_names.index("spam")] = 0
        (out,) = masker.render(item, row)
        assert re.findall(r"\w+", out) == ["eggs", "ham"]
        positional = TextMasker(features="positional")
        pitem = positional.prepare(text)[0]
        prow = np.ones(pitem.n_features)
        prow[pitem.feature_names.index("spam#2")] = 0
        assert re.findall(r"\w+", positional.render(pitem, prow)[0]) == ["spam", "eggs", "ham", "spam"]

    def test_mask_mode_replaces_each_hidden_occurrence(self):
        masker = TextMasker(mode="mask")
        item = masker.prepare("spam eggs spam")[0]
        assert masker.render(item, np.array([[0, 1], [1, 0]])) == [
            "UNKWORDZ eggs UNKWORDZ",
            "spam UNKWORDZ spam",
        ]

    def test_bad_rows(self):
        masker = TextMasker()
        item = masker.prepare("a b")[0]
        with raises_naming("S", "2 features"):
            masker.render(item, np.ones((2, 3)))

    def test_large_document_is_fast_enough_and_correct(self):
        # not a timed assertion: 5000 rows of a 300-token document, vectorised sampling and rendering
        rng = np.random.default_rng(5)
        text = " ".join(f"w{k}" for k in rng.integers(0, 120, size=300)) + "."
        for features in ["bag_of_words", "positional"]:
            masker = TextMasker(features=features)
            item = masker.prepare(text)[0]
            S = masker.sample(item, 5000, rng)
            out = masker.render(item, S)
            assert len(out) == 5000 and out[0] == text
            for i in (1, 2500, 4999):
                assert out[i] == reference_render(item, S[i], None)


# ================================================================ distances
class TestDistances:
    def test_equal_scikit_learn_cosine_distances_times_100(self):
        pairwise = pytest.importorskip("sklearn.metrics.pairwise")
        masker = TextMasker()
        item = masker.prepare("a b c d e f g h")[0]
        S = masker.sample(item, 300, np.random.default_rng(6))
        S[-1] = 0.0
        got = masker.distances(S)
        expected = pairwise.cosine_distances(S[:1], S)[0] * 100
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
        assert got[0] == pytest.approx(0.0, abs=1e-12) and got[-1] == 100.0

    def test_formula(self):
        S = np.array([[1.0, 1.0, 1.0, 1.0], [1.0, 0.0, 0.0, 0.0], [1.0, 1.0, 0.0, 0.0]])
        expected = (1 - S.sum(axis=1) / (np.sqrt(S.sum(axis=1)) * 2.0)) * 100
        np.testing.assert_allclose(TextMasker().distances(S), expected, atol=1e-12)


# ================================================================ agreement with LIME
LIME_TEXTS = (
    MESSY,
    "The movie was great, great fun; the cast was great.",
    "no-separator-at-end",
    "\n\nleading and trailing\n",
    "x",
    "",
    "émigré crème brûlée, crème!",
)


@pytest.mark.oracle
class TestAgainstLime:
    @pytest.mark.parametrize("text", LIME_TEXTS)
    def test_bag_of_words_removal_matches_indexed_string(self, text):
        lime_text = pytest.importorskip("lime.lime_text")
        indexed = lime_text.IndexedString(text, bow=True)
        masker = TextMasker()
        item = masker.prepare(text)[0]
        # LIME's vocabulary is in order of first appearance too, so feature ids coincide
        assert list(item.feature_names) == list(indexed.inverse_vocab)
        for j in range(item.n_features):
            assert sorted(s for s, _ in item.spans[j]) == sorted(int(p) for p in indexed.string_position(j))
        S = masker.sample(item, 100, np.random.default_rng(9))
        out = masker.render(item, S)
        for row, doc in zip(S, out):
            ids = [item.feature_names.index(w) for w, keep in zip(item.feature_names, row) if keep == 0]
            lime_ids = [indexed.inverse_vocab.index(item.feature_names[j]) for j in ids]
            assert doc == indexed.inverse_removing(lime_ids)

    @pytest.mark.parametrize("text", LIME_TEXTS)
    def test_positional_masking_matches_indexed_string(self, text):
        lime_text = pytest.importorskip("lime.lime_text")
        indexed = lime_text.IndexedString(text, bow=False, mask_string="[X]")
        masker = TextMasker(mode="mask", features="positional", mask_token="[X]")
        item = masker.prepare(text)[0]
        assert list(item.tokens) == list(indexed.inverse_vocab)
        S = masker.sample(item, 100, np.random.default_rng(10))
        if item.n_features == 0:
            # LIME's positional index of a document without words is an empty float array, which
            # cannot index: inverse_removing raises there; the document is its own rendering here
            assert masker.render(item, S) == [text] * 100
            return
        for row, doc in zip(S, masker.render(item, S)):
            assert doc == indexed.inverse_removing(np.flatnonzero(row == 0))

    @settings(max_examples=60, deadline=None)
    @given(st.text(alphabet="ab é,.!\n_1", max_size=30), st.integers(0, 2**32 - 1))
    def test_random_texts_match_indexed_string(self, text, seed):
        lime_text = pytest.importorskip("lime.lime_text")
        indexed = lime_text.IndexedString(text, bow=True)
        masker = TextMasker()
        item = masker.prepare(text)[0]
        assert list(item.feature_names) == list(indexed.inverse_vocab)
        S = masker.sample(item, 10, np.random.default_rng(seed))
        for row, doc in zip(S, masker.render(item, S)):
            assert doc == indexed.inverse_removing(np.flatnonzero(row == 0).tolist())

    def test_lime_sampler_also_hides_one_to_d_features(self):
        """LIME 0.2's own sampler draws the number hidden from 1..d (it can hide every word)."""
        lime_text = pytest.importorskip("lime.lime_text")
        explainer = lime_text.LimeTextExplainer(random_state=0)
        indexed = lime_text.IndexedString("a b c", bow=True)
        sampler = explainer._LimeTextExplainer__data_labels_distances
        data, _, distances = sampler(indexed, lambda docs: np.zeros((len(docs), 2)), 3000)
        hidden = (3 - data[1:].sum(axis=1)).astype(int)
        assert set(np.unique(hidden)) == {1, 2, 3}
        ours = TextMasker().sample(TextMasker().prepare("a b c")[0], 3000, np.random.default_rng(0))
        ours_hidden = (3 - ours[1:].sum(axis=1)).astype(int)
        np.testing.assert_allclose(np.bincount(ours_hidden, minlength=4) / 2999, np.bincount(hidden, minlength=4) / 2999, atol=0.04)
        np.testing.assert_allclose(TextMasker().distances(data), distances, atol=1e-10)


# ================================================================ pickling
class TestPickle:
    @pytest.mark.parametrize(
        "masker",
        [TextMasker(), TextMasker(r"\S+", mode="mask", features="positional", lowercase=True), TextMasker(whitespace_tokens)],
    )
    def test_round_trip(self, masker):
        item = masker.prepare("Hello, hello world")[0]
        masker2 = pickle.loads(pickle.dumps(masker))
        item2 = pickle.loads(pickle.dumps(item))
        assert item2 == item and item2.n_features == item.n_features
        assert masker2.prepare("Hello, hello world")[0] == item
        assert masker2.summary() == masker.summary()
        S = masker.sample(item, 20, np.random.default_rng(0))
        assert masker2.render(item2, S) == masker.render(item, S)
