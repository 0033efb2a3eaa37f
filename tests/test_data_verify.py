"""`radseg data verify` / `verify_dataset` on tiny prepared datasets (DATASETS.md section 8)."""
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from radseg.data import ALT_ROOTS, BENCHMARK_KEYS, DEFAULT_ROOTS, check_dataset, resolve_root, verify_dataset
from radseg.errors import DatasetError

REPO = Path(__file__).resolve().parents[1]
NAMES = ["2008_000002", "2008_000003", "2010_000001"]


def write_jpg(path, w, h):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (w, h)).save(path)


def write_label(path, arr, mode="L"):
    path.parent.mkdir(parents=True, exist_ok=True)
    im = Image.fromarray(np.asarray(arr, np.uint8))
    if mode == "P":
        im.putpalette([0, 0, 0, 128, 0, 0] * 128)
    elif mode == "RGB":
        im = im.convert("RGB")
    im.save(path)


def make_context(root, names=NAMES, w=12, h=8):
    """A correct prepared Context layout (values 0..59)."""
    for i, n in enumerate(names):
        write_jpg(root / "JPEGImages" / f"{n}.jpg", w, h)
        arr = np.zeros((h, w), np.uint8)
        arr[1:4, 1:4] = 59
        arr[5, 5] = i
        write_label(root / "SegmentationClassContext" / f"{n}.png", arr)
    split = root / "ImageSets" / "SegmentationContext" / "val.txt"
    split.parent.mkdir(parents=True)
    split.write_text("".join(n + "\n" for n in names))
    return root


@pytest.fixture
def ctx(tmp_path):
    return make_context(tmp_path / "VOCdevkit" / "VOC2010")


def test_benchmark_table():
    assert BENCHMARK_KEYS == ("voc20", "voc21", "context59", "context60", "coco_stuff164k",
                              "coco_object", "cityscapes", "ade20k", "ade847", "pc459")
    assert DEFAULT_ROOTS["voc21"] == "VOC2012" and DEFAULT_ROOTS["ade20k"] == "ADEChallengeData2016"
    assert DEFAULT_ROOTS["context59"] == "VOCdevkit/VOC2010"
    assert "VOCdevkit/VOC2012" in ALT_ROOTS["voc20"] and "COCOStuff" in ALT_ROOTS["coco_stuff164k"]
    with pytest.raises(DatasetError, match="unknown benchmark 'voc'"):
        verify_dataset("voc", ".")


def test_passes_on_correct_dataset(ctx):
    for key in ("context59", "context60"):
        rep = verify_dataset(key, ctx)
        assert rep.ok, rep.summary()
        assert rep.n_images == 3 and rep.n_labels_checked == 3
        assert len(rep.warnings) == 1 and "3 val images" in rep.warnings[0] and "5104" in rep.warnings[0]
        assert rep.summary().startswith(f"{key}: OK")
    rep = verify_dataset("context60", ctx, strict=True)
    assert not rep.ok and "5104" in rep.errors[0] and "--strict" in rep.errors[0]


def test_missing_label(ctx):
    (ctx / "SegmentationClassContext" / "2008_000003.png").unlink()
    for quick in (True, False):
        rep = verify_dataset("context60", ctx, quick=quick)
        assert not rep.ok
        assert len(rep.errors) == 1
        assert "1 label file missing" in rep.errors[0] and "2008_000003" in rep.errors[0]
        assert "2008_000002" not in rep.errors[0]


def test_missing_image(ctx):
    (ctx / "JPEGImages" / "2010_000001.jpg").unlink()
    rep = verify_dataset("context60", ctx, quick=True)
    assert not rep.ok and "1 image listed in" in rep.errors[0] and "2010_000001" in rep.errors[0]


def test_size_mismatch_found_by_quick_and_full(ctx):
    write_label(ctx / "SegmentationClassContext" / "2010_000001.png", np.zeros((8, 10)))
    for quick in (True, False):  # quick reads every header
        rep = verify_dataset("context60", ctx, quick=quick)
        assert not rep.ok and len(rep.errors) == 1
        assert "size (width x height) differs" in rep.errors[0]
        assert "SegmentationClassContext/2010_000001.png (label 10x8, image 12x8)" in rep.errors[0]


def test_out_of_range_value(ctx):
    arr = np.zeros((8, 12), np.uint8)
    arr[0, 0], arr[1, 1] = 60, 255  # Context60 labels are 0..59, no 255
    write_label(ctx / "SegmentationClassContext" / "2008_000002.png", arr)
    rep = verify_dataset("context60", ctx)
    assert not rep.ok
    assert "values outside 0..59" in rep.errors[0]
    assert "SegmentationClassContext/2008_000002.png (60, 255)" in rep.errors[0]


