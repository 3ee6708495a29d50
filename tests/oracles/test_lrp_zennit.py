"""LRP against Zennit on a VGG-like and a ResNet-like network, float64.

Zennit's composites, with its ``SequentialMergeBatchNorm`` canonizer, on the same networks and
inputs, with the relevance started as ``f(x)[target]`` on the target output: xaikit's attributions
agree to 1e-5 of the largest attribution (measured: at most 6e-15, every named composite, both networks).
Also: conservation on a bias-free network with a tiny epsilon, the user's module left unchanged
(parameters, buffers, hooks, training flags), and the errors for a bad composite.

The networks' batch norms have ``eps=0``: Zennit's merge turns a batch norm into ``x / sqrt(1 + eps)``
(unit variance, its eps kept), so its canonized network's output differs from the network's own by
about ``eps / 2`` per batch norm, while xaikit merges exactly; with ``eps=0`` both are exact, and
``test_batch_norm_eps_is_kept_in_the_merge`` checks that the usual ``eps=1e-5`` accounts for the rest.
"""

from __future__ import annotations

import numpy as np
import pytest

from xaikit.errors import InvalidParameterError, UnsupportedModelError
from xaikit.explainers.gradients.lrp import COMPOSITES, AlphaBeta, Epsilon, Flat, Gamma, Lrp, Pass, WSquare, ZBox, ZPlus
from xaikit.testing.references import import_zennit

pytestmark = [pytest.mark.oracle]

torch = pytest.importorskip("torch")


zennit = import_zennit()  # a test requirement: its absence fails, it does not skip
zennit_composites, zennit_canonizers, zennit_rules, zennit_types = zennit.composites, zennit.canonizers, zennit.rules, zennit.types
nn = torch.nn

RTOL = 1e-5
LOW, HIGH = -1.0, 1.0


def _randomise_batch_norms(net: nn.Module, gen: torch.Generator) -> None:
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                c = m.num_features
                m.running_mean.copy_(0.3 * torch.randn(c, generator=gen, dtype=torch.float64))
                m.running_var.copy_(0.5 + torch.rand(c, generator=gen, dtype=torch.float64))
                m.weight.copy_(0.5 + torch.rand(c, generator=gen, dtype=torch.float64))
                m.bias.copy_(0.1 * torch.randn(c, generator=gen, dtype=torch.float64))
                m.eps = 0.0  # Zennit's merged batch norm keeps its eps (see the module docstring)


def vgg_like() -> nn.Module:
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU(inplace=True), nn.AvgPool2d(2),
        nn.Flatten(), nn.Linear(24, 16), nn.ReLU(), nn.Linear(16, 5),
    ).double()
    _randomise_batch_norms(net, torch.Generator().manual_seed(1))
    return net.eval()


class Block(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.conv1, self.bn1, self.relu1 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU()
        self.conv2, self.bn2 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)
        self.relu2 = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x)))))
        return self.relu2(out + x)


