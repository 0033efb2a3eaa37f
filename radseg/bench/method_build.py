"""How ``radseg bench --methods`` builds one method at one preset (the timed run and the fresh
process that measures its peak memory build it the same way): settings, replica name, workload."""
from __future__ import annotations

import dataclasses
from typing import List

import torch

from .plan import BENCH_PRESETS, RADSEG_PLUS, BenchPlan

RANDOM_NOTE = "random weights: speed, parameters and FLOPs are the architecture's; masks are not meaningful"


def method_settings(plan: BenchPlan, method: str, preset: str, protocol: str = "radseg"):
    """``(spec, settings)`` of ``method`` at ``preset``; ``settings`` is ``None`` when the method is
    known but unavailable (its row measures nothing and says why). ``protocol``: a baseline under
    RADSeg's preset (``radseg_protocol``) or its release's own settings for the dataset (``own_preset``)."""
    from ..methods.registry import get_method
    base = "radseg" if method == RADSEG_PLUS else method
    spec = get_method(base, require_available=False)
    if not spec.available:
        return spec, None
    if base == "radseg":
        return spec, plan.case_config(preset, method == RADSEG_PLUS, "exact")
    bp = BENCH_PRESETS[preset]
    if protocol == "own":
        settings = spec.settings_cls.own_preset(bp.dataset)
    else:
        settings = spec.settings_cls.radseg_protocol(bp.dataset, bp.resolution)
    if hasattr(settings, "model_version"):
        mv = "tiny-random" if plan.small else str(settings.model_version)
        if not mv.endswith("-random"):
            mv += "-random"  # the full-size random replica of the method's model
        settings = dataclasses.replace(settings, model_version=mv)
    return spec, settings


def method_geometry(plan: BenchPlan, preset: str, settings, protocol: str = "radseg") -> dict:
    """The preset's geometry (``image_size``, ``scale``, ``input_size``); under the ``own`` protocol the
    input is resized by the method's own ``scale`` (quartered with ``--small``)."""
    from ..preprocess import rescale_size
    geo = dict(plan.geometry(preset))
    scale = getattr(settings, "scale", "same")
    if protocol != "own" or scale == "same" or settings is None:
        return geo
    h0, w0 = geo["image_size"]
    if scale is None:
        return {**geo, "scale": None, "input_size": (h0, w0)}
    scale = tuple(int(v) for v in scale)
    if plan.small:
        scale = (max(scale) // 4, min(scale) // 4)
    return {**geo, "scale": scale, "input_size": tuple(rescale_size(h0, w0, scale))}


def model_names(settings) -> List[str]:
    """The weights a method's settings name (for the random-weights mark)."""
    names = [getattr(settings, k) for k in ("model_version", "sam_ckpt", "sam_model") if getattr(settings, k, None)]
    return [str(n) for n in names]


def is_random(settings) -> bool:
    return all("random" in n for n in model_names(settings)) if model_names(settings) else True


def build_method(plan: BenchPlan, method: str, preset: str, num_classes: int, protocol: str = "radseg"):
    """``(predictor, settings)``: the method built on the plan's device, with placeholder class prompts."""
    spec, settings = method_settings(plan, method, preset, protocol)
    if settings is None:
        raise RuntimeError(spec.unavailable)
    if hasattr(settings, "validate"):
        settings.validate()
    pred = spec.build(settings, device=plan.device)
    pred.set_classes([f"class {i}" for i in range(num_classes)])
    # Text embeddings are per class list, not per image: NACLIP's and Trident's set_classes compute them;
    # RADSeg's encoder does on first use, so compute them now. Otherwise the first call (the FLOP count)
    # would include the text tower, or not, depending on whether another row built on the same model
    # (RADSeg+'s workload) had computed them first.
    text = getattr(getattr(pred, "encoder", None), "text_embeddings", None)
    if callable(text):
        with torch.no_grad():
            text()
    return pred, settings


def drive_workload(pred, method: str, imgs: List[torch.Tensor], plan: BenchPlan, dataset: str, k: int,
                   ori_shape=None, image_path=None) -> int:
    """Make the method's data-dependent branch run on random weights; returns the peaked classes.

    RADSeg+: :func:`radseg.bench.workload.use_workload`. A baseline with ``query_features(img, ori_shape,
    image_path) -> N x D`` and ``set_text_embeddings`` (Trident, whose SAM refinement prompts SAM per
    confident region): its first ``present`` queries peaked on its own features
    (:func:`radseg.bench.workload.peaked_queries`). Else ``use_bench_workload(imgs, workload, present)``."""
    from .workload import peaked_queries, present_classes, use_workload
    n = present_classes(dataset, k)
    if method == RADSEG_PLUS:
        return use_workload(pred.encoder, imgs, plan.workload, n)
    if callable(getattr(pred, "query_features", None)) and callable(getattr(pred, "set_text_embeddings", None)):
        if plan.workload == "random" or len(imgs) != 1:
            return 0
        feats = pred.query_features(imgs[0], ori_shape, image_path)
        pred.set_text_embeddings(peaked_queries(feats, pred.text_embeddings, n), list(pred.query_owner))
        return n
    hook = getattr(pred, "use_bench_workload", None)
    return int(hook(imgs, plan.workload, n)) if callable(hook) else 0




_IMAGE_FILES: dict = {}


def bench_image_file(img: torch.Tensor, ori_shape) -> str:
    """The bench image as a file of the original size (``ori_shape`` = ``(h, w)``) for methods that
    read the original file (Trident's SAM branch, TRIDENT.md T1): ``img`` (``1 x 3 x H x W``, CLIP
    normalisation in 0..255 units) un-normalised, resized bilinearly, written once per process as PNG."""
    import atexit
    import os
    import tempfile

    import numpy as np
    from PIL import Image

    from ..image_rescale import MEAN_RGB, STD_RGB
    key = (img.data_ptr(), tuple(img.shape), tuple(ori_shape))
    if key not in _IMAGE_FILES:
        x = img.detach().float().cpu()
        x = x * torch.tensor(STD_RGB).view(1, 3, 1, 1) + torch.tensor(MEAN_RGB).view(1, 3, 1, 1)
        x = torch.nn.functional.interpolate(x, size=tuple(int(v) for v in ori_shape), mode="bilinear",
                                            align_corners=False)
        arr = x[0].clamp(0, 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
        fd, path = tempfile.mkstemp(prefix="radseg_bench_", suffix=".png")
        os.close(fd)
        Image.fromarray(np.ascontiguousarray(arr)).save(path)
        atexit.register(lambda p=path: os.path.exists(p) and os.remove(p))
        _IMAGE_FILES[key] = path
    return _IMAGE_FILES[key]
