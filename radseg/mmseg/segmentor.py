"""``RADSegSegmentation``: the RADSeg encoder as an mmseg segmentor (inference only)."""
from __future__ import annotations

import logging
from typing import List, Optional

import torch
from mmengine.structures import PixelData
from mmseg.models.segmentors.base import BaseSegmentor
from mmseg.registry import MODELS

from ..class_names import load_class_names
from ..encoder import MEAN_RGB, STD_RGB, RADSegEncoder

logger = logging.getLogger(__name__)

#: The reference preprocessing: CLIP mean/std in 0..255 units, BGR -> RGB, no padding.
DATA_PREPROCESSOR = dict(type="SegDataPreProcessor", mean=list(MEAN_RGB), std=list(STD_RGB),
                         bgr_to_rgb=True)


@MODELS.register_module()
class RADSegSegmentation(BaseSegmentor):
    """Zero-shot segmentor: one :class:`radseg.encoder.RADSegEncoder` per model.

    Config keys (``model=dict(type="RADSegSegmentation", ...)``): ``model_version``,
    ``lang_model``, ``class_names`` (built-in key or path), ``num_classes``
    (validated against the file when given), ``radio_source``, ``radio_revision``,
    ``radio_repo``, ``scra_scaling``, ``scga_scaling``, ``slide_crop``,
    ``slide_stride``, ``prompt_denoising_thresh``, ``use_scra``, ``use_scga``,
    ``amp``, ``compile``, ``max_windows_per_batch``, ``sam_refine``, ``sam_ckpt``,
    ``coarse_thresh``, ``minimal_area``, ``sam_mask_coff``, ``sam_iou_thresh``.
    """

    def __init__(self, class_names: str, model_version: str = "c-radio_v3-b",
                 lang_model: str = "siglip2", num_classes: Optional[int] = None,
                 radio_source: Optional[str] = None, radio_revision: Optional[str] = None,
                 radio_repo: Optional[str] = None, scra_scaling: float = 10.0,
                 scga_scaling: float = 10.0, slide_crop: int = 336, slide_stride: int = 224,
                 prompt_denoising_thresh: float = 0.5, use_scra: bool = True, use_scga: bool = True,
                 amp: bool = False, compile: bool = False, max_windows_per_batch: Optional[int] = None,
                 sam_refine: bool = False, sam_ckpt: Optional[str] = None, coarse_thresh: float = 0.10,
                 minimal_area: int = 225, sam_mask_coff: float = 0.005, sam_iou_thresh: float = 0.9,
                 batched_mask_prompt: bool = False, text_disk_cache: bool = True,
                 data_preprocessor=None, init_cfg=None):
        if data_preprocessor is None or isinstance(data_preprocessor, dict):
            # built from mmseg's registry so the segmentor also works outside the runner's scope
            data_preprocessor = MODELS.build(dict(data_preprocessor or DATA_PREPROCESSOR))
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.class_names = load_class_names(class_names, num_classes)
        self.sam_refine = bool(sam_refine)
        self.encoder = RADSegEncoder.from_pretrained(
            model_version, lang_model, need_sam=self.sam_refine, source=radio_source,
            revision=radio_revision, repo_dir=radio_repo, scra_scaling=scra_scaling,
            scga_scaling=scga_scaling, slide_crop=slide_crop, slide_stride=slide_stride,
            prompt_denoising_thresh=prompt_denoising_thresh, use_scra=use_scra, use_scga=use_scga,
            amp=amp, compile=compile, max_windows_per_batch=max_windows_per_batch,
            text_disk_cache=text_disk_cache)
        self.encoder.set_classes(self.class_names)
        if self.sam_refine:
            from ..models.sam import load_sam
            from ..sam_refine import SAMRefiner
            self.encoder.sam_refiner = SAMRefiner(
                load_sam(sam_ckpt), coarse_thresh=coarse_thresh, minimal_area=minimal_area,
                sam_mask_coff=sam_mask_coff, sam_iou_thresh=sam_iou_thresh,
                batched_mask_prompt=batched_mask_prompt)
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
            result = self.encoder.predict(img[None], ori_shape=ori_shape)
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
