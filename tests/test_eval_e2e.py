"""eval.py as a user runs it: tiny datasets in the real layouts, seeded stand-ins.

Most runs go through eval.py's own entry point in this process (:func:`run_eval`: the same
``main(argv)``, its output and exit status captured); the cases that depend on a fresh process
(the real exit status and no traceback, an offline first run, a plugin imported from the current
folder) run ``python eval.py`` as a subprocess (:func:`run_eval_subprocess`).
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from datagen import make_dataset

ROOT = Path(__file__).resolve().parents[1]
EVAL = ROOT / "eval.py"

PAPER = {  # benchmark -> (config, number of metric classes, a class name of the metric)
    "voc20": ("low_res/voc20.py", 20, "diningtable"),
    "context59": ("low_res/context59.py", 59, "tvmonitor"),
    "coco_stuff164k": ("low_res/coco_stuff164k.py", 171, "traffic light"),
    "cityscapes": ("low_res/cityscapes.py", 19, "traffic sign"),
    "ade20k": ("low_res/ade20k.py", 150, "wall"),
}


def run_eval_subprocess(*args, env=None, cwd=None):
    e = dict(os.environ, PYTHONUNBUFFERED="1", **(env or {}))
    return subprocess.run([sys.executable, str(EVAL), *map(str, args)], capture_output=True, text=True,
                          env=e, cwd=cwd or ROOT, timeout=600)


def run_eval(*args, env=None, cwd=None):
    """eval.py's ``main`` in this process, with ``env`` set and ``cwd`` entered for the call."""
    from radseg.cli import run_eval_main
    from test_prepare_then_eval import _in_process
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    os.environ.update(env or {})
    os.chdir(cwd or ROOT)
    try:
        return _in_process(run_eval_main, args)
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)


def tiny_args(config, data, work, *extra):
    return ["--config", ROOT / "configs_mmseg" / config, "--model_version", "tiny-random",
            "--data-root", data, "--work-dir", work, "--num-workers", "0", *extra]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("data")
    for key in PAPER:
        make_dataset(key, d, n=3)
    return d


@pytest.mark.parametrize("bench", sorted(PAPER))
def test_eval_writes_metrics_for_each_benchmark(bench, data_dir, tmp_path):
    config, n_cls, a_class = PAPER[bench]
    out = run_eval(*tiny_args(config, data_dir, tmp_path / "w"))
    assert out.returncode == 0, out.stderr[-3000:]
    rec = json.loads((tmp_path / "w" / "result.json").read_text())
    assert rec["status"] == "complete" and rec["benchmark"] == bench and rec["resolution"] == "low_res"
    assert 0.0 <= rec["metrics"]["mIoU"] <= 100.0 and 0.0 <= rec["metrics"]["aAcc"] <= 100.0
    assert len(rec["per_class"]) == n_cls and a_class in rec["per_class"]
    assert rec["num_images"] == 3 and rec["model_version"] == "tiny-random"
    assert rec["versions"]["mmseg"] == "1.2.2" and rec["settings"]["model"]["slide_crop"] == 224
    assert rec["model_revision"] == "seed0" and rec["sam_refine"] is False
    from radseg.results.honesty import official_count  # honest labels (issue 15)
    assert rec["weights"] == "random stand-in" and rec["random_weights"] == ["tiny-random"]
    assert rec["subset"] == f"3 of {official_count(bench)} images" == rec["subset"]
    assert f"3 of {official_count(bench)} images" in out.stdout and "random weights" in out.stdout
    kept = list((tmp_path / "w" / "results").glob("*.txt"))
    assert kept and "mIoU" in kept[0].read_text()


