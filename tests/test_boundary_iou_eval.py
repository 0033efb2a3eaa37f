"""Boundary IoU through the real entry points: RADSegIoUMetric, eval.py (in-process main(argv)),
the record, `radseg results --metric mBoundaryIoU`, `radseg report --metric mBoundaryIoU` and the
sweep's pass-through. The numbers are checked against the reference loop of test_boundary_iou.py."""
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from datagen import make_dataset
from test_boundary_iou import ref_boundary_intersect_and_union

ROOT = Path(__file__).resolve().parents[1]


def ref_summary(pairs, num_classes, ignore=255):
    """The reference's dataset accumulation (CorrCLIPv2 compute_metrics) on (pred, label) pairs."""
    inter = np.zeros(num_classes)
    union = np.zeros(num_classes)
    for pred, label in pairs:
        i, u = ref_boundary_intersect_and_union(pred, label, num_classes, ignore)
        inter += i
        union += u
    biou = np.where(union > 0, inter / np.where(union > 0, union, 1), np.nan)
    return np.round(np.nanmean(biou) * 100, 2), np.round(biou * 100, 2)


def _sample(pred, label):
    return {"pred_sem_seg": {"data": torch.from_numpy(pred)[None]},
            "gt_sem_seg": {"data": torch.from_numpy(label)[None]}, "seg_map_path": "x.png", "img_path": "x.jpg"}


