"""``TridentPredictor``: Trident (TRIDENT.md section 2) behind the :class:`~radseg.methods.MethodPredictor` protocol.

:meth:`TridentPredictor.segment` chains the steps, one function each: SAM branch
(:mod:`.sam_branch`), crops (:mod:`.crops`), DINO (:mod:`.dino`), CLIP up to its last block
(:mod:`.clip_visual`), the two attentions (:mod:`.attention`), the splice, logits and the query
merge (:mod:`.logits`), the refinement (:mod:`.refine`). Batch size 1, as the release.
The SAM branch needs the original image (T1): :meth:`predict` has it; :meth:`predict_normalized`
(the evaluation) reads ``image_path`` as the release does (``cv2.imread``).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import torch

from ...core.stage_timing import stage
from ...errors import ConfigError, DatasetError
from . import attention, crops, logits
from .clip_visual import clip_head, clip_tokens_before_last_block
from .dino import build_dino, dino_features
from .prompts import display_names, is_class_file, load_trident_classes
from .refine import sam_refinement
from .sam_branch import SamFeatures, sam_features
from .sam_model import build_sam
from .settings import TridentSettings


@dataclass
class TridentOutput:
    """One image: ``labels`` ``H0 x W0`` int64, ``probs`` ``K x H0 x W0`` float32 (refined scores when the
    refinement accepted a mask, else the merged probabilities); ``steps``: the named intermediates when
    asked for (``keep_steps=True``)."""
    labels: torch.Tensor
    probs: torch.Tensor
    steps: Dict[str, Any] = field(default_factory=dict)


def read_original_image(path: str) -> np.ndarray:
    """The release's SAM-branch read: ``cv2.imread`` (BGR) -> ``H x W x 3`` uint8 RGB."""
    import cv2
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise DatasetError(f"cannot read image '{path}' for Trident's SAM branch (missing or not an image).")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


