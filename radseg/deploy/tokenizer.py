"""The language tower's tokenizer, as an export stores it and runs it without torch.

An export writes a *tokenizer spec* (``manifest["text_tower"]["tokenizer"]``) that this module turns
back into ``texts -> B x L int64 ids`` with numpy alone:

* ``{"kind": "hash", ...}``: the ``tiny-random`` stand-in's :class:`radseg.models.standins.HashTokenizer`
  (SigLIP2-style canonicalisation, CRC-32 word ids, pad / truncate to ``max_length``);
* ``{"kind": "huggingface", "file": "tokenizer/tokenizer.json", ...}``: a Hugging Face fast
  tokenizer's ``tokenizer.json`` run with the ``tokenizers`` package (Rust, no torch), padded and
  truncated to ``max_length`` as RADIO's SigLIP2 adaptor asks (``padding="max_length"``, 64).

:func:`radseg.deploy.text_export.tokenizer_spec` writes the spec and the export checks that these ids
equal the adaptor's own tokenizer's on every prompt of the exported names and of a fixed list of
other names (a tokenizer that cannot be reproduced fails the export).
"""
from __future__ import annotations

import re
import zlib
from pathlib import Path
from typing import Callable, Dict, List, Sequence

import numpy as np

from ..errors import ConfigError


def _canonicalize(text: str) -> str:
    text = text.replace("_", " ")
    text = re.sub(r"[^\w\s]", "", text).lower()
    return re.sub(r"\s+", " ", text).strip()


def hash_token_ids(texts: Sequence[str], vocab_size: int, max_length: int, pad_id: int) -> np.ndarray:
    """The stand-in's hash tokenizer: ``len(texts) x max_length`` int64 ids."""
    ids = []
    for t in texts:
        row = [1 + zlib.crc32(w.encode()) % (vocab_size - 1) for w in _canonicalize(t).split(" ") if w]
        row = row[:max_length]
        ids.append(row + [pad_id] * (max_length - len(row)))
    return np.asarray(ids, dtype=np.int64).reshape(len(texts), max_length)


def load_tokenizer(spec: Dict, folder: Path) -> Callable[[Sequence[str]], np.ndarray]:
    """``spec`` (from the manifest) -> ``texts -> len(texts) x max_length`` int64 ids."""
    kind = spec.get("kind")
    length, pad = int(spec["max_length"]), int(spec.get("pad_id", 0))
    if kind == "hash":
        vocab = int(spec["vocab_size"])
        return lambda texts: hash_token_ids(texts, vocab, length, pad)
    if kind == "huggingface":
        try:
            from tokenizers import Tokenizer
        except ImportError:
            raise ConfigError("this export's tokenizer needs the 'tokenizers' package: pip install tokenizers "
                              "(part of radseg[onnx-runtime]).") from None
        tok = Tokenizer.from_file(str(Path(folder) / spec["file"]))
        tok.enable_truncation(length)
        tok.enable_padding(length=length, pad_id=pad, pad_token=str(spec.get("pad_token", "<pad>")))

        def run(texts: Sequence[str]) -> np.ndarray:
            rows: List[List[int]] = [e.ids for e in tok.encode_batch(list(texts))]
            return np.asarray(rows, dtype=np.int64).reshape(len(texts), length)
        return run
    raise ConfigError(f"unknown tokenizer kind {kind!r} in the export '{folder}'; export again with this radseg.")
