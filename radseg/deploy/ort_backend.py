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

``RADSegPredictor.from_onnx(folder)`` builds these (:func:`build_onnx_encoder`). Execution
providers: the CPU's on ``device="cpu"``; on CUDA, ``CUDAExecutionProvider`` (needs the
``onnxruntime-gpu`` package), TensorRT only when asked for with ``providers=`` (docs/DEPLOY.md).
"""
from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
import torch.nn as nn

from ..config import RADSegConfig
from ..core.encoder import RADSegEncoder
from ..errors import ConfigError
from .format import FORMAT, FORMAT_VERSION, MANIFEST, manifest_settings, require_onnx

OPT_LEVELS = ("disable", "basic", "extended", "all")
REQUIRED = ("backbone", "head_mlp")
SAM_PARTS = ("sam_backbone", "sam_feat_mlp", "sam_neck", "sam_prompt_encoder", "sam_mask_decoder")
_EXPORT_HINT = "create one with: radseg export onnx --model_version NAME --preset voc_mid --out DIR"


class OnnxExport:
    """An export folder whose manifest and graph files were found and read."""

    def __init__(self, folder: Path, manifest: Dict):
        self.folder = folder
        self.manifest = manifest

    @classmethod
    def open(cls, folder) -> OnnxExport:
        folder = Path(folder)
        if not folder.exists():
            raise ConfigError(f"--model-dir '{folder}' does not exist; {_EXPORT_HINT}.")
        if not folder.is_dir():
            raise ConfigError(f"--model-dir '{folder}' is a file, not an export folder; {_EXPORT_HINT}.")
        path = folder / MANIFEST
        if not path.is_file():
            raise ConfigError(f"'{folder}' is not a radseg ONNX export (it has no {MANIFEST}); {_EXPORT_HINT}.")
        try:
            manifest = json.loads(path.read_text())
        except (OSError, ValueError) as e:
            raise ConfigError(f"'{path}' cannot be read as an export manifest ({e}); export again.") from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise ConfigError(f"'{path}' is not a radseg ONNX export manifest (format is not '{FORMAT}'); "
                              f"{_EXPORT_HINT}.")
        if int(manifest.get("format_version", 0)) > FORMAT_VERSION:
            raise ConfigError(f"'{folder}' was written by a newer radseg (export format "
                              f"{manifest.get('format_version')}, this one reads {FORMAT_VERSION}); upgrade radseg.")
        parts = manifest.get("parts") or {}
        for name in REQUIRED + (SAM_PARTS if manifest.get("sam") else ()):
            f = folder / str((parts.get(name) or {}).get("file", f"{name}.onnx"))
            if name not in parts or not f.is_file():
                raise ConfigError(f"'{folder}' lacks {f.name} (an incomplete export); export again.")
        text = folder / str((manifest.get("text") or {}).get("file", ""))
        if not text.is_file():
            raise ConfigError(f"'{folder}' lacks its text embeddings ({text.name}); export again.")
        return cls(folder, manifest)

    # -- facts ---------------------------------------------------------------------------------
    @property
    def has_sam(self) -> bool:
        return bool(self.manifest.get("sam"))

    @property
    def settings(self) -> Dict:
        return dict(self.manifest["settings"])

    def path(self, part: str) -> Path:
        return self.folder / self.manifest["parts"][part]["file"]

    def describe(self) -> str:
        s = self.settings
        what = f"preset {self.manifest['preset']}, " if self.manifest.get("preset") else ""
        win = f"windows {s['slide_crop']}/{s['slide_stride']}" if s["slide_crop"] > 0 else \
            f"one pass at {self.manifest.get('size')}"
        return f"{self.manifest.get('model_version')} ({what}{win})"

    def config(self) -> RADSegConfig:
        """The :class:`RADSegConfig` the export was made with."""
        return RADSegConfig.from_dict(self.manifest["config"], ignore_unknown=True)

    def check_config(self, config: RADSegConfig) -> None:
        """A config this export cannot run (other windows, SCRA scaling, fast mode, RADSeg+ without SAM
        graphs, another model) is one :class:`ConfigError`."""
        fixed = self.settings
        asked = manifest_settings(config)
        diff = [k for k in fixed if asked[k] != fixed[k]]
        if diff:
            pairs = ", ".join(f"{k}={asked[k]} (export: {fixed[k]})" for k in diff)
            raise ConfigError(f"the export in '{self.folder}' is for {self.describe()}; this run asks for {pairs}: "
                              f"export that preset (radseg export onnx --preset ... / --slide-crop ...) "
                              f"or drop the flags.")
        if config.fast:
            raise ConfigError("fast mode is not available with --backend onnxruntime (the export is the exact "
                              "fp32 path); drop --fast.")
        if config.sam_refine and not self.has_sam:
            raise ConfigError(f"the export in '{self.folder}' has no SAM graphs: export it with --sam-refine "
                              f"for RADSeg+.")
        model = self.manifest.get("model_version")
        if config.model_version != model:
            raise ConfigError(f"the export in '{self.folder}' holds {model}, not {config.model_version}; "
                              f"drop --model_version or export that model.")


# ----------------------------------------------------------------------------- sessions
def default_providers(device: torch.device) -> List:
    """Execution providers for ``device``: the CPU's; on CUDA, CUDA's then the CPU's."""
    import onnxruntime as ort
    if device.type == "cpu":
        return ["CPUExecutionProvider"]
    if device.type == "cuda":
        if "CUDAExecutionProvider" not in ort.get_available_providers():
            raise ConfigError("this onnxruntime has no CUDA execution provider: pip install onnxruntime-gpu "
                              "(or use --device cpu).")
        return [("CUDAExecutionProvider", {"device_id": device.index or 0}), "CPUExecutionProvider"]
    raise ConfigError(f"--backend onnxruntime runs on cpu or cuda, not {device}.")


