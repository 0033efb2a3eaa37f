"""The RayFronts-compatible RADSeg encoder: ``radseg.radseg.RayFrontsRADSegEncoder``.

This is the class RayFronts (and the 3D configs in evaluation/3d/configs) instantiate
through Hydra; the reference release's configs name it ``radseg.radseg.RADSegEncoder``,
a deprecated alias that keeps working (a ``FutureWarning`` says the new name). It is
the class ``torch.hub.load(..., "radseg_encoder", ...)`` returns. It implements
the duck-typed interface of docs/RAYFRONTS_API.md section 7 (RayFronts does no
``isinstance`` checks, so it subclasses nothing of RayFronts):

* constructor keys with the reference's names and defaults (section 3c); an
  unknown key is a :class:`radseg.errors.ConfigError` naming it;
* ``encode_image_to_feat_map(rgb_image, orig_img_size=None, return_preds=False,
  ignore_label=True)`` on ``B x 3 x H x W`` RGB in **0..1** (normalisation is done
  here): ``predict=False`` gives the raw RADIO feature map after SCRA, sliding
  windows and SCGA (``B x C x h x w``); ``predict=True`` gives ``B x (N+1) x H x W``
  class probabilities whose channel 0 is zeros (the ignore class ``''``);
* ``encode_labels`` / ``encode_prompts`` with the one-hot switch,
  ``align_spatial_features_with_language``, ``is_compatible_size``,
  ``get_nearest_size``, ``num_classes``, ``cat_index_to_name``, ``cat_name_to_index``.

**Relationship to** :class:`radseg.core.encoder.RADSegEncoder` (the library's core
encoder, same name, different class): this class is an *adapter* around one
instance of it (``self.core``), built from a :class:`radseg.config.RADSegConfig`.
Every step of the algorithm (SCRA, sliding windows, SCGA, ``head_mlp``
projection, cosine softmax, upsampling, prompt denoising, SAM refinement) is the
library's function; this module only converts inputs and outputs to RayFronts'
conventions. A batch is segmented image by image (each image gets its own SCGA
mean and prompt denoising), so a batch gives the same result as its images one at a
time.

SCGA policy (``scga_policy``): ``"always"`` (default; the reference release applies
SCGA to every image) or ``"multi_window"`` (RayFronts' copy of the encoder applies
it only when sliding windows are on and the image needs more than one window).

Size: one class, the whole RayFronts interface (docs/RAYFRONTS_API.md section 7) with its
reference-named constructor keys; splitting it would scatter one published API.
"""
from __future__ import annotations

import contextlib
import logging
import math
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F

from .config import RADSegConfig
from .errors import ConfigError

logger = logging.getLogger(__name__)

#: ``scga_policy`` values: the reference release's, RayFronts' copy's.
SCGA_POLICIES = ("always", "multi_window")
TEXT_QUERY_MODES = ("labels", "prompts")

#: The constructor keys of the reference (RAYFRONTS_API.md section 3c) with their defaults.
REFERENCE_DEFAULTS = {
    "device": None,
    "model_version": "radio_v3-b",  # the reference's (an alias of c-radio_v3-b here)
    "lang_model": "siglip2",
    "return_radio_features": True,
    "compile": False,
    "amp": False,
    "predict": False,
    "classes": None,
    "text_query_mode": "labels",
    "prediction_thresh": 0.0,
    "prompt_denoising_thresh": 0.5,
    "scra_scaling": 10.0,
    "scga_scaling": 10.0,
    "slide_crop": 336,
    "slide_stride": 224,
    "sam_refinement": False,
    "sam_ckpt": "sam_vit_h_4b8939.pth",
    "coarse_thresh": 0.10,
    "minimal_area": 225,
    "sam_mask_coff": 0.005,
    "sam_iou_thresh": 0.9,
}
#: Settings this toolkit adds (all optional; the reference's behaviour by default).
EXTRA_DEFAULTS = {
    "scga_policy": "always",
    "vitdet_window_size": None,  # C-RADIOv4 only: ViTDet windowed attention
    "max_windows_per_batch": None,
    "radio_source": None,
    "radio_revision": None,
    "radio_repo": None,
}


