"""The demo's work, without Gradio: inputs in, overlay / heat maps / label PNG / timings out.

:class:`DemoApp` holds the loaded models (one :class:`radseg.RADSegPredictor` per
``(model_version, sam_refine)``, loaded on first use and reused) and turns the page's
raw inputs (an image path, free-text classes, numbers that may be empty) into a
:class:`DemoResult`. Every user mistake becomes a one-line message
(:class:`DemoInputError`, or the library's :class:`radseg.errors.RADSegError`), never a
traceback: :meth:`DemoApp.run` returns it in ``result.error``.

No Gradio import here: the tests drive this module directly, ``app.py`` wires it to the page.

Size: the demo's whole page logic (inputs, outputs, :class:`DemoApp`) as the one
Gradio-free layer that app.py wraps and the tests drive; a candidate split is the inputs
section (parsing and :class:`DemoSettings`) into its own module.
"""
from __future__ import annotations

import logging
import math
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..errors import RADSegError

logger = logging.getLogger(__name__)

#: images above this many pixels are refused in the page (``--max-megapixels``).
DEFAULT_MAX_MEGAPIXELS = 16.0
#: at most this many classes (the label PNG is 8-bit).
MAX_CLASSES = 256
#: heat maps in the gallery are at most this many pixels on their long side.
HEATMAP_MAX_SIDE = 512
#: the default preset benchmark when no benchmark class list is chosen: COCO-Stuff's
#: mid_res preset is ``radseg segment``'s default (scale 2048 x 448, windows 336 / 224).
DEFAULT_PRESET_DATASET = "coco_stuff164k"
#: what the resolution preset control offers besides the benchmark presets.
CUSTOM_PRESET = "custom"


class DemoInputError(RADSegError):
    """A bad input in the page (no classes, a bad number, a huge or unreadable image)."""


# -- inputs ---------------------------------------------------------------------------------------

def parse_classes_text(text: Optional[str], allowed_duplicates: Sequence[str] = ()) -> List[List[str]]:
    """The page's class box -> synonym lists.

    Classes are separated by commas or new lines, synonyms of one class by ``|``
    (``"sky, grass|lawn"`` or one class per line). Blank entries (a trailing comma, empty
    lines) are skipped. A name without a letter or digit, an empty synonym, a name given
    twice (ignoring case and spaces) or more than :data:`MAX_CLASSES` classes is a
    :class:`DemoInputError`. ``allowed_duplicates``: names that may stand for two classes
    (a reference class list's own duplicates, see :func:`benchmark_duplicates`).
    """
    from ..class_names import check_duplicates
    if text is None or not str(text).strip():
        raise DemoInputError('no classes: type class names separated by commas, e.g. "cat, wall, floor" '
                             '(synonyms of one class joined by |), or load a benchmark\'s class list.')
    entries = [e.strip() for line in str(text).splitlines() for e in line.split(",")]
    classes: List[List[str]] = []
    for entry in entries:
        if not entry:
            continue
        syns = [s.strip() for s in entry.split("|")]
        if any(not s for s in syns):
            raise DemoInputError(f"class '{entry}' has an empty synonym: join synonyms with | as in 'grass|lawn'.")
        for s in syns:
            if not any(ch.isalnum() for ch in s):
                raise DemoInputError(f"'{s}' is not a class name (it has no letter or digit).")
        classes.append(syns)
    if not classes:
        raise DemoInputError('no classes: type class names separated by commas, e.g. "cat, wall, floor".')
    if len(classes) > MAX_CLASSES:
        raise DemoInputError(f"{len(classes)} classes: at most {MAX_CLASSES} (the label map is an 8-bit PNG).")
    try:
        check_duplicates(classes, lambda i: f"class {i + 1} ('{classes[i][0]}')", allowed=allowed_duplicates)
    except RADSegError as e:
        raise DemoInputError(str(e)) from None
    return classes


def classes_to_text(classes: Sequence[Sequence[str]]) -> str:
    """Synonym lists -> the class box's text (one class per line, synonyms joined by ``|``)."""
    return "\n".join("|".join(syns) for syns in classes)


