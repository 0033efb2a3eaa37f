"""Flags -> a checked RADSegConfig (or a method's settings), done once for every command.

Each command's *plan* step calls these before any model loads:

* :func:`parse_labels`: ``--labels`` text -> synonym lists (at most 256 classes: the 8-bit PNG);
* :func:`check_model`: the model name (a registered source), the revision pin, and with RADSeg+
  the SAM checkpoint (resolved once, here: the predictor does not look it up again);
* :func:`backend_config`: the torch flags' config, or with ``--backend onnxruntime`` the export
  folder's settings, checked against the flags and the classes;
* :func:`note`: the one ``note: ...`` line printer of the commands.

It sits below the mmseg adapter (eval.py's plan uses it too) and imports nothing above it.
"""
from __future__ import annotations

import sys
from typing import List, Optional, Tuple

from ..config import RADSegConfig
from ..errors import ClassNamesError, RADSegError

MAX_LABEL_CLASSES = 256


def note(msg: str) -> None:
    """Print ``note: <msg>`` on stderr (every command's notices)."""
    print(f"note: {msg}", file=sys.stderr)


def parse_labels(text: str) -> List[List[str]]:
    """``"sky, grass|lawn"`` -> ``[["sky"], ["grass", "lawn"]]``; more than 256 classes is an error."""
    from ..class_names import split_labels
    classes = split_labels(text)
    if len(classes) > MAX_LABEL_CLASSES:
        raise ClassNamesError(f"--labels names {len(classes)} classes; the label-map PNG holds at most "
                              f"{MAX_LABEL_CLASSES}.")
    return classes


def check_model(config: RADSegConfig, *, onnx: bool = False, check_source: bool = True) -> RADSegConfig:
    """The model name, the revision pin and (RADSeg+) the SAM checkpoint, before anything loads.

    Returns ``config`` with ``sam_ckpt`` resolved (a path, or a registered source's name). With
    ``onnx`` the export folder holds the model: only the pin is checked."""
    from ..models.radio import check_pinned, resolve_model_source
    if check_source and not onnx:
        resolve_model_source(config.model_version)  # an unknown name fails before any data is read
    check_pinned(config.radio_source, config.radio_revision, config.allow_unpinned)
    if config.sam_refine and not onnx:  # a missing or corrupt SAM checkpoint fails before RADIO loads
        config = config.replace(sam_ckpt=checked_sam(config.sam_ckpt, config.model_version))
    return config


def checked_sam(sam_ckpt: Optional[str], model_version: str) -> str:
    """RADSeg+'s SAM checkpoint resolved by the one resolver (registered source, look-up, digest)."""
    from ..models.sam import resolve_sam
    return resolve_sam(sam_ckpt, model_version=model_version)


def backend_config(args, classes) -> Tuple[Optional[object], RADSegConfig]:
    """``(onnx_export or None, RADSegConfig)`` for ``radseg segment``'s flags: with ``--backend
    onnxruntime`` the export folder is checked (its settings, and that it holds text embeddings for
    ``classes``) before anything runs; otherwise the flags' config."""
    from ..cli_args import config_from_args
    if args.backend != "onnxruntime" and args.model_dir is None:
        return None, config_from_args(args)
    if args.backend != "onnxruntime":
        raise RADSegError("--model-dir is the export folder of --backend onnxruntime; add --backend onnxruntime.")
    if args.model_dir is None:
        raise RADSegError("--backend onnxruntime needs --model-dir DIR (a `radseg export onnx` folder).")
    from ..core.text_embeddings import flatten_synonyms
    from ..deploy.export import require_onnx
    from ..deploy.ort_backend import OnnxExport, StoredTextEmbeddings
    require_onnx("--backend onnxruntime")
    onnx_export = OnnxExport.open(args.model_dir)
    base = onnx_export.config()
    if args.sam_refine is None:
        base = base.replace(sam_refine=False)  # RADSeg+ only with --sam-refine, as with torch
    config = config_from_args(args, base=base)
    onnx_export.check_config(config)
    StoredTextEmbeddings(onnx_export).check(flatten_synonyms(classes)[0])  # before anything runs
    return onnx_export, config


