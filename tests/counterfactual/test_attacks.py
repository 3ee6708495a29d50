"""FGSM and PGD against Captum's (same model, inputs, epsilons, steps and starting points), and on a Keras twin."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
robust = pytest.importorskip("captum.robust")

from xaikit.errors import InvalidParameterError, UnsupportedModelError  # noqa: E402
from xaikit.explainers.adversarial.attacks import fgsm, pgd, random_start  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:Input Tensor 0 did not already require gradients")


def _mlp() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3)).double()


def _cnn() -> torch.nn.Module:
    torch.manual_seed(1)
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 3, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(), torch.nn.Linear(27, 4)
    ).double()


@pytest.fixture(scope="module")
def mlp() -> torch.nn.Module:
    return _mlp()


@pytest.fixture(scope="module")
def cnn() -> torch.nn.Module:
    return _cnn()


@pytest.fixture(scope="module")
def tabular() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.uniform(-1, 1, size=(12, 4)), rng.integers(0, 3, size=12)


@pytest.fixture(scope="module")
def images() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    return rng.uniform(0, 1, size=(6, 1, 8, 8)), rng.integers(0, 4, size=6)


CE = torch.nn.CrossEntropyLoss(reduction="none")  # one loss per row, as Captum's gradient needs


def _captum_pgd(net, X, y, *, start=None, **kw):
    attack = robust.PGD(net, loss_func=CE, lower_bound=kw.pop("low", float("-inf")), upper_bound=kw.pop("high", float("inf")))
    if start is not None:  # Captum draws its start with torch: give it xaikit's, then it runs its own steps
        attack._random_point = lambda center, radius, norm, mask: torch.tensor(start)
    return attack.perturb(torch.tensor(X), target=torch.tensor(y), **kw).detach().numpy()


@pytest.mark.parametrize("targeted", [False, True])
@pytest.mark.parametrize("which", ["mlp", "cnn"])
def test_fgsm_equals_captum(which, targeted, mlp, cnn, tabular, images):
    net, (X, y) = (mlp, tabular) if which == "mlp" else (cnn, images)
    ours = fgsm(net, X, y, epsilon=0.07, targeted=targeted, bounds=(-0.9, 0.9))
    ref = robust.FGSM(net, loss_func=CE, lower_bound=-0.9, upper_bound=0.9).perturb(
        torch.tensor(X), 0.07, torch.tensor(y), targeted=targeted).detach().numpy()
    assert ours.shape == X.shape
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-12)
    assert np.abs(ours - np.clip(X, -0.9, 0.9)).max() > 0.06  # it moved


@pytest.mark.parametrize("which", ["mlp", "cnn"])
@pytest.mark.parametrize("targeted", [False, True])
def test_pgd_linf_equals_captum(which, targeted, mlp, cnn, tabular, images):
    net, (X, y) = (mlp, tabular) if which == "mlp" else (cnn, images)
    ours = pgd(net, X, y, epsilon=0.2, step_size=0.05, n_steps=6, random_start=False, targeted=targeted, bounds=(-1.0, 1.0))
    ref = _captum_pgd(net, X, y, radius=0.2, step_size=0.05, step_num=6, targeted=targeted, low=-1.0, high=1.0)
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-12)
    assert np.abs(ours - X).max() <= 0.2 + 1e-12


@pytest.mark.parametrize("norm", ["inf", 2])
def test_pgd_random_start_follows_captum(norm, mlp, tabular):
    """The same random start (drawn by xaikit from random_state), then Captum's steps, projection and clamping."""
    X, y = tabular
    kw = {"epsilon": 0.3, "step_size": 0.04, "n_steps": 5, "norm": norm, "bounds": (-1.0, 1.0)}
    ours = pgd(mlp, X, y, random_start=True, random_state=3, **kw)
    start = np.clip(random_start(X, 0.3, "inf" if norm == "inf" else "2", np.random.SeedSequence(3)), -1.0, 1.0)
    if norm == "inf":
        ref = _captum_pgd(mlp, X, y, start=start, radius=0.3, step_size=0.04, step_num=5, random_start=True, low=-1.0, high=1.0)
        np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-12)
    else:  # Captum's L2 PGD takes sign steps; ours normalised-gradient steps: a direct recount
        net = mlp
        x = torch.tensor(start)
        x0 = torch.tensor(X)
        for _ in range(5):
            x = x.detach().requires_grad_(True)
            (g,) = torch.autograd.grad(CE(net(x), torch.tensor(y)).sum(), x)
            x = x + 0.04 * g / g.norm(dim=1, keepdim=True)
            diff = x - x0
            lengths = diff.norm(dim=1, keepdim=True)
            x = torch.clamp(x0 + diff * torch.where(lengths > 0.3, 0.3 / lengths, torch.ones_like(lengths)), -1.0, 1.0)
        np.testing.assert_allclose(ours, x.detach().numpy(), rtol=0, atol=1e-10)
        assert np.linalg.norm(ours - X, axis=1).max() <= 0.3 + 1e-9
    again = pgd(mlp, X, y, random_start=True, random_state=3, **kw)
    np.testing.assert_array_equal(ours, again)
    other = pgd(mlp, X, y, random_start=True, random_state=4, **kw)
    assert np.abs(other - ours).max() > 0


