"""eval.py and the sweep on a real single-node Slurm cluster (issue 17, section 2).

The cluster (munged, slurmctld, slurmd on localhost, 2 CPUs; tests/slurm_cluster.py) is started
once for this file and stopped after it. Two flows, on tiny-random and a 3-image VOC20:

* ``srun --ntasks 2 python eval.py ... --launcher slurm``: two ranks (Gloo on the CPU), the same
  metrics and per-class values as one process;
* ``salloc python eval_all_multi_res.py --parallel-mode slurm`` over a 2-run grid (VOC20 and
  VOC21 at low_res, on the same generated VOC folder): each run is ``srun --ntasks 1 eval.py
  --launcher slurm`` inside the allocation (one task per run: the two-rank path is the first
  flow, and each process start costs ~14 s of CPU), both records complete;
* ``--emit-sbatch-array``: the script's index selects the run; ``sbatch --test-only`` accepts it.

Skipped (with the reason) only where Slurm cannot run: not root, or Slurm not installed. With
``CI=true`` that is a failure instead: CI (``.ci/run``) installs the packages.
"""
import json
import os
import sys
from pathlib import Path

import pytest

from datagen import make_dataset
from slurm_cluster import start_cluster, unavailable

ROOT = Path(__file__).resolve().parents[1]
N_IMAGES = 3  # odd: mmengine's sampler pads it to 4 for 2 ranks; each image must count once


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    why = unavailable()
    if why:
        if _in_ci():
            pytest.fail(f"CI=true but the Slurm cluster cannot run: {why}")
        pytest.skip(why)
    # a short folder: slurmd's and munged's socket paths must stay under the 108-byte limit
    import tempfile
    d = Path(tempfile.mkdtemp(prefix="radseg-slurm-"))
    try:
        c = start_cluster(d)
    except RuntimeError as e:
        if _in_ci():
            raise
        pytest.skip(f"the Slurm test cluster did not start here: {str(e).splitlines()[0]}")
    yield c
    c.stop()
    import shutil
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("data")
    make_dataset("voc20", d, n=N_IMAGES)
    return d


@pytest.fixture(scope="module")
def single(data, tmp_path_factory):
    """The single-process reference record, in-process through eval.py's entry point."""
    from radseg.cli import run_eval_main
    work = tmp_path_factory.mktemp("single")
    assert run_eval_main(eval_args(data, work, "low_res")) == 0
    return json.loads((work / "result.json").read_text())


def eval_args(data, work, res):
    return ["--config", str(ROOT / f"configs_mmseg/{res}/voc20.py"), "--model_version", "tiny-random",
            "--data-root", str(data), "--work-dir", str(work), "--num-workers", "0"]


def job_env(cluster):
    """The cluster's client environment and one thread each on the shared cores. No MASTER_PORT:
    eval.py --launcher slurm derives the ranks' rendezvous port from the job and step ids
    (radseg.mmseg.distributed.slurm_master_port), which these runs check for real."""
    env = {k: v for k, v in cluster.env.items() if k != "MASTER_PORT"}
    return dict(env, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1",
                PYTHONPATH=os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]),
                CUDA_VISIBLE_DEVICES="")


def _same_result(got, want):
    assert got["metrics"] == want["metrics"]
    assert got["per_class"] == want["per_class"]
    assert any(v["IoU"] for v in got["per_class"].values())  # not a trivially all-zero comparison


def test_srun_two_tasks_equal_one_process(cluster, data, single, tmp_path):
    import socket
    work = tmp_path / "w"
    # 29500 (mmengine's port for every slurm job without MASTER_PORT) taken, as by another job on
    # this node: the ranks meet on their step's own port (slurm_master_port)
    busy = socket.socket()
    try:
        busy.bind(("0.0.0.0", 29500))
        busy.listen()
    except OSError:  # already taken by something else: just as good
        pass
    try:
        out = cluster.run("srun", "--ntasks", "2", "--cpus-per-task", "1", sys.executable, ROOT / "eval.py",
                          *eval_args(data, work, "low_res"), "--launcher", "slurm",
                          env=job_env(cluster), cwd=tmp_path, timeout=300)
    finally:
        busy.close()
    assert out.returncode == 0, (out.stdout + out.stderr)[-4000:] + cluster.logs()
    got = json.loads((work / "result.json").read_text())
    assert got["world_size"] == 2 and single["world_size"] == 1
    assert got["settings"]["launcher"] == "slurm"
    assert got["settings"]["env_cfg"]["dist_cfg"]["backend"] == "gloo"
    assert got["num_images"] == single["num_images"] == N_IMAGES
    _same_result(got, single)
    assert len((work / "results.jsonl").read_text().splitlines()) == 1  # rank 0 only


