"""A toy fourth method, registered from a plugin module (``--plugin toy_method_plugin``).

It shows that a method is one module plus one registration: a settings dataclass with its
release's defaults, own-protocol PRESETS and ``radseg_protocol``, and a predictor (a fixed,
seeded linear head on the normalised pixels, ``K x 3``) that offers ``predict`` and
``predict_normalized``. Its numbers mean nothing."""
from dataclasses import dataclass
from types import SimpleNamespace

import torch
import torch.nn.functional as F

from radseg.errors import ConfigError
from radseg.methods import MethodSettings, MethodSpec, register_method
from radseg.methods.settings import setting

NAME = "toylinear"


@dataclass(frozen=True)
class ToyLinearSettings(MethodSettings):
    METHOD = NAME
    PUBLISHED = {"voc20": 12.5}
    TUPLE_FIELDS = ("scale",)
    PRESETS = {"voc20": {"scale": (96, 40), "class_names": "voc20", "prob_thd": 0.0}}
    model_version: str = setting("tiny-random", "the (stand-in) weights")
    scale: tuple = setting((64, 32), "test-pipeline Resize (long_max, short), keep_ratio")
    slide_crop: int = setting(0, "window size (0: whole image)")
    slide_stride: int = setting(0, "window stride")
    class_names: str = setting("voc20", "class-file key or path")
    prob_thd: float = setting(0.0, "pixels below it get the background class 0")
    seed: int = setting(0, "seed of the linear head")

    def validate(self):
        if not 0.0 <= self.prob_thd < 1.0:
            raise ConfigError(f"toylinear prob_thd must be in [0, 1) (got {self.prob_thd}).")
        return self

    @classmethod
    def radseg_protocol(cls, dataset, resolution):
        from radseg.config import RADSegConfig
        c = RADSegConfig.preset(dataset, resolution or "mid_res")
        return cls(scale=tuple(c.scale), slide_crop=c.slide_crop, slide_stride=c.slide_stride,
                   class_names=c.class_names)


class ToyLinearPredictor(torch.nn.Module):
    """``probs = softmax(W x)`` per pixel, ``W``: ``K x 3`` seeded; upsampled to ``ori_shape``."""

    def __init__(self, settings: ToyLinearSettings):
        super().__init__()
        self.settings = settings
        self.weight = torch.nn.Parameter(torch.zeros(0, 3), requires_grad=False)
        self.classes = None

    @property
    def model_info(self):
        return {"model_version": self.settings.model_version, "source": "toy plugin"}

    def set_classes(self, classes):
        self.classes = [c if isinstance(c, str) else c[0] for c in classes]
        g = torch.Generator().manual_seed(self.settings.seed)
        self.weight.data = torch.randn(len(self.classes), 3, generator=g).to(self.weight.device)

    @torch.no_grad()
    def predict_normalized(self, img, ori_shape, image_path=None):
        logits = torch.einsum("kc,chw->khw", self.weight, img[0].float())
        probs = F.interpolate(logits[None], size=tuple(ori_shape), mode="bilinear")[0].softmax(0)
        labels = probs.argmax(0)
        labels[probs.amax(0) < self.settings.prob_thd] = 0
        return SimpleNamespace(probs=probs, labels=labels)

    @torch.no_grad()
    def predict(self, image, classes=None):
        from radseg.predictor import Prediction, load_rgb
        from radseg.preprocess import network_input
        if classes is not None:
            self.set_classes(classes)
        rgb = load_rgb(image)
        x = network_input(rgb, self.settings.scale).to(self.weight.device)
        out = self.predict_normalized(x, rgb.shape[:2])
        return Prediction(out.labels, out.probs, list(self.classes), rgb)


def build(settings, device=None):
    return ToyLinearPredictor(settings).to(device or "cpu")


register_method(MethodSpec(name=NAME, summary="toy: a seeded linear head on pixels", settings_cls=ToyLinearSettings,
                           build=build), overwrite=True)
