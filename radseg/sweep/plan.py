"""The grid of a sweep: which runs, where each one writes, and its exact eval.py command.

:func:`plan_sweep` turns the parsed command line into :class:`Run` objects in the
order model -> refinement (off first) -> preset -> dataset; :func:`completed_record`
says whether a run's ``result.json`` already stands for it. No subprocesses here.
"""
from __future__ import annotations

import math
import os
import re
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from ..cfg_options import check_cfg_options
from ..config import RADSegConfig
from ..data.mess import MESS_PRESET
from ..dataset_registry import dataset_names, get_dataset, has_dataset
from ..errors import ConfigError
from ..presets import RESOLUTIONS
from ..results.records import is_complete_record, load_record

_BOOL_WORDS = ("true", "t", "yes", "y", "1", "on", "false", "f", "no", "n", "0", "off")


def repo_root() -> Path:
    return Path(__file__).resolve().parents[2]


def scaling(args, key: str) -> float:
    """``--scra_scaling`` / ``--scga_scaling`` as given, else :class:`RADSegConfig`'s default."""
    val = getattr(args, key, None)
    return float(RADSegConfig.defaults()[key]) if val is None else val


def _split(values: Sequence[str]) -> List[str]:
    out: List[str] = []
    for v in values:
        out += [x for x in re.split(r"[,\s]+", v) if x]
    return out


def _dedup(items):
    seen, out = set(), []
    for x in items:
        if x not in seen:
            seen.add(x)
            out.append(x)
    return out


def parse_datasets(values: Sequence[str]) -> List[str]:
    """``--datasets`` values (keys of the dataset registry, or its groups) -> keys, deduplicated."""
    paper, extra = dataset_names("paper"), dataset_names("extra")
    groups = {"paper": paper, "extra": extra, "all": paper + extra, "long": dataset_names("long"),
              "mess": dataset_names("mess")}
    out = []
    for v in _split(values):
        key = v.lower()
        if key in groups:
            out += groups[key]
        elif has_dataset(key):
            out.append(key)
        else:
            own = dataset_names("own")
            raise ConfigError(
                f"unknown dataset '{v}'. Valid: {', '.join(paper)} (paper grid), "
                f"{', '.join(extra)} (extra), {', '.join(groups['long'])} (long), a MESS entry "
                f"(docs/MESS.md)" + (f", {', '.join(own)} (registered)" if own else "")
                + ", or the groups paper, extra, all (paper + extra), long, mess.")
    if not out:
        raise ConfigError("--datasets is empty.")
    return _dedup(out)


def parse_resolutions(values: Sequence[str]) -> List[str]:
    out = []
    for v in _split(values):
        key = v.lower()
        if key in ("low", "mid", "high"):
            key += "_res"
        if key == "all":
            out += RESOLUTIONS
        elif key in RESOLUTIONS:
            out.append(key)
        else:
            raise ConfigError(f"unknown resolution '{v}'. Valid: {', '.join(RESOLUTIONS)} (or all).")
    if not out:
        raise ConfigError("--resolutions is empty.")
    return _dedup(out)


def model_tag(model: str) -> str:
    """A folder name for a model version (a checkpoint path gives its file name)."""
    name = model
    if "/" in name or os.sep in name or name.endswith((".pth", ".pt", ".tar")):
        name = Path(name).name
        for suf in (".pth.tar", ".pth", ".pt", ".tar"):
            if name.endswith(suf):
                name = name[: -len(suf)]
                break
    return re.sub(r"[^A-Za-z0-9._+-]+", "_", name) or "model"


def check_models(models: Sequence[str], plugins: Sequence[str]) -> None:
    """Fail fast on a model name no source knows (paths must exist)."""
    from ..models.radio import resolve_model_source
    from ..models.registry import load_plugins
    load_plugins(list(plugins))
    for m in models:
        resolve_model_source(m, flag="model")


