"""The rows a quality metric perturbs: tables, documents and images, one attribution per feature.

:func:`explained_rows` reads an explanation (an :class:`~xaikit.results.Attribution`, a
:class:`~xaikit.results.RaggedAttribution` or an array ``(n, d)``) with the inputs it explains and
returns :class:`Rows`: for each row its features' attributions for the output explained, the model
column of that output, and how to build model inputs in which some features are removed. Every
metric of :mod:`xaikit.metrics.faithfulness` perturbs through it, and sends all perturbed inputs of
all rows to the model at once (:func:`predict_all`).

What a removed feature becomes (``baseline``):

- tables: a number, ``"mean"`` (the mean of ``data``), or an array ``(d,)`` or ``(n, d)``; default
  the mean of ``data`` when it is given, else 0;
- documents: ``None`` (default) removes the feature's words, a str replaces each of them;
- images (the segments of a RaggedAttribution, or square patches of ``patch_size`` pixels of an
  attribution per pixel): ``"blur"`` (default: a Gaussian blur of the image), ``"mean"`` (the mean
  colour of the segment) or a number.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from xaikit._validation import check_array, check_int, describe
from xaikit.errors import InvalidParameterError

__all__ = ["Rows", "explained_rows", "predict_all"]

Render = Callable[[int, np.ndarray], Any]


@dataclass
class Rows:
    """Explained rows ready to perturb.

    Attributes
    ----------
    kind : {"table", "text", "image"}
    attributions : list of ndarray
        Row ``i``'s attributions ``(d_i,)`` for the output explained.
    columns : ndarray of int (n,)
        The model output each row's attribution explains.
    full : ndarray (n,)
        The model's output at each row (that column).
    render : callable
        ``render(i, keep)``: model inputs of row ``i`` with the features where ``keep`` (bool ``(k, d_i)``) is
        False removed.
    concat : callable
        Joins the model inputs of several renders into one batch.
    inputs : Any
        The rows as the model takes them (tables: float64 ``(n, d)``).
    settings : dict
        What a removed feature becomes, for ``params``.
    """

    kind: str
    attributions: list[np.ndarray]
    columns: np.ndarray
    full: np.ndarray
    render: Render
    concat: Callable[[list[Any]], Any]
    inputs: Any
    settings: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def n(self) -> int:
        """Number of rows."""
        return len(self.attributions)


def predict_all(model: Any, batch: Any, columns: np.ndarray, batch_size: int | None, counter: list[int]) -> np.ndarray:
    """The model's output at ``columns[k]`` for each input ``k`` of ``batch``, in calls of at most ``batch_size``
    inputs (one call when None); ``counter[0]`` counts the calls."""
    n = len(batch)
    if n == 0:
        return np.zeros(0)
    step = n if batch_size is None else batch_size
    parts = []
    for start in range(0, n, step):
        chunk = batch[start:start + step]
        parts.append(np.asarray(model.predict(chunk), dtype=np.float64))
        counter[0] += 1
    out = np.concatenate(parts, axis=0)
    return out[np.arange(n), columns]


def check_batch_size(batch_size: Any) -> int | None:
    """``None`` or an int >= 1."""
    return None if batch_size is None else check_int(batch_size, "batch_size", minimum=1)


# ----------------------------------------------------------------------------- explanations


def _values_of(explanation: Any) -> tuple[str, np.ndarray, np.ndarray, list[str] | None]:
    """``(type, values (n, d, o), lengths (n,), output names or None)``."""
    from xaikit.results.attribution import Attribution
    from xaikit.results.ragged import RaggedAttribution

    if isinstance(explanation, RaggedAttribution):
        return "ragged", np.asarray(explanation.values), np.asarray(explanation.lengths, dtype=np.intp), list(explanation.output_names)
    if isinstance(explanation, Attribution):
        values = np.asarray(explanation.values)
        return "attribution", values, np.full(values.shape[0], values.shape[1], dtype=np.intp), list(explanation.output_names)
    from xaikit.results.base import Result

    if isinstance(explanation, Result):
        raise InvalidParameterError(
            f"explanation: expected an Attribution, a RaggedAttribution or an array (n, d) of attributions, got a "
            f"{type(explanation).__name__} result"
        )
    arr = check_array(explanation, "explanation", ndim=2)
    return "array", arr[:, :, None], np.full(arr.shape[0], arr.shape[1], dtype=np.intp), None


def _columns(target: Any, kind: str, out_names: list[str] | None, model_names: list[str], full: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(explanation output, model column)`` of each row (``target`` as in
    :func:`xaikit.metrics._outputs.row_outputs`; for an array of attributions it picks the model's output)."""
    from xaikit.metrics._outputs import row_outputs

    n, m = full.shape
    if out_names is None:  # an array: one attribution per feature, target picks the model's output
        return np.zeros(n, dtype=np.intp), row_outputs(target, model_names, n, full, who="the model")[0]
    o = len(out_names)
    if all(name in model_names for name in out_names):
        mapping = np.array([model_names.index(name) for name in out_names], dtype=np.intp)
    elif o == m:
        mapping = np.arange(o, dtype=np.intp)
    else:
        raise InvalidParameterError(
            f"explanation: its outputs {out_names} cannot be matched to the model's {m} outputs {model_names} "
            "(by name or by position); explain the same model"
        )
    outs, _ = row_outputs(target, out_names, n, full[:, mapping])
    return outs, mapping[outs]


