"""The ONNX Runtime backend: an export folder (:mod:`radseg.deploy.export`) behind the torch interfaces.

* :class:`OnnxExport`: a checked export folder (one clear line for a folder that is not an
  export, a missing graph, an export for other settings);
* :class:`OrtGraph`: one graph as a torch-module call (tensors in, tensors out);
* :class:`OrtEncoder`: :class:`radseg.core.encoder.RADSegEncoder` whose backbone passes,
  ``head_mlp`` and ``sam`` adaptor run in ONNX Runtime, text embeddings read from the export;
  stitching, SCGA, the cosine, upsampling and denoising are the encoder's own torch code;
* :class:`OrtSam`: what :class:`radseg.core.sam_refine.SAMRefiner` uses of a SAM model (the
  neck, prompt encoder and mask decoder as graphs; ``postprocess_masks`` is SAM's own torch code),
  so region extraction, prompts and the merge are the refiner's own code.

``radseg.deploy.load_onnx_predictor(folder)`` builds these (:func:`build_onnx_encoder`). Execution
providers: the CPU's on ``device="cpu"``; on CUDA, ``CUDAExecutionProvider`` (needs the
``onnxruntime-gpu`` package), TensorRT only when asked for with ``providers=`` (docs/DEPLOY.md).
"""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import List, Optional, Sequence

import numpy as np
import torch
import torch.nn as nn

from ..config import RADSegConfig
from ..core.encoder import RADSegEncoder
from ..errors import ConfigError
from .export_folder import EXPORT_HINT as _EXPORT_HINT  # noqa: F401 (the names' old home)
from .export_folder import REQUIRED, SAM_PARTS, OnnxExport  # noqa: F401
from .format import require_onnxruntime
from .sessions import OPT_LEVELS, open_session, providers_for, session_options  # noqa: F401
from .text_runtime import ExportTextEmbedder


def default_providers(device: torch.device) -> List:
    """Execution providers for ``device``: the CPU's; on CUDA, CUDA's then the CPU's."""
    return providers_for(device.type, device.index)


class OrtGraph(nn.Module):
    """One ONNX graph called like a torch module: float32 tensors in (any device), tensors out on ``device``."""

    def __init__(self, path: Path, providers, options, device: torch.device):
        super().__init__()
        self.session = open_session(path, providers, options)
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.out_device = torch.device(device)
        self.name = Path(path).stem

    def forward(self, *tensors: torch.Tensor):
        feeds = {n: t.detach().to("cpu", torch.float32).contiguous().numpy() for n, t in zip(self.input_names, tensors)}
        outs = [torch.from_numpy(np.ascontiguousarray(o)).to(self.out_device) for o in self.session.run(None, feeds)]
        return outs[0] if len(outs) == 1 else tuple(outs)

    def _apply(self, fn, recurse=True):  # .to(device): outputs follow
        self.out_device = fn(torch.zeros(0, device=self.out_device)).device
        return super()._apply(fn, recurse)


class OrtBackbone(nn.Module):
    """The exported backbone passes behind RADIO's call: ``x`` -> ``(None, patch tokens)``.

    ``n x 3 x crop x crop`` windows (or the single pass at its size) go to ``backbone.onnx``,
    RADSeg+'s 1024 px pass to ``sam_backbone.onnx``; any other size is a :class:`ConfigError`.
    """

    def __init__(self, export: OnnxExport, make):
        super().__init__()
        self.export = export
        self.windows = make("backbone")
        self.sam_pass = make("sam_backbone") if export.has_sam else None
        self.anchor = nn.Parameter(torch.zeros(0), requires_grad=False)  # the device (RADSegEncoder.device)
        self.patch_size = int(export.manifest["patch_size"])
        s = export.settings
        self.shape = (s["slide_crop"],) * 2 if s["slide_crop"] > 0 else tuple(export.manifest["size"])
        self.sam_long = 1024

    def forward(self, x: torch.Tensor):
        shape = tuple(x.shape[-2:])
        if shape == self.shape:
            return None, self.windows(x)
        if self.sam_pass is not None and max(shape) == self.sam_long:
            return None, self.sam_pass(x)
        raise ConfigError(f"the export in '{self.export.folder}' runs {self.shape[0]} x {self.shape[1]} inputs "
                          f"({self.export.describe()}), not {shape[0]} x {shape[1]}: export at that size "
                          f"(radseg export onnx --slide-crop 0 --size H W) or use the torch backend.")

    def get_nearest_supported_resolution(self, h: int, w: int):
        """RADIO's rounding to the patch size (the single pass then checks the exported size)."""
        s = self.patch_size
        return max(s, round(h / s) * s), max(s, round(w / s) * s)


class StoredTextEmbeddings:
    """The export's prompt embeddings by name (the ``TextEmbedder`` call signature), as torch tensors:
    :class:`radseg.deploy.text_runtime.ExportTextEmbedder` (stored rows, the language tower for the rest)."""

    def __init__(self, export: OnnxExport, make_session=None):
        self.embedder = ExportTextEmbedder.from_export(export, make_session)
        self.folder = export.folder

    @property
    def names(self) -> List[str]:
        return self.embedder.stored_names

    def check(self, names: Sequence[str]) -> None:
        self.embedder.check(names)

    def __call__(self, names: Sequence[str], device="cpu") -> torch.Tensor:
        return torch.from_numpy(self.embedder(names)).to(device)

    def weights_digest(self) -> str:
        return self.embedder.tower_sha


