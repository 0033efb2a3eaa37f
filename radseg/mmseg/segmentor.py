"""``RADSegSegmentation``: the RADSeg encoder as an mmseg segmentor (inference only)."""
from __future__ import annotations

import contextlib
import logging
from typing import List, Optional

import torch
from mmengine.structures import PixelData
from mmseg.models.segmentors.base import BaseSegmentor
from mmseg.registry import MODELS

from ..class_names import load_class_names
from ..config import RADSegConfig
from ..errors import ConfigError
from ..predictor import RADSegPredictor
from ..preprocess import MEAN_RGB, STD_RGB

logger = logging.getLogger(__name__)

#: The reference preprocessing: CLIP mean/std in 0..255 units, BGR -> RGB, no padding.
DATA_PREPROCESSOR = dict(type="SegDataPreProcessor", mean=list(MEAN_RGB), std=list(STD_RGB),
                         bgr_to_rgb=True)


#: one slot: a predictor loaded before mmengine's runner (see :func:`prebuilt_predictor`)
_PREBUILT: List = []


@contextlib.contextmanager
def prebuilt_predictor(predictor):
    """Hand ``predictor`` to the :class:`RADSegSegmentation` built inside the block.

    ``eval.py`` loads the weights before mmengine's runner so that a failed download is
    the only line printed; the segmentor the runner builds then takes this predictor
    instead of loading again. It must ask for exactly ``predictor.config`` (anything
    else is a :class:`ConfigError`, never a silent second load); an unused predictor is
    dropped when the block ends.
    """
    _PREBUILT[:] = [predictor]
    try:
        yield predictor
    finally:
        _PREBUILT.clear()


def segmentor_config(class_names: str, settings: dict) -> RADSegConfig:
    """The :class:`RADSegConfig` of ``model=dict(type='RADSegSegmentation', **settings)``;
    an unknown key is a ConfigError naming it."""
    return RADSegConfig.from_dict({**settings, "class_names": class_names}).validate()


@MODELS.register_module()
class RADSegSegmentation(BaseSegmentor):
    """Zero-shot segmentor over one :class:`radseg.RADSegPredictor`.

    Config keys (``model=dict(type="RADSegSegmentation", ...)``): ``class_names``
    (built-in key or path), ``num_classes`` (validated against the file when given),
    ``data_preprocessor``, and every setting of :class:`radseg.config.RADSegConfig`
    (its defaults and meanings are there; the test pipeline's resize is the config's
    ``Resize``, so ``scale`` is unused here).
    """

    def __init__(self, class_names: str, num_classes: Optional[int] = None,
                 data_preprocessor=None, init_cfg=None, **settings):
        if data_preprocessor is None or isinstance(data_preprocessor, dict):
            # built from mmseg's registry so the segmentor also works outside the runner's scope
            data_preprocessor = MODELS.build(dict(data_preprocessor or DATA_PREPROCESSOR))
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        config = segmentor_config(class_names, settings)
        self.class_names = load_class_names(class_names, num_classes)
        if _PREBUILT:
            predictor = _PREBUILT.pop()
            if predictor.config != config:
                diff = sorted(k for k, v in config.to_dict().items() if predictor.config.to_dict()[k] != v)
                raise ConfigError(f"the model loaded before the runner differs from the config's in "
                                  f"{', '.join(diff)}; load it with the same settings.")
        else:
            predictor = RADSegPredictor.from_config(config, device="cpu")  # the runner moves it
        self.predictor = predictor
        self.config = config
        self.sam_refine = config.sam_refine
        self.encoder = predictor.encoder  # a registered submodule: .to(device) moves it
        self.encoder.set_classes(self.class_names)
        if self.encoder.sam_refiner is not None:
            self.sam = self.encoder.sam_refiner.sam  # registered so .to(device) moves it

    @property
    def model_info(self) -> dict:
        return dict(self.encoder.bundle.info)

    @torch.no_grad()
    def predict(self, inputs: torch.Tensor, data_samples: Optional[List] = None):
        """Segment every image of the batch; outputs at each image's ``ori_shape``."""
        from mmseg.structures import SegDataSample
        if data_samples is None:
            data_samples = [SegDataSample(metainfo=dict(ori_shape=inputs.shape[-2:]))
                            for _ in range(inputs.shape[0])]
        for img, sample in zip(inputs, data_samples):
            ori_shape = sample.metainfo.get("ori_shape", img.shape[-2:])
            result = self.predictor.predict_normalized(img[None], ori_shape)
            sample.set_data({
                "seg_logits": PixelData(data=result.probs),
                "pred_sem_seg": PixelData(data=result.labels[None]),
            })
        return data_samples

    def _forward(self, inputs, data_samples=None):
        return torch.stack([self.encoder.coarse_probabilities(img[None], img.shape[-2:])
                            for img in inputs])

    def extract_feat(self, inputs):
        return torch.cat([self.encoder.feature_map(img[None]) for img in inputs])

    def encode_decode(self, inputs, batch_img_metas):
        return torch.stack([self.encoder.coarse_probabilities(img[None], m["ori_shape"])
                            for img, m in zip(inputs, batch_img_metas)])

    def loss(self, inputs, data_samples):
        raise NotImplementedError("RADSeg is training-free: there is no loss.")
