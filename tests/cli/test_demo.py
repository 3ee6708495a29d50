"""The ``xaikit demo`` command end to end, on a few rows."""

import numpy as np

import xaikit as xk
from xaikit.cli.main import main


def test_demo_writes_a_loadable_explanation(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--rows", "4", "--background", "10", "--executor", "serial", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Global importance" in printed
    exp = xk.Explanation.load(out / "breast_cancer_gbm.xai")
    assert exp.values.shape == (4, 30, 1)
    np.testing.assert_allclose(np.abs(exp.diagnostics["completeness_gap"]), 0, atol=1e-10)
    ranking = (out / "ranking.csv").read_text().splitlines()
    assert ranking[0] == "feature,mean_abs_value" and len(ranking) == 31
    assert ranking[1].split(",")[0] == exp.ranking()[0][0]
    assert not list(out.glob("*.tmp"))
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "Breast cancer" in html and exp.ranking()[0][0] in html and "http://" not in html.split("</head>")[0]
    pictures = sorted(p.name for p in out.glob("*.png"))
    assert pictures == sorted(["importance.png", "beeswarm.png", "waterfall_row0.png",
                               f"dependence_{exp.ranking()[0][0].replace(' ', '_')}.png"])
    for png in out.glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5_000
    for path in [out / "report.html", *out.glob("*.png")]:
        assert str(path) in printed


def test_no_command_prints_help(capsys):
    assert main([]) == 1
    assert "demo" in capsys.readouterr().out
