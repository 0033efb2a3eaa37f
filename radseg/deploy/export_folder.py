""":class:`OnnxExport`: a checked ``radseg export onnx`` folder (no torch import).

Opening one checks, before any ONNX Runtime session exists, that the folder is an export
(manifest, format, version), that every graph it names is there, and (format 2) that each
graph file's SHA-256 is the one the export wrote: a truncated or corrupt ``.onnx`` is one
:class:`radseg.errors.ConfigError` naming the file and the fix (export again), not ONNX
Runtime's ``InvalidProtobuf`` traceback.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, Tuple

from ..errors import ConfigError
from .format import FORMAT, FORMAT_VERSION, MANIFEST, TEXT_TOWER, file_sha256, manifest_settings

REQUIRED = ("backbone", "head_mlp")
SAM_PARTS = ("sam_backbone", "sam_feat_mlp", "sam_neck", "sam_prompt_encoder", "sam_mask_decoder")
EXPORT_HINT = "create one with: radseg export onnx --model_version NAME --preset voc_mid --out DIR"

#: files whose digest matched, by (path, size, mtime): checked once per process
_VERIFIED: Dict[Tuple[str, int, int], str] = {}


def verify_file(path: Path, expected: str) -> None:
    """``path``'s SHA-256 must be ``expected``: else one line naming the file and the fix."""
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if _VERIFIED.get(key) == expected:
        return
    if file_sha256(path) != expected:
        raise ConfigError(f"'{path}' is truncated or corrupt (its SHA-256 is not the one in {MANIFEST}); "
                          f"export again (radseg export onnx ... --out {path.parent} --force).")
    _VERIFIED[key] = expected


class OnnxExport:
    """An export folder whose manifest and graph files were found, read and (format 2) verified."""

    def __init__(self, folder: Path, manifest: Dict):
        self.folder = folder
        self.manifest = manifest

    @classmethod
    def open(cls, folder, verify: bool = True) -> OnnxExport:
        folder = Path(folder)
        if not folder.exists():
            raise ConfigError(f"--model-dir '{folder}' does not exist; {EXPORT_HINT}.")
        if not folder.is_dir():
            raise ConfigError(f"--model-dir '{folder}' is a file, not an export folder; {EXPORT_HINT}.")
        path = folder / MANIFEST
        if not path.is_file():
            raise ConfigError(f"'{folder}' is not a radseg ONNX export (it has no {MANIFEST}); {EXPORT_HINT}.")
        try:
            manifest = json.loads(path.read_text())
        except (OSError, ValueError) as e:
            raise ConfigError(f"'{path}' cannot be read as an export manifest ({e}); export again.") from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise ConfigError(f"'{path}' is not a radseg ONNX export manifest (format is not '{FORMAT}'); "
                              f"{EXPORT_HINT}.")
        try:
            version = int(manifest.get("format_version", 0))
        except (TypeError, ValueError):
            version = -1
        if version > FORMAT_VERSION:
            raise ConfigError(f"'{folder}' was written by a newer radseg (export format "
                              f"{manifest.get('format_version')}, this one reads 1 to {FORMAT_VERSION}); "
                              f"upgrade radseg.")
        if version < 1:
            raise ConfigError(f"'{path}' has no valid format_version (got {manifest.get('format_version')!r}); "
                              f"export again.")
        parts = manifest.get("parts") or {}
        names = REQUIRED + (SAM_PARTS if manifest.get("sam") else ()) + \
            ((TEXT_TOWER,) if manifest.get("text_tower") else ())
        for name in names:
            f = folder / str((parts.get(name) or {}).get("file", f"{name}.onnx"))
            if name not in parts or not f.is_file():
                raise ConfigError(f"'{folder}' lacks {f.name} (an incomplete export); export again.")
        text = folder / str((manifest.get("text") or {}).get("file", ""))
        if not text.is_file():
            raise ConfigError(f"'{folder}' lacks its text embeddings ({text.name}); export again.")
        export = cls(folder, manifest)
        if verify:
            export.verify()
        return export

    def verify(self) -> None:
        """Every graph file against its SHA-256 in the manifest (format 2; format 1 holds none)."""
        for name in self.manifest.get("parts") or {}:
            expected = self.manifest["parts"][name].get("sha256")
            if expected:
                verify_file(self.path(name), str(expected))

    # -- facts ---------------------------------------------------------------------------------
    @property
    def version(self) -> int:
        return int(self.manifest.get("format_version", 1))

    @property
    def has_sam(self) -> bool:
        return bool(self.manifest.get("sam"))

    @property
    def has_text_tower(self) -> bool:
        """Format 2 with the language tower: any class list can be embedded."""
        return bool(self.manifest.get("text_tower")) and TEXT_TOWER in (self.manifest.get("parts") or {})

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

    def config(self):
        """The :class:`radseg.config.RADSegConfig` the export was made with."""
        from ..config import RADSegConfig
        return RADSegConfig.from_dict(self.manifest["config"], ignore_unknown=True)

    def check_config(self, config) -> None:
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
