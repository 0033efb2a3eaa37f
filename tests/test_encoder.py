import torch

from radseg.core.encoder import RADSegEncoder
from radseg.models import build_radio

CLASSES = ["cat", "dog", "sky", "grass", "road"]


def make_encoder(**kw):
    kw.setdefault("slide_crop", 224)
    kw.setdefault("slide_stride", 112)
    return RADSegEncoder.from_pretrained("tiny-random", **kw)


def test_predict_shapes_and_determinism():
    img = torch.randn(1, 3, 250, 333)
    r1 = make_encoder().predict(img, ori_shape=(125, 166), classes=CLASSES)
    r2 = make_encoder().predict(img, ori_shape=(125, 166), classes=CLASSES)
    assert r1.probs.shape == (5, 125, 166) and r1.labels.shape == (125, 166)
    assert r1.labels.dtype == torch.int64
    assert torch.equal(r1.probs, r2.probs) and torch.equal(r1.labels, r2.labels)


def test_scra_and_scga_switches_change_the_output():
    img = torch.randn(1, 3, 224, 224)
    base = make_encoder().predict(img, classes=CLASSES).probs
    assert not torch.allclose(base, make_encoder(use_scga=False).predict(img, classes=CLASSES).probs)
    assert not torch.allclose(base, make_encoder(use_scra=False).predict(img, classes=CLASSES).probs)
    assert not torch.allclose(base, make_encoder(scga_scaling=2.0).predict(img, classes=CLASSES).probs)


def test_synonyms_take_the_max_over_a_shared_softmax():
    img = torch.randn(1, 3, 224, 224)
    enc = make_encoder(prompt_denoising_thresh=0.0)
    flat = enc.predict(img, classes=["sky", "cloud", "dog"]).probs
    syn = enc.predict(img, classes=[["sky", "cloud"], "dog"]).probs
    assert syn.shape[0] == 2
    assert torch.equal(syn[0], torch.maximum(flat[0], flat[1])) and torch.equal(syn[1], flat[2])


def test_memory_cap_gives_identical_output():
    img = torch.randn(1, 3, 336, 448)
    a = make_encoder().predict(img, classes=CLASSES).probs
    b = make_encoder(max_windows_per_batch=2).predict(img, classes=CLASSES).probs
    assert torch.allclose(a, b, atol=1e-6)


def test_adaptors_are_detached_and_forward_returns_patch_features():
    bundle = build_radio("tiny-random", "siglip2", need_sam=True)
    assert bundle.model.adaptors is None and bundle.sam_adaptor is not None
    out = bundle.model(torch.randn(2, 3, 64, 96))
    assert out.features.shape == (2, 4 * 6, 32)  # patch tokens only
    assert not bundle.model.training


def test_given_text_embeddings_are_used_until_the_classes_change():
    import pytest
    img = torch.randn(1, 3, 224, 224)
    enc = make_encoder()
    enc.set_classes(CLASSES)
    own = enc.text_embeddings().clone()
    base = enc.predict(img).probs
    other = torch.roll(own, 1, dims=0)  # the same prompts, one class over
    enc.set_text_embeddings(other)
    assert torch.equal(enc.text_embeddings(), other)
    rolled = enc.predict(img).probs  # the classes' scores move with their embeddings (the softmax over
    assert not torch.allclose(rolled, base)  # classes sums in another order: equal to rounding)
    assert torch.allclose(rolled, torch.roll(base, 1, dims=0), atol=1e-6, rtol=0)
    enc.set_classes(CLASSES)  # new classes: the language adaptor's embeddings again
    assert torch.equal(enc.text_embeddings(), own)
    with pytest.raises(ValueError, match="for 5 prompts"):
        enc.set_text_embeddings(own[:3])