def explained_rows(
    model: Any,
    X: Any,
    explanation: Any,
    *,
    target: Any,
    baseline: Any,
    data: Any,
    patch_size: int,
    counter: list[int],
    allow: Sequence[str] = ("table", "text", "image"),
    metric: str = "",
) -> Rows:
    """Read ``explanation`` of ``X`` (see the module notes) and predict ``X`` once."""
    typ, values, lengths, out_names = _values_of(explanation)
    texts = getattr(explanation, "texts", None) if typ == "ragged" else None
    segments = getattr(explanation, "segments", None) if typ == "ragged" else None
    input_shape = getattr(explanation, "input_shape", None) if typ == "attribution" else None
    if typ == "ragged" and texts is None and segments is None:
        raise InvalidParameterError(
            "explanation: a RaggedAttribution of documents (with texts) or of images (with segments) was expected, got one with neither"
        )
    kind = "text" if texts is not None else "image" if (segments is not None or input_shape is not None and len(input_shape) >= 2) else "table"
    if kind not in allow:
        raise InvalidParameterError(
            f"explanation: {metric} applies to {' and '.join(a + 's' for a in allow)}, got an explanation of {kind}s"
        )
    if kind == "text":
        return _text_rows(model, X, explanation, values, lengths, out_names, target, baseline, counter)
    if kind == "image":
        return _image_rows(model, X, values, lengths, out_names, target, baseline, segments, input_shape, patch_size, counter)
    return _table_rows(model, X, values, out_names, target, baseline, data, counter)


def _finish(kind: str, model: Any, inputs: Any, values: np.ndarray, lengths: np.ndarray, out_names: list[str] | None,
            target: Any, counter: list[int]) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    from xaikit.explainers.base import output_names

    full_all = np.asarray(model.predict(inputs), dtype=np.float64)
    counter[0] += 1
    if full_all.ndim != 2 or full_all.shape[0] != values.shape[0]:
        raise InvalidParameterError(f"X: expected {values.shape[0]} rows (one per explained row), got {describe(full_all)} predictions")
    names = output_names(model.output_names, full_all.shape[1])
    outs, cols = _columns(target, kind, out_names, names, full_all)
    attributions = [np.ascontiguousarray(values[i, : lengths[i], outs[i]], dtype=np.float64) for i in range(values.shape[0])]
    return attributions, cols, full_all[np.arange(values.shape[0]), cols]


def _table_rows(model: Any, X: Any, values: np.ndarray, out_names: list[str] | None, target: Any, baseline: Any, data: Any,
                counter: list[int]) -> Rows:
    n, d, _ = values.shape
    x = check_array(X, "X", ndim=2)
    if x.shape != (n, d):
        raise InvalidParameterError(f"X: expected the {n} explained rows of {d} features, shape ({n}, {d}), got {describe(x)}")
    ref = table_baseline(baseline, data, n, d)
    attributions, cols, full = _finish("table", model, x, values, np.full(n, d), out_names, target, counter)

    def render(i: int, keep: np.ndarray) -> np.ndarray:
        return np.where(keep, x[i], ref[i])

    return Rows("table", attributions, cols, full, render, lambda parts: np.concatenate(parts, axis=0), x,
                {"baseline": baseline if isinstance(baseline, (str, numbers.Real)) or baseline is None else "array"},
                {"reference": ref})


