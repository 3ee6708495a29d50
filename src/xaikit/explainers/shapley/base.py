"""What every Shapley explainer shares: the boundary, the row loop, the result.

Tables (a :class:`~xaikit.maskers.TabularMasker`, or ``background=``): the players are the
features (or groups), the game of a row is the interventional value function over the
background, and the result is an :class:`~xaikit.results.Attribution`.

Documents and images (a :class:`~xaikit.maskers.TextMasker` or
:class:`~xaikit.maskers.ImageMasker`): every row has players of its own, its tokens or segments,
and its game is ``v(S) = f(the input keeping S)``, the other tokens removed or replaced by the
mask token, the other segments filled as the masker fills them. ``base_values`` are each row's
``v(empty)``, the values of a row add up to ``f(x) - v(empty)``, and the result is a
:class:`~xaikit.results.RaggedAttribution` (each row's own feature names, the token spans and
documents, or the segment maps).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np

from xaikit._validation import check_finite_result, describe
from xaikit.errors import InvalidParameterError
from xaikit.explainers.base import Explainer, output_names, select_outputs
from xaikit.explainers.pipeline import Answer, Parameter, Plan, integer, real, row_seeds, rows_of
from xaikit.explainers.shapley._games import Game, ReferenceGames
from xaikit.explainers.value_definition import value_definition
from xaikit.maskers.tabular import TabularMasker
from xaikit.maskers.value_function import ValueFunction, renders_items
from xaikit.models import adapt
from xaikit.models.base import AdaptedModel, evaluating
from xaikit.results import Attribution, RaggedAttribution

__all__ = ["ShapleyExplainer", "RowEstimate", "make_masker", "past_deadline"]


@dataclass
class RowEstimate:
    """An estimator's answer for one row."""

    values: np.ndarray  # (k, o)
    std_err: np.ndarray  # (k, o)
    n_evaluations: int
    exact: bool = False
    budget_stopped: bool = False  # stopped by ``max_seconds`` before ``n_samples`` or ``tol`` was reached


def make_masker(
    model: AdaptedModel,
    *,
    background: Any = None,
    masker: TabularMasker | None = None,
    feature_names: Sequence[str] | None = None,
    groups: Mapping[str, Sequence[int | str]] | None = None,
) -> TabularMasker:
    """The masker an explainer of ``model`` uses: ``masker`` as given, or one built on ``background``.

    Feature names come from ``feature_names``, the background's columns, or the names the model
    was fitted with; they must match the latter when the model has them.
    """
    if masker is None:
        if background is None:
            raise InvalidParameterError(
                "background: expected rows (an array or DataFrame) to stand for unknown features, got None; "
                "pass background= or masker="
            )
        names = feature_names
        if names is None and model.feature_names_in is not None and not hasattr(background, "columns"):
            names = model.feature_names_in
        masker = TabularMasker(background, feature_names=names, groups=groups)
    elif not isinstance(masker, TabularMasker):
        raise InvalidParameterError(f"masker: expected a TabularMasker, got {type(masker).__name__}")
    elif background is not None or groups is not None:
        raise InvalidParameterError("masker: give either masker= or background=/groups=, not both")
    if model.feature_names_in is not None and model.feature_names_in != masker.feature_names:
        raise InvalidParameterError(
            f"background: the model was fitted on the features {model.feature_names_in[:20]}, "
            f"got {masker.feature_names[:20]}"
        )
    return masker


def _provenance(masker: Any) -> dict[str, Any]:
    """What a Shapley result's provenance adds: the value function and what it masks with."""
    if renders_items(masker):
        return {"value_function": "the model on the masked input (the masker's masking of the coalition's complement)",
                "masker": masker.summary()}
    return {"value_function": "interventional (marginal) expectation over the background",
            "background": masker.summary()}


