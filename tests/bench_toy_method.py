"""A toy segmentation method registered as 'benchtoy' (a plugin module: ``--plugin bench_toy_method``),
for the tests of ``radseg bench --methods``: two small named models, no ``modules_for_count`` (the
bench falls back to the predictor's nn.Module attributes), exactly countable parameters."""
from dataclasses import dataclass
from types import SimpleNamespace

import torch
import torch.nn.functional as F

from radseg.methods.registry import MethodSpec, register_method
from radseg.methods.settings import MethodSettings, setting


@dataclass(frozen=True)
class BenchToySettings(MethodSettings):
    METHOD = "benchtoy"
    model_version: str = setting("ViT-T/8", "the toy backbone (its replica: ViT-T/8-random)")
    scale: tuple = setting((2048, 336), "Resize (long_max, short)")
    slide_crop: int = setting(224, "window size, px")
    slide_stride: int = setting(112, "window step, px")
    class_names: str = setting("voc20", "class-name file")
    prob_thd: float = setting(0.0, "background threshold")

    @classmethod
    def radseg_protocol(cls, dataset: str, resolution: str):
        from radseg.config import RADSegConfig
        r = RADSegConfig.preset(dataset, resolution)
        return cls(scale=r.scale, slide_crop=r.slide_crop, slide_stride=r.slide_stride, class_names=r.class_names)

    def validate(self):
        return self


class BenchToyPredictor:
    """``clip``: a 3 -> 8 conv (8*3*3*3 + 8 = 224 parameters); ``head``: 8 -> K 1x1 conv, built on set_classes."""

    def __init__(self, settings, device=None):
        self.settings = settings
        torch.manual_seed(0)
        self.clip = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.head = torch.nn.Conv2d(8, 1, 1)
        self.model_info = {"model_version": settings.model_version}

    def set_classes(self, classes):
        self.head = torch.nn.Conv2d(8, len(classes), 1)

    def to(self, device):
        return self

    @torch.no_grad()
    def predict_normalized(self, img, ori_shape, image_path=None):
        logits = F.interpolate(self.head(self.clip(img)), size=tuple(ori_shape), mode="bilinear")
        probs = logits[0].softmax(0).float()
        return SimpleNamespace(probs=probs, labels=probs.argmax(0))

    def predict(self, image, classes=None):  # pragma: no cover - not used by the bench
        raise NotImplementedError


register_method(MethodSpec(name="benchtoy", summary="a toy method for the bench tests",
                           settings_cls=BenchToySettings, build=BenchToyPredictor), overwrite=True)
register_method(MethodSpec(name="benchtoy-missing", summary="known, not runnable here",
                           unavailable="the toy's weights are not in this release"), overwrite=True)