class ResNetLike(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem, self.bn, self.relu = nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU()
        self.block1, self.block2 = Block(4), Block(4)
        self.pool, self.flatten, self.fc = nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(16, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn(self.stem(x)))
        return self.fc(self.flatten(self.pool(self.block2(self.block1(x)))))


def resnet_like() -> nn.Module:
    torch.manual_seed(0)
    net = ResNetLike().double()
    _randomise_batch_norms(net, torch.Generator().manual_seed(2))
    return net.eval()


NETWORKS = {"vgg": vgg_like, "resnet": resnet_like}


@pytest.fixture(scope="module")
def nets() -> dict[str, nn.Module]:
    return {name: make() for name, make in NETWORKS.items()}


@pytest.fixture(scope="module")
def X() -> np.ndarray:
    return np.random.default_rng(0).uniform(LOW, HIGH, size=(3, 2, 8, 8))


def zennit_composite(name: str) -> object:
    canonizers = [zennit_canonizers.SequentialMergeBatchNorm()]
    if name == "epsilon_gamma_box":
        return zennit_composites.EpsilonGammaBox(low=LOW, high=HIGH, canonizers=canonizers)
    if name == "epsilon":  # not one of Zennit's names: the epsilon rule on every dense layer and convolution
        base = zennit_composites.layer_map_base()
        return zennit_composites.LayerMapComposite(base + [(zennit_types.Linear, zennit_rules.Epsilon())], canonizers=canonizers)
    return zennit_composites.COMPOSITES[name](canonizers=canonizers)


def zennit_relevance(net: nn.Module, X: np.ndarray, target: int, composite: object) -> np.ndarray:
    x = torch.from_numpy(X.copy()).requires_grad_(True)
    with composite.context(net) as modified:  # type: ignore[attr-defined]
        out = modified(x)
        start = torch.zeros_like(out)
        start[:, target] = out.detach()[:, target]
        (r,) = torch.autograd.grad(out, x, grad_outputs=start)
    return r.detach().numpy()


def rel_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).max() / np.abs(b).max())


@pytest.mark.parametrize("net_name", list(NETWORKS))
@pytest.mark.parametrize("name", list(COMPOSITES))
def test_named_composites_equal_zennit(nets: dict[str, nn.Module], X: np.ndarray, net_name: str, name: str) -> None:
    net = nets[net_name]
    target = 2
    ours = Lrp(net, composite=name, low=LOW, high=HIGH).explain(X, target=target)
    values = ours.values[:, :, 0].reshape(X.shape)
    ref = zennit_relevance(net, X, target, zennit_composite(name))
    assert np.abs(ref).max() > 1e-6 and np.ptp(ref) > 0  # a non-trivial reference
    assert rel_diff(values, ref) < RTOL, (net_name, name, rel_diff(values, ref))
    fx = net(torch.from_numpy(X)).detach().numpy()[:, target]
    np.testing.assert_allclose(ours.diagnostics["conservation_gap"], np.abs(ref.reshape(3, -1).sum(axis=1) - fx), atol=1e-9)


def test_custom_mapping_equals_zennit(nets: dict[str, nn.Module], X: np.ndarray) -> None:
    """Rules given by layer name and by type, against Zennit's NameLayerMapComposite with the same rules."""
    net = nets["vgg"]
    ours = Lrp(net, composite={"0": Gamma(0.5), "4": ZBox(0.0, 2.0), nn.Linear: Epsilon(0.01),
                               "9": AlphaBeta(2.0, 1.0), "7": Flat()}).explain(X, target=1)
    zr, zt = zennit_rules, zennit_types
    ref_comp = zennit_composites.NameLayerMapComposite(
        name_map=[(("0",), zr.Gamma(0.5)), (("4",), zr.ZBox(0.0, 2.0)), (("9",), zr.AlphaBeta(2.0, 1.0)), (("7",), zr.Flat())],
        layer_map=[(nn.Linear, zr.Epsilon(0.01)), (zt.Activation, zr.Pass()), (zt.AvgPool, zr.Norm()), (zt.BatchNorm, zr.Pass())],
        canonizers=[zennit_canonizers.SequentialMergeBatchNorm()],
    )
    ref = zennit_relevance(net, X, 1, ref_comp)
    assert rel_diff(ours.values[:, :, 0].reshape(X.shape), ref) < RTOL


