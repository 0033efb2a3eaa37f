"""Fast mode (bf16 backbone and SAM decoder, SDPA, one SAM decoder call): agreement with exact mode.

Measured on the seeded stand-ins and generated blocky images (tests/datagen.py); the numbers
are printed (``pytest -s``) and summarised in docs/BENCHMARKS.md.
"""
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from radseg.bench.core import miou_between
from radseg.config import RADSegConfig
from radseg.core.encoder import RADSegEncoder
from radseg.core.sam_refine import SAMRefiner
from radseg.core.scra import SCRAttention
from radseg.errors import ConfigError
from radseg.models import build_radio
from radseg.models.sam import build_tiny_sam
from radseg.preprocess import normalize_image

sys.path.insert(0, str(Path(__file__).parent))
from datagen import make_image_and_label  # noqa: E402


@pytest.fixture(scope="module")
def bundle():
    return build_radio("tiny-random", "siglip2", need_sam=True)


def test_scra_sdpa_matches_explicit_attention():
    from timm.models.vision_transformer import Attention
    torch.manual_seed(0)
    attn = SCRAttention(Attention(64, num_heads=4), 10.0).eval()
    x = torch.randn(2, 50, 64)
    ref = attn(x)
    attn.fast = True
    out = attn(x)
    torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-5)


def test_fast_is_a_config_field():
    assert RADSegConfig().fast is False and "fast" in RADSegEncoder.CONFIG_KEYS
    assert RADSegConfig(fast=True).validate().fast is True
    with pytest.raises(ConfigError):
        RADSegConfig(fast="yes").validate()
    assert RADSegConfig(max_windows_per_batch="auto").validate().max_windows_per_batch == "auto"
    with pytest.raises(ConfigError):
        RADSegConfig(max_windows_per_batch=0).validate()


@pytest.mark.parametrize("refine", [False, True])
def test_fast_mode_agreement_with_exact_on_generated_data(bundle, refine):
    rng = np.random.default_rng(0)
    classes = ["sky", "grass", "cat", "road", "tree"]
    agree, d_miou = [], []
    for _i in range(3):
        img, gt = make_image_and_label(rng, 120, 168, list(range(len(classes))))
        x = normalize_image(torch.from_numpy(img).permute(2, 0, 1)[None])
        outs = {}
        for fast in (False, True):
            ref = (SAMRefiner(build_tiny_sam(0), coarse_thresh=0.1, minimal_area=9, sam_iou_thresh=-1.0)
                   if refine else None)
            enc = RADSegEncoder(bundle, slide_crop=112, slide_stride=64, text_disk_cache=False, sam_refiner=ref,
                                fast=fast)
            outs[fast] = enc.predict(x, classes=classes).labels
        gt_t = torch.from_numpy(gt.astype(np.int64))
        agree.append(float((outs[True] == outs[False]).float().mean()))
        d_miou.append(miou_between(outs[True], gt_t) - miou_between(outs[False], gt_t))
    print(f"\nfast vs exact (refine={refine}): pixel agreement {np.mean(agree):.4f}, "
          f"mIoU difference vs ground truth {np.mean(d_miou):+.2f} points")
    assert np.mean(agree) > 0.9
    assert abs(np.mean(d_miou)) < 10.0
