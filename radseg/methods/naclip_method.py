"""NACLIP as a registered method: settings :class:`~radseg.methods.naclip.settings.NaclipSettings`."""
from __future__ import annotations

from .naclip.settings import NaclipSettings
from .registry import MethodSpec, register_method


def build_naclip(settings: NaclipSettings, device=None):
    """``NaclipPredictor.from_settings`` (imported here: the registry stays torch-free)."""
    from .naclip.predictor import NaclipPredictor
    return NaclipPredictor.from_settings(settings, device=device)


NACLIP = register_method(MethodSpec(
    name="naclip", summary="NACLIP: CLIP ViT-B/16 with neighbourhood attention in its last block, PAMR",
    paper="arXiv 2404.08181 (WACV 2025)", settings_cls=NaclipSettings, build=build_naclip))