def test_wsquare_zero_bias_and_zplus_by_name_equal_zennit(nets: dict[str, nn.Module], X: np.ndarray) -> None:
    net = nets["resnet"]
    ours = Lrp(net, composite={"stem": WSquare(), "block1.conv1": ZPlus(zero_bias=True), "group:conv": Epsilon(0.1, zero_bias=True),
                               "fc": Epsilon(1e-3)}).explain(X, target=4)
    zr, zt = zennit_rules, zennit_types
    ref_comp = zennit_composites.NameLayerMapComposite(
        name_map=[(("stem",), zr.WSquare()), (("block1.conv1",), zr.ZPlus(zero_params=["bias"])), (("fc",), zr.Epsilon(1e-3))],
        layer_map=[(zt.Convolution, zr.Epsilon(0.1, zero_params=["bias"])), (zt.Activation, zr.Pass()), (zt.AvgPool, zr.Norm()),
                   (zt.BatchNorm, zr.Pass())],
        canonizers=[zennit_canonizers.SequentialMergeBatchNorm()],
    )
    ref = zennit_relevance(net, X, 4, ref_comp)
    assert rel_diff(ours.values[:, :, 0].reshape(X.shape), ref) < RTOL


def test_layers_without_rules_take_the_gradient_of_the_merged_network(nets: dict[str, nn.Module], X: np.ndarray) -> None:
    """Convolutions without a rule: the gradient flows through them and their batch norms (merged or not, the same)."""
    zr, zt = zennit_rules, zennit_types
    for net_name in NETWORKS:
        ours = Lrp(nets[net_name], composite={"group:dense": Epsilon(1e-3)}).explain(X, target=0)
        ref_comp = zennit_composites.LayerMapComposite(
            [(nn.Linear, zr.Epsilon(1e-3)), (zt.Activation, zr.Pass()), (zt.AvgPool, zr.Norm()), (zt.BatchNorm, zr.Pass())],
            canonizers=[zennit_canonizers.SequentialMergeBatchNorm()],
        )
        ref = zennit_relevance(nets[net_name], X, 0, ref_comp)
        assert rel_diff(ours.values[:, :, 0].reshape(X.shape), ref) < RTOL, net_name


def test_only_torch_modules() -> None:
    with pytest.raises(UnsupportedModelError, match="model: "):
        Lrp(lambda X: X.sum(axis=1, keepdims=True))


def test_batch_size_does_not_change_the_result(nets: dict[str, nn.Module], X: np.ndarray) -> None:
    lrp = Lrp(nets["resnet"], composite="epsilon_plus")
    whole = lrp.explain(X, target=[0, 3, 4]).values
    chunked = lrp.explain(X, target=[0, 3, 4], batch_size=1).values
    np.testing.assert_allclose(chunked, whole, rtol=0, atol=1e-12)
    assert np.abs(whole[0] - whole[1]).max() > 1e-6  # different rows, different targets: different answers


def test_conservation_without_biases() -> None:
    torch.manual_seed(3)
    net = nn.Sequential(nn.Linear(6, 8, bias=False), nn.ReLU(), nn.Linear(8, 8, bias=False), nn.ReLU(),
                        nn.Linear(8, 3, bias=False)).double().eval()
    X = np.random.default_rng(1).normal(size=(4, 6))
    exp = Lrp(net, composite="epsilon", epsilon=1e-12).explain(X, target=0)
    fx = net(torch.from_numpy(X)).detach().numpy()[:, 0]
    gap = exp.diagnostics["conservation_gap"]
    assert gap.shape == (4,)
    assert (gap < 1e-9 * np.abs(fx).max()).all(), gap
    np.testing.assert_allclose(exp.values[:, :, 0].sum(axis=1), fx, rtol=1e-9)
    # with biases the relevance they take is missing from the inputs: the gap is reported
    torch.manual_seed(3)
    biased = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3)).double().eval()
    with torch.no_grad():
        biased[0].bias.fill_(0.5)
    gap_b = Lrp(biased, composite="epsilon", epsilon=1e-12).explain(X, target=0).diagnostics["conservation_gap"]
    assert gap_b.max() > 1e-3


