"""RADSegPredictor: accepted images, the test pipeline, batches, and a core without mm*."""
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from PIL import Image

from radseg import RADSegConfig, RADSegPredictor
from radseg.errors import ClassNamesError, ConfigError
from radseg.preprocess import network_input, rescale_like_mmseg

CLASSES = ["cat", "wall", "floor|ground"]


@pytest.fixture(scope="module")
def predictor():
    return RADSegPredictor.from_pretrained("tiny-random", device="cpu", slide_crop=64, slide_stride=32,
                                           scale=(256, 96), text_disk_cache=False)


@pytest.fixture(scope="module")
def image():
    return np.random.default_rng(0).integers(0, 256, (75, 110, 3), dtype=np.uint8)


def test_predict_outputs_at_the_image_size(predictor, image):
    r = predictor.predict(image, CLASSES)
    assert r.labels.shape == (75, 110) and r.labels.dtype == torch.int64
    assert r.probs.shape == (3, 75, 110) and r.classes == ["cat", "wall", "floor"]
    assert set(r.timings) == {"preprocess", "segment", "total"}
    ov = r.overlay()
    assert ov.height >= 75 and ov.width > 110  # legend column
    assert r.label_image().mode == "P"


def test_same_result_as_the_encoder_on_the_test_pipeline_input(predictor, image):
    """predict == encoder.predict(normalise(Resize(scale, keep_ratio))(image)) bit for bit."""
    r = predictor.predict(image, CLASSES)
    x = network_input(image, (256, 96))
    assert x.shape[-2:] == (96, 141)
    ref = predictor.encoder.predict(x, ori_shape=(75, 110))
    assert torch.equal(r.probs, ref.probs) and torch.equal(r.labels, ref.labels)


def test_every_image_kind_gives_the_same_result(predictor, image, tmp_path):
    ref = predictor.predict(image, CLASSES)
    path = tmp_path / "im.png"
    Image.fromarray(image).save(path)
    t = torch.from_numpy(image).permute(2, 0, 1)
    for im in (str(path), path, Image.fromarray(image), t, t.float() / 255):
        r = predictor.predict(im, CLASSES)
        assert torch.equal(r.labels, ref.labels) and torch.equal(r.probs, ref.probs), type(im)


def test_float_tensor_above_one_is_an_error(predictor, image):
    t = torch.from_numpy(image).permute(2, 0, 1).float()
    with pytest.raises(ConfigError, match="read as 0..1"):
        predictor.predict(t, CLASSES)


def test_bad_inputs_are_clear_errors(predictor, image, tmp_path):
    with pytest.raises(ConfigError, match="no classes"):
        RADSegPredictor(predictor.encoder, predictor.config).predict(image)
    with pytest.raises(ConfigError, match="empty name"):
        predictor.predict(image, ["cat", " "])
    with pytest.raises(ClassNamesError, match="'Cat'"):
        predictor.predict(image, ["cat", "Cat"])
    with pytest.raises(ConfigError, match="cannot read an image from a dict"):
        predictor.predict({}, CLASSES)
    with pytest.raises(ConfigError, match="3 x H x W"):
        predictor.predict(torch.zeros(2, 3, 8, 8), CLASSES)


def test_predict_batch_equals_one_at_a_time(predictor, image):
    other = np.ascontiguousarray(image[::-1])
    singles = [predictor.predict(im, CLASSES) for im in (image, other)]
    batch = predictor.predict_batch(torch.from_numpy(np.stack([image, other])).permute(0, 3, 1, 2), CLASSES)
    for a, b in zip(singles, batch):
        assert torch.equal(a.labels, b.labels) and torch.equal(a.probs, b.probs)


def test_config_and_overrides():
    p = RADSegPredictor.from_pretrained("tiny-random", device="cpu", config=RADSegConfig.preset("voc20", "low_res"),
                                        text_disk_cache=False)
    assert (p.config.slide_crop, p.config.slide_stride, p.encoder.slide_crop) == (224, 112, 224)
    with pytest.raises(ConfigError, match="slide_crop must be >= 0"):
        RADSegPredictor.from_pretrained("tiny-random", device="cpu", slide_crop=-1)


