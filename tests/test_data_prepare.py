"""`radseg data prepare`: converters on tiny fake downloads in the real raw layouts.

Expected labels are computed here from the facts in docs DATASETS.md (tables
re-typed below), never by calling the code under test.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from radseg.data import prepare_dataset, verify_dataset
from radseg.data.cli import main as cli_main
from radseg.errors import DatasetError

REPO = Path(__file__).resolve().parents[1]

# ----------------------------------------------------------------------------- helpers


def write_jpg(path, w, h):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (w, h), (90, 120, 30)).save(path, quality=60)


def write_png(path, arr, palette=False):
    path.parent.mkdir(parents=True, exist_ok=True)
    im = Image.fromarray(np.asarray(arr, dtype=np.uint8))
    if palette:
        im = im.convert("L").copy()
        im.putpalette([(i * 37) % 256 for i in range(768)])  # makes it mode 'P'
    im.save(path)


def read_label(path):
    with Image.open(path) as im:
        assert im.mode in ("L", "P"), f"{path} is {im.mode}"
        return np.array(im)


def snapshot(folder):
    """{relative path: (mtime_ns, bytes)} of every file under folder (links followed)."""
    out = {}
    for dirpath, _, files in os.walk(folder, followlinks=True):
        for f in files:
            p = Path(dirpath) / f
            out[str(p.relative_to(folder))] = (p.stat().st_mtime_ns, p.read_bytes())
    return out


# ----------------------------------------------------------------------------- PASCAL Context

# DATASETS.md section 2, "Index : Detail id : name".
CONTEXT_TABLE = """
0:0 background | 1:2 aeroplane | 2:9 bag | 3:18 bed | 4:19 bedclothes | 5:22 bench | 6:23 bicycle | 7:25 bird |
8:31 boat | 9:33 book | 10:34 bottle | 11:44 building | 12:45 bus | 13:46 cabinet | 14:59 car | 15:65 cat |
16:68 ceiling | 17:72 chair | 18:80 cloth | 19:85 computer | 20:98 cow | 21:104 cup | 22:105 curtain | 23:113 dog |
24:115 door | 25:144 fence | 26:158 floor | 27:159 flower | 28:162 food | 29:187 grass | 30:189 ground | 31:207 horse |
32:220 keyboard | 33:232 light | 34:258 motorbike | 35:259 mountain | 36:260 mouse | 37:284 person | 38:295 plate |
39:296 platform | 40:308 pottedplant | 41:324 road | 42:326 rock | 43:347 sheep | 44:349 shelves | 45:354 sidewalk |
46:355 sign | 47:360 sky | 48:366 snow | 49:368 sofa | 50:397 table | 51:415 track | 52:416 train | 53:420 tree |
54:424 truck | 55:427 tvmonitor | 56:440 wall | 57:445 water | 58:454 window | 59:458 wood
"""
DETAIL_TO_INDEX = {}
for _item in CONTEXT_TABLE.replace("\n", " ").split("|"):
    _idx, _rest = _item.strip().split(":")
    DETAIL_TO_INDEX[int(_rest.split()[0])] = int(_idx)
assert len(DETAIL_TO_INDEX) == 60 and DETAIL_TO_INDEX[458] == 59 and DETAIL_TO_INDEX[284] == 37


def rle(mask):
    from pycocotools import mask as mask_utils

    r = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(s) for s in r["size"]], "counts": r["counts"].decode("ascii")}


def rect(h, w, r0, r1, c0, c1):
    m = np.zeros((h, w), bool)
    m[r0:r1, c0:c1] = True
    return m


# (file stem, phase, width, height); the test image has no label and is never converted.
CTX_IMAGES = [("2010_000001", "val", 20, 16), ("2010_000002", "train", 18, 14),
              ("2010_000003", "val", 12, 10), ("2008_000009", "test", 10, 10),
              ("2009_000005", "val", 9, 7)]


def context_annotations():
    """[(image stem, detail category id, bool mask, iscrowd)] in JSON order (interleaved images)."""
    h1, w1 = 16, 20
    tri = np.tri(h1, w1, k=-4, dtype=bool)  # lower triangle: tests column-major RLE decoding
    h2, w2 = 14, 18
    return [
        ("2010_000001", 440, rect(h1, w1, 0, 10, 0, 20), 0),       # wall, top part
        ("2010_000002", 59, rect(h2, w2, 2, 12, 2, 12), 0),        # car (train image)
        ("2010_000001", 284, rect(h1, w1, 5, 16, 5, 13), 0),       # person overlaps wall
        ("2010_000001", 2, rect(h1, w1, 8, 13, 10, 19), 1),        # crowd aeroplane overlaps both
        ("2010_000002", 65, rect(h2, w2, 6, 14, 8, 18), 0),        # cat overlaps car
        ("2010_000001", 458, tri, 0),                              # wood triangle, last: on top
        ("2009_000005", 360, rect(7, 9, 0, 3, 0, 9), 0),           # sky
        ("2008_000009", 2, rect(10, 10, 0, 5, 0, 5), 0),           # test phase: ignored
    ]


def make_context_raw(base, extra_ann=None):
    voc = base / "VOCdevkit" / "VOC2010"
    for stem, _, w, h in CTX_IMAGES:
        write_jpg(voc / "JPEGImages" / f"{stem}.jpg", w, h)
    (voc / "SegmentationClass").mkdir(parents=True)
    images = [{"image_id": int(stem.replace("_", "")), "file_name": f"{stem}.jpg", "width": w,
               "height": h, "phase": phase, "date_captured": "2010"}
              for stem, phase, w, h in CTX_IMAGES]
    anns = context_annotations() + (extra_ann or [])
    annos = []
    for i, (stem, cid, m, crowd) in enumerate(anns):
        ys, xs = np.nonzero(m)
        a = {"id": i + 1, "image_id": int(stem.replace("_", "")), "category_id": cid,
             "segmentation": rle(m), "area": int(m.sum()), "iscrowd": crowd,
             "bbox": [int(xs.min()), int(ys.min()), int(np.ptp(xs)) + 1, int(np.ptp(ys)) + 1]}
        if i == 0:  # part masks are parsed and thrown away
            a["parts"] = [{"part_id": 255, "segmentation": rle(m)}]
        annos.append(a)
    doc = {
        "info": {"description": "fake PASCAL in Detail", "version": "3.0", "year": 2017},
        "images": images,
        "annos_segmentation": annos,
        "categories": [{"category_id": c, "name": f"c{c}", "supercategory": "object",
                        "onlysemantic": False, "parts": []} for c in sorted(DETAIL_TO_INDEX) if c],
        "parts": [{"part_id": 1, "name": "head", "superpart": "person"}],
        "annos_occlusion": [],
        "annos_boundary": [{"image_id": images[0]["image_id"],
                            "boundary_mask": rle(np.ones((16, 20), bool))}],
    }
    (voc / "trainval_merged.json").write_text(json.dumps(doc))
    return voc


def expected_context(stem):
    _, _, w, h = next(x for x in CTX_IMAGES if x[0] == stem)
    exp = np.zeros((h, w), np.uint8)
    for s, cid, m, _ in context_annotations():
        if s == stem:
            exp[m] = DETAIL_TO_INDEX[cid]  # later overwrites earlier
    return exp


def test_context_val_only_pixels_and_split(tmp_path):
    voc = make_context_raw(tmp_path / "raw")
    data = tmp_path / "data"
    res = prepare_dataset("context60", raw=tmp_path / "raw", data_dir=data, workers=1)
    root = data / "VOCdevkit" / "VOC2010"
    assert res.root == root and res.converted == 3 and res.skipped == 0
    lbl = root / "SegmentationClassContext"
    assert sorted(p.name for p in lbl.iterdir()) == ["2009_000005.png", "2010_000001.png",
                                                     "2010_000003.png"]
    for stem in ("2010_000001", "2010_000003", "2009_000005"):
        got = read_label(lbl / f"{stem}.png")
        np.testing.assert_array_equal(got, expected_context(stem), err_msg=stem)
    one = read_label(lbl / "2010_000001.png")
    assert one[9, 11] == 1            # crowd aeroplane painted over person and wall
    assert one[6, 6] == 37            # person over wall
    assert one[0, 0] == 56            # wall
    assert one[15, 0] == 59           # wood triangle (last annotation) on top
    assert one[15, 19] == 0           # unannotated
    assert not read_label(lbl / "2010_000003.png").any()  # no annotation: background
    split = root / "ImageSets" / "SegmentationContext"
    assert (split / "val.txt").read_text() == "2009_000005\n2010_000001\n2010_000003\n"
    assert not (split / "train.txt").exists()
    assert (root / "JPEGImages").is_symlink()
    assert (root / "JPEGImages").resolve() == (voc / "JPEGImages").resolve()
    rep = verify_dataset("context60", root)
    assert rep.ok, rep.summary()
    assert rep.n_images == 3 and any("5104" in w for w in rep.warnings)


def test_context_train_flag_and_workers(tmp_path):
    make_context_raw(tmp_path / "raw")
    data = tmp_path / "data"
    res = prepare_dataset("context59", raw=tmp_path / "raw" / "VOCdevkit", data_dir=data,
                          train=True, workers=2)
    assert res.converted == 4
    root = data / "VOCdevkit" / "VOC2010"
    assert (root / "ImageSets/SegmentationContext/train.txt").read_text() == "2010_000002\n"
    got = read_label(root / "SegmentationClassContext" / "2010_000002.png")
    np.testing.assert_array_equal(got, expected_context("2010_000002"))
    assert got[10, 10] == 15 and got[3, 3] == 14  # cat over car; car
    np.testing.assert_array_equal(read_label(root / "SegmentationClassContext/2010_000001.png"),
                                  expected_context("2010_000001"))
    assert not (root / "SegmentationClassContext" / "2008_000009.png").exists()


def test_context_idempotent_cli(tmp_path, capsys):
    make_context_raw(tmp_path / "raw")
    data = tmp_path / "data"
    args = ["prepare", "context60", "--raw", str(tmp_path / "raw"), "--out", str(data),
            "--workers", "1"]
    assert cli_main(args) == 0
    out1 = capsys.readouterr().out
    assert "converted 3 labels" in out1
    root = data / "VOCdevkit" / "VOC2010"
    before = snapshot(root)
    assert cli_main(args) == 0
    out2 = capsys.readouterr().out
    assert "nothing to convert" in out2 and "3 labels already present" in out2
    assert "wrote" not in out2 and "linked" not in out2
    assert snapshot(root) == before
    # a wrong-size leftover (e.g. from another tool) is converted again
    write_png(root / "SegmentationClassContext" / "2010_000003.png", np.zeros((3, 3)))
    assert cli_main(args) == 0
    assert "converted 1 labels (2 already done)" in capsys.readouterr().out
    np.testing.assert_array_equal(read_label(root / "SegmentationClassContext/2010_000003.png"),
                                  np.zeros((10, 12), np.uint8))


def test_context_in_place(tmp_path):
    data = tmp_path / "data"
    voc = make_context_raw(data)  # extracted straight into data/VOCdevkit/VOC2010
    res = prepare_dataset("context60", data_dir=data, workers=1)  # --raw defaults to in place
    assert res.root == voc and res.converted == 3
    assert not (voc / "JPEGImages").is_symlink()
    assert (voc / "ImageSets/SegmentationContext/val.txt").is_file()


def test_context_unknown_category_is_an_error(tmp_path):
    bad = [("2010_000003", 3, rect(10, 12, 0, 2, 0, 2), 0)]  # 3 is not one of the 59 ids
    make_context_raw(tmp_path / "raw", extra_ann=bad)
    with pytest.raises(DatasetError, match=r"2010_000003\.jpg.*category id 3\b"):
        prepare_dataset("context60", raw=tmp_path / "raw", data_dir=tmp_path / "data", workers=1)


def test_context_missing_json_message(tmp_path):
    voc = make_context_raw(tmp_path / "raw")
    (voc / "trainval_merged.json").unlink()
    with pytest.raises(DatasetError, match="trainval_merged.json not found.*--json"):
        prepare_dataset("context60", raw=voc, data_dir=tmp_path / "data")


# ----------------------------------------------------------------------------- COCO

# DATASETS.md section 3: raw thing values without masks.
UNUSED = [11, 25, 28, 29, 44, 65, 67, 68, 70, 82, 90]
USED = sorted(set(range(182)) - set(UNUSED))  # 171 raw values


def stuff_expected(v):
    if v == 255:
        return 255
    if v in USED:
        return USED.index(v)  # position among the used raw values
    return v  # outside mmseg's table: left unchanged


def object_expected(v):
    if v <= 90 and v in USED:
        return USED.index(v) + 1  # COCO-Stuff trainId + 1
    return 0  # stuff, unlabeled, unused


def test_coco_mappings_spot_values():
    assert len(USED) == 171
    assert [stuff_expected(v) for v in (0, 10, 12, 89, 91, 181, 255)] == [0, 10, 11, 79, 80, 170, 255]
    assert [object_expected(v) for v in (0, 89, 91, 181, 255)] == [1, 80, 0, 0, 0]


COCO_IDS = ["000000000139", "000000000285"]


def make_coco_raw(base, train=True):
    rng = np.random.default_rng(0)
    maps = {}
    every = np.concatenate([np.arange(182), np.full(10, 255)]).reshape(12, 16)  # all ids + 255
    maps[("val2017", COCO_IDS[0])] = every
    maps[("val2017", COCO_IDS[1])] = rng.choice(USED + [255], size=(9, 13))
    if train:
        maps[("train2017", "000000000009")] = rng.choice(USED + [255], size=(8, 8))
    for (split, stem), arr in maps.items():
        write_jpg(base / "images" / split / f"{stem}.jpg", arr.shape[1], arr.shape[0])
        write_png(base / "annotations" / split / f"{stem}.png", arr, palette=(stem == COCO_IDS[1]))
    return maps


def test_coco_stuff_and_object_pixels(tmp_path, capsys):
    raw = tmp_path / "raw"
    maps = make_coco_raw(raw)
    data = tmp_path / "data"
    assert cli_main(["prepare", "coco_stuff164k", "--raw", str(raw), "--out", str(data),
                     "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert "converted 2 labels" in out
    assert "1 raw maps hold values that are not COCO-Stuff label ids" in out  # the unused ids
    assert "000000000139.png (11, 25, 28" in out
    cs = data / "coco_stuff164k"
    assert (cs / "images" / "val2017").is_symlink()
    assert (cs / "images" / "val2017").resolve() == (raw / "images" / "val2017").resolve()
    assert not (cs / "images" / "train2017").exists()  # --train is off by default
    assert not (cs / "annotations" / "train2017").exists()
    for stem in COCO_IDS:
        got = read_label(cs / "annotations" / "val2017" / f"{stem}_labelTrainIds.png")
        exp = np.vectorize(stuff_expected)(maps[("val2017", stem)]).astype(np.uint8)
        np.testing.assert_array_equal(got, exp)

    assert cli_main(["prepare", "coco_object", "--raw", str(raw), "--out", str(data),
                     "--workers", "2"]) == 0
    co = data / "coco_object"
    assert (co / "images" / "val2017").resolve() == (raw / "images" / "val2017").resolve()
    for stem in COCO_IDS:
        got = read_label(co / "annotations" / "val2017" / f"{stem}_instanceTrainIds.png")
        exp = np.vectorize(object_expected)(maps[("val2017", stem)]).astype(np.uint8)
        np.testing.assert_array_equal(got, exp)
        assert got.max() <= 80 and 255 not in got
    assert verify_dataset("coco_object", co).ok
    assert verify_dataset("coco_stuff164k", cs).errors == []


def test_coco_in_place_skips_trainids_and_is_idempotent(tmp_path, capsys):
    data = tmp_path / "data"
    cs = data / "coco_stuff164k"
    maps = make_coco_raw(cs)
    assert cli_main(["prepare", "coco_stuff164k", "--out", str(data), "--workers", "1",
                     "--train"]) == 0
    assert "converted 3 labels" in capsys.readouterr().out
    ann = cs / "annotations" / "val2017"
    assert (ann / f"{COCO_IDS[0]}_labelTrainIds.png").is_file()  # beside the raw maps
    assert not (cs / "images" / "val2017").is_symlink()
    got = read_label(cs / "annotations/train2017/000000000009_labelTrainIds.png")
    np.testing.assert_array_equal(
        got, np.vectorize(stuff_expected)(maps[("train2017", "000000000009")]).astype(np.uint8))
    before = snapshot(cs)
    assert cli_main(["prepare", "coco_stuff164k", "--out", str(data), "--workers", "1",
                     "--train"]) == 0
    assert "nothing to convert, all 3 labels already present" in capsys.readouterr().out
    assert snapshot(cs) == before
    # COCO-Object from the in-place COCO-Stuff folder (its default --raw): TrainIds inputs skipped
    assert cli_main(["prepare", "coco_object", "--out", str(data), "--workers", "1"]) == 0
    names = sorted(p.name for p in (data / "coco_object/annotations/val2017").iterdir())
    assert names == [f"{s}_instanceTrainIds.png" for s in COCO_IDS]


def test_coco_bad_layout_message(tmp_path):
    (tmp_path / "raw" / "val2017").mkdir(parents=True)
    with pytest.raises(DatasetError, match="unzip val2017.zip into"):
        prepare_dataset("coco_stuff164k", raw=tmp_path / "raw", data_dir=tmp_path / "data")


# ----------------------------------------------------------------------------- Cityscapes

# cityscapesScripts labels.py: name -> (id, trainId) for the labels used below.
CS_LABELS = {"unlabeled": (0, 255), "ego vehicle": (1, 255), "static": (4, 255),
             "road": (7, 0), "sidewalk": (8, 1), "parking": (9, 255), "building": (11, 2),
             "pole": (17, 5), "polegroup": (18, 255), "vegetation": (21, 8), "sky": (23, 10),
             "person": (24, 11), "rider": (25, 12), "car": (26, 13), "bicycle": (33, 18),
             "license plate": (-1, -1)}


def rasterise(poly_json, encoding):
    """Independent re-implementation of json2labelImg as DATASETS.md describes it."""
    w, h = poly_json["imgWidth"], poly_json["imgHeight"]
    img = Image.new("L", (w, h), 0 if encoding == "ids" else 255)
    draw = ImageDraw.Draw(img)
    for obj in poly_json["objects"]:
        if obj.get("deleted"):
            continue
        label = obj["label"]
        if label not in CS_LABELS and label.endswith("group"):
            label = label[: -len("group")]
        lid, tid = CS_LABELS[label]
        if lid < 0:
            continue
        draw.polygon([tuple(p) for p in obj["polygon"]], fill=lid if encoding == "ids" else tid)
    return np.array(img)


def cs_objects(shift):
    s = shift
    return [
        {"label": "sky", "polygon": [[0, 0], [39, 0], [39, 8], [0, 8]]},
        {"label": "road", "polygon": [[0, 20], [39, 20], [39, 29], [0, 29]]},
        {"label": "building", "polygon": [[2 + s, 2], [20 + s, 2], [20 + s, 22], [2 + s, 22]]},
        {"label": "sidewalk", "polygon": [[0, 18], [15, 29], [0, 29]]},
        {"label": "cargroup", "polygon": [[10, 12], [30, 12], [30, 25], [10, 25]]},
        {"label": "license plate", "polygon": [[14, 20], [20, 20], [20, 23], [14, 23]]},
        {"label": "person", "polygon": [[25, 5], [29, 5], [27, 24]], "deleted": 1},
        {"label": "persongroup", "polygon": [[31, 6], [36, 6], [36, 26], [31, 26]]},
        {"label": "polegroup", "polygon": [[37, 1], [38, 1], [38, 28], [37, 28]]},
        {"label": "ego vehicle", "polygon": [[0, 27], [39, 27], [39, 29], [0, 29]]},
        {"label": "bicycle", "polygon": [[3, 3], [9.5, 4.2], [6, 11.7]]},
        {"label": "static", "polygon": [[22, 10], [24, 10], [24, 11], [22, 11]]},
    ]


CS_FRAMES = [("val", "frankfurt", "frankfurt_000000_000294", 0),
             ("val", "lindau", "lindau_000001_000019", 3),
             ("train", "aachen", "aachen_000000_000019", 5)]


def make_cityscapes_raw(base):
    for split, city, frame, shift in CS_FRAMES:
        gt = base / "gtFine" / split / city
        gt.mkdir(parents=True, exist_ok=True)
        poly = {"imgHeight": 30, "imgWidth": 40, "objects": cs_objects(shift)}
        (gt / f"{frame}_gtFine_polygons.json").write_text(json.dumps(poly))
        write_png(gt / f"{frame}_gtFine_labelIds.png", rasterise(poly, "ids"))
        img = base / "leftImg8bit" / split / city / f"{frame}_leftImg8bit.png"
        img.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (40, 30)).save(img)


def cs_expected(base, split, city, frame):
    poly = json.loads((base / "gtFine" / split / city / f"{frame}_gtFine_polygons.json").read_text())
    return rasterise(poly, "trainIds")


def test_cityscapes_labelids_route(tmp_path, capsys):
    raw = tmp_path / "raw"
    make_cityscapes_raw(raw)
    data = tmp_path / "data"
    args = ["prepare", "cityscapes", "--raw", str(raw), "--out", str(data), "--workers", "1",
            "--cityscapes-method", "labelids"]
    assert cli_main(args) == 0
    out = capsys.readouterr().out
    assert "converted 2 labels" in out and "_gtFine_labelIds.png remapped" in out
    root = data / "cityscapes"
    for split, city, frame, _ in CS_FRAMES[:2]:
        got = read_label(root / "gtFine" / split / city / f"{frame}_gtFine_labelTrainIds.png")
        exp = cs_expected(raw, split, city, frame)
        np.testing.assert_array_equal(got, exp, err_msg=frame)
    # spot checks on the expected map itself: group suffix, plate not drawn, deleted skipped
    exp = cs_expected(raw, *CS_FRAMES[0][:3])
    assert exp[21, 16] == 13          # license plate (id -1) not drawn: car below stays
    assert exp[15, 27] == 13          # deleted person skipped: car
    assert exp[15, 33] == 11          # persongroup -> person
    assert exp[5, 37] == 255          # polegroup -> 255
    assert exp[28, 20] == 255         # ego vehicle over road -> 255
    assert set(np.unique(exp)) <= set(range(19)) | {255}
    assert not (root / "gtFine" / "train").exists()  # --train off by default
    assert (root / "leftImg8bit" / "val").resolve() == (raw / "leftImg8bit" / "val").resolve()
    assert verify_dataset("cityscapes", root).errors == []
    assert cli_main(args) == 0
    assert "nothing to convert, all 2 labels" in capsys.readouterr().out


def test_cityscapes_scripts_route_agrees(tmp_path):
    pytest.importorskip("cityscapesscripts.preparation.json2labelImg")
    raw = tmp_path / "raw"
    make_cityscapes_raw(raw)
    res = prepare_dataset("cityscapes", raw=raw, data_dir=raw.parent / "data", workers=1,
                          train=True, cityscapes_method="scripts")
    assert res.converted == 3
    for split, city, frame, _ in CS_FRAMES:
        got = read_label(res.root / "gtFine" / split / city / f"{frame}_gtFine_labelTrainIds.png")
        np.testing.assert_array_equal(got, cs_expected(raw, split, city, frame), err_msg=frame)


# ----------------------------------------------------------------------------- VOC2012 / ADE20K


def make_voc_raw(base, names=("2007_000032", "2007_000033", "2007_000039")):
    voc = base / "VOCdevkit" / "VOC2012"
    for i, n in enumerate(names):
        write_jpg(voc / "JPEGImages" / f"{n}.jpg", 10 + i, 8)
        arr = np.zeros((8, 10 + i), np.uint8)
        arr[2:5, 2:5] = i + 1
        arr[0, :] = 255
        write_png(voc / "SegmentationClass" / f"{n}.png", arr, palette=True)
    seg = voc / "ImageSets" / "Segmentation"
    seg.mkdir(parents=True)
    (seg / "val.txt").write_text("".join(n + "\n" for n in names[:2]))
    (seg / "train.txt").write_text(names[2] + "\n")
    return voc


def test_voc_links_and_second_run_is_a_no_op(tmp_path, capsys):
    voc = make_voc_raw(tmp_path / "raw")
    data = tmp_path / "data"
    args = ["prepare", "voc21", "--raw", str(tmp_path / "raw"), "--out", str(data)]
    assert cli_main(args) == 0
    assert "linked" in capsys.readouterr().out
    assert (data / "VOC2012").is_symlink() and (data / "VOC2012").resolve() == voc.resolve()
    assert cli_main(["prepare", "voc20", "--raw", str(voc), "--out", str(data)]) == 0
    out = capsys.readouterr().out
    assert "already in place" in out and "linked" not in out
    assert verify_dataset("voc21", data / "VOC2012").errors == []


def test_voc_in_place_mmseg_layout_not_linked(tmp_path, capsys):
    data = tmp_path / "data"
    make_voc_raw(data)  # data/VOCdevkit/VOC2012: an accepted root
    assert cli_main(["prepare", "voc21", "--out", str(data)]) == 0
    assert "already in place" in capsys.readouterr().out
    assert not (data / "VOC2012").exists()


def test_voc_incomplete_download_is_refused(tmp_path):
    voc = make_voc_raw(tmp_path / "raw")
    (voc / "SegmentationClass" / "2007_000033.png").unlink()
    with pytest.raises(DatasetError, match="2007_000033"):
        prepare_dataset("voc21", raw=tmp_path / "raw", data_dir=tmp_path / "data")
    assert not (tmp_path / "data" / "VOC2012").exists()


def test_voc_existing_different_destination_is_not_touched(tmp_path):
    make_voc_raw(tmp_path / "raw")
    (tmp_path / "data" / "VOC2012").mkdir(parents=True)
    with pytest.raises(DatasetError, match="already exists"):
        prepare_dataset("voc21", raw=tmp_path / "raw", data_dir=tmp_path / "data")


def test_ade20k_link(tmp_path):
    ade = tmp_path / "raw" / "ADEChallengeData2016"
    for i in (1, 2):
        write_jpg(ade / "images" / "validation" / f"ADE_val_0000000{i}.jpg", 12, 9)
        write_png(ade / "annotations" / "validation" / f"ADE_val_0000000{i}.png",
                  np.full((9, 12), 150 if i == 1 else 0))
    (ade / "images" / "training").mkdir()
    res = prepare_dataset("ade20k", raw=tmp_path / "raw", data_dir=tmp_path / "data")
    assert res.root == tmp_path / "data" / "ADEChallengeData2016" and res.root.is_symlink()
    rep = verify_dataset("ade20k", res.root)
    assert rep.ok and rep.n_images == 2


# ----------------------------------------------------------------------------- process_dataset.sh


def test_process_dataset_sh(tmp_path):
    script = REPO / "process_dataset.sh"
    env = dict(os.environ, PYTHON=sys.executable)
    r = subprocess.run(["bash", str(script)], capture_output=True, text=True, env=env)
    assert r.returncode == 1 and "Usage: process_dataset.sh" in r.stdout
    make_voc_raw(tmp_path / "raw")
    make_coco_raw(tmp_path / "coco", train=False)
    env["VOC2012_RAW"] = str(tmp_path / "raw" / "VOCdevkit" / "VOC2012")
    r = subprocess.run(["bash", str(script), "--out", str(tmp_path / "data"), "--workers", "1",
                        "voc21", f"coco_object={tmp_path / 'coco'}"],
                       capture_output=True, text=True, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert (tmp_path / "data" / "VOC2012").is_symlink()
    assert len(list((tmp_path / "data/coco_object/annotations/val2017").iterdir())) == 2


def test_coco_object_keeps_copied_images_and_reports_damaged_maps(tmp_path):
    raw = tmp_path / "raw"
    make_coco_raw(raw, train=False)
    data = tmp_path / "data"
    write_jpg(data / "coco_object" / "images" / "val2017" / f"{COCO_IDS[0]}.jpg", 16, 12)  # a copy
    res = prepare_dataset("coco_object", raw=raw, data_dir=data, workers=1)
    assert any("kept the existing image folder" in n for n in res.notes)
    assert not (data / "coco_object" / "images" / "val2017").is_symlink()
    bad = raw / "annotations" / "val2017" / "000000000777.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(DatasetError, match="000000000777.png cannot be read"):
        prepare_dataset("coco_object", raw=raw, data_dir=data, workers=1)