def _masking(masker: Any) -> str:
    """How ``masker`` hides the players outside a coalition, in words."""
    if masker.kind == "text":
        unit = "document" if masker.features == "bag_of_words" else "document (each occurrence a player)"
        how = "removed" if masker.mode == "remove" else f"replaced by {masker.mask_token!r}"
        return f"the model on each {unit} with the coalition's tokens kept and the others {how}"
    fill = {"mean": "their mean colour", "blur": "a blurred copy of the image",
            "constant": f"the value {masker.fill_value:g}"}[masker.fill]
    return f"the model on each image with the coalition's segments kept and the others filled with {fill}"


def masked_value_definition(output: str, masker: Any, estimate: str) -> dict[str, Any]:
    """``diagnostics["value_definition"]`` of the game of a text or image masker: the keys of
    :func:`~xaikit.explainers.value_definition.value_definition`, ``value_function="masked"``
    (no background: each coalition is one input, as the masker renders it) and ``masker`` (its kind).

    >>> from xaikit.maskers import TextMasker
    >>> d = masked_value_definition("raw", TextMasker(mode="mask"), "exact")
    >>> d["value_function"], d["estimate"], d["text"].split(": ")[1]
    ('masked', 'exact', "the model on each document with the coalition's tokens kept and the others replaced by 'UNKWORDZ'.")
    """
    return value_definition(
        output=output, value_function="masked", background_rows=None, estimate=estimate,
        masker=str(masker.kind), masking=_masking(masker),
    )


def _with_deadline(params: dict[str, Any]) -> dict[str, Any]:
    """The parameters the row jobs run with: ``max_seconds`` becomes ``deadline``, a point on the
    monotonic clock (shared by the threads and processes of this machine)."""
    if params.get("max_seconds") is None:
        return params
    return {**params, "deadline": time.monotonic() + float(params["max_seconds"])}


def past_deadline(params: Mapping[str, Any]) -> bool:
    """Whether the time budget of the call (``max_seconds``) has run out.

    >>> past_deadline({}), past_deadline({"deadline": 0.0})
    (False, True)
    """
    deadline = params.get("deadline")
    return deadline is not None and time.monotonic() >= deadline


@dataclass(frozen=True)
class _RowPlayers:
    """What an estimator reads of its masker while it plays one document's or image's game: the
    row's own number of players, and a single reference (each coalition is one model input)."""

    n_groups: int
    n_background: int = 1

    @property
    def weights(self) -> np.ndarray:
        return np.ones(1)


@dataclass
class _ShapleyPlan(Plan):
    """The rows (encoded table rows, or documents and images), their predictions ``fx`` (n, o), the
    base (o,) of a table or each row's v(empty) (n, o), the outputs chosen and the parameters resolved."""

    masker: Any = None
    rows: Any = None
    fx: Any = None
    base: Any = None
    out_idx: list[int] = field(default_factory=list)
    out_names: list[str] = field(default_factory=list)
    resolved: dict[str, Any] = field(default_factory=dict)


