import pytest
import torch
import torch.nn.functional as F

from radseg.core.dense_logits import (
    cosine_probabilities,
    denoise_prompts,
    max_over_synonyms,
    predict_labels,
    project_tokens,
    upsample,
)
from radseg.core.text_embeddings import TextEmbedder, default_templates, flatten_synonyms


class FakeAdaptor:
    """encode_text = a fixed random embedding per distinct prompt string."""

    def __init__(self, dim=6):
        self.dim, self.calls, self._seen = dim, 0, {}

    def tokenizer(self, texts):
        class Tok(dict):
            def to(self, device):
                return self
        return Tok(texts=list(texts))

    def encode_text(self, tokens):
        self.calls += 1
        out = []
        for t in tokens["texts"]:
            if t not in self._seen:
                g = torch.Generator().manual_seed(len(self._seen) + 1)
                self._seen[t] = torch.randn(self.dim, generator=g) * (1 + len(self._seen) % 3)
            out.append(self._seen[t])
        return torch.stack(out)


def test_80_openai_templates_from_open_clip():
    t = default_templates()
    assert len(t) == 80 and t[0]("dog") == "a bad photo of a dog."


def test_embedding_is_mean_of_normalised_prompts_without_renormalising():
    ad = FakeAdaptor()
    emb = TextEmbedder(ad, "fake", disk_cache=False)(["dog"])
    prompts = torch.stack([ad._seen[t("dog")] for t in default_templates()])
    ref = (prompts / prompts.norm(dim=-1, keepdim=True)).mean(0)
    assert torch.allclose(emb[0], ref, atol=1e-6)
    assert emb[0].norm() < 0.99  # not re-normalised


def test_memory_and_disk_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("RADSEG_CACHE_DIR", str(tmp_path))
    TextEmbedder._memory.clear()
    ad = FakeAdaptor()
    e1 = TextEmbedder(ad, "m1")(["cat", "sky"])
    calls = ad.calls
    e2 = TextEmbedder(ad, "m1")(["cat", "sky"])
    assert ad.calls == calls and torch.equal(e1, e2)  # memory
    TextEmbedder._memory.clear()
    e3 = TextEmbedder(ad, "m1")(["cat", "sky"])
    assert ad.calls == calls and torch.equal(e1, e3)  # disk
    assert list((tmp_path / "text_embeddings").glob("*.pt"))
    TextEmbedder(ad, "m2")(["cat", "sky"])  # another model id -> recomputed
    assert ad.calls > calls
    calls = ad.calls
    TextEmbedder(ad, "m1", templates=default_templates()[:3])(["cat", "sky"])  # other templates
    assert ad.calls > calls


def test_cache_is_keyed_by_the_weights_not_the_name(tmp_path, monkeypatch):
    """Two stand-ins with different seeds under one model name get their own cache entries."""
    from radseg.core import text_embeddings as te
    from radseg.models.standins import build_tiny_radio
    monkeypatch.setenv("RADSEG_CACHE_DIR", str(tmp_path))
    TextEmbedder._memory.clear()
    same_name = "tiny-random|stand-in|seed0|siglip2"
    templates = default_templates()[:2]
    a0 = build_tiny_radio(["siglip2"], seed=0).adaptors["siglip2"]
    a1 = build_tiny_radio(["siglip2"], seed=1).adaptors["siglip2"]
    e0 = TextEmbedder(a0, same_name, templates=templates)(["cat", "sky"])
    e1 = TextEmbedder(a1, same_name, templates=templates)(["cat", "sky"])
    assert not torch.allclose(e0, e1)  # not the stale entry of the other weights
    assert len(list((tmp_path / "text_embeddings").glob("*.pt"))) == 2
    TextEmbedder._memory.clear()
    again = build_tiny_radio(["siglip2"], seed=1).adaptors["siglip2"]  # same weights, new object
    assert te.weights_digest(again) == te.weights_digest(a1) != te.weights_digest(a0)
    assert torch.equal(TextEmbedder(again, same_name, templates=templates)(["cat", "sky"]), e1)
    assert len(list((tmp_path / "text_embeddings").glob("*.pt"))) == 2
    with torch.no_grad():
        again.text_encoder.out.weight[0, 0] += 1.0  # weights changed in place: a new object would see it
    assert te.weights_digest(build_tiny_radio(["siglip2"], seed=1).adaptors["siglip2"]) == te.weights_digest(a1)
    te._DIGESTS.pop(again)
    assert te.weights_digest(again) != te.weights_digest(a1)


