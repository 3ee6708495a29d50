"""The deep-model methods of ``gradients.py`` part 4, each against its reference, on its own network.

* **LayerIG**: ``xk.LayerIntegratedGradients(layer="emb")`` against Captum's ``LayerIntegratedGradients``
  on the embedding of a token classifier (``nn.Embedding(5000, 64)``, one Transformer encoder layer of
  4 heads, mean over the tokens, a linear layer to 2 logits), ``--rows`` token sequences of 128 ids
  (the last 16 of each the padding id 0), baseline the padding id 0, 50 Gauss-Legendre steps; the
  batch size is model rows per call on both sides (``internal_batch_size``).
* **DeepLiftShap**: ``xk.DeepLiftShap`` against Captum's ``DeepLiftShap`` on a CNN of three
  convolutions (ReLU modules, strided convolutions instead of max pooling: Captum drops the rule of
  a nonlinear module that directly follows another, ReLU then MaxPool2d, see
  tests/oracles/test_deeplift_reference.py), 3 x 32 x 32 images, a background of 10 images. Captum
  has no batch size: it explains every (row, background image) pair in one call.
* **LRP**: ``xk.Lrp(composite="epsilon_plus")`` against Zennit's ``EpsilonPlus`` composite with its
  ``SequentialMergeBatchNorm`` canonizer, on a ResNet-like network (a stem convolution, two residual
  blocks of two convolutions with batch norms, average pooling, a linear layer), 3 x 32 x 32 images;
  Zennit has no batch size: the reference runs the rows ``batch_size`` at a time inside one context.
* **ScoreCam**: ``xk.ScoreCam(align_corners=True)`` against pytorch-grad-cam's ``ScoreCAM`` (its
  ``batch_size``: masked images per model call, one image's channels at a time) on the CNN above,
  layer the last ReLU (32 channels on an 8 x 8 grid): 32 masked images per row. Its progress bar
  (tqdm) is switched off; its result is rescaled to [0, 1] per image, so ours is compared after the
  same rescaling.

Each case is built seeded, float32, in evaluation mode. ``floor`` is the model's own time for the
passes a method cannot avoid (the forward and backward passes of IG's path points or DeepLiftShap's
pairs, one forward and backward pass for LRP, the forward passes of the masked images for ScoreCAM),
with the same batch size: the physical limit of either library.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from xaikit.testing.references import import_pytorch_grad_cam, import_zennit

nn = torch.nn

DEEP_METHODS = ("layer_ig", "deeplift_shap", "lrp", "score_cam")
DEEP_TITLES = {"layer_ig": "LayerIG", "deeplift_shap": "DeepLiftShap", "lrp": "LRP eps+", "score_cam": "ScoreCam"}
REFERENCES = {"layer_ig": "captum", "deeplift_shap": "captum", "lrp": "zennit", "score_cam": "grad-cam"}
VOCAB, DIM, TOKENS, PAD_TAIL = 5000, 64, 128, 16
STEPS = 50
BACKGROUND = 10
IMAGE = 32
CAM_LAYER = "7"  # the ReLU after the third convolution of ``cnn()``: 32 channels on an 8 x 8 grid


class TokenClassifier(nn.Module):
    """Embedding (5000 x 64, padding id 0) -> one Transformer encoder layer -> mean over tokens -> 2 logits."""

    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(VOCAB, DIM, padding_idx=0)
        layer = nn.TransformerEncoderLayer(DIM, 4, dim_feedforward=2 * DIM, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, 1, enable_nested_tensor=False)
        self.fc = nn.Linear(DIM, 2)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.fc(self.encoder(self.emb(ids)).mean(dim=1))


def cnn(max_pool: bool) -> nn.Module:
    """Three 3x3 convolutions (3 -> 16 -> 32 -> 32), ReLU modules, max pooling after the first two (or,
    without ``max_pool``, the next convolutions of stride 2), global average pooling, 10 logits:
    (n, 3, 32, 32) -> (n, 10)."""
    if not max_pool:
        return nn.Sequential(
            nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(),
            nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(32, 32, 3, stride=2, padding=1), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10),
        )
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10),
    )


class Block(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.conv1, self.bn1, self.relu1 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU()
        self.conv2, self.bn2 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)
        self.relu2 = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu2(self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x))))) + x)


class ResNetLike(nn.Module):
    """Stem convolution 3 -> 16 with batch norm and ReLU, two residual blocks of 16 channels, 2 x 2
    average pooling, a linear layer to 10 logits."""

    def __init__(self) -> None:
        super().__init__()
        self.stem, self.bn, self.relu = nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU()
        self.block1, self.block2 = Block(16), Block(16)
        self.pool, self.flatten, self.fc = nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn(self.stem(x)))
        return self.fc(self.flatten(self.pool(self.block2(self.block1(x)))))


@dataclass
class Case:
    model: nn.Module
    X: torch.Tensor
    y: np.ndarray
    extra: dict[str, Any] = field(default_factory=dict)


def make_case(method: str, rows: int, seed: int = 0) -> Case:
    """The seeded network, inputs and targets (classes in turn) of ``method``."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed + 1)
    if method == "layer_ig":
        model = TokenClassifier().eval()
        ids = torch.randint(1, VOCAB, (rows, TOKENS), generator=gen)
        ids[:, TOKENS - PAD_TAIL :] = 0
        return Case(model, ids, np.arange(rows) % 2)
    if method == "lrp":
        model = ResNetLike().eval()
        with torch.no_grad():
            for m in model.modules():
                if isinstance(m, nn.BatchNorm2d):
                    c = m.num_features
                    m.running_mean.copy_(0.3 * torch.randn(c, generator=gen))
                    m.running_var.copy_(0.5 + torch.rand(c, generator=gen))
                    m.weight.copy_(0.5 + torch.rand(c, generator=gen))
                    m.bias.copy_(0.1 * torch.randn(c, generator=gen))
                    m.eps = 0.0  # Zennit's merge keeps eps as if the variance were 1; with 0 both merge exactly
        return Case(model, torch.rand(rows, 3, IMAGE, IMAGE, generator=gen) * 2 - 1, np.arange(rows) % 10)
    model = cnn(max_pool=method == "score_cam").eval()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                nn.init.normal_(m.bias, std=0.1)
        if method == "score_cam":
            model[-1].weight.mul_(3.0)  # scores of order 1, so that ScoreCAM's softmax weights differ
    X = torch.rand(rows, 3, IMAGE, IMAGE, generator=gen)
    extra = {"background": torch.rand(BACKGROUND, 3, IMAGE, IMAGE, generator=gen)} if method == "deeplift_shap" else {}
    return Case(model, X, np.arange(rows) % 10, extra)