@dataclass
class Run:
    """One cell of the grid and its state in this sweep."""

    index: int
    model: str
    refine: bool
    resolution: str
    dataset: str
    config: Path
    run_dir: Path
    command: List[str] = field(default_factory=list)
    state: str = "pending"  # pending | running | done | skipped | failed | interrupted
    reason: Optional[str] = None  # why it runs again / is skipped
    exit_code: Optional[int] = None
    error: Optional[str] = None
    duration_s: Optional[float] = None
    started_at: Optional[str] = None
    finished_at: Optional[str] = None
    gpu: Optional[str] = None
    pid: Optional[int] = None
    metrics: Optional[Dict[str, Any]] = None
    method: str = "radseg"  # a baseline's cell runs its own protocol (resolution "own")

    @property
    def label(self) -> str:
        if self.method != "radseg":
            return f"{self.resolution} {self.dataset} {self.method}"
        return f"{self.resolution} {self.dataset} {self.model} refine={'on' if self.refine else 'off'}"

    def to_json(self) -> Dict[str, Any]:
        return {"index": self.index, "method": self.method, "model": self.model, "sam_refine": self.refine,
                "resolution": self.resolution, "dataset": self.dataset, "state": self.state,
                "reason": self.reason, "run_dir": str(self.run_dir), "config": str(self.config),
                "exit_code": self.exit_code, "error": self.error, "duration_s": self.duration_s,
                "started_at": self.started_at, "finished_at": self.finished_at, "gpu": self.gpu,
                "pid": self.pid, "metrics": self.metrics,
                "log": str(self.run_dir / "eval.log"), "command": shlex.join(self.command)}


def run_dir_for(root: Path, model: str, refine: bool, resolution: str, dataset: str) -> Path:
    return root / model_tag(model) / ("refine" if refine else "norefine") / resolution / dataset


def eval_entry() -> List[str]:
    """How to start eval.py: the repo's script, or the installed CLI when there is no repo."""
    script = repo_root() / "eval.py"
    if script.is_file():
        return [str(script)]
    return ["-m", "radseg.cli", "eval"]


def eval_command(run: Run, args) -> List[str]:
    """The exact command line of one run (with its launcher for --gpus N > 1)."""
    entry = eval_entry()
    n = max(int(args.gpus), 1)
    if args.parallel_mode == "torchrun" and n > 1:
        prefix = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                  "--nproc_per_node", str(n)]
        if entry[0] == "-m":  # torchrun takes a module with --module
            entry = ["--module", *entry[1:]]
        launcher = ["--launcher", "pytorch"]
    elif args.parallel_mode == "slurm":
        # --kill-on-bad-exit: a rank that fails ends the step, instead of the others waiting for it
        # at the next collective until the allocation's time limit
        prefix = ["srun", "--ntasks", str(n), "--kill-on-bad-exit=1", *shlex.split(args.srun_args or ""),
                  sys.executable]
        launcher = ["--launcher", "slurm"]
    else:
        prefix, launcher = [sys.executable], []
    own = getattr(args, "dataset_dir", None)
    if own:  # eval.py --dataset-dir: the run's resolution is its --preset
        which = ["--dataset-dir", str(run.config), "--classes", str(Path(args.classes).resolve()),
                 "--preset", run.resolution]
        for flag, key in (("--preset-of", "preset_of"), ("--img-dir", "img_dir"), ("--ann-dir", "ann_dir")):
            if getattr(args, key, None):
                which += [flag, str(getattr(args, key))]
        which += ["--reduce-zero-label"] if getattr(args, "reduce_zero_label", False) else []
    else:
        which = ["--config", str(run.config)]
    if run.method != "radseg":  # its own protocol: the release's settings and weights
        return _baseline_command([*prefix, *entry, *which], run, args, launcher)
    cmd = [*prefix, *entry, *which, "--model_version", run.model]
    if args.lang_model is not None:  # else eval.py's default: the version's own adaptor
        cmd += ["--lang_model", args.lang_model]
    cmd += ["--scra_scaling", f"{scaling(args, 'scra_scaling'):g}",
            "--scga_scaling", f"{scaling(args, 'scga_scaling'):g}", "--sam_refine", str(bool(run.refine))]
    if run.refine and args.sam_ckpt:
        cmd += ["--sam_ckpt", args.sam_ckpt]
    cmd += ["--work-dir", str(run.run_dir), "--verbose"]  # eval.log is a file: mmengine's whole log, as before
    data = getattr(args, "resolved_data", None)  # the one data-folder rule, applied once by plan_sweep
    data_root = str(data.path) if data is not None else args.data_root
    if data_root and not own:
        cmd += ["--data-root", data_root]
    if args.num_workers is not None:
        cmd += ["--num-workers", str(args.num_workers)]
    for plugin in args.plugin:
        cmd += ["--plugin", plugin]
    for key in ("radio_source", "radio_revision", "radio_repo", "amp", "compile"):
        val = getattr(args, key)
        if val is not None:
            cmd += [f"--{key}", str(val)]
    if getattr(args, "allow_unpinned", False):
        cmd += ["--allow-unpinned"]
    if getattr(args, "boundary_iou", False):
        cmd += ["--boundary-iou"]
    if getattr(args, "label_ignore", None) and takes_label_ignore(run.dataset):
        cmd += ["--label-ignore", args.label_ignore]
    cmd += launcher
    if args.cfg_options:  # nargs='+': keep it last
        cmd += ["--cfg-options", *args.cfg_options]
    return cmd


