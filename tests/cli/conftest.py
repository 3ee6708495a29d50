"""Tiny models trained once per session, written to model files, and the CSV files they are explained on.

Four numeric features ``a, b, c, d``; five rows to explain and eight background rows, so that exact
Shapley enumeration (14 coalitions) is fast. TensorFlow and torch are imported only by the fixtures
that need them.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from cli_models import COLUMNS


@pytest.fixture(scope="session")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A session folder holding ``rows.csv`` (5 rows), ``bg.csv`` (8 rows) and ``train.csv``."""
    import pandas as pd

    folder = tmp_path_factory.mktemp("cli")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 4))
    y = (X[:, 0] + 0.5 * X[:, 1] - X[:, 2] + 0.3 * rng.normal(size=80) > 0).astype(int)
    pd.DataFrame(X[:5], columns=COLUMNS).to_csv(folder / "rows.csv", index=False)
    pd.DataFrame(X[5:13], columns=COLUMNS).to_csv(folder / "bg.csv", index=False)
    np.save(folder / "X.npy", X)
    np.save(folder / "y.npy", y)
    return folder


@pytest.fixture(scope="session")
def train(files: Path) -> tuple[np.ndarray, np.ndarray]:
    return np.load(files / "X.npy"), np.load(files / "y.npy")


@pytest.fixture(scope="session")
def rows(files: Path) -> np.ndarray:
    """The rows of rows.csv as the CLI reads them (through the CSV text)."""
    import pandas as pd

    return pd.read_csv(files / "rows.csv").to_numpy(dtype=np.float64)


@pytest.fixture(scope="session")
def bg(files: Path) -> np.ndarray:
    import pandas as pd

    return pd.read_csv(files / "bg.csv").to_numpy(dtype=np.float64)


@pytest.fixture(scope="session")
def skops_pipeline(files: Path, train: tuple[np.ndarray, np.ndarray]) -> tuple[object, Path]:
    """A StandardScaler + LogisticRegression pipeline fitted on a DataFrame (it knows its columns)."""
    import pandas as pd
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = train
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(pd.DataFrame(X, columns=COLUMNS), y)
    path = files / "pipeline.skops"
    sio.dump(model, path)
    return model, path


@pytest.fixture(scope="session")
def logistic(train: tuple[np.ndarray, np.ndarray]) -> object:
    """A LogisticRegression fitted on an array, classes 'no' and 'yes'."""
    from sklearn.linear_model import LogisticRegression

    X, y = train
    return LogisticRegression().fit(X, np.array(["no", "yes"])[y])


@pytest.fixture(scope="session")
def forest(train: tuple[np.ndarray, np.ndarray]) -> object:
    from sklearn.ensemble import RandomForestClassifier

    X, y = train
    return RandomForestClassifier(n_estimators=5, max_depth=3, random_state=0).fit(X, y)


@pytest.fixture(scope="session")
def onnx_files(files: Path, logistic: object, forest: object, train: tuple[np.ndarray, np.ndarray]) -> dict[str, Path]:
    """ONNX files from skl2onnx: the logistic regression with its ZipMap (the default), the forest without."""
    from skl2onnx import to_onnx

    X = train[0][:1].astype(np.float32)
    paths = {"logistic": files / "logistic.onnx", "forest": files / "forest.onnx"}
    paths["logistic"].write_bytes(to_onnx(logistic, X).SerializeToString())
    paths["forest"].write_bytes(to_onnx(forest, X, options={"zipmap": False}).SerializeToString())
    return paths


@pytest.fixture(scope="session")
def xgb_classifier(files: Path, train: tuple[np.ndarray, np.ndarray]) -> tuple[object, Path, Path]:
    """An XGBClassifier saved as JSON and as UBJ."""
    import xgboost as xgb

    X, y = train
    model = xgb.XGBClassifier(n_estimators=4, max_depth=2, random_state=0).fit(X, y)
    model.save_model(files / "xgb.json")
    model.save_model(files / "xgb.ubj")
    return model, files / "xgb.json", files / "xgb.ubj"


@pytest.fixture(scope="session")
def lgb_regressor(files: Path, train: tuple[np.ndarray, np.ndarray]) -> tuple[object, Path]:
    """A LightGBM regressor's booster saved as a text model file."""
    import lightgbm as lgb

    X, _ = train
    target = X[:, 0] - 2 * X[:, 1] + X[:, 2] * X[:, 3]
    model = lgb.LGBMRegressor(n_estimators=5, num_leaves=4, min_child_samples=5, verbose=-1).fit(X, target)
    path = files / "lgb.txt"
    model.booster_.save_model(path)
    return model, path


@pytest.fixture(scope="session")
def torch_mlp(files: Path) -> tuple[object, Path]:
    """A tiny MLP (4 -> 6 -> 2) in TorchScript."""
    import torch

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.Tanh(), torch.nn.Linear(6, 2)).eval()
    path = files / "mlp.pt"
    with warnings.catch_warnings():  # TorchScript is deprecated in favour of torch.export, and still loaded
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.save(torch.jit.script(model), str(path))
    return model, path


@pytest.fixture(scope="session")
def keras_dense(files: Path) -> tuple[object, Path]:
    """A tiny Keras model (4 -> 5 -> 1, sigmoid) saved as .keras."""
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(5, activation="tanh"), keras.layers.Dense(1, activation="sigmoid")])
    path = files / "dense.keras"
    model.save(path)
    return model, path
