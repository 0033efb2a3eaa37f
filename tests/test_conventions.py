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
