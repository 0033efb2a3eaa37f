"""``eval.py --save-predictions DIR``: each image's predicted label map, and a manifest.

An mmengine hook (:class:`RADSegSavePredictionsHook`) that writes, per image of the
test loop, ``DIR/<image path relative to the dataset's image folder, suffix .png>``:
a palette ("P") PNG whose pixel values are the class indices the metric scores
(0..K-1; 255 = ignore, never predicted), at the image's original size. With
``save_probs`` it also writes ``<same name>.npy``: the class probabilities, float16,
K x H x W. At the end of the test loop, rank 0 writes ``DIR/predictions.json``::

    {"dataset": "voc20", "classes": [...metric class names...], "palette": [[r, g, b], ...],
     "items": [{"img_path": "/abs/image.jpg", "seg_map_path": "/abs/label.png" or null,
                "pred": "relative/name.png"[, "probs": "relative/name.npy"]}, ...]}

Items are in the dataset's order, one per image. Under a distributed launcher each
rank writes its own images (atomically: a padded duplicate sample may be written
twice) and rank 0 gathers the items before writing the manifest.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Dict, List, Optional

import numpy as np
from mmengine.hooks import Hook
from mmseg.registry import HOOKS

MANIFEST = "predictions.json"
IGNORE_INDEX = 255


def hook_config(out_dir, save_probs: bool = False, dataset: Optional[str] = None) -> dict:
    """The ``custom_hooks`` entry for :class:`RADSegSavePredictionsHook`."""
    return dict(type="RADSegSavePredictionsHook", out_dir=str(out_dir), save_probs=bool(save_probs),
                dataset=dataset)


def _palette(meta: Dict[str, Any], k: int) -> List[List[int]]:
    pal = [list(map(int, c))[:3] for c in (meta.get("palette") or [])][:k]
    for i in range(len(pal), k):  # datasets without a (full) palette
        pal.append([(i * 67) % 256, (i * 131 + 50) % 256, (i * 197 + 100) % 256])
    return pal


def _atomic(path: Path, write) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        if tmp.exists():
            tmp.unlink()
        raise


@HOOKS.register_module()
class RADSegSavePredictionsHook(Hook):
    """Write each test image's prediction (see the module docstring)."""

    priority = "LOW"

    def __init__(self, out_dir: str, save_probs: bool = False, dataset: Optional[str] = None):
        self.out_dir = Path(out_dir)
        self.save_probs = bool(save_probs)
        self.dataset = dataset
        self.items: List[Dict[str, Any]] = []

    def before_test(self, runner) -> None:
        ds = runner.test_dataloader.dataset
        prefix = (getattr(ds, "data_prefix", None) or {}).get("img_path") or getattr(ds, "data_root", "") or ""
        self.img_dir = os.path.abspath(prefix) if prefix else None
        meta = ds.metainfo
        self.classes = [str(c) for c in meta["classes"]]
        self.palette = _palette(meta, len(self.classes))
        flat = [0] * (256 * 3)
        for i, rgb in enumerate(self.palette):
            flat[3 * i:3 * i + 3] = rgb
        flat[3 * IGNORE_INDEX:3 * IGNORE_INDEX + 3] = [255, 255, 255]
        self.png_palette = flat
        self.items = []
        self.out_dir.mkdir(parents=True, exist_ok=True)

    def _relative(self, img_path: str) -> Path:
        img_path = os.path.abspath(img_path)
        if self.img_dir:
            rel = os.path.relpath(img_path, self.img_dir)
            if not rel.startswith(".."):
                return Path(rel)
        return Path(os.path.basename(img_path))

    def after_test_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        from PIL import Image
        for sample in outputs or []:
            img_path = sample.metainfo.get("img_path")
            rel = self._relative(img_path).with_suffix(".png")
            out = self.out_dir / rel
            out.parent.mkdir(parents=True, exist_ok=True)
            labels = sample.pred_sem_seg.data.squeeze(0).cpu().numpy().astype(np.uint8)
            im = Image.fromarray(labels)
            im.putpalette(self.png_palette)  # 'L' -> 'P': the indices are the pixel values
            _atomic(out, lambda p, im=im: im.save(p, format="PNG"))
            seg = sample.metainfo.get("seg_map_path")
            item = {"img_path": os.path.abspath(img_path),
                    "seg_map_path": os.path.abspath(seg) if seg else None,
                    "pred": rel.as_posix()}
            if self.save_probs and "seg_logits" in sample:
                probs = sample.seg_logits.data.float().cpu().numpy().astype(np.float16)
                rel_npy = rel.with_suffix(".npy")

                def save_npy(p, arr=probs):
                    with open(p, "wb") as f:
                        np.save(f, arr)
                _atomic(self.out_dir / rel_npy, save_npy)
                item["probs"] = rel_npy.as_posix()
            self.items.append(item)

    def after_test_epoch(self, runner, metrics=None) -> None:
        from mmengine.dist import all_gather_object, get_rank, is_distributed
        gathered = all_gather_object(self.items) if is_distributed() else [self.items]
        if get_rank() != 0:
            return
        ds = runner.test_dataloader.dataset
        order = {os.path.abspath(ds.get_data_info(i)["img_path"]): i for i in range(len(ds))}
        seen: Dict[str, Dict[str, Any]] = {}
        for part in gathered:
            for item in part:
                seen.setdefault(item["img_path"], item)  # padded samples appear twice
        items = sorted(seen.values(), key=lambda it: (order.get(it["img_path"], len(order)), it["img_path"]))
        manifest = {"dataset": self.dataset, "classes": self.classes, "palette": self.palette, "items": items}
        text = json.dumps(manifest, indent=1) + "\n"
        _atomic(self.out_dir / MANIFEST, lambda p: p.write_text(text, encoding="utf-8"))
