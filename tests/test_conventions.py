"""Conventions that move the numbers, tested on inputs where the alternative gives another answer.

A convention checked only on inputs where a plausible alternative agrees (sizes that
never land on an exact half hide ``round`` vs ``int(x + 0.5)``; a crop that fails its
own check first hides the stride check) is not guarded. Each test here picks inputs
that separate the convention from its alternative, and says which alternative it kills.
"""
from __future__ import annotations

import numpy as np
import pytest

from radseg.config import RADSegConfig
from radseg.errors import ConfigError
from radseg.preprocess import rescale_like_mmseg, rescale_size
from radseg.presets import DATASETS

#: Every distinct preset scale ``(long_max, short)`` of every benchmark.
PRESET_SCALES = sorted({p.scale for d in DATASETS.values() for p in d.presets.values()})


def _exact_half_cases(lo: int = 100, hi: int = 640):
    """All ``(h, w, scale)`` with sides ``lo..hi`` where a side times the scale factor is exactly ``k + 0.5``.

    Found in float64 (numpy's ``/``, ``*`` and ``min`` round as Python's do), with the
    factor mmcv computes: ``min(long_max / long, short_max / short)``.
    """
    sides = np.arange(lo, hi + 1, dtype=np.float64)
    H, W = np.meshgrid(sides, sides, indexing="ij")
    cases = []
    for scale in PRESET_SCALES:
        f = np.minimum(max(scale) / np.maximum(H, W), min(scale) / np.minimum(H, W))
        half = np.zeros(H.shape, bool)
        for side in (H, W):
            y = side * f
            half |= (y - np.floor(y)) == 0.5
        cases += [(int(H[i, j]), int(W[i, j]), scale) for i, j in zip(*np.nonzero(half))]
    return cases


@pytest.fixture(scope="module")
def half_cases():
    return _exact_half_cases()


def test_rescale_size_rounds_exact_halves_up_like_mmcv(half_cases):
    """Kills ``round(x * f)`` (halves to even) and ``floor``: every exact-half case agrees with mmcv."""
    mmcv_geometric = pytest.importorskip("mmcv.image.geometric")
    assert len(half_cases) > 4000, len(half_cases)  # ~8,000 sides land on k + 0.5 at the presets
    assert (100, 368, (1334, 896)) in half_cases  # the example
    assert rescale_size(100, 368, (1334, 896)) == (363, 1334)
    even_floor = 0
    for h, w, scale in half_cases:
        nw, nh = mmcv_geometric.rescale_size((w, h), scale)
        assert rescale_size(h, w, scale) == (nh, nw), (h, w, scale)
        assert rescale_size(w, h, scale) == (nw, nh), (w, h, scale)  # transposed image, same rule
        assert rescale_size(h, w, scale[::-1]) == (nh, nw), (h, w, scale)  # scale in either order
        f = min(max(scale) / max(h, w), min(scale) / min(h, w))
        even_floor += any(x * f % 1 == 0.5 and int(x * f) % 2 == 0 for x in (h, w))
    assert even_floor > 2000, even_floor  # cases where round-half-to-even would give one pixel less


def test_rescale_size_matches_mmcv_on_a_grid():
    """The ordinary (non-half) sizes too: every 7th side 100..640 at every preset, both orientations."""
    mmcv_geometric = pytest.importorskip("mmcv.image.geometric")
    sides = range(100, 641, 7)
    for scale in PRESET_SCALES:
        for h in sides:
            for w in sides:
                nw, nh = mmcv_geometric.rescale_size((w, h), scale)
                assert rescale_size(h, w, scale) == (nh, nw), (h, w, scale)


def test_imrescale_pixels_match_mmcv_on_exact_half_sizes(half_cases):
    """The full resize (size and pixels) equals ``mmcv.imrescale`` on exact-half sizes, one per preset scale."""
    mmcv = pytest.importorskip("mmcv")
    rng = np.random.default_rng(0)
    picked = {}
    for h, w, scale in half_cases:
        f = min(max(scale) / max(h, w), min(scale) / min(h, w))
        if any(x * f % 1 == 0.5 and int(x * f) % 2 == 0 for x in (h, w)):
            picked.setdefault(scale, (h, w))
    assert len(picked) >= 5, picked
    for scale, (h, w) in picked.items():
        im = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        a = mmcv.imrescale(im, scale, interpolation="bilinear")
        b = rescale_like_mmseg(im, scale)
        assert a.shape == b.shape and np.array_equal(a, b), (h, w, scale)


@pytest.mark.parametrize("crop,stride", [(336, 120), (224, 100), (336, 8), (224, 168 + 4)])
def test_validate_refuses_a_stride_that_is_not_a_patch_multiple(crop, stride):
    """The crop is a patch multiple, so only the stride half of the check can fire."""
    assert crop % 16 == 0 and stride % 16
    with pytest.raises(ConfigError, match=f"slide_stride={stride} must be multiples of the model's patch size"):
        RADSegConfig(slide_crop=crop, slide_stride=stride).validate(patch_size=16)
    RADSegConfig(slide_crop=crop, slide_stride=stride).validate()  # patch size unknown: not checked yet


@pytest.mark.parametrize("crop,stride", [(330, 110), (100, 96)])
def test_validate_refuses_a_crop_that_is_not_a_patch_multiple(crop, stride):
    """330/110: neither is a multiple of 16; 100/96: only the crop (96 = 6 x 16)."""
    with pytest.raises(ConfigError, match="must be multiples of the model's patch size"):
        RADSegConfig(slide_crop=crop, slide_stride=stride).validate(patch_size=16)


@pytest.mark.parametrize("crop,stride,patch", [(336, 112, 16), (336, 224, 16), (224, 112, 16), (336, 112, 14),
                                               (224, 224, 16)])
