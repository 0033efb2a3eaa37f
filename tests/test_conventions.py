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
