"""eval.py --save-predictions DIR [--save-probs] end to end on the tiny datasets (in-process).

The PNGs must be what the metric scored: recomputing mIoU / aAcc from them and the label
files gives the record's numbers. The manifest format is what `radseg report` reads.
"""
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from datagen import make_dataset

ROOT = Path(__file__).resolve().parents[1]


def run(config, data, work, *extra):
    from radseg.cli import run_eval_main
    return run_eval_main(["--config", str(ROOT / "configs_mmseg" / config), "--model_version", "tiny-random",
                          "--data-root", str(data), "--work-dir", str(work), "--num-workers", "0",
                          *map(str, extra)])


def scores(manifest, pred_dir, reduce_zero_label):
    """aAcc and mIoU (%, 2 decimals, as mmseg) recomputed from the saved PNGs and the label files."""
    k = len(manifest["classes"])
    inter, union, correct, total = np.zeros(k), np.zeros(k), 0, 0
    for it in manifest["items"]:
        pred = np.array(Image.open(pred_dir / it["pred"]))
        label = np.array(Image.open(it["seg_map_path"])).astype(np.int64)
        if reduce_zero_label:
            label = np.where(label == 0, 255, label - 1)
            label[label == 254] = 255
        assert pred.shape == label.shape and pred.max() < k
        m = label != 255
        p, g = pred[m].astype(np.int64), label[m]
        i = np.bincount(p[p == g], minlength=k)
        ap, ag = np.bincount(p, minlength=k), np.bincount(g, minlength=k)
        inter += i
        union += ap + ag - i
        correct += int((p == g).sum())
        total += int(m.sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = inter / union
        miou = float(np.round(np.nanmean(iou) * 100, 2))  # mmseg: classes with an empty union are NaN
    return round(correct / total * 100, 2), miou


@pytest.mark.parametrize("bench,config,reduce", [("voc20", "low_res/voc20.py", True),
                                                 ("cityscapes", "low_res/cityscapes.py", False)])
def test_predictions_are_what_the_metric_scored(bench, config, reduce, tmp_path, capsys):
    data = tmp_path / "data"
    root = make_dataset(bench, data, n=3)
    out = tmp_path / "pred"
    assert run(config, data, tmp_path / "w", "--save-predictions", out, "--save-probs") == 0
    assert f"predictions -> {out}" in capsys.readouterr().out
    rec = json.loads((tmp_path / "w" / "result.json").read_text())
    assert rec["predictions_dir"] == str(out)
    man = json.loads((out / "predictions.json").read_text())
    assert set(man) == {"dataset", "classes", "palette", "items"} and man["dataset"] == bench
    assert man["classes"] == list(rec["per_class"])  # the metric's class names, in its order
    assert len(man["palette"]) == len(man["classes"]) and all(len(c) == 3 for c in man["palette"])
    img_dir = {"voc20": "JPEGImages", "cityscapes": "leftImg8bit/val"}[bench]
    images = sorted((root / img_dir).rglob("*.*"))
    assert [it["img_path"] for it in man["items"]] == [str(p) for p in images]  # the dataset's order
    for it, img in zip(man["items"], images):
        rel = img.relative_to(root / img_dir)
        assert it["pred"] == rel.with_suffix(".png").as_posix()  # relative path kept (city sub-folders)
        assert Path(it["seg_map_path"]).is_file() and Path(it["seg_map_path"]).is_absolute()
        png = Image.open(out / it["pred"])
        assert png.mode == "P" and png.size == Image.open(img).size
        assert png.getpalette()[:3] == man["palette"][0]
        probs = np.load(out / it["probs"])
        assert probs.dtype == np.float16 and probs.shape == (len(man["classes"]), png.size[1], png.size[0])
        agree = (probs.astype(np.float32).argmax(0) == np.array(png)).mean()
        assert agree > 0.99
    assert scores(man, out, reduce) == (rec["metrics"]["aAcc"], rec["metrics"]["mIoU"])


def test_no_predictions_without_the_flag(tmp_path):
    data = tmp_path / "data"
    make_dataset("voc20", data, n=2)
    assert run("low_res/voc20.py", data, tmp_path / "w") == 0
    rec = json.loads((tmp_path / "w" / "result.json").read_text())
    assert rec["predictions_dir"] is None and rec["data_root"] == str(data / "VOC2012")
    assert not list(tmp_path.rglob("predictions.json"))