def test_validate_accepts_the_presets_windows(crop, stride, patch):
    RADSegConfig(slide_crop=crop, slide_stride=stride).validate(patch_size=patch)


def test_stride_resize_truncates_where_rounding_would_add_a_stride():
    """``int(h * scale)`` then ceil to the stride: 200 x 299 -> 224.75 -> 224 (a multiple), so 224.

    ``round`` (225) would ceil to 336; the hand-worked cases in test_sliding_windows
    (377.44, 222.88) give the same answer under either rule.
    """
    from radseg.core.sliding_windows import stride_resize_shape
    assert stride_resize_shape(200, 299, 224, 112) == (224, 336)
    assert stride_resize_shape(299, 200, 224, 112) == (336, 224)
    assert stride_resize_shape(200, 399, 224, 112) == (224, 448)


def test_denoising_max_is_per_image_not_per_batch():
    """Class 1 is strong in image 0 only: zeroed in image 1 (a whole-batch max would keep it)."""
    import torch

    from radseg.core.dense_logits import denoise_prompts
    p = torch.full((2, 2, 2, 2), 0.3)
    p[0, 1, 0, 0] = 0.9
    p[:, 0, 1, 1] = 0.8
    out = denoise_prompts(p, 0.5)
    assert torch.equal(out[0], p[0])
    assert torch.all(out[1, 1] == 0) and torch.equal(out[1, 0], p[1, 0])


def test_dense_steps_are_per_image_on_a_batch():
    """Projection, cosine softmax and synonym max on ``B = 2`` equal the ``B = 1`` calls bit for bit.

    The reference runs one image at a time; a reshape that mixes the batch and pixel axes
    (identical when ``B = 1``) would give another answer here.
    """
    import torch

    from radseg.core.dense_logits import cosine_probabilities, max_over_synonyms, project_tokens
    g = torch.Generator().manual_seed(0)
    feats = torch.randn(2, 6, 3, 5, generator=g)
    w = torch.randn(6, 4, generator=g)
    text = torch.randn(5, 4, generator=g)
    proj = project_tokens(feats, lambda t: t @ w)
    assert torch.equal(proj, torch.cat([project_tokens(feats[i:i + 1], lambda t: t @ w) for i in range(2)]))
    prob = cosine_probabilities(proj, text)
    assert torch.equal(prob, torch.cat([cosine_probabilities(proj[i:i + 1], text) for i in range(2)]))
    syn = max_over_synonyms(prob, [0, 1, 1, 2, 0], 3)
    assert torch.equal(syn, torch.cat([max_over_synonyms(prob[i:i + 1], [0, 1, 1, 2, 0], 3) for i in range(2)]))
    assert torch.equal(syn[:, 0], torch.maximum(prob[:, 0], prob[:, 4]))


def test_network_input_is_rgb_clip_normalised_float32():
    """SegDataPreProcessor's op order: ``(x - mean) / std`` per RGB channel, 0..255 units, ``1 x 3 x H x W``."""
    import torch

    from radseg.preprocess import MEAN_RGB, STD_RGB, network_input, normalize_image
    assert MEAN_RGB == (122.771, 116.746, 104.094) and STD_RGB == (68.501, 66.632, 70.323)
    img = np.random.default_rng(1).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    x = network_input(img, None)
    ref = (torch.from_numpy(img).permute(2, 0, 1).float() - torch.tensor(MEAN_RGB).view(3, 1, 1)) \
        / torch.tensor(STD_RGB).view(3, 1, 1)
    assert x.shape == (1, 3, 5, 7) and x.dtype == torch.float32 and torch.equal(x[0], ref)
    assert torch.equal(normalize_image(torch.from_numpy(img).permute(2, 0, 1)), ref)
    scaled = network_input(img, (14, 10))  # long side 7 -> 14 (factor 2): like mmcv.imrescale
    assert scaled.shape == (1, 3, 10, 14)
    assert rescale_like_mmseg(img, None) is img and rescale_like_mmseg(img, ()) is img


def test_normalisation_constants_follow_the_image_device(monkeypatch):
    """mean/std are made on the image's device (a CUDA image must not meet CPU constants).

    No GPU here: the constants' ``device`` argument is recorded instead (the meta device would
    show it too, but its first use costs seconds).
    """
    import torch

    from radseg import preprocess
    made = []
    real = torch.tensor

    def spy(data, *args, **kwargs):
        made.append(kwargs.get("device", "not given"))
        return real(data, *args, **kwargs)
    monkeypatch.setattr(preprocess.torch, "tensor", spy)
    img = torch.zeros(1, 3, 2, 2)
    preprocess.normalize_image(img)
    assert made == [img.device, img.device]


# =====================================================================================================
# NACLIP (docs/baselines/NACLIP.md section 3.7): one test per trap, on inputs that separate the
# release's convention from its plausible alternative. Built from the method's functions and small
# hand-made modules (no CLIP build), so the section runs in about a second.
# =====================================================================================================
import math as _math  # noqa: E402
import types as _types  # noqa: E402

import torch as _torch  # noqa: E402
import torch.nn as _nn  # noqa: E402
import torch.nn.functional as _F  # noqa: E402


def _naclip_block(width=64, heads=2, seed=0):
    """A CLIP-style residual block (ln_1, attn, ln_2, mlp) with seeded weights, q != k."""
    g = _torch.Generator().manual_seed(seed)
    blk = _nn.Module()
    blk.ln_1, blk.ln_2 = _nn.LayerNorm(width), _nn.LayerNorm(width)
    blk.attn = _nn.MultiheadAttention(width, heads, batch_first=True)
    blk.mlp = _nn.Sequential(_nn.Linear(width, 2 * width), _nn.GELU(), _nn.Linear(2 * width, width))
    for p in blk.parameters():
        p.data = _torch.randn(p.shape, generator=g) * 0.3
    return blk.eval()


