"""Effects: how the prediction moves with one feature or a pair (partial dependence, ICE, ALE).

One result holds several *terms*: a term is one feature (a 1-D effect) or a pair of features (a
2-D effect). Grids have different lengths, so the arrays are stored padded with NaN to the longest
grid ``g``; :meth:`Effects.term` gives one term with its arrays reshaped to its own grid, so users
never handle the padding.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from xaikit._validation import describe
from xaikit.errors import InvalidParameterError
from xaikit.results.attribution import OUTPUTS
from xaikit.results.base import Axis, Field, JsonField, Result

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Effects"]

TERMS = Axis("terms", names="term_names", prefix="term")
N_DECILES = 9
"""The deciles kept per feature of a term (10 %, 20 %, ..., 90 %), drawn as a rug."""
_MAX_HTML_TERMS = 20


def _is_names(value: Any) -> bool:
    return not isinstance(value, (str, bytes, Mapping)) and isinstance(value, Sequence) and all(isinstance(v, str) for v in value)


def _check_term_features(value: Any, store: Mapping[str, Any], lengths: Mapping[str, int]) -> tuple[tuple[str, ...], ...]:
    t = lengths["t"]
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence) or len(value) != t:
        raise InvalidParameterError(f"term_features: expected {t} lists of 1 or 2 feature names (one per term), got {describe(value)}")
    out = []
    for i, names in enumerate(value):
        if not _is_names(names) or len(names) not in (1, 2) or (len(names) == 2 and names[0] == names[1]):
            raise InvalidParameterError(f"term_features[{i}]: expected a list of 1 or 2 distinct feature names, got {describe(names)}")
        out.append(tuple(str(n) for n in names))
    return tuple(out)


def _check_grid_shape(value: Any, store: Mapping[str, Any], lengths: Mapping[str, int]) -> tuple[tuple[int, ...], ...]:
    terms = store["term_features"]
    g = int(store["average"].shape[1])
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence) or len(value) != len(terms):
        raise InvalidParameterError(f"grid_shape: expected {len(terms)} lists of grid sizes (one per term), got {describe(value)}")
    out = []
    for i, (shape, names) in enumerate(zip(value, terms)):
        ok = isinstance(shape, Sequence) and not isinstance(shape, (str, bytes)) and len(shape) == len(names)
        ok = ok and all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s >= 1 for s in shape)
        if not ok:
            raise InvalidParameterError(
                f"grid_shape[{i}]: expected {len(names)} positive int(s) (one grid size per feature of the term), got {describe(shape)}"
            )
        sizes = tuple(int(s) for s in shape)
        if math.prod(sizes) > g:
            raise InvalidParameterError(f"grid_shape[{i}]: the grid {list(sizes)} has more than the {g} grid points of the arrays")
        out.append(sizes)
    return tuple(out)


def _check_grid_labels(value: Any, store: Mapping[str, Any], lengths: Mapping[str, int]) -> tuple[Any, ...]:
    terms, shapes = store["term_features"], store["grid_shape"]
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence) or len(value) != len(terms):
        raise InvalidParameterError(f"grid_labels: expected {len(terms)} items (one per term, each null or a list per feature), got {describe(value)}")
    out: list[Any] = []
    for i, (labels, names, shape) in enumerate(zip(value, terms, shapes)):
        if labels is None:
            out.append(None)
            continue
        if isinstance(labels, (str, bytes, Mapping)) or not isinstance(labels, Sequence) or len(labels) != len(names):
            raise InvalidParameterError(
                f"grid_labels[{i}]: expected null or {len(names)} items (per feature: null or its category labels), got {describe(labels)}"
            )
        per: list[tuple[str, ...] | None] = []
        for k, (one, size) in enumerate(zip(labels, shape)):
            if one is None:
                per.append(None)
            elif not _is_names(one) or len(one) != size:
                raise InvalidParameterError(f"grid_labels[{i}][{k}]: expected null or {size} str labels (one per grid value), got {describe(one)}")
            else:
                per.append(tuple(one))
        out.append(tuple(per))
    return tuple(out)


def _check_feature_names(value: Any, store: Mapping[str, Any], lengths: Mapping[str, int]) -> tuple[str, ...]:
    if not _is_names(value):
        raise InvalidParameterError(f"feature_names: expected a list of str (the data's features), got {describe(value)}")
    return tuple(value)


class Effects(Result):
    """Effects of features on the prediction: partial dependence (with ICE curves) or accumulated local effects.

    Parameters
    ----------
    grid : array-like of shape (n_terms, g, 2)
        The grid points of each term, NaN-padded to the longest grid ``g``: column 0 holds the first
        feature's value, column 1 the second's (NaN for a 1-D term). A 2-D term's ``g1 x g2`` grid is
        flattened row-major (the first feature varies slowest). Categorical features hold category
        codes (0, 1, ...) whose labels are in ``grid_labels``.
    average : array-like of shape (n_terms, g, n_outputs)
        The effect (PD or ALE) at each grid point, NaN where padded.
    individual : array-like of shape (n_rows, n_terms, g, n_outputs), optional
        ICE curves: the effect for each row of the data.
    lower, upper : array-like of shape (n_terms, g, n_outputs), optional
        A band around ``average`` (e.g. ALE's bootstrap interval).
    deciles : array-like of shape (n_terms, 9, 2), optional
        The 10 %, ..., 90 % quantiles of each numeric feature of the term in the data (NaN for
        categorical features and second columns of 1-D terms): the displays' rug.
    term_features : list of list of str
        The 1 or 2 features of each term.
    grid_shape : list of list of int
        ``[g1]`` or ``[g1, g2]`` per term.
    grid_labels : list, optional
        Per term: None, or per feature of the term None or its category labels (one per grid value).
    feature_names : list of str, optional
        The features of the data.
    term_names, output_names : list of str, optional
        Default term names are the features joined by ``" x "`` (``"age x income"``).
    method, params, diagnostics, provenance, diagnostic_axes
        As for every result; ``params["centered"]`` says whether curves start at 0.

    Examples
    --------
    >>> import numpy as np
    >>> grid = np.full((2, 4, 2), np.nan)
    >>> grid[0, :3, 0] = [0.0, 1.0, 2.0]                       # "a": 3 points
    >>> grid[1, :, 0] = [0, 0, 1, 1]; grid[1, :, 1] = [5, 6, 5, 6]  # "a x b": 2 x 2 points
    >>> average = np.full((2, 4, 1), np.nan)
    >>> average[0, :3, 0] = [0.0, 1.0, 4.0]; average[1, :, 0] = [0.0, 0.0, 5.0, 6.0]
    >>> eff = Effects(grid=grid, average=average, term_features=[["a"], ["a", "b"]],
    ...               grid_shape=[[3], [2, 2]], method="demo")
    >>> eff
    Effects(method='demo', n_terms=2, n_outputs=1)
    >>> eff.term_names
    ['a', 'a x b']
    >>> t = eff.term("a x b")
    >>> t["average"][..., 0].tolist(), [v.tolist() for v in t["grid_values"]]
    ([[0.0, 0.0], [5.0, 6.0]], [[0.0, 1.0], [5.0, 6.0]])
    >>> eff["a"].term("a")["average"].ravel().tolist()
    [0.0, 1.0, 4.0]
    """

    kind = "effects"
    plot_kind = "effects"
    fields = (
        Field("average", "t.o", column="average", doc="Read-only float64 array (n_terms, g, n_outputs), NaN where padded."),
        Field("grid", "t..", column=None, doc="Read-only float64 array (n_terms, g, 2): each term's grid points, NaN where padded."),
        Field("individual", ".t.o", optional=True, column=None, doc="ICE curves (n_rows, n_terms, g, n_outputs), or None."),
        Field("lower", "t.o", optional=True, column="lower", doc="Lower band (n_terms, g, n_outputs), or None."),
        Field("upper", "t.o", optional=True, column="upper", doc="Upper band (n_terms, g, n_outputs), or None."),
        Field("deciles", "t..", optional=True, column=None, doc="Deciles of each term's numeric features (n_terms, 9, 2), or None."),
        JsonField("term_features", axis="t", check=_check_term_features, optional=False, doc="The features of each term."),
        JsonField("grid_shape", axis="t", check=_check_grid_shape, optional=False, doc="Each term's grid size(s)."),
        JsonField("grid_labels", axis="t", check=_check_grid_labels, doc="Per term: None or per feature None or category labels."),
        JsonField("feature_names", check=_check_feature_names, doc="The features of the data, or None."),
    )
    axes = {"t": TERMS, "o": OUTPUTS}

    average: np.ndarray
    grid: np.ndarray
    individual: np.ndarray | None
    lower: np.ndarray | None
    upper: np.ndarray | None
    deciles: np.ndarray | None
    term_names: list[str]
    output_names: list[str]
    n_terms: int
    n_outputs: int

    def _prepare(self, values: dict[str, Any]) -> dict[str, Any]:
        features = values.get("term_features")
        if values.get("term_names") is None and isinstance(features, Sequence) and not isinstance(features, (str, bytes)):
            if all(_is_names(f) for f in features):
                values["term_names"] = [" x ".join(f) for f in features]
        return values

    def _validate(self) -> None:
        store = self._store
        average, grid = store["average"], store["grid"]
        t, g, _ = average.shape
        if grid.shape[1:] != (g, 2):
            raise InvalidParameterError(f"grid: expected shape (n_terms, g, 2) = ({t}, {g}, 2) to match average, got {describe(grid)}")
        for name, shape in (
            ("individual", (g,)),
            ("lower", (g,)),
            ("upper", (g,)),
            ("deciles", (N_DECILES, 2)),
        ):
            arr = store[name]
            if arr is None:
                continue
            got = arr.shape[2:3] if name == "individual" else arr.shape[1:] if name == "deciles" else arr.shape[1:2]
            if got != shape:
                raise InvalidParameterError(f"{name}: expected {shape} along its grid dimensions to match average and grid, got {describe(arr)}")
        sizes = np.array([math.prod(s) for s in store["grid_shape"]], dtype=np.intp)
        real = np.arange(g)[None, :] < sizes[:, None]  # (t, g)
        two = np.array([len(f) == 2 for f in store["term_features"]], dtype=bool)
        if not np.isfinite(grid[..., 0][real]).all():
            raise InvalidParameterError("grid: expected finite values at each term's grid points (NaN only in the padding)")
        if not np.isfinite(grid[..., 1][real & two[:, None]]).all():
            raise InvalidParameterError("grid: expected finite second-feature values at the grid points of 2-D terms")
        for name in ("average", "lower", "upper", "individual"):
            arr = store[name]
            if arr is None:
                continue
            at = arr[:, real] if name == "individual" else arr[real]
            if not np.isfinite(at).all():
                raise InvalidParameterError(f"{name}: expected finite numbers at each term's grid points (NaN only in the padding)")

    # -- attributes --------------------------------------------------------------------

    @property
    def n_rows(self) -> int | None:
        """Number of ICE curves per term (rows of the data), or None without ``individual``."""
        individual = self._store["individual"]
        return None if individual is None else int(individual.shape[0])

    @property
    def centered(self) -> bool:
        """Whether the curves were shifted to start at 0 (``params["centered"]``)."""
        return bool(self._params.get("centered", False))

    @property
    def term_features(self) -> list[list[str]]:
        """The 1 or 2 features of each term (a copy)."""
        return [list(f) for f in self._store["term_features"]]

    @property
    def grid_shape(self) -> list[list[int]]:
        """``[g1]`` or ``[g1, g2]`` per term (a copy)."""
        return [list(s) for s in self._store["grid_shape"]]

    @property
    def grid_labels(self) -> list[list[list[str] | None] | None]:
        """Per term: None, or per feature None or its category labels (a copy)."""
        labels = self._store["grid_labels"]
        if labels is None:
            return [None] * self._lengths["t"]
        return [None if per is None else [None if one is None else list(one) for one in per] for per in labels]

    @property
    def feature_names(self) -> list[str] | None:
        """The features of the data (a copy), or None."""
        names = self._store["feature_names"]
        return None if names is None else list(names)

    def term(self, term: int | str) -> dict[str, Any]:
        """One term with its arrays reshaped to its own grid (no padding).

        Parameters
        ----------
        term : int or str
            The term, by position or name (``"age"``, ``"age x income"``).

        Returns
        -------
        dict
            ``name``; ``features`` (1 or 2 names); ``grid_shape``; ``grid_values`` (one 1-D array per
            feature: its grid values, category codes for a categorical feature); ``grid`` (the points,
            ``(*grid_shape, n_features_of_term)``); ``average`` ``(*grid_shape, n_outputs)``;
            ``individual`` ``(n_rows, *grid_shape, n_outputs)`` or None; ``lower``, ``upper`` as
            ``average`` or None; ``labels`` (per feature None or its category labels); ``deciles``
            (per feature an array of 9 quantiles, NaN when unknown) or None.

        Examples
        --------
        >>> import numpy as np
        >>> eff = Effects(grid=[[[0.0, np.nan], [1.0, np.nan]]], average=[[[2.0], [3.0]]],
        ...               term_features=[["a"]], grid_shape=[[2]], method="demo")
        >>> eff.term(0)["average"].tolist()
        [[2.0], [3.0]]
        >>> eff.term("b")
        Traceback (most recent call last):
        ...
        xaikit.errors.InvalidParameterError: term: unknown term name 'b'; available: 'a'
        """
        if isinstance(term, (list, tuple, slice, np.ndarray)) or isinstance(term, bool):
            raise InvalidParameterError(f"term: expected one term (an int or a name), got {describe(term)}")
        if isinstance(term, str) and term not in self._store["term_names"]:
            from xaikit.results import format as fmt

            raise InvalidParameterError(f"term: unknown term name {term!r}; available: {fmt._list_names(list(self._store['term_names']))}")
        if not isinstance(term, (str, int, np.integer)):
            raise InvalidParameterError(f"term: expected one term (an int or a name), got {describe(term)}")
        i = self._one_position(term, "t", "term")
        shape = tuple(self._store["grid_shape"][i])
        k, size = len(shape), math.prod(shape)
        grid = self._store["grid"][i, :size, :k].reshape(*shape, k)
        if k == 1:
            grid_values = [grid[:, 0]]
        else:
            grid_values = [grid[:, 0, 0], grid[0, :, 1]]

        def cut(arr: np.ndarray | None, lead: int = 0) -> np.ndarray | None:
            if arr is None:
                return None
            part = arr[:, i, :size] if lead else arr[i, :size]
            return part.reshape(*part.shape[:lead], *shape, part.shape[-1])  # type: ignore[no-any-return]

        deciles = self._store["deciles"]
        return {
            "name": self._store["term_names"][i],
            "features": list(self._store["term_features"][i]),
            "grid_shape": list(shape),
            "grid_values": grid_values,
            "grid": grid,
            "average": cut(self._store["average"]),
            "individual": cut(self._store["individual"], lead=1),
            "lower": cut(self._store["lower"]),
            "upper": cut(self._store["upper"]),
            "labels": self.grid_labels[i] or [None] * k,
            "deciles": None if deciles is None else [deciles[i, :, j] for j in range(k)],
        }

    # -- conversions -------------------------------------------------------------------

    def to_frame(self) -> pd.DataFrame:
        """A tidy table without the padding: one line per (term, grid point, output).

        Columns ``term``, ``output``, ``grid_1``, ``grid_2`` (NaN for 1-D terms), ``label_1``,
        ``label_2`` (category labels, else None), ``average``, ``lower``, ``upper`` (NaN when absent).

        >>> import numpy as np
        >>> eff = Effects(grid=[[[0.0, np.nan], [1.0, np.nan]]], average=[[[2.0], [3.0]]],
        ...               term_features=[["a"]], grid_shape=[[2]], method="demo")
        >>> eff.to_frame()[["term", "grid_1", "average"]].values.tolist()
        [['a', 0.0, 2.0], ['a', 1.0, 3.0]]
        """
        import pandas as pd

        columns: dict[str, list[Any]] = {k: [] for k in ("term", "output", "grid_1", "grid_2", "label_1", "label_2", "average", "lower", "upper")}
        outputs = self._store["output_names"]
        for i in range(self._lengths["t"]):
            part = self.term(i)
            k = len(part["features"])
            points = part["grid"].reshape(-1, k)
            labels = part["labels"]
            for name in ("average", "lower", "upper"):
                arr = part[name]
                flat = np.full((len(points), len(outputs)), np.nan) if arr is None else arr.reshape(len(points), -1)
                columns[name].extend(flat.reshape(-1).tolist())
            for p in range(len(points)):
                values = [float(points[p, j]) if j < k else math.nan for j in range(2)]
                texts = [
                    labels[j][int(points[p, j])] if j < k and labels[j] is not None and 0 <= int(points[p, j]) < len(labels[j]) else None
                    for j in range(2)
                ]
                for out in outputs:
                    columns["term"].append(part["name"])
                    columns["output"].append(out)
                    columns["grid_1"].append(values[0])
                    columns["grid_2"].append(values[1])
                    columns["label_1"].append(texts[0])
                    columns["label_2"].append(texts[1])
        return pd.DataFrame(columns)

    def _repr_fields(self) -> list[tuple[str, Any]]:
        fields = super()._repr_fields()
        if self._store["individual"] is not None:
            fields.append(("n_rows", self.n_rows))
        return fields

    def _repr_html_(self) -> str:
        """A small table of the terms (at most 20 shown): features, grid size, range of the effect."""
        head = f"<p><b>Effects</b> method={html.escape(repr(self._method))}, n_terms={self._lengths['t']}, n_outputs={self._lengths['o']}"
        if self._store["individual"] is not None:
            head += f", n_rows={self.n_rows}"
        head += "</p>"
        rows = []
        average = self._store["average"]
        for i in range(min(self._lengths["t"], _MAX_HTML_TERMS)):
            shape = self._store["grid_shape"][i]
            real = average[i, : math.prod(shape)]
            low, high = (float(np.min(real)), float(np.max(real))) if real.size else (math.nan, math.nan)
            rows.append(
                f"<tr><td>{html.escape(self._store['term_names'][i])}</td><td>{' x '.join(str(s) for s in shape)}</td>"
                f"<td>{low:.4g}</td><td>{high:.4g}</td></tr>"
            )
        more = self._lengths["t"] - _MAX_HTML_TERMS
        tail = f"<p>... and {more} more terms</p>" if more > 0 else ""
        table = (
            "<table><thead><tr><th>term</th><th>grid</th><th>min effect</th><th>max effect</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>"
        )
        return f'<div class="xaikit-effects">{head}{table}{tail}</div>'