def benchmark_choices() -> List[Tuple[str, str]]:
    """``(label, key)`` for each benchmark with a built-in class list, paper benchmarks first
    (not ADE-847 / PC-459: more than :data:`MAX_CLASSES` classes)."""
    from ..class_names import builtin_class_files
    from ..presets import DATASET_ORDER, DATASETS
    files = set(builtin_class_files())
    out = [(f"{DATASETS[k].title} ({DATASETS[k].num_classes} classes)", k)
           for k in DATASET_ORDER if DATASETS[k].class_names in files and DATASETS[k].num_classes <= MAX_CLASSES]
    extra = sorted(files - {DATASETS[k].class_names for k in DATASET_ORDER})
    return out + [(k, k) for k in extra]


def benchmark_classes_text(key: Optional[str]) -> str:
    """The built-in class list of benchmark ``key`` as class-box text ('' for none)."""
    if not key:
        return ""
    from ..class_names import load_class_names
    from ..presets import DATASETS
    facts = DATASETS.get(key)
    return classes_to_text(load_class_names(facts.class_names if facts else key))


def benchmark_duplicates(key: Optional[str], text: Optional[str]) -> Tuple[str, ...]:
    """The duplicates benchmark ``key``'s built-in list carries (COCO-Object: ``bed``), when
    ``text`` is that list unchanged; else none."""
    from ..class_names import REFERENCE_DUPLICATES
    from ..presets import DATASETS
    if not key or not text:
        return ()
    facts = DATASETS.get(key)
    allowed = REFERENCE_DUPLICATES.get(f"{facts.class_names if facts else key}.txt", ())
    if allowed and text.strip() == benchmark_classes_text(key).strip():
        return tuple(allowed)
    return ()


def preset_values(dataset: Optional[str], resolution: str) -> Optional[Tuple[int, int, int, int]]:
    """``(scale_long, scale_short, slide_crop, slide_stride)`` of ``dataset``'s ``resolution``
    preset (``dataset`` None or unknown: :data:`DEFAULT_PRESET_DATASET`); ``None`` for ``custom``."""
    from ..presets import DATASETS, RESOLUTIONS
    if resolution not in RESOLUTIONS:
        return None
    facts = DATASETS.get(dataset or "", DATASETS[DEFAULT_PRESET_DATASET])
    p = facts.preset(resolution)
    return int(p.scale[0]), int(p.scale[1]), int(p.slide_crop), int(p.slide_stride)


def _whole(value, label: str, minimum: int) -> int:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise DemoInputError(f"{label} is empty: enter a whole number.")
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise DemoInputError(f"{label} '{value}' is not a number.") from None
    if not math.isfinite(f) or f != int(f):
        raise DemoInputError(f"{label} must be a whole number (got {value}).")
    if f < minimum:
        raise DemoInputError(f"{label} must be at least {minimum} (got {int(f)}).")
    return int(f)


def _positive(value, label: str) -> float:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise DemoInputError(f"{label} is empty: enter a number (the reference uses 10).")
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise DemoInputError(f"{label} '{value}' is not a number.") from None
    if isinstance(value, bool) or not math.isfinite(f) or f <= 0:
        raise DemoInputError(f"{label} must be a positive number (got {value}); the reference uses 10.")
    return f