def _tokens(hp, wp, width=64, seed=1):
    return _torch.randn(1, 1 + hp * wp, width, generator=_torch.Generator().manual_seed(seed))


def test_naclip_trap1_last_block_has_no_residual_and_no_ffn():
    """Kills keeping the attention residual, ``ln_2`` or the MLP (``arch='vanilla'``)."""
    from radseg.methods.naclip.attention import naclip_last_block, neighbourhood_attention
    blk, x = _naclip_block(), _tokens(3, 4)
    with _torch.no_grad():
        out = naclip_last_block(blk, x, 3, 4, 5.0)
        attn_only = neighbourhood_attention(blk.attn, blk.ln_1(x), 3, 4, 5.0)
        vanilla = naclip_last_block(blk, x, 3, 4, 5.0, arch="vanilla")
    assert _torch.equal(out, attn_only)
    assert not _torch.allclose(out, x + attn_only, atol=1e-3) and not _torch.allclose(out, vanilla, atol=1e-3)
    from radseg.methods.naclip.settings import NaclipSettings
    assert NaclipSettings().arch == "reduced"


def test_naclip_trap2_key_key_attention_scaled_plus_additive_gaussian_cls_zero_sigma_in_tokens():
    """Kills q.k^T or q.q^T, a scale other than dh^-0.5, a multiplied prior, a prior on CLS, sigma in pixels."""
    from radseg.methods.naclip.attention import gaussian_prior, neighbourhood_attention
    hp, wp = 3, 4
    om = gaussian_prior(hp, wp, 5.0)
    assert om.shape == (13, 13) and _torch.all(om[0] == 0) and _torch.all(om[:, 0] == 0)
    assert _torch.all(_torch.diagonal(om)[1:] == 1)
    # token r*wp+c: (0,0) -> (0,1) is one token apart, (0,0) -> (2,3) is sqrt(13) apart: exp(-d^2 / 50)
    assert om[1, 2].item() == pytest.approx(_math.exp(-1 / 50), abs=1e-7)
    assert om[1, 12].item() == pytest.approx(_math.exp(-13 / 50), abs=1e-7)  # no window truncation
    assert om[1, 1 + wp].item() == pytest.approx(_math.exp(-1 / 50), abs=1e-7)  # row-major: next row
    blk, x = _naclip_block(), _tokens(hp, wp)
    y = blk.ln_1(x)
    with _torch.no_grad():
        got = neighbourhood_attention(blk.attn, y, hp, wp, 5.0)
        q, k, v = _F.linear(y, blk.attn.in_proj_weight, blk.attn.in_proj_bias).chunk(3, -1)
        sh = lambda t: t.reshape(1, -1, 2, 32).permute(0, 2, 1, 3)  # noqa: E731
        q, k, v = sh(q), sh(k), sh(v)

        def attend(logits):
            o = logits.softmax(-1) @ v
            return blk.attn.out_proj(o.permute(0, 2, 1, 3).reshape(1, -1, 64))
        want = attend(k @ k.transpose(-2, -1) * 32 ** -0.5 + om)
        cls_prior = om.clone()
        cls_prior[1:, 0] = 1
        assert _torch.allclose(got, want, atol=1e-6)
        for alt in (q @ k.transpose(-2, -1) * 32 ** -0.5 + om, k @ k.transpose(-2, -1) * 32 ** -0.5 * (1 + om),
                    k @ k.transpose(-2, -1) * 32 ** -0.5 + gaussian_prior(hp, wp, 5.0 * 16),
                    k @ k.transpose(-2, -1) * 32 ** -0.5 + cls_prior):
            assert not _torch.allclose(got, attend(alt), atol=1e-4)


