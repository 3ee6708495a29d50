"""What every interventional Shapley explainer shares: the boundary, the row loop, the result."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from xaikit._validation import RandomState, check_float, check_int, check_random_state, spawn_seeds
from xaikit.errors import InvalidParameterError
from xaikit.explainers._games import Game, ReferenceGames
from xaikit.explainers.base import Explainer, map_rows, output_names, provenance, select_outputs
from xaikit.explainers.value_definition import value_definition
from xaikit.results import Attribution
from xaikit.maskers.tabular import TabularMasker
from xaikit.maskers.value_function import ValueFunction
from xaikit.models import adapt
from xaikit.models.base import AdaptedModel

__all__ = ["ShapleyExplainer", "RowEstimate", "make_masker"]


@dataclass
class RowEstimate:
    """An estimator's answer for one row."""

    values: np.ndarray  # (k, o)
    std_err: np.ndarray  # (k, o)
    n_evaluations: int
    exact: bool = False


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


def _provenance(model: AdaptedModel, masker: TabularMasker, seed: Any) -> dict[str, Any]:
    return provenance(
        model.describe(), model.output, seed,
        value_function="interventional (marginal) expectation over the background", background=masker.summary(),
    )


@dataclass
class _RowJob:
    """A chunk of rows to explain; sent whole to an executor's worker."""

    explainer: ShapleyExplainer
    masker: TabularMasker
    rows: np.ndarray  # encoded (r, d)
    fx: np.ndarray  # (r, o)
    fbg: np.ndarray  # (m, o) predictions of the background rows
    base: np.ndarray  # (o,)
    seeds: list[np.random.SeedSequence]
    params: dict[str, Any]

    def __call__(self) -> list[RowEstimate]:
        out = []
        for x, f, seed in zip(self.rows, self.fx, self.seeds):
            vf = ValueFunction(
                self.explainer.model, self.masker, x,
                batch_size=self.params.get("batch_size"), as_frame=self.explainer._as_frame,
            )
            refs = ReferenceGames(vf, self.fbg, f, self.masker.weights)
            game = Game(vf, self.base, f, cache=self.explainer._needs_cache(self.params), references=refs)
            out.append(self.explainer._estimate(game, np.random.default_rng(seed), **self.params))
        return out


def _run_job(job: _RowJob) -> list[RowEstimate]:
    return job()