@dataclass
class DemoSettings:
    """What the page's controls choose (units: pixels). ``coarse_thresh`` None: the default (0.10),
    or the chosen benchmark's (RADSeg+)."""
    model_version: str = "tiny-random"
    sam_refine: bool = False
    scale_long: int = 2048
    scale_short: int = 448
    slide_crop: int = 336
    slide_stride: int = 224
    scra_scaling: float = 10.0
    scga_scaling: float = 10.0
    coarse_thresh: Optional[float] = None
    benchmark: Optional[str] = None

    @classmethod
    def from_inputs(cls, model_version, sam_refine, scale_long, scale_short, slide_crop, slide_stride,
                    scra_scaling, scga_scaling, benchmark: Optional[str] = None) -> DemoSettings:
        """Raw control values (numbers may be ``None``, strings or floats) -> checked settings."""
        if not model_version or not str(model_version).strip():
            raise DemoInputError("choose a model version.")
        coarse = None
        if benchmark:
            from ..presets import DATASETS
            if benchmark in DATASETS:
                coarse = DATASETS[benchmark].coarse_thresh
        return cls(model_version=str(model_version).strip(), sam_refine=bool(sam_refine),
                   scale_long=_whole(scale_long, "resize long side", 1),
                   scale_short=_whole(scale_short, "resize short side", 1),
                   slide_crop=_whole(slide_crop, "window size", 0),
                   slide_stride=_whole(slide_stride, "window stride", 0),
                   scra_scaling=_positive(scra_scaling, "SCRA scaling"),
                   scga_scaling=_positive(scga_scaling, "SCGA scaling"), coarse_thresh=coarse,
                   benchmark=benchmark or None)

    def overrides(self) -> dict:
        """The :class:`radseg.config.RADSegConfig` values these settings set."""
        d = dict(scale=(self.scale_long, self.scale_short), slide_crop=self.slide_crop,
                 slide_stride=self.slide_stride, scra_scaling=self.scra_scaling, scga_scaling=self.scga_scaling)
        if self.coarse_thresh is not None:
            d["coarse_thresh"] = self.coarse_thresh
        return d


# -- outputs --------------------------------------------------------------------------------------

#: anchors of the heat-map colour scale (dark blue -> purple -> orange -> pale yellow), 0..1.
_HEAT_ANCHORS = np.array([[0, 0, 4], [40, 11, 84], [101, 21, 110], [159, 42, 99], [212, 72, 66],
                          [245, 125, 21], [250, 193, 39], [252, 255, 164]], dtype=np.float32)


def heat_colors(p: np.ndarray) -> np.ndarray:
    """Probabilities (any shape, 0..1) -> uint8 RGB colours (an inferno-like scale)."""
    x = np.clip(p, 0.0, 1.0) * (len(_HEAT_ANCHORS) - 1)
    grid = np.arange(len(_HEAT_ANCHORS), dtype=np.float32)
    return np.stack([np.interp(x, grid, _HEAT_ANCHORS[:, c]) for c in range(3)], axis=-1).round().astype(np.uint8)


def heatmap_images(image: np.ndarray, probs: np.ndarray, names: Sequence[str],
                   max_side: int = HEATMAP_MAX_SIDE) -> List[Tuple[Image.Image, str]]:  # noqa: F821
    """One heat map per class: its probability as colour, over a faint grey copy of the image.
    ``probs``: ``K x H x W``; each map at most ``max_side`` pixels on its long side. Returns
    ``(PIL image, caption)`` pairs (caption: name, peak probability, % of the label map)."""
    from PIL import Image
    h, w = probs.shape[-2:]
    f = min(1.0, max_side / max(h, w))
    size = (max(1, round(w * f)), max(1, round(h * f)))
    grey = np.asarray(Image.fromarray(image).convert("L").resize(size, Image.BILINEAR), dtype=np.float32)
    labels = probs.argmax(0) if len(probs) else np.zeros((h, w), dtype=np.int64)
    out = []
    for k, name in enumerate(names):
        p = np.asarray(Image.fromarray(probs[k].astype(np.float32), mode="F").resize(size, Image.BILINEAR))
        col = heat_colors(p).astype(np.float32)
        blend = 0.8 * col + 0.2 * grey[..., None]
        share = 100.0 * float((labels == k).mean())
        out.append((Image.fromarray(blend.round().clip(0, 255).astype(np.uint8)),
                    f"{name}: {share:.0f}%, peak {float(probs[k].max()):.2f}"))
    return out


