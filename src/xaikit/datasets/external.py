"""Real datasets read from a folder on disk, not shipped with xaikit (their licences are unclear).

The folder is ``$XAIKIT_DATA`` when that environment variable is set, else ``../shared/data``
(from the working directory, or beside the checkout xaikit runs from: see :func:`data_dir`). Each dataset lives in a
sub-folder with its ``SOURCE.md`` (origin, citation, licence note). Nothing is downloaded: a
missing file raises :class:`DataNotFoundError` naming the path and the variable to set.

* :func:`load_newsgroups`: 20 Newsgroups (by date), four categories.
* :func:`load_sst2`: GLUE SST-2 sentences with binary sentiment labels.
* :func:`load_sample_image`: the CC0 photos ``chelsea`` (a cat) and ``coffee`` as RGB arrays.
"""

from __future__ import annotations

import csv
import gzip
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from xaikit._optional import import_optional
from xaikit._validation import check_choice, describe
from xaikit.errors import DataNotFoundError, InvalidParameterError

__all__ = [
    "DATA_ENV",
    "NEWSGROUPS_CATEGORIES",
    "TextDataset",
    "data_dir",
    "load_newsgroups",
    "load_sample_image",
    "load_sst2",
]

#: Environment variable naming the folder of external datasets.
DATA_ENV = "XAIKIT_DATA"

#: The categories of the bundled 20 Newsgroups subset.
NEWSGROUPS_CATEGORIES = ("alt.atheism", "soc.religion.christian", "comp.graphics", "sci.med")


@dataclass(frozen=True)
class TextDataset:
    """Documents with integer labels; ``target_names[target[i]]`` is document ``i``'s label."""

    data: list[str]
    target: np.ndarray
    target_names: list[str]


def data_dir() -> Path:
    """The folder of external datasets.

    ``$XAIKIT_DATA`` when set; else ``../shared/data`` from the working directory when it exists;
    else ``shared/data`` beside the checkout xaikit is installed from (editable installs); else
    ``../shared/data`` (which then does not exist, and loaders say so).

    >>> import os
    >>> os.environ["XAIKIT_DATA"] = "/tmp/somewhere"; str(data_dir())
    '/tmp/somewhere'
    >>> del os.environ["XAIKIT_DATA"]
    """
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env)
    here = Path("..") / "shared" / "data"
    if here.is_dir():
        return here
    beside_checkout = Path(__file__).resolve().parents[3].parent / "shared" / "data"
    return beside_checkout if beside_checkout.is_dir() else here


def _file(*parts: str) -> Path:
    path = data_dir().joinpath(*parts)
    if not path.is_file():
        raise DataNotFoundError(
            f"{path}: not found; xaikit reads this dataset from disk and never downloads it. Set the "
            f"environment variable {DATA_ENV} to the folder that holds '{parts[0]}/'"
        )
    return path


def load_newsgroups(
    subset: str = "train", categories: tuple[str, ...] | list[str] = ("alt.atheism", "soc.religion.christian"),
) -> TextDataset:
    """20 Newsgroups (by-date split) messages of the given categories, in file order.

    ``target`` indexes ``categories`` in the order given. Messages are the raw posts (headers
    included), as LIME's classic example uses them.

    Parameters
    ----------
    subset : {"train", "test"}
    categories : list of str
        Among :data:`NEWSGROUPS_CATEGORIES`.
    """
    check_choice(subset, "subset", ["train", "test"])
    if isinstance(categories, str) or not categories:
        raise InvalidParameterError(f"categories: expected a non-empty list of categories, got {describe(categories)}")
    for c in categories:
        check_choice(c, "categories", NEWSGROUPS_CATEGORIES)
    index = {c: i for i, c in enumerate(categories)}
    docs: list[str] = []
    target: list[int] = []
    csv.field_size_limit(1 << 24)
    with gzip.open(_file("20newsgroups-4cat", "20news-bydate-4cat.csv.gz"), "rt", encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["split"] == subset and row["category"] in index:
                docs.append(row["text"])
                target.append(index[row["category"]])
    return TextDataset(docs, np.array(target, dtype=np.int64), list(categories))


def load_sst2(split: str = "validation") -> TextDataset:
    """GLUE SST-2: ``"validation"`` (872 sentences, GLUE's dev set), ``"train"`` (60,614 phrases)
    or ``"train_heldout"`` (6,735). Labels: 0 negative, 1 positive."""
    check_choice(split, "split", ["validation", "train", "train_heldout"])
    docs: list[str] = []
    target: list[int] = []
    with open(_file("sst2", f"{split}.tsv"), encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        next(reader)
        for sentence, label in reader:
            docs.append(sentence.strip())
            target.append(int(label))
    return TextDataset(docs, np.array(target, dtype=np.int64), ["negative", "positive"])


def load_sample_image(name: str = "chelsea") -> np.ndarray:
    """A CC0 photo as an RGB uint8 array (height, width, 3): ``"chelsea"`` (a cat) or ``"coffee"``.
    Needs Pillow or scikit-image to decode the PNG."""
    check_choice(name, "name", ["chelsea", "coffee"])
    path = _file("sample-images", f"{name}.png")
    try:
        from PIL import Image
    except ImportError:
        io = import_optional("skimage.io", "image")
        image = np.asarray(io.imread(path))
    else:
        with Image.open(path) as im:
            image = np.asarray(im.convert("RGB"))
    return image[..., :3] if image.ndim == 3 else np.stack([image] * 3, axis=-1)