def test_rgb_label(ctx):
    arr = np.zeros((8, 12), np.uint8)
    write_label(ctx / "SegmentationClassContext" / "2008_000002.png", arr, mode="RGB")
    rep = verify_dataset("context60", ctx)
    assert not rep.ok
    assert "not single-channel 8-bit" in rep.errors[0] and "2008_000002.png (RGB)" in rep.errors[0]
    assert verify_dataset("context60", ctx, quick=True).errors == rep.errors  # the header says RGB
    (ctx / "SegmentationClassContext" / "2010_000001.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    rep = verify_dataset("context60", ctx)
    assert len(rep.errors) == 2
    assert "1 unreadable label PNG: SegmentationClassContext/2010_000001.png" in rep.errors[0]


def test_split_file_blank_line_and_duplicate(ctx):
    split = ctx / "ImageSets" / "SegmentationContext" / "val.txt"
    split.write_text("2008_000002\n\n2008_000003\n2010_000001\n")
    rep = verify_dataset("context60", ctx, quick=True)
    assert not rep.ok and rep.n_images == 3
    assert any("1 blank line (line 2)" in e for e in rep.errors), rep.errors
    split.write_text("2008_000002\n2008_000003\n2010_000001\n2008_000003\n")
    rep = verify_dataset("context60", ctx, quick=True)
    assert any("twice: 2008_000003" in e for e in rep.errors), rep.errors
    split.write_text("2008_000002\n2008_000003 \n2010_000001")  # no final newline is fine
    rep = verify_dataset("context60", ctx, quick=True)
    assert any("trailing spaces" in e for e in rep.errors), rep.errors


def test_wrong_root_quick_and_one_line_error(tmp_path, ctx):
    t0 = time.perf_counter()
    rep = verify_dataset("context60", tmp_path / "nope", quick=True)
    assert time.perf_counter() - t0 < 1
    assert not rep.ok and "not found" in rep.errors[0] and "radseg data prepare" in rep.errors[0]
    rep = verify_dataset("voc21", ctx, quick=True)  # a Context root is not a VOC2012 root
    assert not rep.ok and "SegmentationClass" in rep.errors[0]
    with pytest.raises(DatasetError) as ei:
        check_dataset("context60", tmp_path / "nope")
    assert "\n" not in str(ei.value) and "context60 dataset at" in str(ei.value)
    assert check_dataset("context60", ctx).ok


def test_names_are_capped(tmp_path):
    names = [f"2011_{i:06d}" for i in range(13)]
    root = make_context(tmp_path / "VOC2010", names=names)
    for n in names[:12]:
        (root / "SegmentationClassContext" / f"{n}.png").unlink()
    rep = verify_dataset("context60", root, quick=True)
    assert "12 label files missing" in rep.errors[0]
    assert "2011_000009, ... (+2 more)" in rep.errors[0] and "2011_000010" not in rep.errors[0]


def test_voc_palette_labels_and_alt_root(tmp_path):
    root = tmp_path / "VOCdevkit" / "VOC2012"
    arr = np.zeros((6, 7), np.uint8)
    arr[0], arr[1, 1] = 255, 20
    for n in NAMES[:2]:
        write_jpg(root / "JPEGImages" / f"{n}.jpg", 7, 6)
        write_label(root / "SegmentationClass" / f"{n}.png", arr, mode="P")
    (root / "ImageSets" / "Segmentation").mkdir(parents=True)
    (root / "ImageSets" / "Segmentation" / "val.txt").write_text("\n".join(NAMES[:2]))
    assert resolve_root("voc20", tmp_path) == root  # mmseg's VOCdevkit/VOC2012 accepted
    for key in ("voc20", "voc21"):
        rep = verify_dataset(key, resolve_root(key, tmp_path))
        assert rep.ok, rep.summary()  # palette indices 0..20 + 255, not RGB colours


def make_cityscapes(root):
    frames = [("frankfurt", "frankfurt_000000_000294"), ("munster", "munster_000000_000019")]
    for city, fr in frames:
        img = root / "leftImg8bit" / "val" / city / f"{fr}_leftImg8bit.png"
        img.parent.mkdir(parents=True)
        Image.new("RGB", (16, 8)).save(img)
        arr = np.full((8, 16), 255, np.uint8)
        arr[:4] = 18
        write_label(root / "gtFine" / "val" / city / f"{fr}_gtFine_labelTrainIds.png", arr)
        write_label(root / "gtFine" / "val" / city / f"{fr}_gtFine_labelIds.png", arr)
    return frames


def test_scan_layout_with_city_folders(tmp_path):
    root = tmp_path / "CityScapes"
    frames = make_cityscapes(root)
    assert resolve_root("cityscapes", tmp_path) == root
    rep = verify_dataset("cityscapes", root, workers=2)
    assert rep.ok and rep.n_images == 2, rep.summary()
    city, fr = frames[1]
    (root / "gtFine" / "val" / city / f"{fr}_gtFine_labelTrainIds.png").unlink()
    rep = verify_dataset("cityscapes", root, quick=True)
    assert not rep.ok and f"{city}/{fr}" in rep.errors[0]


def test_coco_object_rejects_255(tmp_path):
    root = tmp_path / "coco_object"
    write_jpg(root / "images" / "val2017" / "000000000139.jpg", 5, 4)
    write_label(root / "annotations" / "val2017" / "000000000139_instanceTrainIds.png",
                np.full((4, 5), 255))
    write_label(root / "annotations" / "val2017" / "000000000139.png", np.zeros((4, 5)))
    rep = verify_dataset("coco_object", root)
    assert not rep.ok and "outside 0..80" in rep.errors[0]
    assert verify_dataset("coco_object", root, quick=True).errors == rep.errors  # in the sample
    (root / "images" / "val2017" / "000000000139.jpg").unlink()
    rep = verify_dataset("coco_object", root, quick=True)
    assert not rep.ok and "no *.jpg images" in rep.errors[0]


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "radseg.data.cli", "verify", *map(str, args)],
                          capture_output=True, text=True, cwd=REPO)