def test_the_users_module_is_unchanged(X: np.ndarray) -> None:
    net = resnet_like()
    net.block1.train()  # a mixed train/eval state, restored after the call
    state = {k: v.clone() for k, v in net.state_dict().items()}
    flags = [m.training for m in net.modules()]
    weight_ids = [id(p) for p in net.parameters()]
    for name in ("epsilon_gamma_box", "epsilon_plus_flat"):
        Lrp(net, composite=name, low=LOW, high=HIGH).explain(X, target=0)
    after = net.state_dict()
    assert state.keys() == after.keys()
    for k, v in state.items():
        assert torch.equal(v, after[k]), k
    assert [m.training for m in net.modules()] == flags
    assert [id(p) for p in net.parameters()] == weight_ids
    for m in net.modules():
        assert not m._forward_hooks and not m._forward_pre_hooks and not m._backward_hooks, m
    # and the module still computes what it computed
    net.eval()
    np.testing.assert_allclose(net(torch.from_numpy(X)).detach().numpy(), resnet_like()(torch.from_numpy(X)).detach().numpy())


def test_hooks_removed_after_an_error(X: np.ndarray) -> None:
    net = vgg_like()
    with pytest.raises(InvalidParameterError, match="X"):
        Lrp(net).explain(np.zeros((2, 3, 8, 8)), target=0)  # wrong number of channels
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in net.modules())


def test_bad_composite_names_the_parameter_and_lists_the_names(nets: dict[str, nn.Module]) -> None:
    with pytest.raises(InvalidParameterError, match=r"composite: expected one of 'epsilon_plus', 'epsilon_gamma_box'.*got 'plus'"):
        Lrp(nets["vgg"], composite="plus")
    with pytest.raises(InvalidParameterError, match=r"composite: expected rules"):
        Lrp(nets["vgg"], composite={"0": "epsilon"})
    with pytest.raises(InvalidParameterError, match=r"low: .*epsilon_gamma_box.*low= and high="):
        Lrp(nets["vgg"], composite="epsilon_gamma_box")
    with pytest.raises(InvalidParameterError, match=r"composite: unknown layer name 'conv9'"):
        Lrp(nets["vgg"], composite={"conv9": Pass()}).explain(np.zeros((1, 2, 8, 8)), target=0)
    with pytest.raises(InvalidParameterError, match=r"beta: expected alpha - beta = 1"):
        AlphaBeta(3.0, 1.0)
    with pytest.raises(InvalidParameterError, match=r"output: .*got 'probability'"):
        Lrp(nets["vgg"], output="probability")


def test_zplus_differs_from_epsilon(nets: dict[str, nn.Module], X: np.ndarray) -> None:
    """The rules are not all the gradient in disguise: each composite gives its own answer."""
    results = {name: Lrp(nets["vgg"], composite=name, low=LOW, high=HIGH).explain(X, target=2).values for name in COMPOSITES}
    names = list(results)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert np.abs(results[a] - results[b]).max() > 1e-6, (a, b)
    assert ZPlus() != ZPlus(1e-3)


def test_batch_norm_eps_is_kept_in_the_merge(X: np.ndarray) -> None:
    """Zennit's merge leaves the batch norm computing ``x / sqrt(1 + eps)`` (unit variance, but its eps kept),
    so its canonized network's output is not the network's own; xaikit's merge keeps ``f(x)`` exact. With
    the usual ``eps=1e-5`` the two differ by about ``eps / 2`` per batch norm, nothing more."""
    net = vgg_like()
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.eps = 1e-5
    x = torch.from_numpy(X)
    own = net(x).detach().numpy()
    comp = zennit_composite("epsilon_plus")
    with comp.context(net) as modified:  # type: ignore[attr-defined]
        canonized = modified(x).detach().numpy()
    assert np.abs(canonized - own).max() > 1e-7 * np.abs(own).max()  # Zennit's canonized output moved
    ours = Lrp(net, composite="epsilon_plus").explain(X, target=2)
    ref = zennit_relevance(net, X, 2, zennit_composite("epsilon_plus"))
    assert 1e-7 < rel_diff(ours.values[:, :, 0].reshape(X.shape), ref) < 3e-5  # two batch norms: about 2 * eps / 2