def _zennit() -> tuple[Any, Any]:
    """Zennit's composites and canonizers (imported without torchvision, :mod:`xaikit.testing.references`)."""
    zennit = import_zennit()
    return zennit.composites, zennit.canonizers


def _grad_cam() -> Any:
    """pytorch_grad_cam without torchvision and without progress bars."""
    return import_pytorch_grad_cam()


def unit_scale(maps: np.ndarray) -> np.ndarray:
    """Each map shifted and scaled to [0, 1], as pytorch-grad-cam returns them."""
    flat = maps.reshape(maps.shape[0], -1)
    lo, hi = flat.min(axis=1, keepdims=True), flat.max(axis=1, keepdims=True)
    return ((flat - lo) / (hi - lo + 1e-7)).reshape(maps.shape)


def deep_runner(lib: str, method: str, case: Case, batch_size: int) -> Callable[[], np.ndarray]:
    """A function computing ``method``'s attributions with ``lib`` ("xaikit" or "reference"), as an
    array of the same shape on both sides; explainers are built inside it."""
    model, X, y, bs = case.model, case.X, case.y, batch_size
    yt = torch.as_tensor(y)
    if lib == "reference":
        if method in ("layer_ig", "deeplift_shap"):
            from captum import attr

            if method == "layer_ig":
                def run() -> np.ndarray:
                    out = attr.LayerIntegratedGradients(model, model.emb).attribute(
                        X, baselines=torch.zeros_like(X), target=yt, n_steps=STEPS, internal_batch_size=bs
                    )
                    return out.detach().numpy()
            else:
                def run() -> np.ndarray:
                    out = attr.DeepLiftShap(model).attribute(X, baselines=case.extra["background"], target=yt)
                    return out.detach().numpy()
            return run
        if method == "lrp":
            composites, canonizers = _zennit()

            def run() -> np.ndarray:
                composite = composites.EpsilonPlus(canonizers=[canonizers.SequentialMergeBatchNorm()])
                parts = []
                with composite.context(model) as modified:
                    for lo in range(0, X.shape[0], bs):
                        x = X[lo : lo + bs].clone().requires_grad_(True)
                        out = modified(x)
                        start = torch.zeros_like(out)
                        rows = torch.arange(x.shape[0])
                        start[rows, yt[lo : lo + bs]] = out.detach()[rows, yt[lo : lo + bs]]
                        (r,) = torch.autograd.grad(out, x, grad_outputs=start)
                        parts.append(r.detach().numpy())
                return np.concatenate(parts)
            return run
        gc = _grad_cam()
        from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

        def run() -> np.ndarray:
            with gc.ScoreCAM(model=model, target_layers=[model[int(CAM_LAYER)]]) as cam:
                cam.batch_size = bs
                return np.asarray(cam(input_tensor=X, targets=[ClassifierOutputTarget(int(t)) for t in y]))
        return run

    import xaikit as xk

    Xn = X.numpy()

    def run() -> np.ndarray:
        if method == "layer_ig":
            exp = xk.LayerIntegratedGradients(model, layer="emb").explain(
                Xn, target=y, baseline=0, n_steps=STEPS, batch_size=bs
            )
            return exp.values[:, :, 0].reshape(Xn.shape[0], TOKENS, DIM)
        if method == "deeplift_shap":
            exp = xk.DeepLiftShap(model).explain(Xn, target=y, baselines=case.extra["background"].numpy(), batch_size=bs)
        elif method == "lrp":
            exp = xk.Lrp(model, composite="epsilon_plus").explain(Xn, target=y, batch_size=bs)
        else:
            exp = xk.ScoreCam(model, layer=CAM_LAYER, align_corners=True).explain(Xn, target=y, batch_size=bs)
            return unit_scale(xk.as_input_shape(exp))
        return xk.as_input_shape(exp)

    return run