@dataclass
class _RowJob:
    """A chunk of rows to explain, run by a worker with the explainer (sent to it once)."""

    masker: Any  # TabularMasker, TextMasker or ImageMasker
    rows: Any  # encoded (r, d), or a list of TextItem / ImageItem
    fx: np.ndarray  # (r, o)
    fbg: np.ndarray | None  # (m, o) predictions of the background rows; None for documents and images
    base: np.ndarray  # (o,); (r, o) for documents and images: each row's v(empty)
    seeds: list[np.random.SeedSequence]
    params: dict[str, Any]
    index: Sequence[int] = ()  # the rows' positions in X, for error messages

    def __call__(self, explainer: ShapleyExplainer) -> list[RowEstimate]:
        out = []
        # outputs near the float64 limit make differences overflow: the assembled values are checked
        # once (ShapleyExplainer._diagnostics), so numpy's warnings are not wanted here
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            for j, (x, f, seed) in enumerate(zip(self.rows, self.fx, self.seeds)):
                where = f"row {self.index[j]} of X" if j < len(self.index) else "a row of X"
                with evaluating(f"masked copies of {where}"):
                    out.append(self._row(explainer, j, x, f, np.random.default_rng(seed)))
        return out

    def _row(self, explainer: ShapleyExplainer, j: int, x: Any, f: np.ndarray, rng: np.random.Generator) -> RowEstimate:
        params = self.params
        cache = explainer._needs_cache(params)
        vf = ValueFunction(explainer.model, self.masker, x, batch_size=params.get("batch_size"),
                           as_frame=explainer._as_frame)
        if self.fbg is not None:
            refs = ReferenceGames(vf, self.fbg, f, self.masker.weights)
            return explainer._estimate(Game(vf, self.base, f, cache=cache, references=refs), rng, **params)
        k, v0 = int(x.n_features), self.base[j]
        if k == 0:  # nothing to hide (e.g. a document without tokens): the prediction is its own base value
            return RowEstimate(np.zeros((0, f.shape[0])), np.zeros((0, f.shape[0])), 0, exact=True)
        refs = ReferenceGames(vf, v0[None, :], f, np.ones(1))
        game = Game(vf, v0, f, cache=cache, references=refs, n_players=k)
        return explainer._for_row(k)._estimate(game, rng, **params)