#: stage names of the encoder's / refiner's timer, in pipeline order, with page labels.
STAGE_LABELS = (("model_load", "model load (first use)"), ("preprocess", "preprocess (resize, normalise)"),
                ("windows_backbone", "RADIO windows + SCRA"), ("scga", "SCGA"),
                ("project_cosine", "head_mlp + cosine with text"), ("upsample", "upsample + denoise"),
                ("regions", "SAM: regions"), ("sam_embedding", "SAM: image embedding"),
                ("sam_decoder", "SAM: mask decoder"), ("merge", "SAM: merge"),
                ("outputs", "overlay, heat maps, PNG"), ("total", "total"))


def timings_markdown(ms: Dict[str, float]) -> str:
    """Milliseconds per stage -> a Markdown table (known stages in pipeline order, then others)."""
    rows = [(label, ms[key]) for key, label in STAGE_LABELS if key in ms]
    known = {k for k, _ in STAGE_LABELS}
    rows[-1:-1] = [(k, v) for k, v in ms.items() if k not in known]
    return "| stage | ms |\n|---|---:|\n" + "\n".join(f"| {label} | {v:,.1f} |" for label, v in rows)


@dataclass
class DemoResult:
    """One run's outputs; ``error`` set (and the rest empty) when the input was refused."""
    overlay: Optional[Image.Image] = None  # noqa: F821
    heatmaps: List[Tuple[Image.Image, str]] = field(default_factory=list)  # noqa: F821
    label_path: Optional[str] = None
    timings: Dict[str, float] = field(default_factory=dict)
    timings_text: str = ""
    message: str = ""
    error: Optional[str] = None
    classes: List[str] = field(default_factory=list)


# -- the app ----------------------------------------------------------------------------------------

def default_sam_source(model_version: str, sam_ckpt: Optional[str] = None) -> Optional[str]:
    """The SAM checkpoint for RADSeg+: ``sam_ckpt`` if given, else the random SAM stand-in that
    matches a random RADIO stand-in (``tiny-random*`` -> ``tiny-random-sam``), else ``None``
    (look up ``sam_vit_h_4b8939.pth``)."""
    if sam_ckpt:
        return sam_ckpt
    from ..models import available_sam_models
    sams = set(available_sam_models())
    if model_version.startswith("tiny-random") and "tiny-random-sam" in sams:
        return "tiny-random-sam"
    for suffix, sam in (("-random-small", "sam-vit-h-random-small"), ("-random", "sam-vit-h-random")):
        if model_version.endswith(suffix) and sam in sams:
            return sam
    return None