def floor_runner(method: str, case: Case, batch_size: int) -> Callable[[], None]:
    """The model's own passes that ``method`` cannot avoid, ``batch_size`` rows per call."""
    model, X, bs = case.model, case.X, batch_size
    if method == "layer_ig":
        rows = X.repeat_interleave(STEPS, dim=0)
    elif method == "deeplift_shap":
        rows = X.repeat_interleave(BACKGROUND, dim=0)
    else:
        rows = X
    target = torch.as_tensor(case.y)

    def run() -> None:
        if method == "score_cam":
            with torch.no_grad():
                model(X)
                channels = 32
                for lo in range(0, X.shape[0] * channels, bs):
                    model(X[np.arange(lo, min(lo + bs, X.shape[0] * channels)) // channels])
            return
        reps = rows.shape[0] // X.shape[0]
        for lo in range(0, rows.shape[0], bs):
            chunk = rows[lo : lo + bs]
            t = target[torch.arange(lo, lo + chunk.shape[0]) // reps]
            if method == "layer_ig":  # the gradient with respect to the embedding's output
                emb = model.emb(chunk).detach().requires_grad_(True)
                out = model.fc(model.encoder(emb).mean(dim=1))
                torch.autograd.grad(out[torch.arange(chunk.shape[0]), t].sum(), emb)
            else:
                x = chunk.clone().requires_grad_(True)
                out = model(x)
                torch.autograd.grad(out[torch.arange(chunk.shape[0]), t].sum(), x)

    return run