class PredictOnlyError(ConfigError, AttributeError):
    """A class-list attribute asked of an encoder built without classes (also an
    ``AttributeError``, so ``hasattr`` keeps working)."""


def _classes_list(classes) -> Optional[List[str]]:
    """The injected class list as plain strings (Hydra hands a ``ListConfig``); a
    leading ``''`` (the ignore class) is dropped, as the reference does."""
    if classes is None:
        return None
    if isinstance(classes, str):
        raise ConfigError(f"classes must be a list of class names, not the string {classes!r}; "
                          f"e.g. classes=['chair', 'table'].")
    names = [str(c) for c in classes]
    if names and names[0] == "":
        names = names[1:]
    bad = [n for n in names if not n.strip()]
    if bad or not names:
        raise ConfigError("classes must hold at least one non-empty class name (only a leading '' is allowed, "
                          "for the ignore class).")
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ConfigError(f"classes lists {', '.join(repr(d) for d in dup)} more than once; give each class once.")
    return names


class RayFrontsRADSegEncoder:
    """RADSeg (RADSeg+ with ``sam_refinement=True``) as a RayFronts image encoder.

    Not to be confused with :class:`radseg.core.encoder.RADSegEncoder`, the library's
    core encoder, which this class wraps as ``self.core`` (see the module docstring).

    Args (names and defaults of the reference, RAYFRONTS_API.md section 3c):
        device: ``"cuda"``/``"cpu"``/...; ``None``: CUDA when available. Inputs must
            already be on it (as in the reference).
        model_version: RADIO version, registered stand-in (``tiny-random``) or checkpoint.
        lang_model: RADIO language adaptor (``siglip2``; on C-RADIOv4 the loader uses
            the version's own, ``siglip2-g``, see :mod:`radseg.models.versions`).
        return_radio_features: ``True``: feature maps are raw RADIO features and
            :meth:`align_spatial_features_with_language` projects them with
            ``head_mlp``; ``False``: windows are projected before stitching and
            alignment is the identity.
        compile, amp: ``torch.compile`` the backbone; fp16 autocast (CUDA only).
        predict: output class probabilities instead of features (needs ``classes``).
        classes: class names (RayFronts injects them; a leading ``''`` is dropped).
        text_query_mode: ``labels`` (80 templates per name) or ``prompts`` (names as is)
            for the text embeddings of ``predict=True``.
        prediction_thresh: pixels whose max probability is below it get label 0
            (with ``return_preds=True``; the probabilities are unchanged).
        prompt_denoising_thresh, scra_scaling, scga_scaling, slide_crop, slide_stride:
            as in :class:`radseg.config.RADSegConfig`.
        sam_refinement, sam_ckpt, coarse_thresh, minimal_area, sam_mask_coff,
            sam_iou_thresh: RADSeg+ (``predict=True`` only).

    Extra settings (not in the reference): ``scga_policy`` (``always`` |
    ``multi_window``), ``vitdet_window_size`` (C-RADIOv4 only), ``max_windows_per_batch``,
    ``radio_source``, ``radio_revision``, ``radio_repo`` (see README, Model weights).
    """

    def __init__(self, device=None, model_version: str = REFERENCE_DEFAULTS["model_version"],
                 lang_model: str = "siglip2", return_radio_features: bool = True, compile: bool = False,
                 amp: bool = False, predict: bool = False, classes: Optional[Sequence[str]] = None,
                 text_query_mode: str = "labels", prediction_thresh: float = 0.0,
                 prompt_denoising_thresh: float = 0.5, scra_scaling: float = 10.0, scga_scaling: float = 10.0,
                 slide_crop: int = 336, slide_stride: int = 224, sam_refinement: bool = False,
                 sam_ckpt: Optional[str] = "sam_vit_h_4b8939.pth", coarse_thresh: float = 0.10,
                 minimal_area: int = 225, sam_mask_coff: float = 0.005, sam_iou_thresh: float = 0.9,
                 **extra):
        unknown = sorted(set(extra) - set(EXTRA_DEFAULTS))
        if unknown:
            known = sorted(REFERENCE_DEFAULTS) + sorted(EXTRA_DEFAULTS)
            raise ConfigError(f"radseg.radseg.RayFrontsRADSegEncoder got unknown setting '{unknown[0]}'"
                              f"{' (and ' + ', '.join(unknown[1:]) + ')' if unknown[1:] else ''}; remove it "
                              f"from the encoder config. Known settings: {', '.join(known)}.")
        opts = {**EXTRA_DEFAULTS, **extra}
        if opts["scga_policy"] not in SCGA_POLICIES:
            raise ConfigError(f"scga_policy must be one of {', '.join(SCGA_POLICIES)} (got "
                              f"{opts['scga_policy']!r}); 'always' is the reference release's.")
        if text_query_mode not in TEXT_QUERY_MODES:
            raise ConfigError(f"text_query_mode must be 'labels' or 'prompts' (got {text_query_mode!r}).")
        for name, v in (("prediction_thresh", prediction_thresh),):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 <= float(v) <= 1.0:
                raise ConfigError(f"{name} must be a number between 0 and 1 (got {v!r}); the reference uses 0.0.")
        for name, v in (("return_radio_features", return_radio_features), ("predict", predict),
                        ("sam_refinement", sam_refinement)):
            if not isinstance(v, bool):
                raise ConfigError(f"{name} must be true or false (got {v!r}).")
        names = _classes_list(classes)
        if predict and names is None:
            raise ConfigError("predict=True needs the class list: pass classes=[...] (RayFronts injects it when "
                              "the encoder config has a 'classes:' key).")
        if sam_refinement and not predict:  # the reference accepts this and never refines; so do we
            logger.warning("sam_refinement=True has no effect with predict=False (feature maps are not "
                           "refined); SAM is not loaded. Set predict=True for RADSeg+.")
            sam_refinement = False

        from .predictor import resolve_device
        self.device = resolve_device(device)
        self.config = RADSegConfig().replace(
            model_version=str(model_version), lang_model=str(lang_model), scra_scaling=scra_scaling,
            scga_scaling=scga_scaling, slide_crop=slide_crop, slide_stride=slide_stride,
            prompt_denoising_thresh=prompt_denoising_thresh, sam_refine=sam_refinement,
            sam_ckpt=None if sam_ckpt is None else str(sam_ckpt), coarse_thresh=coarse_thresh,
            minimal_area=minimal_area, sam_mask_coff=sam_mask_coff, sam_iou_thresh=sam_iou_thresh,
            amp=amp, compile=compile, max_windows_per_batch=opts["max_windows_per_batch"], scale=None,
            radio_source=opts["radio_source"], radio_revision=opts["radio_revision"],
            radio_repo=opts["radio_repo"]).validate()
        self.return_radio_features = return_radio_features
        self.predict = predict
        self.text_query_mode = text_query_mode
        self.prediction_thresh = float(prediction_thresh)
        self.scga_policy = opts["scga_policy"]
        self.vitdet_window_size = opts["vitdet_window_size"]
        self.amp = bool(amp)
        self.eps = 1e-10
        from .core.text_embeddings import default_templates
        self.prompt_templates = default_templates()

        self.core = build_core(self.config, self.device, vitdet_window_size=self.vitdet_window_size)
        self.model = self.core.model
        self.lang_adaptor = self.core.lang_adaptor
        self._text_embeds = None
        self.prompts: Optional[List[str]] = None
        self._cat_index_to_name: Optional[Dict[int, str]] = None
        self._cat_name_to_index: Optional[Dict[str, int]] = None
        if names is not None:
            self.set_classes(names)

    # ------------------------------------------------------------------ classes
    def set_classes(self, classes: Sequence[str]) -> None:
        """Set the class list (as the constructor's ``classes``); text embeddings are
        computed at once when ``predict=True``."""
        names = _classes_list(classes)
        if names is None:
            raise ConfigError("set_classes needs a list of class names.")
        self.prompts = names
        self._cat_index_to_name = {0: "", **{i + 1: n for i, n in enumerate(names)}}
        self._cat_name_to_index = {n: i for i, n in self._cat_index_to_name.items()}
        self.core.set_classes([[n] for n in names])  # one prompt per class (no '|' splitting)
        self._text_embeds = None
        if self.predict:
            self._text_embeds = (self.encode_labels(names, onehot=False) if self.text_query_mode == "labels"
                                 else self.encode_prompts(names, onehot=False))

    def _need_classes(self, what: str):
        if self.prompts is None:
            raise PredictOnlyError(f"{what} is defined only for an encoder with classes: build it with "
                                   f"predict=True and classes=[...].")

    @property
    def num_classes(self) -> int:
        """Number of classes including the ignore class 0 (``len(classes) + 1``)."""
        self._need_classes("num_classes")
        return len(self.prompts) + 1

    @property
    def cat_index_to_name(self) -> Dict[int, str]:
        self._need_classes("cat_index_to_name")
        return self._cat_index_to_name

    @property
    def cat_name_to_index(self) -> Dict[str, int]:
        self._need_classes("cat_name_to_index")
        return self._cat_name_to_index

    # ------------------------------------------------------------------ text
    def _onehot(self, labels: Sequence[str]) -> torch.Tensor:
        idx = self.cat_name_to_index
        missing = [str(label) for label in labels if str(label) not in idx]
        if missing:
            raise ConfigError(f"label '{missing[0]}' is not one of the encoder's classes "
                              f"({', '.join(self.prompts)}); one-hot queries need class names.")
        out = torch.full((len(labels), self.num_classes), self.eps, device=self.device)
        for i, label in enumerate(labels):
            out[i, idx[str(label)]] = 1.0
        return out

    def insert_labels_into_templates(self, labels: Sequence[str]) -> List[List[str]]:
        """For each label, one string per prompt template (RayFronts' ``LangImageEncoder``)."""
        return [[t(label) for t in self.prompt_templates] for label in labels]

    def encode_labels(self, labels: Sequence[str], onehot: bool = True) -> torch.Tensor:
        """``T x D`` label embeddings: the mean of the L2-normalised embeddings of the 80
        templates (not re-normalised); with ``predict=True`` and ``onehot``, ``T x (N+1)``
        eps-one-hots with label *i* of the class list at column *i* + 1."""
        labels = [str(label) for label in labels]
        if self.predict and onehot:
            return self._onehot(labels)
        with torch.no_grad(), self._autocast():
            return self.core.text_embedder(labels, device=self.device)

    def encode_prompts(self, prompts: Sequence[str], onehot: bool = True) -> torch.Tensor:
        """``T x D`` unit-norm embeddings of the prompts as written; with ``predict=True``
        and ``onehot``, the one-hots of :meth:`encode_labels`."""
        prompts = [str(p) for p in prompts]
        if self.predict and onehot:
            return self._onehot(prompts)
        with torch.no_grad(), self._autocast():
            tokens = self.lang_adaptor.tokenizer(prompts).to(self.device)
            emb = self.lang_adaptor.encode_text(tokens).float()
        return emb / emb.norm(dim=-1, keepdim=True)

    def align_spatial_features_with_language(self, features: torch.Tensor, onehot: bool = True) -> torch.Tensor:
        """``B x C x H x W`` backbone features -> ``B x D x H x W`` in the text space
        (``head_mlp``, the summary head, token-wise). Identity when the features are
        already aligned: ``return_radio_features=False``, or class probabilities
        (``predict=True`` with ``onehot``)."""
        if self.lang_adaptor is None:
            raise ConfigError("this encoder has no language adaptor to align features with.")
        if not self.return_radio_features or (self.predict and onehot):
            return features
        from .core.dense_logits import project_tokens
        with torch.no_grad(), self._autocast():
            return project_tokens(features.float(), self.lang_adaptor.head_mlp).float()

    # ------------------------------------------------------------------ sizes
    def get_nearest_size(self, h: int, w: int) -> Tuple[int, int]:
        """RADIO's nearest supported resolution (multiples of its minimum resolution step)."""
        nh, nw = self.model.get_nearest_supported_resolution(int(h), int(w))
        return int(nh), int(nw)

    def is_compatible_size(self, h: int, w: int) -> bool:
        return self.get_nearest_size(h, w) == (int(h), int(w))

    def window_layout(self, h: int, w: int) -> dict:
        """Where an ``h x w`` input goes: ``resized`` (the stride-resized size),
        ``windows`` (rows, cols), ``num_windows`` and ``grid`` (the stitched feature map's
        ``h' x w'``), as docs/RAYFRONTS_API.md section 5 tabulates them."""
        from .core.sliding_windows import stride_resize_shape, window_grid
        p = self.core.patch_size
        crop, stride = self.config.slide_crop, self.config.slide_stride
        if crop <= 0:
            nh, nw = self.get_nearest_size(h, w)
            return {"resized": (nh, nw), "windows": (1, 1), "num_windows": 1, "grid": (nh // p, nw // p)}
        nh, nw = stride_resize_shape(int(h), int(w), crop, stride)
        boxes = window_grid(nh, nw, crop, stride)
        rows = len({b[0] for b in boxes})
        cols = len({b[2] for b in boxes})
        return {"resized": (nh, nw), "windows": (rows, cols), "num_windows": len(boxes),
                "grid": (math.ceil(nh / p), math.ceil(nw / p))}

    # ------------------------------------------------------------------ images
    def _autocast(self):
        if self.amp and self.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.float16)
        return contextlib.nullcontext()

    def _feature_map(self, x: torch.Tensor) -> torch.Tensor:
        """One normalised ``1 x 3 x H x W`` image -> ``1 x C x h x w`` (SCGA per policy)."""
        core = self.core
        if self.return_radio_features:
            feats = core.feature_map(x)
        else:  # the reference projects every window with head_mlp before stitching
            from .core.dense_logits import project_tokens
            from .core.sliding_windows import sliding_window_features
            if core.slide_crop <= 0:
                h, w = x.shape[-2:]
                nh, nw = self.get_nearest_size(h, w)
                if (nh, nw) != (h, w):
                    x = F.interpolate(x, size=(nh, nw), mode="bilinear", align_corners=False)
            feats = sliding_window_features(
                lambda win: project_tokens(core.backbone_features(win), core.lang_adaptor.head_mlp).float(),
                x, core.slide_crop, core.slide_stride, core.patch_size, core.max_windows_per_batch)
        if core.use_scga and (self.scga_policy == "always"
                              or self.window_layout(*x.shape[-2:])["num_windows"] > 1):
            from .core.scga import scga
            feats = scga(feats, core.scga_scaling)
        return feats

    def _probabilities(self, x: torch.Tensor, size: Tuple[int, int]) -> torch.Tensor:
        """One normalised image -> ``N x H0 x W0`` denoised probabilities (library steps)."""
        from .core.dense_logits import cosine_probabilities, denoise_prompts, project_tokens, upsample
        feats = self._feature_map(x)
        # with return_radio_features=False the windows were projected already: not twice
        proj = project_tokens(feats, self.lang_adaptor.head_mlp) if self.return_radio_features else feats
        prob = cosine_probabilities(proj, self._text_embeds)
        prob = upsample(prob, size)
        return denoise_prompts(prob, self.core.prompt_denoising_thresh)[0]

    @torch.no_grad()
    def encode_image_to_feat_map(self, rgb_image: torch.Tensor, orig_img_size: Optional[Tuple[int, int]] = None,
                                 return_preds: bool = False, ignore_label: bool = True):
        """``B x 3 x H x W`` RGB in 0..1 (on :attr:`device`) -> a feature map or probabilities.

        * ``predict=False``: ``B x C x h x w`` raw RADIO features after SCRA, sliding
          windows and SCGA (``orig_img_size`` and ``return_preds`` are ignored);
        * ``predict=True``: probabilities at ``orig_img_size`` (default ``H x W``),
          ``B x (N+1) x H x W`` with a zero channel 0 (``ignore_label=True``) or
          ``B x N x H x W``; with ``return_preds`` also the ``B x 1 x H x W`` int64 labels
          (1-based with ``ignore_label``, 0 where the max probability is below
          ``prediction_thresh``).
        """
        from .core.dense_logits import predict_labels
        x = rgb_image
        if x.dim() == 3:
            x = x[None]
        if x.dim() != 4 or x.shape[1] != 3:
            raise ConfigError(f"encode_image_to_feat_map takes B x 3 x H x W RGB in 0..1 (got shape "
                              f"{tuple(x.shape)}).")
        size = tuple(int(s) for s in (orig_img_size or x.shape[-2:]))
        feats, probs_out, preds_out = [], [], []
        for i in range(x.shape[0]):
            xi = normalize_01(x[i:i + 1].to(self.device).float())
            if not self.predict:
                feats.append(self._feature_map(xi))
                continue
            probs = self._probabilities(xi, size)
            max_sim = probs.amax(dim=0)
            labels = predict_labels(probs[None])[0]
            if self.core.sam_refiner is not None:
                labels, probs = self.core.sam_refiner(self.core, xi, labels, probs)
            if ignore_label:
                labels = labels + 1
                labels = torch.where(max_sim < self.prediction_thresh, torch.zeros_like(labels), labels)
                probs = torch.cat([torch.zeros_like(probs[:1]), probs], dim=0)
            probs_out.append(probs)
            preds_out.append(labels[None])
        if not self.predict:
            return torch.cat(feats, 0)
        probs = torch.stack(probs_out, 0)
        return (probs, torch.stack(preds_out, 0)) if return_preds else probs

    __call__ = encode_image_to_feat_map

    # ------------------------------------------------------------------ misc
    def to(self, device) -> RayFrontsRADSegEncoder:
        """Move the models; inputs must then be on the new device."""
        from .predictor import resolve_device
        self.device = resolve_device(device)
        self.core.to(self.device)
        if self.core.sam_refiner is not None:
            self.core.sam_refiner.sam.to(self.device)
        if self._text_embeds is not None:
            self._text_embeds = self._text_embeds.to(self.device)
        return self

    def eval(self) -> RayFrontsRADSegEncoder:
        self.core.eval()
        return self

    def __repr__(self) -> str:
        c = self.config
        return (f"radseg.radseg.RayFrontsRADSegEncoder(model_version={c.model_version!r}, lang_model={c.lang_model!r}, "
                f"predict={self.predict}, sam_refinement={c.sam_refine}, slide_crop={c.slide_crop}, "
                f"slide_stride={c.slide_stride}, scga_policy={self.scga_policy!r}, device={str(self.device)!r})")


def build_core(config: RADSegConfig, device, vitdet_window_size: Optional[int] = None):
    """The library's :class:`radseg.core.encoder.RADSegEncoder` (and its SAM refiner) for
    ``config``, built by :meth:`radseg.RADSegPredictor.from_config` (checks included)."""
    from .predictor import RADSegPredictor
    return RADSegPredictor.from_config(config.replace(vitdet_window_size=vitdet_window_size), device).encoder


def normalize_01(x: torch.Tensor) -> torch.Tensor:
    """``B x 3 x H x W`` RGB in 0..1 -> CLIP-normalised, with the arithmetic of RADIO's own
    input conditioner, ``(x - mean) / std`` on 0..1 statistics: the reference's 3D path leaves
    normalisation to RADIO (RAYFRONTS_API.md section 4), unlike the 2D pipeline's
    ``(255 x - 255 mean) / (255 std)``, which rounds differently. A model whose own
    statistics are not CLIP's gets them through the conditioner
    :func:`radseg.models.versions.adapt_input_conditioner` installs at load time."""
    from .models.versions import CLIP_MEAN, CLIP_STD
    mean = torch.tensor(CLIP_MEAN, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(CLIP_STD, device=x.device).view(1, 3, 1, 1)
    return (x - mean) / std


def __getattr__(name: str):
    """``radseg.radseg.RADSegEncoder``: the old name of :class:`RayFrontsRADSegEncoder` (RayFronts
    configs and the reference release's name it), deprecated: one ``FutureWarning``, same class."""
    if name == "RADSegEncoder":
        import warnings
        warnings.warn("radseg.radseg.RADSegEncoder is deprecated: the RayFronts adapter is "
                      "radseg.radseg.RayFrontsRADSegEncoder (radseg.core.encoder.RADSegEncoder is the library's "
                      "encoder); the old name keeps working.", FutureWarning, stacklevel=2)
        return RayFrontsRADSegEncoder
    raise AttributeError(f"module 'radseg.radseg' has no attribute {name!r}")
