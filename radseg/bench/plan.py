"""``radseg bench``, step 1 of 3 (plan -> measure -> compare): what to run, checked before any model loads.

:func:`plan_bench` turns the options into a :class:`BenchPlan`: the presets (from the dataset
registry: every entry with a ``bench_name`` and ``bench_image_size`` gives
``<bench_name>_<low|mid|high>``), the cases (preset x batch x refinement x mode), the
methods (``--methods``: looked up in :mod:`radseg.methods.registry`), the device and the
timing settings. A mistake is one :class:`~radseg.errors.ConfigError` line, raised here.
Each case's :class:`~radseg.config.RADSegConfig` comes from :meth:`BenchPlan.case_config`
(``RADSegConfig.preset`` of the case's dataset and resolution), so the bench builds RADSeg
the way every other command does.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from ..config import RADSegConfig
from ..dataset_registry import dataset_names, get_dataset
from ..errors import ConfigError

#: the resolutions a bench preset name ends with
_RES = ("low", "mid", "high")
#: ``--methods`` name of RADSeg with SAM refinement (the ``radseg`` method with ``sam_refine``)
RADSEG_PLUS = "radseg+"


@dataclass(frozen=True)
class BenchPreset:
    """A benchmark preset: dataset (registry key), resolution, a typical image size ``(H0, W0)`` in pixels."""
    dataset: str
    resolution: str
    image_size: Tuple[int, int]


def bench_presets() -> Dict[str, BenchPreset]:
    """``{"voc_low": BenchPreset(...), ...}`` for every registry entry with a bench image size."""
    out: Dict[str, BenchPreset] = {}
    for key in dataset_names():
        f = get_dataset(key)
        if f.bench_name and f.bench_image_size:
            for res in _RES:
                out[f"{f.bench_name}_{res}"] = BenchPreset(key, f"{res}_res", tuple(f.bench_image_size))
    return out


BENCH_PRESETS: Dict[str, BenchPreset] = bench_presets()
#: the issue's set (``--preset default``)
DEFAULT_PRESETS = ("voc_low", "voc_mid", "voc_high", "cityscapes_mid", "cityscapes_high", "ade20k_high",
                   "coco_stuff_high")


def resolve_presets(names: Sequence[str]) -> List[str]:
    """Preset names (``default``, ``all`` or names) -> the names, deduplicated, in order."""
    known = bench_presets()
    out: List[str] = []
    for n in names:
        group = DEFAULT_PRESETS if n == "default" else tuple(known) if n == "all" else (n,)
        for g in group:
            if g not in known:
                raise ConfigError(f"unknown bench preset '{g}'; use one of {', '.join(known)}, "
                                  f"'default' or 'all'.")
            if g not in out:
                out.append(g)
    return out


def check_device(name: Optional[str]) -> str:
    """:func:`radseg.predictor.resolve_device`, limited to what the benchmark times (cpu, cuda)."""
    from ..predictor import resolve_device
    dev = resolve_device(name)
    if dev.type not in ("cpu", "cuda"):
        raise ConfigError(f"--device {name}: radseg bench runs on cpu or cuda.")
    return str(dev) if name is None else name


def resolve_methods(names: Sequence[str]) -> List[str]:
    """``--methods`` names -> the names (``radseg+`` = radseg with SAM refinement), each registered."""
    from ..methods.registry import get_method
    out: List[str] = []
    for n in names:
        key = str(n).strip().lower()
        get_method("radseg" if key == RADSEG_PLUS else key, require_available=False)  # unknown: error here
        if key not in out:
            out.append(key)
    if not out:
        raise ConfigError("--methods is empty: name at least one method (e.g. radseg).")
    return out


#: a baseline's settings in ``--methods``: under RADSeg's preset, or its release's own (``own_preset``)
PROTOCOLS = ("radseg", "own")


def method_label(method: str, protocol: str = "radseg") -> str:
    """A row's name in a run and its tables: the method, `` (own)`` under its release's own settings."""
    return method + (" (own)" if protocol == "own" else "")


def row_label(row: Dict) -> str:
    """:func:`method_label` of a ``--methods`` row (``method``, ``protocol``)."""
    return method_label(row["method"], row.get("protocol", "radseg"))


@dataclass(frozen=True)
class Case:
    """One RADSeg row of the classic bench: preset, batch size, refinement, mode."""
    preset: str
    batch: int
    refine: bool
    mode: str


@dataclass
class BenchPlan:
    """Everything one ``radseg bench`` run does, checked (no model loaded)."""
    presets: List[str]
    device: str
    model_version: str
    sam: str
    refine: Tuple[bool, ...]
    modes: Tuple[str, ...]
    batches: Tuple[int, ...]
    repeats: int
    warmup: int
    small: bool
    max_windows_per_batch: object
    sam_iou_thresh: float
    workload: str
    backends: Tuple[str, ...]
    methods: Optional[List[str]] = None
    plugins: List[str] = field(default_factory=list)
    peak_memory: bool = True
    #: ``--protocol``: a baseline under RADSeg's preset (``radseg``) and/or its release's own settings (``own``)
    protocols: Tuple[str, ...] = ("radseg",)
    #: ``--order``: the methods' timed calls interleaved (a, b, a, b) or each method's back to back
    order: str = "interleaved"

    @property
    def need_sam(self) -> bool:
        return any(self.refine)

    def cases(self) -> List[Case]:
        """The classic rows, in the order they are run and reported."""
        return [Case(p, int(b), bool(r), m) for p in self.presets for b in self.batches
                for r in self.refine for m in self.modes]

    def geometry(self, preset: str) -> Dict:
        """``image_size`` (H0, W0), ``scale`` and ``input_size`` of ``preset`` (quartered with ``--small``)."""
        from ..preprocess import rescale_size
        bp = BENCH_PRESETS[preset] if preset in BENCH_PRESETS else bench_presets()[preset]
        pre = get_dataset(bp.dataset).preset(bp.resolution)
        (h0, w0), scale = bp.image_size, tuple(pre.scale)
        if self.small:
            h0, w0 = max(32, h0 // 4), max(32, w0 // 4)
            scale = (max(scale) // 4, min(scale) // 4)
        return {"image_size": (h0, w0), "scale": scale, "input_size": tuple(rescale_size(h0, w0, scale))}

    def case_config(self, preset: str, refine: bool, mode: str) -> RADSegConfig:
        """The case's settings: ``RADSegConfig.preset`` of its dataset and resolution, with the bench's
        model, SAM, window cap, mode and (in range) SAM keep threshold. The bench's ``-1`` threshold
        (keep every mask) is outside the config's 0..1 rule: :func:`radseg.bench.measure.build_case`
        sets it on the built refiner."""
        bp = bench_presets()[preset]
        thr = self.sam_iou_thresh if 0.0 <= self.sam_iou_thresh <= 1.0 else RADSegConfig.sam_iou_thresh
        return RADSegConfig.preset(
            bp.dataset, bp.resolution, model_version=self.model_version, sam_refine=bool(refine),
            sam_ckpt=self.sam if refine else None, fast=(mode == "fast"), text_disk_cache=False,
            max_windows_per_batch=self.max_windows_per_batch, sam_iou_thresh=thr)


def _check_options(device: str, backends, modes, workload, batches, repeats, warmup) -> None:
    import torch

    from .workload import WORKLOADS
    for be in backends:
        if be not in ("torch", "onnxruntime"):
            raise ConfigError(f"unknown backend '{be}': use torch and/or onnxruntime.")
    if "onnxruntime" in backends:
        from ..deploy.format import require_onnx
        require_onnx("radseg bench --backend onnxruntime")
        if torch.device(device).type != "cpu":
            raise ConfigError("radseg bench --backend onnxruntime measures the CPU execution provider: "
                              "add --device cpu (GPU providers: docs/DEPLOY.md).")
    for m in modes:
        if m not in ("exact", "fast"):
            raise ConfigError(f"unknown mode '{m}': use exact, fast or both.")
    if workload not in WORKLOADS:
        raise ConfigError(f"unknown workload '{workload}': use {' or '.join(WORKLOADS)}.")
    if any(int(b) < 1 for b in batches) or repeats < 1:
        raise ConfigError("batch sizes and --repeats must be >= 1.")
    if warmup < 1:  # a cold first call (allocations, kernel selection) is not a speed figure
        raise ConfigError(f"--warmup must be >= 1 (got {warmup}): every mode is warmed up before it is timed.")


def plan_bench(presets: Sequence[str] = DEFAULT_PRESETS, model_version: str = "c-radio_v3-b-random",
               sam: str = "sam-vit-h-random", device: Optional[str] = None, refine: Sequence[bool] = (False, True),
               modes: Sequence[str] = ("exact", "fast"), batches: Sequence[int] = (1,), repeats: int = 10,
               warmup: int = 2, small: bool = False, max_windows_per_batch="auto", sam_iou_thresh: float = -1.0,
               workload: str = "peaked", backends: Sequence[str] = ("torch",),
               methods: Optional[Sequence[str]] = None, plugins: Sequence[str] = (),
               peak_memory: bool = True, protocols: Sequence[str] = ("radseg",),
               order: str = "interleaved") -> BenchPlan:
    """Check every option and return the plan; nothing is loaded (see the module docstring)."""
    from ..models.replicas import SMALL_NAMES
    device = check_device(device)
    names = resolve_presets(presets)
    _check_options(device, backends, modes, workload, batches, repeats, warmup)
    for pr in protocols:
        if pr not in PROTOCOLS:
            raise ConfigError(f"unknown protocol '{pr}': use radseg, own or both.")
    if order not in ("interleaved", "blocked"):
        raise ConfigError(f"unknown order '{order}': use interleaved or blocked.")
    if small:
        model_version = SMALL_NAMES.get(model_version, model_version)
        sam = SMALL_NAMES.get(sam, sam)
    return BenchPlan(presets=names, device=device, model_version=model_version, sam=sam,
                     refine=tuple(bool(r) for r in refine), modes=tuple(modes),
                     batches=tuple(int(b) for b in batches), repeats=int(repeats), warmup=int(warmup),
                     small=bool(small), max_windows_per_batch=max_windows_per_batch,
                     sam_iou_thresh=float(sam_iou_thresh), workload=workload, backends=tuple(backends),
                     methods=None if methods is None else resolve_methods(methods), plugins=list(plugins),
                     peak_memory=bool(peak_memory), protocols=tuple(protocols), order=order)