class TridentPredictor:
    """Trident with its three models. Build with :meth:`from_settings`."""

    def __init__(self, settings: TridentSettings, clip, dino, sam, device="cpu", clip_info=None):
        self.settings = settings
        self.clip, self.clip_info = clip.eval(), dict(clip_info or {})
        self.dino, self.sam = dino.eval(), sam.eval()
        self.device = torch.device(device)
        self._classes: Optional[List[List[str]]] = None
        self._text: Optional[torch.Tensor] = None
        self._owner: List[int] = []
        #: optional stage timer (``radseg bench``): ``timer.stage(name)`` around each step; None: off
        self.timer = None
        self.to(self.device)
        if settings.class_names:
            self.set_classes(settings.class_names)

    @classmethod
    def from_settings(cls, settings: TridentSettings, device=None) -> TridentPredictor:
        """Validate ``settings``, build CLIP, DINO and SAM (real weights, ``-random`` replicas or ``tiny-random``)."""
        from .clip_models import build_trident_clip
        settings.validate()
        if not settings.model_version.endswith("random"):  # the files first: one line before anything loads
            from .dino import dino_checkpoint_path
            from .sam_model import sam_checkpoint_path
            dino_checkpoint_path(settings.dino_weights)
            sam_checkpoint_path(settings.sam_weights, settings.sam_model_type)
        loaded = build_trident_clip(settings.model_version, settings.clip_weights)
        dino = build_dino(settings.model_version, settings.dino_weights, settings.dino_model)
        sam = build_sam(settings.model_version, settings.sam_weights, settings.sam_model_type)
        return cls(settings, loaded.model, dino, sam, device or "cpu", clip_info=loaded.info)

    # -- protocol -----------------------------------------------------------------------------
    def to(self, device) -> TridentPredictor:
        self.device = torch.device(device)
        for m in (self.clip, self.dino, self.sam):
            m.to(self.device)
        if self._text is not None:
            self._text = self._text.to(self.device)
        return self

    @property
    def model_info(self) -> Dict[str, str]:
        s = self.settings
        rnd = f" ({s.model_version})" if s.model_version.endswith("random") else ""
        return {"clip": s.model_version, "clip_weights": self.clip_info.get("clip_weights", "open_clip 'openai'"),
                "dino": s.dino_model + rnd, "dino_weights": s.dino_weights or "torch.hub dino_vitbase16_pretrain.pth",
                "sam": s.sam_model_type + rnd, "sam_weights": s.sam_weights or "sam_vit_b_01ec64.pth"}

    def modules_for_count(self) -> Dict[str, torch.nn.Module]:
        """The three models, for parameter counts (``clip`` includes its text tower)."""
        return {"clip": self.clip, "dino": self.dino, "sam": self.sam}

    @property
    def classes(self) -> Optional[List[str]]:
        return None if self._classes is None else display_names(self._classes)

    def set_classes(self, classes: Any) -> List[List[str]]:
        """A class file (path or key, e.g. ``trident/voc21``), ``"sky, dog|puppy"`` or a list; text embeddings
        are computed once per list (80 templates per query)."""
        if isinstance(classes, str) and is_class_file(classes):
            parsed = load_trident_classes(classes)
        else:
            from ...predictor import parse_classes
            parsed = parse_classes(classes)
        if parsed != self._classes:
            from ..clip.text import query_embeddings
            queries, owner = logits.class_queries(parsed)
            self._text = query_embeddings(self.clip, queries, device=self.device).float()
            self._classes, self._owner = parsed, owner
        return parsed

    @property
    def text_embeddings(self) -> Optional[torch.Tensor]:
        """``Q x D`` unit query embeddings (one per synonym), or None before :meth:`set_classes`."""
        return self._text

    @property
    def query_owner(self) -> List[int]:
        """The class of each query (``owner[q]``)."""
        return list(self._owner)

    def query_features(self, img: torch.Tensor, ori_shape: Tuple[int, int], image_path: str) -> torch.Tensor:
        """``N x D``: the feature map the query cosines see (after CLIP's head; N = SAM's grid cells) for the
        evaluation's input, as :meth:`predict_normalized` computes it (the bench's peaked workload)."""
        rgb, shape = self._original(image_path, ori_shape)
        return self.segment(img, rgb, shape, keep_steps=True).steps["features"]

    def set_text_embeddings(self, text: torch.Tensor, owner: List[int], names: Optional[List[str]] = None) -> None:
        """Use ``text`` (``Q x D``, L2-normalised) as the query embeddings, query ``q`` of class ``owner[q]``
        (tests and benchmarks: peaked prompts on random weights); replaced by the next :meth:`set_classes`."""
        K = max(owner) + 1
        names = names or [f"class {k}" for k in range(K)]
        self._text = text.float().to(self.device)
        self._owner = list(owner)
        self._classes = [[n] for n in names]

    # -- prediction ---------------------------------------------------------------------------
    @torch.no_grad()
    def segment(self, img: torch.Tensor, rgb: np.ndarray, ori_shape: Tuple[int, int],
                keep_steps: bool = False, sam_feats: Optional[SamFeatures] = None) -> TridentOutput:
        """The chain. ``img`` ``1 x 3 x H x W`` CLIP-normalised (0..255 statistics), already resized by the
        test pipeline; ``rgb`` the original ``H0 x W0 x 3`` uint8 image (SAM branch); ``ori_shape`` ``(H0, W0)``;
        ``sam_feats``: step A's result for ``rgb`` when already computed (it depends on the image only)."""
        if self._text is None:
            raise ConfigError("no classes: call set_classes(...) or predict(image, ['sky', 'dog', ...]).")
        s = self.settings
        img = img.to(self.device).float()
        t = self.timer
        with stage(t, "sam_branch"):
            feats = sam_feats if sam_feats is not None else sam_features(self.sam, rgb, halves=s.sam_halves,
                                                                         refine=s.sam_refine)
        with stage(t, "crops"):
            xc = crops.preprocess_image(img, 16, s.slide_crop)
            windows = crops.window_grid(xc.shape[-2], xc.shape[-1], s.slide_crop, s.slide_stride)
            batch = crops.crop_batch(xc, windows)
        with stage(t, "dino"):
            dino_f = dino_features(self.dino, batch)
        visual = self.clip.visual
        with stage(t, "clip"):
            tokens = clip_tokens_before_last_block(visual, batch)
        grid = (batch.shape[-2] // 16, batch.shape[-1] // 16)  # c/P x c/P (smaller only below one crop)
        with stage(t, "attention"):
            o = attention.dino_guided_attention(visual.transformer.resblocks[-1], tokens, dino_f, grid, s.beta,
                                                s.gamma)
            canvas = crops.splice(o, windows, xc.shape[-2:])
            y = attention.sam_guided_attention(canvas, feats.attn, feats.value, feats.grid, s.cos_fac,
                                               s.refine_neg_cos)
        with stage(t, "head_logits"):
            y = clip_head(visual, y)
            lg = logits.query_logits(y, self._text, feats.grid, ori_shape)
            qp = logits.query_probabilities(lg, s.logit_scale)
            probs = logits.merge_queries(qp, self._owner)
            labels = logits.predict_labels(probs, s.prob_thd)
        steps = dict(sam_attn=feats.attn, sam_value=feats.value, grid=feats.grid, sam_embedding=feats.embedding,
                     preprocessed=xc, windows=windows, crops=batch, dino=dino_f, tokens=tokens, dino_attn_out=o,
                     canvas=canvas, features=y, logits=lg, query_probs=qp, probs=probs,
                     coarse_labels=labels) if keep_steps else {}
        if s.sam_refine:
            with stage(t, "sam_refinement"):
                labels, probs = sam_refinement(self.sam, feats, labels, probs, s.coarse_thresh, s.minimal_area,
                                               s.sam_mask_coff, s.sam_iou_thresh)
        return TridentOutput(labels, probs.float(), steps)

    @torch.no_grad()
    def predict_normalized(self, img: torch.Tensor, ori_shape: Tuple[int, int],
                           image_path: Optional[str] = None) -> TridentOutput:
        """The evaluation's entry: ``img`` ``1 x 3 x H x W`` from the test pipeline, ``ori_shape`` ``(H0, W0)``;
        ``image_path`` (required): the original file, which the SAM branch reads (T1)."""
        with stage(self.timer, "read_image"):
            rgb, shape = self._original(image_path, ori_shape)
        return self.segment(img, rgb, shape)

    @staticmethod
    def _original(image_path: Optional[str], ori_shape: Tuple[int, int]) -> Tuple[np.ndarray, Tuple[int, int]]:
        """The original ``H0 x W0 x 3`` image the SAM branch reads (T1), checked against ``ori_shape``."""
        if not image_path:
            raise ConfigError("Trident's SAM branch reads the original image file (TRIDENT.md T1): pass image_path.")
        rgb = read_original_image(image_path)
        shape = tuple(int(v) for v in ori_shape)
        if tuple(rgb.shape[:2]) != shape:
            raise DatasetError(f"image '{image_path}' is {rgb.shape[0]} x {rgb.shape[1]}, but ori_shape is "
                               f"{tuple(ori_shape)}.")
        return rgb, shape

    @torch.no_grad()
    def predict(self, image: Any, classes: Any = None):
        """Segment one image (path, PIL, array or tensor) at its own size -> :class:`radseg.predictor.Prediction`."""
        from ...predictor import Prediction, load_rgb
        from ...preprocess import network_input
        t0 = time.perf_counter()
        if classes is not None:
            self.set_classes(classes)
        elif self._classes is None:
            raise ConfigError("no classes: call predict(image, ['sky', 'dog', ...]).")
        rgb = load_rgb(image)
        x = network_input(rgb, self.settings.scale)
        t1 = time.perf_counter()
        out = self.segment(x, rgb, rgb.shape[:2])
        t2 = time.perf_counter()
        ms = {"preprocess": 1e3 * (t1 - t0), "segment": 1e3 * (t2 - t1), "total": 1e3 * (t2 - t0)}
        return Prediction(out.labels, out.probs, self.classes, rgb, ms)
