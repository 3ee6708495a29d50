import re
import subprocess
import sys
import time

import matplotlib.pyplot as plt
import numpy as np
import pytest
from plot_helpers import assert_unchanged, png_variance, snapshot

import xaikit as xk
from xaikit.errors import InvalidParameterError
from xaikit.plots import ImageDisplay, TextDisplay, style, text_ansi, text_html

XSS = "<img src=x onerror=alert(1)>"


def _doc(text, tokens, values):
    spans = [[[text.index(t), text.index(t) + len(t)]] for t in tokens]
    return xk.RaggedAttribution(values=np.array(values, dtype=float).reshape(1, -1, 1), base_values=[[0.0]],
                                row_feature_names=[tokens], spans=[spans], texts=[text], method="lime")


def test_text_html_places_tokens_at_spans_and_escapes():
    exp = _doc(f"nice {XSS} movie", [XSS, "movie"], [0.5, -1.0])
    before = snapshot(exp)
    out = text_html(exp)
    assert "<img" not in out and "&lt;img src=x onerror=alert(1)&gt;" in out
    # the original text between tokens is kept, in order
    plain = re.sub(r"<[^>]+>", "", out)
    assert plain == "nice &lt;img src=x onerror=alert(1)&gt; movie"
    spans = re.findall(r'<span style="background-color:rgba\((\d+),(\d+),(\d+),([\d.]+)\)" title="([^"]*)">', out)
    assert len(spans) == 2
    (r1, g1, b1, a1, t1), (r2, g2, b2, a2, t2) = spans
    assert int(r1) > int(b1) and int(b2) > int(r2)  # positive red, negative blue
    assert float(a2) > float(a1)  # stronger value, stronger colour
    assert t2 == "movie: -1" and "&lt;img" in t1
    assert_unchanged(before, exp)


def test_text_from_lime_documents(documents):
    out = text_html(documents, row=0)
    assert re.sub(r"<[^>]+>", "", out) == "a good film, not bad"
    assert out.count("<span") == len(documents.row_feature_names[0])
    with pytest.raises(InvalidParameterError, match="row: expected the row to show"):
        text_html(documents)
    with pytest.raises(InvalidParameterError, match=r"row: expected an int in \[-2, 1\]"):
        text_html(documents, row=2)
    disp = TextDisplay.from_explanation(documents, row=1)
    assert disp._repr_html_() == text_html(documents, row=1) and str(disp) == text_ansi(documents, row=1)


def test_text_ansi_colours_and_strips_control_characters():
    exp = _doc("good \x1b[2Jbad", ["good", "bad"], [1.0, -0.5])
    out = text_ansi(exp)
    assert "\x1b[2J" not in out
    r, g, b = (int(style.POSITIVE[k : k + 2], 16) for k in (1, 3, 5))
    assert f"\x1b[48;2;{r};{g};{b}m\x1b[38;2;0;0;0mgood\x1b[0m" in out
    pale = re.search(r"\x1b\[48;2;(\d+);(\d+);(\d+)m\x1b\[38;2;0;0;0mbad", out)
    assert pale is not None and int(pale.group(3)) > int(pale.group(1))  # blue, paler than full strength
    assert int(pale.group(1)) > 0


def test_image_overlay_of_segments_with_outlines(images):
    exp, img = images
    before = snapshot(exp)
    disp = ImageDisplay.from_explanation(exp, image=img, outlines=True)
    heat = disp.heats[0]
    seg = exp.segments[0]
    np.testing.assert_array_equal(heat, exp.values[0, :, 0][seg])
    rgb = np.asarray(disp.images_[0].get_array())
    outline = style.segment_outlines(seg)
    assert (rgb[outline] == [255, 221, 0]).all()
    np.testing.assert_array_equal(rgb[~outline], style.overlay(img, heat, alpha=0.5)[~outline])
    assert disp.ax_.get_title() == "lime"
    assert png_variance(disp.figure_) > 1e-4
    assert_unchanged(before, exp)


def test_image_pixel_attributions_side_by_side(images):
    lime_exp, img = images
    rng = np.random.default_rng(0)
    pix = rng.normal(size=(1, 3 * 16 * 16, 1))
    ig = xk.Attribution(values=pix, base_values=[[0.0]], input_shape=(3, 16, 16), method="integrated_gradients")
    disp = ImageDisplay.from_explanations([lime_exp, ig], image=img)
    assert [a.get_title() for a in disp.axes_] == ["lime", "integrated_gradients"]
    np.testing.assert_allclose(disp.heats[1], pix[0, :, 0].reshape(3, 16, 16).sum(axis=0))
    fig, axes = plt.subplots(1, 2)
    disp = ImageDisplay.from_explanations([lime_exp, ig], ax=list(axes))
    assert disp.axes_ == list(axes)
    with pytest.raises(InvalidParameterError, match="outlines: expected results with segments"):
        ImageDisplay.from_explanation(ig, outlines=True)
    with pytest.raises(InvalidParameterError, match=r"image: expected height and width \(16, 16\)"):
        ImageDisplay.from_explanation(ig, image=np.zeros((8, 8, 3)))
    flat = xk.Attribution(values=pix, base_values=[[0.0]], method="x")
    with pytest.raises(InvalidParameterError, match="without input_shape"):
        ImageDisplay.from_explanation(flat)


def test_as_list_matches_a_manual_sort(known, documents):
    values = known.values[2, :, 0]
    order = sorted(range(3), key=lambda i: -abs(values[i]))
    assert known.as_list(row=2) == [(known.feature_names[i], float(values[i])) for i in order]
    assert known[2].as_list() == known.as_list(row=2)
    with pytest.raises(InvalidParameterError, match="row: expected the row to list"):
        known.as_list()
    doc = documents[0].as_list()
    assert sorted(n for n, _ in doc) == sorted(documents.row_feature_names[0])
    assert [abs(v) for _, v in doc] == sorted((abs(v) for _, v in doc), reverse=True)


def test_repr_html_bounded_escaped_and_per_row():
    n = 100_000
    rng = np.random.default_rng(0)
    names = [XSS] + [f"f{i}" for i in range(29)]
    exp = xk.Attribution(values=rng.normal(size=(n, 30, 2)), base_values=np.zeros((n, 2)), feature_names=names,
                         output_names=["<no>", "yes"], method="m<x>", diagnostics={"std_err": np.full((n, 30, 2), 0.1)})
    t = time.perf_counter()
    out = exp._repr_html_()
    assert time.perf_counter() - t < 5  # generous: the view must not scale with a per-row Python loop
    assert len(out) < 40_000
    assert "<img" not in out and "&lt;no&gt;" in out and "m&lt;x&gt;" in out
    assert "row 0:" in out and "row 2:" in out and "row 3:" not in out and "99997 more rows" in out
    assert "std. err." in out
    small = xk.Attribution(values=rng.normal(size=(10, 30, 2)), base_values=np.zeros((10, 2)), feature_names=names, method="m")
    assert abs(len(small._repr_html_()) - len(out)) < 2_000


def test_repr_html_documents_and_interactions(documents, interaction):
    out = documents._repr_html_()
    assert "a good film, not bad" in re.sub(r"<[^>]+>", "", out)
    inter = interaction._repr_html_()
    assert "a \u00d7 c" in inter and "main effects" in inter


def test_import_plots_does_not_import_matplotlib():
    code = "import sys, xaikit as xk; xk.plots.BarDisplay; assert 'matplotlib' not in sys.modules, 'matplotlib'; print('ok')"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "ok", done.stderr
