"""Issue 24 section 2: a converter's output passes its own verifier, also when the download has a gap
(a listed or present image without its label source, or a label source without its image).

One test per converter, through the real entry point (`radseg data prepare`, in-process): a raw
folder with such a gap is prepared (exit 0, a warning naming the gap, the gap left out), then
verified; PC-459 (the issue's case) and Context59 are then evaluated with eval.py and the stand-in.
The link converters (VOC, ADE20K) make no folder of their own: they refuse the gap in one line
and link nothing.
"""
import json

import numpy as np
import pytest
from PIL import Image

from test_data_prepare import make_cityscapes_raw, make_coco_raw, make_context_raw, make_voc_raw, write_jpg, write_png
from test_long_vocab import make_ade_raw, write_mat
from test_prepare_then_eval import cli, evaluate


def _prepared(key, raw, data, gap):
    """Prepare (twice: the second run is a no-op that still passes), verify; returns prepare's stdout."""
    out = cli("data", "prepare", key, "--raw", raw, "--out", data)
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"{key}: OK" in out.stdout and "warning:" in out.stdout and gap in out.stdout
    again = cli("data", "prepare", key, "--raw", raw, "--out", data)
    assert again.returncode == 0 and f"{key}: OK" in again.stdout, again.stdout + again.stderr
    ver = cli("data", "verify", key, "--data-dir", data)
    assert ver.returncode == 0 and gap not in ver.stdout.split("warning")[0], ver.stdout + ver.stderr
    return out.stdout


def _evaluated(config, data, work, n_images):
    out = evaluate(config, data, work)
    assert out.returncode == 0, out.stderr[-3000:]
    rec = json.loads((work / "result.json").read_text())
    assert rec["status"] == "complete" and rec["num_images"] == n_images
    return rec


def test_pc459_id_without_mat(tmp_path):
    voc = tmp_path / "raw" / "VOCdevkit" / "VOC2010"
    ids = ["2008_000002", "2008_000003", "2010_000001"]
    (voc / "JPEGImages").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for n in ids:
        Image.fromarray(rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)).save(voc / "JPEGImages" / f"{n}.jpg")
    for n in ids[:2]:
        write_mat(voc / "trainval" / f"{n}.mat", rng.integers(0, 460, (12, 16)))
    (voc / "labels.txt").write_text("1: accordion\n")
    (voc / "pascalcontext_val.txt").write_text("\n".join(ids) + "\n")  # CAT-Seg's list
    data = tmp_path / "data"
    out = _prepared("pc459", voc, data, "2010_000001")
    assert "1 left out of ImageSets/SegmentationContext/pc459_val.txt" in out
    root = data / "VOCdevkit" / "VOC2010"
    assert (root / "ImageSets/SegmentationContext/pc459_val.txt").read_text().split() == ids[:2]
    rec = _evaluated("low_res/pc459.py", data, tmp_path / "w", 2)  # CAT-Seg's set: the ids with a label
    assert rec["benchmark"] == "pc459" and len(rec["per_class"]) == 459


def test_pc459_context_list_is_not_changed(tmp_path):
    """With Context's val.txt present (shared with Context59/60), PC-459 writes only its own split."""
    voc = tmp_path / "raw" / "VOC2010"
    ids = ["2008_000002", "2008_000003"]
    for n in ids:
        write_jpg(voc / "JPEGImages" / f"{n}.jpg", 6, 4)
    write_mat(voc / "trainval" / f"{ids[0]}.mat", np.ones((4, 6)))
    split = voc / "ImageSets/SegmentationContext/val.txt"
    split.parent.mkdir(parents=True)
    split.write_text("".join(n + "\n" for n in ids))
    _prepared("pc459", voc, tmp_path / "data", ids[1])
    root = tmp_path / "data" / "VOCdevkit" / "VOC2010"
    assert split.read_text().split() == ids and not (root / "ImageSets/SegmentationContext/val.txt").exists()
    assert (root / "ImageSets/SegmentationContext/pc459_val.txt").read_text().split() == ids[:1]


