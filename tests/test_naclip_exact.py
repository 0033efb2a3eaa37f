"""NACLIP against tests/clean_room_naclip.py on seeded random weights: every intermediate of the spec.

Two architectures: ``tiny-random`` and a small one (3 heads, 4 visual layers); three inputs: sliding
windows over 224 x 224 crops with a shifted last row and column, sliding windows on an image shorter
than the crop (200-pixel windows: the position embedding is interpolated, Omega is 12 x 14), and the
whole image in one pass (a 7 x 10 grid with remainder pixels); PAMR on; synonyms and a background
threshold. Float32 on CPU: agreement to float32 rounding, labels identical.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import clean_room_naclip as ref
from radseg.methods.clip import LoadedClip, build_clip
from radseg.methods.clip import text as clip_text
from radseg.methods.clip.sources import random_clip
from radseg.methods.clip.vision import interpolate_pos_embed
from radseg.methods.naclip.attention import gaussian_prior
from radseg.methods.naclip.encoder import encode_window
from radseg.methods.naclip.predictor import NaclipPredictor
from radseg.methods.naclip.settings import NaclipSettings
from radseg.preprocess import network_input

SMALL = dict(embed_dim=48, quick_gelu=True,
             vision_cfg=dict(image_size=224, patch_size=16, width=192, layers=4, head_width=64),
             text_cfg=dict(context_length=77, vocab_size=49408, width=128, heads=2, layers=1))
CLASSES = {"tiny": ["sky|cloud", "dog"], "small": ["dog", "grass|lawn"]}
CASES = {  # name: (network-input size, ori_shape, crop, prob_thd)
    "slide": ((240, 250), (130, 150), 224, 0.0),   # 2 x 2 windows of 224, the last ones shifted back
    "short": ((200, 240), (150, 170), 224, 0.5),   # 200 x 224 windows: 12 x 14 grids
    "whole": ((120, 170), (100, 140), 0, 0.0),     # one pass, a 7 x 10 grid, remainder pixels dropped
}
#: the small architecture runs the case that exercises most (interpolation, threshold)
RUNS = [("tiny", c) for c in sorted(CASES)] + [("small", "short")]


def _small_clip():
    import open_clip
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(3)
        model = open_clip.CLIP(**SMALL)
    return LoadedClip(model.eval().requires_grad_(False), "small-random", {"clip": "small-random"})


_BUILT = {}


def _setup(name):
    if name not in _BUILT:
        clip = build_clip("tiny-random") if name == "tiny" else _small_clip()
        sd = {k: v.float() for k, v in clip.model.state_dict().items()}
        pred = NaclipPredictor(clip, NaclipSettings(model_version="tiny-random"))
        pred.set_classes(CLASSES[name])
        words = [w for c in CLASSES[name] for w in c.split("|")]
        text = ref.ref_query_embeddings(sd, words, clip_text.openai_imagenet_templates(), clip_text.tokenize)
        _BUILT[name] = (name, clip, sd, pred, text)
    return _BUILT[name]


@pytest.fixture(scope="module", params=["tiny", "small"])
def setup(request):
    return _setup(request.param)


def _image(size, seed=0):
    rng = np.random.default_rng(seed)
    rgb = rng.integers(0, 256, size=(size[0] // 10, size[1] // 10, 3), dtype=np.uint8)
    import cv2
    rgb = cv2.resize(rgb, (size[1], size[0]), interpolation=cv2.INTER_LINEAR)  # smooth: PAMR sees structure
    return network_input(rgb, None)


def test_text_embeddings_match(setup):
    _, _, _, pred, text = setup
    assert pred.query_idx == [i for i, c in enumerate(CLASSES[setup[0]]) for _ in c.split("|")]
    torch.testing.assert_close(pred.text_embeddings, text, rtol=1e-5, atol=1e-6)


def test_gaussian_prior_and_position_embedding_match(setup):
    _, clip, sd, _, _ = setup
    for hp, wp in ((14, 14), (12, 14), (7, 10), (21, 28)):
        torch.testing.assert_close(gaussian_prior(hp, wp, 5.0), ref.ref_gaussian(hp, wp, 5.0), rtol=0, atol=1e-7)
        torch.testing.assert_close(interpolate_pos_embed(clip.model.visual.positional_embedding, hp, wp),
                                   ref.ref_pos_embed(sd["visual.positional_embedding"], hp, wp), rtol=0, atol=0)


@pytest.mark.parametrize("arch,case", RUNS)
def test_every_intermediate_matches(arch, case):
    name, clip, sd, pred, text = _setup(arch)
    size, ori, crop, thd = CASES[case]
    pred.settings = NaclipSettings(model_version="tiny-random", slide_crop=crop, prob_thd=thd)
    img = _image(size, seed=len(case))
    want = ref.ref_predict(sd, img, ori, text, pred.query_idx, crop=crop, prob_thd=thd)
    window = img[:, :, :224, :224] if crop else img
    f, hp, wp = encode_window(clip.model.visual, window, 5.0)
    f_ref, hp_ref, wp_ref = ref.ref_window_features(sd, window)
    assert (hp, wp) == (hp_ref, wp_ref)
    torch.testing.assert_close(f, f_ref, rtol=1e-5, atol=1e-5)
    got = pred.predict_normalized(img, ori)
    torch.testing.assert_close(got.dense, want["dense"], rtol=0, atol=2e-6)
    torch.testing.assert_close(F.interpolate(got.dense, size=ori, mode="bilinear", align_corners=False),
                               want["resized"], rtol=0, atol=2e-6)
    torch.testing.assert_close(got.logits, want["logits"], rtol=0, atol=2e-6)
    torch.testing.assert_close(got.probs, want["probs"], rtol=0, atol=1e-5)
    assert torch.equal(got.labels, want["labels"])
    assert got.probs.shape == (len(CLASSES[name]), *ori) and got.labels.dtype == torch.int64
    if thd:
        assert (got.labels == 0).sum() > (got.probs.argmax(0) == 0).sum()  # the threshold acted


def test_random_replica_shapes_are_the_real_models():
    import open_clip
    with torch.device("meta"):
        m = random_clip(None)
    assert type(m) is open_clip.CLIP
