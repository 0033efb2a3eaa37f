"""``radseg doctor``: can this set-up reproduce the paper? One table of what is here and what is not.

Rows (:class:`Check`), grouped by section: the software (Python, torch, CUDA with the device, its
compute capability and TF32 / bf16 support, mmcv / mmcv-lite / mmseg / mmengine versions and
whether mmseg imports with the toolkit's registrations, ONNX / ONNX Runtime), the weights (each
real RADIO version's cache; SAM ViT-H, its digest checked against Meta's as eval.py checks it),
the data (the data folder, and for each benchmark whether it is found and complete: the
verifier's quick mode, :func:`radseg.data.verify.verify_dataset`), free disk in the cache, data
and work folders, and the protocol traps of the settings named with ``--config`` or
``--dataset/--resolution`` (a scale, crop or stride that is not the paper's preset; a prompt file
that is not the literature's class file).

``--for paper|mess|long|deploy`` names a job: each row says whether that job needs it, and the
exit status is 0 when every needed row is fine, 1 otherwise, with the first fix printed last.
Without ``--for`` the table is informational (exit 0). Nothing is downloaded or loaded (no model
is built). A network probe (a 2 s TCP connect to Hugging Face and Meta's download host; skipped
with ``--offline`` or ``$HF_HUB_OFFLINE``) decides whether a weight that is not cached counts as
"downloaded on first use" or as missing; offline, the rows it could not check say so and are
listed under "not checked". ``--json`` prints the same as one JSON object.
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import shutil
import socket
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import List, Optional, Sequence

#: the jobs of ``--for``; what each needs is in :func:`_needs`
JOBS = ("paper", "mess", "long", "deploy")
#: the paper's backbone (RADSeg-base)
PAPER_MODEL = "c-radio_v3-b"
#: free space below this (GiB) is a warning; below a tenth of it, a failure where the job needs the folder
LOW_DISK_GIB = 5.0

OK, WARN, FAIL, SKIP = "ok", "warn", "FAIL", "not checked"


@dataclass
class Check:
    """One row: ``status`` is one of ok / warn / FAIL / not checked; ``needed``: the ``--for`` job
    needs it (a FAIL or not-checked needed row fails the job); ``fix``: one line, what to do."""

    section: str
    name: str
    status: str
    detail: str = ""
    fix: str = ""
    needed: bool = False


@dataclass
class Report:
    job: Optional[str]
    checks: List[Check] = field(default_factory=list)
    online: Optional[bool] = None

    def add(self, *args, **kwargs) -> Check:
        c = Check(*args, **kwargs)
        self.checks.append(c)
        return c

    @property
    def failing(self) -> List[Check]:
        return [c for c in self.checks if c.needed and c.status in (FAIL, SKIP)]

    @property
    def ok(self) -> bool:
        return not self.failing

    def to_dict(self) -> dict:
        first = self.failing[0] if self.failing else None
        return {"job": self.job, "ok": self.ok, "online": self.online, "checks": [asdict(c) for c in self.checks],
                "not_checked": [f"{c.section}: {c.name}" for c in self.checks if c.status == SKIP],
                "first_fix": (first.fix or first.detail) if first else None}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``radseg doctor``'s flags."""
    parser.add_argument("--for", dest="job", choices=JOBS, default=None,
                        help="the job to check for: paper (the 5 benchmarks x 3 presets, RADSeg and RADSeg+), "
                             "long (ADE-847, PC-459), mess (the 25 MESS entries), deploy (ONNX export and "
                             "ONNX Runtime); exit 1 with the first fix when something it needs is missing")
    parser.add_argument("--data-root", default=None,
                        help="the data folder (default: $RADSEG_DATA_DIR, else ./data, as eval.py)")
    parser.add_argument("--work-dir", default="work_logs", help="the work folder whose free disk is shown "
                        "(default work_logs)")
    parser.add_argument("--config", default=None, help="an eval.py config whose settings are checked for "
                        "protocol traps (e.g. configs_mmseg/low_res/voc20.py)")
    parser.add_argument("--dataset", default=None, help="with --resolution: the benchmark whose preset the "
                        "settings below are checked against")
    parser.add_argument("--resolution", default=None, choices=("low_res", "mid_res", "high_res"),
                        help="the preset (with --dataset)")
    parser.add_argument("--slide-stride", dest="check_slide_stride", type=int, default=None,
                        help="the window stride you will use")
    parser.add_argument("--slide-crop", dest="check_slide_crop", type=int, default=None,
                        help="the window size you will use")
    parser.add_argument("--scale", dest="check_scale", type=int, nargs=2, default=None,
                        metavar=("LONG", "SHORT"),
                        help="the test resize you will use")
    parser.add_argument("--class-names", dest="check_class_names", default=None,
                        help="the class-name (prompt) file you will use")
    parser.add_argument("--offline", action="store_true", help="do not probe the network (what needs it is "
                        "reported as not checked)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")


