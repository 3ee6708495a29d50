"""Hiding parts of an image: superpixel segments replaced by a fill.

An image is split into segments (superpixels), and each segment is one interpretable feature.
A perturbation is a 0/1 row ``S`` with one entry per segment: where ``S`` is 0 the pixels of
that segment are replaced by the matching pixels of a *fill* image, where it is 1 they keep
their values. This is the representation LIME uses for images.

Segmentation
------------
``"slic"``, ``"quickshift"`` or ``"felzenszwalb"`` from scikit-image (the optional extra
``image``: ``pip install "xaikit[image]"``), a user segment map (one ``(H, W)`` integer array for
every image, or ``(n, H, W)`` with one map per image), or a callable ``image -> labels``.
The algorithms and callables receive the image channels-last, ``(H, W, C)``, as float64;
``uint8`` and ``uint16`` images are scaled to ``[0, 1]`` by their dtype's maximum (as
scikit-image does), other dtypes keep their values; grayscale and one-channel images are
repeated to three channels. The built-in algorithms ignore a fourth (alpha) channel.
Labels are relabelled to ``0 .. d-1`` in increasing order of the original labels, so a map that
already counts from 0 without gaps is kept as it is.

Image layouts
-------------
``prepare`` accepts one image or a batch, and renders perturbations in the same layout:

* 2-D ``(H, W)``: one grayscale image.
* 3-D: with ``channels_last=None`` (guess), a last axis of size 1, 3 or 4 makes one
  channels-last image ``(H, W, C)``; anything else is a batch of grayscale images ``(n, H, W)``.
  ``channels_last=True`` reads one ``(H, W, C)`` image, ``channels_last=False`` one
  channels-first ``(C, H, W)`` image (PyTorch style).
* 4-D: a batch. Guessing, a last axis of size 1, 3 or 4 means ``(n, H, W, C)``, else an axis 1 of
  size 1, 3 or 4 means ``(n, C, H, W)``; when both could be channels, channels-last wins.
* A list (or tuple) of arrays of one shape is a batch; each array is read as one image
  (2-D grayscale, or 3-D with the same guess as above, channels-first allowed).
"""

from __future__ import annotations

import functools
import inspect
import math
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from xaikit._optional import import_optional
from xaikit._validation import check_array, check_choice, check_float, describe
from xaikit.errors import InvalidParameterError
from xaikit.maskers.neighbourhood import SAMPLINGS, uniforms

__all__ = ["ImageMasker", "ImageItem"]

ALGORITHMS = ("slic", "quickshift", "felzenszwalb")
FILLS = ("mean", "blur", "constant")
_CHANNEL_SIZES = (1, 3, 4)

#: Defaults of the scikit-image algorithms; ``segmentation_kwargs`` overrides them.
#: quickshift uses LIME's (``lime_image.explain_instance``); felzenszwalb those of scikit-image's
#: segmentation gallery (its own default ``scale=1`` makes hundreds of tiny segments).
DEFAULT_KWARGS: dict[str, dict[str, Any]] = {
    "slic": {"n_segments": 50, "compactness": 10.0, "start_label": 0},
    "quickshift": {"kernel_size": 4, "max_dist": 200, "ratio": 0.2},
    "felzenszwalb": {"scale": 100, "sigma": 0.5, "min_size": 50},
}