def test_naclip_trap3_each_window_uses_its_own_grid():
    """Kills one grid for all windows: a window cut by a short image keeps its true size (12 x 14 tokens)."""
    from radseg.methods.naclip.logits import slide_logits
    seen = []

    def logits_of(win):
        seen.append(tuple(win.shape[-2:]))
        return _torch.zeros(1, 2, *win.shape[-2:])
    slide_logits(_torch.zeros(1, 3, 200, 300), logits_of, 224, 112, 2)
    assert seen == [(200, 224), (200, 224)]
    assert [(h // 16, w // 16) for h, w in seen] == [(12, 14), (12, 14)]


def test_naclip_trap4_position_embedding_bicubic_with_the_plus_0_1_scale_factor():
    """Kills ``interpolate(size=(hp, wp))`` (the sampling grid differs) and interpolating at 197 tokens."""
    from radseg.methods.clip.vision import interpolate_pos_embed
    pos = _torch.randn(197, 8, generator=_torch.Generator().manual_seed(0))
    got = interpolate_pos_embed(pos, 12, 14)
    grid = pos[1:].reshape(1, 14, 14, 8).permute(0, 3, 1, 2)
    by_size = _F.interpolate(grid, size=(12, 14), mode="bicubic", align_corners=False)
    by_size = by_size.permute(0, 2, 3, 1).reshape(168, 8)
    assert got.shape == (169, 8) and _torch.equal(got[0], pos[0])
    assert (got[1:] - by_size).abs().max() > 1e-3
    want = _F.interpolate(grid, scale_factor=(12.1 / 14, 14.1 / 14), mode="bicubic", align_corners=False,
                          recompute_scale_factor=False).permute(0, 2, 3, 1).reshape(168, 8)
    assert _torch.equal(got[1:], want)
    assert interpolate_pos_embed(pos, 7, 28) is pos  # the quirk: only the token count is tested
    assert interpolate_pos_embed(pos, 14, 14) is pos


def test_naclip_trap5_text_is_normalise_mean_normalise_over_80_templates(monkeypatch):
    """Kills a single prompt, an un-normalised mean, and a mean without the final normalisation."""
    from radseg.methods.clip import text as clip_text
    feats = _torch.tensor([[3.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    monkeypatch.setattr(clip_text, "tokenize", lambda texts, context_length=77: _torch.zeros(len(texts), 1))
    monkeypatch.setattr(clip_text, "encode_text", lambda model, tokens: feats[: tokens.shape[0]])
    model = _types.SimpleNamespace(token_embedding=_types.SimpleNamespace(weight=_torch.zeros(1)))
    got = clip_text.ensemble_embedding(model, "cat", [str.format] * 3)
    unit = feats / feats.norm(dim=-1, keepdim=True)
    want = unit.mean(0) / unit.mean(0).norm()
    assert _torch.allclose(got, want)
    raw = feats.mean(0) / feats.mean(0).norm()
    assert not _torch.allclose(got, raw, atol=1e-3) and got.norm().item() == pytest.approx(1.0)
    assert len(clip_text.openai_imagenet_templates()) == 80


def _naclip_logits_case():
    """Queries: 0 = background, 1 and 2 = synonyms of class 1, 3 = class 2; one pixel."""
    return _torch.tensor([0.20, 0.30, 0.30, 0.29]).view(4, 1, 1), [0, 1, 1, 2]


def test_naclip_trap6_scale_40_softmax_over_queries_then_synonym_max_then_argmax_then_threshold():
    """Kills pooling logits before the softmax, a softmax over classes, CLIP's scale 100, ``<=``."""
    from radseg.methods.naclip.postprocess import postprocess
    logits, idx = _naclip_logits_case()
    probs, labels = postprocess(logits, idx, 40.0, 0.4)
    p = (40 * logits).softmax(0)[:, 0, 0]
    assert labels.item() == 0  # pooled max 0.372 < 0.4: background
    assert max(p[1], p[2]).item() == pytest.approx(0.3719, abs=1e-4)
    pooled_logits = _torch.tensor([0.20, 0.30, 0.29])
    assert (40 * pooled_logits).softmax(0).max() > 0.4  # the alternative would keep class 1
    assert postprocess(logits, idx, 100.0, 0.4)[1].item() == 1  # the learned scale would too
    _, kept = postprocess(logits, idx, 40.0, float(max(p[1], p[2])))
    assert kept.item() == 1  # strictly below the threshold only
    assert _torch.allclose(probs.sum(0), _torch.ones(1, 1))  # renormalised after the decision
    from radseg.methods.naclip.settings import NaclipSettings
    assert NaclipSettings().logit_scale == 40.0


def test_naclip_trap7_windows_average_raw_cosines():
    """Kills temperature-scaling or soft-maxing window logits before averaging, and un-normalised features."""
    from radseg.methods.naclip.logits import slide_logits, window_logits
    feats = _torch.tensor([[[3.0, 4.0], [0.0, 2.0]]])  # 1 x 2 tokens x E=2
    text = _torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    got = window_logits(feats, text, 1, 2, (1, 2))
    assert _torch.allclose(got[0, :, 0], _torch.tensor([[0.6, 0.0], [0.8, 1.0]]))
    calls = iter([_torch.full((1, 1, 4, 4), 0.2), _torch.full((1, 1, 4, 4), -0.6)])
    canvas = slide_logits(_torch.zeros(1, 3, 4, 6), lambda w: next(calls), 4, 2, 1)
    assert _torch.allclose(canvas[0, 0, 0], _torch.tensor([0.2, 0.2, -0.2, -0.2, -0.6, -0.6]))


def test_naclip_trap8_resize_rounds_half_up_at_the_release_scales():
    """Kills a fixed square resize or another short side: the spec's three examples."""
    from radseg.methods.naclip.settings import NaclipSettings
    s = NaclipSettings.own_preset("voc21")
    assert rescale_size(375, 500, s.scale) == (336, 448)
    assert rescale_size(500, 333, s.scale) == (505, 336)
    assert rescale_size(1024, 2048, NaclipSettings.own_preset("cityscapes").scale) == (560, 1120)
    assert {k: NaclipSettings.own_preset(k).scale for k in NaclipSettings.PRESETS} == {
        k: ((2048, 560) if k == "cityscapes" else (2048, 336)) for k in NaclipSettings.PRESETS}


def test_naclip_trap9_windows_clamped_to_the_border_never_padded():
    """Kills padded last windows and a ceil grid: 336x448 -> 6 windows, Cityscapes 560x1120 -> 36."""
    from radseg.methods.naclip.logits import window_grid
    g = list(window_grid(336, 448, 224, 112))
    assert len(g) == 6 and g[-1] == (112, 336, 224, 448)
    assert len(list(window_grid(560, 1120, 224, 112))) == 36
    last = list(window_grid(250, 340, 224, 112))[-1]
    assert last == (26, 250, 116, 340)  # shifted back to end at the border, full 224 size
    assert all(y2 <= 250 and x2 <= 340 and y2 - y1 == 224 for y1, y2, x1, x2 in window_grid(250, 340, 224, 112))
    assert list(window_grid(200, 224, 224, 112)) == [(0, 200, 0, 224)]


def test_naclip_trap10_bilinear_without_corner_alignment_except_pamrs_own_resize():
    """Kills ``align_corners=True`` in the upsampling, and ``False`` in PAMR's internal mask resize."""
    from radseg.methods.naclip.logits import window_logits
    from radseg.methods.naclip.pamr import pamr
    feats = _torch.randn(1, 6, 4, generator=_torch.Generator().manual_seed(0))
    text = _torch.eye(4)[:2]
    got = window_logits(feats, text, 2, 3, (5, 7))
    cos = (feats / feats.norm(dim=-1, keepdim=True) @ text.T).permute(0, 2, 1).reshape(1, 2, 2, 3)
    assert _torch.equal(got, _F.interpolate(cos, size=(5, 7), mode="bilinear", align_corners=False))
    assert not _torch.allclose(got, _F.interpolate(cos, size=(5, 7), mode="bilinear", align_corners=True))
    img = _torch.randn(1, 3, 5, 7)
    assert _torch.equal(pamr(img, cos, steps=0), _F.interpolate(cos, size=(5, 7), mode="bilinear",
                                                                align_corners=True))


def test_naclip_trap11_pamr_on_10_steps_dilations_8_16_one_std_over_all_18_samples():
    """Kills PAMR off by default, other dilations, one std per dilation, the centre as a neighbour."""
    from radseg.methods.naclip.pamr import affinity, local_std
    from radseg.methods.naclip.settings import NaclipSettings
    s = NaclipSettings()
    assert (s.pamr_steps, s.pamr_dilations) == (10, (8, 16))
    assert all(NaclipSettings.own_preset(k).pamr_steps == 10 for k in NaclipSettings.PRESETS)
    img = _torch.randn(1, 1, 40, 40, generator=_torch.Generator().manual_seed(0))
    r, c = 20, 20
    samples = [img[0, 0, r + a * d, c + b * d] for d in (8, 16) for a in (-1, 0, 1) for b in (-1, 0, 1)]
    assert local_std(img, (8, 16))[0, 0, 0, r, c].item() == pytest.approx(_torch.stack(samples).std().item(),
                                                                        rel=1e-5)
    per_dilation = (_torch.stack(samples[:9]).std() + _torch.stack(samples[9:]).std()) / 2
    assert abs(per_dilation.item() - _torch.stack(samples).std().item()) > 1e-3
    a = affinity(img, (8, 16))
    assert a.shape == (1, 1, 16, 40, 40) and _torch.allclose(a.sum(2), _torch.ones(1, 1, 40, 40))


def test_naclip_trap12_network_sees_rgb_clip_normalised_0_255(monkeypatch):
    """Kills BGR input and 0..1 statistics: ``predict`` feeds ``network_input`` of the RGB image."""
    from radseg.methods.naclip.predictor import NaclipPredictor, NaclipResult
    from radseg.methods.naclip.settings import NaclipSettings
    from radseg.preprocess import MEAN_RGB, STD_RGB
    pred = NaclipPredictor.__new__(NaclipPredictor)
    pred.settings, pred._classes = NaclipSettings(scale=None), [["a"]]
    pred.clip = _types.SimpleNamespace(model=_types.SimpleNamespace(visual=_types.SimpleNamespace(
        conv1=_types.SimpleNamespace(weight=_torch.zeros(1)))))
    seen = {}

    def fake(x, ori_shape, image_path=None):
        seen["x"] = x
        return NaclipResult(_torch.zeros(1, *ori_shape), _torch.zeros(ori_shape, dtype=_torch.long), None, None)
    monkeypatch.setattr(pred, "predict_normalized", fake)
    red = np.zeros((4, 5, 3), np.uint8)
    red[..., 0] = 255
    pred.predict(red)
    x = seen["x"]
    assert x[0, 0, 0, 0].item() == pytest.approx((255 - MEAN_RGB[0]) / STD_RGB[0], rel=1e-6)
    assert x[0, 2, 0, 0].item() == pytest.approx(-MEAN_RGB[2] / STD_RGB[2], rel=1e-6)


def test_naclip_trap13_fp16_on_cuda_fp32_on_cpu():
    """Kills fp32 on GPU (the release's numbers are fp16 runs) and fp16 on CPU."""
    from radseg.methods.naclip.settings import NaclipSettings
    s = NaclipSettings()
    assert s.resolved_precision("cuda") == "fp16" and s.resolved_precision("cuda:1") == "fp16"
    assert s.resolved_precision("cpu") == "fp32"
    assert NaclipSettings(precision="fp32").resolved_precision("cuda") == "fp32"


def test_naclip_trap14_synonym_max_pooling_equals_the_releases_one_hot_max():
    """Kills a mean or sum over synonyms; the release's C x Q x H x W product is not materialised."""
    from radseg.methods.naclip.postprocess import pool_synonyms
    p = _torch.rand(7, 3, 4, generator=_torch.Generator().manual_seed(0))
    idx = [0, 0, 1, 2, 2, 2, 3]
    onehot = _F.one_hot(_torch.tensor(idx)).T.reshape(4, 7, 1, 1)
    assert _torch.equal(pool_synonyms(p, idx), (p.unsqueeze(0) * onehot).max(1)[0])
    assert pool_synonyms(p, list(range(7))) is p


# =====================================================================================================
# Trident (docs/baselines/TRIDENT.md, traps T1-T13). Each test's inputs separate the release's
# convention from the plausible alternative. Tensors only, except T1 (a stubbed SAM branch).
# =====================================================================================================
def _trident_tiny_predictor(monkeypatch=None, grid=(4, 6)):
    """The shared tiny-random Trident (no refinement) with its SAM branch replaced by cheap features on ``grid``."""
    import torch

    from radseg.methods.trident.sam_branch import SamFeatures
    from radseg.methods.trident.settings import TridentSettings
    from trident_stand_in import tiny_trident
    pred = tiny_trident()
    pred.settings = TridentSettings(model_version="tiny-random", sam_refine=False, scale=(2048, 336)).validate()
    seen = []

    def fake_sam_features(sam, rgb, halves=False, refine=True):
        seen.append(rgb)
        n = grid[0] * grid[1]
        g = torch.Generator().manual_seed(0)
        return SamFeatures(torch.full((2, n, n), 1.0 / n), torch.randn(2, grid[0], grid[1], 8, generator=g), grid,
                           torch.zeros(1, 32, 64, 64), (64, 96))
    if monkeypatch is not None:
        from radseg.methods.trident import predictor as tp
        monkeypatch.setattr(tp, "sam_features", fake_sam_features)
    return pred, seen


def test_trident_t1_sam_branch_reads_the_original_file_stretched_to_multiples_of_16(monkeypatch, tmp_path):
    import cv2
    import numpy as np
    import pytest

    from radseg.errors import ConfigError
    from radseg.methods.trident.sam_branch import sam_input_image
    from radseg.preprocess import network_input
    rgb = np.random.default_rng(0).integers(0, 256, (37, 50, 3), dtype=np.uint8)
    i0 = sam_input_image(rgb)
    assert i0.shape == (48, 64, 3)  # rounded up (37 -> 48, 50 -> 64) and stretched, not padded
    assert np.array_equal(i0, cv2.resize(rgb, (64, 48), interpolation=cv2.INTER_LINEAR))
    path = tmp_path / "img.png"
    cv2.imwrite(str(path), rgb[:, :, ::-1])
    pred, seen = _trident_tiny_predictor(monkeypatch)
    pred.set_classes("sky, cat")
    net = network_input(rgb, (2048, 336))  # the test pipeline's resized tensor: 336 x 454
    out = pred.predict_normalized(net, (37, 50), image_path=str(path))
    assert np.array_equal(seen[-1], rgb)  # the file's pixels, not the resized tensor
    assert out.labels.shape == (37, 50) and out.probs.shape == (2, 37, 50)
    steps = pred.segment(net, rgb, (37, 50), keep_steps=True).steps
    assert steps["features"].shape[0] == 4 * 6 and steps["grid"] == (4, 6)  # the SAM grid is the output grid
    with pytest.raises(ConfigError, match="image_path"):
        pred.predict_normalized(net, (37, 50))


def test_trident_t2_t3_dino_affinity_mean_is_global_and_masking_follows_the_transform():
    import torch

    from radseg.methods.trident.attention import dino_affinity
    g = torch.Generator().manual_seed(0)
    f = torch.randn(2, 8, 3, 3, generator=g)
    f[1] += 2.0  # crop 2: much more self-similar, so its own mean differs from the global one
    w = dino_affinity(f, beta=1.2, gamma=3.0)
    fn = torch.nn.functional.normalize(f.flatten(2), dim=1)
    s = fn.transpose(1, 2) @ fn
    glob = (s - 1.2 * s.mean()) * 3.0
    want = glob.masked_fill(glob < 0, float("-inf")).softmax(-1)
    assert torch.equal(w, want)
    per_crop = (s - 1.2 * s.mean(dim=(1, 2), keepdim=True)) * 3.0
    assert not torch.allclose(w, per_crop.masked_fill(per_crop < 0, float("-inf")).softmax(-1))
    assert torch.isfinite(w).all() and torch.equal(w == 0, glob < 0)  # -inf exactly where S' < 0 (T3)
    pre = s.masked_fill(s < 0, float("-inf"))  # masking before the transform: another answer
    assert not torch.allclose(w, ((pre - 1.2 * s.mean()) * 3.0).softmax(-1))


def test_trident_t4_last_block_is_value_only_without_residual_or_mlp():
    import torch
    import torch.nn.functional as F

    from radseg.methods.trident.attention import dino_guided_attention, sam_guided_attention
    pred, _ = _trident_tiny_predictor()
    blk = pred.clip.visual.transformer.resblocks[-1]
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 9, blk.attn.embed_dim, generator=g)
    dino = torch.randn(2, 16, 3, 3, generator=g)
    with torch.no_grad():
        o = dino_guided_attention(blk, x, dino, (3, 3))
        C = x.shape[-1]
        v = F.linear(blk.ln_1(x), blk.attn.in_proj_weight[2 * C:], blk.attn.in_proj_bias[2 * C:])
        fn = F.normalize(dino.flatten(2), dim=1)
        s = fn.transpose(1, 2) @ fn
        s = (s - 1.2 * s.mean()) * 3.0
        w = s.masked_fill(s < 0, float("-inf")).softmax(-1)
        want = blk.attn.out_proj(w @ v).transpose(1, 2).reshape(2, C, 3, 3)
    torch.testing.assert_close(o, want)  # out_proj(W v): no residual, no MLP, q and k unused
    assert not torch.allclose(o, want + x.transpose(1, 2).reshape(2, C, 3, 3))
    # the SAM stage's values are the spliced out_proj outputs themselves (no projection)
    canvas = torch.randn(C, 2, 3, generator=g)
    eye = torch.eye(6).expand(2, 6, 6).clone()
    value = torch.randn(2, 2, 3, 4, generator=g)
    y = sam_guided_attention(canvas, eye, value, (2, 3))
    torch.testing.assert_close(y, canvas.flatten(1).T)
    # CLS dropped before the last block: the tokens entering it are the patch tokens only
    from radseg.methods.trident.clip_visual import clip_tokens_before_last_block
    crops = torch.randn(1, 3, 48, 64, generator=g)
    assert clip_tokens_before_last_block(pred.clip.visual, crops).shape[1] == 3 * 4


def test_trident_t5_sam_threshold_per_query_over_heads_and_keys_cap_and_negative_cosines():
    import torch

    from radseg.methods.trident.attention import sam_affinity_weights
    g = torch.Generator().manual_seed(2)
    value = torch.randn(3, 2, 3, 4, generator=g)
    attn = torch.rand(3, 6, 6, generator=g).softmax(-1)
    vn = torch.nn.functional.normalize(value.reshape(3, 6, 4), dim=-1)
    cos = vn @ vn.transpose(1, 2)

    def expected(cos_fac, neg):
        t = cos_fac * cos.mean(0).mean(-1, keepdim=True)
        if not neg:
            t = torch.where(t < 0, torch.full_like(t, 0.6), t)
        t = t.clamp(max=0.9)
        m = torch.where(cos > t[None], attn, torch.zeros_like(attn)).mean(0)
        return m / m.sum(-1, keepdim=True)
    for cos_fac, neg in ((1.2, True), (3.0, False), (0.0, True), (-2.0, False), (50.0, True)):
        torch.testing.assert_close(sam_affinity_weights(attn, value, cos_fac, neg), expected(cos_fac, neg))
    # cos_fac 0 (VOC20): threshold 0, only positive-cosine pairs survive
    w0 = sam_affinity_weights(attn, value, 0.0, True)
    assert torch.equal(w0 > 0, ((cos > 0) & (attn > 0)).any(0))
    # negative thresholds: kept (True) or 0.6 (False) give different weights
    assert not torch.allclose(sam_affinity_weights(attn, value, -2.0, True),
                              sam_affinity_weights(attn, value, -2.0, False))
    # the 0.9 cap: a huge factor still keeps every pair above 0.9 (the diagonal at least)
    assert (sam_affinity_weights(attn, value, 50.0, True).diagonal() > 0).all()
    # per-row threshold (mean over heads and keys), not one global mean
    t_glob = 1.2 * cos.mean()
    m = torch.where(cos > t_glob, attn, torch.zeros_like(attn)).mean(0)
    assert not torch.allclose(sam_affinity_weights(attn, value, 1.2, True), m / m.sum(-1, keepdim=True))
    # renormalised after masking and head averaging: rows sum to 1 (the softmax over padded tokens did not)
    torch.testing.assert_close(w0.sum(-1), torch.ones(6))


def test_trident_t6_position_embeddings_use_the_scale_factor_not_the_size():
    import torch
    import torch.nn.functional as F

    from radseg.methods.trident.posemb import interpolate_pos_embed
    g = torch.Generator().manual_seed(3)
    pos = torch.randn(1, 1 + 14 * 14, 8, generator=g)
    out = interpolate_pos_embed(pos, 21 * 21, 21, 21)
    grid = pos[:, 1:].reshape(1, 14, 14, 8).permute(0, 3, 1, 2)
    by_size = F.interpolate(grid, size=(21, 21), mode="bicubic", align_corners=False)
    by_size = by_size.permute(0, 2, 3, 1).reshape(1, -1, 8)
    assert out.shape == (1, 1 + 441, 8) and torch.equal(out[:, :1], pos[:, :1])
    assert not torch.allclose(out[:, 1:], by_size, atol=1e-4)
    want = F.interpolate(grid, scale_factor=(21.1 / 14, 21.1 / 14), mode="bicubic", align_corners=False)
    assert torch.equal(out[:, 1:], want.permute(0, 2, 3, 1).reshape(1, -1, 8))
    assert interpolate_pos_embed(pos, 196, 14, 14) is pos  # 197 tokens: the table as is


def test_trident_t7_preprocess_early_return_aspect_distortion_snapping_and_averaging():
    import torch

    from radseg.methods.trident.crops import preprocess_image, preprocess_size, splice, window_grid
    assert preprocess_size(112, 224) == (112, 224)  # multiples of 16: unchanged even below 336
    assert preprocess_size(500, 375) == (512, 384) == (512, 384)  # long 500 -> 512, 375*512/500=384
    assert preprocess_size(330, 501) == (352, 512)  # short: int(330*512/501)=337 -> 352 (ceil, not round)
    assert preprocess_size(100, 150) == (336, 336)  # both clamped to the crop: the aspect is lost
    x = torch.randn(1, 3, 112, 224)
    assert preprocess_image(x) is x
    wins = window_grid(336, 560, 336, 224)
    assert wins == [(0, 0, 336, 336), (0, 224, 336, 560)]  # the last window snapped to the border
    assert window_grid(448, 448, 336, 224) == [(0, 0, 336, 336), (0, 112, 336, 448), (112, 0, 448, 336),
                                               (112, 112, 448, 448)]
    o = torch.stack([torch.full((1, 21, 21), 1.0), torch.full((1, 21, 21), 3.0)])
    c = splice(o, wins, (336, 560))
    assert c.shape == (1, 21, 35)
    assert c[0, 0, 0] == 1 and c[0, 0, 14] == 2 and c[0, 0, 34] == 3  # overlap (tokens 14..20): the mean


def test_trident_t8_background_is_the_max_of_synonym_probabilities_and_prob_thd_maps_to_0():
    import torch

    from radseg.methods.trident.logits import merge_queries, predict_labels, query_probabilities
    from radseg.methods.trident.prompts import load_trident_classes
    voc21, coco, ctx = (load_trident_classes(f"trident/{k}") for k in ("voc21", "coco_object", "context60"))
    assert (len(voc21), sum(map(len, voc21)), len(voc21[0])) == (21, 46, 26)
    assert (len(coco), sum(map(len, coco)), len(coco[0])) == (81, 97, 17)
    assert (len(ctx), sum(map(len, ctx)), ctx[0]) == (60, 60, ["background"])
    logits = torch.tensor([[0.30, 0.10], [0.29, 0.10], [0.31, 0.40]]).view(3, 1, 2)  # two bg synonyms, one class
    p = query_probabilities(logits, 40.0)
    merged = merge_queries(p, [0, 0, 1])
    torch.testing.assert_close(merged, torch.stack([p[:2].amax(0), p[2]]))
    alt = query_probabilities(torch.stack([logits[:2].amax(0), logits[2]]), 40.0)  # max logit, then softmax
    assert not torch.allclose(merged, alt)
    assert predict_labels(merged, 0.0).tolist() == [[1, 1]]  # max of synonyms (0.33) < the class (0.45) ...
    assert predict_labels(torch.stack([p[:2].sum(0), p[2]]), 0.0).tolist() == [[0, 1]]  # ... their sum would win
    assert predict_labels(merged, 0.5).tolist() == [[0, 1]]  # max 0.47 below prob_thd: label 0
    from radseg.methods.trident.settings import TridentSettings
    assert {k: TridentSettings.PRESETS[k]["prob_thd"] for k in ("voc21", "context60", "coco_object", "voc20")} == \
        {"voc21": 0.2, "context60": 0.15, "coco_object": 0.25, "voc20": 0.0}


def test_trident_t9_scale_and_softmax_after_upsampling():
    import torch
    import torch.nn.functional as F

    from radseg.methods.trident.logits import query_logits, query_probabilities
    g = torch.Generator().manual_seed(4)
    feats, text = torch.randn(6, 5, generator=g), F.normalize(torch.randn(3, 5, generator=g), dim=-1)
    lg = query_logits(feats, text, (2, 3), (7, 9))
    p = query_probabilities(lg, 40.0)
    low = (F.normalize(feats, dim=-1) @ text.T).T.reshape(1, 3, 2, 3)
    torch.testing.assert_close(lg, F.interpolate(low, size=(7, 9), mode="bilinear", align_corners=False)[0])
    other = F.interpolate((40.0 * low).softmax(1), size=(7, 9), mode="bilinear", align_corners=False)[0]
    assert not torch.allclose(p, other, atol=1e-3)


def test_trident_t10_prompt_ensemble_normalises_each_template_then_the_mean():
    import torch

    from radseg.methods.clip.text import openai_imagenet_templates, query_embeddings, tokenize
    pred, _ = _trident_tiny_predictor()
    t = openai_imagenet_templates()
    assert len(t) == 80
    with torch.no_grad():
        e = pred.clip.encode_text(tokenize([f("cat") for f in t]))
        each = (e / e.norm(dim=-1, keepdim=True)).mean(0)
        want = each / each.norm()
        got = query_embeddings(pred.clip, ["cat"])[0]
        raw = e.mean(0) / e.mean(0).norm()  # no per-template normalisation: another answer
    torch.testing.assert_close(got, want)
    assert not torch.allclose(got, raw, atol=1e-4)
    assert pred.clip.visual.transformer.resblocks[0].mlp.gelu.__class__.__name__ == "QuickGELU"


def test_trident_t11_t12_t13_precision_refinement_constants_and_crop_validity():
    import pytest
    import torch

    from radseg.errors import ConfigError
    from radseg.methods.trident.crops import crop_batch
    from radseg.methods.trident.settings import TridentSettings
    s = TridentSettings()
    assert (s.sam_refine, s.minimal_area, s.sam_mask_coff, s.sam_iou_thresh) == (True, 225, 0.005, 0.80)
    with pytest.raises(ConfigError, match="precision"):
        TridentSettings(precision="fp16").validate()  # T11: the release's fp16 is not claimed
    with pytest.raises(ConfigError, match="multiples of 16"):
        TridentSettings(slide_crop=330).validate()
    with pytest.raises(ValueError, match="token grid"):
        crop_batch(torch.zeros(1, 3, 40, 40), [(0, 3, 16, 19)])
    # T12: the refinement's boxes are integer (int64) before SAM's transform
    from radseg.core.sam_refine import extract_regions
    labels = torch.zeros(40, 40, dtype=torch.long)
    labels[:, 20:] = 1
    probs = torch.stack([(labels == 0).float() * 0.9, (labels == 1).float() * 0.9])
    regions = extract_regions(labels, probs, 0.2, 100)
    boxes = regions.boxes.to(labels.dtype)
    assert boxes.dtype == torch.int64 and torch.equal(boxes.float(), regions.boxes)
    assert torch.equal(boxes, torch.tensor([[0, 0, 9, 19], [10, 0, 19, 19]]))


def test_trident_cityscapes_sam_halves_join_along_the_width_and_refine_on_a_third_pass(monkeypatch):
    import numpy as np
    import torch

    from radseg.methods.trident import sam_branch
    calls = []

    def fake_pass(sam, image, patch=16):
        calls.append(image.shape[:2])
        hs, ws = 2, image.shape[1] // 32
        n = hs * ws
        tag = float(len(calls))
        return (torch.full((1, n, n), tag), torch.full((1, hs, ws, 3), tag), (hs, ws), torch.full((1, 1), tag),
                (32, image.shape[1] // 2))
    monkeypatch.setattr(sam_branch, "sam_pass", fake_pass)
    rgb = np.zeros((60, 250, 3), dtype=np.uint8)  # I0: 64 x 256, halves of 128
    f = sam_branch.sam_features(None, rgb, halves=True, refine=True)
    assert calls == [(64, 128), (64, 128), (64, 256)]  # left, right, then the whole image for the refinement
    assert f.grid == (2, 8) and f.value.shape == (1, 2, 8, 3)
    assert (f.value[0, :, :4] == 1).all() and (f.value[0, :, 4:] == 2).all()  # left half, then right half
    a = f.attn.view(1, 2, 8, 2, 8)
    assert (a[:, :, :4, :, :4] == 1).all() and (a[:, :, 4:, :, 4:] == 2).all()
    assert (a[:, :, :4, :, 4:] == 0).all() and (a[:, :, 4:, :, :4] == 0).all()  # no pairs across the halves
    assert f.embedding.item() == 3.0 and f.input_size == (32, 128)
    calls.clear()
    sam_branch.sam_features(None, rgb, halves=True, refine=False)
    assert len(calls) == 2
