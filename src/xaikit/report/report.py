"""``Report``: one self-contained HTML file that explains one or more results.

The file has no external resource at all (inline CSS, script and images; a Content-Security-Policy
forbids every network request), so it opens offline and can be sent as it is. Its size is bounded
whatever the number of rows: global importance and diagnostics are computed over every row, and
the per-row explorer embeds a uniform, seeded sample of rows when there are more than ``max_rows``.
Raw feature values, images and background rows go in only with ``include_data=True``.

Examples
--------
>>> import numpy as np, xaikit as xk
>>> exp = xk.Attribution(values=np.array([[[1.0], [-2.0]], [[0.5], [0.25]]]), base_values=np.zeros((2, 1)),
...                      feature_names=["age", "income"], method="demo")
>>> page = xk.Report("Credit model").add(exp, model="logistic regression").to_html_string()
>>> page.startswith("<!DOCTYPE html>"), "Content-Security-Policy" in page, "Credit model" in page
(True, True, True)
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import math
import numbers
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from xaikit._validation import check_int, describe
from xaikit.errors import InvalidParameterError
from xaikit.plots import style
from xaikit.report._assets import CSS, JS
from xaikit.report._encode import Raw, atomic_write_bytes, esc, fmt, number_list, png_data_uri, script_json
from xaikit.report._global import GLOBAL_KINDS, GlobalEntry, global_section, other_kinds
from xaikit.report._parts import MAX_CELL as _MAX_CELL
from xaikit.report._parts import cell as _cell
from xaikit.report._parts import kv_table as _kv_table
from xaikit.report._parts import made_rows
from xaikit.report._svg import importance_svg, short
from xaikit.results.attribution import Attribution
from xaikit.results.base import Result
from xaikit.results.interaction import Interaction
from xaikit.results.ragged import RaggedAttribution

__all__ = ["MAX_EXPLORER_CHARS", "MAX_EXPLORER_VALUES", "Report"]

#: Most attribution values (rows x features x outputs) one result's explorer embeds; ``max_rows``
#: is lowered for results with many features or outputs so that the file stays small.
MAX_EXPLORER_VALUES = 250_000
#: Most characters of documents one result's explorer embeds (rows are sampled to stay within it).
MAX_EXPLORER_CHARS = 1_000_000
_CHUNK = 65_536
_MAX_OUTPUT_CHARTS = 6
_MAX_DOCUMENTS = 10
_MAX_IMAGES = 8
_MIN_IMAGE_SIDE = 128
_MAX_BACKGROUND_ROWS = 20
#: Rows of a dataset job (:class:`~xaikit.results.dataset.DatasetExplanation`) drawn into a report.
DATASET_SAMPLE = 2_000


@dataclass
class _Entry:
    result: Result
    attr: Attribution | RaggedAttribution
    name: str
    model: str | None
    data_summary: str | dict[str, Any] | None
    target: int
    images: np.ndarray | None
    background: np.ndarray | None
    background_names: list[str] | None
    note: str | None


# ----------------------------------------------------------------------------- checks


def _check_text(value: Any, name: str, *, optional: bool = True) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise InvalidParameterError(f"{name}: expected a str{' or None' if optional else ''}, got {describe(value)}")
    return value


def _check_target(target: Any, names: list[str]) -> int:
    if target is None:
        return 0
    if isinstance(target, str):
        if target not in names:
            raise InvalidParameterError(f"target: expected an output name among {names[:10]}, got {target!r}")
        return names.index(target)
    if isinstance(target, bool) or not isinstance(target, numbers.Integral):
        raise InvalidParameterError(f"target: expected an output position, an output name or None, got {describe(target)}")
    if not -len(names) <= int(target) < len(names):
        raise InvalidParameterError(f"target: expected an output position in [{-len(names)}, {len(names) - 1}], got {int(target)}")
    return int(target) % len(names)


def _spatial_shape(attr: Attribution | RaggedAttribution) -> tuple[int, int] | None:
    """Height and width of the images a result explains, or None when it does not explain images."""
    if isinstance(attr, RaggedAttribution):
        if attr.segments is not None:
            return int(attr.segments.shape[1]), int(attr.segments.shape[2])
        return None
    shape = attr.input_shape
    if shape is None or len(shape) not in (2, 3):
        return None
    if len(shape) == 2:
        return shape[0], shape[1]
    if shape[0] in (1, 3, 4) and shape[2] not in (1, 3, 4):
        return shape[1], shape[2]
    if shape[2] in (1, 3, 4):
        return shape[0], shape[1]
    return None


def _check_images(images: Any, attr: Attribution | RaggedAttribution) -> np.ndarray | None:
    """Images as ``(n, h, w)`` or ``(n, h, w, c)`` channels-last, matching the result's rows and shape."""
    if images is None:
        return None
    spatial = _spatial_shape(attr)
    if spatial is None:
        raise InvalidParameterError(
            "images: this result does not explain images (no segments and no 2-D or 3-D input_shape); got images anyway"
        )
    try:
        arr = np.asarray(images)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"images: expected an array of images, got {describe(images)}") from None
    if arr.dtype.kind not in "biuf" or arr.ndim not in (3, 4):
        raise InvalidParameterError(f"images: expected numbers of shape (n, h, w), (n, h, w, c) or (n, c, h, w), got {describe(images)}")
    if arr.ndim == 4 and arr.shape[1:3] != spatial and arr.shape[2:4] == spatial:
        arr = np.moveaxis(arr, 1, -1)
    n = attr.n_rows
    if arr.shape[0] != n or arr.shape[1:3] != spatial or (arr.ndim == 4 and arr.shape[3] not in (1, 3, 4)):
        raise InvalidParameterError(
            f"images: expected {n} images of {spatial[0]} x {spatial[1]} pixels (one per row, grey or 1, 3 or 4 channels), got shape {arr.shape}"
        )
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise InvalidParameterError("images: expected finite pixel values, got NaN or infinity")
    return arr


