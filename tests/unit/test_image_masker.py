"""Tests of xaikit.maskers.image: segmentation, fills, layouts, sampling and distances."""

from __future__ import annotations

import json
import pickle
import sys

import numpy as np
import pytest
from scipy import ndimage

from xaikit.errors import MissingDependencyError
from xaikit.maskers.image import ImageItem, ImageMasker
from xaikit.testing import assert_raises_naming as raises_naming

H = W = 32


def blocks_image(seed: int = 0, channels: int = 3) -> np.ndarray:
    """A 32x32 image of four coloured quadrants with a little noise, values in [0, 1]."""
    rng = np.random.default_rng(seed)
    img = np.zeros((H, W, channels))
    colours = np.array([[0.9, 0.1, 0.1], [0.1, 0.8, 0.2], [0.2, 0.2, 0.9], [0.8, 0.8, 0.1]])[:, :channels]
    img[:16, :16] = colours[0]
    img[:16, 16:] = colours[1]
    img[16:, :16] = colours[2]
    img[16:, 16:] = colours[3]
    return np.clip(img + rng.normal(0, 0.03, img.shape), 0, 1)


def texture_image(seed: int = 0) -> np.ndarray:
    """A 48x48 smooth random texture in [0, 1], where slic's parameters change the segments."""
    img = ndimage.gaussian_filter(np.random.default_rng(seed).random((48, 48, 3)), sigma=(3, 3, 0))
    return (img - img.min()) / (img.max() - img.min())


def quadrant_map() -> np.ndarray:
    seg = np.zeros((H, W), dtype=np.int64)
    seg[:16, 16:] = 1
    seg[16:, :16] = 2
    seg[16:, 16:] = 3
    return seg


def relabel(labels: np.ndarray) -> np.ndarray:
    return np.unique(labels, return_inverse=True)[1].reshape(labels.shape)


def random_rows(d: int, m: int = 6, seed: int = 1) -> np.ndarray:
    S = np.random.default_rng(seed).integers(0, 2, size=(m, d)).astype(np.float64)
    S[0] = 1
    return S


# ================================================================ segmentation
class TestSegmentation:
    @pytest.mark.parametrize("algorithm", ["slic", "quickshift", "felzenszwalb"])
    def test_each_algorithm_gives_consecutive_labels(self, algorithm):
        pytest.importorskip("skimage")
        item = ImageMasker(algorithm).prepare(blocks_image())[0]
        assert item.segments.shape == (H, W) and item.segments.dtype == np.int64
        d = item.n_features
        assert d >= 2
        np.testing.assert_array_equal(np.unique(item.segments), np.arange(d))
        assert item.feature_names == tuple(f"segment {j}" for j in range(d))

    def test_slic_matches_skimage_called_directly(self):
        seg = pytest.importorskip("skimage.segmentation")
        img = texture_image()
        ours = ImageMasker("slic").prepare(img)[0].segments
        direct = seg.slic(img, n_segments=50, compactness=10, start_label=0)
        np.testing.assert_array_equal(ours, relabel(direct))
        assert not np.array_equal(ours, relabel(seg.slic(img, n_segments=40, compactness=10, start_label=0)))
        ours = ImageMasker("slic", segmentation_kwargs={"n_segments": 20, "compactness": 20}).prepare(img)[0].segments
        direct = seg.slic(img, n_segments=20, compactness=20, start_label=0)
        np.testing.assert_array_equal(ours, relabel(direct))

    def test_quickshift_uses_lime_defaults(self):
        seg = pytest.importorskip("skimage.segmentation")
        img = blocks_image()
        ours = ImageMasker("quickshift").prepare(img)[0].segments
        direct = seg.quickshift(img, kernel_size=4, max_dist=200, ratio=0.2)
        np.testing.assert_array_equal(ours, relabel(direct))

    def test_uint8_image_is_segmented_like_skimage_does(self):
        seg = pytest.importorskip("skimage.segmentation")
        img = (texture_image() * 255).round().astype(np.uint8)
        ours = ImageMasker("slic").prepare(img)[0].segments
        np.testing.assert_array_equal(ours, relabel(seg.slic(img, n_segments=50, compactness=10, start_label=0)))

    def test_grayscale_is_segmented_as_three_channels(self):
        seg = pytest.importorskip("skimage.segmentation")
        gray = blocks_image()[..., 0]
        item = ImageMasker("quickshift").prepare(gray)[0]  # quickshift needs three channels
        direct = seg.quickshift(np.repeat(gray[..., None], 3, axis=-1), kernel_size=4, max_dist=200, ratio=0.2)
        np.testing.assert_array_equal(item.segments, relabel(direct))
        assert item.image.shape == (H, W)

    def test_bad_algorithm_and_kwargs(self):
        pytest.importorskip("skimage")
        with raises_naming("segmentation", "slic"):
            ImageMasker("watershed")
        with raises_naming("segmentation_kwargs", "n_segmentz"):
            ImageMasker("slic", segmentation_kwargs={"n_segmentz": 5})
        with raises_naming("segmentation_kwargs"):
            ImageMasker(quadrant_map(), segmentation_kwargs={"n_segments": 5})

    def test_missing_scikit_image_names_the_extra(self, monkeypatch):
        monkeypatch.setitem(sys.modules, "skimage.segmentation", None)
        with pytest.raises(MissingDependencyError, match=r"xaikit\[image\]"):
            ImageMasker("slic")
        ImageMasker(quadrant_map())  # a user map needs no scikit-image


