"""radseg/methods/clip: names, sizes, the OpenAI-layout loader, precision, templates (no download)."""
import pytest
import torch

from radseg.errors import ConfigError
from radseg.methods.clip import CLIP_ARCHS, build_clip, clip_names
from radseg.methods.clip import text as clip_text
from radseg.methods.clip.sources import TINY_CONFIG


@pytest.fixture(scope="module")
def tiny():
    return build_clip("tiny-random")


@pytest.fixture(scope="module")
def openai_layout_file(tmp_path_factory, tiny):
    """A seeded state dict written as OpenAI ships it: fp16 tensors plus the three integer entries."""
    state = {k: v.half() for k, v in build_clip("tiny-random", seed=7).model.state_dict().items()}
    state.update(input_resolution=224, context_length=77, vocab_size=49408)
    path = tmp_path_factory.mktemp("clip") / "tiny-openai.pt"
    torch.save(state, path)
    return path, state


def test_names_and_full_size_parameter_counts_match_the_specs():
    import open_clip
    assert set(clip_names()) >= {"ViT-B/16", "ViT-B/16-random", "ViT-L/14-random", "ViT-H-14-random", "tiny-random"}
    for arch in CLIP_ARCHS.values():
        with torch.device("meta"):  # exact shapes without allocating (the replicas are these modules)
            m = open_clip.CLIP(**open_clip.get_model_config(arch.open_clip_config))
        assert sum(p.numel() for p in m.parameters()) == arch.parameters, arch.name
    with torch.device("meta"):
        b16 = open_clip.CLIP(**open_clip.get_model_config("ViT-B-16-quickgelu"))
    assert len(b16.state_dict()) == 302
    assert sum(p.numel() for p in b16.visual.parameters()) == 86_192_640
    # the trap: OpenAI weights need QuickGELU (open_clip's plain ViT-B-16 config uses nn.GELU)
    assert type(b16.visual.transformer.resblocks[0].mlp.gelu).__name__ == "QuickGELU"
    assert CLIP_ARCHS["ViT-B/16"].url.endswith(
        "5806e77cd80f8b59890b7e101eabd078d9fb84e6937f9e85e4ecb61988df416f/ViT-B-16.pt")


def test_tiny_random_is_seeded_and_shaped_like_clip(tiny):
    again = build_clip("tiny-random")
    for (k, a), (_, b) in zip(tiny.model.state_dict().items(), again.model.state_dict().items()):
        assert torch.equal(a, b), k
    other = build_clip("tiny-random", seed=1).model.state_dict()
    assert not torch.equal(other["visual.proj"], tiny.model.state_dict()["visual.proj"])
    v = tiny.model.visual
    assert tiny.patch_size == 16 and v.positional_embedding.shape == (197, 128)
    assert v.transformer.resblocks[0].attn.num_heads == 2 and tiny.info["random_weights"]


def test_openai_layout_state_dict_loads_to_the_same_modules_as_open_clips_loader(openai_layout_file):
    from open_clip.model import build_model_from_openai_state_dict
    path, state = openai_layout_file
    ours = build_clip("tiny-random", weights=str(path), precision="fp16").model
    official = build_model_from_openai_state_dict(dict(state))  # the OpenAI-layout loader, fp16
    a, b = ours.state_dict(), official.state_dict()
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].dtype == b[k].dtype and torch.equal(a[k], b[k]), k
    for m1, m2 in zip(ours.modules(), official.modules()):
        assert type(m1) is type(m2)  # QuickGELU, LayerNormFp32 in fp16, the same heads
    assert [blk.attn.num_heads for blk in ours.visual.transformer.resblocks] == \
        [blk.attn.num_heads for blk in official.visual.transformer.resblocks]
    ours32 = build_clip("tiny-random", weights=str(path)).model  # CPU: .float(), exact upcast
    for k, v in ours32.state_dict().items():
        assert v.dtype == torch.float32 and torch.equal(v, b[k].float()), k


def test_wrapped_and_prefixed_state_dicts_load_too(tmp_path, openai_layout_file):
    _, state = openai_layout_file
    p = tmp_path / "wrapped.pth"
    torch.save({"state_dict": {f"module.{k}": v for k, v in state.items()}}, p)
    a = build_clip("tiny-random", weights=str(p)).model.state_dict()
    assert torch.equal(a["visual.proj"], state["visual.proj"].float())


def test_missing_or_mismatched_weights_are_one_line_naming_the_file(tmp_path, openai_layout_file):
    with pytest.raises(ConfigError) as e:
        build_clip("ViT-B/16", weights=str(tmp_path / "ViT-B-16.pt"))
    msg = str(e.value)
    assert "\n" not in msg and "ViT-B-16.pt does not exist" in msg and "openaipublic" in msg
    state = dict(openai_layout_file[1])
    del state["visual.proj"]
    state["ln_final.weight"] = torch.zeros(7)
    other = tmp_path / "other.pt"
    torch.save(state, other)
    with pytest.raises(ConfigError, match=r"do not fit this architecture: 1 missing \(e.g. visual.proj\); "
                                          r"1 of another shape \(e.g. ln_final.weight"):
        build_clip("tiny-random", weights=str(other))
    bad = tmp_path / "junk.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ConfigError, match="cannot read CLIP weights"):
        build_clip("tiny-random", weights=str(bad))
    with pytest.raises(ConfigError, match="unknown CLIP model 'ViT-X/9'"):
        build_clip("ViT-X/9")


def test_offline_without_the_file_is_one_line_naming_it_and_its_url(tmp_path, monkeypatch):
    import open_clip
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.cache/clip/ViT-B-16.pt

    def offline(*a, **k):
        raise OSError("no network")
    monkeypatch.setattr(open_clip, "create_model", offline)
    with pytest.raises(ConfigError) as e:
        build_clip("ViT-B/16")
    assert "ViT-B-16.pt" in str(e.value) and "--weights clip=PATH" in str(e.value)


def test_fp16_is_the_releases_half_weights_with_fp32_layernorm(tiny):
    m = build_clip("tiny-random", precision="fp16").model
    v = m.visual
    assert v.conv1.weight.dtype == torch.float16 and v.proj.dtype == torch.float16
    assert v.transformer.resblocks[0].attn.in_proj_weight.dtype == torch.float16
    assert m.text_projection.dtype == torch.float16
    assert v.positional_embedding.dtype == torch.float32 and v.class_embedding.dtype == torch.float32
    assert type(v.ln_pre).__name__ == "LayerNormFp32" and v.ln_pre.weight.dtype == torch.float32


def test_templates_are_the_80_openai_imagenet_templates():
    t = clip_text.openai_imagenet_templates()
    assert len(t) == 80 and t[0]("cat") == "a bad photo of a cat." and t[-1]("cat") == "a tattoo of the cat."
    assert len({f("x") for f in t}) == 80


def test_query_embedding_is_the_normalised_mean_of_normalised_template_embeddings(tiny):
    templates = clip_text.openai_imagenet_templates()[:3]
    got = clip_text.query_embeddings(tiny.model, ["cat"], templates)[0]
    with torch.no_grad():
        feats = tiny.model.encode_text(clip_text.tokenize([t("cat") for t in templates]))  # open_clip's own
    feats = feats / feats.norm(dim=-1, keepdim=True)
    want = feats.mean(0) / feats.mean(0).norm()
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
    unnormalised = feats.mean(0)
    assert not torch.allclose(got, unnormalised, atol=1e-3)
    assert TINY_CONFIG["text_cfg"]["vocab_size"] == 49408  # the real tokenizer's ids fit the stand-in
