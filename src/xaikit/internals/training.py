"""Training dynamics: gradient and weight norms, update ratios and dead units per layer, while a network trains.

Torch: ``rec = TrainingRecorder(model)`` is the one line added before the loop; hooks do the rest
(a forward pre-hook on the model counts the training steps, ``register_post_accumulate_grad_hook``
reads each parameter's gradient once it is complete, forward hooks on the layers read their
outputs). Keras: ``model.fit(..., callbacks=[keras_callback(probe=(X, y))])``. Nothing recorded
changes the training: no parameter, gradient or random state is written.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from xaikit._validation import describe
from xaikit.errors import InvalidParameterError
from xaikit.internals.activations import check_int, check_rows
from xaikit.results.training_dynamics import TrainingDynamics

__all__ = ["TrainingRecorder", "keras_callback"]


def _dead(out: np.ndarray) -> float:
    """Share of units (values per row) that are <= 0 on every row of a batch."""
    flat = out.reshape(out.shape[0], -1)
    return float((flat <= 0).all(axis=0).mean())


class _Snapshots:
    """The attribution snapshots of a probe set."""

    def __init__(self, explainer: Any, probe: Any, every: int | None) -> None:
        self.explainer = explainer
        self.probe = probe
        self.every = every
        self.values: list[np.ndarray] = []
        self.steps: list[int] = []

    def take(self, model: Any, step: int) -> None:
        exp = self.explainer(model).explain(self.probe) if isinstance(self.explainer, type) else self.explainer(model, self.probe)
        values = np.array(exp.values if hasattr(exp, "values") else exp, dtype=np.float64)
        if values.ndim == 2:
            values = values[:, :, None]
        if values.ndim != 3:
            raise InvalidParameterError(
                f"explainer: expected attributions (n_probe, n_features[, n_outputs]) of the probe, got {describe(values)}"
            )
        self.values.append(values)
        self.steps.append(step)

    def fields(self) -> dict[str, Any]:
        if not self.values:
            return {"attributions": None, "attribution_steps": None, "attribution_method": None}
        name = getattr(self.explainer, "name", None) or getattr(self.explainer, "__name__", type(self.explainer).__name__)
        return {
            "attributions": np.stack(self.values),
            "attribution_steps": np.array(self.steps, dtype=np.int64),
            "attribution_method": str(name),
        }


def _dynamics(records: dict[int, dict[str, np.ndarray]], layer_names: list[str], snapshots: _Snapshots | None, method: str,
              every: int, framework: str) -> TrainingDynamics:
    """The records of a torch recorder or Keras callback (per step: gradient, weight and update norms, dead
    shares), in step order, as a :class:`~xaikit.results.TrainingDynamics`."""
    steps = sorted(records)
    rows = [records[s] for s in steps]
    return TrainingDynamics(
        grad_norm=np.stack([r["grad"] for r in rows]),
        weight_norm=np.stack([r["weight"] for r in rows]),
        update_ratio=np.stack([r["update"] for r in rows]),
        dead_share=np.stack([r["dead"] for r in rows]),
        step=np.array(steps, dtype=np.int64),
        layer_names=layer_names,
        method=method,
        params={"every": every},
        provenance={"framework": framework},
        **(snapshots.fields() if snapshots is not None else {}),
    )


def _check_explainer(explainer: Any, probe: Any, attribution_every: Any) -> _Snapshots | None:
    if explainer is None:
        if attribution_every is not None:
            raise InvalidParameterError(f"attribution_every: expected None without an explainer, got {describe(attribution_every)}")
        return None
    if not callable(explainer):
        raise InvalidParameterError(
            f"explainer: expected an explainer class (e.g. xk.GradCam) or a function (model, probe) -> attribution, got {describe(explainer)}"
        )
    if probe is None:
        raise InvalidParameterError("probe: expected the probe inputs the explainer attributes, got None")
    every = check_int(attribution_every, "attribution_every")
    return _Snapshots(explainer, probe, every)


class TrainingRecorder:
    """Records, per layer (module with parameters) and every ``every`` training steps, the gradient
    norm, weight norm, update-to-weight ratio and share of dead units of a torch module as it trains.

    Add one line before the training loop, ``rec = TrainingRecorder(model)``; read ``rec.result()``
    after (or during) training; ``rec.close()`` removes the hooks. Between recorded steps only a
    forward pre-hook on ``model`` runs; the layer and gradient hooks are set for the recorded steps. A training step is a forward
    call of ``model`` in training mode with gradients enabled (``model.train()``), followed by
    ``backward()`` and the optimiser's step. At a recorded step ``t``: the gradient norm is that of
    the gradients accumulated by the step's backward pass (``p.grad`` as ``optimizer.step()`` reads
    it), the weight norm that of the parameters before the update, the update ratio
    ``||w_{t+1} - w_t|| / ||w_t||`` (read at the next step's forward call, NaN for the last step),
    and the dead share that of the layer's output units that are <= 0 on every row of the batch.

    Parameters
    ----------
    model : torch.nn.Module
    every : int
        Record one step in ``every`` (steps 0, every, 2 * every...).
    probe : array-like, optional
        Fixed inputs the explainer attributes.
    explainer : explainer class or callable, optional
        ``explainer(model).explain(probe)`` (e.g. ``xk.GradCam`` with ``functools.partial`` for its
        layer), or a function ``(model, probe) -> values`` of shape (n_probe, n_features[, n_outputs]);
        it must not change the parameters or their gradients (xaikit's explainers run in evaluation
        mode and use ``torch.autograd.grad``).
    attribution_every : int, optional
        Take the attribution of the probe every this many steps (from step 0), when an explainer is given.

    Examples
    --------
    >>> import torch
    >>> torch.manual_seed(0) and None
    >>> net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))
    >>> rec = TrainingRecorder(net, every=2)
    >>> opt = torch.optim.SGD(net.parameters(), lr=0.1)
    >>> X, y = torch.randn(8, 3), torch.randn(8, 1)
    >>> for _ in range(5):
    ...     opt.zero_grad(); loss = ((net(X) - y) ** 2).mean(); loss.backward(); opt.step()
    >>> dyn = rec.result()
    >>> dyn.step.tolist(), dyn.layer_names
    ([0, 2, 4], ['0', '2'])
    >>> bool(abs(dyn.grad_norm[-1, 1] - float(torch.cat([p.grad.flatten() for p in net[2].parameters()]).norm())) < 1e-6)
    True
    """

    def __init__(self, model: Any, *, every: int = 10, probe: Any = None, explainer: Any = None, attribution_every: int | None = None) -> None:
        import torch

        if not isinstance(model, torch.nn.Module):
            raise InvalidParameterError(f"model: expected a torch.nn.Module, got {describe(model)}")
        self.every = int(check_int(every, "every") or 1)
        self.model = model
        self._snapshots = _check_explainer(explainer, probe, attribution_every)
        self.layers = [(name, m) for name, m in model.named_modules() if any(True for _ in m.parameters(recurse=False))]
        if not self.layers:
            raise InvalidParameterError(f"model: expected a module with parameters, got {type(model).__name__} without any")
        self.layer_names = [name or type(m).__name__ for name, m in self.layers]
        self._step = -1
        self._busy = False
        self._rows: dict[int, dict[str, np.ndarray]] = {}
        self._before: list[list[Any]] | None = None
        self._before_step = -1
        self._handles: list[Any] = [model.register_forward_pre_hook(self._on_forward)]
        #: The hooks of the recorded step in progress, set at its forward call and removed at the next
        #: step's: steps that are not recorded run with the one pre-hook above.
        self._transient: list[Any] = []

    def _watch(self) -> None:
        """Hooks on the layers' outputs and the parameters' gradients, for the step starting now."""
        for j, (_, module) in enumerate(self.layers):
            self._transient.append(module.register_forward_hook(self._output_hook(j)))
            for p in module.parameters(recurse=False):
                if p.requires_grad:
                    self._transient.append(p.register_post_accumulate_grad_hook(self._grad_hook(j)))

    def _unwatch(self) -> None:
        for handle in self._transient:
            handle.remove()
        self._transient = []

    # -- hooks ---------------------------------------------------------------------------

    def _record(self, step: int) -> dict[str, np.ndarray]:
        d = len(self.layers)
        if step not in self._rows:
            self._rows[step] = {
                "grad": np.zeros(d),
                "weight": np.full(d, np.nan),
                "update": np.full(d, np.nan),
                "dead": np.full(d, np.nan),
            }
        return self._rows[step]

    def _norms(self) -> list[list[Any]]:
        return [[p.detach().clone() for p in m.parameters(recurse=False)] for _, m in self.layers]

    def _on_forward(self, module: Any, args: Any) -> None:
        import torch

        if self._busy or not module.training or not torch.is_grad_enabled():
            return
        self._step += 1
        step = self._step
        if self._transient:
            self._unwatch()
        if self._before is not None:  # the previous recorded step's update is done
            row = self._record(self._before_step)
            for j, (_, m) in enumerate(self.layers):
                params = list(m.parameters(recurse=False))
                diff = sum(float(torch.dist(p.detach(), b)) ** 2 for p, b in zip(params, self._before[j]))
                w = float(row["weight"][j])
                row["update"][j] = np.sqrt(diff) / w if w > 0 else np.nan
            self._before = None
        if self._snapshots is not None and self._snapshots.every and step % self._snapshots.every == 0:
            self._attribute(step)
        if step % self.every == 0:
            row = self._record(step)
            self._before = self._norms()
            self._before_step = step
            self._watch()
            for j, params in enumerate(self._before):
                row["weight"][j] = np.sqrt(sum(float(torch.linalg.vector_norm(p)) ** 2 for p in params))

    def _attribute(self, step: int) -> None:
        assert_snap = self._snapshots
        if assert_snap is None:
            return
        self._busy = True
        try:
            assert_snap.take(self.model, step)
        finally:
            self._busy = False

    def _output_hook(self, j: int) -> Any:
        def hook(module: Any, args: Any, out: Any) -> None:
            import torch

            if self._busy or self._step % self.every or not self.model.training or not torch.is_grad_enabled():
                return
            if isinstance(out, torch.Tensor):
                # a unit is dead on the batch when its largest value is <= 0: one reduction over the batch
                self._record(self._step)["dead"][j] = float((out.detach().flatten(1).amax(dim=0) <= 0).double().mean())

        return hook

    def _grad_hook(self, j: int) -> Any:
        def hook(p: Any) -> None:
            import torch

            if self._busy or self._step < 0 or self._step % self.every:
                return
            row = self._record(self._step)
            row["grad"][j] = np.hypot(row["grad"][j], float(torch.linalg.vector_norm(p.grad.detach())))

        return hook

    # -- results -------------------------------------------------------------------------

    def close(self) -> None:
        """Remove the hooks (the records stay)."""
        self._unwatch()
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def result(self) -> TrainingDynamics:
        """The records so far, as a :class:`~xaikit.results.TrainingDynamics`."""
        if not self._rows:
            raise InvalidParameterError("model: no training step was recorded yet (a step is a forward call in training mode with gradients)")
        return _dynamics(self._rows, self.layer_names, self._snapshots, "training_recorder", self.every, "torch")


def keras_callback(
    *,
    probe: Any = None,
    every: int = 10,
    explainer: Any = None,
    attribution_every: int | None = None,
    attribution_probe: Any = None,
) -> Any:
    """A ``keras.callbacks.Callback`` that records the training dynamics of a Keras model.

    ``model.fit(X, y, callbacks=[cb])``, then ``cb.result()``. Keras does not hand the batches to
    callbacks, so the gradients are those of the model's loss (``model.compute_loss``) on a fixed
    probe batch ``(X, y)``, computed with ``tf.GradientTape`` in inference mode at the start of
    each recorded step, on the weights the step starts from (with one batch per epoch and the
    whole training set as probe, they are the step's own gradients). The dead share is read on the
    probe's inputs. Nothing is written to the model: the trained weights are those of a fit without
    the callback. Steps are counted by Keras's batch callbacks, so compile the model with
    ``steps_per_execution=1`` (Keras's default): with more, one callback stands for several steps.

    Parameters
    ----------
    probe : tuple (X, y)
        The batch the gradients and dead units are measured on.
    every : int
        Record one step in ``every`` (0-based count of batches over all epochs).
    explainer, attribution_every, attribution_probe
        As for :class:`TrainingRecorder` (``attribution_probe``: the inputs attributed, default the probe's X).

    Returns
    -------
    keras.callbacks.Callback
        With ``result() -> TrainingDynamics``.
    """
    import keras

    if not isinstance(probe, (tuple, list)) or len(probe) != 2:
        raise InvalidParameterError(f"probe: expected a tuple (X, y) of probe inputs and labels, got {describe(probe)}")
    X = check_rows(probe[0], "probe")
    y = np.asarray(probe[1])
    if y.shape[:1] != X.shape[:1]:
        raise InvalidParameterError(f"probe: expected as many labels as inputs ({X.shape[0]}), got {describe(y)}")
    step_every = int(check_int(every, "every") or 1)
    snapshots = _check_explainer(explainer, X if attribution_probe is None else attribution_probe, attribution_every)

    class _Recorder(keras.callbacks.Callback):  # type: ignore[misc,name-defined]
        """Records gradient and weight norms, update ratios and dead units per layer with weights."""

        def __init__(self) -> None:
            super().__init__()
            self.every = step_every
            self._step = -1
            self._rows: dict[int, dict[str, np.ndarray]] = {}
            self._before: list[list[np.ndarray]] | None = None
            self._layers: list[Any] = []
            self._probe_model: Any = None

        def _setup(self) -> None:
            model = self.model
            self._layers = [layer for layer in model.layers if layer.trainable_weights]
            try:
                self._probe_model = keras.Model(model.inputs[0] if len(model.inputs) == 1 else model.inputs, [layer.output for layer in self._layers])
            except (AttributeError, ValueError, TypeError):
                self._probe_model = None  # a subclassed model: no dead units

        def on_train_begin(self, logs: Any = None) -> None:
            self._setup()

        def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
            import tensorflow as tf

            self._step += 1
            step = self._step
            if snapshots is not None and snapshots.every and step % snapshots.every == 0:
                snapshots.take(self.model, step)
            if step % self.every:
                return
            d = len(self._layers)
            row = {"grad": np.zeros(d), "weight": np.zeros(d), "update": np.full(d, np.nan), "dead": np.full(d, np.nan)}
            self._before = [[np.array(w.numpy(), dtype=np.float64) for w in layer.trainable_weights] for layer in self._layers]
            for j, ws in enumerate(self._before):
                row["weight"][j] = np.sqrt(sum(float(np.sum(w**2)) for w in ws))
            variables = [w for layer in self._layers for w in layer.trainable_weights]
            x = tf.convert_to_tensor(X)
            with tf.GradientTape() as tape:
                y_pred = self.model(x, training=False)
                loss = self.model.compute_loss(x=x, y=tf.convert_to_tensor(y), y_pred=y_pred, training=False)
            grads = tape.gradient(loss, variables)
            k = 0
            for j, layer in enumerate(self._layers):
                total = 0.0
                for _ in layer.trainable_weights:
                    g = grads[k]
                    k += 1
                    if g is not None:
                        total += float(np.sum(np.asarray(g, dtype=np.float64) ** 2))
                row["grad"][j] = np.sqrt(total)
            if self._probe_model is not None:
                outs = self._probe_model(x, training=False)
                outs = outs if isinstance(outs, (list, tuple)) else [outs]
                for j, out in enumerate(outs):
                    row["dead"][j] = _dead(np.asarray(out, dtype=np.float64))
            self._rows[step] = row

        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            if self._before is None:
                return
            row = self._rows[self._step]
            for j, layer in enumerate(self._layers):
                diff = sum(float(np.sum((np.asarray(w.numpy(), dtype=np.float64) - b) ** 2))
                           for w, b in zip(layer.trainable_weights, self._before[j]))
                w_norm = row["weight"][j]
                row["update"][j] = np.sqrt(diff) / w_norm if w_norm > 0 else np.nan
            self._before = None

        def result(self) -> TrainingDynamics:
            if not self._rows:
                raise InvalidParameterError("model: no training step was recorded yet (pass the callback to model.fit)")
            return _dynamics(self._rows, [layer.name for layer in self._layers], snapshots, "keras_callback", self.every, "keras")

    return _Recorder()