@dataclass(frozen=True, eq=False)
class ImageItem:
    """One image and its segmentation.

    Attributes
    ----------
    image : ndarray
        The image as given: ``(H, W)``, ``(H, W, C)`` or channels-first ``(C, H, W)``, its dtype kept.
    segments : ndarray of int64, shape (H, W)
        Segment labels ``0 .. d-1``.
    fill : ndarray
        Same shape and dtype as ``image``: the values hidden pixels take.
    feature_names : tuple of str
        ``("segment 0", "segment 1", ...)``.
    channels_first : bool
        Whether ``image`` is ``(C, H, W)``.

    Examples
    --------
    >>> masker = ImageMasker(np.array([[0, 0], [1, 2]]), fill="constant")
    >>> item = masker.prepare(np.ones((2, 2, 3)))[0]
    >>> item.n_features, item.feature_names
    (3, ('segment 0', 'segment 1', 'segment 2'))
    """

    image: np.ndarray
    segments: np.ndarray
    fill: np.ndarray
    feature_names: tuple[str, ...]
    channels_first: bool = False

    @property
    def n_features(self) -> int:
        """Number of segments ``d``."""
        return len(self.feature_names)

    @property
    def spatial_shape(self) -> tuple[int, int]:
        """``(H, W)``."""
        return (int(self.segments.shape[0]), int(self.segments.shape[1]))