def test_resize_matches_mmcv_imrescale():
    """The core's cv2 resize is mmseg's Resize(scale, keep_ratio=True) (mmcv.imrescale), bit for bit."""
    mmcv = pytest.importorskip("mmcv")
    rng = np.random.default_rng(0)
    for h, w in [(375, 500), (500, 375), (1024, 2048), (17, 1100), (333, 333), (640, 427)]:
        im = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        for scale in [(2048, 448), (2048, 336), (2016, 672), (2688, 1344), (4096, 576), (1334, 896)]:
            a = mmcv.imrescale(im, scale, interpolation="bilinear")
            b = rescale_like_mmseg(im, scale)
            assert a.shape == b.shape and np.array_equal(a, b), (h, w, scale)


def test_core_and_predictor_work_without_mm_packages(tmp_path):
    """`import radseg` and the predictor never import mmseg, mmengine or mmcv."""
    code = textwrap.dedent("""
        import sys, importlib.abc
        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split('.')[0] in ('mmseg', 'mmengine', 'mmcv'):
                    raise ImportError('blocked: ' + name)
        sys.meta_path.insert(0, Block())
        import numpy as np
        import radseg
        p = radseg.RADSegPredictor.from_pretrained('tiny-random', device='cpu', slide_crop=64, slide_stride=32,
                                                   text_disk_cache=False)
        r = p.predict(np.zeros((40, 50, 3), np.uint8), ['sky', 'dog'])
        r.overlay()
        assert not [m for m in sys.modules if m.split('.')[0] in ('mmseg', 'mmengine', 'mmcv')]
        print('ok', tuple(r.labels.shape))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "ok (40, 50)" in out.stdout


def test_readme_python_snippets_run_with_the_stand_in(tmp_path, monkeypatch):
    """The `RADSegPredictor` snippets of the README (Segment images) and of docs/SEGMENT.md (From
    Python) run as written, with tiny-random for the weights."""
    import re
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text()
    guide = (root / "docs" / "SEGMENT.md").read_text()
    section = readme[readme.index("## Segment images"):readme.index("## Evaluate a benchmark")]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)[:1]
    section = guide[guide.index("## From Python: `RADSegPredictor`"):]
    blocks += re.findall(r"```python\n(.*?)```", section, re.S)[:2]
    assert len(blocks) == 3 and all("predict" in b or "RADSegConfig" in b for b in blocks)
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (60, 80, 3), dtype=np.uint8)).save(
        tmp_path / "photo.jpg")
    monkeypatch.chdir(tmp_path)
    for code in blocks:
        code = code.replace('"c-radio_v3-b"', '"tiny-random"').replace("sam_refine=True", "sam_refine=False")
        ns = {}
        exec(compile(code, "README.md", "exec"), ns)
    assert (tmp_path / "overlay.png").is_file()


def test_refinement_with_a_registered_sam_source(image):
    p = RADSegPredictor.from_pretrained("tiny-random", sam_refine=True, device="cpu", sam_ckpt="tiny-random-sam",
                                        slide_crop=64, slide_stride=32, scale=(256, 96), text_disk_cache=False)
    assert p.encoder.sam_refiner is not None and p.config.sam_ckpt == "tiny-random-sam"
    r = p.predict(image, CLASSES)
    assert r.labels.shape == (75, 110)


def test_update_changes_live_settings_without_reloading(image):
    p = RADSegPredictor.from_pretrained("tiny-random", device="cpu", slide_crop=64, slide_stride=32,
                                        scale=(256, 96), text_disk_cache=False)
    model = p.encoder.model
    p.update(slide_crop=32, slide_stride=16, scga_scaling=5.0, scra_scaling=7.0, scale=(128, 64))
    assert p.encoder.model is model  # nothing loaded again
    assert (p.encoder.slide_crop, p.encoder.scga_scaling, p.config.scale) == (32, 5.0, (128, 64))
    assert p.encoder.bundle.vit.blocks[-1].attn.scaling == 7.0
    fresh = RADSegPredictor.from_pretrained("tiny-random", device="cpu", config=p.config)
    a, b = p.predict(image, CLASSES), fresh.predict(image, CLASSES)
    assert torch.equal(a.probs, b.probs)  # the same as a predictor built with those settings
    with pytest.raises(ConfigError, match="model_version cannot change on a loaded predictor"):
        p.update(model_version="tiny-random-v4")
    with pytest.raises(ConfigError, match="slide_crop must be >= 0"):
        p.update(slide_crop=-1)
    assert p.config.slide_crop == 32  # a refused change leaves the predictor as it was


def test_refiner_takes_fast_mode_from_the_config():
    from radseg.core.sam_refine import SAMRefiner
    from radseg.models.sam import load_sam
    r = SAMRefiner.from_config(load_sam("tiny-random-sam"), RADSegConfig(fast=True))
    assert r.fast is True