def table_baseline(baseline: Any, data: Any, n: int, d: int) -> np.ndarray:
    """The value each removed feature of each row takes, ``(n, d)``."""
    if baseline is None:
        baseline = "mean" if data is not None else 0.0
    if isinstance(baseline, str):
        if baseline != "mean":
            raise InvalidParameterError(f"baseline: expected a number, 'mean' or an array of {d} values, got {baseline!r}")
        if data is None:
            raise InvalidParameterError("data: expected rows of the data (n, d) to take the mean of (baseline='mean'), got None")
        ref = check_array(data, "data", ndim=2, n_features=d).mean(axis=0)
        return np.broadcast_to(ref, (n, d))
    if isinstance(baseline, numbers.Real) and not isinstance(baseline, bool):
        if not math.isfinite(float(baseline)):
            raise InvalidParameterError(f"baseline: expected a finite number, got {baseline!r}")
        return np.full((n, d), float(baseline))
    arr = check_array(baseline, "baseline", ndim=(1, 2), min_rows=1, n_features=d)
    if arr.ndim == 2 and arr.shape[0] != n:
        raise InvalidParameterError(f"baseline: expected an array ({d},) or ({n}, {d}), got {describe(arr)}")
    return np.broadcast_to(arr, (n, d))


def _text_rows(model: Any, X: Any, explanation: Any, values: np.ndarray, lengths: np.ndarray, out_names: list[str] | None,
               target: Any, baseline: Any, counter: list[int]) -> Rows:
    texts = list(explanation.texts)
    if X is not None:
        docs = [X] if isinstance(X, str) else list(X) if isinstance(X, Sequence) or hasattr(X, "__iter__") else None
        if docs != texts:
            raise InvalidParameterError(
                f"X: expected the {len(texts)} documents the explanation explains (or None), got {describe(X)}"
            )
    if baseline is not None and not isinstance(baseline, str):
        raise InvalidParameterError(f"baseline: for documents expected None (remove the words) or a mask token str, got {describe(baseline)}")
    spans = explanation.spans
    if spans is None:
        raise InvalidParameterError("explanation: a RaggedAttribution of documents without spans cannot be perturbed")
    attributions, cols, full = _finish("text", model, texts, values, lengths, out_names, target, counter)
    replacement = "" if baseline is None else baseline

    def render(i: int, keep: np.ndarray) -> list[str]:
        text = texts[i]
        cuts = sorted((s, e, j) for j, feature in enumerate(spans[i]) for s, e in feature)
        docs = []
        for row in keep:
            pieces, pos = [], 0
            for s, e, j in cuts:
                if not row[j]:
                    pieces.append(text[pos:s])
                    pieces.append(replacement)
                    pos = e
            pieces.append(text[pos:])
            docs.append("".join(pieces))
        return docs

    return Rows("text", attributions, cols, full, render, lambda parts: [doc for part in parts for doc in part], texts,
                {"baseline": "remove" if baseline is None else baseline})