@pytest.mark.parametrize("how", ["boundary_iou", "iou_metrics"])
def test_metric_adds_boundary_iou_as_the_reference(how):
    import radseg.mmseg  # noqa: F401  (registers the metric)
    # isort: split
    from mmseg.registry import METRICS
    cfg = dict(type="RADSegIoUMetric", boundary_iou=True) if how == "boundary_iou" else \
        dict(type="RADSegIoUMetric", iou_metrics=["mIoU", "mBoundaryIoU"])  # CorrCLIPv2's spelling
    metric = METRICS.build(cfg)
    classes = ("a", "b", "c", "d", "e")
    metric.dataset_meta = {"classes": classes}
    rng = np.random.default_rng(3)
    pairs = []
    for h, w in ((37, 50), (50, 37), (20, 64)):
        label = rng.integers(0, 5, (h // 4 + 1, w // 4 + 1)).repeat(4, 0).repeat(4, 1)[:h, :w]
        label[rng.random((h, w)) < 0.05] = 255
        pred = np.roll(label, 2, axis=1) % 5
        pairs.append((pred.astype(np.int64), label.astype(np.int64)))
    metric.process({}, [_sample(*p) for p in pairs[:2]])  # a batch of two
    metric.process({}, [_sample(*pairs[2])])
    out = metric.compute_metrics(metric.results)
    mean, per_class = ref_summary(pairs, 5)
    assert out["mBoundaryIoU"] == mean
    assert [out[f"BoundaryIoU.{c}"] for c in classes] == per_class.tolist()
    assert "mIoU" in out and "IoU.a" in out  # the IoU metrics unchanged beside it


def test_metric_without_boundary_iou_has_none():
    import radseg.mmseg  # noqa: F401
    # isort: split
    from mmseg.registry import METRICS
    metric = METRICS.build(dict(type="RADSegIoUMetric", iou_metrics=["mIoU"]))
    metric.dataset_meta = {"classes": ("a", "b")}
    lab = np.zeros((8, 8), np.int64)
    lab[:, 4:] = 1
    metric.process({}, [_sample(lab.copy(), lab)])
    out = metric.compute_metrics(metric.results)
    assert "mBoundaryIoU" not in out and len(metric.results[0]) == 4


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    """One eval.py run with --boundary-iou and saved predictions."""
    from radseg.cli import run_eval_main
    tmp = tmp_path_factory.mktemp("biou")
    make_dataset("voc21", tmp / "data", n=3)
    base = ["--config", str(ROOT / "configs_mmseg" / "low_res" / "voc21.py"), "--model_version",
            "tiny-random", "--data-root", str(tmp / "data"), "--num-workers", "0"]
    w1 = tmp / "sweep" / "flag"
    assert run_eval_main(base + ["--work-dir", str(w1), "--boundary-iou", "--save-predictions",
                                 str(tmp / "pred")]) == 0
    return tmp, json.loads((w1 / "result.json").read_text())


def test_eval_record_has_boundary_iou_as_the_reference(evaluated):
    tmp, rec = evaluated
    assert rec["status"] == "complete" and rec["boundary_iou"] == {"dilation_ratio": 0.02}
    assert set(rec["metrics"]) == {"aAcc", "mIoU", "mAcc", "mBoundaryIoU"}
    assert len(rec["per_class"]) == 21 and all("BoundaryIoU" in v for v in rec["per_class"].values())
    # the same numbers from the saved predictions and the label files with the reference loop
    manifest = json.loads((tmp / "pred" / "predictions.json").read_text())
    pairs = [(np.array(Image.open(tmp / "pred" / it["pred"])).astype(np.int64),
              np.array(Image.open(it["seg_map_path"])).astype(np.int64)) for it in manifest["items"]]
    assert len(pairs) == 3
    mean, per_class = ref_summary(pairs, 21)
    assert rec["metrics"]["mBoundaryIoU"] == mean
    got = [rec["per_class"][c]["BoundaryIoU"] for c in manifest["classes"]]
    assert [None if math.isnan(v) else v for v in per_class.tolist()] == got
    assert "mBoundaryIoU" in (Path(tmp / "sweep" / "flag" / "results").glob("*.txt").__next__().read_text())


def test_results_and_report_show_mboundaryiou(evaluated, capsys):
    from radseg.cli import main
    tmp, rec = evaluated
    assert main(["results", str(tmp / "sweep" / "flag"), "--metric", "mBoundaryIoU", "--format", "csv"]) == 0
    out = capsys.readouterr().out
    assert f"{rec['metrics']['mBoundaryIoU']:g}" in out.splitlines()[1].split(",")
    assert main(["results", str(tmp / "sweep" / "flag"), "--per-class", "--metric", "mBoundaryIoU",
                 "--format", "csv"]) == 0
    out = capsys.readouterr().out
    assert "BoundaryIoU" in out.splitlines()[0]
    road = next(line for line in out.splitlines() if line.startswith("aeroplane,"))
    v = rec["per_class"]["aeroplane"]["BoundaryIoU"]
    assert road.split(",")[1] == ("" if v is None else f"{round(v, 2):g}")
    html = tmp / "r.html"
    assert main(["report", str(tmp / "sweep"), "-o", str(html), "--metric", "mBoundaryIoU",
                 "--num-images", "0"]) == 0
    text = html.read_text()
    assert "mBoundaryIoU vs resolution" in text and "Boundary IoU" in text


def test_results_note_records_without_boundary_iou(tmp_path, evaluated, capsys):
    from radseg.cli import main
    tmp, rec = evaluated
    plain = json.loads(json.dumps(rec))
    del plain["metrics"]["mBoundaryIoU"]
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "result.json").write_text(json.dumps(plain))
    assert main(["results", str(tmp_path), "--metric", "mBoundaryIoU"]) == 0
    assert "--boundary-iou" in capsys.readouterr().err


def test_config_key_and_flag():
    from mmengine.config import Config

    from radseg.mmseg.evaluate import configure_boundary_iou
    off = Config(dict(test_evaluator=dict(type="RADSegIoUMetric", iou_metrics=["mIoU"])))
    assert configure_boundary_iou(off, None) is None and "boundary_iou" not in off.test_evaluator
    assert configure_boundary_iou(off, True) == {"dilation_ratio": 0.02} and off.test_evaluator.boundary_iou
    key = Config(dict(test_evaluator=dict(type="RADSegIoUMetric", boundary_iou=True, boundary_dilation_ratio=0.01)))
    assert configure_boundary_iou(key, None) == {"dilation_ratio": 0.01}
    cc2 = Config(dict(test_evaluator=[dict(type="RADSegIoUMetric", iou_metrics=["mIoU", "mBoundaryIoU"])]))
    assert configure_boundary_iou(cc2, None) == {"dilation_ratio": 0.02}


def test_sweep_passes_boundary_iou_and_reruns_records_without_it(evaluated, tmp_path):
    from radseg.sweep import build_parser, completed_record, plan_sweep
    from radseg.sweep.plan import eval_command
    tmp, rec = evaluated
    base = ["--work-dir", str(tmp_path), "--models", "tiny-random", "--datasets", "voc21",
            "--resolutions", "low_res", "--sam-refine", "off", "--data-root", str(tmp / "data")]
    args = build_parser().parse_args(base + ["--boundary-iou"])
    [run] = plan_sweep(args)
    assert "--boundary-iou" in eval_command(run, args)
    plain = build_parser().parse_args(base)
    assert "--boundary-iou" not in eval_command(plan_sweep(plain)[0], plain)
    run.run_dir.mkdir(parents=True)
    without = json.loads(json.dumps(rec))
    del without["metrics"]["mBoundaryIoU"]
    (run.run_dir / "result.json").write_text(json.dumps(without))
    ok, why = completed_record(run, args)
    assert not ok and "--boundary-iou" in why
    assert completed_record(run, plain) == (True, "complete record")
    (run.run_dir / "result.json").write_text(json.dumps(rec))
    assert completed_record(run, args) == (True, "complete record")


def test_a_record_with_a_bad_boundary_value_is_skipped(evaluated):
    from radseg.results.collect import record_problem
    _, rec = evaluated
    assert record_problem(rec) is None
    bad = json.loads(json.dumps(rec))
    bad["per_class"]["aeroplane"]["BoundaryIoU"] = "high"
    assert "per_class.aeroplane.BoundaryIoU" in record_problem(bad)
