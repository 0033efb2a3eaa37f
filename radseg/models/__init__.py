"""Model loaders and the model-source registry (RADIO, SAM, stand-ins)."""
from . import (  # noqa: F401  (register the seeded stand-ins, v3- and v4-shaped)
                       replicas,  # noqa: F401  (registers the full-size random replicas; built lazily)
                       sam,
                       standins,
                       standins_v4,
)
from .radio import DEFAULT_HUB_REVISION, RADIO_VERSIONS, RadioBundle, build_radio
from .registry import (
                       MODEL_SOURCES,
                       SAM_SOURCES,
                       SourceRegistry,
                       SourceRequest,
                       available_models,
                       available_sam_models,
                       get_model_source,
                       get_sam_source,
                       load_plugins,
                       register_model_source,
                       register_sam_source,
)

__all__ = ["MODEL_SOURCES", "SAM_SOURCES", "SourceRegistry", "SourceRequest", "available_models",
           "available_sam_models", "build_radio", "get_model_source", "get_sam_source", "load_plugins",
           "register_model_source", "register_sam_source",
           "RadioBundle", "RADIO_VERSIONS", "DEFAULT_HUB_REVISION"]