def _shared_flags(run: Run, args) -> List[str]:
    """The flags every run takes whatever its method: work dir, data, workers, plugins, metrics."""
    cmd = ["--work-dir", str(run.run_dir), "--verbose"]
    data = getattr(args, "resolved_data", None)
    data_root = str(data.path) if data is not None else args.data_root
    if data_root and not getattr(args, "dataset_dir", None):
        cmd += ["--data-root", data_root]
    if args.num_workers is not None:
        cmd += ["--num-workers", str(args.num_workers)]
    for plugin in args.plugin:
        cmd += ["--plugin", plugin]
    if getattr(args, "boundary_iou", False):
        cmd += ["--boundary-iou"]
    if getattr(args, "label_ignore", None) and takes_label_ignore(run.dataset):
        cmd += ["--label-ignore", args.label_ignore]
    return cmd


#: the stand-in model name every method knows (``--models tiny-random`` runs the baselines' stand-ins)
STAND_IN = "tiny-random"


def _baseline_command(head: List[str], run: Run, args, launcher: List[str]) -> List[str]:
    """A baseline's cell: ``eval.py --method NAME --protocol own`` with the shared flags (and
    ``--model_version tiny-random`` for the stand-in)."""
    chosen = run.model == STAND_IN and STAND_IN in (getattr(args, "models", None) or ())
    model = ["--model_version", STAND_IN] if chosen else []
    return [*head, "--method", run.method, "--protocol", "own", *model, *_shared_flags(run, args), *launcher]


def takes_label_ignore(dataset: str) -> bool:
    """Whether ``dataset``'s labels hold 65535 (ADE-847, PC-459): the runs ``--label-ignore`` applies to."""
    return has_dataset(dataset) and 65535 in tuple(get_dataset(dataset).ignore_values)


def _lang_model(model: str, lang_model: Optional[str]) -> Optional[str]:
    """The adaptor a run of ``model`` asked for ``lang_model`` uses (as its record holds it)."""
    try:
        from ..models.versions import resolve_lang_model
        return resolve_lang_model(model, lang_model)
    except Exception:  # noqa: BLE001 - an unknown name: compare as given
        return lang_model