def patch_map(height: int, width: int, patch_size: int) -> np.ndarray:
    """Square patches of ``patch_size`` pixels, numbered row by row.

    >>> patch_map(3, 4, 2).tolist()
    [[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 3, 3]]
    """
    rows = np.arange(height) // patch_size
    cols = np.arange(width) // patch_size
    return (rows[:, None] * (-(-width // patch_size)) + cols[None, :]).astype(np.int64)


def _image_rows(model: Any, X: Any, values: np.ndarray, lengths: np.ndarray, out_names: list[str] | None, target: Any,
                baseline: Any, segments: np.ndarray | None, input_shape: tuple[int, ...] | None, patch_size: int,
                counter: list[int]) -> Rows:
    from xaikit.maskers.image import ImageMasker

    n = values.shape[0]
    images = check_array(X, "X", ndim=(3, 4), dtype=None)
    if images.shape[0] != n:
        raise InvalidParameterError(f"X: expected the {n} explained images, got {describe(images)}")
    one = images.shape[1:]
    if segments is not None:
        hw = tuple(segments.shape[1:])
        if one[:2] == hw:
            channels_last: bool | None = True if len(one) == 3 else None
        elif len(one) == 3 and one[1:] == hw:
            channels_last = False
        else:
            raise InvalidParameterError(f"X: expected images of height and width {hw} (the explanation's segments), got {describe(images)}")
        seg = np.asarray(segments, dtype=np.int64)
        attributions_full = values
        row_lengths = lengths
    else:
        shape = tuple(input_shape or ())
        if one != shape:
            raise InvalidParameterError(f"X: expected images of shape {shape} (the explanation's input_shape), got {describe(images)}")
        if len(shape) == 2:
            channels_last, hw = None, shape
        elif shape[-1] in (1, 3, 4):
            channels_last, hw = True, shape[:2]
        else:
            channels_last, hw = False, shape[1:]
        p = check_int(patch_size, "patch_size", minimum=1)
        pm = patch_map(int(hw[0]), int(hw[1]), p)
        n_patches = int(pm.max()) + 1
        per_pixel = values.reshape(n, *shape, values.shape[2])
        if channels_last is True:
            per_pixel = per_pixel.sum(axis=3)
        elif channels_last is False:
            per_pixel = per_pixel.sum(axis=1)
        flat = per_pixel.reshape(n, -1, values.shape[2])
        attributions_full = np.stack([np.stack([np.bincount(pm.ravel(), weights=flat[i, :, j], minlength=n_patches)
                                                for j in range(values.shape[2])], axis=1) for i in range(n)])
        seg = np.broadcast_to(pm, (n, *pm.shape)).copy()
        row_lengths = np.full(n, n_patches, dtype=np.intp)
    if baseline is None:
        baseline = "blur"
    if isinstance(baseline, str):
        if baseline not in ("blur", "mean"):
            raise InvalidParameterError(f"baseline: for images expected 'blur', 'mean' or a number, got {baseline!r}")
        masker = ImageMasker(seg, fill=baseline, channels_last=channels_last)
    elif isinstance(baseline, numbers.Real) and not isinstance(baseline, bool) and math.isfinite(float(baseline)):
        masker = ImageMasker(seg, fill="constant", fill_value=float(baseline), channels_last=channels_last)
    else:
        raise InvalidParameterError(f"baseline: for images expected 'blur', 'mean' or a finite number, got {describe(baseline)}")
    items = masker.prepare(list(images))
    for i, item in enumerate(items):
        if item.n_features != row_lengths[i]:
            raise InvalidParameterError(
                f"explanation: row {i} has {row_lengths[i]} segments but its segment map numbers {item.n_features}"
            )
    attributions, cols, full = _finish("image", model, images, attributions_full, row_lengths, out_names, target, counter)

    def render(i: int, keep: np.ndarray) -> np.ndarray:
        return masker.render(items[i], keep)

    return Rows("image", attributions, cols, full, render, lambda parts: np.concatenate(parts, axis=0), images,
                {"baseline": baseline if isinstance(baseline, str) else float(baseline),
                 **({} if segments is not None else {"patch_size": int(patch_size)})},
                {"segments": seg, "channels_last": channels_last, "images": images})


# ----------------------------------------------------------------------------- ROAD's imputation


def imputer(rows: Rows, data: Any, noise: float, rngs: list[np.random.Generator]) -> Render:
    """``render(i, keep)`` with the removed features imputed from the kept ones (ROAD): the conditional
    Gaussian mean of ``data`` for tables, noisy linear imputation from the neighbouring pixels for images."""
    if rows.kind == "image":
        return _image_imputer(rows, noise, rngs)
    x = np.asarray(rows.inputs, dtype=np.float64)
    d = x.shape[1]
    if data is None:
        raise InvalidParameterError("data: expected rows of the data (m, d) for ROAD's conditional imputation of tables, got None")
    table = check_array(data, "data", ndim=2, min_rows=2, n_features=d)
    mu = table.mean(axis=0)
    cov = np.cov(table, rowvar=False).reshape(d, d)
    sd = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    ridge = 1e-10 * max(float(np.trace(cov)) / d, 1e-300)

    def render(i: int, keep: np.ndarray) -> np.ndarray:
        out = np.repeat(x[i][None, :], len(keep), axis=0)
        for k, kept in enumerate(keep):
            gone = ~kept
            if not gone.any():
                continue
            if kept.any():
                ckk = cov[np.ix_(kept, kept)] + ridge * np.eye(int(kept.sum()))
                coef = np.linalg.solve(ckk, x[i, kept] - mu[kept])
                out[k, gone] = mu[gone] + cov[np.ix_(gone, kept)] @ coef
            else:
                out[k, gone] = mu[gone]
        if noise > 0:
            gone_all = ~keep
            out[gone_all] += (rngs[i].normal(size=keep.shape) * noise * sd)[gone_all]
        return out

    return render


def _neighbour_weights(height: int, width: int) -> Any:
    """Sparse ``(HW, HW)`` weights of each pixel's neighbours: 1/6 direct, 1/12 diagonal, rows summing to 1."""
    from scipy import sparse

    idx = np.arange(height * width).reshape(height, width)
    rows_, cols_, vals = [], [], []
    for dr, dc, w in ((-1, 0, 1 / 6), (1, 0, 1 / 6), (0, -1, 1 / 6), (0, 1, 1 / 6),
                      (-1, -1, 1 / 12), (-1, 1, 1 / 12), (1, -1, 1 / 12), (1, 1, 1 / 12)):
        r0, r1 = max(0, -dr), height - max(0, dr)
        c0, c1 = max(0, -dc), width - max(0, dc)
        if r1 <= r0 or c1 <= c0:
            continue
        src = idx[r0:r1, c0:c1].ravel()
        dst = idx[r0 + dr:r1 + dr, c0 + dc:c1 + dc].ravel()
        rows_.append(src)
        cols_.append(dst)
        vals.append(np.full(src.size, w))
    if not rows_:
        return sparse.csr_matrix((height * width, height * width))
    W = sparse.csr_matrix((np.concatenate(vals), (np.concatenate(rows_), np.concatenate(cols_))), shape=(height * width,) * 2)
    total = np.asarray(W.sum(axis=1)).ravel()
    return sparse.diags(1.0 / np.where(total > 0, total, 1.0)) @ W


def _image_imputer(rows: Rows, noise: float, rngs: list[np.random.Generator]) -> Render:
    from scipy import sparse
    from scipy.sparse.linalg import spsolve

    images = np.asarray(rows.extra["images"], dtype=np.float64)
    segments = rows.extra["segments"]
    channels_last = rows.extra["channels_last"]
    height, width = segments.shape[1:]
    W = _neighbour_weights(int(height), int(width)).tocsr()
    eps = 1e-6  # a pull towards the image's mean keeps regions without a kept neighbour solvable

    def hwc(image: np.ndarray) -> np.ndarray:
        if image.ndim == 2:
            return image[..., None]
        return image if channels_last is not False else np.moveaxis(image, 0, -1)

    def back(pixels: np.ndarray, like: np.ndarray) -> np.ndarray:
        if like.ndim == 2:
            return pixels[..., 0]
        return pixels if channels_last is not False else np.moveaxis(pixels, -1, 0)

    def render(i: int, keep: np.ndarray) -> np.ndarray:
        image = images[i]
        pix = hwc(image).reshape(height * width, -1)
        mean = pix.mean(axis=0)
        out = np.empty((len(keep), *image.shape))
        for k, kept in enumerate(keep):
            gone = ~kept[segments[i]].ravel()
            filled = pix.copy()
            u = np.flatnonzero(gone)
            if u.size:
                known = np.flatnonzero(~gone)
                Wu = W[u]
                A = sparse.identity(u.size, format="csc") * (1.0 + eps) - Wu[:, u].tocsc()
                b = Wu[:, known] @ pix[known] + eps * mean[None, :]
                solved = spsolve(A, b)
                filled[u] = np.asarray(solved).reshape(u.size, -1)
                if noise > 0:
                    filled[u] += rngs[i].normal(0.0, noise, size=filled[u].shape)
            out[k] = back(filled.reshape(height, width, -1), image)
        return out

    return render
