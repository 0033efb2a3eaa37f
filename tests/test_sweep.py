"""eval_all_multi_res.py as a user runs it: tiny datasets, the seeded tiny model, low/mid presets.

One module-scoped sweep (2 datasets x 2 presets, refine off, 2 runs side by side) is made
once, as a user runs it (``python eval_all_multi_res.py ...``); tests that change it work on a
copy. Those tests call the same entry point in-process (:func:`sweep`): each run is still its
own ``eval.py`` subprocess, only the sweep's own interpreter start is saved. The signal tests
run the sweep as a process (:func:`sweep_process`), since that is what they check.
"""
import csv
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from datagen import make_dataset
from test_prepare_then_eval import _in_process  # an entry point's main here, output captured

ROOT = Path(__file__).resolve().parents[1]
SWEEP = ROOT / "eval_all_multi_res.py"
DATASETS = ["voc20", "ade20k"]
RESOLUTIONS = ["low_res", "mid_res"]


def env():
    return dict(os.environ, PYTHONUNBUFFERED="1")


def sweep_process(*args, check_rc=None):
    """``python eval_all_multi_res.py ARGS`` as a user types it."""
    out = subprocess.run([sys.executable, str(SWEEP), *map(str, args)], capture_output=True, text=True,
                         env=env(), cwd=ROOT, timeout=600)
    if check_rc is not None:
        assert out.returncode == check_rc, out.stdout[-3000:] + out.stderr[-3000:]
    return out


def sweep(*args, check_rc=None):
    """The sweep's entry point (``eval_all_multi_res.py``'s ``main``) in this process."""
    from radseg.sweep import main
    done = _in_process(main, args)
    if check_rc is not None:
        assert done.returncode == check_rc, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def results_cli(*args):
    """``radseg results ARGS`` (the CLI's ``main``) in this process."""
    from radseg.cli import main
    return _in_process(main, ["results", *map(str, args)])


def tiny(work, data, *extra, datasets=DATASETS, resolutions=RESOLUTIONS):
    return ["--work-dir", work, "--data-root", data, "--models", "tiny-random", "--sam-refine", "off",
            "--num-workers", "0", "--datasets", *datasets, "--resolutions", *resolutions, *extra]


def run_dir(root, res, ds, model="tiny-random", refine=False):
    return Path(root) / model / ("refine" if refine else "norefine") / res / ds


def status(root):
    return json.loads((Path(root) / "sweep_status.json").read_text())


def states(root):
    return {(r["resolution"], r["dataset"]): r["state"] for r in status(root)["runs"]}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("data")
    for key in DATASETS:
        make_dataset(key, d, n=2)
    return d


@pytest.fixture(scope="module")
def done_sweep(tmp_path_factory, data_dir):
    """A completed 2 x 2 sweep (2 runs side by side: --gpus 2 --cpu)."""
    root = tmp_path_factory.mktemp("sweep") / "root"
    out = sweep_process(*tiny(root, data_dir, "--gpus", "2", "--cpu"), check_rc=0)
    return root, out


@pytest.fixture
def sweep_copy(done_sweep, tmp_path):
    root = tmp_path / "root"
    shutil.copytree(done_sweep[0], root)
    (root / ".sweep.lock").unlink(missing_ok=True)
    return root


def record(root, res, ds):
    return json.loads((run_dir(root, res, ds) / "result.json").read_text())


# -- a full sweep -------------------------------------------------------------------------------