def test_cli_exit_codes(tmp_path, ctx, capsys):
    r = _cli("context60", ctx)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "context60: OK, 3 val images" in r.stdout and "warning:" in r.stdout
    from radseg.data.cli import main  # in-process: same code, no interpreter start-up

    assert main(["verify", "context59", "--data-dir", str(tmp_path), "--strict"]) == 1
    assert "5104" in capsys.readouterr().out  # root resolved from --data-dir
    (ctx / "SegmentationClassContext" / "2008_000003.png").unlink()
    r = _cli("context60", ctx, "--quick")
    assert r.returncode == 1 and "NOT USABLE" in r.stdout and "2008_000003" in r.stdout


def test_add_parser_and_no_mm_imports(ctx):
    import argparse
    import ast

    from radseg.data import cli

    top = argparse.ArgumentParser(prog="radseg")
    cli.add_parser(top.add_subparsers(dest="command"))
    args = top.parse_args(["data", "verify", "context60", str(ctx), "--quick"])
    assert args.func is cli.run and cli.run(args) == 0
    args = top.parse_args(["data", "prepare", "voc21", "--raw", "/x", "--out", "/y", "--train"])
    assert (args.data_command, args.raw, args.data_dir, args.train) == ("prepare", "/x", "/y", True)
    for py in (REPO / "radseg" / "data").glob("*.py"):
        for node in ast.walk(ast.parse(py.read_text())):
            mods = ([a.name for a in node.names] if isinstance(node, ast.Import)
                    else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for m in mods:
                assert m.split(".")[0] not in ("mmseg", "mmengine", "mmcv"), f"{py.name}: {m}"


# -- issue 8: one data-folder rule; the quick check reads every header and a decoded sample -----------

def test_table_follows_presets():
    from radseg.presets import DATASETS
    for key in BENCHMARK_KEYS:
        assert (DEFAULT_ROOTS[key],) + ALT_ROOTS[key] == DATASETS[key].data_dirnames


def test_data_dir_rule(tmp_path, monkeypatch):
    from radseg.data import require_data_dir, resolve_data_dir
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RADSEG_DATA_DIR", str(tmp_path / "env"))
    assert resolve_data_dir("flag") == (tmp_path / "flag", "--data-root")  # the flag first
    assert resolve_data_dir(None) == (tmp_path / "env", "$RADSEG_DATA_DIR")  # then the variable
    monkeypatch.setenv("RADSEG_DATA_DIR", "")  # empty = unset
    d = resolve_data_dir(None, flag="--out")
    assert d.path == tmp_path / "data" and d.is_default  # then ./data
    with pytest.raises(DatasetError, match=r"data folder .*data \(from the default ./data\) does not exist"):
        require_data_dir(d)
    (tmp_path / "data").mkdir()
    assert require_data_dir(d) == tmp_path / "data"
    with pytest.raises(DatasetError, match="--out is empty"):
        resolve_data_dir("", flag="--out")


def test_quick_check_decodes_a_sample(ctx, monkeypatch):
    import radseg.data.verify as verify
    assert verify.sample_indices(1000, 16) == verify.sample_indices(1000, 16)  # fixed seed
    s = verify.sample_indices(1000, 5)
    assert len(s) == 5 and s[0] == 0 and s[-1] == 999
    arr = np.zeros((8, 12), np.uint8)
    arr[0, 0] = 200
    write_label(ctx / "SegmentationClassContext" / "2008_000003.png", arr)
    img = ctx / "JPEGImages" / "2010_000001.jpg"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (8, 12, 3), dtype=np.uint8)).save(img)
    img.write_bytes(img.read_bytes()[:-30])  # the header reads, the decoding fails
    rep = verify_dataset("context60", ctx, quick=True)
    assert rep.n_labels_checked == 3 and rep.n_images_decoded == 3
    assert any("JPEGImages/2010_000001.jpg" in e and "unreadable image" in e for e in rep.errors), rep.errors
    assert any("SegmentationClassContext/2008_000003.png (200)" in e for e in rep.errors), rep.errors
    monkeypatch.setattr(verify, "QUICK_LABEL_SAMPLE", 0)  # outside the sample: the metric finds it
    monkeypatch.setattr(verify, "QUICK_IMAGE_SAMPLE", 0)
    assert verify_dataset("context60", ctx, quick=True).ok