def _needs(job: Optional[str], section: str, name: str) -> bool:
    """Whether ``job`` needs the row ``section: name``."""
    if job is None:
        return False
    mm = ("mmseg", "mmengine", "mmcv / mmcv-lite")
    if section == "software":
        if name in ("python", "torch"):
            return True
        if name in mm:
            return job != "deploy"
        return job == "deploy" and name in ("onnx", "onnxruntime")
    if section == "weights":
        if name == PAPER_MODEL:
            return True
        return name == "SAM ViT-H" and job == "paper"
    if section == "data":
        from .presets import datasets_in_group
        if name == "data folder":
            return job != "deploy"
        return name in (datasets_in_group("paper") if job == "paper" else
                        datasets_in_group("long") if job == "long" else
                        _mess_keys() if job == "mess" else ())
    if section == "settings":
        return job in ("paper", "long", "mess")
    if section == "disk":
        return name == "cache" or (name == "data" and job != "deploy")
    return False


def _mess_keys() -> Sequence[str]:
    from .data.mess import MESS_KEYS
    return MESS_KEYS


def _version(dist: str) -> Optional[str]:
    from importlib import metadata
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def network_reachable(timeout: float = 2.0) -> bool:
    """A TCP connection to Hugging Face (RADIO weights) or Meta's download host (SAM) opens."""
    for host in ("huggingface.co", "dl.fbaipublicfiles.com"):
        try:
            with socket.create_connection((host, 443), timeout=timeout):
                return True
        except OSError:
            continue
    return False


