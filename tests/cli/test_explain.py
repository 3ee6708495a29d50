"""``xaikit explain`` on every model file format: the saved result equals the library call on the
in-memory model with the same method and parameters; refusals are one line and exit code 2."""

from __future__ import annotations

import pickle

import joblib
import numpy as np
import pandas as pd
import pytest
from cli_models import COLUMNS

import xaikit as xk
from xaikit.cli.main import main


def cli(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def explain_file(capsys, tmp_path, model_path, files, *extra):
    out = tmp_path / "result.xai"
    code, printed, err = cli(
        capsys, "explain", model_path, files / "rows.csv", "--background", files / "bg.csv", "--out", out, "--quiet", *extra
    )
    assert code == 0, err
    assert len(printed.strip().splitlines()) == 1 and str(out) in printed
    return xk.Result.load(out)


def same(got, expected, atol):
    assert got.method == expected.method
    assert got.values.shape == expected.values.shape
    np.testing.assert_allclose(got.values, expected.values, rtol=0, atol=atol)
    np.testing.assert_allclose(got.base_values, expected.base_values, rtol=0, atol=atol)
    assert list(got.feature_names) == list(expected.feature_names)
    assert list(got.output_names) == list(expected.output_names)


def test_skops_pipeline_on_a_dataframe(capsys, tmp_path, files, skops_pipeline, rows, bg):
    model, path = skops_pipeline
    got = explain_file(capsys, tmp_path, path, files)
    expected = xk.explain(model, pd.DataFrame(rows, columns=COLUMNS), background=pd.DataFrame(bg, columns=COLUMNS))
    assert got.method == "exact_shapley"
    same(got, expected, 1e-10)


def test_onnx_logistic_with_zipmap(capsys, tmp_path, files, onnx_files, logistic, rows, bg):
    got = explain_file(capsys, tmp_path, onnx_files["logistic"], files)
    expected = xk.explain(logistic, rows, background=bg, feature_names=COLUMNS)
    assert got.output_names == ["no", "yes"]
    same(got, expected, 1e-6)  # float32 inside the graph


def test_onnx_forest_without_zipmap(capsys, tmp_path, files, onnx_files, forest, rows, bg):
    got = explain_file(capsys, tmp_path, onnx_files["forest"], files, "--method", "exact_shapley")
    expected = xk.explain(forest, rows, method="exact_shapley", background=bg, feature_names=COLUMNS)
    same(got, expected, 1e-6)


@pytest.mark.parametrize("which", [1, 2], ids=["json", "ubj"])
def test_xgboost_file_goes_through_tree_shap(capsys, tmp_path, files, xgb_classifier, rows, bg, which):
    model, path = xgb_classifier[0], xgb_classifier[which]
    got = explain_file(capsys, tmp_path, path, files)
    expected = xk.explain(model, rows, background=bg, feature_names=COLUMNS)
    assert got.method == "tree_shap"
    same(got, expected, 1e-10)


def test_bare_xgboost_booster_file(capsys, tmp_path, files, train, rows, bg):
    import xgboost as xgb

    X, y = train
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 2}, xgb.DMatrix(X, label=y), 3)
    booster.save_model(tmp_path / "booster.json")
    got = explain_file(capsys, tmp_path, tmp_path / "booster.json", files, "--method", "tree_shap")
    expected = xk.explain(booster, rows, method="tree_shap", background=bg, feature_names=COLUMNS)
    np.testing.assert_allclose(got.values, expected.values, rtol=0, atol=1e-10)


def test_lightgbm_text_file(capsys, tmp_path, files, lgb_regressor, rows, bg):
    model, path = lgb_regressor
    got = explain_file(capsys, tmp_path, path, files)
    expected = xk.explain(model, rows, background=bg, feature_names=COLUMNS)
    assert got.method == "tree_shap"
    same(got, expected, 1e-10)


def test_torchscript_mlp(capsys, tmp_path, files, torch_mlp, rows, bg):
    model, path = torch_mlp
    got = explain_file(capsys, tmp_path, path, files, "--method", "kernel_shap", "--n-samples", "40", "--random-state", "3")
    expected = xk.explain(model, rows, method="kernel_shap", background=bg, feature_names=COLUMNS, n_samples=40, random_state=3)
    same(got, expected, 1e-6)


def test_keras_file(capsys, tmp_path, files, keras_dense, rows, bg):
    model, path = keras_dense
    got = explain_file(capsys, tmp_path, path, files)
    expected = xk.explain(model, rows, background=bg, feature_names=COLUMNS)
    same(got, expected, 1e-6)


