"""Issue 15, section 4: the large-JPEG cap, transparency, URLs, the RADSeg+ stand-in hint, help texts."""
import argparse

import numpy as np
import pytest
from PIL import Image

from radseg import segment as seg_mod
from radseg.errors import DatasetError, WeightsNotFoundError


def test_jpeg_above_the_cap_is_decoded_to_the_cap_with_a_note(tmp_path):
    """A JPEG used to come out at a quarter of its pixels (draft at half size), with no note."""
    path = tmp_path / "photo.jpg"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (300, 400, 3), dtype=np.uint8)).save(path, quality=90)
    notes = []
    img, _ = seg_mod.load_image(str(path), max_pixels=50_000, notify=notes.append)
    assert (img.shape[1], img.shape[0]) == seg_mod.downscaled_size(400, 300, 50_000) == (258, 193)
    assert len(notes) == 1 and "400 x 300" in notes[0] and "258 x 193" in notes[0]
    png = tmp_path / "photo.png"  # a PNG of the same pixels gets the same size and note
    Image.open(path).save(png)
    img_png, _ = seg_mod.load_image(str(png), max_pixels=50_000, notify=notes.append)
    assert img_png.shape == img.shape and "258 x 193" in notes[1]


def test_a_16_7_megapixel_jpeg_keeps_16_megapixels(tmp_path):
    path = tmp_path / "big.jpg"
    Image.new("RGB", (4400, 3800), (90, 140, 200)).save(path, quality=70)
    notes = []
    img, _ = seg_mod.load_image(str(path), notify=notes.append)
    w, h = seg_mod.downscaled_size(4400, 3800, seg_mod.MAX_SEGMENT_PIXELS)
    assert img.shape == (h, w, 3) and 15_990_000 < w * h <= 16_000_000
    assert len(notes) == 1 and "4400 x 3800" in notes[0] and f"{w} x {h}" in notes[0]


def test_transparency_is_composited_over_white_with_a_note(tmp_path):
    rgba = np.zeros((4, 6, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[..., 3] = 255
    rgba[:2, :, 3] = 0        # transparent top half
    rgba[2, 0, 3] = 128       # one half-transparent pixel
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    notes = []
    img, _ = seg_mod.load_image(str(tmp_path / "a.png"), notify=notes.append)
    assert (img[:2] == 255).all()                          # over white
    assert img[3, 0].tolist() == [200, 0, 0]               # opaque: unchanged
    assert img[2, 0].tolist() == [(200 * 128 + 255 * 127 + 127) // 255, 127, 127]
    assert len(notes) == 1 and "composited over white" in notes[0]
    rgba[..., 3] = 255  # fully opaque alpha: the same pixels as RGB, and no note
    Image.fromarray(rgba, "RGBA").save(tmp_path / "b.png")
    img, _ = seg_mod.load_image(str(tmp_path / "b.png"), notify=notes.append)
    assert np.array_equal(img, rgba[..., :3])
    from radseg.predictor import load_rgb  # the Python API follows the same rule for arrays
    rgba[0, 0, 3] = 0
    assert load_rgb(rgba)[0, 0].tolist() == [255, 255, 255]


def test_url_is_one_clear_line():
    with pytest.raises(DatasetError, match=r"is a URL; radseg does not fetch images: download it first"):
        seg_mod.check_image_path("https://example.com/cat.jpg")


def test_radseg_plus_on_a_stand_in_names_the_stand_in_sam(tmp_path, monkeypatch):
    from radseg.predictor import RADSegPredictor
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RADSEG_SAM_CKPT", raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    with pytest.raises(WeightsNotFoundError, match=r"--sam_ckpt tiny-random-sam .*sam_ckpt='tiny-random-sam'"):
        RADSegPredictor.from_pretrained("tiny-random", sam_refine=True)
    from radseg.models.sam import resolve_sam
    with pytest.raises(WeightsNotFoundError) as e:  # a real model keeps the plain message
        resolve_sam(None, model_version="c-radio_v3-b")
    assert "tiny-random-sam" not in str(e.value)


def _flags_without_help(parser, name):
    out = []
    for a in parser._actions:
        if isinstance(a, argparse._SubParsersAction):
            for sub_name, sub in a.choices.items():
                out += _flags_without_help(sub, f"{name} {sub_name}")
        elif not isinstance(a, argparse._HelpAction) and not a.help:
            out.append(f"{name} {'/'.join(a.option_strings) or a.dest}")
    return out


def test_every_flag_of_every_command_has_help():
    """(eval.py's parser: tests/test_own_dataset.py, which imports mmseg anyway.)"""
    from radseg.cli import build_parser
    from radseg.sweep.cli import build_parser as sweep_parser
    missing = _flags_without_help(build_parser(), "radseg") + _flags_without_help(sweep_parser(), "sweep")
    assert missing == []
