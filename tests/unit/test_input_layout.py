"""One reader of inputs for every deep method: the methods of input gradients and the layer methods read
X, additional_forward_args and baselines through the same InputLayout."""

from __future__ import annotations

import numpy as np
import pytest

import xaikit as xk
from xaikit.errors import InvalidParameterError
from xaikit.explainers.gradients.inputs import InputLayout, PackedModel, Rows, id_baseline

torch = pytest.importorskip("torch")
nn = torch.nn
TorchModel = pytest.importorskip("xaikit.models.torch").TorchModel
layer_methods = pytest.importorskip("xaikit.explainers.gradients.layer_methods")


class Reshaped(nn.Module):
    """Token ids reshaped before the embedding (a view of the same ids, rows kept), flattened after it."""

    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(7, 3)
        self.out = nn.Linear(12, 2)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        n = ids.shape[0]
        return self.out(torch.tanh(self.emb(ids.reshape(n, 2, 2))).reshape(n, -1))


class Pair(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(3, 2)
        self.b = nn.Linear(2, 2)

    def forward(self, x: torch.Tensor, y: torch.Tensor, scale: torch.Tensor | float = 1.0) -> torch.Tensor:
        return torch.tanh(self.a(x)) * scale + self.b(y)


@pytest.fixture(scope="module")
def flattened() -> nn.Module:
    torch.manual_seed(0)
    return Reshaped().double()


@pytest.fixture(scope="module")
def pair() -> nn.Module:
    torch.manual_seed(1)
    return Pair().double()


def test_token_ids_reshaped_before_their_embedding_are_explained_on_it(flattened):
    ids = np.array([[1, 2, 3, 4], [5, 6, 0, 2]])
    assert layer_methods.embedding_layer(flattened, ids) == "emb"
    assert TorchModel(flattened).embedding_of(ids, 0) == "emb"
    ig = xk.IntegratedGradients(flattened).explain(ids, target=1, baseline=0, n_steps=24)
    layer = layer_methods.LayerIntegratedGradients(flattened, layer="emb", summed="last").explain(ids, target=1, baseline=0, n_steps=24)
    # the same path on the same embedding, one value per token
    assert ig.values.shape == (2, 4, 1) and ig.input_shape == (2, 2)
    np.testing.assert_allclose(ig.values, layer.values.reshape(ig.values.shape), rtol=1e-10, atol=1e-12)
    assert np.abs(ig.diagnostics["completeness_gap"]).max() < 1e-8


def test_baselines_by_name_per_input_and_per_attributed_input_agree(pair):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(3, 3)), rng.normal(size=(3, 2))
    bx, by = np.full(3, 0.25), np.full(2, -0.5)
    as_tuple = xk.IntegratedGradients(pair).explain((x, y), target=0, baseline=(bx, by), n_steps=16)
    by_name = xk.IntegratedGradients(pair).explain({"x": x, "y": y}, target=0, baseline={"x": bx, "y": by}, n_steps=16)
    np.testing.assert_allclose(by_name.values, as_tuple.values, rtol=1e-12)
    # the layer methods read the same baselines: layer IG on the first layer after x, the y part held at its baseline
    layer_tuple = layer_methods.LayerIntegratedGradients(pair, layer="a").explain((x, y), target=0, baseline=(bx, by), n_steps=16)
    layer_name = layer_methods.LayerIntegratedGradients(pair, layer="a").explain({"x": x, "y": y}, target=0, baseline={"x": bx, "y": by}, n_steps=16)
    np.testing.assert_allclose(layer_name.values, layer_tuple.values, rtol=1e-12)
    assert np.abs(layer_tuple.values).max() > 1e-3
    # a fixed argument after the inputs; a baseline per attributed input (the scale is not one)
    scaled = xk.IntegratedGradients(pair).explain((x, y, np.full((3, 1), 2.0).astype(np.int64)), target=0, baseline=(bx, by), n_steps=16)
    held = xk.IntegratedGradients(pair).explain((x, y), target=0, baseline=(bx, by), n_steps=16, additional_forward_args=(2.0,))
    np.testing.assert_allclose(scaled.values, held.values, rtol=1e-12)
    assert not np.allclose(scaled.values, as_tuple.values)


def test_rows_of_a_layout_reach_the_model_with_their_fixed_arguments(pair):
    rng = np.random.default_rng(1)
    x, y, s = rng.normal(size=(5, 3)), rng.normal(size=(5, 2)), rng.uniform(1, 2, size=(5, 1))
    layout = InputLayout((x, y), (s,))
    model = PackedModel(TorchModel(pair), layout)
    rows = Rows(layout)[1:4]
    expected = pair(*(torch.from_numpy(v[1:4]) for v in (x, y, s))).detach().numpy()
    np.testing.assert_allclose(model.predict(rows), expected, rtol=1e-12)
    np.testing.assert_allclose(model.predict(layout.packed()[1:4], np.arange(1, 4)), expected, rtol=1e-12)


def test_one_message_for_each_wrong_input_or_baseline(pair):
    ids = np.array([[1, 2], [3, 4]])
    with pytest.raises(InvalidParameterError, match=r"baseline: the input X holds token ids .* integer baseline"):
        id_baseline(0.5, ids, "X")
    np.testing.assert_array_equal(id_baseline(np.array([5.0, 6.0]), ids, "X"), [[5, 6], [5, 6]])
    layout = InputLayout((np.zeros((2, 3)), np.zeros((2, 2))))
    with pytest.raises(InvalidParameterError, match=r"baseline: expected one item per input \(2\)"):
        layout.split((0.0, 1.0, 2.0), "baseline")
    with pytest.raises(InvalidParameterError, match="additional_forward_args: the inputs are given by name"):
        layer_methods.LayerActivation(pair, layer="a").explain({"x": np.zeros((2, 3)), "y": np.zeros((2, 2))}, additional_forward_args=(1.0,))
    bad = np.zeros((2, 3))
    bad[1, 2] = np.nan
    for explainer in (layer_methods.LayerGradientXActivation(pair, layer="a"), xk.Saliency(pair)):
        with pytest.raises(InvalidParameterError, match=r"X\[0\]"):  # no attribution computed from a NaN
            explainer.explain((bad, np.zeros((2, 2))), target=0)