class OrtEncoder(RADSegEncoder):
    """:class:`RADSegEncoder` with the exported graphs in place of RADIO, ``head_mlp`` and the ``sam`` adaptor."""

    def __init__(self, export: OnnxExport, config: RADSegConfig, device="cpu", providers=None,
                 threads: Optional[int] = None, optimization: str = "all"):
        nn.Module.__init__(self)
        device = torch.device(device)
        providers = providers or default_providers(device)
        options = session_options(threads, optimization)
        self.export = export
        self.providers = providers

        def make(part):
            return OrtGraph(export.path(part), providers, options, device)

        self.bundle = None
        self.model = OrtBackbone(export, make)
        self.lang_adaptor = nn.Module()
        self.lang_adaptor.head_mlp = make("head_mlp")
        self.sam_adaptor = None
        if export.has_sam:
            self.sam_adaptor = nn.Module()
            self.sam_adaptor.feat_mlp = make("sam_feat_mlp")
        self.sam = OrtSam(export, make) if export.has_sam else None
        self.patch_size = int(export.manifest["patch_size"])
        self.amp = self.compile = False
        self.sam_refiner = None
        self.timer = None
        self.configure(config)
        self.text_embedder = StoredTextEmbeddings(
            export, lambda path: open_session(path, ["CPUExecutionProvider"], options))
        self._forward = self.model
        self.classes = None
        self._queries = None
        self._text = None
        self._owner = None
        self.to(device)

    def configure(self, config: RADSegConfig) -> None:
        """The live settings (as :meth:`RADSegEncoder.configure`); those fixed by the export are checked."""
        self.export.check_config(config)
        self.scra_scaling, self.scga_scaling = float(config.scra_scaling), float(config.scga_scaling)
        self.slide_crop, self.slide_stride = int(config.slide_crop), int(config.slide_stride)
        self.prompt_denoising_thresh = float(config.prompt_denoising_thresh)
        self.use_scga = bool(config.use_scga)
        self.max_windows_per_batch = config.max_windows_per_batch
        self.fast = False

    def set_classes(self, classes) -> None:
        super().set_classes(classes)
        self.text_embedder.check(self._queries)  # before any image runs


class _Namespace(SimpleNamespace):
    pass


class OrtPromptEncoder:
    """SAM's prompt encoder as ``refine_with_sam`` calls it (all-positive points, a box each, a 3-D mask)."""

    def __init__(self, graph: OrtGraph, embedding_size, input_size, embed_dim: int):
        self.graph = graph
        self.image_embedding_size = tuple(embedding_size)
        self.input_image_size = tuple(input_size)
        self.embed_dim = embed_dim

    def _embed_points(self, *args):  # replaced by positive_points_only; the graph holds its arithmetic
        raise NotImplementedError("the exported prompt encoder embeds one positive point per region")

    def get_dense_pe(self):
        return None  # a constant of the exported mask decoder

    def __call__(self, points, boxes, masks):
        coords, labels = points
        if boxes is None or masks is None or masks.dim() != 3 or not bool((labels == 1).all()):
            raise NotImplementedError("the exported SAM prompt encoder takes what RADSeg+ passes: one positive "
                                      "point and one box per region and the class's 1 x 256 x 256 mask prompt")
        return self.graph(coords, boxes, masks)


class OrtMaskDecoder:
    def __init__(self, graph: OrtGraph):
        self.graph = graph

    def __call__(self, image_embeddings, image_pe, sparse_prompt_embeddings, dense_prompt_embeddings,
                 multimask_output: bool):
        if multimask_output or dense_prompt_embeddings.dim() != 3:
            raise NotImplementedError("the exported SAM mask decoder runs multimask_output=False with one "
                                      "class's dense prompt (exact mode)")
        return self.graph(image_embeddings, sparse_prompt_embeddings, dense_prompt_embeddings)


class OrtSam:
    """The parts of ``segment_anything.modeling.Sam`` that RADSeg+ uses, from the export."""

    mask_threshold = 0.0

    def __init__(self, export: OnnxExport, make):
        from segment_anything.modeling import Sam
        dec = export.manifest["parts"]["sam_mask_decoder"]["inputs"]
        dim, eh, ew = (int(v) for v in dec["image_embeddings"][1:])
        img = 1024
        self.image_encoder = _Namespace(img_size=img, neck=make("sam_neck"))
        self.prompt_encoder = OrtPromptEncoder(make("sam_prompt_encoder"), (eh, ew), (img, img), dim)
        self.mask_decoder = OrtMaskDecoder(make("sam_mask_decoder"))
        self._device = torch.device("cpu")
        self._postprocess = Sam.postprocess_masks

    def eval(self):
        return self

    @property
    def device(self) -> torch.device:
        return self._device

    def to(self, device):
        self._device = torch.device(device)
        return self

    def postprocess_masks(self, masks, input_size, original_size):
        return self._postprocess(self, masks, input_size, original_size)  # SAM's own torch code


def build_onnx_encoder(folder, device, config: Optional[RADSegConfig] = None, providers=None,
                       threads: Optional[int] = None, optimization: str = "all"):
    """``(encoder, config)`` for ``load_onnx_predictor``: the export's config (or ``config``,
    checked against it), the graphs loaded, the SAM refiner attached for RADSeg+."""
    require_onnxruntime("--backend onnxruntime")
    export = OnnxExport.open(folder)
    config = export.config() if config is None else config
    config = config.validate(patch_size=int(export.manifest["patch_size"]))
    export.check_config(config)
    encoder = OrtEncoder(export, config, device, providers=providers, threads=threads, optimization=optimization)
    if config.sam_refine:
        from ..core.sam_refine import SAMRefiner
        encoder.sam_refiner = SAMRefiner.from_config(encoder.sam.to(device), config)
    return encoder, config