def record_mismatch(rec: Dict[str, Any], run: Run, args) -> Optional[str]:
    """Why the record ``rec`` does not stand for ``run`` (None when it does)."""
    from ..models.registry import canonical_name
    if run.method != "radseg" or rec.get("method", "radseg") != "radseg":
        for key, got, want in (("method", rec.get("method", "radseg"), run.method),
                               ("benchmark", rec.get("benchmark"), run.dataset),
                               ("resolution", rec.get("resolution"), run.resolution)):
            if got != want:
                return f"result.json has {key}={got!r}, this run wants {want!r}"
        return None
    names = {run.model, canonical_name(run.model)}
    got_models = {rec.get("model_version"), ((rec.get("settings") or {}).get("model") or {}).get("model_version")}
    checks = [
        ("benchmark", rec.get("benchmark"), run.dataset, rec.get("benchmark") == run.dataset),
        ("resolution", rec.get("resolution"), run.resolution, rec.get("resolution") == run.resolution),
        ("sam_refine", rec.get("sam_refine"), run.refine, bool(rec.get("sam_refine")) == run.refine),
        ("model", rec.get("model_version"), run.model, bool(names & got_models)),
        ("lang_model", rec.get("lang_model"), _lang_model(run.model, args.lang_model),
         rec.get("lang_model") == _lang_model(run.model, args.lang_model)),
    ]
    for key, want in (("scra_scaling", scaling(args, "scra_scaling")), ("scga_scaling", scaling(args, "scga_scaling"))):
        try:
            ok = math.isclose(float(rec.get(key)), float(want))
        except (TypeError, ValueError):
            ok = False
        checks.append((key, rec.get(key), want, ok))
    for key, got, want, ok in checks:
        if not ok:
            return f"result.json has {key}={got!r}, this run wants {want!r}"
    if getattr(args, "boundary_iou", False) and "mBoundaryIoU" not in (rec.get("metrics") or {}):
        return "result.json has no mBoundaryIoU, this run wants --boundary-iou"
    if takes_label_ignore(run.dataset):
        want = getattr(args, "label_ignore", None) or "literature"
        got = (rec.get("label_ignore") or {}).get("setting", "literature")
        if got != want:
            return f"result.json has label_ignore={got!r}, this run wants {want!r}"
    return None


def completed_record(run: Run, args) -> Tuple[bool, str]:
    """(True, note) when ``run_dir/result.json`` is a complete record of this run's settings."""
    path = run.run_dir / "result.json"
    if not path.exists():
        return False, "no result.json"
    if not is_complete_record(path):
        return False, "result.json is incomplete or unreadable"
    rec = load_record(path) or {}
    why = record_mismatch(rec, run, args)
    if why:
        return False, why
    return True, "complete record"


def _own_dataset_runs(args, own: str, models, refines, resolutions) -> List[Run]:
    """The grid over ``--dataset-dir`` (your own dataset): model -> refine -> resolution."""
    if not getattr(args, "classes", None):
        raise ConfigError("--dataset-dir needs --classes FILE (the class names, one per line).")
    own_dir = Path(os.path.abspath(os.path.expanduser(own)))
    if not own_dir.is_dir():
        raise ConfigError(f"--dataset-dir '{own}' is not a folder.")
    if args.datasets != ["paper"]:
        raise ConfigError("give --datasets (benchmarks) or --dataset-dir (your own dataset), not both.")
    if [m for m in _split(getattr(args, "methods", None) or ["radseg"]) if m.lower() != "radseg"]:
        raise ConfigError("--methods with a baseline needs --datasets: a baseline's own protocol is per "
                          "benchmark, not for --dataset-dir.")
    root = Path(args.work_dir)
    runs = []
    for model in models:
        for refine in refines:
            for res in resolutions:
                run = Run(len(runs) + 1, model, refine, res, own_dir.name, own_dir,
                          run_dir_for(root, model, refine, res, own_dir.name))
                run.command = eval_command(run, args)
                runs.append(run)
    return runs


