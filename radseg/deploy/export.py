"""``radseg export onnx``: RADSeg's compute-heavy parts as ONNX graphs, one folder per model and preset.

What goes into the folder (docs/DEPLOY.md):

* ``backbone.onnx``: RADIO with SCRA in its last block, ``windows x 3 x crop x crop`` ->
  patch tokens ``windows x (crop/p)^2 x C_v`` (static window size, a dynamic window count);
  with ``slide_crop <= 0`` the single pass at one given size ``1 x 3 x H x W``;
* ``head_mlp.onnx``: the language adaptor's ``head_mlp``, ``1 x N x C_v`` -> ``1 x N x C_t``;
* RADSeg+ (``--sam``): ``sam_backbone.onnx`` (the same RADIO, ``1 x 3 x 1024 x s`` or
  ``s x 1024``: dynamic height and width, multiples of the patch size), ``sam_feat_mlp.onnx``
  (RADIO's ``sam`` adaptor), ``sam_neck.onnx`` (``1 x C_sam x 64 x 64`` -> ``1 x 256 x 64 x 64``),
  ``sam_prompt_encoder.onnx`` and ``sam_mask_decoder.onnx`` (segment-anything's prompt encoder
  and mask decoder exactly as RADSeg+ calls them: one positive point and one box per region,
  the class's 3-D dense mask prompt, ``multimask_output=False``; the dense positional
  encoding is a constant of the decoder graph, as in ``segment_anything.utils.onnx.SamOnnxModel``);
* ``text_encoder.onnx`` (+ ``tokenizer/`` for a Hugging Face tokenizer): the language tower, so the
  export embeds any class list (:mod:`radseg.deploy.text_export`);
* ``text_embeddings.npz``: the prompt embeddings of the exported class names (computed once
  in PyTorch: a pre-computed cache, not a limit);
* ``radseg_onnx.json`` (:data:`MANIFEST`): format, each graph's inputs and outputs, the
  RADSeg settings, the source models' digests. Written last: a folder without it is not an export.

Stitching, SCGA, the cosine, upsampling, denoising, regions and the merge run in PyTorch
(:mod:`radseg.deploy.ort_backend`) or, for RADSeg, in numpy without torch (:mod:`radseg.deploy.runtime`).
"""
from __future__ import annotations

import datetime
import json
import os
import shutil
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import torch
import torch.nn as nn

from ..config import RADSegConfig
from ..errors import ConfigError, OutputError
from .format import (  # noqa: F401
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    TEXT_FILE,
    TEXT_TOWER,
    file_sha256,
    manifest_settings,
    require_onnx,
)
from .graph_export import (  # noqa: F401 (the names' old home)
    _EXPORTED,
    CHECK_TOLERANCE,
    EXPORTER_CHOICES,
    EXPORTERS,
    OPSET,
    export_graph,
    max_relative_error,
)


def preset_config(name: str, **overrides) -> RADSegConfig:
    """``voc_mid`` / ``ade20k_high`` / ``voc21_low`` -> the :class:`RADSegConfig` of that preset.

    ``<dataset>`` is a dataset-registry key or an entry's ``bench_name`` (``radseg bench``'s
    short name: ``voc`` -> voc20, ``context`` -> context59, ``coco_stuff`` -> coco_stuff164k).
    """
    from ..dataset_registry import dataset_names, get_dataset
    aliases = {get_dataset(k).bench_name: k for k in dataset_names() if get_dataset(k).bench_name}
    short, _, res = name.rpartition("_")
    dataset = aliases.get(short, short)
    if dataset not in dataset_names() or res not in ("low", "mid", "high"):
        known = sorted({a for a, k in aliases.items() if a != k} | {k for k in dataset_names()
                                                                    if get_dataset(k).group != "mess"})
        raise ConfigError(f"unknown preset '{name}': use <dataset>_<low|mid|high> with a dataset among "
                          f"{', '.join(known)} (e.g. voc_mid).")
    return RADSegConfig.preset(dataset, f"{res}_res", **overrides)