def test_sweep_runs_every_cell_in_its_own_folder(done_sweep, data_dir):
    root, out = done_sweep
    st = status(root)
    assert st["counts"]["done"] == 4 and st["counts"]["failed"] == 0 and st["finished"] is True
    for res in RESOLUTIONS:
        for ds in DATASETS:
            d = run_dir(root, res, ds)
            rec = record(root, res, ds)
            assert rec["status"] == "complete" and rec["benchmark"] == ds and rec["resolution"] == res
            assert rec["model_version"] == "tiny-random" and rec["sam_refine"] is False
            assert rec["lang_model"] == "siglip2" and rec["scra_scaling"] == 10.0
            log = (d / "eval.log").read_text()
            assert "Iter(test)" in log and "mIoU" in log  # mmengine's progress goes to the run's log
            assert not (d / "failed.json").exists()
    # side by side: two slots (CPU processes here), each run in its own
    assert {r["gpu"] for r in st["runs"]} == {"cpu0", "cpu1"}
    # the data folder (one rule, resolved once) and each dataset's folder and image count
    assert f"data folder: {data_dir} (from --data-root)" in out.stdout
    assert f"data: {data_dir / 'VOC2012'} (2 images)" in out.stdout
    # progress lines
    assert "[1/4] low_res voc20 tiny-random refine=off" in out.stdout
    assert "4 done, 0 failed, 0 skipped" in out.stdout and "ETA" in out.stdout


def test_table_cells_equal_the_records(done_sweep):
    root, _ = done_sweep
    out = results_cli(root, "--format", "csv")
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert [r["row"] for r in rows] == ["tiny-random"]
    for res in RESOLUTIONS:
        vals = []
        for ds in DATASETS:
            want = record(root, res, ds)["metrics"]["mIoU"]
            assert float(rows[0][f"{res}/{ds}"]) == want
            vals.append(want)
        assert float(rows[0][f"{res}/avg"]) == pytest.approx(sum(vals) / 2, abs=0.006)
    md = results_cli(root, "--decimals", "2")
    assert md.returncode == 0, md.stderr
    lines = [ln for ln in md.stdout.splitlines() if ln.startswith("| tiny-random")]
    assert len(lines) == 1
    cells = [c.strip() for c in lines[0].strip("|").split("|")]
    want = []
    for res in RESOLUTIONS:
        vals = [record(root, res, ds)["metrics"]["mIoU"] for ds in DATASETS]  # voc20, ade20k (paper order)
        want += [f"{v:.2f}" for v in vals] + [f"{sum(vals) / 2:.2f}"]
    # random stand-in weights (†) on 3-image subsets of the benchmarks (‡): marked, with a legend
    assert cells == ["tiny-random †"] + [f"{w} ‡" for w in want]
    assert "† random stand-in weights (tiny-random)" in md.stdout and "voc20 low_res: 2 of 1449 images" in md.stdout
    header = md.stdout.splitlines()[0]
    assert "low_res VOC20" in header and "mid_res ADE20K" in header and "low_res Avg" in header


def test_failing_run_is_recorded_the_others_complete_and_a_rerun_runs_only_what_is_missing(
        sweep_copy, data_dir, tmp_path):
    root = sweep_copy
    kept = {(r, d): (run_dir(root, r, d) / "result.json").read_bytes()
            for r in RESOLUTIONS for d in DATASETS}
    (run_dir(root, "low_res", "voc20") / "result.json").unlink()
    (run_dir(root, "low_res", "ade20k") / "result.json").unlink()
    partial = tmp_path / "voc_only"  # ade20k's data folder removed
    shutil.copytree(data_dir, partial)
    shutil.rmtree(partial / "ADEChallengeData2016")
    out = sweep(*tiny(root, partial))
    assert out.returncode == 1, out.stdout + out.stderr
    st = states(root)
    assert st[("low_res", "voc20")] == "done" and st[("low_res", "ade20k")] == "failed"
    assert st[("mid_res", "voc20")] == "skipped" and st[("mid_res", "ade20k")] == "skipped"
    assert out.stdout.count(" done in ") == 1
    # the deleted record, made again by a new process, has the same metrics
    assert record(root, "low_res", "voc20")["metrics"] == json.loads(kept[("low_res", "voc20")])["metrics"]
    failed = json.loads((run_dir(root, "low_res", "ade20k") / "failed.json").read_text())
    assert failed["exit_code"] == 2 and "ade20k" in failed["error"] and failed["error"].startswith("error:")
    assert "FAILED (exit 2)" in out.stdout and "ade20k" in out.stdout.split("failed runs")[-1]
    entry = [r for r in status(root)["runs"] if r["dataset"] == "ade20k" and r["resolution"] == "low_res"][0]
    assert entry["error"] == failed["error"] and entry["exit_code"] == 2
    for key in [("mid_res", "voc20"), ("mid_res", "ade20k")]:  # the skipped ones are untouched: no record lost
        assert (run_dir(root, *key) / "result.json").read_bytes() == kept[key]
    # the table still renders the complete cells and names the failed run
    table = results_cli(root)
    assert table.returncode == 0 and "failed" in table.stderr
    # data back: only the failed run runs again, failed.json goes away
    voc_low = (run_dir(root, "low_res", "voc20") / "result.json").read_bytes()
    out = sweep(*tiny(root, data_dir), check_rc=0)
    assert states(root) == {("low_res", "voc20"): "skipped", ("low_res", "ade20k"): "done",
                            ("mid_res", "voc20"): "skipped", ("mid_res", "ade20k"): "skipped"}
    assert out.stdout.count(" done in ") == 1
    assert not (run_dir(root, "low_res", "ade20k") / "failed.json").exists()
    assert record(root, "low_res", "ade20k")["metrics"] == json.loads(kept[("low_res", "ade20k")])["metrics"]
    assert (run_dir(root, "low_res", "voc20") / "result.json").read_bytes() == voc_low
    for key in [("mid_res", "voc20"), ("mid_res", "ade20k")]:
        assert (run_dir(root, *key) / "result.json").read_bytes() == kept[key]