def test_two_runs_identical_and_earlier_results_kept(data_dir, tmp_path):
    w = tmp_path / "w"
    a = run_eval(*tiny_args("mid_res/voc20.py", data_dir, w))
    assert a.returncode == 0, a.stderr[-3000:]
    first = json.loads((w / "result.json").read_text())
    import time
    time.sleep(1.1)  # distinct record stamp
    b = run_eval(*tiny_args("mid_res/voc20.py", data_dir, w))
    assert b.returncode == 0, b.stderr[-3000:]
    second = json.loads((w / "result.json").read_text())
    assert first["metrics"] == second["metrics"] and first["per_class"] == second["per_class"]
    # the segmentor's RADSegConfig and its hash are in the record
    from radseg.config import RADSegConfig
    from radseg.results.provenance import config_hash
    cfg = RADSegConfig.from_dict(first["radseg_config"])
    assert cfg.model_version == "tiny-random" and cfg.slide_crop == 336 and cfg.sam_refine is False
    # the scale the pipeline resized to (VOC20 mid_res: 2048 x 336), not RADSegConfig's default 2048 x 448
    assert tuple(cfg.scale) == (2048, 336), cfg.scale
    assert first["config_hash"] == second["config_hash"] == config_hash(first["radseg_config"])
    assert len(list((w / "results").glob("*.json"))) == 2
    assert len((w / "results.jsonl").read_text().splitlines()) == 2


def test_missing_config(tmp_path):
    # in-process: eval.py's real exit status for a user mistake is test_user_mistakes_...'s subprocess case
    out = run_eval("--config", "configs_mmseg/mid_res/nope.py")
    assert out.returncode == 2 and "config 'configs_mmseg/mid_res/nope.py' does not exist" in out.stderr
    assert "Traceback" not in out.stderr