def test_weights_digest_is_computed_once_per_object(monkeypatch):
    from radseg.core import text_embeddings as te
    from radseg.models.standins import build_tiny_radio
    ad = build_tiny_radio(["siglip2"], seed=2).adaptors["siglip2"]
    d = te.weights_digest(ad)
    monkeypatch.setattr(te.hashlib, "sha256", lambda *a: pytest.fail("digest computed twice"))
    assert te.weights_digest(ad) == d


def test_flatten_synonyms():
    assert flatten_synonyms([["sky", "cloud"], ["dog"]]) == (["sky", "cloud", "dog"], [0, 0, 1])


def test_project_tokens_channels_last_contiguous_input():
    seen = {}

    def head(t):
        seen["contig"], seen["shape"] = t.is_contiguous(), tuple(t.shape)
        return t[..., :3] * 2
    f = torch.randn(1, 5, 2, 3)
    out = project_tokens(f, head)
    assert seen == {"contig": True, "shape": (1, 6, 5)}
    assert out.shape == (1, 3, 2, 3) and torch.allclose(out, 2 * f[:, :3])


def test_cosine_times_100_softmax():
    g = torch.Generator().manual_seed(0)  # deterministic: x100 saturates the softmax on some draws
    proj = torch.randn(1, 8, 3, 4, generator=g)
    text = torch.randn(5, 8, generator=g)
    prob = cosine_probabilities(proj, text)
    pix = F.normalize(proj.permute(0, 2, 3, 1).reshape(-1, 8), dim=-1)
    ref = torch.softmax(100 * pix @ F.normalize(text, dim=-1).T, -1).reshape(1, 3, 4, 5).permute(0, 3, 1, 2)
    assert prob.shape == (1, 5, 3, 4) and torch.allclose(prob, ref, atol=1e-5)
    assert not torch.allclose(prob, torch.softmax(10 * ref, 1), atol=1e-3)


def test_probabilities_layout_is_reference_noncontiguous_and_chunking_is_bit_exact():
    torch.manual_seed(0)
    proj = torch.randn(1, 16, 9, 11)
    text = torch.randn(7, 16)
    full = cosine_probabilities(proj, text)
    assert not full.is_contiguous()  # channels-last view, as the reference upsamples it
    for chunk in (1, 64, 7 * 16 * 4 * 5):
        assert torch.equal(cosine_probabilities(proj, text, chunk_bytes=chunk), full)
    # the broadcast batched matmul, reproduced literally
    pix = proj.permute(0, 2, 3, 1).reshape(-1, 16)
    pix = pix / pix.norm(dim=-1, keepdim=True)
    txt = text / text.norm(dim=-1, keepdim=True)
    sim = (txt[None, :, None, :] @ pix[:, None, :, None]).reshape(-1, 7)
    ref = torch.softmax(100 * sim, -1).reshape(1, 9, 11, 7).permute(0, 3, 1, 2)
    assert torch.equal(full, ref)


def test_upsample_to_original_size_bilinear_align_corners_false():
    p = torch.rand(1, 3, 4, 5)
    out = upsample(p, (37, 41))
    assert out.shape == (1, 3, 37, 41)
    assert torch.equal(out, F.interpolate(p, size=(37, 41), mode="bilinear", align_corners=False))
    assert not torch.allclose(out, F.interpolate(p, size=(37, 41), mode="bilinear", align_corners=True))


def test_denoising_zeroes_weak_classes_without_renormalising():
    p = torch.zeros(1, 3, 2, 2)
    p[0, 0] = torch.tensor([[0.7, 0.2], [0.1, 0.3]])
    p[0, 1] = torch.tensor([[0.2, 0.49], [0.3, 0.3]])  # max 0.49 < 0.5 -> dropped
    p[0, 2] = torch.tensor([[0.1, 0.31], [0.6, 0.4]])
    out = denoise_prompts(p, 0.5)
    assert torch.equal(out[0, 0], p[0, 0]) and torch.equal(out[0, 2], p[0, 2])
    assert torch.all(out[0, 1] == 0)
    assert out.sum(1).max() < 1  # no renormalisation
    # exactly at the threshold is kept
    q = torch.full((1, 2, 1, 1), 0.5)
    assert torch.equal(denoise_prompts(q, 0.5), q)


def test_all_classes_dropped_gives_class_zero():
    p = torch.full((1, 4, 3, 3), 0.25)
    assert torch.all(predict_labels(denoise_prompts(p, 0.5)) == 0)


def test_max_over_synonyms():
    p = torch.rand(1, 4, 2, 2)
    out = max_over_synonyms(p, [0, 0, 1, 2], 3)
    assert torch.equal(out[0, 0], torch.maximum(p[0, 0], p[0, 1]))
    assert torch.equal(out[0, 2], p[0, 3])
    assert max_over_synonyms(p, [0, 1, 2, 3], 4) is p