# ----------------------------------------------------------------------------- graphs
class BackboneFeatures(nn.Module):
    """RADIO (SCRA installed) -> patch tokens ``B x N x C_v``, as ``RADSegEncoder.backbone_features`` reads them."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.model(x)
        return out.features if hasattr(out, "features") else out[1]


class SamPromptEncoderGraph(nn.Module):
    """SAM's prompt encoder as ``refine_with_sam`` calls it (one class's regions).

    ``points`` ``R x 1 x 2`` and ``boxes`` ``R x 4`` (SAM input coordinates), ``mask``
    ``1 x 256 x 256`` (3-D: the reference's unbatched quirk) -> ``sparse`` ``R x 3 x D``,
    ``dense`` ``D x 64 x 64``. Every point label is 1 (``positive_points_only``).
    """

    def __init__(self, prompt_encoder: nn.Module):
        super().__init__()
        self.pe = prompt_encoder

    def forward(self, points, boxes, mask):
        from ..core.sam_refine import positive_points_only
        labels = torch.ones(points.shape[0], 1, dtype=torch.int, device=points.device)
        with positive_points_only(self.pe):
            return self.pe(points=(points, labels), boxes=boxes, masks=mask)


class SamMaskDecoderGraph(nn.Module):
    """SAM's mask decoder with ``multimask_output=False`` and the dense positional encoding baked in.

    ``image_embeddings`` ``1 x D x 64 x 64``, ``sparse`` ``R x 3 x D``, ``dense`` ``D x 64 x 64``
    -> ``low_res`` ``R x 1 x 256 x 256`` logits, ``iou`` ``R x 1``.
    """

    def __init__(self, sam: nn.Module):
        super().__init__()
        self.decoder = sam.mask_decoder
        self.register_buffer("image_pe", sam.prompt_encoder.get_dense_pe().detach().clone())

    def forward(self, image_embeddings, sparse, dense):
        return self.decoder(image_embeddings=image_embeddings, image_pe=self.image_pe,
                            sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense,
                            multimask_output=False)


# ----------------------------------------------------------------------------- all graphs
def export_parts(encoder, out_dir: Path, *, sam=None, size: Optional[Tuple[int, int]] = None,
                 exporter: str = "auto", opset: int = OPSET, log: Callable[[str], None] = lambda m: None) -> Dict:
    """Export the graphs of a built :class:`radseg.core.encoder.RADSegEncoder` (and SAM) into ``out_dir``.

    ``size``: the single-pass input size ``(H, W)`` when ``encoder.slide_crop <= 0``.
    Returns ``{part: manifest entry}``.
    """
    from ..core.text_embeddings import weights_digest
    p = int(encoder.patch_size)
    crop = int(encoder.slide_crop)
    model = BackboneFeatures(encoder.model)
    digest = weights_digest(encoder.model)
    c_v = int(encoder.backbone_features(torch.zeros(1, 3, p, p)).shape[1])
    parts: Dict[str, Dict] = {}

    def one(name, module, args, inputs, outputs, dynamic, key, checks=()):
        log(f"exporting {name} ...")
        order = ("dynamo",) if name.endswith("backbone") else ("torchscript", "dynamo")
        parts[name] = export_graph(module, args, out_dir / f"{name}.onnx", inputs, outputs, dynamic,
                                   exporter, opset, memo_key=key, checks=checks, auto_order=order)
        parts[name]["digest"] = key[0]

    if crop > 0:
        one("backbone", model, (torch.randn(2, 3, crop, crop),), ["x"], ["features"], {"x": {0: "windows"}},
            (digest, "backbone"), checks=[(torch.randn(3, 3, crop, crop),)])
    else:
        if size is None:
            raise ConfigError("slide_crop <= 0 (one pass over the whole image) needs the input size: "
                              "--size H W (multiples of the patch size).")
        h, w = (int(s) for s in size)
        if h <= 0 or w <= 0 or h % p or w % p:
            raise ConfigError(f"--size {h} {w}: both must be positive multiples of the patch size ({p}).")
        one("backbone", model, (torch.randn(1, 3, h, w),), ["x"], ["features"], {}, (digest, "backbone"))
    head = encoder.lang_adaptor.head_mlp
    one("head_mlp", head, (torch.randn(1, 7, c_v),), ["tokens"], ["projected"], {"tokens": {1: "tokens"}},
        (weights_digest(head), "head_mlp"), checks=[(torch.randn(1, 5, c_v),)])
    if sam is not None:
        adaptor = getattr(encoder, "sam_adaptor", None)
        if adaptor is None:
            raise ConfigError("RADSeg+ export needs RADIO's 'sam' adaptor; this model has none (C-RADIOv4 "
                              "runs SAM's own image encoder, which is not exported yet).")
        emb_h, emb_w = (int(s) for s in sam.prompt_encoder.image_embedding_size)
        img = int(sam.image_encoder.img_size)
        dim = int(sam.prompt_encoder.embed_dim)
        c_sam = int(adaptor.feat_mlp(torch.zeros(1, 1, c_v)).shape[-1])
        sam_digest = weights_digest(sam)
        # dynamic height and width: the long side is 1024, the short one follows the image
        one("sam_backbone", model, (torch.randn(1, 3, img, img // 2),), ["x"], ["features"],
            {"x": {2: "height", 3: "width"}}, (digest, "sam_backbone"),
            checks=[(torch.randn(1, 3, img // 4, img),)])
        one("sam_feat_mlp", adaptor.feat_mlp, (torch.randn(1, 7, c_v),), ["tokens"], ["mapped"],
            {"tokens": {1: "tokens"}}, (weights_digest(adaptor.feat_mlp), "sam_feat_mlp"),
            checks=[(torch.randn(1, 5, c_v),)])
        one("sam_neck", sam.image_encoder.neck, (torch.randn(1, c_sam, emb_h, emb_w),), ["features"],
            ["embedding"], {}, (sam_digest, "sam_neck"))
        r = 3
        mask = 4 * emb_h
        pts = torch.rand(r, 1, 2) * img
        bxs = torch.sort(torch.rand(r, 2, 2) * img, dim=1)[0].reshape(r, 4)
        one("sam_prompt_encoder", SamPromptEncoderGraph(sam.prompt_encoder),
            (pts, bxs, torch.rand(1, mask, mask) * 0.005), ["points", "boxes", "mask"], ["sparse", "dense"],
            {"points": {0: "regions"}, "boxes": {0: "regions"}}, (sam_digest, "sam_prompt_encoder"),
            checks=[(pts[:1], bxs[:1], torch.rand(1, mask, mask) * 0.005)])
        one("sam_mask_decoder", SamMaskDecoderGraph(sam),
            (torch.randn(1, dim, emb_h, emb_w), torch.randn(r, 3, dim), torch.randn(dim, emb_h, emb_w)),
            ["image_embeddings", "sparse", "dense"], ["low_res", "iou"], {"sparse": {0: "regions"}},
            (sam_digest, "sam_mask_decoder"),
            checks=[(torch.randn(1, dim, emb_h, emb_w), torch.randn(1, 3, dim), torch.randn(dim, emb_h, emb_w))])
    return parts


def _text_file(encoder, classes: List[List[str]], path: Path) -> Dict:
    import numpy as np

    from ..core.text_embeddings import flatten_synonyms
    queries, _ = flatten_synonyms(classes)
    names = list(dict.fromkeys(queries))
    emb = encoder.text_embedder(names, device="cpu").float().numpy()
    np.savez(path, names=np.array(names), embeddings=emb)
    return {"file": path.name, "names": names, "classes": classes, "dim": int(emb.shape[1]),
            "lang_digest": encoder.text_embedder.weights_digest()}


def write_export(out: Path, encoder, config: RADSegConfig, classes: List[List[str]], *, sam=None,
                 preset: Optional[str] = None, size=None, exporter: str = "auto", opset: int = OPSET,
                 force: bool = False, info: Optional[Dict] = None, log: Callable[[str], None] = print,
                 text_tower: bool = True) -> Dict:
    """Export into a fresh folder ``out`` (built next to it, moved into place when complete).

    ``text_tower``: also export the language tower (``text_encoder.onnx``, tokenizer, templates), so
    the export embeds any class list (:mod:`radseg.deploy.text_export`)."""
    from ..core.text_embeddings import weights_digest
    require_onnx()
    import onnx
    import onnxruntime
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OutputError(f"'{out}' is a file; give a folder for the export.")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise OutputError(f"'{out}' exists and is not empty; choose a new folder or pass --force to replace it.")
    partial = out.parent / f".{out.name}.partial-{os.getpid()}"
    try:
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
    except OSError as e:
        raise OutputError(f"cannot write '{out}': {e.strerror or e}.") from None
    try:
        t0 = time.perf_counter()
        parts = export_parts(encoder, partial, sam=sam, size=size, exporter=exporter, opset=opset, log=log)
        text = _text_file(encoder, classes, partial / TEXT_FILE)
        tower_part, tower = None, None
        if text_tower:
            from .text_export import export_text_tower
            tower_part, tower = export_text_tower(encoder.text_embedder, partial, text["names"], exporter, opset,
                                                  log=log)
        if tower_part is not None:
            parts[TEXT_TOWER] = tower_part
        for entry in parts.values():  # checked before any session is created (OnnxExport.open)
            entry["sha256"] = file_sha256(partial / entry["file"])
        manifest = {
            "format": FORMAT, "format_version": FORMAT_VERSION,
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "model_version": config.model_version, "lang_model": config.lang_model,
            "source": dict(info or {}), "source_digest": weights_digest(encoder.model),
            "sam": config.sam_ckpt if sam is not None else None,
            "sam_digest": weights_digest(sam) if sam is not None else None,
            "preset": preset, "patch_size": int(encoder.patch_size),
            "size": None if size is None or config.slide_crop > 0 else [int(s) for s in size],
            "settings": manifest_settings(config), "config": config.to_dict(),
            "parts": parts, "text": text, "text_tower": tower,
            "versions": {"torch": torch.__version__, "onnx": onnx.__version__,
                         "onnxruntime": onnxruntime.__version__},
            "export_s": round(time.perf_counter() - t0, 2),
            "random_weights": "random" in str(config.model_version) or "stand-in" in str((info or {}).get("source")),
        }
        (partial / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        if out.exists():
            shutil.rmtree(out)
        os.replace(partial, out)
        for key, (path, used, err) in list(_EXPORTED.items()):  # the graphs now live in ``out``
            if path.parent == partial:
                _EXPORTED[key] = (out / path.name, used, err)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return manifest


def export_onnx(out, config: RADSegConfig, *, preset: Optional[str] = None, classes=None, size=None,
                exporter: str = "auto", opset: int = OPSET, force: bool = False,
                log: Callable[[str], None] = print) -> Dict:
    """Load the models ``config`` names (on the CPU, fp32) and export them into ``out``.

    ``classes``: names to embed (a list, ``"a, b|c"``, or a class-name file / built-in list);
    default: the config's ``class_names`` (a preset's benchmark classes).
    """
    from ..class_names import builtin_class_files, load_class_names, parse_classes
    from ..predictor import RADSegPredictor
    require_onnx()
    if config.fast:
        raise ConfigError("fast mode is not exported (the ONNX graphs are the exact fp32 path); drop --fast.")
    if exporter not in EXPORTER_CHOICES:
        raise ConfigError(f"unknown exporter '{exporter}': use {', '.join(EXPORTER_CHOICES)}.")
    if classes is None:
        if not config.class_names:
            raise ConfigError("no classes to embed: pass --classes (names, or a class-name file) or a --preset.")
        parsed = load_class_names(config.class_names)
    elif isinstance(classes, str) and (Path(classes).is_file() or classes in builtin_class_files()
                                       or classes.endswith(".txt")):  # a class-name file or built-in list
        parsed = load_class_names(classes)
    else:
        parsed = parse_classes(classes)
    if config.slide_crop <= 0 and size is None:
        raise ConfigError("slide_crop <= 0 (one pass over the whole image) needs the input size: "
                          "--size H W (multiples of the patch size).")
    out = Path(out)
    if out.is_dir() and any(out.iterdir()) and not force:  # before any model loads
        raise OutputError(f"'{out}' exists and is not empty; choose a new folder or pass --force to replace it.")
    predictor = RADSegPredictor.from_config(config, device="cpu")
    enc = predictor.encoder
    sam = enc.sam_refiner.sam if enc.sam_refiner is not None else None
    return write_export(out, enc, predictor.config, parsed, sam=sam, preset=preset, size=size, exporter=exporter,
                        opset=opset, force=force, info=predictor.info, log=log)