def checked_config(args, classes) -> Tuple[Optional[object], RADSegConfig]:
    """:func:`backend_config` then :func:`check_model`: the whole pre-flight of a RADSeg command."""
    onnx_export, config = backend_config(args, classes)
    return onnx_export, check_model(config, onnx=onnx_export is not None)


def build_predictor(onnx_export, config: RADSegConfig, device):
    """The predictor for a checked ``config``: ONNX Runtime sessions over an export folder, or torch."""
    from ..deploy.run_settings import note_settings
    from ..predictor import RADSegPredictor
    if onnx_export is not None:
        from ..deploy.onnx_predictor import load_onnx_predictor
        predictor = load_onnx_predictor(str(onnx_export.folder), device, config=config)
    else:
        predictor = RADSegPredictor.from_config(config, device=device)
    note_settings(predictor.config, onnx_export)
    return predictor


def given_settings(args, settings_cls, method: str, names) -> dict:
    """The setting flags among ``names`` given on the command line (not ``None``) for ``method``; a
    flag that is not a field of ``settings_cls`` is one error line naming the method's settings."""
    given = {k: getattr(args, k) for k in names if getattr(args, k, None) is not None}
    if given.get("allow_unpinned") is False:
        given.pop("allow_unpinned")  # the flag's "not given"
    fields = settings_cls.field_names()
    foreign = sorted(k for k in given if k not in fields)
    if foreign:
        raise RADSegError(f"--{foreign[0]} is not a setting of method '{method}'; its settings: "
                          f"{', '.join(fields)}.")
    if isinstance(given.get("scale"), list):
        given["scale"] = tuple(given["scale"])
    given.update(weights_settings(getattr(args, "weights", None), settings_cls, method))
    return given


def no_weights_flag(args) -> None:
    """RADSeg takes no ``--weights`` (its model is ``--model_version`` / ``--sam_ckpt``): one line."""
    if getattr(args, "weights", None):
        raise RADSegError("--weights is a baseline's (clip=, dino=, sam= files); RADSeg's weights are "
                          "--model_version (RADIO) and --sam_ckpt (SAM).")


def weights_settings(pairs, settings_cls, method: str) -> dict:
    """``--weights clip=PATH dino=PATH sam=PATH`` -> ``{"clip_weights": PATH, ...}``, checked now
    (before anything loads): a malformed pair, a model the method does not have, or a file that is
    not there is one error line."""
    from pathlib import Path
    if not pairs:
        return {}
    fields = settings_cls.field_names()
    models = [f[: -len("_weights")] for f in fields if f.endswith("_weights")]
    out = {}
    for pair in pairs:
        name, sep, path = str(pair).partition("=")
        name = name.strip().lower()
        if not sep or not name or not path:
            raise RADSegError(f"--weights {pair}: write MODEL=PATH (e.g. clip=ViT-B-16.pt).")
        if name not in models:
            what = (f"its models: {', '.join(models)}" if models
                    else "it takes no --weights (RADSeg: --model_version, --sam_ckpt)")
            raise RADSegError(f"--weights {name}=...: method '{method}' has no {name} weights; {what}.")
        if not Path(path).expanduser().is_file():
            raise RADSegError(f"--weights {name}={path}: no such file. Give the {name} checkpoint in its official "
                              f"layout (docs/BASELINES.md says where to get it).")
        out[f"{name}_weights"] = str(Path(path).expanduser())
    return out


def method_settings(args, base=None):
    """``(MethodSpec, checked settings)`` of ``--method`` for a command's flags: unknown or not-yet-
    available methods, another method's flags and invalid values are one error line each. ``base``:
    the settings to start from (default: the method's defaults)."""
    from ..methods import get_method
    spec = get_method(getattr(args, "method", None) or "radseg")
    cls = spec.settings_cls
    given = given_settings(args, cls, spec.name, RADSegConfig.field_names())
    settings = (base if base is not None else cls()).replace(**given)
    return spec, settings.validate() or settings