def _check_background(background: Any) -> tuple[np.ndarray | None, list[str] | None]:
    if background is None:
        return None, None
    columns = getattr(background, "columns", None)
    try:
        arr = np.asarray(background, dtype=object)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"background: expected a 2-D array or DataFrame of rows, got {describe(background)}") from None
    if arr.ndim != 2:
        raise InvalidParameterError(f"background: expected a 2-D array or DataFrame of rows, got {describe(background)}")
    return arr, None if columns is None else [str(c) for c in columns]


def _texts(attr: Attribution | RaggedAttribution) -> list[str] | None:
    """The documents a result explains, or None."""
    texts = getattr(attr, "texts", None) if isinstance(attr, RaggedAttribution) else None
    return None if texts is None else [str(t) for t in texts]


def _model_text(model: Any) -> str | None:
    if model is None or isinstance(model, str):
        return model
    return short(repr(model), _MAX_CELL)


def _check_data_summary(value: Any) -> str | dict[str, Any] | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidParameterError(f"data_summary: expected str keys, got the key {describe(key)}")
            out[key] = item
        return out
    raise InvalidParameterError(f"data_summary: expected a str, a mapping of str to values, or None, got {describe(value)}")


def _check_path(path: Any) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise InvalidParameterError(f"path: expected a str or path of the HTML file to write, got {describe(path)}")
    target = Path(path).expanduser()
    if target.is_dir():
        raise InvalidParameterError(f"path: expected a file name, got the folder {str(target)!r}")
    if not target.parent.is_dir():
        raise InvalidParameterError(f"path: the folder {str(target.parent)!r} does not exist (got {str(path)!r}); create it first")
    return target


# ----------------------------------------------------------------------------- summaries


@dataclass
class _Global:
    names: list[str]
    mean_abs: np.ndarray  # (d, o)
    se: np.ndarray | None  # (d, o): standard error of mean |value|
    se_mean: float | None
    se_max: float | None
    value_mean: float


def _global(attr: Attribution | RaggedAttribution) -> _Global:
    """Mean |value| per feature and output over every row (in chunks: no copy of the values), with standard errors."""
    std_err = attr.diagnostics.get("std_err")
    has_se = isinstance(std_err, np.ndarray) and std_err.shape == attr.values.shape
    if isinstance(attr, RaggedAttribution):
        mean_abs = attr.mean_abs()
        abs_sum = float(np.abs(attr.values).sum())
        count = int(attr.lengths.sum()) * attr.n_outputs
        se_mean = se_max = None
        if has_se:
            errors = np.asarray(std_err)
            se_mean, se_max = float(errors.sum() / max(count, 1)), float(errors.max(initial=0.0))
        return _Global(attr.feature_names, mean_abs, None, se_mean, se_max, abs_sum / max(count, 1))
    values = attr.values
    n, d, o = values.shape
    total = np.zeros((d, o))
    se2 = np.zeros((d, o)) if has_se else None
    se_sum, se_max = 0.0, 0.0
    for start in range(0, n, _CHUNK):
        block = values[start : start + _CHUNK]
        total += np.abs(block).sum(axis=0)
        if se2 is not None:
            s = np.asarray(std_err)[start : start + _CHUNK]
            se2 += np.square(s).sum(axis=0)
            se_sum += float(s.sum())
            se_max = max(se_max, float(s.max(initial=0.0)))
    mean_abs = total / n
    se = None if se2 is None else np.sqrt(se2) / n
    return _Global(
        attr.feature_names,
        mean_abs,
        se,
        None if se2 is None else se_sum / (n * d * o),
        None if se2 is None else se_max,
        float(total.sum() / (n * d * o)),
    )