@pytest.mark.parametrize("name", ["model.pkl", "model.joblib"])
def test_pickles_only_with_trust_pickle(capsys, tmp_path, files, logistic, rows, bg, name):
    path = tmp_path / name
    if name.endswith(".pkl"):
        path.write_bytes(pickle.dumps(logistic))
    else:
        joblib.dump(logistic, path)
    code, printed, err = cli(capsys, "explain", path, files / "rows.csv", "--background", files / "bg.csv", "--out", tmp_path / "r.xai")
    assert code == 2 and printed == ""
    assert len(err.splitlines()) == 1 and err.startswith("xaikit: error: --trust-pickle:") and "pickle" in err
    assert not (tmp_path / "r.xai").exists()
    got = explain_file(capsys, tmp_path, path, files, "--trust-pickle")
    same(got, xk.explain(logistic, rows, background=bg, feature_names=COLUMNS), 1e-10)


def test_rows_target_and_output_are_passed_on(capsys, tmp_path, files, logistic, rows, bg):
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(logistic))
    got = explain_file(capsys, tmp_path, path, files, "--trust-pickle", "--rows", "1:3", "--output", "log_odds")
    expected = xk.explain(logistic, rows[1:3], background=bg, feature_names=COLUMNS, output="log_odds")
    assert got.values.shape == (2, 4, 1)
    same(got, expected, 1e-10)


def test_missing_column_is_one_line_and_exit_2(capsys, tmp_path, files, skops_pipeline):
    pd.read_csv(files / "rows.csv").drop(columns=["c"]).to_csv(tmp_path / "rows.csv", index=False)
    code, printed, err = cli(capsys, "explain", skops_pipeline[1], tmp_path / "rows.csv", "--out", tmp_path / "r.xai")
    assert code == 2 and printed == ""
    assert err.count("\n") == 1
    assert err.startswith("xaikit: error: DATA:") and "lacks 1 column(s) the model was fitted on: c" in err


def test_untrusted_skops_type_is_named(capsys, tmp_path, files, train):
    import skops.io as sio
    from cli_models import ShiftedRegression
    from sklearn.linear_model import LinearRegression

    X, _ = train
    sio.dump(ShiftedRegression().fit(X, X[:, 0]), tmp_path / "m.skops")
    assert isinstance(ShiftedRegression(), LinearRegression)
    code, _, err = cli(capsys, "explain", tmp_path / "m.skops", files / "rows.csv", "--out", tmp_path / "r.xai")
    assert code == 2 and len(err.splitlines()) == 1
    assert "ShiftedRegression" in err and "--trust-pickle" in err
    assert cli(capsys, "explain", tmp_path / "m.skops", files / "rows.csv", "--background", files / "bg.csv",
               "--out", tmp_path / "r.xai", "--trust-pickle")[0] == 0


@pytest.mark.parametrize(
    "args, says",
    [
        (["explain", "m.json", "d.csv", "--out", "r.xai", "--bogus"], "unrecognized arguments: --bogus"),
        (["explain", "m.json", "d.csv"], "required: --out"),
        (["explain", "no-such.json", "d.csv", "--out", "r.xai"], "MODEL:"),
        (["explain", "m.json", "d.csv", "--out", "r.xai", "--output", "prob"], "invalid choice"),
        (["explain", "model.bin", "d.csv", "--out", "r.xai"], "MODEL:"),
    ],
)
def test_bad_command_lines_exit_2_with_one_line(capsys, tmp_path, args, says):
    if "model.bin" in args:
        (tmp_path / "model.bin").write_bytes(b"x")
        args = [str(tmp_path / a) if a == "model.bin" else a for a in args]
    code, printed, err = cli(capsys, *args)
    assert code == 2 and printed == ""
    assert len(err.splitlines()) == 1 and err.startswith("xaikit: error:") and says in err


def test_unknown_method_and_bad_rows_exit_2(capsys, tmp_path, files, xgb_classifier):
    base = ["explain", xgb_classifier[1], files / "rows.csv", "--background", files / "bg.csv", "--out", tmp_path / "r.xai"]
    code, _, err = cli(capsys, *base, "--method", "no_such_method")
    assert code == 2 and "no_such_method" in err and len(err.splitlines()) == 1
    code, _, err = cli(capsys, *base, "--rows", "7:9")
    assert code == 2 and err.startswith("xaikit: error: --rows:")


def test_parquet_data_gives_the_csv_result_and_a_corrupt_file_one_line(capsys, tmp_path, files, xgb_classifier):
    for name in ("rows", "bg"):
        pd.read_csv(files / f"{name}.csv").to_parquet(tmp_path / f"{name}.parquet")
    results = []
    for folder, ext in ((files, "csv"), (tmp_path, "parquet")):
        out = tmp_path / f"{ext}.xai"
        code = cli(capsys, "explain", xgb_classifier[1], folder / f"rows.{ext}", "--background", folder / f"bg.{ext}",
                   "--out", out)[0]
        assert code == 0
        results.append(xk.Result.load(out))
    assert results[0].feature_names == results[1].feature_names
    np.testing.assert_array_equal(results[0].values, results[1].values)
    (tmp_path / "bad.parquet").write_bytes(b"PAR1")
    code, _, err = cli(capsys, "explain", xgb_classifier[1], tmp_path / "bad.parquet", "--out", tmp_path / "r.xai")
    assert code == 2 and err.startswith("xaikit: error: DATA:") and len(err.splitlines()) == 1


