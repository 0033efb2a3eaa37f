"""The one ``settings:`` line of ``radseg segment``: what a run uses and where it comes from, on both backends.

The torch backend starts from :class:`radseg.config.RADSegConfig`'s defaults, ``--backend
onnxruntime`` from the export's own settings (its preset): the same command can therefore run other
windows or another scale on the two backends. The line names the settings that move the result
and their source, so the difference is never silent::

    settings: windows 336/112, scale 2048 x 336, ... (from the export 'exports/voc_mid', preset voc_mid)
    settings: windows 336/224, scale 2048 x 448, ... (radseg's defaults; from the command line: slide_stride)

Torch-free (reads a config and an :class:`radseg.deploy.export_folder.OnnxExport`).
"""
from __future__ import annotations

import os
import sys
from typing import Optional

#: the settings the line shows (those that change a RADSeg label map)
SHOWN = ("slide_crop", "slide_stride", "scale", "scra_scaling", "scga_scaling", "prompt_denoising_thresh")


def settings_line(config, onnx_export=None) -> str:
    """``settings: ... (source)`` for ``config`` (a :class:`RADSegConfig`); ``onnx_export``: the export
    the run reads its defaults from, or ``None`` (torch: the config's defaults)."""
    from ..config import RADSegConfig
    crop, stride = config.slide_crop, config.slide_stride
    parts = [f"windows {crop}/{stride}" if crop > 0 else "one pass",
             "scale " + (" x ".join(str(s) for s in config.scale) if config.scale else "none"),
             f"SCRA {config.scra_scaling:g}", f"SCGA {config.scga_scaling:g}" if config.use_scga else "no SCGA",
             f"denoise {config.prompt_denoising_thresh:g}"]
    if config.sam_refine:
        parts.append(f"RADSeg+ coarse_thresh {config.coarse_thresh:g}")
    if onnx_export is not None:
        base = onnx_export.config()
        preset = onnx_export.manifest.get("preset")
        source = f"from the export '{onnx_export.folder}'" + (f", preset {preset}" if preset else "")
    else:
        base = RADSegConfig()
        source = "radseg's defaults (RADSegConfig)"
    given = [k for k in SHOWN + ("coarse_thresh",) if getattr(config, k) != getattr(base, k)
             and (k != "coarse_thresh" or config.sam_refine)]
    if given:
        source += "; from the command line: " + ", ".join(given)
    return f"settings: {', '.join(parts)} ({source})"


def note_settings(config, onnx_export=None, stream=None) -> Optional[str]:
    """Print :func:`settings_line` to stderr (rank 0 only under torchrun); returns it."""
    if int(os.environ.get("RANK", 0) or 0) != 0:
        return None
    line = settings_line(config, onnx_export)
    print(line, file=stream or sys.stderr)
    return line
