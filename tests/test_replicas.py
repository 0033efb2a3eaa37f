"""The full-size random replicas: shapes and parameter counts (meta device: no memory, no init cost)."""
import pytest
import torch

from radseg.core.scra import SCRAttention, apply_scra
from radseg.models import available_models, available_sam_models, build_radio
from radseg.models.replicas import (
    RADIO_SMALL,
    CPEPatchGenerator,
    backbone_parameters,
    build_radio_replica,
    build_sam_replica,
)


def test_replicas_are_registered_without_being_built():
    assert {"c-radio_v3-b-random", "c-radio_v3-b-random-small"} <= set(available_models())
    assert {"sam-vit-h-random", "sam-vit-h-random-small"} <= set(available_sam_models())


def test_c_radio_v3_b_replica_sizes_on_meta():
    m = build_radio_replica(device="meta")
    vit = m.model
    assert len(vit.blocks) == 12 and vit.embed_dim == 768
    attn = vit.blocks[-1].attn
    assert attn.num_heads == 12 and attn.qkv.in_features == 768 and attn.qkv.out_features == 3 * 768
    assert vit.blocks[0].mlp.fc1.out_features == 3072
    gen = vit.patch_generator
    assert gen.embedder.in_features == 3 * 16 * 16 and gen.embedder.bias is None
    assert gen.pos_embed.shape == (1, 128 * 128, 768)  # CPE grid: 2048 px / 16
    assert gen.prefix.shape == (8, 768) and m.num_summary_tokens == 4 and m.num_skip == 8
    # 12 x 7,087,872 (blocks) + 1,536 (final norm) + 589,824 (patch linear) + 12,582,912 (pos. emb.)
    # + 6,144 (4 summary + 4 register tokens) = 98,234,880: RADIO_API.md's "about 98M"
    assert backbone_parameters(m) == 98_234_880
    lang, sam = m.adaptors["siglip2"], m.adaptors["sam"]
    for mlp, out in ((lang.head_mlp, 1152), (lang.feat_mlp, 1152), (sam.feat_mlp, 1280)):
        assert (mlp.fc1.in_features, mlp.fc1.out_features) == (768, 1520)
        assert (mlp.final[-1].in_features, mlp.final[-1].out_features) == (1520, out)
    head = sum(p.numel() for p in lang.head_mlp.parameters())
    samp = sum(p.numel() for p in sam.feat_mlp.parameters())
    assert 104e6 < backbone_parameters(m) + head + samp < 105e6  # RADIO_API.md: 105M with adaptors
    assert apply_scra(vit).num_heads == 12 and isinstance(vit.blocks[-1].attn, SCRAttention)


def test_replica_forward_shapes_on_meta():
    m = build_radio_replica(["siglip2"], device="meta").eval()
    m.adaptors = None
    out = m(torch.empty(2, 3, 336, 448, device="meta"))
    assert out.features.shape == (2, 21 * 28, 768) and out.summary.shape == (2, 4 * 768)


def test_sam_vit_h_replica_sizes_on_meta():
    sam = build_sam_replica(device="meta")
    neck = sam.image_encoder.neck
    assert neck[0].in_channels == 1280 and neck[0].out_channels == 256 and neck[2].out_channels == 256
    assert len(sam.image_encoder.blocks) == 0  # no trunk
    assert tuple(sam.prompt_encoder.image_embedding_size) == (64, 64) and sam.prompt_encoder.embed_dim == 256
    count = lambda mod: sum(p.numel() for p in mod.parameters())  # noqa: E731
    assert count(sam.mask_decoder) == 4_058_340  # segment-anything's ViT-H mask decoder
    assert count(sam.prompt_encoder) == 6_220 and count(neck) == 918_528


def test_cpe_is_radios_eval_crop():
    torch.manual_seed(0)
    gen = CPEPatchGenerator(8, 16, 256, 2)  # 16 x 16 grid
    pe = gen.pos_embed.reshape(1, 16, 16, 8).permute(0, 3, 1, 2)
    want = torch.nn.functional.interpolate(pe, size=(6, 6), mode="bilinear", align_corners=True)[..., :4, :6]
    assert torch.equal(gen.pos_enc(4, 6), want.flatten(2).transpose(1, 2))
    assert gen.pos_enc(16, 16) is gen.pos_embed


def test_small_replica_runs_through_build_radio():
    b = build_radio("c-radio_v3-b-random-small", "siglip2", need_sam=True)
    assert b.model.adaptors is None and b.sam_adaptor is not None
    out = b.model(torch.randn(1, 3, 64, 96))
    assert out.features.shape == (1, 24, 64)
    assert b.lang_adaptor.encode_text(b.lang_adaptor.tokenizer(["a cat"])).shape == (1, RADIO_SMALL["c_t"])
    with pytest.raises(ValueError, match="adaptor"):
        build_radio_replica(["dino_v2"], small=True)