def test_debug_shows_the_traceback(capsys, tmp_path, files):
    code, _, err = cli(capsys, "explain", tmp_path / "none.json", files / "rows.csv", "--out", tmp_path / "r.xai", "--debug")
    assert code == 2
    assert err.startswith("Traceback (most recent call last)") and "load_model" in err
    assert err.strip().splitlines()[-1].startswith("xaikit: error: MODEL:")


def test_a_model_failure_exits_1(capsys, tmp_path, files, train):
    from cli_models import Exploding

    path = tmp_path / "bad.pkl"
    path.write_bytes(pickle.dumps(Exploding().fit(*train)))
    code, _, err = cli(capsys, "explain", path, files / "rows.csv", "--background", files / "bg.csv",
                       "--out", tmp_path / "r.xai", "--trust-pickle")
    assert code == 1 and len(err.splitlines()) == 1 and "boom" in err


def test_lime_gets_a_tabular_masker_on_the_background(capsys, tmp_path, files, xgb_classifier, rows, bg):
    got = explain_file(capsys, tmp_path, xgb_classifier[1], files, "--method", "lime", "--random-state", "0", "--n-samples", "200")
    masker = xk.TabularMasker(bg, feature_names=COLUMNS)
    expected = xk.Lime(xgb_classifier[0], masker=masker).explain(rows, random_state=0, n_samples=200)
    same(got, expected, 1e-10)


def test_a_method_without_background_refuses_one(capsys, tmp_path, files, torch_mlp):
    code, _, err = cli(capsys, "explain", torch_mlp[1], files / "rows.csv", "--background", files / "bg.csv",
                       "--out", tmp_path / "r.xai", "--method", "saliency")
    assert code == 2 and err.startswith("xaikit: error: --background:")
    code, _, err = cli(capsys, "explain", torch_mlp[1], files / "rows.csv", "--out", tmp_path / "r.xai", "--method", "saliency")
    assert code == 2 and err.startswith("xaikit: error: target:")  # two outputs: saliency needs one
    assert cli(capsys, "explain", torch_mlp[1], files / "rows.csv", "--out", tmp_path / "r.xai", "--method", "saliency",
               "--target", "1")[0] == 0
    assert xk.Result.load(tmp_path / "r.xai").method == "saliency"


def test_an_unwritable_out_is_refused_before_any_work(capsys, tmp_path, files, xgb_classifier):
    code, _, err = cli(capsys, "explain", xgb_classifier[1], files / "rows.csv", "--out", tmp_path / "no" / "r.xai")
    assert code == 2 and err.startswith("xaikit: error: --out:") and "does not exist" in err
    code, _, err = cli(capsys, "explain", tmp_path / "missing.json", files / "rows.csv", "--out", tmp_path)
    assert code == 2 and err.startswith("xaikit: error: --out:") and "is a folder" in err  # checked first


def test_network_options_reach_the_layer_and_path_methods(capsys, tmp_path, files, keras_dense, torch_mlp, rows):
    model, path = keras_dense
    layer = model.layers[0].name
    out = tmp_path / "layer.xai"
    assert cli(capsys, "explain", path, files / "rows.csv", "--out", out, "--method", "layer-integrated-gradients",
               "--layer", layer, "--baseline", "0.5", "--n-steps", "16")[0] == 0
    got = xk.Result.load(out)
    expected = xk.LayerIntegratedGradients(model, layer=layer).explain(rows, baseline=0.5, n_steps=16)
    np.testing.assert_allclose(got.values, expected.values, rtol=1e-5, atol=1e-7)
    assert got.params["n_steps"] == 16 and got.input_shape == (5,)
    code, _, err = cli(capsys, "explain", path, files / "rows.csv", "--out", out, "--method", "layer-activation")
    assert code == 2 and err.startswith("xaikit: error: --layer: method 'layer-activation' reads a layer")
    code, _, err = cli(capsys, "explain", torch_mlp[1], files / "rows.csv", "--out", out, "--method", "kernel-shap", "--layer", "0")
    assert code == 2 and err.startswith("xaikit: error: --layer: method 'kernel-shap' takes no such option")
    # a TorchScript file: integrated gradients with its options, and a named refusal where hooks are needed
    assert cli(capsys, "explain", torch_mlp[1], files / "rows.csv", "--out", out, "--method", "integrated-gradients",
               "--target", "1", "--n-steps", "12", "--baseline", "0.25")[0] == 0
    ig = xk.IntegratedGradients(torch_mlp[0]).explain(rows, target=1, n_steps=12, baseline=0.25)
    np.testing.assert_allclose(xk.Result.load(out).values, ig.values, rtol=1e-5, atol=1e-7)
    code, _, err = cli(capsys, "explain", torch_mlp[1], files / "rows.csv", "--out", out, "--method", "lrp", "--target", "1")
    assert code == 2 and err.startswith("xaikit: error: model: LRP") and "TorchScript" in err
