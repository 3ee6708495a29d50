"""What every display shares: checking the result, the row and the output; the axes; the colour map."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from xaikit._validation import check_int, describe
from xaikit.errors import InvalidParameterError
from xaikit.plots import style

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.colors import Colormap
    from matplotlib.figure import Figure

    from xaikit.results import Attribution, Interaction, RaggedAttribution

__all__ = ["check_result", "as_attribution", "resolve_target", "resolve_row", "std_err_of", "get_axes", "feature_colormap"]


def _kind_names(kinds: tuple[str, ...]) -> str:
    return " or ".join(kinds)


def check_result(exp: Any, kinds: tuple[str, ...], display: str) -> None:
    """Refuse anything but the result kinds (class names) a display draws."""
    from xaikit.results import Result

    if not isinstance(exp, Result) or type(exp).__name__ not in kinds:
        given = type(exp).__name__ if isinstance(exp, Result) else describe(exp)
        raise InvalidParameterError(f"exp: expected an {_kind_names(kinds)} for {display}, got {given}")


def as_attribution(exp: Any, display: str) -> Attribution:
    """An Attribution from an Attribution or an Interaction (summed over its second feature axis)."""
    check_result(exp, ("Attribution", "Interaction"), display)
    if type(exp).__name__ == "Interaction":
        return exp.to_attribution()  # type: ignore[no-any-return]
    return exp  # type: ignore[no-any-return]


def resolve_target(exp: Attribution | RaggedAttribution | Interaction, target: int | str | None) -> int:
    """The position of the output to draw: required when the result has several outputs."""
    names = exp.output_names
    if target is None:
        if len(names) == 1:
            return 0
        listed = ", ".join(repr(n) for n in names[:10]) + (", ..." if len(names) > 10 else "")
        raise InvalidParameterError(
            f"target: expected the output to draw (an int or one of {listed}) since the result has {len(names)} outputs, got None"
        )
    if isinstance(target, bool) or not isinstance(target, (int, np.integer, str)):
        raise InvalidParameterError(f"target: expected an int or an output name, got {describe(target)}")
    if isinstance(target, str):
        if target not in names:
            listed = ", ".join(repr(n) for n in names[:10]) + (", ..." if len(names) > 10 else "")
            raise InvalidParameterError(f"target: expected an output name among {listed}, got {target!r}")
        return names.index(target)
    j = int(target)
    if not -len(names) <= j < len(names):
        raise InvalidParameterError(f"target: expected an int in [{-len(names)}, {len(names) - 1}] (the result has {len(names)} outputs), got {j}")
    return j % len(names)


def resolve_row(row: Any, n_rows: int, name: str = "row") -> int:
    """A row position in ``[-n_rows, n_rows)``, returned non-negative."""
    if n_rows == 0:
        raise InvalidParameterError(f"{name}: the result has no rows to draw, got {describe(row)}")
    r = check_int(row, name)
    if not -n_rows <= r < n_rows:
        raise InvalidParameterError(f"{name}: expected an int in [{-n_rows}, {n_rows - 1}] (the result has {n_rows} rows), got {r}")
    return r % n_rows


def std_err_of(exp: Any, j: int) -> np.ndarray | None:
    """The standard errors ``(n, d)`` of output ``j`` when the result holds them, else None."""
    se = exp._diagnostics.get("std_err")
    if isinstance(se, np.ndarray) and se.shape == exp.values.shape:
        return np.asarray(se[..., j], dtype=np.float64)
    return None


def check_positive_int(value: Any, name: str) -> int:
    return check_int(value, name, minimum=1)


def check_bool(value: Any, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise InvalidParameterError(f"{name}: expected True or False, got {describe(value)}")
    return bool(value)


def get_axes(ax: Any, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    """The given matplotlib axes and its figure, or a new figure with one axes."""
    import matplotlib.pyplot as plt
    from matplotlib.axes import Axes

    if ax is None:
        fig, new_ax = plt.subplots(figsize=figsize)
        return fig, new_ax
    if not isinstance(ax, Axes):
        raise InvalidParameterError(f"ax: expected a matplotlib Axes or None, got {describe(ax)}")
    return ax.figure, ax  # type: ignore[return-value]


def finish_rows(display: Any, fig: Figure, axes: Axes, created: bool, *, y: Any, labels: list[str], xlabel: str,
                title: str | None, zero: bool = True) -> None:
    """The end every display of one bar or line per row shares: the labels at ``y``, the x label, a line at
    zero (``zero``), no top and right spines, the title, the margins; then ``display.figure_`` and ``ax_``."""
    axes.set_yticks(y)
    axes.set_yticklabels(labels)
    axes.set_xlabel(xlabel)
    if zero:
        axes.axvline(0.0, color=style.NEUTRAL, lw=0.8)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    if title:
        axes.set_title(title)
    tidy(fig, axes, created)
    display.figure_, display.ax_ = fig, axes


def steps(axes: Axes, values: np.ndarray, start: float, end: float) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray]:
    """A waterfall's steps on ``axes``: one bar per value, the first at the top, chained from ``start`` at the
    bottom to ``end`` at the top, coloured by sign and labelled with its value; dashed and dotted lines at
    ``start`` and ``end``. Returns ``(bars, y, starts, ends)``."""
    from xaikit.plots import style

    k = len(values)
    y = np.arange(k)[::-1].astype(np.float64)  # the first step at the top
    ends = (start + np.cumsum(values[::-1]))[::-1]  # the chain starts at the bottom step
    starts = ends - values
    bars = axes.barh(y, values, left=starts, color=style.sign_colours(values), height=0.7)
    for yi, v, s, e in zip(y, values, starts, ends):
        axes.text(max(s, e), yi, f" {v:+.3g}", va="center", ha="left", fontsize="small")
    lo = float(min(starts.min(initial=start), ends.min(initial=start)))
    hi = float(max(starts.max(initial=start), ends.max(initial=start)))
    span = (hi - lo) or 1.0
    axes.set_xlim(lo - 0.05 * span, hi + 0.18 * span)  # room for the value labels
    axes.axvline(start, color=style.NEUTRAL, lw=0.8, ls="--")
    axes.axvline(end, color="#333333", lw=0.8, ls=":")
    return bars, y, starts, ends


def tidy(fig: Figure, axes: Axes, created: bool, *, colorbar: bool = False, rotated_x: bool = False) -> None:
    """Margins that fit the tick labels, for a figure the display created (a layout engine costs more than the drawing)."""
    if not created:
        return
    w, h = fig.get_size_inches()
    ylabels = axes.get_yticklabels()
    size = ylabels[0].get_fontsize() if ylabels else 10.0
    chars = max((len(t.get_text()) for t in ylabels), default=0)
    left = chars * 0.6 * float(size) / 72 + 0.3 + (0.3 if axes.get_ylabel() else 0.0)
    bottom = 0.55
    if rotated_x:
        xchars = max((len(t.get_text()) for t in axes.get_xticklabels()), default=0)
        bottom += xchars * 0.45 * float(size) / 72
    top = 0.45 if axes.get_title() else 0.15
    right = 0.75 if colorbar else 0.2
    fig.subplots_adjust(
        left=min(left / w, 0.6), right=max(1 - right / w, 0.65), bottom=min(bottom / h, 0.45), top=max(1 - top / h, 0.55)
    )


def diverging_colormap() -> Colormap:
    """The signed colour map of the style: NEGATIVE, white at 0, POSITIVE."""
    from matplotlib.colors import LinearSegmentedColormap

    return LinearSegmentedColormap.from_list("xaikit_diverging", [style.NEGATIVE, "#FFFFFF", style.POSITIVE])


def feature_colormap() -> Colormap:
    """Low to high feature values: Okabe-Ito blue, reddish purple, vermillion."""
    from matplotlib.colors import LinearSegmentedColormap

    return LinearSegmentedColormap.from_list("xaikit_feature", [style.NEGATIVE, "#CC79A7", style.POSITIVE])


def numeric_data(exp: Any) -> np.ndarray | None:
    """The result's data as float64 ``(n, d)`` (non-numbers as NaN), or None when it holds none."""
    data = getattr(exp, "data", None)
    if data is None:
        return None
    arr = np.asarray(data)
    if arr.dtype.kind in "biuf":
        return arr.astype(np.float64, copy=False)
    out = np.full(arr.shape, np.nan)
    for k in range(arr.shape[1]):
        try:
            out[:, k] = arr[:, k].astype(np.float64)
        except (TypeError, ValueError):
            continue
    return out


def format_value(v: Any) -> str:
    """A feature value for a label: numbers with 4 significant digits, others as text."""
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.4g}"
    return str(v)


def top_order(scores: np.ndarray, max_display: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the ``max_display`` largest scores (a last slot goes to "other" when more remain), and the rest."""
    order = np.argsort(-scores, kind="stable")
    if len(order) <= max_display:
        return order, order[:0]
    return order[: max_display - 1], order[max_display - 1 :]