def _software(rep: Report) -> None:
    py = sys.version_info
    rep.add("software", "python", OK if py >= (3, 8) else FAIL, platform.python_version(),
            "" if py >= (3, 8) else "use Python 3.8 or newer")
    try:
        import torch
    except Exception as e:  # noqa: BLE001 - any import failure is the finding
        rep.add("software", "torch", FAIL, f"does not import ({type(e).__name__}: {e})",
                "pip install torch torchvision (README: Install)")
        torch = None
    else:
        rep.add("software", "torch", OK, torch.__version__)
    if torch is not None:
        if torch.cuda.is_available():
            cap = torch.cuda.get_device_capability(0)
            tf32 = cap >= (8, 0)
            rep.add("software", "CUDA", OK, f"{torch.version.cuda}; {torch.cuda.get_device_name(0)}, capability "
                    f"{cap[0]}.{cap[1]}; TF32 {'yes' if tf32 else 'no'}, bf16 "
                    f"{'yes' if torch.cuda.is_bf16_supported() else 'no'} (both only in --fast mode)")
        else:
            rep.add("software", "CUDA", WARN, f"no CUDA device (torch built for CUDA {torch.version.cuda or 'none'}): "
                    "everything runs on the CPU, slowly", "a CUDA GPU for the full grid (exact mode needs no "
                    "TF32/bf16)")
    versions = {n: _version(n) for n in ("mmcv", "mmcv-lite", "mmsegmentation", "mmengine")}
    mmcv = " + ".join(f"{n} {v}" for n, v in versions.items() if n.startswith("mmcv") and v)
    rep.add("software", "mmcv / mmcv-lite", OK if mmcv else FAIL, mmcv or "neither is installed",
            "" if mmcv else "pip install -e . (brings mmcv-lite)")
    rep.add("software", "mmengine", OK if versions["mmengine"] else FAIL, versions["mmengine"] or "not installed",
            "" if versions["mmengine"] else "pip install -e .")
    if versions["mmsegmentation"]:
        try:
            importlib.import_module("radseg.mmseg")  # mmseg with the mmcv-lite shim and our registrations
            rep.add("software", "mmseg", OK, f"mmsegmentation {versions['mmsegmentation']}, imports")
        except Exception as e:  # noqa: BLE001
            rep.add("software", "mmseg", FAIL, f"mmsegmentation {versions['mmsegmentation']} does not import "
                    f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})", "pip install -e . again")
    else:
        rep.add("software", "mmseg", FAIL, "mmsegmentation is not installed", "pip install -e .")
    for mod, fix in (("onnx", 'pip install -e ".[deploy]"'), ("onnxruntime", 'pip install -e ".[deploy]"')):
        v = _version(mod)
        rep.add("software", mod, OK if v else WARN, v or "not installed (only radseg export / --backend "
                "onnxruntime need it)", "" if v else fix)


def _weights(rep: Report) -> None:
    from .models.listing import radio_weights_cached
    from .models.radio import DEFAULT_HUB_REVISION, HF_REPOS
    for version in HF_REPOS:
        where = radio_weights_cached(version)
        if where:
            rep.add("weights", version, OK, f"cached: {where} (no digest is pinned for RADIO weights; the code is "
                    f"pinned to NVlabs/RADIO {DEFAULT_HUB_REVISION[:7]})")
        elif rep.online:
            rep.add("weights", version, OK if version == PAPER_MODEL else WARN,
                    "not cached; downloaded on first use (network reachable)")
        elif rep.online is False:
            rep.add("weights", version, FAIL if version == PAPER_MODEL else WARN, "not cached, and no network",
                    f"run once with a network (radseg segment --model_version {version}) or copy the weights "
                    f"into the Hugging Face / torch.hub cache (docs/MODELS.md)")
        else:
            rep.add("weights", version, SKIP, "not cached; whether it can be downloaded was not checked (--offline)",
                    f"run once with a network (radseg segment --model_version {version}) (docs/MODELS.md)")
    from .errors import WeightsNotFoundError
    from .models.sam import SAM_URL, find_checkpoint, verify_checkpoint
    try:
        path = find_checkpoint(None)
    except WeightsNotFoundError:
        rep.add("weights", "SAM ViT-H", FAIL, "sam_vit_h_4b8939.pth not found (RADSeg+ needs it)",
                f"download {SAM_URL} into {Path.home() / '.cache/radseg/checkpoints'} (docs/SAM_REFINEMENT.md)")
        return
    try:
        verify_checkpoint(path)
        rep.add("weights", "SAM ViT-H", OK, f"{path}, digest is Meta's")
    except WeightsNotFoundError as e:
        rep.add("weights", "SAM ViT-H", FAIL, str(e).split(";")[0], f"download {SAM_URL} again")


