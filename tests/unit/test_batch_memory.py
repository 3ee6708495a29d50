"""Batch sizes chosen from a memory budget (xaikit.explainers.gradients.memory)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from xaikit.errors import InvalidParameterError
from xaikit.explainers.gradients import memory
from xaikit.explainers.gradients.memory import (
    BACKWARD_FACTOR,
    BUDGET_CAP,
    BUDGET_ENV,
    COPIES,
    FORWARD_FACTOR,
    MAX_BATCH_SIZE,
    auto_batch_size,
    memory_budget,
    parse_bytes,
    row_bytes,
)

torch = pytest.importorskip("torch")

from xaikit.models import adapt  # noqa: E402
from xaikit.models.torch import TorchModel  # noqa: E402


@pytest.fixture(autouse=True)
def _no_budget_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(BUDGET_ENV, raising=False)


def _mlp(inplace: bool = False) -> TorchModel:
    torch.manual_seed(0)
    return TorchModel(torch.nn.Sequential(torch.nn.Linear(10, 100), torch.nn.ReLU(inplace=inplace), torch.nn.Linear(100, 2)))


@pytest.fixture(scope="module")
def convnet() -> TorchModel:
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(8, 8, 3, padding=1), torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(8, 3),
    )
    return TorchModel(net)


# ---------------------------------------------------------------- the estimate


def test_torch_row_bytes_sums_distinct_layer_outputs() -> None:
    X = np.zeros((5, 10))
    outputs = (100 + 100 + 2) * 4  # Linear, ReLU, Linear in float32; the Sequential's output is the last Linear's
    assert row_bytes(_mlp(), X) == int(BACKWARD_FACTOR * outputs) + COPIES * 8 * 10
    assert row_bytes(_mlp(), X, backward=False) == int(FORWARD_FACTOR * outputs) + COPIES * 8 * 10
    # an in-place ReLU writes into the Linear's output: no new memory
    assert row_bytes(_mlp(inplace=True), X) == int(BACKWARD_FACTOR * (100 + 2) * 4) + COPIES * 8 * 10


def test_torch_estimate_scales_with_the_image(convnet: TorchModel) -> None:
    # per row of 8 x W pixels: two convolutions and two ReLUs of 8 channels (32 W floats of each pixel row),
    # the pooled 8 and the 3 logits (the flattening is a view: no new memory), float32; the row's float64 copies
    for width in (8, 16):
        got = row_bytes(convnet, np.zeros((2, 1, 8, width), dtype=np.float32))
        assert got == int(BACKWARD_FACTOR * 4 * (32 * 8 * width + 8 + 3)) + COPIES * 8 * (8 * width)


def test_torch_estimate_runs_one_row_only(convnet: TorchModel) -> None:
    seen: list[int] = []
    handle = convnet.module.register_forward_hook(lambda m, i, o: seen.append(int(o.shape[0])))
    try:
        row_bytes(convnet, np.zeros((7, 1, 8, 8), dtype=np.float32))
    finally:
        handle.remove()
    assert seen == [1]


def test_keras_estimate_scales_with_the_image() -> None:
    keras = pytest.importorskip("keras")

    def net(width: int) -> Any:
        inputs = keras.Input((8, width, 1))
        x = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
        x = keras.layers.Conv2D(4, 3, padding="same")(x)
        x = keras.layers.GlobalAveragePooling2D()(x)
        return keras.Model(inputs, keras.layers.Dense(2)(x))

    # per row of 8 x W pixels: the input (8 W), two convolutions of 4 channels (32 W each), the pooled 4 and the
    # 2 outputs, float32, from the declared shapes; the row's float64 copies
    for width in (8, 16):
        got = row_bytes(adapt(net(width)), np.zeros((2, 8, width, 1), dtype=np.float32))
        assert got == int(BACKWARD_FACTOR * 4 * (72 * width + 4 + 2)) + COPIES * 8 * (8 * width)
    small = row_bytes(adapt(net(8)), np.zeros((2, 8, 8, 1), dtype=np.float32))
    # layers of a nested model count too: the same network inside another costs at least as much
    inner = net(8)
    outer_in = keras.Input((8, 8, 1))
    outer = keras.Model(outer_in, keras.layers.Dense(1)(inner(outer_in)))
    nested = row_bytes(adapt(outer), np.zeros((2, 8, 8, 1), dtype=np.float32))
    assert nested is not None and nested > small


def test_models_without_an_estimate_keep_the_largest_batch() -> None:
    model = adapt(lambda X: X.sum(axis=1))
    assert row_bytes(model, np.zeros((3, 4))) is None
    assert auto_batch_size(model, np.zeros((3, 4)), budget=1) == MAX_BATCH_SIZE
    import torch

    scripted = TorchModel(torch.jit.script(torch.nn.Sequential(torch.nn.Linear(4, 2)).eval()))  # takes no hooks
    assert row_bytes(scripted, np.zeros((3, 4), dtype=np.float32)) is None
    assert auto_batch_size(scripted, np.zeros((3, 4), dtype=np.float32), budget=1) == MAX_BATCH_SIZE


# ---------------------------------------------------------------- the batch size


def test_small_models_keep_the_default_batch(convnet: TorchModel) -> None:
    assert auto_batch_size(_mlp(), np.zeros((3, 10))) == MAX_BATCH_SIZE
    assert auto_batch_size(convnet, np.zeros((3, 1, 8, 8), dtype=np.float32)) == MAX_BATCH_SIZE


def test_tiny_budget_gives_one_row(convnet: TorchModel, monkeypatch: pytest.MonkeyPatch) -> None:
    X = np.zeros((3, 1, 8, 8), dtype=np.float32)
    assert auto_batch_size(convnet, X, budget=1) == 1
    monkeypatch.setenv(BUDGET_ENV, "1")
    assert auto_batch_size(convnet, X) == 1


def test_batch_is_the_budget_over_the_row(convnet: TorchModel) -> None:
    X = np.zeros((3, 1, 8, 8), dtype=np.float32)
    per_row = row_bytes(convnet, X)
    assert per_row is not None
    assert auto_batch_size(convnet, X, budget=5 * per_row + 1) == 5
    assert auto_batch_size(convnet, X, budget=5 * per_row - 1) == 4
    forward = row_bytes(convnet, X, backward=False)
    assert forward is not None and forward < per_row
    assert auto_batch_size(convnet, X, budget=5 * per_row, backward=False) > 5


# ---------------------------------------------------------------- the budget


def test_budget_env_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(BUDGET_ENV, "2GB")
    assert memory_budget() == 2 * 10**9
    monkeypatch.setenv(BUDGET_ENV, "1.5GiB")
    assert memory_budget() == 3 * 2**29
    monkeypatch.setenv(BUDGET_ENV, "123456")
    assert memory_budget() == 123456
    assert memory_budget("1MB") == 10**6  # an explicit budget wins over the variable


@pytest.mark.parametrize("bad", ["lots", "-5", "0", "nan", "2 parsecs", "1e400"])
def test_bad_budget_env_is_refused_by_name(monkeypatch: pytest.MonkeyPatch, bad: str) -> None:
    monkeypatch.setenv(BUDGET_ENV, bad)
    with pytest.raises(InvalidParameterError, match=BUDGET_ENV) as info:
        memory_budget()
    assert repr(bad) in str(info.value)


@pytest.mark.parametrize("bad", [True, -1, 0.5, "x", [1]])
def test_bad_budget_argument_is_refused_by_name(bad: Any) -> None:
    with pytest.raises(InvalidParameterError, match="^budget: expected a positive number of bytes"):
        memory_budget(bad)


def test_default_budget_is_a_share_of_available_and_held_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory, "resident_memory", lambda: 8 * 2**30)  # a large process: the other limits decide
    monkeypatch.setattr(memory, "available_memory", lambda: 400 * 2**20)
    assert memory_budget() == 100 * 2**20
    monkeypatch.setattr(memory, "available_memory", lambda: 64 * 2**30)
    assert memory_budget() == BUDGET_CAP
    monkeypatch.setattr(memory, "available_memory", lambda: None)
    assert memory_budget() == BUDGET_CAP
    # a process holding 300 MiB (a model and its framework): a batch may add half of that, so the peak stays
    # within 1.5 times what the model's own inference holds
    monkeypatch.setattr(memory, "resident_memory", lambda: 300 * 2**20)
    assert memory_budget() == 150 * 2**20
    monkeypatch.setattr(memory, "resident_memory", lambda: None)
    assert memory_budget() == BUDGET_CAP


def test_resident_memory_grows_with_what_the_process_holds() -> None:
    """In a fresh process (this one may hold freed pages that a new array reuses): 128 MiB touched raise
    the resident memory by about that much."""
    import subprocess
    import sys

    code = (
        "import numpy as np; from xaikit.explainers.gradients.memory import resident_memory; "
        "a = resident_memory(); held = np.ones(128 * 2**20 // 8); b = resident_memory(); print(a, b)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    before, after = map(int, done.stdout.split())
    assert 0 < before and 120 * 2**20 < after - before < 160 * 2**20


def test_parse_bytes_units() -> None:
    assert parse_bytes("512MB") == 512 * 10**6
    assert parse_bytes("512 mib") == 512 * 2**20
    assert parse_bytes("3k") == 3000


def test_several_inputs_are_measured_through_their_packed_view() -> None:
    from xaikit.explainers.gradients.inputs import InputLayout, PackedModel

    class Two(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a, self.b, self.head = torch.nn.Linear(3, 50), torch.nn.Linear(2, 50), torch.nn.Linear(50, 1)

        def forward(self, x: Any, y: Any) -> Any:
            return self.head(torch.relu(self.a(x) + self.b(y)))

    torch.manual_seed(0)
    model = TorchModel(Two().double())
    layout = InputLayout((np.ones((4, 3)), np.ones((4, 2))), None, model)
    packed = layout.packed()
    outputs = (50 + 50 + 1) * 8  # the modules' outputs in float64 (the sum and the ReLU are not modules)
    assert row_bytes(PackedModel(model, layout), packed) == int(BACKWARD_FACTOR * outputs) + COPIES * 8 * 5
    assert auto_batch_size(PackedModel(model, layout), packed, budget=3 * outputs) == 1