class ImageMasker:
    """Perturb images by filling some of their segments (superpixels).

    Parameters
    ----------
    segmentation : {"slic", "quickshift", "felzenszwalb"}, array of int, or callable
        A scikit-image algorithm (defaults in :data:`DEFAULT_KWARGS`, overridden by
        ``segmentation_kwargs``); a segment map ``(H, W)`` shared by all images or ``(n, H, W)``
        with one map per image; or a function ``image (H, W, C) float64 -> labels (H, W)``,
        called as ``segmentation(image, **segmentation_kwargs)``. To send the masker to worker
        processes, a callable must be picklable (defined at module level, not a lambda).
    fill : {"mean", "blur", "constant"}
        What hidden pixels become: the mean colour of their segment (LIME's ``hide_color=None``),
        the pixels of a Gaussian-blurred copy of the image, or ``fill_value`` (LIME's
        ``hide_color=value``). Integer images get the rounded mean or blur.
    fill_value : float
        The value of ``fill="constant"``.
    blur_sigma : float, optional
        Standard deviation, in pixels, of the blur of ``fill="blur"`` (over the two spatial axes
        only). Defaults to ``max(H, W) / 20``.
    channels_last : bool, optional
        Where the channel axis of 3-D and 4-D inputs is; ``None`` guesses (see the module notes).
    segmentation_kwargs : mapping, optional
        Arguments of the algorithm or the callable.

    Examples
    --------
    >>> masker = ImageMasker(np.array([[0, 0, 1], [0, 2, 1]]), fill="constant", fill_value=-1)
    >>> item = masker.prepare(np.arange(6.0).reshape(2, 3))[0]
    >>> masker.render(item, np.array([[1.0, 0.0, 1.0]]))
    array([[[ 0.,  1., -1.],
            [ 3.,  4., -1.]]])
    """

    kind: str = "image"
    default_kernel_width: float = 0.25
    #: Images per model call when a value function or LIME is given no ``batch_size`` (50
    #: 224x224x3 float32 images are 30 MB).
    default_batch_size: int = 50

    def __init__(
        self,
        segmentation: str | np.ndarray | Callable[..., Any] = "slic",
        *,
        fill: str = "mean",
        fill_value: float = 0.0,
        blur_sigma: float | None = None,
        channels_last: bool | None = None,
        segmentation_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        self.fill = check_choice(fill, "fill", FILLS)
        self.fill_value = check_float(fill_value, "fill_value")
        self.blur_sigma = None if blur_sigma is None else check_float(
            blur_sigma, "blur_sigma", minimum=0, strict_minimum=True
        )
        if channels_last is not None and not isinstance(channels_last, (bool, np.bool_)):
            raise InvalidParameterError(f"channels_last: expected None, True or False, got {describe(channels_last)}")
        self.channels_last = None if channels_last is None else bool(channels_last)
        if segmentation_kwargs is not None and not isinstance(segmentation_kwargs, Mapping):
            raise InvalidParameterError(
                f"segmentation_kwargs: expected a mapping of argument names to values, got {describe(segmentation_kwargs)}"
            )
        user_kwargs = dict(segmentation_kwargs or {})

        self.segment_map: np.ndarray | None = None
        self.segmentation_fn: Callable[..., Any] | None = None
        if isinstance(segmentation, str):
            self.segmentation = check_choice(segmentation, "segmentation", ALGORITHMS)
            fn = _algorithm(self.segmentation)
            accepted = [p for p in inspect.signature(fn).parameters if p not in ("image", "channel_axis")]
            unknown = [k for k in user_kwargs if k not in accepted]
            if unknown:
                raise InvalidParameterError(
                    f"segmentation_kwargs: {self.segmentation} does not take {unknown}; it takes {accepted}"
                )
            self.segmentation_kwargs = {**DEFAULT_KWARGS[self.segmentation], **user_kwargs}
        elif callable(segmentation):
            self.segmentation = "callable"
            self.segmentation_fn = segmentation
            self.segmentation_kwargs = user_kwargs
        else:
            if user_kwargs:
                raise InvalidParameterError(
                    "segmentation_kwargs: a segment map takes no arguments; got "
                    f"{sorted(user_kwargs)} with segmentation given as {describe(segmentation)}"
                )
            self.segmentation = "user"
            self.segment_map = _check_segment_map(segmentation)
            self.segmentation_kwargs = {}

    # ------------------------------------------------------------------ images
    def prepare(self, X: Any, name: str = "X") -> list[ImageItem]:
        """Split one image or a batch into :class:`ImageItem` s: segments and fill of each.

        >>> masker = ImageMasker(np.array([[0, 1], [1, 1]]))
        >>> items = masker.prepare(np.zeros((5, 2, 2, 3)))
        >>> len(items), items[0].image.shape, items[0].segments.tolist()
        (5, (2, 2, 3), [[0, 1], [1, 1]])
        """
        images, channels_first = self._split(X, name)
        if self.segment_map is not None and self.segment_map.ndim == 3 and len(images) != self.segment_map.shape[0]:
            raise InvalidParameterError(
                f"segmentation: the segment maps have shape {self.segment_map.shape}, one per image, but {name} "
                f"holds {len(images)} image(s) of shape {images[0].shape}"
            )
        items = []
        shared: np.ndarray | None = None  # one map for every image: relabelled once, shared read-only
        for i, image in enumerate(images):
            hwc = _channels_last_view(image, channels_first)
            raw = self._segment(hwc, i)
            if self.segment_map is not None and self.segment_map.ndim == 2:
                if shared is None:
                    shared = _relabel(raw)
                    shared.setflags(write=False)
                segments = shared
            else:
                segments = _relabel(raw)
                segments.setflags(write=False)
            fill = self._fill(image, hwc, segments, channels_first)
            image = np.array(image, copy=True)
            image.setflags(write=False)
            fill.setflags(write=False)
            names = _segment_names(int(segments.max()) + 1)
            items.append(ImageItem(image, segments, fill, names, bool(channels_first and image.ndim == 3)))
        return items

    def _split(self, X: Any, name: str) -> tuple[list[np.ndarray], bool]:
        """The images of ``X`` and whether they are channels-first."""
        if isinstance(X, (list, tuple)):
            if len(X) == 0:
                raise InvalidParameterError(f"{name}: expected at least one image, got an empty {type(X).__name__}")
            arrays = [check_array(a, name, ndim=(2, 3), dtype=None, min_rows=0) for a in X]
            shapes = {a.shape for a in arrays}
            if len(shapes) > 1:
                raise InvalidParameterError(
                    f"{name}: the images of a list must have one shape, got shapes {sorted(shapes)[:5]}"
                )
            first = arrays[0]
            channels_first = first.ndim == 3 and self._single_is_channels_first(first.shape, name)
            images = arrays
        else:
            arr = check_array(X, name, ndim=(2, 3, 4), dtype=None, min_rows=0)
            if arr.ndim == 2:
                images, channels_first = [arr], False
            elif arr.ndim == 3:
                if self.channels_last is None and arr.shape[-1] not in _CHANNEL_SIZES:
                    images, channels_first = list(arr), False  # a batch of grayscale images
                else:
                    images, channels_first = [arr], self.channels_last is False
            else:
                if self.channels_last is None:
                    if arr.shape[-1] in _CHANNEL_SIZES:
                        channels_first = False
                    elif arr.shape[1] in _CHANNEL_SIZES:
                        channels_first = True
                    else:
                        raise InvalidParameterError(
                            f"{name}: cannot tell the channel axis of {describe(arr)}: expected (n, H, W, C) or "
                            f"(n, C, H, W) with C in 1, 3 or 4; set channels_last=True or False"
                        )
                else:
                    channels_first = not self.channels_last
                images = list(arr)
        if not images:
            raise InvalidParameterError(f"{name}: expected at least one image, got {describe(np.asarray(X))}")
        spatial = images[0].shape[1:] if channels_first else images[0].shape[:2]
        if min(spatial) < 1 or (images[0].ndim == 3 and images[0].shape[0 if channels_first else -1] < 1):
            raise InvalidParameterError(f"{name}: expected non-empty images, got images of shape {images[0].shape}")
        return images, channels_first

    def _single_is_channels_first(self, shape: tuple[int, ...], name: str) -> bool:
        if self.channels_last is not None:
            return not self.channels_last
        if shape[-1] in _CHANNEL_SIZES:
            return False
        if shape[0] in _CHANNEL_SIZES:
            return True
        raise InvalidParameterError(
            f"{name}: cannot tell the channel axis of images of shape {shape}: expected (H, W, C) or (C, H, W) "
            f"with C in 1, 3 or 4; set channels_last=True or False"
        )

    def _segment(self, hwc: np.ndarray, index: int) -> np.ndarray:
        """Raw labels (H, W) of one channels-last image."""
        hw = hwc.shape[:2]
        if self.segment_map is not None:
            seg = self.segment_map if self.segment_map.ndim == 2 else self.segment_map[index]
            if seg.shape != hw:
                raise InvalidParameterError(
                    f"segmentation: expected a segment map of shape {hw} (the images' height and width), "
                    f"got shape {seg.shape}"
                )
            return seg
        image = _segmentation_input(hwc)
        if self.segmentation_fn is not None:
            labels = self.segmentation_fn(image, **self.segmentation_kwargs)
            what = "the segmentation callable"
        else:
            if image.shape[-1] == 4:
                image = image[..., :3]
            try:
                labels = _algorithm(self.segmentation)(image, **self.segmentation_kwargs)
            except (ValueError, TypeError) as exc:
                raise InvalidParameterError(
                    f"segmentation: {self.segmentation} failed on an image of shape {hwc.shape} with "
                    f"{self.segmentation_kwargs} ({exc})"
                ) from exc
            what = self.segmentation
        labels = np.asarray(labels)
        if labels.shape != hw or labels.dtype.kind not in "iub":
            raise InvalidParameterError(
                f"segmentation: {what} should return integer labels of shape {hw}, got {describe(labels)}"
            )
        return labels

    def _fill(self, image: np.ndarray, hwc: np.ndarray, segments: np.ndarray, channels_first: bool) -> np.ndarray:
        """The fill image, same shape and dtype as ``image``."""
        if self.fill == "constant":
            return np.full(image.shape, _to_dtype_scalar(self.fill_value, image.dtype), dtype=image.dtype)
        pixels = hwc.reshape(-1, hwc.shape[-1]).astype(np.float64)
        if self.fill == "mean":
            labels = segments.ravel()
            d = int(labels.max()) + 1
            counts = np.bincount(labels, minlength=d).astype(np.float64)
            sums = np.stack([np.bincount(labels, weights=pixels[:, c], minlength=d) for c in range(pixels.shape[1])], axis=1)
            means = sums / counts[:, None]
            values = means[segments]  # (H, W, C)
        else:
            h, w = segments.shape
            sigma = self.blur_sigma if self.blur_sigma is not None else max(h, w) / 20.0
            from scipy import ndimage  # imported when needed: `import xaikit` stays light

            values = ndimage.gaussian_filter(hwc.astype(np.float64), sigma=(sigma, sigma, 0.0))
        if image.ndim == 2:
            values = values[..., 0]
        elif channels_first:
            values = np.moveaxis(values, -1, 0)
        return _cast_like(values, image.dtype)

    # ------------------------------------------------------------------ samples
    def kept_count_law(self, item: ImageItem) -> np.ndarray | None:
        """``prob[c]``, ``c = 0..d``: the probability that a perturbation of :meth:`sample` (any row
        but row 0, in either sampling) keeps ``c`` of the image's ``d`` segments, binomial ``(d, 1/2)``;
        given ``c``, the kept segments are a uniformly random set.

        None for a subclass that draws its own way (overrides :meth:`sample`): it states its own law.

        >>> masker = ImageMasker(np.array([[0, 1]]))
        >>> masker.kept_count_law(masker.prepare(np.zeros((1, 2)))[0]).tolist()
        [0.25, 0.5, 0.25]
        """
        if type(self).sample is not ImageMasker.sample:
            return None
        d = item.n_features
        return np.array([math.comb(d, c) / 2**d for c in range(d + 1)])  # exact integers, one rounding

    def sample(self, item: ImageItem, n_samples: int, rng: np.random.Generator, *, sampling: str = "iid") -> np.ndarray:
        """``n_samples`` 0/1 rows (float64, one column per segment): row 0 keeps everything, the
        others keep each segment with probability 1/2.

        ``sampling="stratified"`` keeps segment ``j`` where the quasi-random uniform ``u_j`` is
        below 1/2 (:func:`xaikit.maskers.neighbourhood.uniforms`): each row on its own is ``d``
        fair coins, as with ``"iid"``, while the rows together keep every segment, and every
        pair of segments, in nearly exact shares.

        >>> item = ImageMasker(np.array([[0, 1]])).prepare(np.zeros((1, 2)))[0]
        >>> ImageMasker(np.array([[0, 1]])).sample(item, 3, np.random.default_rng(0))[0]
        array([1., 1.])
        """
        if isinstance(n_samples, bool) or not isinstance(n_samples, numbers.Integral) or n_samples < 1:
            raise InvalidParameterError(f"n_samples: expected an integer >= 1, got {describe(n_samples)}")
        sampling = check_choice(sampling, "sampling", list(SAMPLINGS))
        d = item.n_features
        n = int(n_samples)
        S = np.ones((n, d), dtype=np.float64)
        if n > 1 and sampling == "iid":
            S[1:] = rng.integers(0, 2, size=(n - 1, d))
        elif n > 1 and d > 0:
            S[1:] = uniforms(rng, n - 1, d, sampling) < 0.5
        return S

    def render(self, item: ImageItem, S: np.ndarray) -> np.ndarray:
        """The images of the rows of ``S``, shape ``(len(S), *item.image.shape)``, in the image's
        dtype: pixels of segments where ``S`` is 0 come from ``item.fill``.

        >>> masker = ImageMasker(np.array([[0, 1]]), fill="constant", fill_value=9)
        >>> item = masker.prepare(np.array([[1, 2]], dtype=np.uint8))[0]
        >>> masker.render(item, np.array([[0, 1], [1, 0]]))
        array([[[9, 2]],
        <BLANKLINE>
               [[1, 9]]], dtype=uint8)
        """
        S = np.asarray(S)
        if S.ndim == 1:
            S = S[None, :]
        if S.ndim != 2 or S.shape[1] != item.n_features:
            raise InvalidParameterError(
                f"S: expected rows of {item.n_features} entries (one per segment), got {describe(S)}"
            )
        dtype = np.result_type(item.image, item.fill)
        shape = item.image.shape
        channels_first = item.image.ndim == 3 and item.channels_first
        spatial = shape[1:] if channels_first else shape[:2]
        if item.image.ndim not in (2, 3) or spatial != item.segments.shape or item.fill.shape != shape:
            raise InvalidParameterError(
                f"item: expected an image (H, W), (H, W, C) or (C, H, W) with segments (H, W) and a fill of the "
                f"image's shape, got an image of shape {shape}, segments {item.segments.shape} and a fill {item.fill.shape}"
            )
        if dtype.hasobject or dtype.itemsize == 0:
            return _render_numpy(item, S, dtype)
        segments = item.segments.ravel()
        d = item.n_features
        if segments.size and (int(segments.min()) < 0 or int(segments.max()) >= d):
            raise InvalidParameterError(
                f"item: expected segment labels in 0 .. {d - 1} (one per feature), got labels from "
                f"{int(segments.min())} to {int(segments.max())}"
            )
        from xaikit.maskers import _render  # compiled loops, imported when needed: `import xaikit` loads no numba

        planes = shape[0] if channels_first else 1
        n_pixels = segments.size
        pixel_bytes = (int(np.prod(shape)) // (planes * n_pixels)) * dtype.itemsize
        unit = _render.unit_dtype(pixel_bytes)
        units = pixel_bytes // unit.itemsize
        # the fill (0) and the image (1) in the result dtype, viewed as raw units: copies are exact
        src = np.empty((2, *shape), dtype=dtype)
        src[0] = item.fill
        src[1] = item.image
        size = src[0].size
        src_units = src.reshape(2, size).view(unit).reshape(2, planes, n_pixels, units)
        out = np.empty((S.shape[0], *shape), dtype=dtype)
        out_units = out.reshape(S.shape[0], size).view(unit).reshape(S.shape[0], planes, n_pixels, units)
        kept = np.ascontiguousarray(S != 0).view(np.uint8)
        _render.gather_pixels(kept, np.ascontiguousarray(segments, dtype=np.intp), src_units, out_units)
        return out

    def distances(self, S: np.ndarray) -> np.ndarray:
        """Cosine distance of each row of ``S`` to row 0 (LIME's image distance); an all-zero row
        is at distance 1.

        >>> ImageMasker(np.zeros((1, 1), dtype=int)).distances(np.array([[1.0, 1.0], [1.0, 0.0], [0.0, 0.0]]))
        array([0.        , 0.29289322, 1.        ])
        """
        S = np.asarray(S, dtype=np.float64)
        if S.ndim != 2 or S.shape[0] < 1:
            raise InvalidParameterError(f"S: expected a 2-D array with at least one row, got {describe(S)}")
        squares = np.einsum("ij,ij->i", S, S)
        scale = np.sqrt(squares * squares[0])  # one square root keeps row 0 at distance exactly 0
        dots = S @ S[0]
        similarity = np.divide(dots, scale, out=np.zeros_like(dots), where=scale > 0)
        return np.clip(1.0 - similarity, 0.0, 2.0)

    def summary(self) -> dict[str, Any]:
        """A JSON-serialisable description of the settings.

        >>> ImageMasker(np.zeros((2, 2), dtype=int), fill="blur").summary()["fill"]
        'blur'
        """
        out: dict[str, Any] = {
            "kind": self.kind,
            "segmentation": self.segmentation,
            "segmentation_kwargs": {str(k): _jsonable(v) for k, v in self.segmentation_kwargs.items()},
            "fill": self.fill,
            "fill_value": self.fill_value,
            "blur_sigma": self.blur_sigma,
            "channels_last": self.channels_last,
        }
        if self.segment_map is not None:
            out["segment_map_shape"] = list(self.segment_map.shape)
        if self.segmentation_fn is not None:
            out["segmentation_fn"] = getattr(self.segmentation_fn, "__qualname__", type(self.segmentation_fn).__name__)
        return out

    def __repr__(self) -> str:
        return f"ImageMasker(segmentation={self.segmentation!r}, fill={self.fill!r})"


# ---------------------------------------------------------------------- helpers
def _render_numpy(item: ImageItem, S: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """:meth:`ImageMasker.render` in numpy, for dtypes the compiled loop does not copy (objects)."""
    keep = (S != 0)[:, item.segments]  # (m, H, W)
    if item.image.ndim == 3:
        keep = keep[:, None, :, :] if item.channels_first else keep[..., None]
    out = np.empty((S.shape[0], *item.image.shape), dtype=dtype)
    out[...] = item.fill
    np.copyto(out, item.image, where=keep)
    return out


def _algorithm(name: str) -> Callable[..., Any]:
    module = import_optional("skimage.segmentation", "image")
    return getattr(module, name)


def _check_segment_map(segmentation: Any) -> np.ndarray:
    if isinstance(segmentation, (str, bytes)) or segmentation is None:
        raise InvalidParameterError(
            f"segmentation: expected one of {', '.join(map(repr, ALGORITHMS))}, an integer segment map or a "
            f"callable, got {describe(segmentation)}"
        )
    try:
        arr = np.asarray(segmentation)
    except (TypeError, ValueError):
        arr = None
    if arr is None or arr.dtype.kind not in "iubf":
        raise InvalidParameterError(
            f"segmentation: expected one of {', '.join(map(repr, ALGORITHMS))}, an integer segment map or a "
            f"callable, got {describe(segmentation)}"
        )
    if arr.ndim not in (2, 3) or arr.size == 0:
        raise InvalidParameterError(
            f"segmentation: expected a segment map of shape (H, W), or (n, H, W) with one map per image, "
            f"got shape {arr.shape}"
        )
    if arr.dtype.kind == "f" and not (np.isfinite(arr).all() and (arr == np.round(arr)).all()):
        raise InvalidParameterError(f"segmentation: expected integer segment labels, got {describe(arr)}")
    arr = np.array(arr, dtype=np.int64, copy=True)
    arr.setflags(write=False)
    return arr


@functools.lru_cache(maxsize=32)
def _segment_names(n: int) -> tuple[str, ...]:
    """``("segment 0", ..., "segment n-1")``, made once per count."""
    return tuple(f"segment {j}" for j in range(n))


def _relabel(labels: np.ndarray) -> np.ndarray:
    """Labels ``0 .. d-1`` in increasing order of the given ones."""
    _, inverse = np.unique(labels, return_inverse=True)
    return inverse.reshape(labels.shape).astype(np.int64)


def _channels_last_view(image: np.ndarray, channels_first: bool) -> np.ndarray:
    if image.ndim == 2:
        return image[..., None]
    return np.moveaxis(image, 0, -1) if channels_first else image


def _segmentation_input(hwc: np.ndarray) -> np.ndarray:
    """The image as algorithms see it: float64, channels-last, three channels for grayscale."""
    if hwc.dtype in (np.uint8, np.uint16):
        image = hwc.astype(np.float64) / np.iinfo(hwc.dtype).max
    else:
        image = hwc.astype(np.float64)
    if image.shape[-1] == 1:
        image = np.repeat(image, 3, axis=-1)
    return np.ascontiguousarray(image)


def _cast_like(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Float values into ``dtype``: rounded and clipped for integers, thresholded for booleans."""
    if dtype.kind == "f":
        return values.astype(dtype)
    if dtype.kind == "b":
        return values >= 0.5
    info = np.iinfo(dtype)
    return np.clip(np.rint(values), info.min, info.max).astype(dtype)


def _to_dtype_scalar(value: float, dtype: np.dtype) -> Any:
    if dtype.kind == "f":
        return value
    if dtype.kind == "b":
        if value not in (0.0, 1.0):
            raise InvalidParameterError(f"fill_value: expected 0 or 1 for boolean images, got {describe(value)}")
        return bool(value)
    info = np.iinfo(dtype)
    rounded = float(np.rint(value))
    if not info.min <= rounded <= info.max:
        raise InvalidParameterError(
            f"fill_value: expected a value in [{info.min}, {info.max}] for images of dtype {dtype}, got {describe(value)}"
        )
    return rounded


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    return repr(value)
