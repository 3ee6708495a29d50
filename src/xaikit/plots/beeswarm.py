"""BeeswarmDisplay: every row's value of each feature as a dot, coloured by the feature's value."""

from __future__ import annotations

from typing import Any

import numpy as np

from xaikit._validation import check_choice, check_int
from xaikit.errors import InvalidParameterError
from xaikit.plots import _common as c
from xaikit.plots import style

__all__ = ["BeeswarmDisplay", "beeswarm_offsets", "normalise_feature_values"]


def beeswarm_offsets(values: Any, *, n_bins: int = 100, width: float = 0.4, max_spacing: float = 0.05) -> np.ndarray:
    """Vertical offsets that spread the dots of each feature's row (no Python loop over dots).

    The shared x range is cut into ``n_bins`` bins. Within a bin of a feature, the dots take the
    offsets 0, +s, -s, +2s, -2s, ... in the order of the rows, so no two dots of a bin share a
    place; ``s`` is per feature ``min(max_spacing, width / largest half-count of its bins)``, so the
    swarm stays within ``[-width, width]``. Deterministic: the same values give the same offsets.

    Parameters
    ----------
    values : array-like of float, shape (n,) or (n, d)
        One column per feature. Non-finite values get offset 0.
    n_bins : int
        Number of bins over the x range (shared by the columns).
    width : float
        Largest offset, in row units.
    max_spacing : float
        Largest step between two dots of a bin.

    Returns
    -------
    ndarray of float, the shape of ``values``

    Examples
    --------
    >>> beeswarm_offsets([0.0, 0.0, 0.0, 1.0], n_bins=2, max_spacing=0.1).tolist()
    [0.0, 0.1, -0.1, 0.0]
    """
    v = np.asarray(values, dtype=np.float64)
    one = v.ndim == 1
    if one:
        v = v[:, None]
    if v.ndim != 2:
        raise InvalidParameterError(f"values: expected an array of shape (n,) or (n, d), got shape {v.shape}")
    n_bins = check_int(n_bins, "n_bins", minimum=1)
    if not width > 0 or not max_spacing > 0:
        raise InvalidParameterError(f"width, max_spacing: expected positive numbers, got {width!r} and {max_spacing!r}")
    n, d = v.shape
    if v.size == 0:
        return np.zeros(v.shape if not one else (n,))
    finite = np.isfinite(v)
    lo = float(v[finite].min()) if finite.any() else 0.0
    hi = float(v[finite].max()) if finite.any() else 1.0
    span = hi - lo if hi > lo else 1.0
    bins = np.clip(((np.where(finite, v, lo) - lo) / span * n_bins).astype(np.int64), 0, n_bins - 1)
    groups = (np.arange(d, dtype=np.int64)[:, None] * n_bins + bins.T).ravel()  # feature-major
    order = np.argsort(groups, kind="stable")
    counts = np.bincount(groups, minlength=d * n_bins)
    starts = np.cumsum(counts) - counts
    rank = np.empty(n * d, dtype=np.int64)
    rank[order] = np.arange(n * d, dtype=np.int64) - starts[groups[order]]
    level = (rank + 1) // 2
    sign = np.where(rank % 2 == 1, 1.0, -1.0)
    half = np.maximum(counts.reshape(d, n_bins).max(axis=1) // 2, 1)
    spacing = np.minimum(max_spacing, width / half)
    offsets = (sign * level).reshape(d, n) * spacing[:, None] + 0.0  # no -0.0
    out = np.where(finite, offsets.T, 0.0)
    return out[:, 0] if one else out


def normalise_feature_values(data: np.ndarray | None, n: int) -> np.ndarray:
    """Feature values scaled to [0, 1] per column between its 5th and 95th percentiles (NaN stays NaN).

    >>> normalise_feature_values(np.array([[0.0], [5.0], [10.0]]), 3).ravel().round(2).tolist()
    [0.0, 0.5, 1.0]
    """
    if data is None:
        return np.full((n, 0), np.nan)
    arr = np.asarray(data, dtype=np.float64)
    out = np.full(arr.shape, np.nan)
    has = np.isfinite(arr).any(axis=0)
    if not has.any():
        return out
    cols = arr[:, has]
    lo, hi = np.nanpercentile(cols, [5, 95], axis=0)
    flat = hi <= lo
    lo = np.where(flat, np.nanmin(cols, axis=0), lo)
    hi = np.where(flat, np.nanmax(cols, axis=0), hi)
    span = np.where(hi > lo, hi - lo, 1.0)
    scaled = np.clip((cols - lo) / span, 0.0, 1.0)
    scaled = np.where((hi > lo)[None, :], scaled, 0.5)
    out[:, has] = np.where(np.isfinite(cols), scaled, np.nan)
    return out


class BeeswarmDisplay:
    """A row per feature (most important at the top), a dot per explained row at x = its value.

    Dots are coloured by the feature's value (low blue to high vermillion, normalised per feature
    between its 5th and 95th percentiles; grey where the value is NaN, not a number, or the result
    holds no data). The dots of a row are spread vertically by :func:`beeswarm_offsets`. Above
    ``density_threshold`` rows (or with ``mode="density"``) each feature is drawn as a density
    band instead: its height follows the number of rows in each x bin, its colour the mean
    feature value there; a million rows draw in about a second.

    When the result has standard errors, a hatched band around 0 shows each feature's mean
    standard error (values inside it are within one standard error of 0).

    Attributes
    ----------
    figure_, ax_ : matplotlib Figure and Axes
    mode_ : "dots" or "density"
    dots_ : list of Line2D, the dots, one line per colour level (``colour_levels`` levels and grey); empty in density mode
    image_ : the AxesImage of the density bands, or None
    uncertainty_ : BarContainer of the hatched bands, or None
    colorbar_ : the feature-value Colorbar, or None

    Examples
    --------
    >>> import numpy as np, xaikit as xk
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(50, 3))
    >>> exp = xk.Attribution(values=(X * [3.0, 1.0, 0.1])[:, :, None], base_values=np.zeros((50, 1)),
    ...                      data=X, feature_names=["a", "b", "c"], method="demo")
    >>> disp = xk.plots.BeeswarmDisplay.from_explanation(exp)
    >>> disp.feature_names, disp.mode_
    (['a', 'b', 'c'], 'dots')
    """

    def __init__(
        self,
        values: Any,
        feature_names: list[str],
        *,
        feature_values: Any = None,
        mean_std_err: Any = None,
        title: str | None = None,
        density_threshold: int = 50_000,
    ) -> None:
        self.values = np.asarray(values, dtype=np.float64)
        if self.values.ndim != 2 or self.values.shape[1] != len(feature_names):
            raise InvalidParameterError(
                f"values: expected shape (n_rows, {len(feature_names)}) (one column per name), got {self.values.shape}"
            )
        self.feature_names = list(feature_names)
        self.feature_values = None if feature_values is None else np.asarray(feature_values, dtype=np.float64)
        if self.feature_values is not None and self.feature_values.shape != self.values.shape:
            raise InvalidParameterError(f"feature_values: expected shape {self.values.shape}, got {self.feature_values.shape}")
        self.mean_std_err = None if mean_std_err is None else np.asarray(mean_std_err, dtype=np.float64)
        self.title = title
        self.density_threshold = check_int(density_threshold, "density_threshold", minimum=1)
        self.colour_levels = 64

    @classmethod
    def from_explanation(
        cls,
        exp: Any,
        *,
        target: int | str | None = None,
        max_display: int = 10,
        density_threshold: int = 50_000,
        mode: str = "auto",
        show_uncertainty: bool = True,
        ax: Any = None,
    ) -> BeeswarmDisplay:
        """Draw an Attribution (or an Interaction's per-feature sums).

        Parameters
        ----------
        exp : Attribution or Interaction
        target : int or str, optional
            The output; required when the result has several.
        max_display : int
            Number of feature rows; the last sums the features left out ("N other features").
        density_threshold : int
            Above this many rows, ``mode="auto"`` draws density bands instead of dots.
        mode : "auto", "dots" or "density"
        show_uncertainty : bool
            Draw the mean standard error bands when the result has standard errors.
        ax : matplotlib Axes, optional
        """
        attr = c.as_attribution(exp, "BeeswarmDisplay")
        j = c.resolve_target(attr, target)
        max_display = c.check_positive_int(max_display, "max_display")
        mode = check_choice(mode, "mode", ["auto", "dots", "density"])
        show_uncertainty = c.check_bool(show_uncertainty, "show_uncertainty")
        if attr.n_rows == 0:
            raise InvalidParameterError("exp: expected a result with rows to draw, got 0 rows")
        values = attr.values[:, :, j]
        top, rest = c.top_order(attr.mean_abs()[:, j], max_display)
        shown = values[:, top]
        names = [attr.feature_names[i] for i in top]
        data = c.numeric_data(attr)
        feats = None if data is None else normalise_feature_values(data[:, top], attr.n_rows)
        se = c.std_err_of(attr, j) if show_uncertainty else None
        mse = None if se is None else se[:, top].mean(axis=0)
        if len(rest):
            shown = np.concatenate([shown, values[:, rest].sum(axis=1, keepdims=True)], axis=1)
            names.append(f"{len(rest)} other features")
            if feats is not None:
                feats = np.concatenate([feats, np.full((attr.n_rows, 1), np.nan)], axis=1)
            if mse is not None and se is not None:
                mse = np.append(mse, se[:, rest].sum(axis=1).mean())
        disp = cls(
            shown, names, feature_values=feats, mean_std_err=mse, title=f"{attr.method}: {attr.output_names[j]}",
            density_threshold=density_threshold,
        )
        return disp.plot(ax=ax, mode=mode, show_uncertainty=show_uncertainty)

    def plot(self, ax: Any = None, *, mode: str = "auto", show_uncertainty: bool = True) -> BeeswarmDisplay:
        """Draw the dots or density bands (into ``ax`` when given) and return self."""
        mode = check_choice(mode, "mode", ["auto", "dots", "density"])
        n, k = self.values.shape
        if mode == "auto":
            mode = "density" if n > self.density_threshold else "dots"
        fig, axes = c.get_axes(ax, (7.0, 1.4 + 0.4 * max(k, 1)))
        cmap = c.feature_colormap()
        y_of = (k - 1 - np.arange(k)).astype(np.float64)  # the first feature at the top
        self.dots_: list[Any] = []
        self.image_ = None
        grey = np.array([*style.hex_to_rgb(style.NEUTRAL), 1.0])
        feats = self.feature_values if self.feature_values is not None else np.full((n, k), np.nan)
        if mode == "dots":
            offsets = beeswarm_offsets(self.values)
            ys = (y_of[None, :] + offsets).ravel()
            flat = feats.ravel()
            xs = self.values.ravel()
            size = float(np.clip(4.0 * (1000.0 / max(n, 1)) ** 0.25, 1.0, 4.0))
            # one Line2D per colour level: Agg stamps a cached marker, many times faster than a scatter's per-dot paths
            level = np.where(np.isnan(flat), self.colour_levels, np.rint(np.nan_to_num(flat) * (self.colour_levels - 1))).astype(np.int64)
            order = np.argsort(level, kind="stable")
            cuts = np.flatnonzero(np.diff(level[order])) + 1
            self.dots_ = []
            for idx in np.split(order, cuts):
                lv = int(level[idx[0]])
                colour = grey if lv == self.colour_levels else cmap(lv / (self.colour_levels - 1))
                (line,) = axes.plot(xs[idx], ys[idx], ls="none", marker="o", ms=size, mew=0, color=colour, rasterized=n * k > 20_000)
                self.dots_.append(line)
        else:
            self.image_ = self._density(axes, feats, cmap, grey)
        self.uncertainty_ = None
        if show_uncertainty and self.mean_std_err is not None:
            m = self.mean_std_err
            self.uncertainty_ = axes.barh(
                y_of, 2 * m, left=-m, height=0.9, fill=False, hatch="///", edgecolor=style.NEUTRAL, linewidth=0,
                label="within one mean std. error of 0",
            )
            axes.legend(loc="lower right", fontsize="small", frameon=False)
        axes.axvline(0.0, color=style.NEUTRAL, lw=0.8, zorder=0)
        axes.set_yticks(y_of)
        axes.set_yticklabels(self.feature_names)
        axes.set_ylim(-0.6, k - 0.4)
        axes.set_xlabel("attribution")
        for side in ("top", "right", "left"):
            axes.spines[side].set_visible(False)
        if self.title:
            axes.set_title(self.title + (f" ({n} rows, density)" if mode == "density" else ""))
        self.colorbar_ = None
        if self.feature_values is not None:
            from matplotlib.cm import ScalarMappable

            bar = fig.colorbar(ScalarMappable(cmap=cmap), ax=axes, ticks=[0, 1], aspect=40, pad=0.01)
            bar.set_ticklabels(["low", "high"])
            bar.set_label("feature value")
            bar.outline.set_visible(False)  # type: ignore[operator]
            self.colorbar_ = bar
        c.tidy(fig, axes, ax is None, colorbar=self.colorbar_ is not None)
        self.mode_ = mode
        self.figure_, self.ax_ = fig, axes
        return self

    def _density(self, axes: Any, feats: np.ndarray, cmap: Any, grey: np.ndarray, width: int = 400, height: int = 24) -> Any:
        """One band per feature: height by the count per x bin, colour by the mean feature value there."""
        n, k = self.values.shape
        v = self.values
        finite = np.isfinite(v)
        lo = float(v[finite].min()) if finite.any() else -1.0
        hi = float(v[finite].max()) if finite.any() else 1.0
        if hi <= lo:
            lo, hi = lo - 0.5, hi + 0.5
        bins = np.clip(((np.where(finite, v, lo) - lo) / (hi - lo) * width).astype(np.int64), 0, width - 1)
        cell = (np.arange(k)[None, :] * width + bins).ravel()
        counts = np.bincount(cell, weights=finite.ravel().astype(np.float64), minlength=k * width).reshape(k, width)
        known = np.isfinite(feats).ravel()
        sums = np.bincount(cell, weights=np.where(known, feats.ravel(), 0.0), minlength=k * width).reshape(k, width)
        n_known = np.bincount(cell, weights=known.astype(np.float64), minlength=k * width).reshape(k, width)
        peak = np.maximum(counts.max(axis=1, keepdims=True), 1.0)
        reach = 0.45 * np.sqrt(counts / peak)  # sqrt keeps thin tails visible
        reach = np.where(counts > 0, np.maximum(reach, 0.04), 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = sums / n_known
        colours = np.where((n_known > 0)[..., None], cmap(np.nan_to_num(mean)), grey)  # (k, width, 4)
        rows = (np.arange(height) + 0.5) / height - 0.5  # within a band, from its top
        filled = np.abs(rows)[None, :, None] <= reach[:, None, :]  # (k, height, width)
        img = np.where(filled[..., None], colours[:, None, :, :], 0.0)
        img = img.reshape(k * height, width, 4)
        return axes.imshow(img, extent=(lo, hi, -0.5, k - 0.5), origin="upper", aspect="auto", interpolation="nearest", zorder=1)
