"""Issue 8 section 2: every bad input a new user may give eval.py, the sweep and `radseg data`.

Each case runs through the real entry point, in-process (``run_eval_main``, ``sweep.main``,
``radseg.cli.main``), and must end with a non-zero exit, exactly one ``error: ...`` line on
stderr naming the problem, no traceback, and no result record (``result.json`` /
``results.jsonl``) in the work dir.
"""
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from datagen import make_dataset

ROOT = Path(__file__).resolve().parents[1]
CFG = {"voc20": "configs_mmseg/low_res/voc20.py", "ade20k": "configs_mmseg/low_res/ade20k.py"}
VOC_LBL = "VOC2012/SegmentationClass"
VOC_IMG = "VOC2012/JPEGImages"


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    d = tmp_path_factory.mktemp("pristine")
    for key in ("voc20", "ade20k"):
        make_dataset(key, d, n=3)
    return d


@pytest.fixture
def env(tmp_path, pristine, monkeypatch):
    """A private copy of the tiny data, cwd in an empty folder, no data / SAM variables set."""
    data = tmp_path / "data_copy"
    shutil.copytree(pristine, data)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    for var in ("RADSEG_DATA_DIR", "RADSEG_SAM_CKPT", "RADSEG_RADIO_REPO"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    return tmp_path, data


def eval_args(data, work, *extra, bench="voc20"):
    return ["--config", str(ROOT / CFG[bench]), "--model_version", "tiny-random", "--data-root", str(data),
            "--work-dir", str(work), "--num-workers", "0", *map(str, extra)]


def _label(data, name="2008_000001"):
    return data / VOC_LBL / f"{name}.png"


def _write_label(path, arr, mode=None):
    im = Image.fromarray(np.asarray(arr, np.uint8))
    if mode:
        im = im.convert(mode)
    im.save(path)


def _label_shape(data, name="2008_000001"):
    with Image.open(_label(data, name)) as im:
        return im.size[1], im.size[0]


# -- eval.py -----------------------------------------------------------------------------------------
# each builder: (tmp, data, monkeypatch) -> (argv, text expected in the error line)

def _no_config(t, d, mp):
    return ["--config", "configs_mmseg/mid_res/nope.py"], "does not exist"


def _config_folder(t, d, mp):
    return ["--config", str(ROOT / "configs_mmseg/low_res")], "is a folder"


def _no_config_flag(t, d, mp):
    return ["--model_version", "tiny-random"], "one of the arguments --config --dataset-dir is required"


def _unknown_flag(t, d, mp):
    return eval_args(d, t / "w", "--data-roots", "x"), "unrecognized arguments: --data-roots"


def _workers_not_int(t, d, mp):
    return (eval_args(d, t / "w")[:-2] + ["--num-workers", "four"],
            "argument --num-workers/--num_workers: invalid int value")


def _workers_negative(t, d, mp):
    return eval_args(d, t / "w")[:-2] + ["--num-workers", "-1"], "--num-workers must be >= 0"


def _refine_word(t, d, mp):
    return eval_args(d, t / "w", "--sam_refine", "maybe"), "expected True or False, got 'maybe'"


def _scaling_zero(t, d, mp):
    return eval_args(d, t / "w", "--scra_scaling", "0"), "scra_scaling must be positive"


def _data_root_missing(t, d, mp):
    return eval_args(t / "nowhere", t / "w"), "nowhere (from --data-root) does not exist"


def _data_root_file(t, d, mp):
    (t / "afile").write_text("x")
    return eval_args(t / "afile", t / "w"), "(from --data-root) is a file, not a folder"


def _data_root_empty(t, d, mp):
    return eval_args("", t / "w"), "--data-root is empty"


def _env_data_dir_missing(t, d, mp):
    mp.setenv("RADSEG_DATA_DIR", str(t / "gone"))
    args = eval_args(d, t / "w")
    del args[4:6]  # no --data-root: $RADSEG_DATA_DIR is next in the rule
    return args, "gone (from $RADSEG_DATA_DIR) does not exist: fix or unset $RADSEG_DATA_DIR"


def _default_data_missing(t, d, mp):
    args = eval_args(d, t / "w")
    del args[4:6]
    return args, "(from the default ./data) does not exist"


def _no_benchmark_folder(t, d, mp):
    (t / "empty").mkdir()
    return eval_args(t / "empty", t / "w"), "no voc20 folder in data folder"


def _mess_entry_not_prepared(t, d, mp):  # a MESS entry: the fix is MESS's own prepare script
    args = eval_args(d, t / "w")
    args[1] = str(ROOT / "configs_mmseg/mess/cwfid.py")
    return args, "python -m mess.prepare_datasets.prepare_cwfid"


def _empty_split(t, d, mp):
    (d / "VOC2012/ImageSets/Segmentation/val.txt").write_text("")
    return eval_args(d, t / "w"), "val.txt is empty"


def _no_images(t, d, mp):
    for p in (d / "ADEChallengeData2016/images/validation").iterdir():
        p.unlink()
    return eval_args(d, t / "w", bench="ade20k"), "no *.jpg images under"


def _missing_label(t, d, mp):
    _label(d).unlink()
    return eval_args(d, t / "w"), "1 label file missing for images listed in"


def _rgb_label(t, d, mp):
    _write_label(_label(d), np.zeros(_label_shape(d)), mode="RGB")
    return eval_args(d, t / "w"), "not single-channel 8-bit"


def _wrong_size_label(t, d, mp):
    h, w = _label_shape(d)
    _write_label(_label(d), np.zeros((h + 3, w)))
    return eval_args(d, t / "w"), "SegmentationClass/2008_000001.png (label"


def _label_value_out_of_range(t, d, mp):
    arr = np.zeros(_label_shape(d), np.uint8)
    arr[0, 0] = 77
    _write_label(_label(d), arr)
    return eval_args(d, t / "w"), "values outside 0..20 and 255"


def _image_not_an_image(t, d, mp):
    (d / VOC_IMG / "2008_000002.jpg").write_bytes(b"not a jpeg at all")
    return eval_args(d, t / "w"), "unreadable image (corrupt or not an image"


def _image_truncated(t, d, mp):  # the header reads, the decoding fails: found by the decoded sample
    p = d / VOC_IMG / "2008_000000.jpg"
    p.write_bytes(p.read_bytes()[:-200])
    return eval_args(d, t / "w"), "JPEGImages/2008_000000.jpg"


def _slide_crop_negative(t, d, mp):
    return eval_args(d, t / "w", "--cfg-options", "model.slide_crop=-1"), "slide_crop must be >= 0"


def _slide_stride_too_big(t, d, mp):
    return eval_args(d, t / "w", "--cfg-options", "model.slide_stride=448"), "slide_stride must be between 1"


def _denoise_thresh_range(t, d, mp):
    return (eval_args(d, t / "w", "--cfg-options", "model.prompt_denoising_thresh=1.5"),
            "prompt_denoising_thresh must be between 0 and 1")


def _coarse_thresh_text(t, d, mp):
    return eval_args(d, t / "w", "--cfg-options", "model.coarse_thresh=high"), "coarse_thresh must be a finite number"


def _cfg_option_no_equals(t, d, mp):
    return eval_args(d, t / "w", "--cfg-options", "model.slide_crop"), "is not KEY=VALUE"


# issue 17: a --cfg-options key nothing reads is an error naming the right spelling, never a no-op
def _cfg_option_setting_at_top_level(t, d, mp):
    return (eval_args(d, t / "w", "--cfg-options", "slide_stride=224"),
            "'slide_stride' is a RADSeg model setting, not a top-level key: spell it model.slide_stride=224")


def _cfg_option_unknown_top_level(t, d, mp):
    return (eval_args(d, t / "w", "--cfg-options", "tes_dataloader.batch_size=2"),
            "unknown top-level key 'tes_dataloader'")


def _cfg_option_config_variable(t, d, mp):
    return (eval_args(d, t / "w", "--cfg-options", "img_scale=(1024,224)"),
            "'img_scale' is a variable of the config file, used only while the file is read")


def _cfg_option_own_flag(t, d, mp):
    return eval_args(d, t / "w", "--cfg-options", "work_dir=/tmp/x"), "eval.py sets 'work_dir' itself; use --work-dir"


def _cfg_option_training_key(t, d, mp):
    return eval_args(d, t / "w", "--cfg-options", "val_cfg.type=ValLoop"), "reads 'val_cfg' only to train or validate"


def _cfg_option_model_scale_unused(t, d, mp):
    return (eval_args(d, t / "w", "--cfg-options", "model.scale=(1024,224)"),
            "model.scale is not used by eval.py; the test pipeline's Resize sets the image size")


def _not_a_config(t, d, mp):
    args = eval_args(d, t / "w")
    args[1] = str(ROOT / "eval.py")
    return args, "is not an evaluation config"


def _batch_size_zero(t, d, mp):
    return (eval_args(d, t / "w", "--cfg-options", "test_dataloader.batch_size=0"),
            "test_dataloader.batch_size must be a whole number >= 1")


def _setting_not_bool(t, d, mp):
    return eval_args(d, t / "w", "--cfg-options", "model.use_scra=maybe"), "use_scra must be True or False"


def _unknown_model_key(t, d, mp):
    return eval_args(d, t / "w", "--cfg-options", "model.slide_strid=112"), "unknown model setting(s) slide_strid"


def _unknown_model(t, d, mp):
    args = eval_args(d, t / "w")
    args[args.index("tiny-random")] = "radio_v9-x"
    return args, "unknown --model_version 'radio_v9-x'"


def _class_file_count(t, d, mp):
    (t / "classes.txt").write_text("cat\ndog\n")
    return (eval_args(d, t / "w", "--cfg-options", f"model.class_names={t / 'classes.txt'}"),
            "has 2 classes but the dataset voc20 has 20")


def _sam_ckpt_missing(t, d, mp):
    return eval_args(d, t / "w", "--sam_refine", "--sam_ckpt", t / "x" / "sam.pth"), "does not exist"


def _sam_ckpt_wrong_hash(t, d, mp):
    (t / "sam_vit_h_4b8939.pth").write_bytes(b"\x80\x02 half a download")
    return (eval_args(d, t / "w", "--sam_refine", "--sam_ckpt", t / "sam_vit_h_4b8939.pth"),
            "sam_vit_h_4b8939.pth' is corrupt")


def _sam_ckpt_not_a_checkpoint(t, d, mp):
    (t / "my_sam.pth").write_text("<html>Access denied</html>")
    # refused by its content or by its name (not the official file, no hash in it): named either way
    return eval_args(d, t / "w", "--sam_refine", "--sam_ckpt", t / "my_sam.pth"), f"SAM checkpoint '{t / 'my_sam.pth'}'"


def _work_dir_file(t, d, mp):
    (t / "afile").write_text("x")
    return eval_args(d, t / "afile"), "--work-dir"


def _predictions_dir_file(t, d, mp):
    (t / "afile").write_text("x")
    return eval_args(d, t / "w", "--save-predictions", t / "afile"), "--save-predictions"


def _probs_without_predictions(t, d, mp):
    return eval_args(d, t / "w", "--save-probs"), "--save-probs needs --save-predictions DIR"


def _label_ignore_on_an_8_bit_benchmark(t, d, mp):
    return eval_args(d, t / "w", "--label-ignore", "65535"), "--label-ignore is for the 16-bit benchmarks"


def _label_ignore_bad_value(t, d, mp):
    return eval_args(d, t / "w", "--label-ignore", "256"), "--label-ignore"


def _launcher_without_env(t, d, mp):
    for var in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR"):
        mp.delenv(var, raising=False)
    return eval_args(d, t / "w", "--launcher", "pytorch"), "--launcher pytorch needs the variables"


def _boundary_iou_other_evaluator(t, d, mp):
    return (eval_args(d, t / "w", "--boundary-iou", "--cfg-options", "test_evaluator.type=IoUMetric"),
            "--boundary-iou needs test_evaluator type 'RADSegIoUMetric'")


# these three run the model: the problem shows only while the labels are scored
def _label_value_found_by_the_metric(t, d, mp):
    import radseg.data.verify as verify
    mp.setattr(verify, "QUICK_LABEL_SAMPLE", 0)  # as if this label were outside the checked sample
    arr = np.zeros(_label_shape(d), np.uint8)
    arr[:2, :2] = 40
    _write_label(_label(d), arr)
    return eval_args(d, t / "w"), f"label '{_label(d)}' (image '{d / VOC_IMG / '2008_000001.jpg'}') holds value(s) 40"


def _nothing_scored(t, d, mp):
    for p in (d / VOC_LBL).iterdir():  # VOC20 ignores background (0): no pixel is scored
        _write_label(p, np.zeros(_label_shape(d, p.stem)))
    return eval_args(d, t / "w"), "no label pixel was scored in the 3 images"


# -- eval.py --dataset-dir (your own labelled dataset, issue 15) --------------------------------------

def _own(t, *extra):
    from radseg.data.example import write_example
    ex = t / "own"
    if not ex.exists():
        write_example(ex, n=3, size=(24, 32))
    return ["--dataset-dir", str(ex), "--classes", str(ex / "classes.txt"), "--model_version", "tiny-random",
            "--work-dir", str(t / "w"), "--num-workers", "0", *map(str, extra)]


def _own_classes_without_dataset_dir(t, d, mp):
    return eval_args(d, t / "w", "--classes", "x.txt"), "--classes need --dataset-dir DIR"


def _own_dataset_dir_and_config(t, d, mp):
    return eval_args(d, t / "w", "--dataset-dir", d), "argument --dataset-dir: not allowed with argument --config"


def _own_without_classes(t, d, mp):
    argv = _own(t)
    i = argv.index("--classes")
    return argv[:i] + argv[i + 2:], "--dataset-dir needs --classes FILE"


def _own_missing_label_folder(t, d, mp):
    argv = _own(t)
    shutil.rmtree(t / "own" / "labels")
    return argv, "label folder '" + str(t / "own" / "labels") + "' does not exist"


def _own_image_without_label(t, d, mp):
    argv = _own(t)
    (t / "own" / "labels" / "scene_001.png").unlink()
    return argv, "1 image(s) under"


def _own_values_beyond_the_class_file(t, d, mp):
    argv = _own(t)
    (t / "own" / "two.txt").write_text("sky\ngrass\n")
    argv[argv.index("--classes") + 1] = str(t / "own" / "two.txt")
    return argv, "values outside 0..1 and 255 (the class file has 2 classes; a dataset whose 0 is background needs"


def _own_bad_class_file(t, d, mp):
    argv = _own(t)
    (t / "own" / "classes.txt").write_text("sky\n\ngrass\n")
    return argv, "line 2 is empty"


def _own_colour_label(t, d, mp):
    argv = _own(t)
    p = t / "own" / "labels" / "scene_000.png"
    Image.open(p).convert("RGB").save(p)
    return argv, "not single-channel 8-bit"


def _own_label_of_another_size(t, d, mp):
    argv = _own(t)
    _write_label(t / "own" / "labels" / "scene_002.png", np.zeros((5, 5)))
    return argv, "size differs from their image"


def _own_two_image_suffixes(t, d, mp):
    argv = _own(t)
    Image.open(t / "own" / "images" / "scene_000.jpg").save(t / "own" / "images" / "scene_000.png")
    (t / "own" / "images" / "scene_000.jpg").unlink()
    return argv, "several suffixes (.jpg, .png)"


def _own_preset_of_without_preset(t, d, mp):
    return _own(t, "--preset-of", "voc20"), "--preset-of needs --preset"


EVAL_CASES = [v for k, v in sorted(globals().items()) if k.startswith("_") and callable(v)
              and getattr(v, "__code__", None) is not None and v.__code__.co_varnames[:3] == ("t", "d", "mp")]


def one_error_line(err: str, expect: str):
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err[-3000:]
    assert lines[0].startswith("error: ") and expect in lines[0], (expect, lines[0])
    assert "Traceback" not in err


def no_record(work: Path):
    if work.is_dir():
        assert not list(work.rglob("result.json")) and not list(work.rglob("results.jsonl"))


@pytest.mark.parametrize("case", EVAL_CASES, ids=[c.__name__.strip("_") for c in EVAL_CASES])
def test_eval_bad_input(case, env, monkeypatch, capsys):
    from radseg.cli import run_eval_main
    tmp, data = env
    argv, expect = case(tmp, data, monkeypatch)
    try:
        rc = run_eval_main(argv)
    except SystemExit as e:  # argparse
        rc = e.code
    out = capsys.readouterr()
    assert rc not in (0, None), out.out[-2000:]
    one_error_line(out.err, expect)
    no_record(tmp / "w")


def test_a_good_run_prints_the_data_folder_and_image_count(env, capsys):
    from radseg.cli import run_eval_main
    tmp, data = env
    assert run_eval_main(eval_args(data, tmp / "w")) == 0
    out = capsys.readouterr().out
    assert f"data: {data / 'VOC2012'} (voc20, 3 of 1449 images; data folder {data} (from --data-root))" in out
    assert "note: 'tiny-random' has random weights (a stand-in)" in out


def test_data_folder_rule_env_then_cwd(env, monkeypatch, capsys):
    """--data-root, then $RADSEG_DATA_DIR, then ./data: the same folder `radseg data verify` checks."""
    from radseg.cli import main as radseg_main
    from radseg.cli import run_eval_main
    tmp, data = env
    args = eval_args(data, tmp / "w")
    del args[4:6]
    shutil.copytree(data, Path.cwd() / "data")  # ./data exists too, but the variable wins
    monkeypatch.setenv("RADSEG_DATA_DIR", str(data))
    assert run_eval_main(args) == 0
    assert "(from $RADSEG_DATA_DIR)" in capsys.readouterr().out
    assert radseg_main(["data", "verify", "voc20", "--quick"]) == 0
    assert f"data folder: {data} (from $RADSEG_DATA_DIR)" in capsys.readouterr().out
    monkeypatch.delenv("RADSEG_DATA_DIR")
    assert run_eval_main(args) == 0
    assert f"data folder {Path.cwd() / 'data'} (from the default ./data)" in capsys.readouterr().out


def test_a_corrupt_image_in_the_loader_names_the_file():
    """Past the checks (an image outside the decoded sample), the loading transform names it."""
    from radseg.errors import DatasetError
    from radseg.mmseg.transforms import RADSegLoadImageFromFile
    with pytest.raises(DatasetError, match="cannot read image '/nonexistent/x.jpg'"):
        RADSegLoadImageFromFile()(dict(img_path="/nonexistent/x.jpg"))


def test_metric_rejects_out_of_range_values_with_reduce_zero_label():
    import torch

    from radseg.errors import DatasetError
    from radseg.mmseg.metric import check_label_values
    ok = torch.tensor([[0, 19, 255]])
    check_label_values(ok, 20, 255, {})
    sample = {"img_path": "a.jpg", "seg_map_path": "a.png", "reduce_zero_label": True}
    with pytest.raises(DatasetError, match=r"'a.png' \(image 'a.jpg'\) holds value\(s\) 22, outside 1..20"):
        check_label_values(torch.tensor([[0, 21, 255]]), 20, 255, sample)


def test_non_finite_metrics_are_not_a_complete_record(tmp_path):
    import json

    from radseg.errors import RADSegError
    from radseg.results.records import RECORD_SCHEMA, is_complete_record, write_run_record
    rec = {"metrics": {"aAcc": float("nan"), "mIoU": 0.0, "mAcc": 0.0}}
    with pytest.raises(RADSegError, match="aAcc=nan"):
        write_run_record(tmp_path, rec, "s", "n")
    assert not list(tmp_path.iterdir())
    p = tmp_path / "result.json"  # written by something else, with a NaN literal
    p.write_text(json.dumps({"schema": RECORD_SCHEMA, "status": "complete",
                             "metrics": {"aAcc": float("nan"), "mIoU": 1.0, "mAcc": 1.0}}))
    assert not is_complete_record(p)
    p.write_text(json.dumps({"schema": RECORD_SCHEMA, "status": "complete",
                             "metrics": {"aAcc": 9.0, "mIoU": 1.0, "mAcc": 1.0}}))
    assert is_complete_record(p)


# -- the sweep (eval_all_multi_res.py) -----------------------------------------------------------------

def sweep_args(t, d, *extra):
    return ["--work-dir", str(t / "w"), "--data-root", str(d), "--models", "tiny-random", "--datasets", "voc20",
            "--resolutions", "low_res", "--sam-refine", "off", "--num-workers", "0", *map(str, extra)]


def _gpus(count):
    def set_(mp):
        import radseg.sweep.processes
        mp.setattr(radseg.sweep.processes, "visible_gpu_count", lambda: count)
    return set_


SWEEP_CASES = {
    "gpus_without_gpu": (lambda t, d: sweep_args(t, d, "--gpus", "2"), "this machine has no CUDA GPU", _gpus(0)),
    "more_gpus_than_visible": (lambda t, d: sweep_args(t, d, "--gpus", "4"), "only 1 CUDA GPU(s) visible", _gpus(1)),
    "gpus_zero": (lambda t, d: sweep_args(t, d, "--gpus", "0"), "--gpus must be >= 1", None),
    "gpus_not_int": (lambda t, d: sweep_args(t, d, "--gpus", "two"), "argument --gpus: invalid int value", None),
    "unknown_dataset": (lambda t, d: sweep_args(t, d, "--datasets", "voc2O"), "unknown dataset 'voc2O'", None),
    "unknown_resolution": (lambda t, d: sweep_args(t, d, "--resolutions", "ultra"), "unknown resolution", None),
    "unknown_model": (lambda t, d: sweep_args(t, d, "--models", "radio-typo"), "unknown model 'radio-typo'", None),
    "data_root_missing": (lambda t, d: sweep_args(t, t / "nowhere"), "(from --data-root) does not exist", None),
    "data_root_empty": (lambda t, d: sweep_args(t, ""), "--data-root is empty", None),
    "default_data_missing": (lambda t, d: sweep_args(t, d)[:2] + sweep_args(t, d)[4:],
                             "(from the default ./data) does not exist", None),
    "work_dir_file": (lambda t, d: sweep_args(t, d, "--work-dir", t / "afile"), "is a file, not a folder", None),
    "scaling_nan": (lambda t, d: sweep_args(t, d, "--scra_scaling", "nan"), "--scra_scaling must be positive", None),
    "amp_word": (lambda t, d: sweep_args(t, d, "--amp", "maybe"), "--amp expects True or False", None),
    "cfg_option_no_equals": (lambda t, d: sweep_args(t, d, "--cfg-options", "model.slide_crop"),
                             "is not KEY=VALUE", None),
    "run_timeout_zero": (lambda t, d: sweep_args(t, d, "--run-timeout", "0"), "--run-timeout must be positive", None),
    "config_dir_missing": (lambda t, d: sweep_args(t, d, "--config-dir", t / "cfgs"), "does not exist", None),
    "refine_word": (lambda t, d: sweep_args(t, d, "--sam-refine", "maybe"), "expected both, on or off", None),
    "cfg_option_setting_at_top_level": (lambda t, d: sweep_args(t, d, "--cfg-options", "slide_stride=224"),
                                        "spell it model.slide_stride=224", None),
    "emit_sbatch_array_folder": (lambda t, d: sweep_args(t, d, "--emit-sbatch-array", t),
                                 "is a folder; give a file name", None),
    "cfg_option_unknown_model_key": (lambda t, d: sweep_args(t, d, "--cfg-options", "model.slide_strid=1"),
                                     "unknown model setting(s) slide_strid", None),
}


@pytest.mark.parametrize("name", sorted(SWEEP_CASES))
def test_sweep_bad_input(name, env, monkeypatch, capsys):
    from radseg.sweep import main
    tmp, data = env
    (tmp / "afile").write_text("x")
    build, expect, patch = SWEEP_CASES[name]
    if patch:
        patch(monkeypatch)
    try:
        rc = main(build(tmp, data))
    except SystemExit as e:
        rc = e.code
    out = capsys.readouterr()
    assert rc not in (0, None), out.out[-2000:]
    one_error_line(out.err, expect)
    no_record(tmp / "w")
    assert not (tmp / "w").exists() or not list((tmp / "w").rglob("eval.log"))  # no run was started


def test_sweep_gpus_with_cpu_flag_and_slurm_need_no_local_gpu(env, monkeypatch, capsys):
    import radseg.sweep.processes
    from radseg.sweep import main
    tmp, data = env
    monkeypatch.setattr(radseg.sweep.processes, "visible_gpu_count", lambda: 0)
    assert main(sweep_args(tmp, data, "--gpus", "2", "--cpu", "--dry-run")) == 0
    assert "2 side by side on cpu0,cpu1" in capsys.readouterr().out
    assert main(sweep_args(tmp, data, "--gpus", "2", "--parallel-mode", "slurm", "--dry-run")) == 0
    out = capsys.readouterr()
    assert "srun --ntasks 2" in out.out and "no CUDA GPU" not in out.err
    assert main(sweep_args(tmp, data, "--gpus", "2", "--dry-run")) == 0  # a plan: a warning, not an error
    out = capsys.readouterr()
    assert "warning: --gpus 2: this machine has no CUDA GPU" in out.err
    assert f"--data-root {data}" in out.out  # the resolved folder goes to every run


# -- radseg data -------------------------------------------------------------------------------------------

DATA_CASES = {
    "no_subcommand": (lambda t, d: ["data"], "the following arguments are required"),
    "unknown_dataset": (lambda t, d: ["data", "verify", "voc2O"], "argument DATASET: invalid choice: 'voc2O'"),
    "verify_root_missing": (lambda t, d: ["data", "verify", "voc20", str(t / "nowhere")], "does not exist"),
    "verify_root_file": (lambda t, d: ["data", "verify", "voc20", str(t / "afile")], "is a file"),
    "verify_data_dir_missing": (lambda t, d: ["data", "verify", "voc20", "--data-dir", str(t / "nowhere")],
                                "(from --data-dir) does not exist"),
    "verify_default_missing": (lambda t, d: ["data", "verify", "voc20"], "(from the default ./data) does not exist"),
    "verify_no_dataset_folder": (lambda t, d: ["data", "verify", "cityscapes", "--data-dir", str(d)],
                                 "no cityscapes folder in data folder"),
    "verify_root_and_data_dir": (lambda t, d: ["data", "verify", "voc20", str(d), "--data-dir", str(d)],
                                 "not both"),
    "verify_workers_zero": (lambda t, d: ["data", "verify", "voc20", str(d), "--workers", "0"],
                            "--workers must be >= 1"),
    "prepare_raw_missing": (lambda t, d: ["data", "prepare", "voc21", "--raw", str(t / "nowhere"), "--out",
                                          str(t / "out")], "raw folder"),
    "prepare_out_file": (lambda t, d: ["data", "prepare", "voc21", "--raw", str(d), "--out", str(t / "afile")],
                         "is a file, not a folder"),
    "prepare_out_empty": (lambda t, d: ["data", "prepare", "voc21", "--raw", str(d), "--out", ""],
                          "--out is empty"),
    "prepare_mess_entry": (lambda t, d: ["data", "prepare", "cub_200"], "prepared by the MESS project's own scripts"),
    "verify_mess_entry_missing": (lambda t, d: ["data", "verify", "cwfid", "--data-dir", str(d)],
                                  "python -m mess.prepare_datasets.prepare_cwfid"),
    "verify_mess_data_dir_missing": (lambda t, d: ["data", "verify", "mess", str(t / "nowhere")], "does not exist"),
}


@pytest.mark.parametrize("name", sorted(DATA_CASES))
def test_data_bad_input(name, env, capsys):
    from radseg.cli import main as radseg_main
    tmp, data = env
    (tmp / "afile").write_text("x")
    build, expect = DATA_CASES[name]
    try:
        rc = radseg_main(build(tmp, data))
    except SystemExit as e:
        rc = e.code
    out = capsys.readouterr()
    assert rc not in (0, None), out.out[-2000:]
    one_error_line(out.err, expect)