def plan_sweep(args) -> List[Run]:
    """The runs of the grid, in order model -> refine (off first) -> resolution -> dataset."""
    datasets = parse_datasets(args.datasets)
    resolutions = parse_resolutions(args.resolutions)
    models = _dedup(_split(args.models))
    if not models:
        raise ConfigError("--models is empty.")
    if not hasattr(args, "gpus_given"):
        args.gpus_given = args.gpus is not None
        args.gpus = 1 if args.gpus is None else args.gpus
    if args.gpus < 1:
        raise ConfigError(f"--gpus must be >= 1 (got {args.gpus}).")
    if args.num_workers is not None and args.num_workers < 0:
        raise ConfigError("--num-workers must be >= 0.")
    if args.run_timeout is not None and args.run_timeout <= 0:
        raise ConfigError("--run-timeout must be positive.")
    for key in ("scra_scaling", "scga_scaling"):
        if not (math.isfinite(scaling(args, key)) and scaling(args, key) > 0):
            raise ConfigError(f"--{key} must be positive (got {scaling(args, key)}); the reference uses "
                              f"{RADSegConfig.defaults()[key]:g}.")
    for key in ("amp", "compile"):  # passed to eval.py as text: check them once, here
        if getattr(args, key) is not None and str(getattr(args, key)).strip().lower() not in _BOOL_WORDS:
            raise ConfigError(f"--{key} expects True or False (got '{getattr(args, key)}').")
    for kv in args.cfg_options or []:
        if "=" not in kv:
            raise ConfigError(f"--cfg-options entry '{kv}' is not KEY=VALUE.")
    check_cfg_options(args.cfg_options or [])  # as eval.py would, before any run
    from ..data.benchmarks import resolve_data_dir
    args.resolved_data = resolve_data_dir(args.data_root)  # checked by run_sweep (not for --dry-run)
    refines = {"both": [False, True], "on": [True], "off": [False]}[args.sam_refine]
    own = getattr(args, "dataset_dir", None)
    if own is None and (getattr(args, "classes", None) or getattr(args, "preset_of", None)):
        raise ConfigError("--classes and --preset-of need --dataset-dir DIR (your own dataset).")
    if own is not None:
        return _own_dataset_runs(args, own, models, refines, resolutions)
    config_dir = Path(args.config_dir) if args.config_dir else repo_root() / "configs_mmseg"
    if not config_dir.is_dir():
        raise ConfigError(f"config folder '{config_dir}' does not exist (--config-dir).")
    root = Path(args.work_dir)
    runs: List[Run] = []
    methods = parse_methods(getattr(args, "methods", None) or ["radseg"], args.plugin)
    # MESS's entries have one preset (configs_mmseg/mess/): planned once, after the resolutions
    mess = set(dataset_names("mess"))
    cells = [(res, ds) for res in resolutions for ds in datasets if ds not in mess]
    cells += [(MESS_PRESET, ds) for ds in datasets if ds in mess]
    for model in models:
        for refine in refines:
            for res, ds in cells:
                cfg = (config_dir / res / f"{ds}.py").resolve()
                if not cfg.is_file():
                    raise ConfigError(f"no config for {ds} at {res}: '{cfg}' does not exist.")
                run = Run(len(runs) + 1, model, refine, res, ds, cfg,
                          run_dir_for(root, model, refine, res, ds))
                run.command = eval_command(run, args)
                runs.append(run)
    for method in methods:  # a baseline: each dataset once, under its own protocol
        if method != "radseg":
            runs += _baseline_runs(method, datasets, resolutions, config_dir, root, args, len(runs))
    if "radseg" not in methods:
        runs = [r for r in runs if r.method != "radseg"]
        for i, r in enumerate(runs, 1):
            r.index = i
    return runs


def parse_methods(values: Sequence[str], plugins: Sequence[str]) -> List[str]:
    """The ``--methods`` axis: registered, available names (one error line otherwise)."""
    from ..methods import get_method
    from ..models.registry import load_plugins
    load_plugins(list(plugins))
    methods = _dedup(get_method(m).name for m in _split(values))
    if not methods:
        raise ConfigError("--methods is empty.")
    return methods


def _baseline_runs(method: str, datasets, resolutions, config_dir: Path, root: Path, args, start: int) -> List[Run]:
    """One run per dataset for a baseline (its own protocol picks resize, windows and classes; the
    config is the dataset's config of the first resolution, for its data pipeline). With
    ``--models tiny-random`` (the stand-in of every method) a baseline runs its own stand-in too,
    so a whole grid runs offline; otherwise the release's weights (its default ``model_version``)."""
    from ..methods import get_method
    model = str(get_method(method).settings_cls.defaults().get("model_version", method))
    if STAND_IN in (getattr(args, "models", None) or ()):
        model = STAND_IN
    runs = []
    mess = set(dataset_names("mess"))
    for ds in datasets:
        res = MESS_PRESET if ds in mess else resolutions[0]
        cfg = (config_dir / res / f"{ds}.py").resolve()
        if not cfg.is_file():
            raise ConfigError(f"no config for {ds} at {res}: '{cfg}' does not exist.")
        run = Run(start + len(runs) + 1, model, False, "own", ds, cfg, root / method / "own" / ds, method=method)
        run.command = eval_command(run, args)
        runs.append(run)
    return runs