def _data(rep: Report, data_root: Optional[str]) -> Optional[Path]:
    from .data.benchmarks import BENCHMARKS, resolve_data_dir, resolve_root
    from .data.mess import MESS_ENTRIES
    from .data.verify import verify_dataset
    d = resolve_data_dir(data_root)
    if not d.path.is_dir():
        rep.add("data", "data folder", FAIL, f"{d.describe()} does not exist",
                "prepare the benchmarks with `radseg data prepare DATASET --raw DOWNLOAD` (docs/DATA.md), or pass "
                "--data-root")
        return None
    rep.add("data", "data folder", OK, d.describe())
    for key in BENCHMARKS:
        root = d.path / MESS_ENTRIES[key].root if key in MESS_ENTRIES else resolve_root(key, d.path)
        if not root.exists():
            how = ("MESS's own scripts (docs/MESS.md)" if key in MESS_ENTRIES
                   else f"`radseg data prepare {key} --raw DOWNLOAD --out {d.path}`")
            rep.add("data", key, WARN, "not found", f"prepare it with {how}")
            continue
        v = verify_dataset(key, root, quick=True)
        if v.ok:
            rep.add("data", key, OK if not v.warnings else WARN, f"{v.n_images} images at {root}"
                    + (f"; {v.warnings[0]}" if v.warnings else ""))
        else:
            rep.add("data", key, FAIL, f"incomplete at {root}: {v.errors[0]}", f"radseg data verify {key} {root}")
    return d.path


def _disk(rep: Report, folders) -> None:
    for name, folder in folders:
        p = Path(folder).resolve()
        while not p.exists() and p != p.parent:
            p = p.parent
        free = shutil.disk_usage(p).free / 2 ** 30
        status = OK if free >= LOW_DISK_GIB else WARN if free >= LOW_DISK_GIB / 10 else FAIL
        rep.add("disk", name, status, f"{free:.1f} GiB free at {folder}",
                "" if status == OK else f"free disk space at {folder}")


def _settings(args) -> Optional[dict]:
    """The settings to check for traps: from ``--config`` (read, not run) and the flags."""
    s = dict(dataset=args.dataset, resolution=args.resolution, slide_crop=args.check_slide_crop,
             slide_stride=args.check_slide_stride,
             scale=tuple(args.check_scale) if args.check_scale else None,
             class_names=args.check_class_names)
    if args.config:
        from .errors import ConfigError
        if not Path(args.config).is_file():
            raise ConfigError(f"--config {args.config} not found: give an eval.py config, e.g. "
                              f"configs_mmseg/low_res/voc20.py.")
        from mmengine.config import Config
        try:
            cfg = Config.fromfile(args.config)
        except Exception as e:  # noqa: BLE001 - a broken config is the user's: one line
            raise ConfigError(f"--config {args.config} cannot be read ({type(e).__name__}: {e}).") from None
        model = cfg.get("model", {})
        resize = [t for t in cfg.test_dataloader.dataset.get("pipeline", []) if t.get("type") == "Resize"]
        res = Path(args.config).parent.name
        s = {**dict(dataset=cfg.get("benchmark"), resolution=res if res in ("low_res", "mid_res", "high_res") else
                    None, slide_crop=model.get("slide_crop"), slide_stride=model.get("slide_stride"),
                    scale=tuple(resize[0]["scale"]) if resize else None, class_names=model.get("class_names")),
             **{k: v for k, v in s.items() if v is not None}}
    return s if any(v is not None for v in s.values()) else None