def test_sweep_slurm_mode_inside_salloc(cluster, data, single, tmp_path):
    root = tmp_path / "sweep"
    # one task per run: the two-rank srun is the test above; here the sweep's own path (a 2-run
    # grid, each run an srun step of the allocation) at half the process starts
    out = cluster.run("salloc", "--ntasks", "1", "--cpus-per-task", "1", sys.executable,
                      ROOT / "eval_all_multi_res.py", "--work-dir", root, "--data-root", data,
                      "--models", "tiny-random", "--datasets", "voc20", "voc21", "--resolutions", "low_res",
                      "--sam-refine", "off", "--num-workers", "0", "--parallel-mode", "slurm",
                      env=job_env(cluster), cwd=tmp_path, timeout=400)
    assert out.returncode == 0, (out.stdout + out.stderr)[-4000:] + cluster.logs()
    assert "salloc: Granted job allocation" in out.stderr
    assert "sweep finished: 2 done, 0 failed" in out.stdout
    from radseg.results.records import is_complete_record
    recs = {}
    for ds in ("voc20", "voc21"):
        p = root / f"tiny-random/norefine/low_res/{ds}/result.json"
        assert is_complete_record(p), ds
        recs[ds] = json.loads(p.read_text())
        assert recs[ds]["benchmark"] == ds and recs[ds]["num_images"] == N_IMAGES
        assert recs[ds]["settings"]["launcher"] == "slurm"
        assert "srun --ntasks 1" in (p.parent / "eval.log").read_text()
    _same_result(recs["voc20"], single)


def emit_array(tmp_path, data, *extra):
    """``--emit-sbatch-array`` for a 2-run grid, in-process; returns (rc, script path, stdout)."""
    from radseg.sweep import main
    path = tmp_path / "sweep.sbatch"
    rc = main(["--work-dir", str(tmp_path / "sweep"), "--data-root", str(data), "--models", "tiny-random",
               "--datasets", "voc20", "voc21", "--resolutions", "low_res", "--sam-refine", "off",
               "--num-workers", "0", "--emit-sbatch-array", str(path), *extra])
    return rc, path


def test_emit_sbatch_array_one_task_per_run(data, tmp_path, capsys):
    """The array script (no cluster needed): index i runs the i-th run's exact --dry-run command."""
    import shlex
    import subprocess

    from radseg.sweep import main
    rc, path = emit_array(tmp_path, data)
    out = capsys.readouterr().out
    assert rc == 0 and f"wrote {path}: a job array of 2 runs" in out and f"sbatch {path}" in out
    text = path.read_text()
    assert "#SBATCH --array=1-2" in text and "#SBATCH --ntasks=1" in text
    assert not list((tmp_path / "sweep").rglob("eval.log"))  # nothing ran (the work dir holds Slurm's output)
    main(["--work-dir", str(tmp_path / "sweep"), "--data-root", str(data), "--models", "tiny-random",
          "--datasets", "voc20", "voc21", "--resolutions", "low_res", "--sam-refine", "off",
          "--num-workers", "0", "--dry-run"])
    cmds = [ln.split("cmd: ", 1)[1] for ln in capsys.readouterr().out.splitlines() if "cmd: " in ln]
    assert len(cmds) == 2
    for i, cmd in enumerate(cmds, 1):
        arm = text.split(f"\n  {i})", 1)[1].split(";;", 1)[0]
        assert f"exec {cmd} >> " in arm and "/eval.log 2>&1" in arm
        assert shlex.split(cmd)[-1] != "--launcher"  # one process per array task
    assert subprocess.run(["bash", "-n", str(path)]).returncode == 0
    bad = subprocess.run(["bash", str(path)], capture_output=True, text=True,
                         env={k: v for k, v in os.environ.items() if k != "SLURM_ARRAY_TASK_ID"})
    assert bad.returncode != 0 and "submit it with sbatch" in bad.stderr


def test_emitted_array_is_a_valid_sbatch_job(cluster, data, tmp_path):
    """sbatch --test-only: Slurm reads the script's directives and would schedule the 2-task array."""
    rc, path = emit_array(tmp_path, data, "--gpus", "2", "--parallel-mode", "slurm")
    assert rc == 0 and "#SBATCH --ntasks=2" in path.read_text()
    out = cluster.run("sbatch", "--test-only", path, cwd=tmp_path, env=job_env(cluster))
    assert out.returncode == 0 and "to start at" in out.stderr, out.stderr + out.stdout


def test_emitted_array_runs_under_sbatch_and_the_sweep_then_skips_it(cluster, data, single, tmp_path, capsys):
    """sbatch --wait on the emitted 2-task array (one CPU each, side by side): both records
    complete, VOC20 equal to the single process; the same sweep command afterwards runs nothing."""
    from radseg.results.records import is_complete_record
    from radseg.sweep import main
    rc, path = emit_array(tmp_path, data)
    assert rc == 0
    out = cluster.run("sbatch", "--wait", "--cpus-per-task", "1", path, cwd=tmp_path, env=job_env(cluster),
                      timeout=300)
    assert out.returncode == 0, (out.stdout + out.stderr)[-4000:] + cluster.logs()
    root = tmp_path / "sweep"
    assert len(list(root.glob("slurm-*_*.out"))) == 2  # Slurm's own output, one file per array task
    recs = {}
    for ds in ("voc20", "voc21"):
        p = root / f"tiny-random/norefine/low_res/{ds}/result.json"
        assert is_complete_record(p), (p.parent / "eval.log").read_text()[-3000:] if p.parent.exists() else ds
        recs[ds] = json.loads(p.read_text())
        assert recs[ds]["benchmark"] == ds and recs[ds]["num_images"] == N_IMAGES and recs[ds]["world_size"] == 1
    _same_result(recs["voc20"], single)
    capsys.readouterr()
    assert main(["--work-dir", str(root), "--data-root", str(data), "--models", "tiny-random",
                 "--datasets", "voc20", "voc21", "--resolutions", "low_res", "--sam-refine", "off",
                 "--num-workers", "0", "--dry-run"]) == 0
    assert capsys.readouterr().out.count("complete record") == 2