class ShapleyExplainer(Explainer[Attribution | RaggedAttribution]):
    """Base of the Shapley explainers (exact and sampled) of tables, documents and images.

    Parameters
    ----------
    model : estimator, Pipeline, callable or adapted model
        For documents, anything that maps a list of strings to predictions; for images, a
        function of a batch of images in the layout given.
    background : array-like or DataFrame, optional
        Rows standing for "feature unknown"; required unless ``masker`` is given.
    masker : TabularMasker, TextMasker or ImageMasker, optional
        A table's background rows; or how the tokens of documents (``TextMasker``) or the
        segments of images (``ImageMasker``) are hidden: each row is then a game of its own
        tokens or segments, explained as a :class:`~xaikit.results.RaggedAttribution`
        (``background``, ``feature_names`` and ``groups`` do not apply).
    output : {"auto", "probability", "log_odds", "raw"}
        The response to explain (probabilities for classifiers by default).
    feature_names : list of str, optional
    groups : mapping of str to feature names or indices, optional
        Features that receive one value together (e.g. the columns of a one-hot encoding).

    Examples
    --------
    >>> import xaikit as xk
    >>> score = lambda docs: [2.0 * ("good" in d) - ("bad" in d) for d in docs]
    >>> exp = xk.ExactShapley(score, masker=xk.TextMasker()).explain(["a good film", "bad"])
    >>> exp[0].feature_names, exp[0].values[0, :, 0].tolist(), exp.base_values[:, 0].tolist()
    (['a', 'good', 'film'], [0.0, 2.0, 0.0], [0.0, 0.0])
    """

    axioms = frozenset({"efficiency", "symmetry", "dummy", "linearity"})
    result = (Attribution, RaggedAttribution)  # tables; documents and images (each row its own players)

    def __init__(
        self,
        model: Any,
        /,
        *,
        background: Any = None,
        masker: Any = None,
        output: str = "auto",
        feature_names: Sequence[str] | None = None,
        groups: Mapping[str, Sequence[int | str]] | None = None,
    ) -> None:
        self.model = adapt(model, output=output)
        self.masker: Any
        if renders_items(masker):
            extras = {"background": background, "feature_names": feature_names, "groups": groups}
            given = [name for name, v in extras.items() if v is not None]
            if given:
                raise InvalidParameterError(
                    f"{given[0]}: a {type(masker).__name__} makes each row's own players (its tokens or segments); "
                    f"expected none of {given}, got {given[0]}={describe(extras[given[0]])}"
                )
            self.masker = masker
            self._as_frame = False
            return
        if masker is not None and not isinstance(masker, TabularMasker):
            raise InvalidParameterError(
                f"masker: expected a TabularMasker, TextMasker or ImageMasker, got {describe(masker)}"
            )
        masker = make_masker(self.model, background=background, masker=masker, feature_names=feature_names, groups=groups)
        self.masker = masker
        self._as_frame = masker.is_frame or self.model.wants_frame

    @property
    def _ragged(self) -> bool:
        """Whether rows are documents or images, each with players of its own."""
        return renders_items(self.masker)

    def _for_row(self, n_players: int) -> ShapleyExplainer:
        """This explainer as it plays the game of one document or image of ``n_players`` players
        (a shallow copy whose masker says so); the estimators read the players from the masker."""
        view = copy.copy(self)
        view.masker = _RowPlayers(n_players)
        return view

    # ---------------------------------------------------------------- to override
    def _estimate(self, game: Game, rng: np.random.Generator, **params: Any) -> RowEstimate:  # pragma: no cover
        raise NotImplementedError

    def _needs_cache(self, params: Mapping[str, Any]) -> bool:
        return params.get("tol") is not None or params.get("max_seconds") is not None

    def _check_params(self, n_players: int, params: dict[str, Any]) -> dict[str, Any]:
        """Validate method parameters (``n_samples``, ``tol``) for ``n_players``."""
        return params

    def _default_n_samples(self, k: int) -> int:
        return 2 * k + 2048

    # ---------------------------------------------------------------- the pipeline's steps
    summary = "Shapley values of every row of ``X``."
    input_doc = """X : array-like (n, d) or DataFrame; documents or images with a TextMasker or ImageMasker
        (a str or a sequence of str; one image or a batch, see :class:`~xaikit.maskers.ImageMasker`)"""
    returns_doc = """Attribution, or RaggedAttribution for documents and images
        ``values`` (n, k, o) with k the number of features (or groups; for documents and
        images the most tokens or segments of a row, the others padded with zeros);
        ``base_values`` (n, o), the value of the empty coalition; diagnostics
        ``n_model_calls`` (n,), ``completeness_gap`` (n, o), ``exact``, ``value_definition``
        (the game), and ``std_err`` (n, k, o) unless every row is exact."""
    explain_parameters = (
        Parameter("n_samples", None, "int, optional", """
            Coalitions evaluated per row (each one a pass over the background); the budget. Exact
            methods ignore it. For documents and images, one budget for every row, checked against
            the row with the most tokens or segments.""", integer(minimum=1)),
        Parameter("tol", None, "float, optional", """
            Stop adding samples once every standard error is at most ``tol`` (``n_samples`` is then
            the maximum).""", real(minimum=0.0, strict=True)),
        Parameter("max_seconds", None, "float, optional", """
            A time budget for the call: sampled estimators add samples in rounds (as with ``tol``) and
            stop once it has passed, returning the estimate so far with its standard errors; every row
            gets at least its first round. ``diagnostics["budget_stopped"]`` (n,) says which rows it
            stopped, ``n_model_calls`` what they spent. Results then depend on the machine's speed.
            Exact methods ignore it.""", real(minimum=0.0, strict=True)),
        Parameter("batch_size", None, "int, optional", "Maximum model input rows per model call.", integer(minimum=1)),
    )

    def _start(self, X: Any, target: Any, params: dict[str, Any]) -> _ShapleyPlan:
        if self._ragged:  # the one result kind a masker changes: rows with their own players
            return self._start_items(X, target, params)
        Z, masker = self.masker.encode(X, "X")
        k = masker.n_groups
        params = self._params(self, k, params)
        fx = self._predict_checked(masker, Z, "X")
        fbg = self._predict_checked(masker, masker.data, "background")
        base = masker.weights @ fbg
        out_idx, out_names = self._select_outputs(target, fx.shape[1])
        run_params = _with_deadline(params)

        def job(c: range, seed: np.random.SeedSequence) -> _RowJob:
            return _RowJob(masker, Z[c.start:c.stop], fx[c.start:c.stop], fbg, base, row_seeds(seed, c), run_params, c)

        return _ShapleyPlan(Z.shape[0], job, masker=masker, rows=Z, fx=fx, base=base, out_idx=out_idx,
                            out_names=out_names, resolved=params)

    def _start_items(self, X: Any, target: Any, params: dict[str, Any]) -> _ShapleyPlan:
        """:meth:`_start` for documents or images: each row a game of its own tokens or segments."""
        masker = self.masker
        items = masker.prepare(X, "X")
        widest = max(max(int(item.n_features) for item in items), 1)
        params = self._params(self._for_row(widest), widest, params)
        fx = self._predict_items(items, True, "X", params["batch_size"])
        v0 = self._predict_items(items, False, "X with every token or segment hidden", params["batch_size"])
        out_idx, out_names = self._select_outputs(target, fx.shape[1])
        run_params = _with_deadline(params)

        def job(c: range, seed: np.random.SeedSequence) -> _RowJob:
            return _RowJob(masker, items[c.start:c.stop], fx[c.start:c.stop], None, v0[c.start:c.stop],
                           row_seeds(seed, c), run_params, c)

        return _ShapleyPlan(len(items), job, masker=masker, rows=items, fx=fx, base=v0, out_idx=out_idx,
                            out_names=out_names, resolved=params)

    def _params(self, view: ShapleyExplainer, k: int, params: dict[str, Any]) -> dict[str, Any]:
        """The method's parameters, checked by ``view`` (this explainer, or its view of the largest
        document or image) for ``k`` players."""
        n_samples, max_seconds = params["n_samples"], params.get("max_seconds")
        params = {"tol": params["tol"], "batch_size": params["batch_size"],
                  "n_samples": self._default_n_samples(k) if n_samples is None else n_samples}
        if max_seconds is not None:  # recorded only when given
            params["max_seconds"] = max_seconds
        return view._check_params(k, params)

    def _finish(self, plan: Plan, parts: list[Any]) -> Answer:
        plan = cast(_ShapleyPlan, plan)
        results: list[RowEstimate] = rows_of(parts)
        masker, out_idx, n = plan.masker, plan.out_idx, plan.n_rows
        exact = all(r.exact for r in results)
        estimate = "exact" if exact else "sampled"
        if not self._ragged:
            values = np.stack([r.values for r in results])[:, :, out_idx]
            base_values = np.repeat(plan.base[None, out_idx], n, axis=0)
            diagnostics = self._diagnostics(results, values, plan.fx[:, out_idx], base_values, out_idx)
            if "max_seconds" in plan.resolved:
                diagnostics["budget_stopped"] = np.array([r.budget_stopped for r in results], dtype=bool)
            diagnostics["n_background"] = int(masker.n_background)
            diagnostics["value_definition"] = value_definition(
                output=self.model.output, value_function="interventional",
                background_rows=int(masker.n_background), estimate=estimate,
            )
            Z, k = plan.rows, masker.n_groups
            data = masker.codec.to_objects(Z) if masker.codec is not None else Z
            fields = {"values": values, "base_values": base_values, "data": data if k == masker.n_features else None,
                      "feature_names": list(masker.group_names), "output_names": plan.out_names}
            return Answer(fields, diagnostics, Attribution, plan.resolved, _provenance(masker))
        items = plan.rows
        lengths = [int(item.n_features) for item in items]
        values = np.zeros((n, max(lengths), len(out_idx)))
        for i, r in enumerate(results):
            values[i, : lengths[i]] = r.values[:, out_idx]
        base_values = plan.base[:, out_idx]
        diagnostics = self._diagnostics(results, values, plan.fx[:, out_idx], base_values, out_idx)
        if "max_seconds" in plan.resolved:
            diagnostics["budget_stopped"] = np.array([r.budget_stopped for r in results], dtype=bool)
        diagnostics["value_definition"] = masked_value_definition(self.model.output, masker, estimate)
        text = masker.kind == "text"
        fields = {
            "values": values, "base_values": base_values, "output_names": plan.out_names,
            "row_feature_names": [list(item.feature_names) for item in items],
            "spans": [[[list(sp) for sp in feature] for feature in item.spans] for item in items] if text else None,
            "texts": [item.text for item in items] if text else None,
            "segments": np.stack([item.segments for item in items]) if not text else None,
        }
        return Answer(fields, diagnostics, RaggedAttribution, {**plan.resolved, "masker": masker.summary()},
                      _provenance(masker))

    def _diagnostics(self, results: list[RowEstimate], values: np.ndarray, fx: np.ndarray, base_values: np.ndarray,
                     out_idx: list[int]) -> dict[str, Any]:
        """What every result's diagnostics hold; ``std_err`` (the selected outputs ``out_idx``, padded
        like ``values``) only when some row was sampled: an exact result carries no standard errors.
        ``fx - base_values`` per row is what the values must add up to. Values, standard errors and
        gaps are checked once here: outputs near the float64 limit make them overflow."""
        exact = all(r.exact for r in results)
        check_finite_result(values, "the Shapley values (rows, features, outputs)")
        with np.errstate(over="ignore", invalid="ignore"):
            gap = values.sum(axis=1) - (fx - base_values)
        check_finite_result(gap, "the completeness gaps (rows, outputs)")
        diagnostics: dict[str, Any] = {}
        if not exact:
            std_err = np.zeros_like(values)
            for i, r in enumerate(results):
                std_err[i, : r.std_err.shape[0]] = r.std_err[:, out_idx]
            check_finite_result(np.where(np.isnan(std_err), 0.0, std_err), "their standard errors")
            diagnostics["std_err"] = std_err
        diagnostics.update({
            "n_model_calls": np.array([r.n_evaluations for r in results], dtype=np.int64),
            "completeness_gap": gap,
            "exact": bool(exact),
        })
        return diagnostics

    def _predict_items(self, items: list[Any], keep: bool, name: str, batch_size: int | None) -> np.ndarray:
        """The model on every document or image with all its players kept (``keep``) or all hidden:
        ``(n, o)``, at most ``batch_size`` inputs (the masker's default) per call."""
        step = max(1, int(self.masker.default_batch_size if batch_size is None else batch_size))
        parts = []
        for a in range(0, len(items), step):
            chunk = items[a : a + step]
            inputs = [self.masker.render(item, np.full((1, item.n_features), keep)) for item in chunk]
            joined = [t for part in inputs for t in part] if isinstance(inputs[0], list) else np.concatenate(inputs)
            where = name if len(items) <= step else f"rows {a}..{a + len(chunk) - 1} of {name}"
            with evaluating(where):
                parts.append(self.model.predict(joined))
        return np.concatenate(parts, axis=0)

    # ---------------------------------------------------------------- helpers
    def _predict_checked(self, masker: TabularMasker, Z: np.ndarray, name: str) -> np.ndarray:
        """Predict encoded rows; a model that cannot take the NaN in them gets a clear error, and a
        model's own exception names them (``name``: "X" or "background")."""
        inputs = masker.decode(Z, as_frame=self._as_frame)
        if not np.isnan(Z).any():
            with evaluating(name):
                return self.model.predict(inputs)
        try:
            with evaluating(name):
                return self.model.predict(inputs)
        except (ValueError, TypeError) as exc:
            where = tuple(int(i) for i in np.argwhere(np.isnan(Z))[0])
            raise InvalidParameterError(
                f"{name}: contains missing values (NaN, first at index {where}) and the model cannot take them "
                f"({type(exc).__name__}: {str(exc)[:200]}); impute them first"
            ) from exc

    def _select_outputs(self, target: Any, n_outputs: int) -> tuple[list[int], list[str]]:
        return select_outputs(target, output_names(self.model.output_names, n_outputs))

    def __repr__(self) -> str:
        if self._ragged:
            return f"{type(self).__name__}(model={self.model!r}, masker={self.masker!r})"
        return f"{type(self).__name__}(model={self.model!r}, n_background={self.masker.n_background})"
