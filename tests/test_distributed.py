"""eval.py --launcher pytorch under torchrun, 2 processes, Gloo on CPU: the same metrics as one
process, each of an odd number of images counted once (mmengine's sampler pads 5 -> 6).

The single-process reference runs through eval.py's entry point in this process, and the sweep in
torchrun mode through the sweep's entry point (its run is still a torchrun of eval.py): torchrun and
its ranks are the process boundary under test here."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from datagen import make_dataset

ROOT = Path(__file__).resolve().parents[1]
EVAL = ROOT / "eval.py"
N_IMAGES = 5


def run(cmd, timeout=600):
    e = dict(os.environ, PYTHONUNBUFFERED="1", OMP_NUM_THREADS="1")
    e.pop("CUDA_VISIBLE_DEVICES", None)
    return subprocess.run([*map(str, cmd)], capture_output=True, text=True, env=e, cwd=ROOT,
                          timeout=timeout)


def eval_args(data, work):
    return [EVAL, "--config", ROOT / "configs_mmseg/low_res/voc20.py", "--model_version", "tiny-random",
            "--data-root", data, "--work-dir", work, "--num-workers", "0"]


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    data = tmp_path_factory.mktemp("data")
    make_dataset("voc20", data, n=N_IMAGES)
    work = tmp_path_factory.mktemp("single")
    from radseg.cli import run_eval_main
    from test_prepare_then_eval import _in_process
    out = _in_process(run_eval_main, [*eval_args(data, work)[1:], "--save-predictions", work / "pred"])
    assert out.returncode == 0, out.stderr[-3000:]
    rec = json.loads((work / "result.json").read_text())
    return data, work, rec


def iterations(log_text):
    """The last 'Iter(test) [i/n]' of a log: n = batches this (rank-0) process ran."""
    found = re.findall(r"Iter\(test\) \[(\d+)/(\d+)\]", log_text)
    return int(found[-1][1]) if found else None


def test_torchrun_two_processes_gloo_same_metrics(single, tmp_path):
    data, single_work, want = single
    work = tmp_path / "dist"
    out = run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
               *eval_args(data, work), "--launcher", "pytorch", "--save-predictions", work / "pred"])
    assert out.returncode == 0, (out.stdout + out.stderr)[-4000:]
    got = json.loads((work / "result.json").read_text())
    assert got["world_size"] == 2 and want["world_size"] == 1
    assert got["settings"]["env_cfg"]["dist_cfg"]["backend"] == "gloo"
    assert got["num_images"] == want["num_images"] == N_IMAGES
    # the images were split: rank 0 ran 3 of the 6 padded slots, the single process all 5
    log_single = next(single_work.glob("*/*.log")).read_text()
    log_dist = next(work.glob("*/*.log")).read_text()
    assert iterations(log_single) == N_IMAGES
    assert iterations(log_dist) == (N_IMAGES + 1) // 2
    # each image counted once: exactly the single-process numbers, summary and per class
    assert got["metrics"] == want["metrics"]
    assert got["per_class"] == want["per_class"]
    assert any(v["IoU"] for v in got["per_class"].values())  # not a trivially all-zero comparison
    # only rank 0 wrote a record
    assert len(list((work / "results").glob("*.json"))) == 1
    assert len((work / "results.jsonl").read_text().splitlines()) == 1
    # --save-predictions: each rank wrote its images, rank 0 the gathered manifest (each image once,
    # in the dataset's order), the same as one process wrote
    man = json.loads((work / "pred" / "predictions.json").read_text())
    man1 = json.loads((single_work / "pred" / "predictions.json").read_text())
    assert man == man1 and len(man["items"]) == N_IMAGES
    for it in man["items"]:
        assert (work / "pred" / it["pred"]).read_bytes() == (single_work / "pred" / it["pred"]).read_bytes()
    assert got["predictions_dir"] == str(work / "pred")


def test_sweep_torchrun_mode(single, tmp_path, monkeypatch):
    data, _, want = single
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # the sweep's torchrun inherits it, as from run()
    root = tmp_path / "sweep"
    from radseg.sweep import main
    from test_prepare_then_eval import _in_process
    out = _in_process(main, ["--work-dir", root, "--data-root", data,
                             "--models", "tiny-random", "--datasets", "voc20", "--resolutions", "low_res",
                             "--sam-refine", "off", "--num-workers", "0", "--gpus", "2", "--cpu",
                             "--parallel-mode", "torchrun"])
    assert out.returncode == 0, (out.stdout + out.stderr)[-4000:]
    assert "over 2 processes (torchrun)" in out.stdout
    got = json.loads((root / "tiny-random/norefine/low_res/voc20/result.json").read_text())
    assert got["world_size"] == 2
    assert got["metrics"] == want["metrics"] and got["per_class"] == want["per_class"]


def test_slurm_rendezvous_port_is_per_step_and_a_given_port_is_kept(monkeypatch):
    """--launcher slurm without MASTER_PORT: one port per srun step (mmengine's own default is
    29500 for every job, so two multi-task jobs on one node collided); MASTER_PORT wins."""
    from mmengine.config import Config

    import radseg.mmseg.distributed as dist
    from radseg.mmseg.distributed import configure_launcher, slurm_master_port
    a = slurm_master_port({"SLURM_JOB_ID": "4242", "SLURM_STEP_ID": "0"})
    assert 20000 <= a < 40000 and a != 29500
    assert a == slurm_master_port({"SLURM_JOB_ID": "4242", "SLURM_STEP_ID": "0"})  # every task of the step
    others = {slurm_master_port({"SLURM_JOB_ID": str(j), "SLURM_STEP_ID": str(s)})
              for j in (4242, 4243, 4300) for s in (0, 1, 2)}
    assert len(others) == 9  # array tasks (job ids) and the sweep's steps (step ids) differ
    monkeypatch.setattr(dist, "_init_dist_without_gpu", lambda *a: None)
    for k, v in {"SLURM_PROCID": "0", "SLURM_NTASKS": "2", "SLURM_NODELIST": "localhost",
                 "SLURM_JOB_ID": "4242", "SLURM_STEP_ID": "0"}.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("MASTER_PORT", raising=False)
    configure_launcher(Config(dict(env_cfg=dict())), "slurm")
    assert os.environ["MASTER_PORT"] == str(a)
    monkeypatch.setenv("MASTER_PORT", "31313")
    configure_launcher(Config(dict(env_cfg=dict())), "slurm")
    assert os.environ["MASTER_PORT"] == "31313"