def test_context_json_image_without_jpeg(tmp_path):
    voc = make_context_raw(tmp_path / "raw")
    (voc / "JPEGImages" / "2010_000003.jpg").unlink()  # a val image of the JSON
    data = tmp_path / "data"
    out = _prepared("context59", voc, data, "2010_000003")
    assert "left out of ImageSets/SegmentationContext/val.txt" in out
    root = data / "VOCdevkit" / "VOC2010"
    assert (root / "ImageSets/SegmentationContext/val.txt").read_text().split() == ["2009_000005", "2010_000001"]
    _evaluated("low_res/context59.py", data, tmp_path / "w", 2)


@pytest.mark.parametrize("key", ["coco_stuff164k", "coco_object"])
def test_coco_image_without_map(tmp_path, key):
    raw = tmp_path / "raw"
    make_coco_raw(raw, train=False)
    write_jpg(raw / "images" / "val2017" / "000000000632.jpg", 8, 6)  # no stuff-thing map
    data = tmp_path / "data"
    _prepared(key, raw, data, "000000000632")
    root = data / key
    assert sorted(p.name for p in (root / "images" / "val2017").iterdir()) == [
        "000000000139.jpg", "000000000285.jpg"]
    if key == "coco_stuff164k":  # in place the image cannot be left out: one line
        inplace = tmp_path / "d2" / "coco_stuff164k"
        make_coco_raw(inplace, train=False)
        write_jpg(inplace / "images" / "val2017" / "000000000632.jpg", 8, 6)
        out = cli("data", "prepare", key, "--raw", inplace, "--out", tmp_path / "d2")
        assert out.returncode == 2 and "cannot be left out" in out.stderr and "000000000632" in out.stderr


def test_cityscapes_image_without_gtfine(tmp_path):
    raw = tmp_path / "raw"
    make_cityscapes_raw(raw)
    extra = raw / "leftImg8bit" / "val" / "lindau" / "lindau_000002_000019_leftImg8bit.png"
    Image.new("RGB", (40, 30)).save(extra)
    data = tmp_path / "data"
    _prepared("cityscapes", raw, data, "lindau_000002_000019")
    imgs = sorted(p.name for p in (data / "cityscapes" / "leftImg8bit" / "val").rglob("*.png"))
    assert imgs == ["frankfurt_000000_000294_leftImg8bit.png", "lindau_000001_000019_leftImg8bit.png"]


def test_ade847_index_entry_without_seg(tmp_path):
    ade, maps = make_ade_raw(tmp_path / "raw")
    img, _ = maps["ADE_val_00000002.jpg"]
    img.with_name("ADE_val_00000002_seg.png").unlink()
    data = tmp_path / "data"
    _prepared("ade847", ade, data, "ADE_val_00000002")
    root = data / "ADE20K_2021_17_01"
    assert [p.name for p in (root / "images_detectron2" / "validation").iterdir()] == ["ADE_val_00000001.jpg"]


@pytest.mark.parametrize("key", ["voc21", "ade20k"])
def test_link_converters_refuse_a_gap_in_one_line(tmp_path, key):
    raw = tmp_path / "raw"
    if key == "voc21":
        voc = make_voc_raw(raw)
        (voc / "SegmentationClass" / "2007_000033.png").unlink()
        gap, made = "2007_000033", tmp_path / "data" / "VOC2012"
    else:
        ade = raw / "ADEChallengeData2016"
        for i in (1, 2):
            write_jpg(ade / "images" / "validation" / f"ADE_val_0000000{i}.jpg", 12, 9)
        write_png(ade / "annotations" / "validation" / "ADE_val_00000001.png", np.zeros((9, 12)))
        gap, made = "ADE_val_00000002", tmp_path / "data" / "ADEChallengeData2016"
    out = cli("data", "prepare", key, "--raw", raw, "--out", tmp_path / "data")
    assert out.returncode == 2 and gap in out.stderr and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and not made.exists()
