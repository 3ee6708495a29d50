"""ImageDisplay: a heat map of attributions over the image, one axes per method."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from xaikit._validation import check_float, describe
from xaikit.errors import InvalidParameterError
from xaikit.plots import _common as c
from xaikit.plots import style

__all__ = ["ImageDisplay", "pixel_heat"]


def _channels_last(arr: np.ndarray) -> np.ndarray:
    """(C, H, W) or (H, W, C) or (H, W) as (H, W) or (H, W, C)."""
    if arr.ndim == 2:
        return arr
    if arr.ndim == 3:
        if arr.shape[-1] in (1, 3, 4):
            return arr
        if arr.shape[0] in (1, 3, 4):
            return np.moveaxis(arr, 0, -1)
    raise InvalidParameterError(f"input_shape: expected an image shape (H, W), (C, H, W) or (H, W, C), got {arr.shape}")


def pixel_heat(exp: Any, row: int, j: int) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """Per-pixel heat (H, W), the segments (H, W) or None, the image the result holds or None,
    and a per-pixel mask of values within two standard errors of 0 (or None).

    Ragged results spread each segment's value over its pixels; pixel attributions (an Attribution
    with ``input_shape``) are summed over the channel axis.

    >>> import numpy as np, xaikit as xk
    >>> exp = xk.RaggedAttribution(values=[[[1.0], [-2.0]]], base_values=[[0.0]], row_feature_names=[["s0", "s1"]],
    ...                            segments=[[[0, 1], [1, 1]]], method="demo")
    >>> pixel_heat(exp, 0, 0)[0].tolist()
    [[1.0, -2.0], [-2.0, -2.0]]
    """
    se = c.std_err_of(exp, j)
    if type(exp).__name__ == "RaggedAttribution":
        if exp.segments is None:
            raise InvalidParameterError("exp: expected a RaggedAttribution of images (with segments) for ImageDisplay, got one without segments")
        seg = np.asarray(exp.segments[row], dtype=np.int64)
        length = int(exp.lengths[row])
        vals = np.append(np.asarray(exp.values[row, :length, j], dtype=np.float64), 0.0)
        idx = np.where((seg >= 0) & (seg < length), seg, length)
        heat = vals[idx]
        unsure = None
        if se is not None:
            s = np.append(se[row, :length], np.inf)
            unsure = np.abs(heat) < 2 * s[idx]
        return heat, seg, None, unsure
    shape = exp.input_shape
    if shape is None:
        raise InvalidParameterError(
            "exp: expected an Attribution of an image (with input_shape) or a RaggedAttribution with segments for ImageDisplay, "
            "got an Attribution without input_shape"
        )
    per_pixel = _channels_last(np.asarray(exp.values[row, :, j], dtype=np.float64).reshape(shape))
    heat = per_pixel if per_pixel.ndim == 2 else per_pixel.sum(axis=-1)
    unsure = None
    if se is not None:
        s = _channels_last(se[row].reshape(shape))
        s = s if s.ndim == 2 else s.sum(axis=-1)
        unsure = np.abs(heat) < 2 * s
    image = None
    data = c.numeric_data(exp)
    if data is not None and np.isfinite(data[row]).all():
        img = _channels_last(data[row].reshape(shape))
        lo, hi = float(img.min()), float(img.max())
        image = (img - lo) / (hi - lo) if hi > lo else np.zeros_like(img)
        if image.ndim == 3 and image.shape[-1] == 1:
            image = image[..., 0]
    return heat, None, image, unsure


class ImageDisplay:
    """Attributions of an image as a signed heat map blended over the image.

    Works for a RaggedAttribution of images (each segment's value over its pixels; ``outlines=True``
    draws the segment boundaries, e.g. LIME's superpixels) and for an Attribution with
    ``input_shape`` (pixel attributions such as Integrated Gradients, summed over channels). The
    image is ``image=`` when given, else the explained input the result holds, else a grey field.
    With standard errors, pixels within two standard errors of 0 are hatched.

    Attributes
    ----------
    figure_ : matplotlib Figure
    ax_ : the first Axes; axes_ : list of Axes, one per result
    images_ : list of AxesImage
    heats : list of ndarray (H, W)

    Examples
    --------
    >>> import numpy as np, xaikit as xk
    >>> exp = xk.Attribution(values=np.arange(4.0).reshape(1, 4, 1) - 1.5, base_values=[[0.0]], input_shape=(1, 2, 2),
    ...                      method="saliency")
    >>> disp = xk.plots.ImageDisplay.from_explanation(exp)
    >>> disp.heats[0].tolist(), disp.axes_[0].get_title()
    ([[-1.5, -0.5], [0.5, 1.5]], 'saliency')
    """

    def __init__(
        self,
        heats: Sequence[Any],
        images: Sequence[Any],
        titles: Sequence[str],
        *,
        segments: Sequence[Any] | None = None,
        uncertain: Sequence[Any] | None = None,
        alpha: float = 0.5,
    ) -> None:
        self.heats = [np.asarray(h, dtype=np.float64) for h in heats]
        self.images = list(images)
        self.titles = list(titles)
        self.segments = list(segments) if segments is not None else [None] * len(self.heats)
        self.uncertain = list(uncertain) if uncertain is not None else [None] * len(self.heats)
        if not (len(self.heats) == len(self.images) == len(self.titles) == len(self.segments) == len(self.uncertain)):
            raise InvalidParameterError("images, titles: expected one per heat map")
        self.alpha = check_float(alpha, "alpha", minimum=0.0, maximum=1.0)

    @classmethod
    def from_explanation(
        cls,
        exp: Any,
        *,
        row: int | None = None,
        target: int | str | None = None,
        image: Any = None,
        alpha: float = 0.5,
        outlines: bool = False,
        show_uncertainty: bool = True,
        ax: Any = None,
    ) -> ImageDisplay:
        """Draw one row of one result; see :meth:`from_explanations`."""
        return cls.from_explanations(
            [exp], row=row, target=target, image=image, alpha=alpha, outlines=outlines, show_uncertainty=show_uncertainty,
            ax=None if ax is None else [ax],
        )

    @classmethod
    def from_explanations(
        cls,
        exps: Sequence[Any],
        *,
        row: int | None = None,
        target: int | str | None = None,
        image: Any = None,
        alpha: float = 0.5,
        outlines: bool = False,
        show_uncertainty: bool = True,
        ax: Any = None,
    ) -> ImageDisplay:
        """Draw the same row of several results side by side, one axes per result, titled with its method.

        Parameters
        ----------
        exps : list of RaggedAttribution (images) or Attribution (with input_shape)
        row : int, optional
            Required when a result has several rows.
        target : int or str, optional
            Required when a result has several outputs.
        image : array-like (H, W), (H, W, 3) or (H, W, 4), optional
            The picture under the heat map (uint8 or floats in [0, 1]).
        alpha : float in [0, 1]
            Opacity of the strongest heat.
        outlines : bool
            Draw segment boundaries (results with segments only).
        show_uncertainty : bool
        ax : list of matplotlib Axes, optional
            One per result.
        """
        if not isinstance(exps, (list, tuple)) or not exps:
            raise InvalidParameterError(f"exps: expected a non-empty list of results, got {describe(exps)}")
        outlines = c.check_bool(outlines, "outlines")
        show_uncertainty = c.check_bool(show_uncertainty, "show_uncertainty")
        heats, images, titles, segs, unsure = [], [], [], [], []
        for exp in exps:
            c.check_result(exp, ("Attribution", "RaggedAttribution"), "ImageDisplay")
            if row is None and exp.n_rows != 1:
                raise InvalidParameterError(f"row: expected the row to draw (an int) since the result has {exp.n_rows} rows, got None")
            r = c.resolve_row(0 if row is None else row, exp.n_rows)
            j = c.resolve_target(exp, target)
            heat, seg, held, uns = pixel_heat(exp, r, j)
            if outlines and seg is None:
                raise InvalidParameterError(f"outlines: expected results with segments (e.g. LIME on images), got {exp.method!r} without segments")
            picture = image if image is not None else held
            if picture is not None:
                shape = np.shape(picture)
                if tuple(shape[:2]) != heat.shape:
                    raise InvalidParameterError(f"image: expected height and width {heat.shape} (the attributions'), got shape {shape}")
            heats.append(heat)
            images.append(picture)
            titles.append(exp.method)
            segs.append(seg if outlines else None)
            unsure.append(uns if show_uncertainty else None)
        if ax is not None:
            axes_list = list(ax) if isinstance(ax, (list, tuple, np.ndarray)) else [ax]
            if len(axes_list) != len(exps):
                raise InvalidParameterError(f"ax: expected {len(exps)} Axes (one per result), got {len(axes_list)}")
        disp = cls(heats, images, titles, segments=segs, uncertain=unsure, alpha=alpha)
        return disp.plot(ax=ax)

    def plot(self, ax: Any = None) -> ImageDisplay:
        """Draw each heat map over its image (into the given Axes, one per result) and return self."""
        import matplotlib.pyplot as plt
        from matplotlib.axes import Axes

        k = len(self.heats)
        if ax is None:
            fig, grid = plt.subplots(1, k, figsize=(3.2 * k, 3.4), squeeze=False, layout="constrained")
            axes_list = list(grid[0])
        else:
            axes_list = list(ax) if isinstance(ax, (list, tuple, np.ndarray)) else [ax]
            if len(axes_list) != k or not all(isinstance(a, Axes) for a in axes_list):
                raise InvalidParameterError(f"ax: expected {k} matplotlib Axes (one per result), got {describe(ax)}")
            fig = axes_list[0].figure
        self.images_ = []
        for a, heat, picture, title, seg, uns in zip(axes_list, self.heats, self.images, self.titles, self.segments, self.uncertain):
            base = picture if picture is not None else np.full(heat.shape, 0.85)
            rgb = style.overlay(base, heat, alpha=self.alpha)  # each method on its own scale
            if seg is not None:
                rgb[style.segment_outlines(seg)] = (255, 221, 0)
            self.images_.append(a.imshow(rgb, interpolation="nearest"))
            if uns is not None and uns.any():
                import matplotlib as mpl

                with mpl.rc_context({"hatch.color": "#333333", "hatch.linewidth": 0.4}):
                    a.contourf(np.arange(heat.shape[1]), np.arange(heat.shape[0]), uns.astype(np.float64), levels=[0.5, 1.5],
                               hatches=["////"], colors="none")
            a.set_title(title)
            a.set_xticks([])
            a.set_yticks([])
        self.figure_, self.axes_, self.ax_ = fig, axes_list, axes_list[0]
        return self