def _traps(rep: Report, s: dict) -> None:
    from .class_names import BUILTIN_DIR, resolve_class_file
    from .errors import RADSegError
    from .presets import DATASETS
    facts = DATASETS.get(s["dataset"]) if s["dataset"] else None
    if facts is None:
        rep.add("settings", "dataset", WARN if s["dataset"] else SKIP,
                f"'{s['dataset']}' is not a benchmark of the paper grid" if s["dataset"] else "no --dataset",
                "name one with --dataset (or --config)")
        return
    if s["resolution"]:
        p = facts.preset(s["resolution"])
        for key, want in (("scale", tuple(p.scale)), ("slide_crop", p.slide_crop), ("slide_stride", p.slide_stride)):
            got = s[key]
            if got is None:
                continue
            same = tuple(got) == want if key == "scale" else got == want
            rep.add("settings", key, OK if same else FAIL, f"{got}" + ("" if same else f", not the paper's {want} for "
                    f"{facts.key} {s['resolution']}"), "" if same else f"use {want} (radseg/presets.py; "
                    f"docs/ALGORITHM.md section 9) or say the run is not the paper's protocol")
    if s["class_names"]:
        want = BUILTIN_DIR / f"{facts.class_names}.txt"
        try:
            path = resolve_class_file(str(s["class_names"]))
            same = path.read_bytes() == want.read_bytes()
        except (RADSegError, OSError) as e:
            rep.add("settings", "class names", FAIL, f"{s['class_names']}: {e}", "check the class-name file path")
            return
        rep.add("settings", "class names", OK if same else FAIL,
                f"{path}" + ("" if same else f" is not the literature's prompt file for {facts.key} "
                             f"(radseg/class_names/{want.name})"),
                "" if same else f"use model.class_names={facts.class_names} (docs/CLASSNAMES.md)")
    if facts.group == "long":
        rep.add("settings", "label ignore", OK, "--label-ignore literature (255, as the published numbers); "
                "65535 = the correct but not comparable evaluation (docs/LONG_VOCABULARY.md)")


def diagnose(args) -> Report:
    """Every check for ``args`` (the parsed flags); nothing is loaded or downloaded."""
    from .cache import cache_dir
    offline = args.offline or os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0")
    rep = Report(job=args.job, online=None if offline else network_reachable())
    _software(rep)
    _weights(rep)
    data = _data(rep, args.data_root)
    _disk(rep, [("cache", cache_dir())] + ([("data", data)] if data else []) + [("work", args.work_dir)])
    settings = _settings(args)
    if settings:
        _traps(rep, settings)
    elif args.job in ("paper", "long", "mess"):
        rep.add("settings", "protocol traps", WARN, "no settings named (--config, or --dataset/--resolution with "
                "the flags you will pass): none checked")
    for c in rep.checks:
        c.needed = _needs(args.job, c.section, c.name)
        if c.needed and c.section == "data" and c.detail == "not found":
            c.status = FAIL  # a benchmark the job evaluates
    if offline:
        rep.add("network", "probe", SKIP, "offline: whether weights that are not cached can be downloaded was not "
                "checked; the pinned RADIO revision and Meta's SAM URL were not contacted")
    elif not rep.online:
        rep.add("network", "probe", WARN, "no connection to huggingface.co or dl.fbaipublicfiles.com: weights that "
                "are not cached cannot be downloaded here")
    return rep


def format_table(rep: Report) -> str:
    marks = {OK: "ok", WARN: "warn", FAIL: "FAIL", SKIP: "not checked"}
    rows = [(c.section, c.name, marks[c.status] + (" *" if c.needed else ""),
             c.detail + (f" -> fix: {c.fix}" if c.status == FAIL and c.fix else "")) for c in rep.checks]
    w = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = [f"{r[0]:<{w[0]}}  {r[1]:<{w[1]}}  {r[2]:<{w[2]}}  {r[3]}" for r in rows]
    if rep.job:
        lines.append(f"* = needed for --for {rep.job}")
        if rep.ok:
            lines.append(f"ready for {rep.job}: everything it needs is here")
        else:
            first = rep.failing[0]
            lines.append(f"not ready for {rep.job}: {len(rep.failing)} needed item(s) missing or not checked; "
                         f"first fix ({first.section}: {first.name}): {first.fix or first.detail}")
    skipped = [f"{c.section}: {c.name}" for c in rep.checks if c.status == SKIP]
    if skipped:
        lines.append("not checked: " + "; ".join(skipped))
    return "\n".join(lines)


def main(args) -> int:
    """Run ``radseg doctor``: print the table (or JSON); 0 when ready for ``--for`` (or without it), else 1."""
    rep = diagnose(args)
    print(json.dumps(rep.to_dict(), indent=1, default=str) if args.json else format_table(rep))
    return 0 if rep.ok else 1