# ----------------------------------------------------------------------------- the report


class Report:
    """A self-contained HTML report of one or more results.

    Parameters
    ----------
    title : str
        The report's title (shown escaped).

    Examples
    --------
    >>> import numpy as np, xaikit as xk
    >>> w = np.array([1.0, 2.0, -1.0])
    >>> exp = xk.ExactShapley(lambda X: X @ w, background=np.zeros((4, 3))).explain(np.eye(3))
    >>> report = xk.Report("Linear model").add(exp, name="exact Shapley").add(exp[:2], name="two rows")
    >>> report
    Report(title='Linear model', results=['exact Shapley', 'two rows'])
    >>> html = report.to_html_string(include_data=True)
    >>> html.count('<section class="xk-result"')
    2
    """

    def __init__(self, title: str = "xaikit report") -> None:
        self.title: str = _check_text(title, "title", optional=False) or ""
        self._entries: list[_Entry | GlobalEntry] = []

    def __repr__(self) -> str:
        return f"Report(title={self.title!r}, results={[e.name for e in self._entries]!r})"

    def add(
        self,
        result: Result,
        *,
        name: str | None = None,
        model: Any = None,
        data_summary: str | Mapping[str, Any] | None = None,
        target: int | str | None = None,
        images: Any = None,
        background: Any = None,
    ) -> Report:
        """Add a result; returns the report, so calls chain.

        Parameters
        ----------
        result : a local result (Attribution, RaggedAttribution, Interaction), a global one (Importance, Effects, Rules),
            CounterfactualSet, Robustness, QualityReport, MetricScores, GroupFairness, TrainingDynamics,
            LayerActivations, WeightStatistics, FeatureVisualization, or a dataset job
            An interaction result is shown as per-feature attributions (summed over the second feature).
            The global kinds get their own sections: importance bars with confidence intervals,
            effect curves (PD, ICE, ALE, 2-D heat maps), rules with their fidelity; so do anchors (precision,
            bound, coverage), counterfactuals (the closest valid one per row), accuracy under attack and the
            quality of explanations (metric table with noise floors, ranking, disagreement, privacy).
            A dataset job (:func:`xaikit.open_dataset`) is shown as a sample of ``DATASET_SAMPLE`` of its rows,
            with the ranking over all of them.
        name : str, optional
            The section's heading (default: the method's name, numbered when repeated).
        model : str or object, optional
            What the model is; an object is described by its ``repr`` (default: the result's provenance).
        data_summary : str or mapping, optional
            What the data is (source, period, selection...), shown as given.
        target : int or str, optional
            The output shown first and in the document and image views (default: the first); for
            Importance and Effects, the output whose charts show first.
        images : array, optional
            For image results: the explained images, ``(n, h, w)``, ``(n, h, w, c)`` or ``(n, c, h, w)``;
            drawn under the heat maps only with ``include_data=True``. Local results only.
        background : array or DataFrame, optional
            The background rows; listed only with ``include_data=True``. Local results only.

        Returns
        -------
        Report
        """
        from xaikit.results.dataset import DatasetExplanation

        job_note: str | None = None
        if isinstance(result, DatasetExplanation):  # a dataset job: a sample of its rows, the ranking over all of them
            ranking = ", ".join(f"{name} {fmt(value)}" for name, value in result.ranking()[:10])
            job_note = (f"A sample of {min(result.n_rows, DATASET_SAMPLE):,} of the {result.n_rows:,} rows of the dataset job in "
                        f"{result.out.name!s}; mean |value| over all its rows (first output): {ranking}.")
            result = result.sample(min(result.n_rows, DATASET_SAMPLE), random_state=0)
        if isinstance(result, (*GLOBAL_KINDS, *other_kinds())):
            self._entries.append(self._global_entry(result, name, model, data_summary, target, images, background))
            return self
        if isinstance(result, Interaction):
            attr: Attribution | RaggedAttribution = result.to_attribution()
            note: str | None = "Interaction values are shown as per-feature attributions: each feature's row of the interaction matrix, summed."
        elif isinstance(result, (Attribution, RaggedAttribution)):
            attr, note = result, job_note
        else:
            raise InvalidParameterError(
                "result: expected an Attribution, RaggedAttribution or Interaction (local results), an Importance, "
                "Effects or Rules (global results and anchors), a CounterfactualSet, Robustness, QualityReport, MetricScores, GroupFairness, "
                "TrainingDynamics, LayerActivations, WeightStatistics, FeatureVisualization or a dataset job (xk.open_dataset), "
                f"got {describe(result)}"
            )
        background_rows, background_names = _check_background(background)
        if attr.n_rows == 0:
            raise InvalidParameterError("result: expected a result with at least one row, got 0 rows")
        self._entries.append(
            _Entry(
                result=result,
                attr=attr,
                name=self._title(name, result),
                model=_model_text(model),
                data_summary=_check_data_summary(data_summary),
                target=_check_target(target, attr.output_names),
                images=_check_images(images, attr),
                background=background_rows,
                background_names=background_names,
                note=note,
            )
        )
        return self

    def _title(self, name: Any, result: Result) -> str:
        """The section's heading: ``name``, else the method's name, numbered when repeated."""
        title = _check_text(name, "name")
        if title is None:
            title = result.method
            taken = {e.name for e in self._entries}
            k = 2
            while title in taken:
                title, k = f"{result.method} ({k})", k + 1
        return title

    def _global_entry(
        self, result: Result, name: Any, model: Any, data_summary: Any, target: Any, images: Any, background: Any
    ) -> GlobalEntry:
        kind = type(result).__name__
        if images is not None:
            raise InvalidParameterError(f"images: an {kind} result explains no images; expected images=None, got {describe(images)}")
        if background is not None:
            raise InvalidParameterError(f"background: an {kind} result lists no background rows; expected background=None, got {describe(background)}")
        return GlobalEntry(
            result=result,
            name=self._title(name, result),
            model=_model_text(model),
            data_summary=_check_data_summary(data_summary),
            target=_check_target(target, list(getattr(result, "output_names", None) or ["output"])),
        )

    # ------------------------------------------------------------------ output

    def to_html(self, path: str | os.PathLike[str], *, include_data: bool = False, max_rows: int = 2000, random_state: int = 0) -> Path:
        """Write the report to ``path`` (atomically: a temporary file in the same folder, then renamed).

        Parameters
        ----------
        path : str or path
            The HTML file to write; its folder must exist.
        include_data, max_rows, random_state
            As for :meth:`to_html_string`.

        Returns
        -------
        Path
            The file written.
        """
        target = _check_path(path)
        text = self.to_html_string(include_data=include_data, max_rows=max_rows, random_state=random_state)
        atomic_write_bytes(target, text.encode("utf-8"))
        return target

    def to_html_string(self, *, include_data: bool = False, max_rows: int = 2000, random_state: int = 0) -> str:
        """The report as one HTML document.

        Parameters
        ----------
        include_data : bool
            Put the raw feature values (``result.data``), the images and the background rows in the
            report. By default they are left out (and the report says so), so it can be sent without
            the data behind it.
        max_rows : int
            Most rows the per-row explorer embeds for one result (fewer when a result has many
            features or outputs); above it, a uniform sample of rows is embedded, while global
            importance and diagnostics still use every row.
        random_state : int
            Seed of that sample.

        Returns
        -------
        str
        """
        if not isinstance(include_data, (bool, np.bool_)):
            raise InvalidParameterError(f"include_data: expected True or False, got {describe(include_data)}")
        max_rows = check_int(max_rows, "max_rows", minimum=1)
        seed = check_int(random_state, "random_state", minimum=0)
        if not self._entries:
            raise InvalidParameterError("result: expected at least one result added with Report.add(result) before writing, got none")
        from xaikit import __version__

        sections, payloads = [], []
        for k, entry in enumerate(self._entries):
            if isinstance(entry, GlobalEntry):
                sections.append(global_section(k, entry, bool(include_data)))
                continue
            html_part, payload = self._section(k, entry, bool(include_data), max_rows, seed)
            sections.append(html_part)
            payloads.append(f'<script type="application/json" id="xk-data-{k}">{payload}</script>')
        style_json = script_json(
            {
                "pos": style.POSITIVE,
                "neg": style.NEGATIVE,
                "neutral": style.NEUTRAL,
                "pos_rgb": list(style.hex_to_rgb(style.POSITIVE)),
                "neg_rgb": list(style.hex_to_rgb(style.NEGATIVE)),
            }
        )
        script_hash = base64.b64encode(hashlib.sha256(JS.encode("utf-8")).digest()).decode("ascii")
        csp = (
            "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
            f"script-src 'sha256-{script_hash}'; base-uri 'none'; form-action 'none'"
        )
        nav = "".join(f'<li><a href="#xk-result-{k}">{esc(e.name)}</a></li>' for k, e in enumerate(self._entries))
        created = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        privacy = (
            "Raw feature values, images and background rows are included in this report (include_data=True)."
            if include_data
            else "Raw feature values, images and background rows are left out of this report (include_data=False): "
            "it holds attributions and summaries only."
        )
        css_vars = f":root {{ --pos: {style.POSITIVE}; --neg: {style.NEGATIVE}; --neutral: {style.NEUTRAL}; }}"
        return (
            "<!DOCTYPE html>\n"
            '<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{esc(csp)}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            '<meta name="referrer" content="no-referrer">'
            '<link rel="icon" href="data:,">'
            f"<title>{esc(self.title)}</title>"
            f"<style>{CSS}{css_vars}</style></head><body>"
            f'<header class="xk-head"><h1 class="xk-title">{esc(self.title)}</h1>'
            f'<p class="xk-meta">xaikit {esc(__version__)} report, made {esc(created)}; {len(self._entries)} '
            f'result{"s" if len(self._entries) != 1 else ""}.</p>'
            f'<p class="xk-privacy">{esc(privacy)}</p>'
            f'<nav class="xk-nav"><ul>{nav}</ul></nav></header>'
            "<main>"
            '<noscript><p class="xk-note">The row explorer and the output and term selectors need JavaScript; everything else '
            "works without it (the output chosen first and every term are shown).</p></noscript>"
            f"{''.join(sections)}</main>"
            f'<footer class="xk-foot">Made with xaikit {esc(__version__)}. This file makes no network request; '
            "it can be opened offline, printed or sent as it is.</footer>"
            f'<script type="application/json" id="xk-style">{style_json}</script>'
            f"{''.join(payloads)}"
            f"<script>{JS}</script></body></html>\n"
        )

    # ------------------------------------------------------------------ sections

    def _section(self, k: int, entry: _Entry, include_data: bool, max_rows: int, seed: int) -> tuple[str, str]:
        attr = entry.attr
        n, d, o = attr.shape
        limit = min(max_rows, max(1, MAX_EXPLORER_VALUES // max(1, d * o)))
        rng = np.random.default_rng([seed, k])
        rows = rng.permutation(n)[:limit] if n > limit else np.arange(n)
        texts = _texts(attr)
        if texts is not None:  # documents: the sample also stays within a budget of characters
            chars = np.array([len(texts[i]) for i in rows.tolist()], dtype=np.int64)
            if chars.sum() > MAX_EXPLORER_CHARS:
                if n <= limit:
                    rows = rng.permutation(n)
                    chars = np.array([len(texts[i]) for i in rows.tolist()], dtype=np.int64)
                keep = int(np.searchsorted(np.cumsum(chars), MAX_EXPLORER_CHARS, side="right"))
                rows = rows[: max(1, keep)]
        rows = np.sort(rows)
        if len(rows) < n:
            shown = (
                f"Showing {len(rows):,} of {n:,} rows, sampled uniformly at random (seed {seed}); "
                f"global importance and diagnostics use all {n:,} rows."
            )
        else:
            shown = f"Showing all {n:,} rows."
        summary = _global(attr)
        parts = [
            f'<section class="xk-result" id="xk-result-{k}"><h2>{esc(entry.name)}</h2>',
            self._model_part(entry, include_data),
            self._diagnostics_part(entry, summary),
            self._importance_part(entry, summary),
            self._explorer_part(k, entry, shown),
        ]
        if isinstance(attr, RaggedAttribution) and _texts(attr) is not None and attr.spans is not None:
            parts.append(self._documents_part(entry, rows))
        if _spatial_shape(attr) is not None:
            parts.append(self._images_part(entry, rows, include_data))
        parts.append("</section>")
        return "".join(parts), self._payload(entry, rows, include_data)

    def _model_part(self, entry: _Entry, include_data: bool) -> str:
        result, attr = entry.result, entry.attr
        prov, params, diag = result.provenance, result.params, result.diagnostics
        value_definition = diag.get("value_definition")
        definition = value_definition.get("text") if isinstance(value_definition, Mapping) else None
        rows: list[tuple[str, str]] = [
            ("model", esc(entry.model or prov.get("model") or "not recorded")),
            ("output", esc(prov.get("output") or params.get("output") or "not recorded")),
            ("output names", esc(", ".join(attr.output_names[:20]) + (f" and {attr.n_outputs - 20} more" if attr.n_outputs > 20 else ""))),
            ("value definition", esc(definition or "not recorded")),
            ("method", esc(result.method)),
        ]
        if params:
            rows.append(("parameters", _kv_table([(str(key), _cell(value)) for key, value in params.items()])))
        rows += made_rows(prov, diag)
        if entry.note:
            rows.append(("note", esc(entry.note)))
        if isinstance(attr, RaggedAttribution):
            shape_text = f"{attr.n_rows:,} rows of up to {attr.n_features:,} features each ({len(attr.feature_names):,} distinct), {attr.n_outputs} output(s)"
        else:
            shape_text = f"{attr.n_rows:,} rows, {attr.n_features:,} features, {attr.n_outputs} output(s)"
        data_rows: list[tuple[str, str]] = [("explained", esc(shape_text))]
        if isinstance(entry.data_summary, str):
            data_rows.append(("description", esc(entry.data_summary)))
        elif isinstance(entry.data_summary, dict):
            data_rows.extend((key, _cell(value)) for key, value in entry.data_summary.items())
        has_data = isinstance(attr, Attribution) and attr.data is not None
        if has_data:
            data_rows.append(("feature values", "included (shown in the row explorer)" if include_data else "left out (include_data=False)"))
        if entry.images is not None:
            data_rows.append(("images", "included (under the heat maps)" if include_data else "left out (include_data=False)"))
        if isinstance(attr, RaggedAttribution) and _texts(attr) is not None:
            data_rows.append(("documents", "shown: their tokens are the features explained"))
        background = ""
        if entry.background is not None:
            nb = entry.background.shape[0]
            if include_data:
                data_rows.append(("background rows", esc(f"{nb:,} (the first {min(nb, _MAX_BACKGROUND_ROWS)} listed below)")))
                background = self._background_table(entry)
            else:
                data_rows.append(("background rows", esc(f"{nb:,}, left out (include_data=False)")))
        return (
            '<section class="xk-part xk-model"><h3>Model and data</h3>'
            f"{_kv_table(rows)}<h4>Data</h4>{_kv_table(data_rows)}{background}</section>"
        )

    def _background_table(self, entry: _Entry) -> str:
        bg = entry.background
        if bg is None:
            return ""
        names = entry.background_names or (entry.attr.feature_names if isinstance(entry.attr, Attribution) and bg.shape[1] == entry.attr.n_features else None)
        names = names or [f"x{j}" for j in range(bg.shape[1])]
        head = "".join(f"<th>{esc(short(str(nm)))}</th>" for nm in names)
        body = "".join(
            "<tr>" + "".join(f'<td class="xk-r">{esc(fmt(v, 6)) if isinstance(v, (int, float, np.number)) else esc(short(str(v)))}</td>' for v in row) + "</tr>"
            for row in bg[:_MAX_BACKGROUND_ROWS]
        )
        return f'<table class="xk-background"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'

    def _diagnostics_part(self, entry: _Entry, summary: _Global) -> str:
        diag = entry.result.diagnostics
        value_definition = diag.get("value_definition")
        estimate = value_definition.get("estimate") if isinstance(value_definition, Mapping) else None
        if estimate is None and "exact" in diag:
            estimate = "exact" if diag["exact"] else "sampled"
        rows: list[tuple[str, str]] = [("estimate", esc(estimate or "not recorded"))]
        gap = diag.get("completeness_gap")
        if isinstance(gap, np.ndarray) and gap.size:
            absolute = np.abs(gap)
            rows.append(
                (
                    "completeness gap",
                    esc(f"largest |gap| {fmt(absolute.max())}, mean |gap| {fmt(absolute.mean())} over {gap.shape[0]:,} rows "
                        "(prediction minus base value minus the sum of the values)"),
                )
            )
        else:
            rows.append(("completeness gap", "not recorded"))
        if summary.se_mean is not None:
            relative = summary.se_mean / summary.value_mean if summary.value_mean > 0 else float("nan")
            rows.append(
                (
                    "standard errors",
                    esc(f"mean {fmt(summary.se_mean)}, largest {fmt(summary.se_max)}; mean standard error / mean |value| = {fmt(relative, 3)}"),
                )
            )
        else:
            rows.append(("standard errors", esc("none (exact values)" if estimate == "exact" else "not recorded")))
        calls = diag.get("n_model_calls")
        if isinstance(calls, np.ndarray) and calls.size:
            rows.append(("model calls", esc(f"{int(calls.sum()):,} in all, {fmt(calls.mean())} per row")))
        skip = {"value_definition", "completeness_gap", "std_err", "n_model_calls", "runtime_s", "seed", "exact"}
        rows.extend((key, _cell(value)) for key, value in diag.items() if key not in skip)
        return f'<section class="xk-part xk-diagnostics"><h3>Diagnostics</h3>{_kv_table(rows)}</section>'

    def _importance_part(self, entry: _Entry, summary: _Global) -> str:
        attr = entry.attr
        outputs = list(range(attr.n_outputs))
        outputs = [entry.target] + [j for j in outputs if j != entry.target]
        charts = []
        for j in outputs[:_MAX_OUTPUT_CHARTS]:
            scores = summary.mean_abs[:, j]
            order = np.argsort(-scores, kind="stable")
            names = [summary.names[i] for i in order]
            errors = None if summary.se is None else summary.se[order, j]
            charts.append(f"<h4>Output \u201c{esc(attr.output_names[j])}\u201d</h4>{importance_svg(names, scores[order], errors)}")
        more = ""
        if attr.n_outputs > _MAX_OUTPUT_CHARTS:
            more = f'<p class="xk-note">Charts of {attr.n_outputs - _MAX_OUTPUT_CHARTS} more outputs are left out; choose them in the row explorer.</p>'
        explain = "Mean |value| of each feature over all rows"
        if isinstance(attr, RaggedAttribution):
            explain += " that have it (top 20)"
        if summary.se is not None:
            explain += "; error bars: ± one standard error of the mean, from the per-row standard errors"
        return f'<section class="xk-part xk-global"><h3>Global importance</h3><p>{esc(explain)}.</p>{"".join(charts)}{more}</section>'

    def _explorer_part(self, k: int, entry: _Entry, shown: str) -> str:
        return (
            f'<section class="xk-part xk-explorer" data-payload="xk-data-{k}"><h3>Row explorer</h3>'
            f'<p class="xk-note xk-sample">{esc(shown)}</p>'
            '<div class="xk-controls"><label>Row <select class="xk-row"></select></label>'
            '<label>Output <select class="xk-output"></select></label></div>'
            '<p class="xk-caption"></p>'
            '<p class="xk-legend"><span class="xk-pos">vermillion</span>: raises the output; '
            '<span class="xk-neg">blue</span>: lowers it; the bars go from the base value E[f(X)] to the prediction f(x).</p>'
            '<div class="xk-two"><div class="xk-waterfall"></div><div class="xk-table"></div></div>'
            '<div class="xk-doc" hidden></div></section>'
        )

    def _documents_part(self, entry: _Entry, rows: np.ndarray) -> str:
        attr = entry.attr
        texts = _texts(attr)
        if not isinstance(attr, RaggedAttribution) or texts is None:
            return ""
        spans_all = attr.spans or []
        names_all = attr.row_feature_names
        j = entry.target
        docs = []
        for i in rows[:_MAX_DOCUMENTS].tolist():
            text, names = texts[i], names_all[i]
            vals = attr.values[i, : len(names), j]
            rgba = style.diverging_rgba(vals)
            marks = sorted((s, e, f) for f, spans in enumerate(spans_all[i]) for s, e in spans)
            out, pos = [], 0
            for s, e, f in marks:
                if s < pos or e > len(text):
                    continue
                out.append(esc(text[pos:s]))
                r, g, b, a = rgba[f]
                colour = f"rgba({round(r * 255)},{round(g * 255)},{round(b * 255)},{0.15 + 0.85 * a:.3f})"
                out.append(f'<mark class="xk-token" style="background-color:{colour}" title="{esc(names[f])}: {esc(fmt(vals[f]))}">{esc(text[s:e])}</mark>')
                pos = e
            out.append(esc(text[pos:]))
            docs.append(f'<h4>row {i}</h4><div class="xk-doc xk-static-doc">{"".join(out)}</div>')
        more = f" (the first {_MAX_DOCUMENTS} of the rows shown; the row explorer shows any)" if len(rows) > _MAX_DOCUMENTS else ""
        return (
            '<section class="xk-part xk-documents"><h3>Documents</h3>'
            f'<p class="xk-legend">Tokens coloured by their value for output \u201c{esc(attr.output_names[j])}\u201d{esc(more)}: '
            '<span class="xk-pos">vermillion</span> raises it, <span class="xk-neg">blue</span> lowers it.</p>'
            f"{''.join(docs)}</section>"
        )

    def _heat(self, attr: Attribution | RaggedAttribution, i: int, j: int) -> tuple[np.ndarray, np.ndarray | None]:
        if isinstance(attr, RaggedAttribution):
            segments = np.asarray(attr.segments)[i]
            length = int(attr.lengths[i])
            vals = attr.values[i, :length, j]
            valid = (segments >= 0) & (segments < length)
            heat = np.where(valid, vals[np.clip(segments, 0, max(length - 1, 0))], 0.0)
            return heat, segments
        shape = attr.input_shape or ()
        grid = attr.values[i, :, j].reshape(shape)
        if grid.ndim == 3:
            grid = grid.sum(axis=0) if shape[0] in (1, 3, 4) and shape[2] not in (1, 3, 4) else grid.sum(axis=2)
        return grid, None

    def _images_part(self, entry: _Entry, rows: np.ndarray, include_data: bool) -> str:
        attr, j = entry.attr, entry.target
        figures = []
        for i in rows[:_MAX_IMAGES].tolist():
            heat, segments = self._heat(attr, i, j)
            if include_data and entry.images is not None:
                image = entry.images[i]
                if image.dtype.kind == "f":
                    lo, hi = float(image.min()), float(image.max())
                    image = (image - lo) / (hi - lo) if hi > 1 or lo < 0 else image
                rgb = style.overlay(image, heat, alpha=0.6)
            else:
                rgb = style.overlay(np.ones(heat.shape), heat, alpha=1.0)
            factor = max(1, -(-_MIN_IMAGE_SIDE // min(heat.shape)))
            if factor > 1:  # small images are enlarged (nearest neighbour) so that outlines stay thin
                rgb = np.repeat(np.repeat(rgb, factor, axis=0), factor, axis=1)
                segments = None if segments is None else np.repeat(np.repeat(segments, factor, axis=0), factor, axis=1)
            if segments is not None:
                rgb[style.segment_outlines(segments)] = (60, 60, 60)
            top = float(np.abs(heat).max())
            figures.append(
                f'<figure><img class="xk-overlay" alt="heat map of row {i}" src="{png_data_uri(rgb)}">'
                f"<figcaption>row {i}; largest |value| {esc(fmt(top))}</figcaption></figure>"
            )
        if include_data and entry.images is not None:
            what = "Heat maps over the images"
        elif entry.images is not None:
            what = "Heat maps alone: the images are left out (include_data=False)"
        else:
            what = "Heat maps alone (no images were given to Report.add)"
        more = f"; the first {_MAX_IMAGES} of the rows shown" if len(rows) > _MAX_IMAGES else ""
        outlines = ", segment outlines in grey" if isinstance(attr, RaggedAttribution) else ""
        return (
            '<section class="xk-part xk-images-part"><h3>Images</h3>'
            f'<p class="xk-legend">{esc(what)}, for output \u201c{esc(attr.output_names[j])}\u201d{esc(more)}{outlines}: '
            '<span class="xk-pos">vermillion</span> raises it, <span class="xk-neg">blue</span> lowers it; '
            "each image has its own colour scale.</p>"
            f'<div class="xk-images">{"".join(figures)}</div></section>'
        )

    def _payload(self, entry: _Entry, rows: np.ndarray, include_data: bool) -> str:
        attr = entry.attr
        n, d, o = attr.shape
        std_err = attr.diagnostics.get("std_err")
        has_se = isinstance(std_err, np.ndarray) and std_err.shape == attr.values.shape
        payload: dict[str, Any] = {
            "outputs": attr.output_names,
            "target": entry.target,
            "rows": rows.tolist(),
            "o": o,
            "base": Raw(number_list(attr.base_values[rows])),
        }
        if isinstance(attr, RaggedAttribution):
            lengths = attr.lengths
            names = attr.row_feature_names
            payload["ragged"] = True
            payload["row_features"] = [names[i] for i in rows.tolist()]
            payload["values"] = [Raw(number_list(attr.values[i, : lengths[i]])) for i in rows.tolist()]
            payload["se"] = [Raw(number_list(np.asarray(std_err)[i, : lengths[i]])) for i in rows.tolist()] if has_se else None
            texts, spans = _texts(attr), attr.spans
            if texts is not None and spans is not None:
                payload["texts"] = [texts[i] for i in rows.tolist()]
                payload["spans"] = [spans[i] for i in rows.tolist()]
            return script_json(payload)
        payload["ragged"] = False
        payload["features"] = attr.feature_names
        payload["d"] = d
        payload["values"] = Raw(number_list(attr.values[rows]))
        payload["se"] = Raw(number_list(np.asarray(std_err)[rows])) if has_se else None
        data = attr.data
        if include_data and data is not None:
            block = data[rows]
            if block.dtype.kind == "f":
                payload["data"] = Raw(number_list(block, digits=6))
            else:
                payload["data"] = [
                    float(f"{v:.6g}") if isinstance(v, (int, float, np.number)) and not isinstance(v, bool) and math.isfinite(float(v)) else str(v)
                    for v in block.ravel().tolist()
                ]
        else:
            payload["data"] = None
        return script_json(payload)
