"""Export the language tower: ``text_encoder.onnx``, its tokenizer and the prompt templates in use.

RADIO's language adaptor (``siglip2``; the stand-in's ``TinyLanguageAdaptor``) embeds a prompt as
``encode_text(tokenizer([...]))``. The export holds

* ``text_encoder.onnx``: ``encode_text`` on token ids, ``B x L`` int64 -> ``B x C_t`` (dynamic ``B``);
* the tokenizer as a spec the torch-free runtime reproduces (:mod:`radseg.deploy.tokenizer`), checked
  here: its ids must equal the adaptor's tokenizer's on every prompt of the check names;
* the prompt templates (``template("{}")`` strings), checked to give ``template(name)`` for the check names.

:mod:`radseg.deploy.text_runtime` then embeds any class list exactly as
:class:`radseg.core.text_embeddings.TextEmbedder` does. An adaptor whose tokenizer is neither the
stand-in's nor a Hugging Face fast tokenizer is exported without the tower (a note says so; the
export then embeds only ``--classes``, as format 1 did).
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn

from ..errors import ConfigError
from .format import TEXT_TOWER, TOKENIZER_DIR

#: names beside the exported ones on which the tokenizer, the templates and the graph are checked
CHECK_NAMES = ("sky", "traffic light", "Café au lait", "person_in-red!", "a  b", "x" * 80)


class TextTowerGraph(nn.Module):
    """``encode_text`` on token ids: ``B x L`` int64 -> ``B x C_t``."""

    def __init__(self, adaptor):
        super().__init__()
        self.adaptor = adaptor

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        from transformers import BatchEncoding
        return self.adaptor.encode_text(BatchEncoding({"input_ids": input_ids}))


def _ids(tokenizer, texts: Sequence[str]) -> np.ndarray:
    out = tokenizer(list(texts))
    ids = out["input_ids"] if not hasattr(out, "input_ids") else out.input_ids
    return torch.as_tensor(ids).cpu().numpy().astype(np.int64)


def tokenizer_spec(tokenizer, out_dir: Path) -> Optional[Dict]:
    """The spec of ``tokenizer`` for :func:`radseg.deploy.tokenizer.load_tokenizer` (files written
    into ``out_dir``), or ``None`` when it is of a kind the runtime cannot reproduce."""
    from ..models.standins import HashTokenizer
    if isinstance(tokenizer, HashTokenizer):
        return {"kind": "hash", "vocab_size": tokenizer.vocab_size, "max_length": tokenizer.max_length,
                "pad_id": tokenizer.pad_id}
    hf = tokenizer if hasattr(tokenizer, "backend_tokenizer") else getattr(tokenizer, "tokenizer", None)
    if hf is None or not hasattr(hf, "backend_tokenizer"):
        return None
    folder = out_dir / TOKENIZER_DIR
    folder.mkdir(parents=True, exist_ok=True)
    hf.backend_tokenizer.save(str(folder / "tokenizer.json"))
    length = int(getattr(tokenizer, "max_length", None) or 64)
    return {"kind": "huggingface", "file": f"{TOKENIZER_DIR}/tokenizer.json", "max_length": length,
            "pad_id": int(hf.pad_token_id or 0), "pad_token": str(hf.pad_token or "<pad>")}


def template_strings(templates, names: Sequence[str]) -> List[str]:
    """``template("{}")`` for each template, checked to give ``template(name)`` for every name."""
    out = [t("{}") for t in templates]
    for t, s in zip(templates, out):
        for n in names:
            if t(n) != s.replace("{}", n):
                raise ConfigError(f"the prompt template {s!r} is not a plain format string (it gives {t(n)!r} "
                                  f"for {n!r}); the language tower cannot be exported with it.")
    return out


def export_text_tower(text_embedder, out_dir: Path, names: Sequence[str], exporter: str, opset: int,
                      log=lambda m: None) -> Tuple[Optional[Dict], Optional[Dict]]:
    """``(part entry, manifest["text_tower"])`` of ``text_encoder.onnx``, or ``(None, None)`` with a
    note when the adaptor's tokenizer cannot be reproduced without torch."""
    from ..core.text_embeddings import weights_digest
    from .graph_export import export_graph
    from .tokenizer import load_tokenizer
    adaptor = text_embedder.adaptor
    spec = tokenizer_spec(adaptor.tokenizer, out_dir)
    if spec is None:
        log(f"note: the language adaptor's tokenizer ({type(adaptor.tokenizer).__name__}) cannot be exported; "
            f"the export embeds only its --classes (no language tower).")
        return None, None
    check_names = list(dict.fromkeys([*names, *CHECK_NAMES]))
    templates = template_strings(text_embedder.templates, check_names)
    texts = [t.replace("{}", n) for n in check_names for t in templates]
    ours = load_tokenizer(spec, out_dir)(texts)
    theirs = _ids(adaptor.tokenizer, texts)
    if ours.shape != theirs.shape or not np.array_equal(ours, theirs):
        bad = next((t for t, a, b in zip(texts, ours, theirs) if not np.array_equal(a, b)), texts[0])
        raise ConfigError(f"the exported tokenizer ({spec['kind']}) differs from the language adaptor's on "
                          f"{bad!r}; the language tower cannot be exported with it.")
    log("exporting text_encoder ...")
    ids = torch.from_numpy(theirs)
    digest = weights_digest(adaptor)
    entry = export_graph(TextTowerGraph(adaptor), (ids[:2],), out_dir / f"{TEXT_TOWER}.onnx", ["input_ids"],
                         ["embedding"], {"input_ids": {0: "prompts"}}, exporter, opset,
                         memo_key=(digest, TEXT_TOWER), checks=[(ids[2:5],), (ids[:len(templates)],)])
    entry["digest"] = digest
    tower = {"file": entry["file"], "tokenizer": spec, "templates": templates, "lang_digest": digest,
             "check_names": check_names}
    tower["embedding_max_rel_err"] = embedding_error(text_embedder, out_dir / entry["file"], spec, out_dir,
                                                     templates, check_names[-len(CHECK_NAMES):][:3])
    return entry, tower


def embedding_error(text_embedder, path: Path, spec: Dict, folder: Path, templates: Sequence[str],
                    names: Sequence[str]) -> float:
    """The export check of the whole text path: ``max|onnx - torch| / max|torch|`` of the class
    embeddings of ``names`` (tokenizer, graph, normalisation and template mean) against the torch
    :class:`radseg.core.text_embeddings.TextEmbedder`; above 1e-4 fails the export."""
    from .graph_export import CHECK_TOLERANCE
    from .text_runtime import ExportTextEmbedder
    emb = ExportTextEmbedder(folder, {"tokenizer": spec, "templates": list(templates)}, path, disk_cache=False)
    ours = np.stack([emb.embed_one(n) for n in names])
    ref = text_embedder(list(names), device="cpu").float().numpy()
    err = float(np.abs(ours - ref).max() / max(float(np.abs(ref).max()), 1e-12))
    if not err <= CHECK_TOLERANCE:
        raise RuntimeError(f"{path.name}: the exported text path differs from PyTorch by {err:.2e} (relative), "
                           f"more than {CHECK_TOLERANCE:g}")
    return float(f"{err:.3g}")