class TestUserSegmentation:
    def test_shared_map_is_relabelled_in_increasing_order(self):
        seg = quadrant_map() * 5 + 7  # labels 7, 12, 17, 22
        items = ImageMasker(seg).prepare(np.stack([blocks_image(0), blocks_image(1)]))
        assert len(items) == 2
        for item in items:
            np.testing.assert_array_equal(item.segments, quadrant_map())
            assert item.n_features == 4

    def test_per_image_maps(self):
        maps = np.stack([quadrant_map(), (np.arange(H * W).reshape(H, W) // 256)])
        items = ImageMasker(maps).prepare(np.stack([blocks_image(0), blocks_image(1)]))
        np.testing.assert_array_equal(items[0].segments, quadrant_map())
        np.testing.assert_array_equal(items[1].segments, maps[1])
        assert items[1].n_features == 4 and (items[1].segments[:8] == 0).all()

    def test_wrong_shapes_name_segmentation(self):
        with raises_naming("segmentation", "(32, 32)", "(33, 32)"):
            ImageMasker(np.zeros((33, 32), dtype=int)).prepare(blocks_image())
        with raises_naming("segmentation", "3 image"):
            ImageMasker(np.zeros((2, H, W), dtype=int)).prepare(np.stack([blocks_image()] * 3))
        with raises_naming("segmentation", "(5,)"):
            ImageMasker(np.zeros(5, dtype=int))
        with raises_naming("segmentation", "integer"):
            ImageMasker(np.full((H, W), 0.5))
        with raises_naming("segmentation"):
            ImageMasker(None)

    def test_callable_gets_channels_last_float_image(self):
        seen = []

        def split_rows(image, n=2):
            seen.append(image)
            return np.repeat(np.arange(n), image.shape[0] // n)[:, None] * np.ones(image.shape[1], dtype=int)

        img = (blocks_image() * 255).astype(np.uint8).transpose(2, 0, 1)  # (C, H, W) uint8
        masker = ImageMasker(split_rows, channels_last=False, segmentation_kwargs={"n": 4})
        item = masker.prepare(img)[0]
        assert item.n_features == 4 and item.channels_first
        assert seen[0].shape == (H, W, 3) and seen[0].dtype == np.float64
        np.testing.assert_allclose(seen[0], img.transpose(1, 2, 0) / 255.0)
        masker.prepare(blocks_image()[..., 0])
        assert seen[-1].shape == (H, W, 3)  # grayscale repeated to three channels
        assert masker.summary()["segmentation"] == "callable"

    def test_callable_with_wrong_output_names_segmentation(self):
        with raises_naming("segmentation", "(32, 32)"):
            ImageMasker(lambda image: np.zeros((4, 4), dtype=int)).prepare(blocks_image())
        with raises_naming("segmentation", "integer"):
            ImageMasker(lambda image: np.zeros((H, W))).prepare(blocks_image())


# ================================================================ fills
class _RecordingLime:
    """Runs LIME's image explainer with a fixed segmentation and records its rows and images."""

    @staticmethod
    def run(image, segments, hide_color, num_samples=30):
        lime_image = pytest.importorskip("lime.lime_image")

        class Recording(lime_image.LimeImageExplainer):
            def data_labels(self, *args, **kwargs):
                self.recorded = super().data_labels(*args, **kwargs)
                return self.recorded

        batches = []

        def classifier(imgs):
            batches.append(np.array(imgs, copy=True))
            p = imgs.reshape(len(imgs), -1).mean(axis=1)
            return np.stack([p, 1 - p], axis=1)

        explainer = Recording(random_state=0)
        explainer.explain_instance(
            image, classifier, labels=(0,), top_labels=None, hide_color=hide_color, num_samples=num_samples,
            batch_size=10, segmentation_fn=lambda img: segments, random_seed=0,
        )
        return explainer.recorded[0], np.concatenate(batches)


class TestFills:
    def test_mean_fill_agrees_with_lime(self):
        img = blocks_image()
        rng = np.random.default_rng(3)
        segments = rng.integers(0, 6, size=(H, W))  # scattered segments
        item = ImageMasker(segments).prepare(img)[0]
        data, lime_images = _RecordingLime.run(img, item.segments, hide_color=None)
        assert data.shape[1] == item.n_features == 6
        rendered = ImageMasker(segments).render(item, data)
        assert rendered.shape == lime_images.shape == (30, H, W, 3)
        np.testing.assert_allclose(rendered, lime_images, rtol=0, atol=1e-12)
        assert not np.array_equal(rendered[1], img)  # some segment was hidden

    def test_constant_fill_agrees_with_lime(self):
        img = blocks_image()
        masker = ImageMasker(quadrant_map(), fill="constant", fill_value=0.3)
        item = masker.prepare(img)[0]
        data, lime_images = _RecordingLime.run(img, item.segments, hide_color=0.3)
        np.testing.assert_array_equal(masker.render(item, data), lime_images)

    def test_mean_fill_is_the_segment_mean_per_channel(self):
        img = blocks_image()
        item = ImageMasker(quadrant_map()).prepare(img)[0]
        for s in range(4):
            inside = quadrant_map() == s
            np.testing.assert_allclose(item.fill[inside], np.broadcast_to(img[inside].mean(axis=0), (inside.sum(), 3)))

    def test_blur_fill(self):
        img = blocks_image()
        img[..., 1] = 0.0
        item = ImageMasker(quadrant_map(), fill="blur").prepare(img)[0]
        expected = ndimage.gaussian_filter(img, sigma=(W / 20, W / 20, 0))
        np.testing.assert_allclose(item.fill, expected)
        assert (item.fill[..., 1] == 0).all()  # channels are not mixed
        item = ImageMasker(quadrant_map(), fill="blur", blur_sigma=3.0).prepare(img)[0]
        np.testing.assert_allclose(item.fill, ndimage.gaussian_filter(img, sigma=(3, 3, 0)))
        with raises_naming("blur_sigma"):
            ImageMasker(quadrant_map(), fill="blur", blur_sigma=0)

    def test_render_takes_fill_where_hidden(self):
        img = blocks_image()
        masker = ImageMasker(quadrant_map(), fill="constant", fill_value=-1.0)
        item = masker.prepare(img)[0]
        out = masker.render(item, np.array([[1, 1, 1, 1], [0, 0, 0, 0], [1, 0, 1, 1]], dtype=float))
        np.testing.assert_array_equal(out[0], img)
        assert (out[1] == -1).all()
        assert (out[2][:16, 16:] == -1).all()
        np.testing.assert_array_equal(out[2][:16, :16], img[:16, :16])
        np.testing.assert_array_equal(out[2][16:], img[16:])
        np.testing.assert_array_equal(masker.render(item, np.array([1, 0, 1, 1.0]))[0], out[2])
        with raises_naming("S", "4 entries"):
            masker.render(item, np.ones((2, 3)))

    def test_uint8_image(self):
        img = (blocks_image() * 255).round().astype(np.uint8)
        for fill in ("mean", "blur"):
            masker = ImageMasker(quadrant_map(), fill=fill)
            item = masker.prepare(img)[0]
            assert item.fill.dtype == np.uint8
            out = masker.render(item, random_rows(4))
            assert out.dtype == np.uint8 and out.shape == (6, H, W, 3)
            np.testing.assert_array_equal(out[0], img)
        item = ImageMasker(quadrant_map()).prepare(img)[0]
        inside = quadrant_map() == 2
        np.testing.assert_array_equal(item.fill[inside][0], np.rint(img[inside].astype(float).mean(axis=0)))
        with raises_naming("fill_value", "uint8"):
            ImageMasker(quadrant_map(), fill="constant", fill_value=-1).prepare(img)
        item = ImageMasker(quadrant_map(), fill="constant", fill_value=128).prepare(img)[0]
        assert (item.fill == 128).all() and item.fill.dtype == np.uint8

    def test_float32_stays_float32(self):
        img = blocks_image().astype(np.float32)
        masker = ImageMasker(quadrant_map())
        item = masker.prepare(img)[0]
        assert masker.render(item, random_rows(4)).dtype == np.float32


# ================================================================ layouts
class TestLayouts:
    def test_grayscale_image(self):
        gray = blocks_image()[..., 0]
        masker = ImageMasker(quadrant_map())
        items = masker.prepare(gray)
        assert len(items) == 1 and items[0].image.shape == (H, W)
        out = masker.render(items[0], random_rows(4))
        assert out.shape == (6, H, W)
        color = masker.render(masker.prepare(blocks_image())[0], random_rows(4))
        np.testing.assert_allclose(out, color[..., 0])

    def test_grayscale_batch(self):
        batch = np.stack([blocks_image(i)[..., 0] for i in range(5)])  # (5, 32, 32): a batch
        items = ImageMasker(quadrant_map()).prepare(batch)
        assert len(items) == 5 and items[2].image.shape == (H, W)
        np.testing.assert_array_equal(items[2].image, batch[2])

    def test_channels_first_image(self):
        img = blocks_image()
        chw = img.transpose(2, 0, 1)
        S = random_rows(4)
        reference = ImageMasker(quadrant_map())
        expected = reference.render(reference.prepare(img)[0], S)
        masker = ImageMasker(quadrant_map(), channels_last=False)
        item = masker.prepare(chw)[0]
        assert item.channels_first and item.image.shape == (3, H, W) and item.fill.shape == (3, H, W)
        out = masker.render(item, S)
        assert out.shape == (6, 3, H, W)
        np.testing.assert_allclose(out, expected.transpose(0, 3, 1, 2))

    def test_channels_first_batch_is_guessed(self):
        imgs = np.stack([blocks_image(i) for i in range(3)])
        masker = ImageMasker(quadrant_map(), fill="blur")
        items = masker.prepare(imgs.transpose(0, 3, 1, 2))  # (3, 3, 32, 32)
        last = masker.prepare(imgs)
        assert len(items) == 3 and all(it.channels_first for it in items)
        assert not any(it.channels_first for it in last)
        S = random_rows(4)
        for a, b in zip(items, last):
            np.testing.assert_allclose(masker.render(a, S), masker.render(b, S).transpose(0, 3, 1, 2))

    def test_channels_last_wins_when_both_fit(self):
        x = np.random.default_rng(0).random((2, 3, 3, 3))
        items = ImageMasker(np.zeros((3, 3), dtype=int)).prepare(x)
        assert not items[0].channels_first
        items = ImageMasker(np.zeros((3, 3), dtype=int), channels_last=False).prepare(x)
        assert items[0].channels_first

    def test_single_and_batched_channels_last(self):
        masker = ImageMasker(quadrant_map())
        assert len(masker.prepare(blocks_image())) == 1
        assert len(masker.prepare(np.stack([blocks_image()] * 4))) == 4
        items = masker.prepare([blocks_image(0), blocks_image(1)])
        assert len(items) == 2
        np.testing.assert_array_equal(items[1].image, blocks_image(1))
        items = masker.prepare([blocks_image(0)[..., 0]] * 3)  # list of grayscale images
        assert len(items) == 3 and items[0].image.shape == (H, W)
        items = masker.prepare([blocks_image(0).transpose(2, 0, 1)])  # list of channels-first images
        assert items[0].channels_first

    def test_bad_images_name_x(self):
        masker = ImageMasker(quadrant_map())
        bad = blocks_image()
        bad[3, 4, 1] = np.nan
        with raises_naming("X", "finite"):
            masker.prepare(bad)
        bad[3, 4, 1] = np.inf
        with raises_naming("images", "finite"):
            masker.prepare(bad, name="images")
        with raises_naming("X", "channel axis"):
            masker.prepare(np.zeros((2, 5, H, W)))
        with raises_naming("X", "one shape"):
            masker.prepare([np.zeros((H, W)), np.zeros((H, W + 1))])
        with raises_naming("X", "dimensions"):
            masker.prepare(np.zeros(5))
        with raises_naming("X"):
            masker.prepare("image.png")
        with raises_naming("X"):
            masker.prepare([])
        with raises_naming("channels_last"):
            ImageMasker(quadrant_map(), channels_last="yes")
        with raises_naming("fill", "mean"):
            ImageMasker(quadrant_map(), fill="noise")


# ================================================================ samples, distances
class TestSampling:
    def test_rows(self):
        masker = ImageMasker(quadrant_map())
        item = masker.prepare(blocks_image())[0]
        S = masker.sample(item, 2000, np.random.default_rng(0))
        assert S.shape == (2000, 4) and S.dtype == np.float64
        np.testing.assert_array_equal(S[0], 1)
        assert set(np.unique(S)) == {0.0, 1.0}
        assert abs(S[1:].mean() - 0.5) < 0.03
        np.testing.assert_array_equal(S, masker.sample(item, 2000, np.random.default_rng(0)))
        assert not np.array_equal(S, masker.sample(item, 2000, np.random.default_rng(1)))
        np.testing.assert_array_equal(S[1:], np.random.default_rng(0).integers(0, 2, size=(1999, 4)))
        assert masker.sample(item, 1, np.random.default_rng(0)).tolist() == [[1, 1, 1, 1]]
        with raises_naming("n_samples"):
            masker.sample(item, 0, np.random.default_rng(0))

    def test_distances_equal_sklearn_cosine(self):
        metrics = pytest.importorskip("sklearn.metrics")
        S = np.random.default_rng(0).integers(0, 2, size=(300, 17)).astype(np.float64)
        S[0] = 1
        S[5] = 0
        ours = ImageMasker(quadrant_map()).distances(S)
        theirs = metrics.pairwise_distances(S, S[0:1], metric="cosine").ravel()
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)
        assert ours[0] == 0 and ours[5] == 1
        assert ImageMasker.default_kernel_width == 0.25 and ImageMasker.kind == "image"


# ================================================================ pickling, summary
class TestPersistence:
    def test_pickle_round_trip(self):
        pytest.importorskip("skimage")
        masker = ImageMasker("slic", fill="blur", blur_sigma=2.0, segmentation_kwargs={"n_segments": 10})
        item = masker.prepare(blocks_image())[0]
        masker2 = pickle.loads(pickle.dumps(masker))
        item2 = pickle.loads(pickle.dumps(item))
        assert isinstance(item2, ImageItem) and item2.feature_names == item.feature_names
        np.testing.assert_array_equal(item2.segments, item.segments)
        S = random_rows(item.n_features)
        np.testing.assert_array_equal(masker2.render(item2, S), masker.render(item, S))
        np.testing.assert_array_equal(masker2.prepare(blocks_image())[0].segments, item.segments)
        assert masker2.summary() == masker.summary()

    def test_user_map_masker_pickles(self):
        masker = ImageMasker(quadrant_map())
        masker2 = pickle.loads(pickle.dumps(masker))
        np.testing.assert_array_equal(masker2.prepare(blocks_image())[0].segments, quadrant_map())

    def test_summary_is_json(self):
        pytest.importorskip("skimage")
        s = ImageMasker("quickshift", fill="constant", fill_value=0.5,
                        segmentation_kwargs={"ratio": np.float64(0.4)}).summary()
        assert json.loads(json.dumps(s)) == s
        assert s["kind"] == "image" and s["segmentation"] == "quickshift" and s["fill"] == "constant"
        assert s["segmentation_kwargs"] == {"kernel_size": 4, "max_dist": 200, "ratio": 0.4}
        assert s["fill_value"] == 0.5 and s["blur_sigma"] is None
        user = ImageMasker(quadrant_map()).summary()
        assert user["segmentation"] == "user" and json.dumps(user)
