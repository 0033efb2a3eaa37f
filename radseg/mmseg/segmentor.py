"""``RADSegSegmentation``: any registered method's predictor as an mmseg segmentor (inference only).

``model=dict(type="RADSegSegmentation", method="radseg", class_names=..., **settings)``: the
settings are the method's settings dataclass (RADSeg's :class:`radseg.config.RADSegConfig`,
a baseline's own); eval.py builds the predictor first (:func:`build_segmentor`) and hands the
instance to mmengine's runner, so a failed download is the only line printed and the weights
load once.
"""
from __future__ import annotations

import logging
from typing import List, Optional

import torch
from mmengine.structures import PixelData
from mmseg.models.segmentors.base import BaseSegmentor
from mmseg.registry import MODELS

from ..class_names import load_class_names
from ..errors import ConfigError
from ..preprocess import MEAN_RGB, STD_RGB

logger = logging.getLogger(__name__)

#: The reference preprocessing: CLIP mean/std in 0..255 units, BGR -> RGB, no padding.
DATA_PREPROCESSOR = dict(type="SegDataPreProcessor", mean=list(MEAN_RGB), std=list(STD_RGB),
                         bgr_to_rgb=True)
#: ``model`` keys of the segmentor itself (the rest are the method's settings)
SEGMENTOR_KEYS = ("type", "method", "class_names", "num_classes", "data_preprocessor", "init_cfg")


def segmentor_config(class_names: str, settings: dict, method: str = "radseg"):
    """The method's validated settings of ``model=dict(type='RADSegSegmentation', **settings)``
    (RADSeg: a :class:`RADSegConfig`); an unknown key is a ConfigError naming the method's settings."""
    from ..methods import get_method
    spec = get_method(method)
    return spec.settings_cls.from_dict({**settings, "class_names": class_names}).validate()


def method_settings_of(model: dict) -> dict:
    """The method's settings in a config's ``model`` dict (the segmentor's own keys left out)."""
    return {k: v for k, v in model.items() if k not in SEGMENTOR_KEYS}


def build_segmentor(model: dict, predictor) -> RADSegSegmentation:
    """The segmentor of config ``model`` over the already built ``predictor`` (eval.py's runner gets
    this instance); the predictor must have exactly the config's settings."""
    model = dict(model)
    model.pop("type", None)
    return RADSegSegmentation(predictor=predictor, **model)


def _module_parts(predictor) -> List[torch.nn.Module]:
    """The torch modules of ``predictor`` (itself, or its module attributes), so ``.to(device)`` moves them."""
    if isinstance(predictor, torch.nn.Module):
        return [predictor]
    return [v for v in vars(predictor).values() if isinstance(v, torch.nn.Module)]


@MODELS.register_module()
class RADSegSegmentation(BaseSegmentor):
    """Zero-shot segmentor over one method's predictor (:class:`radseg.methods.MethodPredictor`).

    Config keys: ``method`` (a registered name, default ``radseg``), ``class_names`` (built-in key
    or path), ``num_classes`` (validated against the file when given), ``data_preprocessor``, and
    every setting of the method's settings dataclass (RADSeg's: :class:`radseg.config.RADSegConfig`;
    the test pipeline's resize is the config's ``Resize``, so ``scale`` is unused here).
    ``predictor``: an already built predictor with exactly these settings (else one is built).
    """

    def __init__(self, class_names: str, num_classes: Optional[int] = None, data_preprocessor=None,
                 init_cfg=None, method: str = "radseg", predictor=None, **settings):
        if data_preprocessor is None or isinstance(data_preprocessor, dict):
            # built from mmseg's registry so the segmentor also works outside the runner's scope
            data_preprocessor = MODELS.build(dict(data_preprocessor or DATA_PREPROCESSOR))
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        config = segmentor_config(class_names, settings, method)
        self.class_names = load_class_names(class_names, num_classes)
        if predictor is not None:
            have = _settings_of(predictor)
            if have != config:
                diff = sorted(k for k, v in config.to_dict().items() if have.to_dict().get(k) != v)
                raise ConfigError(f"the model loaded before the runner differs from the config's in "
                                  f"{', '.join(diff)}; load it with the same settings.")
        else:
            from ..methods import get_method
            predictor = get_method(method).build(config, device="cpu")  # the runner moves it
        self.method = method
        self.predictor = predictor
        self.config = config
        self.sam_refine = bool(getattr(config, "sam_refine", False))
        self.method_modules = torch.nn.ModuleList(_module_parts(predictor))  # .to(device) moves them
        self.encoder = getattr(predictor, "encoder", None)
        if self.encoder is not None:  # RADSeg: the encoder takes the file's synonym lists as they are
            self.encoder.set_classes(self.class_names)
            if getattr(self.encoder, "sam_refiner", None) is not None:
                self.sam = self.encoder.sam_refiner.sam  # registered so .to(device) moves it
        else:
            predictor.set_classes(self.class_names)

    @property
    def model_info(self) -> dict:
        info = getattr(self.predictor, "info", None)
        return dict(info if info is not None else getattr(self.predictor, "model_info", {}) or {})

    @torch.no_grad()
    def predict(self, inputs: torch.Tensor, data_samples: Optional[List] = None):
        """Segment every image of the batch; outputs at each image's ``ori_shape``."""
        from mmseg.structures import SegDataSample
        if data_samples is None:
            data_samples = [SegDataSample(metainfo=dict(ori_shape=inputs.shape[-2:]))
                            for _ in range(inputs.shape[0])]
        for img, sample in zip(inputs, data_samples):
            ori_shape = sample.metainfo.get("ori_shape", img.shape[-2:])
            result = self.predictor.predict_normalized(img[None], ori_shape,
                                                       image_path=sample.metainfo.get("img_path"))
            sample.set_data({
                "seg_logits": PixelData(data=result.probs),
                "pred_sem_seg": PixelData(data=result.labels[None]),
            })
        return data_samples

    def _forward(self, inputs, data_samples=None):
        return torch.stack([self._radseg_encoder().coarse_probabilities(img[None], img.shape[-2:])
                            for img in inputs])

    def extract_feat(self, inputs):
        return torch.cat([self._radseg_encoder().feature_map(img[None]) for img in inputs])

    def encode_decode(self, inputs, batch_img_metas):
        return torch.stack([self._radseg_encoder().coarse_probabilities(img[None], m["ori_shape"])
                            for img, m in zip(inputs, batch_img_metas)])

    def _radseg_encoder(self):
        if self.encoder is None:
            raise NotImplementedError(f"method '{self.method}' has only predict() (mmseg's test loop).")
        return self.encoder

    def loss(self, inputs, data_samples):
        raise NotImplementedError("the methods are training-free: there is no loss.")


def _settings_of(predictor):
    """A predictor's settings: ``config`` (RADSegPredictor) or ``settings`` (the other methods)."""
    return getattr(predictor, "config", None) or predictor.settings
