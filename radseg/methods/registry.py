"""The method registry: ``name -> MethodSpec`` (RADSeg, the baselines, plugins).

timm-style: a method module calls :func:`register_method` at import; the built-in
methods are registered lazily on the first lookup (:func:`_load_builtin`), and the
model-source plugins (``--plugin`` / ``$RADSEG_PLUGINS``) may register methods too,
so a fourth method is one new module plus one ``register_method`` call.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Protocol, Tuple

from ..errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    import torch

#: ``--protocol own``: the release's own settings per benchmark; ``radseg``: RADSeg's presets and prompts.
PROTOCOLS = ("own", "radseg")


class MethodPredictor(Protocol):
    """What every method's predictor offers (RADSeg's :class:`radseg.RADSegPredictor` included).

    * ``settings``: the method's validated settings dataclass;
    * ``set_classes(classes)``: a class-name file key/path or a list (synonyms joined by ``|``);
    * ``predict(image, classes=None) -> radseg.predictor.Prediction``: any image, its own size;
    * ``predict_normalized(img, ori_shape, image_path=None)``: the evaluation's input
      (``1 x 3 x H x W`` float, RGB, CLIP mean/std in 0..255 units, already resized by the test
      pipeline) -> an object with ``probs`` (``K x H0 x W0`` float32) and ``labels``
      (``H0 x W0`` int64) at ``ori_shape``; ``image_path`` is the original file (Trident's SAM branch
      reads it);
    * ``to(device)``, ``model_info`` (``dict``: the weights' names and sources, for the record).
    """

    settings: Any

    def set_classes(self, classes: Any) -> None: ...

    def predict(self, image: Any, classes: Any = None) -> Any: ...

    def predict_normalized(self, img: torch.Tensor, ori_shape: Tuple[int, int],
                           image_path: Optional[str] = None) -> Any: ...


@dataclass(frozen=True)
class MethodSpec:
    """One registered method.

    ``build(settings, device) -> MethodPredictor``; ``settings_cls``: its settings dataclass
    (a :class:`~radseg.methods.settings.MethodSettings`); ``unavailable``: when set, the method is
    known but cannot run here, and this is the reason (its one-line error).
    """
    name: str
    summary: str
    paper: str = ""
    settings_cls: Optional[type] = None
    build: Optional[Callable[..., MethodPredictor]] = None
    unavailable: Optional[str] = None

    @property
    def available(self) -> bool:
        return self.unavailable is None

    def require_available(self) -> MethodSpec:
        if self.unavailable:
            raise ConfigError(f"method '{self.name}' is not yet available: {self.unavailable}")
        return self


METHODS: Dict[str, MethodSpec] = {}

#: modules that register the built-in methods (imported on the first lookup, not at start-up)
BUILTIN_METHOD_MODULES: List[str] = ["radseg.methods.radseg_method", "radseg.methods.proxyclip",
                                     "radseg.methods.naclip_method", "radseg.methods.trident"]


def register_method(spec: MethodSpec, *, overwrite: bool = False) -> MethodSpec:
    """Register ``spec`` under ``spec.name``; a second registration of a name needs ``overwrite``."""
    if not spec.name or spec.name != spec.name.strip().lower():
        raise ValueError(f"a method name is lower-case without spaces (got {spec.name!r})")
    if spec.name in METHODS and not overwrite and METHODS[spec.name] != spec:
        raise ValueError(f"method '{spec.name}' is already registered")
    METHODS[spec.name] = spec
    return spec


_LOADED = False


def _load_builtin() -> None:
    global _LOADED
    if not _LOADED:
        _LOADED = True
        for mod in BUILTIN_METHOD_MODULES:
            importlib.import_module(mod)
    from ..models.registry import load_plugins
    load_plugins()


def method_names() -> List[str]:
    """Every registered name (available or not), RADSeg first, then alphabetical."""
    _load_builtin()
    return sorted(METHODS, key=lambda n: (n != "radseg", n))


def available_methods() -> List[str]:
    return [n for n in method_names() if METHODS[n].available]


def get_method(name: str, *, require_available: bool = True) -> MethodSpec:
    """The spec of ``name``; unknown (or, by default, unavailable) is a ConfigError with the known names."""
    _load_builtin()
    key = str(name).strip().lower()
    if key not in METHODS:
        raise ConfigError(f"unknown method '{name}'. Known: {', '.join(method_names())}.")
    spec = METHODS[key]
    return spec.require_available() if require_available else spec
