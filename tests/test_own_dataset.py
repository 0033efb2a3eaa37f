"""Issue 15, section 2: your own labelled dataset, end to end offline: `radseg data example DIR`,
then `eval.py --dataset-dir DIR --classes DIR/classes.txt` (in-process, the real entry point)."""
import json

import numpy as np
import pytest
from PIL import Image

from radseg.cli import main as radseg_main
from radseg.cli import run_eval_main


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    d = tmp_path_factory.mktemp("own") / "fields"
    assert radseg_main(["data", "example", str(d), "-n", "3"]) == 0
    return d


def test_example_dataset_layout(example):
    assert sorted(p.name for p in (example / "images").iterdir()) == [f"scene_00{i}.jpg" for i in range(3)]
    lab = np.array(Image.open(example / "labels" / "scene_000.png"))
    assert Image.open(example / "labels" / "scene_000.png").mode == "L"
    assert set(np.unique(lab)) <= {0, 1, 2, 3, 255} and 255 in lab and (lab < 4).mean() > 0.7
    assert (example / "classes.txt").read_text().splitlines()[1] == "grass, lawn"
    assert radseg_main(["data", "example", str(example)]) == 2  # never overwrites


def test_own_dataset_evaluated_end_to_end(example, tmp_path, capsys):
    work = tmp_path / "w"
    rc = run_eval_main(["--dataset-dir", str(example), "--classes", str(example / "classes.txt"),
                        "--model_version", "tiny-random", "--preset", "low_res", "--scale", "128", "96",
                        "--slide-crop", "64", "--slide-stride", "32", "--work-dir", str(work), "--num-workers", "0",
                        "--save-predictions", str(tmp_path / "pred")])
    out = capsys.readouterr()
    assert rc == 0, out.err[-3000:]
    assert f"data: {example} (fields, 3 images; data folder --dataset-dir)" in out.out
    rec = json.loads((work / "result.json").read_text())
    assert rec["benchmark"] == "fields" and rec["resolution"] == "custom" and rec["num_images"] == 3
    assert list(rec["per_class"]) == ["sky", "grass", "road", "building"]
    assert rec["settings"]["model"]["slide_crop"] == 64 and rec["own_dataset"]["scale"] == [128, 96]
    assert rec["weights"] == "random stand-in" and rec["subset"] is None
    assert rec["settings"]["test_dataloader"]["dataset"]["reduce_zero_label"] is False
    assert len(list((tmp_path / "pred").rglob("*.png"))) == 3
    # the same labels, shifted by one with 0 as background, give the same scores with --reduce-zero-label
    shifted = tmp_path / "shifted"
    (shifted / "labels").mkdir(parents=True)
    (shifted / "images").symlink_to(example / "images")
    for p in (example / "labels").iterdir():
        lab = np.array(Image.open(p))
        Image.fromarray(np.where(lab == 255, 0, lab + 1).astype(np.uint8)).save(shifted / "labels" / p.name)
    rc = run_eval_main(["--dataset-dir", str(shifted), "--classes", str(example / "classes.txt"),
                        "--reduce-zero-label", "--model_version", "tiny-random", "--scale", "128", "96",
                        "--slide-crop", "64", "--slide-stride", "32", "--work-dir", str(tmp_path / "w2"),
                        "--num-workers", "0"])
    assert rc == 0, capsys.readouterr().err[-3000:]
    rec2 = json.loads((tmp_path / "w2" / "result.json").read_text())
    assert rec2["metrics"] == rec["metrics"] and rec2["per_class"] == rec["per_class"]


def test_preset_sets_scale_and_windows():
    import argparse

    from radseg.mmseg.custom_dataset import scale_and_windows
    ns = lambda **kw: argparse.Namespace(**{**dict(preset=None, preset_of=None, scale=None, slide_crop=None,  # noqa: E731
                                                  slide_stride=None), **kw})
    assert scale_and_windows(ns()) == ((2048, 448), 336, 224, "custom")
    assert scale_and_windows(ns(preset="high_res", preset_of="voc20")) == ((2016, 672), 336, 224, "high_res")
    assert scale_and_windows(ns(preset="mid_res")) == ((2048, 448), 336, 224, "mid_res")


def test_every_eval_flag_has_help():
    import argparse

    from radseg.mmseg.evaluate import build_parser
    missing = [a.option_strings for a in build_parser()._actions
               if not isinstance(a, argparse._HelpAction) and not a.help]
    assert missing == []


def test_the_sweep_passes_the_own_dataset_to_eval(example, tmp_path, capsys):
    import shlex

    from radseg.mmseg.evaluate import build_parser
    from radseg.sweep import main as sweep_main
    rc = sweep_main(["--dataset-dir", str(example), "--classes", str(example / "classes.txt"), "--models",
                     "tiny-random", "--resolutions", "low_res", "high_res", "--sam-refine", "off",
                     "--reduce-zero-label", "--work-dir", str(tmp_path / "sweep"), "--dry-run"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    cmds = [shlex.split(ln.split("cmd: ", 1)[1]) for ln in out.out.splitlines() if "cmd: " in ln]
    assert len(cmds) == 2
    args = build_parser().parse_args(cmds[1][2:])  # [python, eval.py, ...]: what eval.py will get
    assert args.dataset_dir == str(example) and args.preset == "high_res" and args.reduce_zero_label
    assert args.config is None and args.data_root is None
    assert "sweep/tiny-random/norefine/high_res/fields" in out.out