def _pid_alive(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            return "\nState:\tZ" not in f.read()
    except FileNotFoundError:
        return False


def _start_and_wait_running(args, root, timeout=60):
    proc = subprocess.Popen([sys.executable, str(SWEEP), *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env(), cwd=ROOT)
    t0 = time.time()
    while time.time() - t0 < timeout:
        try:
            running = [r for r in status(root)["runs"] if r["state"] == "running" and r["pid"]]
        except (OSError, ValueError, KeyError):
            running = []
        if running:
            return proc, running[0]
        assert proc.poll() is None, proc.stdout.read()
        time.sleep(0.1)
    proc.kill()
    raise AssertionError("the sweep never started a run")


def test_interrupted_and_killed_sweeps_resume(sweep_copy, data_dir):
    root = sweep_copy
    target = run_dir(root, "low_res", "voc20")
    (target / "result.json").unlink()
    # a record cut off mid-write by a crash (not through atomic_write_text) and a temp file
    # of an interrupted atomic write: neither may count as complete
    trunc = run_dir(root, "low_res", "ade20k") / "result.json"
    trunc.write_text(trunc.read_text()[:200])
    (target / ".result.json.abc123.tmp").write_text('{"schema": "radseg.result/1", "status": "complete"')
    args = tiny(root, data_dir, datasets=["voc20", "ade20k"], resolutions=["low_res"])

    # SIGTERM (scheduler pre-emption, kill): the run is stopped, marked interrupted, exit 130
    proc, run = _start_and_wait_running(args, root)
    os.kill(proc.pid, signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, out
    assert "Run the same command again to resume" in out
    assert not _pid_alive(run["pid"])
    assert "interrupted" in {r["state"] for r in status(root)["runs"]}

    # SIGKILL of the sweep alone: its run dies with it (no orphan racing the next sweep)
    proc, run = _start_and_wait_running(args, root)
    proc.kill()
    proc.communicate(timeout=30)
    t0 = time.time()
    while _pid_alive(run["pid"]) and time.time() - t0 < 15:
        time.sleep(0.1)
    assert not _pid_alive(run["pid"])
    assert not (target / "result.json").exists()

    out = sweep(*args, check_rc=0)
    assert states(root) == {("low_res", "voc20"): "done", ("low_res", "ade20k"): "done"}
    assert not list(target.glob(".*.tmp"))
    for ds in ("voc20", "ade20k"):
        assert record(root, "low_res", ds)["status"] == "complete"


# -- planning, flags and mistakes --------------------------------------------------------------------

def test_dry_run_prints_the_plan_and_creates_nothing(tmp_path, data_dir):
    root = tmp_path / "never"
    out = sweep("--work-dir", root, "--dry-run", "--data-root", data_dir, "--sam_ckpt", "my_sam.pth",
                "--cfg-options", "model.slide_stride=112", check_rc=0)
    assert not root.exists()
    lines = out.stdout.splitlines()
    assert lines[0].startswith("plan: 30 runs")  # the reference grid: 5 x 3 x refine off/on
    cmds = [ln.split("cmd: ", 1)[1] for ln in lines if "cmd: " in ln]
    assert len(cmds) == 30
    first = cmds[0]
    assert "eval.py --config" in first and "configs_mmseg/low_res/voc20.py" in first
    # --lang_model is passed only when given (eval.py's default: the version's own adaptor)
    assert "--model_version c-radio_v3-b --scra_scaling 10 --scga_scaling 10" in first
    assert "--lang_model" not in out.stdout and "--allow-unpinned" not in out.stdout
    assert "--sam_refine False" in first and "--sam_ckpt" not in first
    assert first.endswith("--cfg-options model.slide_stride=112")
    assert "--sam_refine True --sam_ckpt my_sam.pth" in cmds[15]
    assert f"dir: {root}/c-radio_v3-b/refine/high_res/ade20k" in out.stdout
    datasets = [ln.split("] ")[1].split()[1] for ln in lines if ln.startswith("[")]
    assert datasets[:5] == ["voc20", "context59", "coco_stuff164k", "cityscapes", "ade20k"]


def test_dry_run_passes_lang_model_and_allow_unpinned_when_given(tmp_path, data_dir):
    out = sweep("--work-dir", tmp_path / "w", "--dry-run", "--data-root", data_dir, "--datasets", "voc20",
                "--resolutions", "low_res", "--sam-refine", "off", "--lang_model", "siglip",
                "--scga_scaling", "5", "--allow-unpinned", check_rc=0)
    [cmd] = [ln.split("cmd: ", 1)[1] for ln in out.stdout.splitlines() if "cmd: " in ln]
    assert "--model_version c-radio_v3-b --lang_model siglip --scra_scaling 10 --scga_scaling 5" in cmd
    assert cmd.endswith("--allow-unpinned")


def test_dry_run_parallel_commands(tmp_path):
    out = sweep("--work-dir", tmp_path / "w", "--dry-run", "--datasets", "voc21", "--resolutions", "high",
                "--sam-refine", "on", "--gpus", "4", "--parallel-mode", "torchrun", check_rc=0)
    assert "plan: 1 runs" in out.stdout
    assert "-m torch.distributed.run --standalone --nproc_per_node 4" in out.stdout
    assert "--launcher pytorch" in out.stdout and "high_res/voc21.py" in out.stdout
    out = sweep("--work-dir", tmp_path / "w", "--dry-run", "--datasets", "voc20", "--resolutions", "low_res",
                "--gpus", "2", "--parallel-mode", "slurm", "--srun-args", "--nodes 2", check_rc=0)
    assert "srun --ntasks 2 --kill-on-bad-exit=1 --nodes 2" in out.stdout and "--launcher slurm" in out.stdout


@pytest.mark.parametrize("flag,value,expect", [
    ("--datasets", "voc2O", "unknown dataset 'voc2O'. Valid: voc20, context59, coco_stuff164k, cityscapes, ade20k"),
    ("--resolutions", "ultra_res", "unknown resolution 'ultra_res'. Valid: low_res, mid_res, high_res"),
    ("--models", "radio-typo", "unknown model 'radio-typo'. Known:"),
    ("--sam-refine", "maybe", "expected both, on or off"),
])
def test_bad_names_are_clear_errors(flag, value, expect, sweep_copy, capsys):
    from radseg.sweep import main as sweep_main
    before = {p: p.read_bytes() for p in sweep_copy.rglob("result.json")}
    try:
        rc = sweep_main(["--work-dir", str(sweep_copy), flag, value])  # in-process: the same entry point
    except SystemExit as e:
        rc = e.code
    err = capsys.readouterr().err
    assert rc == 2
    assert expect in err and "Traceback" not in err
    assert {p: p.read_bytes() for p in sweep_copy.rglob("result.json")} == before


def test_work_dir_that_is_a_file(tmp_path):
    f = tmp_path / "notes.txt"
    f.write_text("keep me")
    out = sweep("--work-dir", f, "--datasets", "voc20", "--resolutions", "low_res", "--sam-refine", "off")
    assert out.returncode == 2 and "is a file, not a folder" in out.stderr and "Traceback" not in out.stderr
    assert f.read_text() == "keep me"


def test_a_second_sweep_on_the_same_work_dir_is_refused(tmp_path, data_dir):
    import fcntl
    root = tmp_path / "root"
    root.mkdir()
    fd = os.open(root / ".sweep.lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    os.write(fd, b"4242")
    try:
        out = sweep(*tiny(root, data_dir))
    finally:
        os.close(fd)
    assert out.returncode == 2 and "another sweep (pid 4242)" in out.stderr


def test_settings_mismatch_reruns(sweep_copy):
    """A record made with other settings does not count as done for this run."""
    from radseg.sweep import build_parser, completed_record, plan_sweep
    args = build_parser().parse_args(["--work-dir", str(sweep_copy), "--models", "tiny-random",
                                      "--datasets", "voc20", "--resolutions", "low_res",
                                      "--sam-refine", "off", "--scra_scaling", "5"])
    [run] = plan_sweep(args)
    ok, why = completed_record(run, args)
    assert not ok and "scra_scaling" in why
    args.scra_scaling = 10.0
    assert completed_record(run, args) == (True, "complete record")


def test_last_error_line():
    from radseg.sweep import last_error_line
    assert last_error_line("x\nerror: no data\nmore\n") == "error: no data"
    tb = "Traceback (most recent call last):\n  File x\nRuntimeError: CUDA out of memory. Tried\n"
    assert last_error_line(tb) == "RuntimeError: CUDA out of memory. Tried"
    tr = ("[rank1]: torch.OutOfMemoryError: CUDA out of memory\n"
          "torch.distributed.elastic.multiprocessing.errors.ChildFailedError: \n====\n")
    assert last_error_line(tr) == "[rank1]: torch.OutOfMemoryError: CUDA out of memory"
    assert last_error_line("") is None


def test_refinement_runs_go_to_their_own_folder_and_row(sweep_copy, data_dir):
    pytest.importorskip("radseg.core.sam_refine")
    root = sweep_copy
    out = sweep("--work-dir", root, "--data-root", data_dir, "--models", "tiny-random", "--num-workers", "0",
                "--datasets", "voc20", "--resolutions", "low_res", "--sam-refine", "both",
                "--sam_ckpt", "tiny-random-sam", check_rc=0)
    assert "1 to run, 1 already complete" in out.stdout
    rec = json.loads((run_dir(root, "low_res", "voc20", refine=True) / "result.json").read_text())
    assert rec["sam_refine"] is True and rec["settings"]["model"]["sam_ckpt"] == "tiny-random-sam"
    table = results_cli(root, "--resolution", "low_res", "--dataset", "voc20")
    assert table.returncode == 0
    assert [r[0] for r in (ln.strip("|").split("|") for ln in table.stdout.splitlines()[2:4])] == \
        [" tiny-random † ", " tiny-random + SAM † "]  # random stand-in weights are marked


def test_missing_sam_checkpoint_is_said_once_up_front(tmp_path, monkeypatch):
    import io

    from radseg.sweep import run_sweep
    monkeypatch.setenv("RADSEG_SAM_CKPT", "")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    monkeypatch.chdir(tmp_path)
    buf = io.StringIO()
    rc = run_sweep(["--datasets", "voc20", "--resolutions", "low_res", "--sam-refine", "both", "--dry-run",
                    "--work-dir", str(tmp_path / "sw")], out=buf)
    assert rc == 0
    text = buf.getvalue()
    assert text.count("refinement run(s) will fail") == 1 and "sam_vit_h_4b8939.pth" in text
