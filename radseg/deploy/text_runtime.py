"""Class names -> prompt embeddings from an export, with numpy and ONNX Runtime (no torch import).

:class:`ExportTextEmbedder` is section 5 of docs/ALGORITHM.md on an export folder: each name is put
into every prompt template of the export (the ones the torch path used), tokenized with the export's
tokenizer (:mod:`radseg.deploy.tokenizer`), encoded by ``text_encoder.onnx``; the ``Q`` rows are
L2-normalised and averaged (not re-normalised), as :class:`radseg.core.text_embeddings.TextEmbedder`
does. Names the export embedded at export time (``--classes``) come from ``text_embeddings.npz``
(a pre-computed cache, not a limit). Lists computed here are cached in memory and on disk under
``<cache_dir>/text_embeddings_onnx/``, keyed by a digest of (text-tower weights, tokenizer, templates,
names). A format-1 export (no language tower) embeds only the names it holds: any other name is one
:class:`radseg.errors.ConfigError` naming it.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np

from ..cache import cache_dir
from ..errors import ConfigError
from .format import TEXT_TOWER

logger = logging.getLogger(__name__)


class ExportTextEmbedder:
    """``names -> Q x C_t`` float32 embeddings (numpy) of an :class:`radseg.deploy.export_folder.OnnxExport`.

    ``make_session``: ``path -> onnxruntime.InferenceSession`` (called once, when a name needs the tower).
    """

    _memory: Dict[str, np.ndarray] = {}

    def __init__(self, folder, tower: Optional[Dict] = None, tower_path=None, tower_sha: str = "",
                 stored: Optional[Dict[str, np.ndarray]] = None, make_session: Optional[Callable] = None,
                 disk_cache: bool = True, batch_size: int = 80):
        self.folder = folder
        self.tower, self.tower_path, self.tower_sha = tower, tower_path, tower_sha
        self.stored = dict(stored or {})
        self.stored_names = list(self.stored)
        self.make_session = make_session
        self.disk_cache = disk_cache
        self.batch_size = batch_size
        self._session = None
        self._tokenize = None

    @classmethod
    def from_export(cls, export, make_session: Optional[Callable] = None, disk_cache: bool = True
                    ) -> ExportTextEmbedder:
        """The embedder of an :class:`radseg.deploy.export_folder.OnnxExport` (its npz rows, its tower)."""
        data = np.load(export.folder / export.manifest["text"]["file"])
        table = np.ascontiguousarray(data["embeddings"], dtype=np.float32)
        stored = {str(n): table[i] for i, n in enumerate(data["names"])}
        if not export.has_text_tower:
            return cls(export.folder, stored=stored, make_session=make_session, disk_cache=disk_cache)
        return cls(export.folder, export.manifest["text_tower"], export.path(TEXT_TOWER),
                   str(export.manifest["parts"][TEXT_TOWER].get("sha256") or ""), stored, make_session, disk_cache)

    # -- checks -------------------------------------------------------------------------------
    @property
    def open_vocabulary(self) -> bool:
        return self.tower is not None

    def check(self, names: Sequence[str]) -> None:
        """Without a language tower, a name the export did not embed is one clear error."""
        if self.tower is not None:
            return
        missing = [n for n in names if n not in self.stored]
        if missing:
            shown = ", ".join(self.stored_names[:8]) + (", ..." if len(self.stored_names) > 8 else "")
            raise ConfigError(f"'{missing[0]}' has no text embedding in the export '{self.folder}' (it has {shown}; "
                              f"a format-1 export holds no language tower); export again with this radseg "
                              f"(any class list), or with --classes naming it.")

    # -- embedding ----------------------------------------------------------------------------
    def _key(self, names: Sequence[str]) -> str:
        payload = json.dumps({"weights": self.tower_sha, "lang_digest": self.tower.get("lang_digest", ""),
                              "tokenizer": self.tower["tokenizer"], "templates": self.tower["templates"],
                              "names": list(names)}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()

    def _run_tower(self, ids: np.ndarray) -> np.ndarray:
        if self._session is None:
            if self.make_session is None:
                from .sessions import open_session, session_options
                self._session = open_session(self.tower_path, ["CPUExecutionProvider"], session_options())
            else:
                self._session = self.make_session(self.tower_path)
        name = self._session.get_inputs()[0].name
        return np.asarray(self._session.run(None, {name: ids})[0], dtype=np.float32)

    def embed_one(self, name: str) -> np.ndarray:
        """One name: mean over the templates of the L2-normalised tower outputs (``C_t``)."""
        if self._tokenize is None:
            from .tokenizer import load_tokenizer
            self._tokenize = load_tokenizer(self.tower["tokenizer"], self.folder)
        texts = [t.replace("{}", name) for t in self.tower["templates"]]
        chunks = [self._run_tower(self._tokenize(texts[i:i + self.batch_size]))
                  for i in range(0, len(texts), self.batch_size)]
        emb = np.concatenate(chunks, 0)
        emb = emb / np.linalg.norm(emb, axis=-1, keepdims=True)
        return emb.mean(axis=0, dtype=np.float32)  # not re-normalised (reference)

    def _computed(self, names: List[str]) -> Dict[str, np.ndarray]:
        if not names:
            return {}
        key = self._key(names)
        emb = self._memory.get(key)
        path = cache_dir() / "text_embeddings_onnx" / f"{key}.npy"
        if emb is None and self.disk_cache and path.is_file():
            try:
                loaded = np.load(path)
                if loaded.shape[0] == len(names):
                    emb = loaded.astype(np.float32)
            except (OSError, ValueError):  # a corrupt cache file is recomputed
                logger.warning("ignoring unreadable text-embedding cache %s", path)
        if emb is None:
            emb = np.stack([self.embed_one(n) for n in names]).astype(np.float32)
            if self.disk_cache:
                try:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    tmp = path.with_name(f"{key}.tmp{os.getpid()}.npy")
                    np.save(tmp, emb)
                    os.replace(tmp, path)
                except OSError as e:  # read-only home etc.: the memory cache still works
                    logger.warning("could not write text-embedding cache %s: %s", path, e)
        self._memory[key] = emb
        return dict(zip(names, emb))

    def __call__(self, names: Sequence[str]) -> np.ndarray:
        """``Q`` names -> ``Q x C_t`` float32."""
        self.check(names)
        todo = list(dict.fromkeys(n for n in names if n not in self.stored))
        computed = self._computed(todo)
        return np.stack([self.stored[n] if n in self.stored else computed[n] for n in names]).astype(np.float32)