def session_options(threads: Optional[int] = None, optimization: str = "all"):
    import onnxruntime as ort
    if optimization not in OPT_LEVELS:
        raise ConfigError(f"unknown ONNX Runtime optimisation level '{optimization}': use {', '.join(OPT_LEVELS)}.")
    so = ort.SessionOptions()
    so.graph_optimization_level = {
        "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL, "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
        "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
        "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL}[optimization]
    if threads:
        so.intra_op_num_threads = int(threads)
    so.log_severity_level = 3  # errors only
    return so


class OrtGraph(nn.Module):
    """One ONNX graph called like a torch module: float32 tensors in (any device), tensors out on ``device``."""

    def __init__(self, path: Path, providers, options, device: torch.device):
        super().__init__()
        import onnxruntime as ort
        self.session = ort.InferenceSession(str(path), options, providers=providers)
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
    """The export's prompt embeddings by name (the ``TextEmbedder`` call signature)."""

    def __init__(self, export: OnnxExport):
        data = np.load(export.folder / export.manifest["text"]["file"])
        self.names = [str(n) for n in data["names"]]
        self.table = torch.from_numpy(np.ascontiguousarray(data["embeddings"])).float()
        self.index = {n: i for i, n in enumerate(self.names)}
        self.folder = export.folder

    def check(self, names: Sequence[str]) -> None:
        missing = [n for n in names if n not in self.index]
        if missing:
            shown = ", ".join(self.names[:8]) + (", ..." if len(self.names) > 8 else "")
            raise ConfigError(f"'{missing[0]}' has no text embedding in the export '{self.folder}' (it has {shown}); "
                              f"export again with --classes naming it.")

    def __call__(self, names: Sequence[str], device="cpu") -> torch.Tensor:
        self.check(names)
        return self.table[[self.index[n] for n in names]].to(device)

    def weights_digest(self) -> str:
        return ""


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
        self.text_embedder = StoredTextEmbeddings(export)
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
    """``(encoder, config)`` for ``RADSegPredictor.from_onnx``: the export's config (or ``config``,
    checked against it), the graphs loaded, the SAM refiner attached for RADSeg+."""
    require_onnx("--backend onnxruntime")
    export = OnnxExport.open(folder)
    config = export.config() if config is None else config
    config = config.validate(patch_size=int(export.manifest["patch_size"]))
    export.check_config(config)
    encoder = OrtEncoder(export, config, device, providers=providers, threads=threads, optimization=optimization)
    if config.sam_refine:
        from ..core.sam_refine import SAMRefiner
        encoder.sam_refiner = SAMRefiner.from_config(encoder.sam.to(device), config)
    return encoder, config
