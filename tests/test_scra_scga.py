import math

import pytest
import torch
from timm.layers import Attention

from radseg.core.scga import scga
from radseg.core.scra import SCRAttention, apply_scra, remove_scra


def manual_scra(attn, x, s):
    B, N, C = x.shape
    h, d = attn.num_heads, C // attn.num_heads
    q, k, v = attn.qkv(x).reshape(B, N, 3, h, d).permute(2, 0, 3, 1, 4)
    a = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(d), -1)
    o = attn.proj((a @ v).transpose(1, 2).reshape(B, N, C))
    oh = o.reshape(B, N, h, d).transpose(1, 2)
    oh = oh / oh.norm(dim=-1, keepdim=True)
    sim = s * oh @ oh.transpose(-2, -1)
    sim[sim < 0] = float("-inf")
    return attn.proj((torch.softmax(sim, -1) @ v).transpose(1, 2).reshape(B, N, C)), sim, v, o


@pytest.fixture
def attn():
    torch.manual_seed(0)
    a = Attention(32, num_heads=4, qkv_bias=True, qk_norm=True, norm_layer=torch.nn.LayerNorm).eval()
    with torch.no_grad():  # make q/k norm non-trivial: SCRA must ignore it
        a.q_norm.weight.mul_(3.0)
        a.k_norm.weight.mul_(-2.0)
    return a


def test_scra_matches_formula_and_ignores_qk_norm(attn):
    x = torch.randn(2, 9, 32)
    out = SCRAttention(attn, 10.0)(x)
    ref, *_ = manual_scra(attn, x, 10.0)
    assert torch.allclose(out, ref, atol=1e-6)


def test_scra_uses_original_v_and_double_proj(attn):
    x = torch.randn(1, 7, 32)
    out = SCRAttention(attn, 10.0)(x)
    ref, sim, v, o = manual_scra(attn, x, 10.0)
    B, N, C = x.shape
    w = torch.softmax(sim, -1)
    oh = o.reshape(B, N, 4, 8).transpose(1, 2)
    with_o = attn.proj((w @ oh).transpose(1, 2).reshape(B, N, C))  # re-attending O instead of v
    single_proj = (w @ v).transpose(1, 2).reshape(B, N, C)           # without the 2nd proj
    assert not torch.allclose(out, with_o, atol=1e-4)
    assert not torch.allclose(out, single_proj, atol=1e-4)
    assert torch.allclose(out, ref, atol=1e-6)


def test_scra_negative_similarities_get_zero_weight(attn):
    torch.manual_seed(3)
    x = 20 * torch.randn(1, 24, 32)  # peaky attention -> diverse outputs -> negative cosines
    _, sim, _, _ = manual_scra(attn, x, 10.0)
    assert torch.isinf(sim).any(), "test input must contain negative similarities"
    w = torch.softmax(sim, -1)
    assert torch.all(w[torch.isinf(sim)] == 0)
    # and the module agrees with this masked formula (not with an unmasked softmax)
    out = SCRAttention(attn, 10.0)(x)
    assert torch.allclose(out, manual_scra(attn, x, 10.0)[0], atol=1e-5)


def test_scra_scaling_matters(attn):
    x = torch.randn(1, 9, 32)
    assert not torch.allclose(SCRAttention(attn, 10.0)(x), SCRAttention(attn, 1.0)(x), atol=1e-5)


def test_apply_scra_only_last_block():
    from timm.models.vision_transformer import VisionTransformer
    vit = VisionTransformer(img_size=32, patch_size=16, embed_dim=32, depth=3, num_heads=2, num_classes=0)
    first = [b.attn for b in vit.blocks[:-1]]
    apply_scra(vit, 7.0)
    assert isinstance(vit.blocks[-1].attn, SCRAttention) and vit.blocks[-1].attn.scaling == 7.0
    assert [b.attn for b in vit.blocks[:-1]] == first
    apply_scra(vit, 3.0)  # idempotent
    assert not isinstance(vit.blocks[-1].attn.qkv, SCRAttention) and vit.blocks[-1].attn.scaling == 3.0
    remove_scra(vit)
    assert isinstance(vit.blocks[-1].attn, Attention)


def manual_scga(F_, s):
    B, C, h, w = F_.shape
    T = F_.flatten(2).transpose(1, 2)
    Tn = T / T.norm(dim=-1, keepdim=True)
    S = Tn @ Tn.transpose(1, 2)
    S = (S - S.mean()) * s
    S[S < 0] = float("-inf")
    return (torch.softmax(S, -1) @ T).transpose(1, 2).reshape(B, C, h, w)


def test_scga_matches_formula():
    f = torch.randn(1, 16, 5, 7)
    assert torch.allclose(scga(f, 10.0), manual_scga(f, 10.0), atol=1e-6)


def test_scga_mean_is_over_the_whole_tensor():
    torch.manual_seed(1)
    f = torch.randn(2, 16, 4, 4)
    f[1] = f[1] * 0.1 + 1.0  # a very different second image shifts the global mean
    both = scga(f, 10.0)
    assert torch.allclose(both, manual_scga(f, 10.0), atol=1e-6)
    alone = scga(f[:1], 10.0)
    assert not torch.allclose(both[:1], alone, atol=1e-4), "mean must span all batch items"


def test_scga_aggregates_unnormalised_tokens():
    f = torch.randn(1, 8, 3, 3)
    assert torch.allclose(scga(2.5 * f, 10.0), 2.5 * scga(f, 10.0), atol=1e-5)