def test_help_and_a_missing_config_answer_before_mmseg_is_imported():
    """--help and a mistyped --config need no mmseg (importing it takes about 6 s of the 8)."""
    code = ("import sys\n"
            "from radseg.cli import run_eval_main\n"
            "heavy = lambda: [m for m in ('mmseg', 'mmengine', 'mmcv') if m in sys.modules]\n"
            "rc = run_eval_main(['--config', 'configs_mmseg/mid_res/nope.py'])\n"
            "print('missing', rc, heavy())\n"
            "try:\n"
            "    run_eval_main(['--help'])\n"
            "except SystemExit as e:\n"
            "    print('help', e.code, heavy())\n"
            "rc = run_eval_main(['--config', 'configs_mmseg/low_res/voc20.py', '--model_version', 'nope-model',\n"
            "                    '--data-root', 'nowhere'])\n"
            "print('past the path check', rc, 'mmengine' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    lines = out.stdout.splitlines()
    assert "missing 2 []" in lines and "help 0 []" in lines, out.stdout + out.stderr[-2000:]
    assert "past the path check 2 True" in lines  # a real config: the rest of the checks need mmengine
    assert "usage: eval.py" in out.stdout or "usage: -c" in out.stdout
    assert "does not exist" in out.stderr and "Traceback" not in out.stderr


def test_empty_data_root(tmp_path):
    out = run_eval(*tiny_args("low_res/voc20.py", tmp_path, tmp_path / "w"))
    assert out.returncode == 2 and "no voc20 folder in data folder" in out.stderr and "(from --data-root)" in out.stderr
    assert "Traceback" not in out.stderr


def test_wrong_layout(tmp_path):
    root = tmp_path / "VOC2012"
    (root / "images").mkdir(parents=True)
    (root / "images" / "a.jpg").write_bytes(b"x")
    out = run_eval(*tiny_args("low_res/voc20.py", tmp_path, tmp_path / "w"))
    assert out.returncode == 2 and "error:" in out.stderr and "Traceback" not in out.stderr
    assert "JPEGImages" in out.stderr or "val.txt" in out.stderr


def test_class_file_with_wrong_count(data_dir, tmp_path):
    bad = tmp_path / "classes.txt"
    bad.write_text("cat\ndog\n")
    out = run_eval(*tiny_args("low_res/voc20.py", data_dir, tmp_path / "w", "--cfg-options",
                              f"model.class_names={bad}"))
    assert out.returncode == 2 and "has 2 classes but the dataset voc20 has 20" in out.stderr


def test_unknown_model_version(data_dir, tmp_path):
    args = tiny_args("low_res/voc20.py", data_dir, tmp_path / "w")
    args[args.index("tiny-random")] = "radio_v9-x"
    out = run_eval(*args)
    assert out.returncode == 2 and "unknown --model_version 'radio_v9-x'" in out.stderr


def test_weights_unreachable_offline(data_dir, tmp_path):
    args = tiny_args("low_res/voc20.py", data_dir, tmp_path / "w")
    args[args.index("tiny-random")] = "c-radio_v3-b"
    # a proxy on a closed loopback port: the hub download fails at once, network or not
    env = {"TORCH_HOME": str(tmp_path / "th"), "https_proxy": "http://127.0.0.1:9",
           "HTTPS_PROXY": "http://127.0.0.1:9", "http_proxy": "http://127.0.0.1:9",
           "RADSEG_RADIO_REPO": ""}
    out = run_eval_subprocess(*args, env=env)
    assert out.returncode == 2, out.stderr[-2000:]
    assert "could not load RADIO weights: tried torch.hub 'NVlabs/RADIO:" in out.stderr
    assert "Traceback" not in out.stderr


def test_alias_notice_and_sam_refine_flag_forms():
    from radseg.mmseg.evaluate import build_parser
    p = build_parser()
    assert p.parse_args(["--config", "x", "--sam_refine"]).sam_refine is True
    assert p.parse_args(["--config", "x", "--sam_refine", "True"]).sam_refine is True
    assert p.parse_args(["--config", "x", "--sam_refine", "False"]).sam_refine is False
    assert p.parse_args(["--config", "x"]).sam_refine is None


def test_fast_flag_reaches_the_model_config():
    from mmengine.config import Config

    from radseg.mmseg.evaluate import apply_cli, build_parser
    p = build_parser()
    assert p.parse_args(["--config", "x"]).fast is None  # not given: the config file's value
    cfg = Config.fromfile(str(ROOT / "configs_mmseg" / "low_res" / "voc20.py"))
    apply_cli(cfg, p.parse_args(["--config", "x", "--num-workers", "0"]))
    assert not cfg.model.get("fast", False)
    apply_cli(cfg, p.parse_args(["--config", "x", "--fast", "--num-workers", "0"]))
    assert cfg.model.fast is True


def test_corrupt_image_is_named_and_earlier_results_survive(tmp_path):
    data = tmp_path / "data"
    root = make_dataset("ade20k", data, n=3)
    w = tmp_path / "w"
    ok = run_eval(*tiny_args("low_res/ade20k.py", data, w))
    assert ok.returncode == 0, ok.stderr[-2000:]
    before = (w / "result.json").read_text()
    bad = sorted((root / "images" / "validation").glob("*.jpg"))[1]
    bad.write_bytes(b"not a jpeg at all")
    out = run_eval(*tiny_args("low_res/ade20k.py", data, w))
    assert out.returncode == 2, out.stderr[-2000:]
    assert "1 unreadable image" in out.stderr and "images/validation/" + bad.name in out.stderr  # before the run
    assert (w / "result.json").read_text() == before
    assert len(list((w / "results").glob("*.json"))) == 1


def test_sam_refine_end_to_end_is_deterministic_and_recorded(tmp_path):
    data = tmp_path / "data"
    make_dataset("voc20", data, n=2, size=(96, 128))
    # keep (nearly) every SAM mask and every region so the merge path runs with the random tiny SAM
    # (sam_iou_thresh must lie in [0, 1]: RADSegConfig.validate)
    extra = ["--sam_refine", "True", "--sam_ckpt", "tiny-random-sam", "--cfg-options",
             "model.sam_iou_thresh=0.0", "model.minimal_area=4", "model.coarse_thresh=0.0"]
    recs = []
    for i in range(2):
        out = run_eval(*tiny_args("low_res/voc20.py", data, tmp_path / f"w{i}", *extra))
        assert out.returncode == 0, out.stderr[-3000:]
        recs.append(json.loads((tmp_path / f"w{i}" / "result.json").read_text()))
    assert recs[0]["sam_refine"] is True and recs[0]["settings"]["model"]["sam_ckpt"] == "tiny-random-sam"
    assert recs[0]["metrics"] == recs[1]["metrics"] and recs[0]["per_class"] == recs[1]["per_class"]
    plain = run_eval(*tiny_args("low_res/voc20.py", data, tmp_path / "plain"))
    assert plain.returncode == 0
    base = json.loads((tmp_path / "plain" / "result.json").read_text())
    assert base["sam_refine"] is False and base["per_class"] != recs[0]["per_class"]
    assert recs[0]["radseg_config"]["sam_refine"] is True and recs[0]["radseg_config"]["sam_iou_thresh"] == 0.0
    assert recs[0]["config_hash"] == recs[1]["config_hash"] != base["config_hash"]


def test_missing_sam_checkpoint_fails_before_loading_models(data_dir, tmp_path):
    out = run_eval(*tiny_args("low_res/voc20.py", data_dir, tmp_path / "w", "--sam_refine"),
                   env={"RADSEG_SAM_CKPT": "", "TORCH_HOME": str(tmp_path / "th")}, cwd=tmp_path)
    assert out.returncode == 2 and "SAM checkpoint 'sam_vit_h_4b8939.pth' not found" in out.stderr
    assert "dl.fbaipublicfiles.com" in out.stderr and "Traceback" not in out.stderr


def test_user_mistakes_before_any_model_is_loaded(data_dir, tmp_path, monkeypatch, capsys):
    """One case through eval.py as a subprocess (the real exit status), the rest in-process
    through the same entry point (tests/test_bad_inputs_eval.py has the full catalogue)."""
    from radseg.cli import run_eval_main
    wfile = tmp_path / "afile"
    wfile.write_text("x")
    cases = [
        (tiny_args("low_res/voc20.py", data_dir, wfile), "is a file"),
        (tiny_args("low_res/voc20.py", data_dir, tmp_path / "w", "--launcher", "pytorch"),
         "--launcher pytorch needs the variables"),
        (tiny_args("low_res/voc20.py", data_dir, tmp_path / "w", "--cfg-options", "model.slide_strid=112"),
         "unknown model setting(s) slide_strid"),
        (tiny_args("low_res/voc20.py", data_dir, tmp_path / "w", "--cfg-options", "model.slide_stride=0"),
         "slide_stride must be between 1 and slide_crop=224 (got 0)"),
        (tiny_args("low_res/voc20.py", data_dir, tmp_path / "w", "--radio_source", "local",
                   "--model-version", "c-radio_v3-b"), "--radio_source local needs a clone"),
        (["--config", "configs_mmseg/low_res"], "is a folder"),
    ]
    out = run_eval_subprocess(*cases[0][0], env={"RADSEG_RADIO_REPO": ""})
    assert out.returncode == 2 and cases[0][1] in out.stderr, out.stderr[-1500:]
    assert "Traceback" not in out.stderr
    monkeypatch.setenv("RADSEG_RADIO_REPO", "")
    monkeypatch.chdir(ROOT)
    for args, msg in cases[1:]:
        capsys.readouterr()
        assert run_eval_main([str(a) for a in args]) == 2, args
        err = capsys.readouterr().err
        assert msg in err and "Traceback" not in err, (args, err[-1500:])


def test_run_from_another_folder_and_plugin_from_cwd(data_dir, tmp_path):
    (tmp_path / "my_models.py").write_text(
        "from radseg.models import register_model_source\n"
        "from radseg.models.standins import build_tiny_radio\n"
        "register_model_source('my-radio', lambda request: build_tiny_radio(list(request.adaptor_names), seed=3), "
        "overwrite=True)\n")
    out = run_eval_subprocess("--config", "configs_mmseg/low_res/voc20.py", "--model_version", "my-radio",
                              "--plugin", "my_models", "--data-root", data_dir, "--work-dir", tmp_path / "w",
                              "--num-workers", "0", cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads((tmp_path / "w" / "result.json").read_text())["model_version"] == "my-radio"
