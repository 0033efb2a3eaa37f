"""radseg demo without a browser: the pure inference function (radseg.demo.core), its input
checks and messages, the model cache, and the subcommand. Uses the tiny-random stand-in."""
import numpy as np
import pytest
from PIL import Image

from radseg.class_names import load_class_names
from radseg.demo.core import (
    DemoApp,
    DemoInputError,
    DemoSettings,
    benchmark_choices,
    benchmark_classes_text,
    benchmark_duplicates,
    heat_colors,
    parse_classes_text,
    preset_values,
    timings_markdown,
)
from radseg.errors import WeightsNotFoundError

SMALL = dict(scale_long=448, scale_short=224, slide_crop=224, slide_stride=112)  # one or two windows: fast


def _image(h=96, w=128):
    img = np.zeros((h, w, 3), np.uint8)
    img[: h // 2] = (90, 160, 230)
    img[h // 2:] = (60, 160, 60)
    img[h // 3: 2 * h // 3, w // 3: 2 * w // 3] = (240, 240, 240)
    return img


def _settings(**kw):
    return DemoSettings(**{"model_version": "tiny-random", **SMALL, **kw})


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    a = DemoApp(device="cpu", out_dir=str(tmp_path_factory.mktemp("demo_out")))
    yield a
    a.close()


# -- classes --------------------------------------------------------------------------------------

def test_classes_parsing_commas_lines_synonyms_and_blanks():
    assert parse_classes_text("sky, grass|lawn ,sheep") == [["sky"], ["grass", "lawn"], ["sheep"]]
    assert parse_classes_text("sky\n grass | lawn\n\nsheep,\n") == [["sky"], ["grass", "lawn"], ["sheep"]]
    assert parse_classes_text("猫, café") == [["猫"], ["café"]]


@pytest.mark.parametrize("text, words", [
    ("", "no classes"), ("   \n ", "no classes"), (None, "no classes"), (",, ,", "no classes"),
    ("sky, |", "empty synonym"), ("sky, grass|", "empty synonym"), ("sky, !!", "not a class name"),
    ("sky, Sky", "also class 1"), ("sky, grass|SKY", "also class 1"), ("dog|dog", "twice in one class"),
    (", ".join(f"c{i}" for i in range(257)), "at most 256"),
])
def test_bad_classes_give_one_line_messages(text, words):
    with pytest.raises(DemoInputError) as e:
        parse_classes_text(text)
    assert words in str(e.value) and "\n" not in str(e.value)


def test_benchmark_lists_round_trip_through_the_class_box():
    keys = [k for _, k in benchmark_choices()]
    assert keys[:5] == ["voc20", "context59", "coco_stuff164k", "cityscapes", "ade20k"]
    for key in ("voc20", "ade20k"):
        text = benchmark_classes_text(key)
        assert parse_classes_text(text) == load_class_names(key)
    # COCO-Object's reference list names 'bed' twice: accepted as loaded, refused once edited
    text = benchmark_classes_text("coco_object")
    assert len(parse_classes_text(text, benchmark_duplicates("coco_object", text))) == 81
    assert benchmark_duplicates("coco_object", text + "\nlamp") == ()
    assert benchmark_classes_text("") == ""


def test_presets_fill_scale_and_windows():
    assert preset_values(None, "mid_res") == (2048, 448, 336, 224)  # radseg segment's defaults
    assert preset_values("voc20", "low_res") == (2048, 336, 224, 112)
    assert preset_values("cityscapes", "high_res") == (2688, 1344, 336, 224)
    assert preset_values("voc20", "custom") is None


# -- settings -------------------------------------------------------------------------------------

RAW = dict(model_version="tiny-random", sam_refine=False, scale_long=2048, scale_short=448, slide_crop=336,
           slide_stride=224, scra_scaling=10, scga_scaling=10)


@pytest.mark.parametrize("field, value, words", [
    ("slide_crop", None, "window size is empty"), ("slide_stride", "abc", "not a number"),
    ("scale_short", 2.5, "whole number"), ("scale_long", 0, "at least 1"), ("slide_crop", -16, "at least 0"),
    ("scra_scaling", 0, "positive"), ("scga_scaling", float("nan"), "positive"), ("scga_scaling", "", "empty"),
    ("model_version", " ", "choose a model"),
])
def test_bad_numbers_give_messages(field, value, words):
    with pytest.raises(DemoInputError) as e:
        DemoSettings.from_inputs(**{**RAW, field: value})
    assert words in str(e.value)


def test_settings_from_page_values():
    s = DemoSettings.from_inputs(**{**RAW, "slide_crop": 224.0, "slide_stride": "112"}, benchmark="voc20")
    assert (s.slide_crop, s.slide_stride, s.coarse_thresh, s.benchmark) == (224, 112, 0.2, "voc20")
    assert s.overrides()["scale"] == (2048, 448)


# -- one run ----------------------------------------------------------------------------------------

def test_run_returns_overlay_heatmaps_label_png_and_timings(app, tmp_path):
    path = tmp_path / "field.png"
    Image.fromarray(_image()).save(path)
    res = app.run(str(path), "sky, grass|lawn, cloud", settings=_settings())
    assert res.error is None, res.error
    assert res.classes == ["sky", "grass", "cloud"]
    assert res.overlay.height == 96 and res.overlay.width > 128  # the legend is beside the image
    assert [c.rsplit(": ", 1)[0] for _, c in res.heatmaps] == ["sky", "grass", "cloud"]
    assert all(im.size == (128, 96) for im, _ in res.heatmaps)
    with Image.open(res.label_path) as lab:
        assert lab.mode == "P" and lab.size == (128, 96)
        assert np.asarray(lab).max() < 3
    assert res.label_path.endswith("field_labels.png")
    for stage in ("preprocess", "windows_backbone", "scga", "project_cosine", "total"):
        assert stage in res.timings
    assert "| total |" in res.timings_text and "RADIO windows" in res.timings_text
    assert "128 x 96 image, 3 classes" in res.message and "random" in res.message


def test_model_cache_reused_across_runs_and_settings(app):
    before = app.loads
    app.run(_image(), "sky, grass", settings=_settings())
    pred, _ = app.predictor("tiny-random", False)
    res = app.run(_image(), "sky, grass, water", settings=_settings(scra_scaling=5.0, scga_scaling=2.0,
                                                                    slide_crop=0, slide_stride=0))
    assert res.error is None, res.error
    assert app.loads == max(before, 1)  # loaded once (by this or an earlier test), then reused
    assert "model_load" not in res.timings
    assert app.predictor("tiny-random", False)[0] is pred
    enc = pred.encoder
    assert (enc.scra_scaling, enc.scga_scaling, enc.slide_crop) == (5.0, 2.0, 0)
    assert enc.bundle.vit.blocks[-1].attn.scaling == 5.0  # SCRA re-scaled in place
    assert pred.config.scale == (448, 224)


def test_radseg_plus_is_a_second_cache_entry(app):
    n = app.loads
    res = app.run(_image(), "sky, grass", settings=_settings(sam_refine=True))
    assert res.error is None, res.error
    assert "SAM" in res.message and "regions" in res.timings  # the refiner ran (timed stages)
    assert app.loads == n + 1 and ("tiny-random", True) in app.loaded()
    app.run(_image(), "sky, grass", settings=_settings(sam_refine=True))
    assert app.loads == n + 1


def _error(app, image, classes="sky, grass", **kw):
    res = app.run(image, classes, settings=_settings(**kw))
    assert res.overlay is None and res.error, res
    assert "Traceback" not in res.error and "\n" not in res.error
    return res.error


def test_bad_inputs_give_messages_not_tracebacks(app, tmp_path):
    assert "no image" in _error(app, None)
    assert "no classes" in _error(app, _image(), classes=" , ")
    txt = tmp_path / "notes.txt"
    txt.write_text("not an image")
    msg = _error(app, str(txt))
    assert "cannot read image 'notes.txt'" in msg and str(tmp_path) not in msg
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 20)
    assert "broken.png" in _error(app, str(bad))
    assert "gone" in _error(app, str(tmp_path / "missing.png"))
    assert "multiples of the model's patch size" in _error(app, _image(), slide_crop=100, slide_stride=50)
    assert "stride" in _error(app, _image(), slide_crop=224, slide_stride=448)
    assert "unknown --model_version 'nope'" in _error(app, _image(), model_version="nope")
    raw = app.run(_image(), "sky", **{**RAW, "scga_scaling": "ten"})
    assert raw.error == "SCGA scaling 'ten' is not a number."


def test_images_above_the_limit_are_refused_before_decoding(tmp_path):
    small = DemoApp(device="cpu", max_megapixels=0.01, out_dir=str(tmp_path / "out"),
                    loader=lambda *a: pytest.fail("no model may load for a refused image"))
    path = tmp_path / "big.png"
    Image.fromarray(np.zeros((100, 200, 3), np.uint8)).save(path)
    res = small.run(str(path), "sky", settings=_settings())
    assert "'big.png' is 200 x 100 pixels (0.0 MP), above the demo's limit of 0.01 MP" in res.error
    assert "above the demo's limit" in small.run(np.zeros((100, 200, 3), np.uint8), "sky",
                                                 settings=_settings()).error


def test_missing_weights_and_internal_errors_are_messages(tmp_path):
    def no_weights(mv, refine):
        raise WeightsNotFoundError(f"could not load RADIO weights for {mv}: no network? To try the toolkit "
                                   f"now: --model_version tiny-random.")
    res = DemoApp(out_dir=str(tmp_path / "a"), loader=no_weights).run(_image(), "sky", settings=_settings(
        model_version="c-radio_v3-b"))
    assert res.error.startswith("could not load RADIO weights for c-radio_v3-b")

    def broken(mv, refine):
        raise RuntimeError("CUDA out of memory\nmore lines")
    res = DemoApp(out_dir=str(tmp_path / "b"), loader=broken).run(_image(), "sky", settings=_settings())
    assert res.error.startswith("internal error (RuntimeError: CUDA out of memory more lines)")


def test_heat_colours_and_timings_table():
    c = heat_colors(np.array([0.0, 0.5, 1.0, 2.0]))
    assert c.dtype == np.uint8 and c.shape == (4, 3)
    assert tuple(c[0]) == (0, 0, 4) and tuple(c[2]) == tuple(c[3]) == (252, 255, 164)
    table = timings_markdown({"model_load": 1000.0, "preprocess": 1.0, "custom": 2.0, "total": 1003.0})
    lines = table.splitlines()
    assert (lines[2].startswith("| model load") and lines[-2] == "| custom | 2.0 |"
            and lines[-1] == "| total | 1,003.0 |")


# -- the subcommand ---------------------------------------------------------------------------------

def test_cli_registers_demo_and_checks_flags_before_serving(capsys):
    from radseg.cli import build_parser, main
    args = build_parser().parse_args(["demo", "--model_version", "tiny-random", "--port", "0"])
    assert (args.host, args.port, args.max_megapixels) == ("127.0.0.1", 0, 16.0)
    assert main(["demo", "--model_version", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: unknown --model_version 'nope'")  # before Gradio is imported
    assert main(["demo", "--max-megapixels", "0"]) == 2 and "must be positive" in capsys.readouterr().err


def test_free_port():
    import socket

    from radseg.demo.cli import free_port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        taken = s.getsockname()[1]
        assert free_port("127.0.0.1", taken) != taken
