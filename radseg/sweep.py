"""Evaluate a grid of runs: datasets x presets x SAM refinement x model versions.

``eval_all_multi_res.py`` (repo root) is a thin wrapper around :func:`main`. The grid
defaults to the reference sweep: the five paper benchmarks, the three presets
(``low_res``, ``mid_res``, ``high_res``), ``c-radio_v3-b`` with ``siglip2`` and
scalings 10/10, SAM refinement off *and* on. Every axis can be narrowed or widened
from the command line. See docs/SWEEP.md.

Each run is its own ``python eval.py ...`` subprocess, writing into its own folder::

    <work dir>/<model>/<refine|norefine>/<resolution>/<dataset>/
        eval.log      stdout+stderr of the run (appended per attempt)
        result.json   the complete record (radseg.results.records)
        failed.json   exit code and last error line, only while the run is failed

and the sweep keeps ``<work dir>/sweep_status.json`` (every run's state, rewritten
atomically after each change). A sweep started again skips runs with a complete,
matching ``result.json``; ``--force`` reruns everything.

This module needs no mmseg/mmengine and runs no CUDA work itself (it only counts the
visible GPUs for ``--gpus``): a crash, OOM or CUDA error in a run ends that subprocess
only. The data folder follows eval.py's rule (``--data-root``, else ``$RADSEG_DATA_DIR``,
else ``./data``), resolved once and passed to every run.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .cli_args import OneLineArgumentParser
from .errors import ConfigError
from .presets import EXTRA_DATASETS, PAPER_DATASETS, RESOLUTIONS
from .results.records import atomic_write_text, is_complete_record, load_record

DEFAULT_MODELS = ("c-radio_v3-b",)
DEFAULT_LANG_MODEL = "siglip2"
DEFAULT_SCALING = 10.0
DEFAULT_WORK_DIR = "work_logs/sweep"
STATUS_FILE = "sweep_status.json"
LOCK_FILE = ".sweep.lock"
STATUS_SCHEMA = "radseg.sweep/1"
PARALLEL_MODES = ("runs", "torchrun", "slurm")

#: exit status of a sweep in which at least one run failed (usage errors give 2).
EXIT_RUNS_FAILED = 1
EXIT_INTERRUPTED = 130


class SweepInterrupted(Exception):
    """SIGINT/SIGTERM while runs are going."""


# -- arguments ---------------------------------------------------------------------------------

def _refine_mode(v: str) -> str:
    s = str(v).strip().lower()
    if s in ("both", "all"):
        return "both"
    if s in ("on", "true", "t", "yes", "y", "1"):
        return "on"
    if s in ("off", "false", "f", "no", "n", "0"):
        return "off"
    raise argparse.ArgumentTypeError(f"expected both, on or off, got '{v}'")


def build_parser() -> argparse.ArgumentParser:
    p = OneLineArgumentParser(
        prog="eval_all_multi_res.py",
        description="Evaluate RADSeg over datasets x presets x SAM refinement x models, one eval.py "
                    "subprocess per run, resumable. Defaults = the reference sweep: the five paper "
                    "datasets, low/mid/high_res, c-radio_v3-b + siglip2, scalings 10/10, SAM "
                    "refinement off and on. See docs/SWEEP.md.")
    g = p.add_argument_group("grid")
    g.add_argument("--datasets", nargs="+", default=["paper"], metavar="NAME",
                   help="benchmarks (space- or comma-separated): " + ", ".join(PAPER_DATASETS)
                        + " (paper), " + ", ".join(EXTRA_DATASETS) + " (extra); or the groups "
                        "'paper' (default), 'extra', 'all'")
    g.add_argument("--resolutions", "--resolution", nargs="+", default=list(RESOLUTIONS),
                   metavar="PRESET", help="presets: low_res, mid_res, high_res (default all three; "
                                          "'low', 'mid', 'high' work too)")
    g.add_argument("--models", "--model_version", "--model-version", dest="models", nargs="+",
                   default=list(DEFAULT_MODELS), metavar="MODEL",
                   help="RADIO versions / registered names / .pth.tar paths (default c-radio_v3-b)")
    g.add_argument("--sam-refine", "--sam_refine", dest="sam_refine", type=_refine_mode,
                   default="both", metavar="both|on|off",
                   help="SAM refinement: both (default, like the reference sweep: every run without "
                        "and with refinement), on, or off")
    e = p.add_argument_group("passed to eval.py")
    e.add_argument("--lang_model", "--lang-model", default=DEFAULT_LANG_MODEL,
                   help=f"language adaptor (default {DEFAULT_LANG_MODEL})")
    e.add_argument("--scra_scaling", "--scra-scaling", type=float, default=DEFAULT_SCALING)
    e.add_argument("--scga_scaling", "--scga-scaling", type=float, default=DEFAULT_SCALING)
    e.add_argument("--sam_ckpt", "--sam-ckpt", default=None,
                   help="SAM checkpoint or registered SAM source, for the refinement runs")
    e.add_argument("--data-root", "--data_root", dest="data_root", default=None,
                   help="data folder holding the benchmark folders (default: $RADSEG_DATA_DIR, else ./data); "
                        "resolved once and passed to every run")
    e.add_argument("--num-workers", "--num_workers", dest="num_workers", type=int, default=None)
    e.add_argument("--plugin", action="append", default=[])
    e.add_argument("--radio_source", "--radio-source", choices=("hub", "local", "hf"), default=None)
    e.add_argument("--radio_revision", "--radio-revision", default=None)
    e.add_argument("--radio_repo", "--radio-repo", default=None)
    e.add_argument("--amp", default=None, metavar="True|False")
    e.add_argument("--compile", default=None, metavar="True|False")
    e.add_argument("--cfg-options", "--cfg_options", dest="cfg_options", nargs="+", default=None,
                   metavar="KEY=VALUE")
    s = p.add_argument_group("sweep")
    s.add_argument("--work-dir", "--work_dir", dest="work_dir", default=DEFAULT_WORK_DIR,
                   help=f"root of the run folders (default {DEFAULT_WORK_DIR})")
    s.add_argument("--config-dir", default=None,
                   help="folder with low_res/ mid_res/ high_res/ configs (default <repo>/configs_mmseg)")
    s.add_argument("--gpus", type=int, default=None, metavar="N",
                   help="GPUs to use (default: one run at a time on whatever device eval.py finds). N must "
                        "not exceed the visible GPUs. See --parallel-mode")
    s.add_argument("--cpu", action="store_true",
                   help="run on the CPU (no GPU visible to the runs); with --gpus N: N CPU processes (side by "
                        "side, or torchrun with Gloo)")
    s.add_argument("--parallel-mode", choices=PARALLEL_MODES, default="runs",
                   help="with --gpus N > 1: 'runs' (default) = N single-GPU runs side by side, each "
                        "with its own CUDA_VISIBLE_DEVICES; 'torchrun' = one run at a time over N "
                        "processes (torch.distributed.run, --launcher pytorch); 'slurm' = one run at "
                        "a time through srun --ntasks N (--launcher slurm), inside an allocation")
    s.add_argument("--srun-args", default="", help="extra srun arguments for --parallel-mode slurm")
    s.add_argument("--run-timeout", type=float, default=None, metavar="SECONDS",
                   help="kill a run that takes longer (it is recorded as failed)")
    s.add_argument("--force", action="store_true",
                   help="rerun every run, even those with a complete result.json")
    s.add_argument("--dry-run", action="store_true",
                   help="print the plan (run folder and exact eval command per run) and exit")
    return p


_BOOL_WORDS = ("true", "t", "yes", "y", "1", "on", "false", "f", "no", "n", "0", "off")


# -- plan ----------------------------------------------------------------------------------------

def repo_root() -> Path:
    return Path(__file__).resolve().parents[1]


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
    groups = {"paper": PAPER_DATASETS, "extra": EXTRA_DATASETS, "all": PAPER_DATASETS + EXTRA_DATASETS}
    out = []
    for v in _split(values):
        key = v.lower()
        if key in groups:
            out += groups[key]
        elif key in PAPER_DATASETS + EXTRA_DATASETS:
            out.append(key)
        else:
            raise ConfigError(
                f"unknown dataset '{v}'. Valid: {', '.join(PAPER_DATASETS)} (paper grid), "
                f"{', '.join(EXTRA_DATASETS)} (extra), or the groups paper, extra, all.")
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
    from .models.radio import resolve_model_source
    from .models.registry import load_plugins
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

    @property
    def label(self) -> str:
        return f"{self.resolution} {self.dataset} {self.model} refine={'on' if self.refine else 'off'}"

    def to_json(self) -> Dict[str, Any]:
        return {"index": self.index, "model": self.model, "sam_refine": self.refine,
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
        prefix = ["srun", "--ntasks", str(n), *shlex.split(args.srun_args or ""), sys.executable]
        launcher = ["--launcher", "slurm"]
    else:
        prefix, launcher = [sys.executable], []
    cmd = [*prefix, *entry, "--config", str(run.config), "--model_version", run.model,
           "--lang_model", args.lang_model, "--scra_scaling", f"{args.scra_scaling:g}",
           "--scga_scaling", f"{args.scga_scaling:g}", "--sam_refine", str(bool(run.refine))]
    if run.refine and args.sam_ckpt:
        cmd += ["--sam_ckpt", args.sam_ckpt]
    cmd += ["--work-dir", str(run.run_dir)]
    data = getattr(args, "resolved_data", None)  # the one data-folder rule, applied once by plan_sweep
    data_root = str(data.path) if data is not None else args.data_root
    if data_root:
        cmd += ["--data-root", data_root]
    if args.num_workers is not None:
        cmd += ["--num-workers", str(args.num_workers)]
    for plugin in args.plugin:
        cmd += ["--plugin", plugin]
    for key in ("radio_source", "radio_revision", "radio_repo", "amp", "compile"):
        val = getattr(args, key)
        if val is not None:
            cmd += [f"--{key}", str(val)]
    cmd += launcher
    if args.cfg_options:  # nargs='+': keep it last
        cmd += ["--cfg-options", *args.cfg_options]
    return cmd


def _lang_model(model: str, lang_model: Optional[str]) -> Optional[str]:
    """The adaptor a run of ``model`` asked for ``lang_model`` uses (as its record holds it)."""
    try:
        from .models.versions import resolve_lang_model
        return resolve_lang_model(model, lang_model)
    except Exception:  # noqa: BLE001 - an unknown name: compare as given
        return lang_model


def record_mismatch(rec: Dict[str, Any], run: Run, args) -> Optional[str]:
    """Why the record ``rec`` does not stand for ``run`` (None when it does)."""
    from .models.registry import canonical_name
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
    for key, want in (("scra_scaling", args.scra_scaling), ("scga_scaling", args.scga_scaling)):
        try:
            ok = math.isclose(float(rec.get(key)), float(want))
        except (TypeError, ValueError):
            ok = False
        checks.append((key, rec.get(key), want, ok))
    for key, got, want, ok in checks:
        if not ok:
            return f"result.json has {key}={got!r}, this run wants {want!r}"
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
        if not (math.isfinite(getattr(args, key)) and getattr(args, key) > 0):
            raise ConfigError(f"--{key} must be positive (got {getattr(args, key)}); the reference uses 10.")
    for key in ("amp", "compile"):  # passed to eval.py as text: check them once, here
        if getattr(args, key) is not None and str(getattr(args, key)).strip().lower() not in _BOOL_WORDS:
            raise ConfigError(f"--{key} expects True or False (got '{getattr(args, key)}').")
    for kv in args.cfg_options or []:
        if "=" not in kv:
            raise ConfigError(f"--cfg-options entry '{kv}' is not KEY=VALUE.")
    from .data.benchmarks import resolve_data_dir
    args.resolved_data = resolve_data_dir(args.data_root)  # checked by run_sweep (not for --dry-run)
    refines = {"both": [False, True], "on": [True], "off": [False]}[args.sam_refine]
    config_dir = Path(args.config_dir) if args.config_dir else repo_root() / "configs_mmseg"
    if not config_dir.is_dir():
        raise ConfigError(f"config folder '{config_dir}' does not exist (--config-dir).")
    root = Path(args.work_dir)
    runs: List[Run] = []
    for model in models:
        for refine in refines:
            for res in resolutions:
                for ds in datasets:
                    cfg = (config_dir / res / f"{ds}.py").resolve()
                    if not cfg.is_file():
                        raise ConfigError(f"no config for {ds} at {res}: '{cfg}' does not exist.")
                    run = Run(len(runs) + 1, model, refine, res, ds, cfg,
                              run_dir_for(root, model, refine, res, ds))
                    run.command = eval_command(run, args)
                    runs.append(run)
    return runs


# -- status and per-run files ------------------------------------------------------------------------

def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def fmt_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else (f"{m}m{s:02d}s" if m else f"{s}s")


def counts(runs: Sequence[Run]) -> Dict[str, int]:
    c = {k: 0 for k in ("done", "skipped", "failed", "running", "pending", "interrupted")}
    for r in runs:
        c[r.state] = c.get(r.state, 0) + 1
    c["total"] = len(runs)
    return c


def write_status(root: Path, runs: Sequence[Run], args, started_at: str, finished: bool = False) -> None:
    status = {
        "schema": STATUS_SCHEMA, "work_dir": str(root.resolve()), "started_at": started_at,
        "updated_at": _now(), "finished": finished, "pid": os.getpid(),
        "command": [sys.executable, *sys.argv],
        "grid": {"datasets": _dedup(r.dataset for r in runs),
                 "resolutions": _dedup(r.resolution for r in runs),
                 "models": _dedup(r.model for r in runs),
                 "sam_refine": args.sam_refine, "lang_model": args.lang_model,
                 "scra_scaling": args.scra_scaling, "scga_scaling": args.scga_scaling,
                 "gpus": args.gpus, "parallel_mode": args.parallel_mode},
        "counts": counts(runs), "runs": [r.to_json() for r in runs],
    }
    atomic_write_text(root / STATUS_FILE, json.dumps(status, indent=2) + "\n")


_TRACEBACK_LAST = re.compile(r"^(?:\[rank\d+\]:\s*)?([A-Za-z_][\w.]*(?:Error|Exception|Interrupt|Exit))\b(:.*)?$")


def last_error_line(text: str) -> Optional[str]:
    """The most telling error line of a log: the last ``error: ...`` line (radseg's user
    errors), else the last exception line of a traceback, else the last non-empty line."""
    lines = [ln.rstrip() for ln in text.splitlines() if ln.strip()]
    for ln in reversed(lines):
        s = ln.strip()
        if s.startswith("error: ") or re.match(r"^\[rank\d+\]:\s*error: ", s):
            return s
    for ln in reversed(lines):
        m = _TRACEBACK_LAST.match(ln.strip())
        if m and "ChildFailedError" not in m.group(1):
            return ln.strip()
    return lines[-1].strip() if lines else None


def clean_stale_tmp(run_dir: Path) -> None:
    """Remove temp files of atomic writes that a killed run left behind."""
    if not run_dir.is_dir():
        return
    for sub in (run_dir, run_dir / "results"):
        if sub.is_dir():
            for p in sub.glob(".*.tmp"):
                try:
                    p.unlink()
                except OSError:
                    pass


def write_failed(run: Run, log_path: Path) -> None:
    info = {"exit_code": run.exit_code, "error": run.error, "log": str(log_path),
            "duration_s": run.duration_s, "finished_at": run.finished_at,
            "command": shlex.join(run.command), "label": run.label}
    atomic_write_text(run.run_dir / "failed.json", json.dumps(info, indent=2) + "\n")


def remove_failed(run_dir: Path) -> None:
    try:
        (run_dir / "failed.json").unlink()
    except FileNotFoundError:
        pass


# -- lock ---------------------------------------------------------------------------------------------

class SweepLock:
    """An exclusive ``flock`` on ``<root>/.sweep.lock``: one sweep per work dir at a time.

    The kernel drops the lock when the process dies (even by SIGKILL), so a killed
    sweep never blocks the next one.
    """

    def __init__(self, root: Path):
        self.path = root / LOCK_FILE
        self.fd: Optional[int] = None

    def __enter__(self):
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX
            return self
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            other = ""
            try:
                other = os.read(self.fd, 64).decode().strip()
            except OSError:
                pass
            os.close(self.fd)
            self.fd = None
            raise ConfigError(f"another sweep (pid {other or '?'}) is running in '{self.path.parent}'. "
                              f"Wait for it, or pick another --work-dir.") from None
        os.ftruncate(self.fd, 0)
        os.write(self.fd, str(os.getpid()).encode())
        return self

    def __exit__(self, *exc):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


# -- running ------------------------------------------------------------------------------------------

def _load_libc():
    try:
        import ctypes
        return ctypes.CDLL("libc.so.6", use_errno=True) if sys.platform.startswith("linux") else None
    except OSError:  # pragma: no cover
        return None


_LIBC = _load_libc()


def _child_setup():  # pragma: no cover - runs in the child
    """In the child, before exec: its own process group (the sweep can kill a run with its
    torchrun workers) and, on Linux, SIGTERM when the sweep dies, so a killed sweep leaves
    no run behind that would race the resumed one."""
    os.setsid()
    if _LIBC is not None:
        _LIBC.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _kill_group(proc: subprocess.Popen, grace: float = 5.0) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        try:
            proc.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def gpu_ids(n: int, cpu: bool = False) -> List[str]:
    """The N device ids for side-by-side runs: the first N of CUDA_VISIBLE_DEVICES, else 0..N-1
    (``cpu``: the labels cpu0..cpuN-1; the runs then see no GPU)."""
    if cpu:
        return [f"cpu{i}" for i in range(n)]
    visible = [x.strip() for x in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if x.strip()]
    if len(visible) >= n:
        return visible[:n]
    return [str(i) for i in range(n)]


@dataclass
class _Active:
    run: Run
    proc: Optional[subprocess.Popen]  # None: it could not be started
    log: Any
    log_path: Path
    log_start: int
    t0: float
    slot: int


class Sweep:
    def __init__(self, args, runs: List[Run], out=None):
        self.args = args
        self.runs = runs
        self.root = Path(args.work_dir)
        self.out = out or sys.stdout
        self.started_at = _now()
        self.durations: List[float] = []
        self.data_info: Dict[str, str] = {}  # dataset -> "folder (N images)", said when its runs start

    def say(self, msg: str) -> None:
        print(msg, file=self.out, flush=True)

    def save(self, finished: bool = False) -> None:
        write_status(self.root, self.runs, self.args, self.started_at, finished)

    # progress ---------------------------------------------------------------------------------
    def progress(self, active: Sequence[_Active], slots: int) -> str:
        c = counts(self.runs)
        to_go = c["pending"] + c["running"]
        line = f"{c['done']} done, {c['failed']} failed, {c['skipped']} skipped, {to_go} to go"
        if to_go and self.durations:
            mean = sum(self.durations) / len(self.durations)
            now = time.time()
            work = c["pending"] * mean + sum(max(mean - (now - a.t0), 0.0) for a in active)
            line += f", ETA {fmt_duration(work / max(slots, 1))}"
        return line

    # one run ----------------------------------------------------------------------------------
    def start(self, run: Run, slot: int, gpu: Optional[str]) -> _Active:
        run.run_dir.mkdir(parents=True, exist_ok=True)
        clean_stale_tmp(run.run_dir)
        log_path = run.run_dir / "eval.log"
        log = open(log_path, "ab")
        header = f"\n===== {_now()} sweep run [{run.index}/{len(self.runs)}] {run.label}\n" \
                 f"===== {shlex.join(run.command)}\n"
        log.write(header.encode())
        log.flush()
        log_start = log.tell()
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        if getattr(self.args, "cpu", False):
            env["CUDA_VISIBLE_DEVICES"] = ""
        elif gpu is not None:
            env["CUDA_VISIBLE_DEVICES"] = gpu
        t0 = time.time()
        try:
            proc = subprocess.Popen(run.command, stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, env=env, preexec_fn=_child_setup)
        except OSError as e:  # e.g. srun not on PATH: this run fails, the sweep goes on
            log.write(f"error: cannot start {run.command[0]}: {e.strerror or e}\n".encode())
            log.flush()
            return _Active(run, None, log, log_path, log_start, t0, slot)
        run.state, run.gpu, run.pid = "running", gpu, proc.pid
        run.started_at, run.exit_code, run.error, run.duration_s = _now(), None, None, None
        on = "" if gpu is None else f" on {gpu}" if gpu.startswith("cpu") else f" on GPU {gpu}"
        self.say(f"[{run.index}/{len(self.runs)}] {run.label}{on} ({run.reason}) -> {log_path}")
        data = (self.data_info or {}).get(run.dataset)
        if data:
            self.say(f"    data: {data}")
        self.save()
        return _Active(run, proc, log, log_path, log_start, t0, slot)

    def finish(self, a: _Active, rc: int, timed_out: bool = False) -> None:
        run = a.run
        a.log.close()
        run.duration_s = round(time.time() - a.t0, 2)
        run.finished_at, run.exit_code, run.pid = _now(), rc, None
        ok, why = completed_record(run, self.args)
        rec = load_record(run.run_dir / "result.json") if ok else None
        fresh = ok and (run.run_dir / "result.json").stat().st_mtime >= a.t0 - 1
        if rc == 0 and ok and fresh:
            run.state, run.error = "done", None
            run.metrics = (rec or {}).get("metrics")
            remove_failed(run.run_dir)
            self.durations.append(run.duration_s)
            m = run.metrics or {}
            summary = "  ".join(f"{k} {m.get(k)}" for k in ("mIoU", "aAcc", "mAcc"))
            self.say(f"[{run.index}/{len(self.runs)}] done in {fmt_duration(run.duration_s)}: {summary}")
        else:
            try:
                with open(a.log_path, "rb") as f:
                    f.seek(a.log_start)
                    text = f.read().decode("utf-8", "replace")
            except OSError:
                text = ""
            if timed_out:
                err = f"timed out after {fmt_duration(self.args.run_timeout)} (--run-timeout); killed"
            elif rc < 0:
                name = signal.Signals(-rc).name if -rc in signal.Signals._value2member_map_ else str(-rc)
                err = f"killed by {name}" + (" (out of memory?)" if -rc == signal.SIGKILL else "")
                last = last_error_line(text)
                if last:
                    err += f"; last log line: {last}"
            elif rc == 0:
                err = f"exited 0 but left no complete, matching result.json ({why})"
            else:
                err = last_error_line(text) or f"exit status {rc}, empty log"
            run.state, run.error = "failed", err
            write_failed(run, a.log_path)
            self.say(f"[{run.index}/{len(self.runs)}] FAILED (exit {rc}) after "
                     f"{fmt_duration(run.duration_s)}: {err}\n    log: {a.log_path}")
        self.save()

    # the loop ---------------------------------------------------------------------------------
    def execute(self) -> int:
        args = self.args
        n = len(self.runs)
        for run in self.runs:
            done, why = completed_record(run, args)
            if done and not args.force:
                run.state, run.reason = "skipped", why
                run.metrics = (load_record(run.run_dir / "result.json") or {}).get("metrics")
                remove_failed(run.run_dir)
            else:
                run.state = "pending"
                run.reason = "--force" if (done and args.force) else (
                    "failed before" if (run.run_dir / "failed.json").exists() else why)
        skipped = [r for r in self.runs if r.state == "skipped"]
        todo = [r for r in self.runs if r.state == "pending"]
        side_by_side = args.parallel_mode == "runs" and args.gpus > 1
        slots = args.gpus if side_by_side else 1
        gpus = gpu_ids(args.gpus, cpu=args.cpu) if side_by_side else [None]
        mode = (f"{slots} runs side by side" if side_by_side else
                f"one run at a time over {args.gpus} processes ({args.parallel_mode})"
                if args.gpus > 1 else "one run at a time")
        self.say(f"sweep: {n} runs ({len(todo)} to run, {len(skipped)} already complete) in "
                 f"{self.root}, {mode}" + (" on the CPU" if args.cpu else ""))
        data = getattr(args, "resolved_data", None)
        if data is not None:
            self.say(f"data folder: {data.describe()}")
        for r in skipped:
            self.say(f"[{r.index}/{n}] {r.label}: skipped ({r.reason})")
        self.save()

        pending = list(todo)
        active: List[_Active] = []
        free = list(range(slots))
        try:
            while pending or active:
                while pending and free:
                    slot = free.pop(0)
                    active.append(self.start(pending.pop(0), slot, gpus[slot]))
                time.sleep(0.2)
                for a in list(active):
                    rc = a.proc.poll() if a.proc is not None else 127
                    timed_out = False
                    if rc is None and args.run_timeout and time.time() - a.t0 > args.run_timeout:
                        _kill_group(a.proc)
                        rc, timed_out = a.proc.wait(), True
                    if rc is None:
                        continue
                    active.remove(a)
                    free.append(a.slot)
                    free.sort()
                    self.finish(a, rc, timed_out)
                    self.say(f"    {self.progress(active, slots)}")
        except (KeyboardInterrupt, SweepInterrupted):
            for a in active:
                if a.proc is not None:
                    _kill_group(a.proc)
                a.log.close()
                a.run.state, a.run.pid = "interrupted", None
                a.run.error = "interrupted (the sweep was stopped)"
            self.save(finished=False)
            c = counts(self.runs)
            self.say(f"interrupted: {c['done']} done, {c['failed']} failed, {c['skipped']} skipped, "
                     f"{c['interrupted'] + c['pending']} not run. Run the same command again to resume.")
            return EXIT_INTERRUPTED
        self.save(finished=True)
        c = counts(self.runs)
        self.say(f"sweep finished: {c['done']} done, {c['failed']} failed, {c['skipped']} skipped "
                 f"of {n}. Status: {self.root / STATUS_FILE}")
        failed = [r for r in self.runs if r.state == "failed"]
        if failed:
            self.say("failed runs (see failed.json and eval.log in each folder):")
            for r in failed:
                self.say(f"  {r.label}: {r.error}\n    {r.run_dir}")
            return EXIT_RUNS_FAILED
        self.say(f"table: radseg results {self.root}")
        return 0


def print_plan(runs: Sequence[Run], args, out=None) -> None:
    out = out or sys.stdout
    n = len(runs)
    side_by_side = args.parallel_mode == "runs" and args.gpus > 1
    ids = gpu_ids(args.gpus, cpu=args.cpu) if side_by_side else []
    print(f"plan: {n} runs under {args.work_dir}"
          + (f", {args.gpus} side by side on {'' if args.cpu else 'GPUs '}{','.join(ids)}" if side_by_side else ""),
          file=out)
    data = getattr(args, "resolved_data", None)
    if data is not None:
        print(f"data folder: {data.describe()}" + ("" if data.path.is_dir() else " (does not exist yet)"),
              file=out)
    for r in runs:
        done, why = completed_record(r, args)
        tag = "skip (complete record)" if done and not args.force else "run"
        print(f"[{r.index}/{n}] {r.label}: {tag}\n    dir: {r.run_dir}\n    cmd: {shlex.join(r.command)}",
              file=out)


def check_work_dir(root: Path) -> None:
    if root.exists() and not root.is_dir():
        raise ConfigError(f"--work-dir '{root}' is a file, not a folder. Give a folder for the runs "
                          f"(default {DEFAULT_WORK_DIR}).")
    for parent in root.parents:
        if parent.exists() and not parent.is_dir():
            raise ConfigError(f"--work-dir '{root}': '{parent}' is a file, not a folder.")


def visible_gpu_count() -> int:
    """CUDA GPUs this process can see (0 without CUDA); the runs are subprocesses, so asking here
    leaves no CUDA state behind that matters."""
    try:
        import torch
        return int(torch.cuda.device_count())
    except Exception:  # noqa: BLE001 - no torch / broken driver: no GPU
        return 0


def check_gpus(args) -> None:
    """``--gpus N`` needs N visible GPUs (not with ``--cpu``, nor for slurm: the GPUs are on the nodes)."""
    if not getattr(args, "gpus_given", False) or args.cpu or args.parallel_mode == "slurm":
        return
    n = visible_gpu_count()
    if n == 0:
        raise ConfigError(f"--gpus {args.gpus}: this machine has no CUDA GPU (torch.cuda.device_count() is 0). "
                          f"Drop --gpus to run one run at a time here, or add --cpu to run {args.gpus} CPU "
                          f"processes.")
    if n < args.gpus:
        cvd = os.environ.get("CUDA_VISIBLE_DEVICES")
        raise ConfigError(f"--gpus {args.gpus}: only {n} CUDA GPU(s) visible"
                          + (f" (CUDA_VISIBLE_DEVICES={cvd})" if cvd is not None else "")
                          + f"; use --gpus {n} or fewer.")


def describe_datasets(datasets: Sequence[str], data_dir: Path) -> Dict[str, str]:
    """``dataset -> "folder (N images)"`` (or what is missing), said when a dataset's runs start;
    a missing dataset fails its runs only (eval.py says why)."""
    from .data.benchmarks import resolve_root
    from .data.verify import count_images
    info = {}
    for ds in datasets:
        root = resolve_root(ds, data_dir)
        n, problem = count_images(ds, root)
        info[ds] = f"{root} ({n} images)" if problem is None else f"{root}: {problem}"
    return info


def warn_missing_sam(runs: Sequence[Run], args, out=None) -> None:
    """Say once, up front, when the refinement runs cannot find a SAM checkpoint."""
    n = sum(1 for r in runs if r.refine)
    if not n:
        return
    from .errors import RADSegError
    from .models.registry import get_sam_source
    from .models.sam import find_checkpoint
    if args.sam_ckpt and get_sam_source(args.sam_ckpt):
        return
    try:
        find_checkpoint(args.sam_ckpt)
    except RADSegError as e:
        print(f"warning: {n} refinement run(s) will fail: {e} (or use --sam-refine off)",
              file=sys.stderr if out is None else out)


def run_sweep(argv: Optional[Sequence[str]] = None, out=None) -> int:
    """Library entry point: parse ``argv`` like ``eval_all_multi_res.py``, run, return the exit
    status (0 all runs complete, 1 some failed, 130 interrupted). Raises RADSegError on usage
    errors (see :func:`main`)."""
    args = build_parser().parse_args(None if argv is None else list(argv))
    root = Path(args.work_dir)
    check_work_dir(root)
    runs = plan_sweep(args)
    check_models(_dedup(r.model for r in runs), args.plugin)
    if args.dry_run:
        warn_missing_sam(runs, args, out)
        try:
            check_gpus(args)
        except ConfigError as e:
            print(f"warning: {e}", file=sys.stderr)
        print_plan(runs, args, out)
        return 0
    check_gpus(args)
    from .data.benchmarks import require_data_dir
    require_data_dir(args.resolved_data)
    warn_missing_sam(runs, args, out)
    data_info = describe_datasets(_dedup(r.dataset for r in runs), args.resolved_data.path)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"cannot create --work-dir '{root}': {e.strerror}.") from None
    for r in runs:  # a file in the way of a run folder: say so before starting anything
        for p in [r.run_dir, *r.run_dir.parents]:
            if p == root:
                break
            if p.exists() and not p.is_dir():
                raise ConfigError(f"'{p}' is a file; the sweep needs a folder there for {r.label}.")

    def on_term(signum, frame):
        raise SweepInterrupted()

    old = signal.signal(signal.SIGTERM, on_term)
    try:
        with SweepLock(root):
            sweep = Sweep(args, runs, out)
            sweep.data_info = data_info
            return sweep.execute()
    finally:
        signal.signal(signal.SIGTERM, old)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``eval_all_multi_res.py``: usage errors print one ``error: ...`` line, exit 2."""
    from .cli import guarded
    try:
        return guarded(lambda: run_sweep(argv))
    except BrokenPipeError:  # e.g. `--dry-run | head`: the reader left, nothing is wrong
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
