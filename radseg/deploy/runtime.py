"""RADSeg from an export folder with ONNX Runtime and numpy alone: no PyTorch (docs/DEPLOY.md).

``pip install radseg[onnx-runtime]`` plus an export is enough::

    from radseg.deploy.runtime import OnnxSegmenter
    seg = OnnxSegmenter("exports/voc_mid")                       # checks the folder, opens the sessions
    result = seg.predict("photo.jpg", "sky, building, tree")     # any class list (the language tower)
    result.labels   # H x W int64, result.probs: K x H x W float32, result.classes

The same steps as :meth:`radseg.core.encoder.RADSegEncoder.predict` (RADSeg, not RADSeg+):
mmseg's resize and CLIP normalisation (:mod:`radseg.preprocess`), the stride resize and windows
(:mod:`radseg.core.window_geometry`), ``backbone.onnx`` on the windows, stitching, SCGA,
``head_mlp.onnx``, the cosine softmax, upsampling, synonym max, denoising and argmax
(:mod:`radseg.deploy.numpy_ops`), the class embeddings from :mod:`radseg.deploy.text_runtime`.
Nothing here imports torch (``tests/test_deploy_runtime.py`` runs it with ``import torch`` blocked).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import numpy as np

from ..errors import ConfigError
from . import numpy_ops as ops


@dataclass
class RuntimePrediction:
    """``labels`` ``H x W`` int64, ``probs`` ``K x H x W`` float32 at the image's size; ``classes``
    (each class's first synonym); ``image`` ``H x W x 3`` uint8; ``timings`` in milliseconds."""
    labels: np.ndarray
    probs: np.ndarray
    classes: List[str]
    image: np.ndarray
    timings: Dict[str, float] = field(default_factory=dict)

    def label_image(self):
        """The label map as a palette PNG image (pixel value = class index)."""
        from ..visualize import label_map_image
        return label_map_image(self.labels, len(self.classes))

    def overlay(self, alpha: float = 0.5, legend: bool = True):
        from ..visualize import overlay
        return overlay(self.image, self.labels, self.classes, alpha=alpha, legend=legend)


def read_rgb(image) -> np.ndarray:
    """A path (read as ``radseg segment`` reads it), a PIL image or an ``H x W x 3`` uint8 array -> RGB."""
    from ..segment import _pil_array, _to_rgb, load_image
    if isinstance(image, (str, bytes)) or hasattr(image, "__fspath__"):
        return load_image(str(image))[0]
    if isinstance(image, np.ndarray):
        return _to_rgb(image)
    if hasattr(image, "convert") and hasattr(image, "size"):
        return _pil_array(image)
    raise ConfigError(f"cannot read an image from a {type(image).__name__}: give a path, a PIL image or an "
                      f"H x W x 3 uint8 array.")


class OnnxSegmenter:
    """RADSeg over a ``radseg export onnx`` folder with ONNX Runtime sessions; settings are the export's.

    ``threads``: intra-op threads (default: ONNX Runtime's); ``optimization``: graph optimisation level;
    ``providers``: execution providers (default the CPU's); ``overrides``: settings that do not change
    the graphs (``scale``, ``scga_scaling``, ``prompt_denoising_thresh``, ``use_scga``, ...), checked
    against the export like ``radseg segment``'s flags.
    """

    def __init__(self, folder, threads: Optional[int] = None, optimization: str = "all", providers=None,
                 **overrides):
        from .export_folder import OnnxExport
        from .format import require_onnxruntime
        from .sessions import open_session, session_options
        from .text_runtime import ExportTextEmbedder
        require_onnxruntime("the ONNX Runtime segmenter")
        export = OnnxExport.open(folder)
        config = export.config().replace(sam_refine=False, **overrides)
        config.validate(patch_size=int(export.manifest["patch_size"]))
        export.check_config(config)
        options = session_options(threads, optimization)
        providers = providers or ["CPUExecutionProvider"]
        self.export, self.config = export, config
        self.patch = int(export.manifest["patch_size"])
        self.backbone = open_session(export.path("backbone"), providers, options)
        self.head_mlp = open_session(export.path("head_mlp"), providers, options)
        self.text = ExportTextEmbedder.from_export(export, lambda path: open_session(path, providers, options))
        s = export.settings
        self.single_shape = None if s["slide_crop"] > 0 else tuple(export.manifest["size"])
        self.classes: Optional[List[List[str]]] = None
        self._queries: List[str] = []
        self._owner: List[int] = []
        self._emb: Optional[np.ndarray] = None

    # -- classes ------------------------------------------------------------------------------
    def set_classes(self, classes) -> List[List[str]]:
        from ..class_names import parse_classes
        parsed = parse_classes(classes)
        if parsed != self.classes:
            queries, owner = ops.flatten_synonyms(parsed)
            self.text.check(queries)
            self._emb = self.text(queries)
            self.classes, self._queries, self._owner = parsed, queries, owner
        return parsed

    # -- steps --------------------------------------------------------------------------------
    def _backbone(self, x: np.ndarray) -> np.ndarray:
        """``n x 3 x s x s`` -> ``n x C_v x s/p x s/p`` (:meth:`RADSegEncoder.backbone_features`)."""
        h, w = x.shape[-2:]
        out = self.backbone.run(None, {self.backbone.get_inputs()[0].name: np.ascontiguousarray(x, np.float32)})[0]
        return out.transpose(0, 2, 1).reshape(x.shape[0], -1, h // self.patch, w // self.patch)

    def feature_map(self, img: np.ndarray) -> np.ndarray:
        """:meth:`RADSegEncoder.feature_map` of one ``1 x 3 x H x W`` input: ``1 x C_v x h/p x w/p``."""
        from ..core.window_geometry import stride_resize_shape, window_grid
        crop, stride, p = self.config.slide_crop, self.config.slide_stride, self.patch
        if crop <= 0:
            h, w = img.shape[-2:]
            if h % p or w % p:
                img = ops.resize_bilinear(img, (max(p, round(h / p) * p), max(p, round(w / p) * p)))
            if tuple(img.shape[-2:]) != self.single_shape:
                raise ConfigError(f"the export in '{self.export.folder}' runs {self.single_shape[0]} x "
                                  f"{self.single_shape[1]} inputs ({self.export.describe()}), not "
                                  f"{img.shape[-2]} x {img.shape[-1]}: export at that size.")
            return self._backbone(img)
        img = ops.resize_bilinear(img, stride_resize_shape(*img.shape[-2:], crop, stride))
        h, w = img.shape[-2:]
        boxes = window_grid(h, w, crop, stride)
        crops = np.concatenate([img[:, :, y1:y2, x1:x2] for (y1, y2, x1, x2) in boxes], axis=0)
        cap = self.config.max_windows_per_batch
        cap = cap if isinstance(cap, int) and 0 < cap < len(boxes) else len(boxes)
        feats = np.concatenate([self._backbone(crops[i:i + cap]) for i in range(0, len(boxes), cap)], axis=0)
        return ops.stitch_windows(feats, boxes, h, w, p)

    def probabilities(self, img: np.ndarray, ori_shape) -> np.ndarray:
        """:meth:`RADSegEncoder.coarse_probabilities`: denoised ``K x H0 x W0``."""
        feats = self.feature_map(img)
        if self.config.use_scga:
            feats = ops.scga(feats, self.config.scga_scaling)
        b, _, h, w = feats.shape
        tokens = ops.tokens_of(feats)
        proj = self.head_mlp.run(None, {self.head_mlp.get_inputs()[0].name: tokens})[0].reshape(b, h, w, -1)
        prob = ops.cosine_probabilities(proj, self._emb)
        prob = ops.resize_bilinear(prob, ori_shape)
        prob = ops.max_over_synonyms(prob, self._owner, len(self.classes))
        return ops.denoise_prompts(prob, self.config.prompt_denoising_thresh)[0]

    def predict_normalized(self, img: np.ndarray, ori_shape) -> RuntimePrediction:
        """The network input already resized and normalised (``1 x 3 x H x W`` float32)."""
        probs = self.probabilities(np.asarray(img, np.float32), tuple(int(s) for s in ori_shape))
        return RuntimePrediction(probs.argmax(axis=0).astype(np.int64), probs.astype(np.float32),
                                 [c[0] for c in self.classes], np.zeros((0, 0, 3), np.uint8))

    def predict(self, image, classes=None) -> RuntimePrediction:
        """Segment one image (a path, PIL image or ``H x W x 3`` uint8 array) into ``classes``."""
        from ..image_rescale import MEAN_RGB, STD_RGB, rescale_like_mmseg
        t0 = time.perf_counter()
        if classes is not None:
            self.set_classes(classes)
        elif self.classes is None:
            raise ConfigError("no classes: call predict(image, ['sky', 'dog', ...]).")
        rgb = read_rgb(image)
        net = rescale_like_mmseg(rgb, self.config.scale)
        mean = np.asarray(MEAN_RGB, np.float32).reshape(3, 1, 1)
        std = np.asarray(STD_RGB, np.float32).reshape(3, 1, 1)
        x = ((np.ascontiguousarray(net).transpose(2, 0, 1).astype(np.float32) - mean) / std)[None]
        t1 = time.perf_counter()
        out = self.predict_normalized(x, rgb.shape[:2])
        t2 = time.perf_counter()
        out.image = rgb
        out.timings = {"preprocess": 1e3 * (t1 - t0), "segment": 1e3 * (t2 - t1), "total": 1e3 * (t2 - t0)}
        return out


def main(argv=None) -> int:
    """``python -m radseg.deploy.runtime IMAGE --labels "a, b" --model-dir D [--out PREFIX]``: RADSeg from
    an export without torch; writes ``PREFIX_labels.png`` and ``PREFIX_overlay.png`` (default: the
    image's name, in the current folder). Errors are one ``error:`` line, exit status 2."""
    import argparse
    import sys
    from pathlib import Path

    from ..errors import RADSegError
    p = argparse.ArgumentParser(prog="python -m radseg.deploy.runtime",
                                description="RADSeg from a radseg export onnx folder, with ONNX Runtime and numpy "
                                            "only (no PyTorch; docs/DEPLOY.md)")
    p.add_argument("image")
    p.add_argument("--labels", required=True, help='class names, e.g. "sky, building, tree|forest"')
    p.add_argument("--model-dir", required=True, help="the export folder")
    p.add_argument("--out", default=None, help="output prefix (default: the image's name)")
    p.add_argument("--threads", type=int, default=None, help="ONNX Runtime intra-op threads")
    args = p.parse_args(argv)
    try:
        seg = OnnxSegmenter(args.model_dir, threads=args.threads)
        from .run_settings import settings_line
        print(settings_line(seg.config, seg.export), file=sys.stderr)
        result = seg.predict(args.image, args.labels)
        prefix = args.out or Path(args.image).stem
        Path(prefix).parent.mkdir(parents=True, exist_ok=True)
        result.label_image().save(f"{prefix}_labels.png")
        result.overlay().save(f"{prefix}_overlay.png")
    except (RADSegError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {prefix}_overlay.png and {prefix}_labels.png ({result.timings['total']:.0f} ms)")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
