"""``--emit-sbatch-array FILE``: the sweep's grid as one Slurm job array.

The script's array index selects one run (the runs that are not complete yet, in the
sweep's order); each array task makes its run folder and execs that run's exact eval.py
command (the same one ``--dry-run`` prints), appending to the run's ``eval.log``. Afterwards
the same sweep command skips every run with a complete record and ``radseg results`` reads
them; nothing else of the sweep (status file, lock) is involved. No subprocesses here.
"""
from __future__ import annotations

import shlex
from pathlib import Path
from typing import Sequence

from ..errors import ConfigError
from .plan import Run


def sbatch_array_script(runs: Sequence[Run], args, argv: Sequence[str], total: int) -> str:
    """The job-array script for ``runs`` (``total``: the size of the whole grid)."""
    tasks = 1
    if args.parallel_mode == "slurm" and args.gpus > 1:
        tasks = args.gpus  # each command is `srun --ntasks N ...` inside its array task
    root = Path(args.work_dir).resolve()
    q = shlex.quote
    lines = [
        "#!/bin/bash",
        f"# RADSeg sweep as a Slurm job array: {len(runs)} of the grid's {total} runs (the others have a",
        "# complete result.json). Written by:",
        f"#   eval_all_multi_res.py {shlex.join(argv)}",
        "# Submit with `sbatch THIS_FILE`; add your site's options (partition, time, one GPU per task,",
        "# e.g. `#SBATCH --gpus-per-task=1`) below. Afterwards: `radseg results WORK_DIR`; the same",
        "# sweep command again reruns only what did not finish.",
        "#SBATCH --job-name=radseg-sweep",
        f"#SBATCH --array=1-{len(runs)}",
        f"#SBATCH --ntasks={tasks}",
        f"#SBATCH --output={root}/slurm-%A_%a.out",
        "set -euo pipefail",
        f"cd {q(str(Path.cwd()))}",
        'case "${SLURM_ARRAY_TASK_ID:?this file is a Slurm job array: submit it with sbatch}" in',
    ]
    for i, run in enumerate(runs, 1):
        d = q(str(run.run_dir))
        lines += [f"  {i})  # [{run.index}/{total}] {run.label}",
                  f"    mkdir -p {d} && exec {shlex.join(run.command)} >> {d}/eval.log 2>&1 ;;"]
    lines += [f'  *) echo "error: no run $SLURM_ARRAY_TASK_ID in this array (1-{len(runs)})" >&2; exit 2 ;;',
              "esac", ""]
    return "\n".join(lines)


def write_sbatch_array(path: str, runs: Sequence[Run], args, argv: Sequence[str], total: int) -> Path:
    """Write the script (executable); a folder or an unwritable place is a ConfigError."""
    if not runs:
        raise ConfigError(f"--emit-sbatch-array: every one of the {total} runs has a complete record; nothing "
                          f"to submit (--force reruns them).")
    out = Path(path)
    if out.is_dir():
        raise ConfigError(f"--emit-sbatch-array '{path}' is a folder; give a file name, e.g. sweep.sbatch.")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        Path(args.work_dir).mkdir(parents=True, exist_ok=True)  # Slurm writes the tasks' output there
        out.write_text(sbatch_array_script(runs, args, argv, total))
        out.chmod(0o755)
    except OSError as e:
        raise ConfigError(f"cannot write --emit-sbatch-array '{path}': {e.strerror or e}.") from None
    return out
