"""Evaluate a grid of runs: datasets x presets x SAM refinement x model versions.

``eval_all_multi_res.py`` (repo root) is a thin wrapper around :func:`main`. The grid
defaults to the reference sweep: the five paper benchmarks, the three presets
(``low_res``, ``mid_res``, ``high_res``), ``c-radio_v3-b`` with its own language adaptor
(``siglip2``) and the config's scalings (10/10), SAM refinement off *and* on. Every axis
can be narrowed or widened from the command line. See docs/SWEEP.md.

Each run is its own ``python eval.py ...`` subprocess, writing into its own folder::

    <work dir>/<model>/<refine|norefine>/<resolution>/<dataset>/
        eval.log      stdout+stderr of the run (appended per attempt)
        result.json   the complete record (radseg.results.records)
        failed.json   exit code and last error line, only while the run is failed

and the sweep keeps ``<work dir>/sweep_status.json`` (every run's state, rewritten
atomically after each change). A sweep started again skips runs with a complete,
matching ``result.json``; ``--force`` reruns everything.

Modules: :mod:`.plan` (the grid, run folders, eval commands, matching records),
:mod:`.status` (status file, ``failed.json``, the work-dir lock), :mod:`.processes`
(subprocesses, process groups, GPU slots, the :class:`Sweep` executor),
:mod:`.cli` (the parser, input checks, :func:`run_sweep`, :func:`main`).

No mmseg/mmengine imports, and no CUDA work here (only the visible GPUs are counted
for ``--gpus``). The data folder follows eval.py's rule (``--data-root``, else
``$RADSEG_DATA_DIR``, else ``./data``), resolved once and passed to every run.
"""
from .cli import (
                  DEFAULT_MODELS,
                  DEFAULT_WORK_DIR,
                  PARALLEL_MODES,
                  build_parser,
                  check_work_dir,
                  describe_datasets,
                  main,
                  print_plan,
                  run_sweep,
                  warn_missing_sam,
)
from .plan import (
                  Run,
                  check_models,
                  completed_record,
                  eval_command,
                  eval_entry,
                  model_tag,
                  parse_datasets,
                  parse_resolutions,
                  plan_sweep,
                  record_mismatch,
                  repo_root,
                  run_dir_for,
)
from .processes import (
                  EXIT_INTERRUPTED,
                  EXIT_RUNS_FAILED,
                  Sweep,
                  SweepInterrupted,
                  check_gpus,
                  gpu_ids,
                  visible_gpu_count,
)
from .status import (
                  LOCK_FILE,
                  STATUS_FILE,
                  STATUS_SCHEMA,
                  SweepLock,
                  clean_stale_tmp,
                  counts,
                  fmt_duration,
                  last_error_line,
                  remove_failed,
                  write_failed,
                  write_status,
)

__all__ = ["DEFAULT_MODELS", "DEFAULT_WORK_DIR", "EXIT_INTERRUPTED", "EXIT_RUNS_FAILED", "LOCK_FILE",
           "PARALLEL_MODES", "Run", "STATUS_FILE", "STATUS_SCHEMA", "Sweep", "SweepInterrupted", "SweepLock",
           "build_parser", "check_gpus", "check_models", "check_work_dir", "clean_stale_tmp",
           "completed_record", "counts", "describe_datasets", "eval_command", "eval_entry", "fmt_duration",
           "gpu_ids", "last_error_line", "main", "model_tag", "parse_datasets", "parse_resolutions",
           "plan_sweep", "print_plan", "record_mismatch", "remove_failed", "repo_root", "run_dir_for",
           "run_sweep", "visible_gpu_count", "warn_missing_sam", "write_failed", "write_status"]