def test_random_start_is_per_row(tabular):
    """A row's start does not depend on the other rows."""
    X, _ = tabular
    full = random_start(X, 0.5, "2", np.random.SeedSequence(7))
    np.testing.assert_array_equal(full[:3], random_start(X[:3], 0.5, "2", np.random.SeedSequence(7)))
    assert np.linalg.norm(full - X, axis=1).max() <= 0.5


def test_fgsm_l2_moves_along_the_gradient(mlp, tabular):
    X, y = tabular
    ours = fgsm(mlp, X, y, epsilon=0.1, norm=2)
    x = torch.tensor(X).requires_grad_(True)
    (g,) = torch.autograd.grad(CE(mlp(x), torch.tensor(y)).sum(), x)
    expected = X + 0.1 * (g / g.norm(dim=1, keepdim=True)).numpy()
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(ours - X, axis=1), 0.1, rtol=1e-12)


def test_probability_outputs_give_the_same_attack(mlp, tabular):
    """A model ending with softmax: the loss -log p_y (Captum's default loss) gives the logits' attack."""
    X, y = tabular
    soft = torch.nn.Sequential(mlp, torch.nn.Softmax(dim=1))
    ours = pgd(soft, X, y, epsilon=0.2, step_size=0.05, n_steps=4, random_start=False)
    ref = robust.PGD(soft).perturb(torch.tensor(X), 0.2, 0.05, 4, torch.tensor(y)).detach().numpy()
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours, pgd(mlp, X, y, epsilon=0.2, step_size=0.05, n_steps=4, random_start=False), atol=1e-12)


def test_keras_twin_gives_the_same_examples(mlp, tabular):
    keras = pytest.importorskip("keras")
    inp = keras.Input((4,), dtype="float64")
    hidden = keras.layers.Dense(8, activation="tanh", dtype="float64")(inp)
    model = keras.Model(inp, keras.layers.Dense(3, dtype="float64")(hidden))
    dense = [ly for ly in model.layers if isinstance(ly, keras.layers.Dense)]
    for layer, lin in zip(dense, (mlp[0], mlp[2])):
        layer.set_weights([lin.weight.detach().numpy().T, lin.bias.detach().numpy()])
    X, y = tabular
    for norm in ("inf", 2):
        a = pgd(model, X, y, epsilon=0.2, n_steps=5, norm=norm, random_state=0)
        b = pgd(mlp, X, y, epsilon=0.2, n_steps=5, norm=norm, random_state=0)
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-9)
        assert np.abs(a - X).max() > 0.05


def test_attacks_lower_the_accuracy(mlp, tabular):
    X, _ = tabular
    y = mlp(torch.tensor(X)).argmax(1).numpy()  # every row correct
    adv = pgd(mlp, X, y, epsilon=0.5, n_steps=20, random_state=0)
    fooled = mlp(torch.tensor(adv)).argmax(1).numpy() != y
    assert fooled.mean() > 0.5
    target = (y + 1) % 3
    hit = pgd(mlp, X, target, epsilon=0.5, n_steps=20, targeted=True, random_state=0)
    before = CE(mlp(torch.tensor(X)), torch.tensor(target)).detach().numpy()
    after = CE(mlp(torch.tensor(hit)), torch.tensor(target)).detach().numpy()
    assert (after < before).all()  # a targeted attack lowers the loss of its target


def test_errors_name_the_parameter(mlp, tabular):
    X, y = tabular
    with pytest.raises(InvalidParameterError, match="epsilon: expected a number >= 0"):
        fgsm(mlp, X, y, epsilon=-0.1)
    with pytest.raises(InvalidParameterError, match="norm: expected 'inf'"):
        pgd(mlp, X, y, epsilon=0.1, norm=1)
    with pytest.raises(InvalidParameterError, match=r"y: expected one class index per row \(12 integers\)"):
        fgsm(mlp, X, y[:3], epsilon=0.1)
    with pytest.raises(InvalidParameterError, match=r"y: expected class indices in \[0, 3\), got 5"):
        fgsm(mlp, X, np.full(12, 5), epsilon=0.1)
    with pytest.raises(InvalidParameterError, match="bounds: expected low <= high"):
        fgsm(mlp, X, y, epsilon=0.1, bounds=(1.0, 0.0))
    with pytest.raises(InvalidParameterError, match="targeted: expected True or False"):
        fgsm(mlp, X, y, epsilon=0.1, targeted="yes")
    with pytest.raises(UnsupportedModelError, match="model: expected a model with the 'gradient' capability"):
        fgsm(lambda Z: Z, X, y, epsilon=0.1)
    single = torch.nn.Sequential(torch.nn.Linear(4, 1), torch.nn.Sigmoid()).double()
    with pytest.raises(InvalidParameterError, match="outputs: the model has one output"):
        fgsm(single, X, (y > 0).astype(int), epsilon=0.1)