class ShapleyExplainer(Explainer):
    """Base of the interventional Shapley explainers (exact and sampled).

    Parameters
    ----------
    model : estimator, Pipeline, callable or adapted model
    background : array-like or DataFrame, optional
        Rows standing for "feature unknown"; required unless ``masker`` is given.
    masker : TabularMasker, optional
    output : {"auto", "probability", "log_odds", "raw"}
        The response to explain (probabilities for classifiers by default).
    feature_names : list of str, optional
    groups : mapping of str to feature names or indices, optional
        Features that receive one value together (e.g. the columns of a one-hot encoding).
    """

    axioms = frozenset({"efficiency", "symmetry", "dummy", "linearity"})

    def __init__(
        self,
        model: Any,
        /,
        *,
        background: Any = None,
        masker: TabularMasker | None = None,
        output: str = "auto",
        feature_names: Sequence[str] | None = None,
        groups: Mapping[str, Sequence[int | str]] | None = None,
    ) -> None:
        self.model = adapt(model, output=output)
        masker = make_masker(self.model, background=background, masker=masker, feature_names=feature_names, groups=groups)
        self.masker = masker
        self._as_frame = masker.is_frame or self.model.wants_frame

    # ---------------------------------------------------------------- to override
    def _estimate(self, game: Game, rng: np.random.Generator, **params: Any) -> RowEstimate:  # pragma: no cover
        raise NotImplementedError

    def _needs_cache(self, params: Mapping[str, Any]) -> bool:
        return params.get("tol") is not None

    def _check_params(self, n_players: int, params: dict[str, Any]) -> dict[str, Any]:
        """Validate method parameters (``n_samples``, ``tol``) for ``n_players``."""
        return params

    def _default_n_samples(self, k: int) -> int:
        return 2 * k + 2048

    # ---------------------------------------------------------------- public
    def explain(
        self,
        X: Any,
        /,
        *,
        target: int | str | Sequence[int | str] | None = None,
        n_samples: int | None = None,
        tol: float | None = None,
        batch_size: int | None = None,
        executor: Any = "auto",
        random_state: RandomState = None,
    ) -> Attribution:
        """Shapley values of every row of ``X``.

        Parameters
        ----------
        X : array-like (n, d) or DataFrame
        target : int, str or list, optional
            Outputs to return (index or name); all by default.
        n_samples : int, optional
            Coalitions evaluated per row (each one a pass over the background); the
            budget. Exact methods ignore it.
        tol : float, optional
            Stop adding samples once every standard error is at most ``tol`` (``n_samples``
            is then the maximum).
        batch_size : int, optional
            Maximum model input rows per model call.
        executor : "auto", "serial", "threads[:N]", "processes[:N]" or Executor (see ``docs/api.md``)
        random_state : int, Generator or None

        Returns
        -------
        Attribution
            ``values`` (n, k, o) with k the number of features (or groups); diagnostics
            ``std_err`` (n, k, o), ``n_model_calls`` (n,), ``completeness_gap`` (n, o).
        """
        start = time.perf_counter()
        Z, masker = self.masker.encode(X, "X")
        k = masker.n_groups
        params: dict[str, Any] = {"tol": None, "batch_size": None}
        if batch_size is not None:
            params["batch_size"] = check_int(batch_size, "batch_size", minimum=1)
        if tol is not None:
            params["tol"] = check_float(tol, "tol", minimum=0.0, strict_minimum=True)
        params["n_samples"] = (
            self._default_n_samples(k) if n_samples is None else check_int(n_samples, "n_samples", minimum=1)
        )
        params = self._check_params(k, params)
        seed_seq = check_random_state(random_state)

        fx = self._predict_checked(masker, Z, "X")
        fbg = self._predict_checked(masker, masker.data, "background")
        base = masker.weights @ fbg
        out_idx, out_names = self._select_outputs(target, fx.shape[1])

        n = Z.shape[0]
        seeds = spawn_seeds(seed_seq, n)
        results = map_rows(
            executor, n,
            lambda c: _RowJob(self, masker, Z[list(c)], fx[list(c)], fbg, base, [seeds[i] for i in c], params),
            _run_job,
        )

        values = np.stack([r.values for r in results])[:, :, out_idx]
        std_err = np.stack([r.std_err for r in results])[:, :, out_idx]
        base_values = np.repeat(base[None, out_idx], n, axis=0)
        gap = values.sum(axis=1) - (fx[:, out_idx] - base_values)
        data = masker.codec.to_objects(Z) if masker.codec is not None else Z
        diagnostics: dict[str, Any] = {
            "std_err": std_err,
            "n_model_calls": np.array([r.n_evaluations for r in results], dtype=np.int64),
            "completeness_gap": gap,
            "exact": bool(all(r.exact for r in results)),
            "runtime_s": time.perf_counter() - start,
            "seed": int(seed_seq.entropy) if isinstance(seed_seq.entropy, int) else None,
            "n_background": int(masker.n_background),
            "value_definition": value_definition(
                output=self.model.output, value_function="interventional",
                background_rows=int(masker.n_background), estimate="exact" if all(r.exact for r in results) else "sampled",
            ),
        }
        return Attribution(
            values=values,
            base_values=base_values,
            data=data if k == masker.n_features else None,
            feature_names=list(masker.group_names),
            output_names=out_names,
            method=self.name,
            params={**{k_: v for k_, v in params.items()}, "output": self.model.output},
            diagnostics=diagnostics,
            provenance=_provenance(self.model, masker, diagnostics["seed"]),
        )

    # ---------------------------------------------------------------- helpers
    def _predict_checked(self, masker: TabularMasker, Z: np.ndarray, name: str) -> np.ndarray:
        """Predict encoded rows; a model that cannot take the NaN in them gets a clear error."""
        inputs = masker.decode(Z, as_frame=self._as_frame)
        if not np.isnan(Z).any():
            return self.model.predict(inputs)
        try:
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
        return f"{type(self).__name__}(model={self.model!r}, n_background={self.masker.n_background})"
