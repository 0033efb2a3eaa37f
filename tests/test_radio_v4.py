"""C-RADIOv4 support (docs/RADIO_V4.md) on v4-shaped stand-ins: versions, adaptors, facts read from
the model, SCRA on v4's last block, ViTDet, RADSeg+ through SAM's own image encoder, entry points."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from radseg.core.scra import SCRAttention
from radseg.errors import ConfigError, UnknownModelError
from radseg.models import build_radio, versions
from radseg.models.standins_v4 import build_tiny_radio_v4

ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------ versions and adaptor names
def test_v4_versions_are_known_everywhere():
    from radseg.models import RADIO_VERSIONS, available_models
    from radseg.models.radio import HF_REPOS, resolve_model_source
    for v in ("c-radio_v4-so400m", "c-radio_v4-h"):
        assert v in RADIO_VERSIONS and v in available_models() and v in HF_REPOS
        assert getattr(resolve_model_source(v), "radio_version", None) == v
        assert versions.is_v4(v) and versions.version_spec(v).supports_vitdet
    assert "tiny-random-v4" in available_models()
    assert versions.is_v4("/ckpts/c-radio_v4-h_half.pth.tar") and not versions.is_v4("c-radio_v3-b")


def test_radseg_models_lists_v4(capsys):
    from radseg.cli import main
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "c-radio_v4-so400m" in out and "c-radio_v4-h" in out and "tiny-random-v4" in out


@pytest.mark.parametrize("version, lang, want", [
    ("c-radio_v3-b", None, "siglip2"), ("c-radio_v4-h", None, "siglip2-g"),
    ("c-radio_v4-so400m", "siglip2", "siglip2-g"), ("c-radio_v4-h", "siglip2-g", "siglip2-g"),
    ("c-radio_v3-b", "siglip2", "siglip2"), ("radio_v3-b", None, "siglip2"), ("tiny-random-v4", "default", "siglip2-g"),
])
def test_language_adaptor_defaults_per_version(version, lang, want):
    assert versions.resolve_lang_model(version, lang) == want


def test_sam_adaptor_is_requested_only_for_refinement_and_only_where_it_exists():
    assert versions.wants_sam_adaptor("c-radio_v3-b", True) and not versions.wants_sam_adaptor("c-radio_v3-b", False)
    assert not versions.wants_sam_adaptor("c-radio_v4-h", True)


def test_real_loader_requests_v4_adaptors_and_vitdet(monkeypatch, tmp_path):
    """The hub loader (local clone route) asks RADIO for siglip2-g only -- no 'sam', even for RADSeg+ --
    and passes vitdet_window_size through to radio_model."""
    calls = []

    def fake_hub_load(repo, entry, source=None, version=None, progress=True, adaptor_names=None, **kw):
        calls.append(dict(version=version, adaptor_names=list(adaptor_names), **kw))
        return build_tiny_radio_v4(adaptor_names, vitdet_window_size=kw.get("vitdet_window_size"))

    monkeypatch.setattr(torch.hub, "load", fake_hub_load)
    b = build_radio("c-radio_v4-h", need_sam=True, repo_dir=str(tmp_path), vitdet_window_size=4)
    assert calls == [dict(version="c-radio_v4-h", adaptor_names=["siglip2-g"], vitdet_window_size=4)]
    assert b.sam_adaptor is None and b.info["sam_embedding"] == "sam_vit_h_image_encoder"
    assert b.info["lang_model"] == "siglip2-g" and b.info["vitdet_window_size"] == 4
    calls.clear()
    with pytest.raises(ConfigError, match="vitdet_window_size is supported only by C-RADIOv4"):
        build_radio("c-radio_v3-b", repo_dir=str(tmp_path), vitdet_window_size=4)
    assert calls == []  # refused before anything loads


def test_hub_source_pins_a_radio_commit_that_has_v4(monkeypatch, tmp_path):
    from radseg.models import radio
    fetched = []
    monkeypatch.setattr(radio, "fetch_hub_code", lambda rev: fetched.append(rev) or str(tmp_path))
    from radseg.models.standins import build_tiny_radio
    monkeypatch.setattr(torch.hub, "load", lambda *a, adaptor_names=None, version=None, **kw: (
        build_tiny_radio_v4 if "v4" in version else build_tiny_radio)(adaptor_names))
    monkeypatch.delenv("RADSEG_RADIO_REPO", raising=False)
    b = build_radio("c-radio_v4-so400m", source="hub")
    assert fetched == [versions.V4_HUB_REVISION] and b.info["revision"] == versions.V4_HUB_REVISION
    build_radio("c-radio_v3-b", source="hub")
    assert fetched[-1] == radio.DEFAULT_HUB_REVISION


def test_unknown_adaptor_on_v4_lists_the_known_names():
    with pytest.raises(UnknownModelError, match="siglip2-g"):
        build_radio("tiny-random-v4", "clip")


# ------------------------------------------------------------------ read from the model
@pytest.mark.parametrize("name, width, head_dim", [("tiny-random-v4-so400m", 1152, 72), ("tiny-random-v4-h", 1280, 80)])
def test_shape_faithful_standins_facts_and_scra(name, width, head_dim):
    from radseg.radseg import RayFrontsRADSegEncoder
    e = RayFrontsRADSegEncoder(model_version=name, device="cpu", slide_crop=0)
    facts = e.core.bundle.info["backbone"]
    assert facts["embed_dim"] == width and facts["num_heads"] == 16 and width // facts["num_heads"] == head_dim
    assert (facts["num_cls_tokens"], facts["num_registers"], facts["num_summary_tokens"]) == (3, 7, 10)
    assert facts["summary_idxs"] == [0, 1] and facts["patch_size"] == 16
    assert isinstance(e.model.model.blocks[-1].attn, SCRAttention)
    f = e.encode_image_to_feat_map(torch.rand(1, 3, 32, 48))
    assert f.shape == (1, width, 2, 3)


def test_missing_model_attribute_is_named():
    m = build_tiny_radio_v4(["siglip2-g"])
    del m.num_summary_tokens
    with pytest.raises(UnknownModelError, match="'num_summary_tokens'"):
        versions.model_facts(m)


def test_scra_names_a_missing_attention_attribute():
    class Odd(torch.nn.Module):
        num_heads = 2
    with pytest.raises(UnknownModelError, match="'qkv'"):
        SCRAttention(Odd())


def test_input_statistics_are_read_from_the_model():
    """v4's mean/std are not determined: the stand-in's are ImageNet's; CLIP-normalised input reaches
    the model normalised its own way."""
    from radseg.preprocess import normalize_image
    b = build_radio("tiny-random-v4")
    assert b.info["input_mean"] == [0.485, 0.456, 0.406]
    ref = build_tiny_radio_v4(["siglip2-g"]).eval()
    ref.adaptors = None
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        want = ref(x).features
        got = b.model(normalize_image(x * 255)).features
    assert torch.allclose(got, want, atol=1e-4)


# ------------------------------------------------------------------ ViTDet
def test_vitdet_windows_last_block_global_and_resolution_step():
    from radseg.radseg import RayFrontsRADSegEncoder
    e = RayFrontsRADSegEncoder(model_version="tiny-random-v4", device="cpu", slide_crop=384, slide_stride=128,
                      vitdet_window_size=8)
    m = e.model
    assert m.min_resolution_step == 128 and m.windowed_blocks() == [0, 2, 4, 6]
    assert len(m.model.blocks) - 1 not in m.windowed_blocks()  # SCRA's block is global
    assert e.get_nearest_size(300, 500) == (256, 512) and not e.is_compatible_size(336, 336)
    assert e.encode_image_to_feat_map(torch.rand(1, 3, 200, 300)).shape == (1, 32, 24, 24)
    with pytest.raises(ConfigError, match="minimum resolution step 128"):
        RayFrontsRADSegEncoder(model_version="tiny-random-v4", device="cpu", slide_crop=336, slide_stride=112,
                      vitdet_window_size=8)
    with pytest.raises(ValueError, match="min_resolution_step"):
        m(torch.rand(1, 3, 64, 64))


# ------------------------------------------------------------------ RADSeg+ on v4: SAM's own image encoder
def test_radseg_plus_on_v4_runs_sams_own_image_encoder():
    from radseg.core.sam_trunk import has_trunk
    from radseg.radseg import RayFrontsRADSegEncoder
    e = RayFrontsRADSegEncoder(model_version="tiny-random-v4", device="cpu", predict=True, classes=["a", "b"],
                      sam_refinement=True, sam_ckpt="tiny-random-sam", coarse_thresh=0.0, minimal_area=0,
                      slide_crop=224, slide_stride=112)
    assert e.core.sam_adaptor is None and e.core.bundle.info["sam_embedding"] == "sam_vit_h_image_encoder"
    sam = e.core.sam_refiner.sam
    assert not has_trunk(sam)
    probs = e.encode_image_to_feat_map(torch.rand(1, 3, 64, 96))
    assert probs.shape == (1, 3, 64, 96) and has_trunk(sam)  # the trunk was loaded and run


# ------------------------------------------------------------------ entry points with the v4 stand-in
def _photo(tmp_path):
    from PIL import Image
    img = (np.random.default_rng(0).random((48, 64, 3)) * 255).astype(np.uint8)
    path = tmp_path / "photo.png"
    Image.fromarray(img).save(path)
    return path


@pytest.mark.parametrize("refine", [False, True], ids=["radseg", "radseg_plus"])
def test_radseg_segment_runs_on_v4(tmp_path, refine, capsys):
    from radseg.cli import main
    args = ["segment", str(_photo(tmp_path)), "--labels", "sky, grass", "--model_version", "tiny-random-v4",
            "--out", str(tmp_path / "out" / "photo")]
    if refine:
        args += ["--sam-refine", "--sam-ckpt", "tiny-random-sam"]
    assert main(args) == 0, capsys.readouterr().err
    assert (tmp_path / "out" / "photo_labels.png").is_file()


@pytest.fixture(scope="module")
def voc_data(tmp_path_factory):
    from datagen import make_dataset
    d = tmp_path_factory.mktemp("data")
    make_dataset("voc20", d, n=2)
    return d


@pytest.mark.parametrize("refine", [False, True], ids=["radseg", "radseg_plus"])
def test_eval_runs_on_v4(voc_data, tmp_path, refine, capsys):
    from radseg.cli import main
    work = tmp_path / "work"
    args = ["eval", "--config", str(ROOT / "configs_mmseg" / "low_res" / "voc20.py"), "--model_version",
            "tiny-random-v4", "--data-root", str(voc_data), "--work-dir", str(work), "--num-workers", "0"]
    if refine:
        args += ["--sam_refine", "True", "--sam_ckpt", "tiny-random-sam"]
    assert main(args) == 0, capsys.readouterr().err[-2000:]
    rec = json.loads((work / "result.json").read_text())
    assert rec["model_version"] == "tiny-random-v4" and rec["num_images"] == 2


def test_sweep_runs_on_v4_with_and_without_refinement(voc_data, tmp_path, capsys):
    from radseg.sweep import main
    work = tmp_path / "sweep"
    rc = main(["--work-dir", str(work), "--data-root", str(voc_data), "--models", "tiny-random-v4",
               "--sam-refine", "both", "--datasets", "voc20", "--resolutions", "low_res", "--num-workers", "0",
               "--sam_ckpt", "tiny-random-sam", "--cpu", "--gpus", "2"])  # the two runs side by side
    assert rc == 0, capsys.readouterr()
    recs = sorted(work.rglob("result.json"))
    assert len(recs) == 2
    assert {json.loads(r.read_text())["sam_refine"] for r in recs} == {False, True}
