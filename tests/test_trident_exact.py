"""Trident against tests/clean_room_trident.py (TRIDENT.md alone) on the seeded tiny stand-ins.

Every intermediate the spec names (SAM attention and value, the grid, preprocessed image, windows,
crops, DINO features, CLIP tokens, the DINO-guided output, the spliced canvas, the SAM-guided
features, logits, query and merged probabilities, coarse and refined labels) to float32 precision;
labels identical. The peaked text embeddings (three image tokens' own features, one class with two
queries) make the random-weight prediction non-trivial so that the refinement has regions to prompt.
Also: DINO's two routes (this module vs timm) on one seeded state dict, and the weight layouts.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import clean_room_trident as ref

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _smooth_image(h, w, seed=0):
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(1, 3, 4, 6, generator=g)
    img = F.interpolate(low, size=(h, w), mode="bilinear", align_corners=False)[0]
    return (img.permute(1, 2, 0).numpy() * 255).astype(np.uint8)


@pytest.fixture(scope="module")
def run():
    from radseg.methods.trident.sam_branch import sam_features
    from radseg.methods.trident.settings import TridentSettings
    from radseg.preprocess import network_input
    from trident_stand_in import tiny_trident
    s = TridentSettings(model_version="tiny-random", scale=(2048, 336), coarse_thresh=0.2, sam_iou_thresh=0.29,
                        minimal_area=100).validate()
    pred = tiny_trident()
    pred.settings = s.replace(sam_refine=False)
    rgb = _smooth_image(60, 100)
    img = network_input(rgb, s.scale)
    feats = sam_features(pred.sam, rgb)  # depends on the image only: computed once for both passes
    pred.set_text_embeddings(torch.ones(1, pred.clip.visual.proj.shape[1]), [0])
    y = pred.segment(img, rgb, rgb.shape[:2], keep_steps=True, sam_feats=feats).steps["features"]
    # four image tokens' own features as the queries; class 0 has the first two (the background merge)
    text = F.normalize(y[[0, 2 * y.shape[0] // 3, y.shape[0] // 3, y.shape[0] - 1]], dim=-1)
    owner = [0, 0, 1, 2]
    pred.settings = s
    pred.set_text_embeddings(text, owner)
    out = pred.segment(img, rgb, rgb.shape[:2], keep_steps=True, sam_feats=feats)
    vis = pred.clip.visual
    cfg = {k: getattr(s, k) for k in ("slide_crop", "slide_stride", "beta", "gamma", "cos_fac", "refine_neg_cos",
                                      "logit_scale", "prob_thd", "sam_refine", "coarse_thresh", "minimal_area",
                                      "sam_mask_coff", "sam_iou_thresh")}
    expect = ref.trident(img, rgb, rgb.shape[:2], pred.clip, vis.transformer.resblocks[0].attn.num_heads, pred.dino,
                         pred.dino.blocks[0].attn.num_heads, pred.sam, text, owner, cfg)
    return pred, out, expect


NAMES = ["sam_attn", "sam_value", "preprocessed", "crops", "dino", "tokens", "dino_attn_out", "canvas", "features",
         "logits", "query_probs", "probs"]


@pytest.mark.parametrize("name", NAMES)
def test_every_intermediate_matches_the_clean_room(run, name):
    _, out, expect = run
    got, want = out.steps[name], expect[name]
    assert got.shape == want.shape
    torch.testing.assert_close(got.float(), want.float(), rtol=1e-4, atol=2e-5)


def test_grid_windows_and_labels_are_identical(run):
    _, out, expect = run
    assert out.steps["grid"] == expect["grid"] and out.steps["windows"] == expect["windows"]
    assert len(expect["windows"]) == 2  # two overlapping crops: the splice averages
    assert torch.equal(out.steps["coarse_labels"], expect["coarse_labels"])
    assert len(out.steps["coarse_labels"].unique()) >= 2
    assert torch.equal(out.labels, expect["labels"])
    torch.testing.assert_close(out.probs, expect["final_probs"], rtol=1e-4, atol=1e-5)


def test_the_refinement_changed_the_prediction(run):
    _, out, expect = run
    assert not torch.equal(out.probs, out.steps["probs"])  # some mask was accepted: refined scores returned
