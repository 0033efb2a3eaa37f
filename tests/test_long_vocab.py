"""ADE-847 and PC-459: converters on tiny raw downloads, verify, the ignore setting, eval.py.

Expected labels are computed here from EXTRA_BENCHMARKS.md sections 1-2 (a few raw id ->
trainId pairs re-typed from CAT-Seg's table, the resize rule, ``LabelMap - 1``), never by
calling the code under test.
"""
import io
import json
import pickle
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from radseg.data import prepare_dataset, verify_dataset
from radseg.errors import DatasetError

# raw ADE20K class id -> ADE-847 trainId (CAT-Seg's ADE20K_SEM_SEG_FULL_CATEGORIES)
ADE_IDS = {2978: 0, 312: 1, 2420: 2, 3108: 300}
UNMAPPED = 5  # not one of the 847 ids (they range over 6..3156)


def ade_rgb(class_map):
    """ADE20K's _seg.png encoding: class = (R/10)*256 + G; R carries a remainder to test the floor."""
    rgb = np.zeros(class_map.shape + (3,), np.uint8)
    rgb[..., 0] = (class_map // 256) * 10 + 7
    rgb[..., 1] = class_map % 256
    rgb[..., 2] = 3  # instance channel, ignored
    return rgb


def make_ade_raw(root: Path):
    """ADE20K_2021_17_01 with an index and three images: 20x30 val, 1024x1025 val, 24x24 train."""
    ade = root / "ADE20K_2021_17_01"
    rng = np.random.default_rng(0)
    folders, files, class_maps = [], [], {}
    for name, (h, w), scene in (("ADE_val_00000001.jpg", (20, 30), "a/abbey"),
                                ("ADE_val_00000002.jpg", (1024, 1025), "b/bedroom"),
                                ("ADE_train_00000001.jpg", (24, 24), "a/abbey")):
        split = "validation" if "_val_" in name else "training"
        folder = f"ADE20K_2021_17_01/images/ADE/{split}/{scene}"
        d = root / folder
        d.mkdir(parents=True, exist_ok=True)
        ids = np.array([0, UNMAPPED, 2978, 312, 2420, 3108], np.int32)
        cm = ids[rng.integers(0, len(ids), (h // 4 + 1, w // 4 + 1))].repeat(4, 0).repeat(4, 1)[:h, :w]
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(d / name, quality=90)
        Image.fromarray(ade_rgb(cm)).save(d / name.replace(".jpg", "_seg.png"))
        folders.append(folder)
        files.append(name)
        class_maps[name] = (d / name, cm)
    with open(ade / "index_ade20k.pkl", "wb") as f:
        pickle.dump({"folder": np.array(folders), "filename": np.array(files), "objectnames": ["x"]}, f)
    return ade, class_maps


def expected_ade(cm):
    out = np.full(cm.shape, 65535, np.uint16)
    for raw, tid in ADE_IDS.items():
        out[cm == raw] = tid
    return out


@pytest.fixture(scope="module")
def ade_prepared(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ade847")
    ade, maps = make_ade_raw(tmp / "raw")
    res = prepare_dataset("ade847", raw=ade, data_dir=tmp / "data", workers=1)
    return tmp, res, maps


def test_ade847_labels_layout_and_resize_rule(ade_prepared):
    tmp, res, maps = ade_prepared
    root = tmp / "data" / "ADE20K_2021_17_01"
    assert res.root == root and res.converted == 2  # the training image is skipped
    assert sorted(p.name for p in (root / "images_detectron2" / "validation").iterdir()) == [
        "ADE_val_00000001.jpg", "ADE_val_00000002.jpg"]
    small = Image.open(root / "annotations_detectron2/validation/ADE_val_00000001.tif")
    assert small.mode == "I;16" and small.size == (30, 20)  # a side <= 512: not resized
    assert np.array_equal(np.array(small), expected_ade(maps["ADE_val_00000001.jpg"][1]))
    # 1024 x 1025: w/h*512 = 512.5, Python's round -> 512 (half to even), not 513
    big = np.array(Image.open(root / "annotations_detectron2/validation/ADE_val_00000002.tif"))
    assert big.shape == (512, 512) and big.dtype == np.uint16
    src, cm = maps["ADE_val_00000002.jpg"]
    want = expected_ade(cv2.resize(cm, (512, 512), interpolation=cv2.INTER_NEAREST))
    assert np.array_equal(big, want) and {0, 1, 2, 300, 65535} <= set(np.unique(big).tolist())
    # the image: cv2 INTER_LINEAR of the decoded JPEG, re-encoded with Pillow's defaults
    buf = io.BytesIO()
    img = cv2.resize(np.asarray(Image.open(src)), (512, 512), interpolation=cv2.INTER_LINEAR)
    Image.fromarray(img).save(buf, format="JPEG")
    assert (root / "images_detectron2/validation/ADE_val_00000002.jpg").read_bytes() == buf.getvalue()
    again = prepare_dataset("ade847", raw=tmp / "raw" / "ADE20K_2021_17_01", data_dir=tmp / "data")
    assert again.converted == 0 and again.skipped == 2


def test_ade847_verify_16_bit_values(ade_prepared, tmp_path):
    import shutil
    tmp, _, _ = ade_prepared
    root = tmp_path / "ADE20K_2021_17_01"
    shutil.copytree(tmp / "data" / "ADE20K_2021_17_01", root)
    rep = verify_dataset("ade847", root)
    assert rep.ok and rep.n_images == 2 and "2000" in rep.warnings[0], rep.summary()
    lab = root / "annotations_detectron2/validation/ADE_val_00000001.tif"
    arr = np.array(Image.open(lab))
    arr[0, 0] = 847  # one past the last class, not 65535
    Image.fromarray(arr).save(lab)
    rep = verify_dataset("ade847", root)
    assert not rep.ok and "values outside 0..846 and 65535" in rep.errors[0] and "(847)" in rep.errors[0]
    Image.fromarray(arr.astype(np.uint8)).save(lab)  # an 8-bit file is the wrong conversion
    rep = verify_dataset("ade847", root, quick=True)
    assert not rep.ok and "not a single-channel 16-bit image" in rep.errors[0] and "(L)" in rep.errors[0]


def test_ade847_missing_index_is_one_line(tmp_path):
    with pytest.raises(DatasetError, match="no index_ade20k.pkl"):
        prepare_dataset("ade847", raw=tmp_path, data_dir=tmp_path / "data")


def write_mat(path, label_map):
    import scipy.io
    path.parent.mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(path, {"LabelMap": np.asarray(label_map, np.uint16)})


def test_pc459_labels_split_and_missing_mat(tmp_path, capsys):
    from radseg.data.cli import main as data_main
    voc = tmp_path / "VOCdevkit" / "VOC2010"
    ids = ["2008_000002", "2008_000003", "2010_000001"]
    lm = np.array([[1, 2, 256, 459], [1, 1, 0, 431]], np.uint16)  # 0 = unlabeled in Mottaghi's maps
    (voc / "JPEGImages").mkdir(parents=True)
    for i, n in enumerate(ids):
        Image.new("RGB", (4, 2)).save(voc / "JPEGImages" / f"{n}.jpg")
        if i < 2:
            write_mat(voc / "trainval" / f"{n}.mat", lm if i == 0 else lm[::-1])
    (voc / "labels.txt").write_text("1: accordion\n")
    (voc / "pascalcontext_val.txt").write_text("\n".join(ids) + "\n")  # CAT-Seg's list
    # issue 24: the id without a .mat is left out of PC-459's split, so the folder passes its verifier
    assert data_main(["prepare", "pc459", "--raw", str(voc), "--out", str(tmp_path / "data")]) == 0
    out = capsys.readouterr().out
    assert "1 val ids have no trainval/<id>.mat" in out and "2010_000001" in out and "pc459: OK, 2 val images" in out
    root = tmp_path / "data" / "VOCdevkit" / "VOC2010"
    assert (root / "ImageSets/SegmentationContext/pc459_val.txt").read_text() == "".join(n + "\n" for n in ids[:2])
    assert not (root / "ImageSets/SegmentationContext/val.txt").exists()  # Context's file, never written here
    got = Image.open(root / "annotations_detectron2/pc459_val/2008_000002.tif")
    assert got.mode == "I;16"
    assert np.array_equal(np.array(got), np.array([[0, 1, 255, 458], [0, 0, 65535, 430]], np.uint16))
    assert "2 of the 2 converted labels hold 65535" in out
    (voc / "JPEGImages" / "2010_000001.jpg").unlink()
    rep = verify_dataset("pc459", root)
    assert rep.ok and rep.n_images == 2 and "5104" in rep.warnings[0], rep.summary()


def test_pc459_needs_a_val_list(tmp_path):
    voc = tmp_path / "VOC2010"
    (voc / "JPEGImages").mkdir(parents=True)
    (voc / "trainval").mkdir()
    with pytest.raises(DatasetError, match="no val list.*radseg data prepare context59"):
        prepare_dataset("pc459", raw=voc, data_dir=tmp_path / "data")


def _metric(num_classes, ignore_index, gt, pred):
    import torch

    import radseg.mmseg  # noqa: F401
    from radseg.mmseg.metric import RADSegIoUMetric
    m = RADSegIoUMetric(ignore_index=ignore_index, allowed_label_values=[65535], iou_metrics=["mIoU"])
    m.dataset_meta = dict(classes=[f"c{i}" for i in range(num_classes)])
    sample = dict(pred_sem_seg=dict(data=torch.tensor([pred])), gt_sem_seg=dict(data=torch.tensor([gt])),
                  seg_map_path="x.tif", img_path="x.jpg")
    m.process({}, [sample])
    return m.compute_metrics(m.results)


def test_the_two_ignore_settings_score_differently():
    """Hand-computed: the literature (ignore 255) counts predictions on 65535 pixels in the
    union and masks class 255; the correct setting (ignore 65535) does neither."""
    gt, pred = [[0, 1, 65535, 65535]], [[0, 1, 1, 2]]
    lit = _metric(3, 255, gt, pred)  # IoU c0 1/1, c1 1/2, c2 0/1 -> mean 50
    assert (lit["IoU.c0"], lit["IoU.c1"], lit["IoU.c2"], lit["mIoU"]) == (100.0, 50.0, 0.0, 50.0)
    right = _metric(3, 65535, gt, pred)  # only the two labelled pixels: c0 1, c1 1, c2 NaN
    assert (right["IoU.c0"], right["IoU.c1"], right["mIoU"]) == (100.0, 100.0, 100.0)
    gt, pred = [[255, 255, 0]], [[255, 0, 0]]  # class 255 ('pier', 'monkey') is a real class
    assert _metric(257, 255, gt, pred)["mIoU"] == 100.0  # masked: only pixel 3 (c0 1/1)
    assert _metric(257, 65535, gt, pred)["mIoU"] == 50.0  # c255 1/2, c0 1/2


def test_class_files_are_the_literature_prompts():
    from radseg.class_names import load_class_names
    ade = load_class_names("ade847", 847)
    assert [c[0] for c in ade[:5]] == ["wall", "building, edifice", "sky", "tree", "road, route"]
    assert [c[0] for c in ade[-2:]] == ["towel rail", "adding machine, totalizer, totaliser"]
    assert ade[300] == ["altar, communion table, lords table"] and ade[255] == ["pier"]
    pc = load_class_names("pc459", 459)
    assert [c[0] for c in pc[:3]] == ["accordion", "aeroplane", "airconditioner"]
    assert [c[0] for c in pc[-5:]] == ["windowblinds", "wineglass", "wire", "wood", "wool"]
    assert pc[255] == ["monkey"] and pc[430] == ["unknown"]


@pytest.mark.parametrize("key,flag,ignore", [("ade847", [], 255), ("pc459", ["--label-ignore", "65535"], 65535)])
def test_eval_on_tiny_random(key, flag, ignore, tmp_path, capsys):
    """Through eval.py's main (in-process), ADE-847 with the literature's ignore, PC-459 with 65535."""
    import torch

    from datagen import make_dataset
    from radseg.cli import run_eval_main
    root = Path(__file__).resolve().parents[1]
    data = tmp_path / "data"
    make_dataset(key, data, n=2, size=(24, 32))
    argv = ["--config", str(root / "configs_mmseg" / "low_res" / f"{key}.py"), "--model_version", "tiny-random",
            "--data-root", str(data), "--work-dir", str(tmp_path / "w"), "--num-workers", "0", *flag]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # 847 x 80 tiny text encodings: thread start-up dominates on a loaded CPU
    try:
        assert run_eval_main(argv) == 0
    finally:
        torch.set_num_threads(threads)
    assert f"metric ignore_index {ignore}" in capsys.readouterr().out
    rec = json.loads((tmp_path / "w" / "result.json").read_text())
    assert rec["benchmark"] == key and rec["num_images"] == 2 and 0 <= rec["metrics"]["mIoU"] <= 100
    assert rec["label_ignore"]["metric_ignore_index"] == ignore
    assert rec["settings"]["test_evaluator"]["ignore_index"] == ignore
    assert len(rec["per_class"]) == {"ade847": 847, "pc459": 459}[key]


def test_results_rows_tell_the_ignore_setting_apart():
    from radseg.results.collect import row_label
    rec = dict(model_version="c-radio_v3-b", lang_model=None, scra_scaling=10, scga_scaling=10, cfg_options=[])
    lit = dict(rec, label_ignore={"setting": "literature", "metric_ignore_index": 255})
    right = dict(rec, label_ignore={"setting": "65535", "metric_ignore_index": 65535})
    assert row_label(lit) == row_label(rec) == "c-radio_v3-b"
    assert row_label(right) == "c-radio_v3-b (ignore 65535)"


def test_a_copy_of_the_literature_prompt_file_is_read_the_same_way(tmp_path):
    """A user's cls_context459.txt / cls_ade20k847.txt (CRLF, as ProxyCLIP ships one) is split on '; ' only."""
    from radseg.class_names import BUILTIN_DIR, load_class_names
    lines = (BUILTIN_DIR / "ade847.txt").read_text().splitlines()
    mine = tmp_path / "cls_ade20k847.txt"
    mine.write_bytes(("\r\n".join(lines) + "\r\n").encode())
    assert load_class_names(str(mine), 847) == load_class_names("ade847", 847)
    other = tmp_path / "my_ade847.txt"  # any other name: the toolkit's comma rule, which refuses it
    other.write_text("\n".join(lines) + "\n")
    from radseg.errors import ClassNamesError
    with pytest.raises(ClassNamesError, match="also line"):
        load_class_names(str(other), 847)


def test_sweep_passes_label_ignore_to_16_bit_runs_only_and_matches_records_by_it(tmp_path):
    """--label-ignore reaches ADE-847 / PC-459 runs (eval.py refuses it elsewhere), and a record
    scored with the other setting does not count as this run's."""
    from radseg.sweep import build_parser
    from radseg.sweep.plan import Run, eval_command, record_mismatch

    def run(ds):
        return Run(index=0, model="tiny-random", refine=False, resolution="low_res", dataset=ds,
                   config=Path(f"configs_mmseg/low_res/{ds}.py"), run_dir=tmp_path / ds)

    base = ["--work-dir", str(tmp_path), "--models", "tiny-random", "--gpus", "1"]
    correct = build_parser().parse_args(base + ["--label-ignore", "65535"])
    plain = build_parser().parse_args(base)
    for ds in ("ade847", "pc459"):
        cmd = eval_command(run(ds), correct)
        assert cmd[cmd.index("--label-ignore") + 1] == "65535"
        assert "--label-ignore" not in eval_command(run(ds), plain)
    assert "--label-ignore" not in eval_command(run("voc21"), correct)
    rec = {"benchmark": "ade847", "resolution": "low_res", "sam_refine": False, "model_version": "tiny-random",
           "lang_model": "siglip2", "scra_scaling": 10.0, "scga_scaling": 10.0,
           "label_ignore": {"setting": "literature", "metric_ignore_index": 255}}
    r = run("ade847")
    assert record_mismatch(rec, r, plain) is None
    assert "label_ignore='literature'" in record_mismatch(rec, r, correct)
    rec["label_ignore"] = {"setting": "65535", "metric_ignore_index": 65535}
    assert record_mismatch(rec, r, correct) is None
    assert "label_ignore='65535'" in record_mismatch(rec, r, plain)