class DemoApp:
    """The demo's state: loaded predictors (a small cache keyed by ``(model_version, sam_refine)``)
    and a folder for the label PNGs.

    Args:
        device: ``cpu``, ``cuda``, ... (default: CUDA when available).
        sam_ckpt: SAM checkpoint for RADSeg+ (default: see :func:`default_sam_source`).
        max_megapixels: larger images are refused with a message.
        radio_source, radio_revision, radio_repo: as ``radseg segment``'s flags.
        out_dir: where label PNGs are written (default: a temporary folder, removed by :meth:`close`).
        loader: ``loader(model_version, sam_refine) -> RADSegPredictor`` (tests); default
            :meth:`RADSegPredictor.from_pretrained`.
    """

    def __init__(self, device=None, sam_ckpt: Optional[str] = None,
                 max_megapixels: float = DEFAULT_MAX_MEGAPIXELS, radio_source: Optional[str] = None,
                 radio_revision: Optional[str] = None, radio_repo: Optional[str] = None,
                 out_dir: Optional[str] = None, loader: Optional[Callable] = None):
        self.device = device
        self.sam_ckpt = sam_ckpt
        self.max_pixels = int(max_megapixels * 1e6)
        self.radio_kw = dict(radio_source=radio_source, radio_revision=radio_revision, radio_repo=radio_repo)
        self._own_dir = out_dir is None
        self.out_dir = Path(out_dir or tempfile.mkdtemp(prefix="radseg-demo-"))
        self.out_dir.mkdir(parents=True, exist_ok=True)
        if self._own_dir:  # removed at exit too, if close() is never called
            import atexit
            atexit.register(shutil.rmtree, str(self.out_dir), True)
        self._loader = loader
        self._predictors: Dict[Tuple[str, bool], object] = {}
        self._lock = threading.Lock()
        self._runs = 0
        self.loads = 0  # how many models were loaded (the cache's misses)

    # -- models -------------------------------------------------------------------------------
    def predictor(self, model_version: str, sam_refine: bool):
        """The predictor for ``(model_version, sam_refine)``, loaded on first use, then reused.
        Returns ``(predictor, load_ms)``; ``load_ms`` is None when it came from the cache."""
        key = (model_version, bool(sam_refine))
        if key in self._predictors:
            return self._predictors[key], None
        t = time.perf_counter()
        if self._loader is not None:
            pred = self._loader(model_version, bool(sam_refine))
        else:
            pred = self._load(model_version, bool(sam_refine))
        self._predictors[key] = pred
        self.loads += 1
        return pred, 1e3 * (time.perf_counter() - t)

    def _load(self, model_version: str, sam_refine: bool):
        from ..config import RADSegConfig
        from ..predictor import RADSegPredictor
        kw = {k: v for k, v in self.radio_kw.items() if v is not None}
        if sam_refine:
            kw["sam_ckpt"] = default_sam_source(model_version, self.sam_ckpt)
        cfg = RADSegConfig().replace(model_version=model_version, sam_refine=sam_refine, **kw)
        return RADSegPredictor.from_config(cfg, device=self.device)

    def loaded(self) -> List[Tuple[str, bool]]:
        return list(self._predictors)

    @staticmethod
    def configure(predictor, settings: DemoSettings) -> None:
        """Apply ``settings`` to a loaded predictor in place (no reload): resize scale, windows,
        SCRA / SCGA scaling, RADSeg+'s coarse threshold. Checked first (ConfigError)."""
        predictor.update(**settings.overrides())

    # -- images -------------------------------------------------------------------------------
    def load_image(self, image) -> Tuple[np.ndarray, str]:
        """A path (the page's upload), PIL image or array -> ``(H x W x 3 uint8, name)``;
        too large, missing and unreadable images are :class:`DemoInputError`."""
        from PIL import Image
        limit = f"{self.max_pixels / 1e6:g} MP"
        if image is None:
            raise DemoInputError("no image: upload one (JPEG, PNG, ...) or pick an example below.")
        if isinstance(image, (str, Path)):
            path = str(image)
            name = Path(path).name
            if not os.path.isfile(path):
                raise DemoInputError(f"the image '{name}' is gone or not a file: upload it again.")
            try:
                import warnings
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                    with Image.open(path) as im:
                        w, h = im.size
            except Image.DecompressionBombError:
                raise DemoInputError(f"'{name}' is far above the demo's limit of {limit}: downscale it "
                                     f"first.") from None
            except Exception:
                w = h = None  # not for Pillow: load_image tries OpenCV, else says what is wrong
            if w is not None and w * h > self.max_pixels:
                raise DemoInputError(f"'{name}' is {w} x {h} pixels ({w * h / 1e6:.1f} MP), above the demo's limit "
                                     f"of {limit}: downscale it first (or start the demo with a higher "
                                     f"--max-megapixels).")
            from ..segment import load_image
            try:
                rgb, _ = load_image(path, max_pixels=None)
            except RADSegError as e:
                raise DemoInputError(str(e).replace(f"'{path}'", f"'{name}'")
                                     .replace("radseg segment's", "the demo's")) from None
            return rgb, Path(name).stem
        from ..predictor import load_rgb
        try:
            rgb = load_rgb(image)
        except RADSegError as e:
            raise DemoInputError(str(e)) from None
        if rgb.shape[0] * rgb.shape[1] > self.max_pixels:
            h, w = rgb.shape[:2]
            raise DemoInputError(f"the image is {w} x {h} pixels ({w * h / 1e6:.1f} MP), above the demo's limit "
                                 f"of {limit}: downscale it first.")
        return rgb, "image"

    # -- one run ------------------------------------------------------------------------------
    def segment(self, image, classes_text: Optional[str], settings: DemoSettings,
                progress: Optional[Callable[[float, str], None]] = None) -> DemoResult:
        """Segment ``image`` into the classes of ``classes_text``. Raises :class:`RADSegError`
        (a one-line message) for any bad input, before the model loads where it can."""
        import torch

        from ..bench.timing import StageTimer
        progress = progress or (lambda f, d: None)
        t0 = time.perf_counter()
        classes = parse_classes_text(classes_text, benchmark_duplicates(settings.benchmark, classes_text))
        rgb, stem = self.load_image(image)
        from ..config import RADSegConfig
        RADSegConfig().replace(**settings.overrides()).validate()  # patch-size checks after the load
        with self._lock:
            progress(0.1, f"loading {settings.model_version}" + (" + SAM" if settings.sam_refine else ""))
            predictor, load_ms = self.predictor(settings.model_version, settings.sam_refine)
            self.configure(predictor, settings)
            progress(0.4, "segmenting")
            timer = StageTimer(predictor.device)
            predictor.encoder.timer = timer
            try:
                pred = predictor.predict(rgb, classes)
            finally:
                predictor.encoder.timer = None
            stages = timer.lap()
            self._runs += 1
            run = self._runs
        progress(0.8, "drawing")
        t_out = time.perf_counter()
        names = pred.classes
        overlay = pred.overlay()
        probs = pred.probs.float().cpu().numpy()
        heat = heatmap_images(pred.image, probs, names)
        run_dir = self.out_dir / f"run{run:04d}"
        run_dir.mkdir(parents=True, exist_ok=True)
        label_path = run_dir / f"{stem}_labels.png"
        pred.label_image().save(label_path)
        ms: Dict[str, float] = {}
        if load_ms is not None:
            ms["model_load"] = load_ms
        ms["preprocess"] = pred.timings.get("preprocess", 0.0)
        ms.update(stages)
        ms["outputs"] = 1e3 * (time.perf_counter() - t_out)
        ms["total"] = 1e3 * (time.perf_counter() - t0)
        h, w = pred.image.shape[:2]
        labels = pred.labels.cpu()
        present = [names[int(k)] for k in torch.unique(labels).tolist()]
        msg = (f"{w} x {h} image, {len(names)} classes, {settings.model_version}"
               f"{' + SAM (RADSeg+)' if settings.sam_refine else ''} on {predictor.device}; "
               f"classes in the label map: {', '.join(present)}.")
        if settings.model_version.startswith("tiny-random") or "-random" in settings.model_version:
            msg += " (Random stand-in weights: the segmentation is meaningless.)"
        return DemoResult(overlay=overlay, heatmaps=heat, label_path=str(label_path), timings=ms,
                          timings_text=timings_markdown(ms), message=msg, classes=list(names))

    def run(self, image, classes_text: Optional[str], settings=None, progress=None, **raw) -> DemoResult:
        """:meth:`segment`, never raising for the user's mistakes: ``settings`` (a
        :class:`DemoSettings`) or the raw control values as keywords of
        :meth:`DemoSettings.from_inputs`. A bad input -> ``DemoResult(error=message)``;
        an unexpected failure -> its type and message (the traceback goes to the log)."""
        try:
            if settings is None:
                settings = DemoSettings.from_inputs(**raw)
            return self.segment(image, classes_text, settings, progress=progress)
        except RADSegError as e:
            return DemoResult(error=_one_line(str(e)))
        except Exception as e:  # not the user's mistake: log it, still no traceback in the page
            logger.exception("radseg demo: run failed")
            return DemoResult(error=f"internal error ({type(e).__name__}: {_one_line(str(e))}); "
                                    f"details are in the terminal running radseg demo.")

    def close(self) -> None:
        if self._own_dir:
            shutil.rmtree(self.out_dir, ignore_errors=True)


def _one_line(text: str) -> str:
    return " ".join(text.split())

