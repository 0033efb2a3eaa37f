"""SAM loading: look-up order, hash-prefix check, clear errors, trunk never built."""
import hashlib
import os

import pytest
import torch

from radseg.errors import UnknownModelError, WeightsNotFoundError
from radseg.models import SourceRequest, get_sam_source
from radseg.models import sam as sam_mod
from radseg.models.sam import (
    SAM_URL,
    build_sam_parts,
    build_tiny_sam,
    find_checkpoint,
    hash_prefix,
    load_sam,
    verify_checkpoint,
)


@pytest.fixture
def places(tmp_path, monkeypatch):
    """Empty cwd, radseg cache and torch hub folders under tmp_path; no $RADSEG_SAM_CKPT."""
    cwd, cache, torch_home = tmp_path / "cwd", tmp_path / "cache", tmp_path / "torch"
    for d in (cwd, cache / "checkpoints", torch_home / "hub" / "checkpoints"):
        d.mkdir(parents=True)
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("RADSEG_CACHE_DIR", str(cache))
    monkeypatch.setenv("TORCH_HOME", str(torch_home))
    monkeypatch.delenv("RADSEG_SAM_CKPT", raising=False)
    return {"cwd": cwd, "cache": cache / "checkpoints", "hub": torch_home / "hub" / "checkpoints"}


def save_tiny(path, seed=0):
    torch.save(build_tiny_sam(seed).state_dict(), path)
    return path


def with_hash_name(path, stem="tiny_sam", sep="_", n=8):
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    new = path.with_name(f"{stem}{sep}{digest[:n]}.pth")
    path.rename(new)
    return new


def same_weights(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.mark.parametrize("name,prefix", [("sam_vit_h_4b8939.pth", "4b8939"), ("resnet18-f37072fd.pth", "f37072fd"),
                                         ("/a/b_c/sam.pth", None), ("model_2023.pth", None),
                                         ("x_ABCDEF12.pth", None), ("sam_vit_h_4b8939.pth.tar", "4b8939")])
def test_hash_prefix(name, prefix):
    assert hash_prefix(name) == prefix


def test_missing_checkpoint_lists_every_place(places):
    with pytest.raises(WeightsNotFoundError) as e:
        load_sam()
    msg = str(e.value)
    assert "sam_vit_h_4b8939.pth" in msg and SAM_URL in msg and "\n" not in msg
    for d in ("cwd", "cache", "hub"):
        assert str(places[d] / "sam_vit_h_4b8939.pth") in msg


def test_missing_explicit_path_and_env(places, monkeypatch):
    with pytest.raises(WeightsNotFoundError, match="does not exist"):
        load_sam(str(places["cwd"] / "nope" / "sam.pth"))
    monkeypatch.setenv("RADSEG_SAM_CKPT", str(places["cwd"] / "gone.pth"))
    with pytest.raises(WeightsNotFoundError, match=r"\$RADSEG_SAM_CKPT"):
        load_sam()


def test_lookup_order(places, monkeypatch):
    save_tiny(places["hub"] / "tiny.pth", seed=3)
    assert find_checkpoint("tiny.pth") == places["hub"] / "tiny.pth"
    save_tiny(places["cache"] / "tiny.pth", seed=2)
    assert find_checkpoint("tiny.pth") == places["cache"] / "tiny.pth"
    save_tiny(places["cwd"] / "tiny.pth", seed=1)
    sam = load_sam("tiny.pth", model_type="tiny")  # a bare name: cwd first
    assert same_weights(sam, build_tiny_sam(1))
    monkeypatch.setenv("RADSEG_SAM_CKPT", str(places["cache"] / "tiny.pth"))
    assert same_weights(load_sam(model_type="tiny"), build_tiny_sam(2))  # the env var beats the folders
    assert same_weights(load_sam(str(places["hub"] / "tiny.pth"), model_type="tiny"), build_tiny_sam(3))


def test_hash_named_checkpoint_loads(places):
    path = with_hash_name(save_tiny(places["cache"] / "t.pth"), sep="-")
    sam = load_sam(path.name, model_type="tiny")
    assert same_weights(sam, build_tiny_sam(0))
    assert len(sam.image_encoder.blocks) == 0 and sam.image_encoder.pos_embed is None
    assert not hasattr(sam.image_encoder, "patch_embed")


def test_hash_mismatch_and_truncated(places):
    bad = save_tiny(places["cwd"] / "tiny_sam_00000000.pth")
    with pytest.raises(WeightsNotFoundError, match="corrupt or incomplete.*expected 00000000.*download again"):
        load_sam(str(bad), model_type="tiny")
    good = with_hash_name(save_tiny(places["cwd"] / "t.pth"))
    data = good.read_bytes()
    good.write_bytes(data[: len(data) // 2])  # an interrupted download
    with pytest.raises(WeightsNotFoundError, match="corrupt or incomplete"):
        load_sam(str(good), model_type="tiny")


def test_unreadable_file_without_hash(places):
    path = save_tiny(places["cwd"] / "tiny.pth")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # truncated: caught by the container check (resolve_sam)
    with pytest.raises(WeightsNotFoundError, match="is not a PyTorch checkpoint .truncated, corrupt"):
        load_sam(str(path), model_type="tiny")
    path.write_bytes(b"not a checkpoint at all")
    with pytest.raises(WeightsNotFoundError, match="is not a PyTorch checkpoint"):
        load_sam(str(path), model_type="tiny")
    import zipfile  # a zip that torch cannot read: caught when loading
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("hello.txt", "not torch")
    with pytest.raises(WeightsNotFoundError, match="could not read SAM checkpoint"):
        load_sam(str(path), model_type="tiny")


def test_wrong_model_type_is_a_clear_error(places):
    path = save_tiny(places["cwd"] / "tiny.pth")
    with pytest.raises(WeightsNotFoundError, match="not the official SAM vit_h checkpoint.*register_sam_source"):
        load_sam(str(path))
    path = with_hash_name(path)  # your own weights, named with their SHA-256 prefix
    with pytest.raises(WeightsNotFoundError, match="does not fit SAM 'vit_h'"):
        load_sam(str(path))
    with pytest.raises(UnknownModelError):
        load_sam(str(path), model_type="vit_x")


def test_vit_h_checkpoint_loads_without_building_the_trunk(places, monkeypatch):
    ref = build_sam_parts("vit_h")
    sd = dict(ref.state_dict())
    # trunk keys of a real checkpoint are ignored (tiny stand-ins for them here)
    sd["image_encoder.pos_embed"] = torch.zeros(1, 2, 2, 1280)
    sd["image_encoder.patch_embed.proj.weight"] = torch.zeros(1280, 3, 1, 1)
    sd["image_encoder.blocks.0.norm1.weight"] = torch.ones(1280)
    torch.save(sd, places["cwd"] / "sam_vith.pth")
    name = with_hash_name(places["cwd"] / "sam_vith.pth", stem="sam_vith").name
    import segment_anything.modeling.image_encoder as ie

    def no_blocks(*a, **k):
        raise AssertionError("a ViT block was built")
    monkeypatch.setattr(ie.Block, "__init__", no_blocks)
    sam = load_sam(name)
    assert len(sam.image_encoder.blocks) == 0
    assert sam.image_encoder.neck[0].in_channels == 1280
    assert sam.prompt_encoder.embed_dim == 256 and sam.prompt_encoder.image_embedding_size == (64, 64)
    assert sam.mask_decoder.iou_prediction_head.num_layers == 3
    assert same_weights(sam, ref)
    del sd["mask_decoder.iou_token.weight"]
    torch.save(sd, places["cwd"] / "sam_vith.pth")
    with pytest.raises(WeightsNotFoundError, match="missing.*iou_token"):
        load_sam(with_hash_name(places["cwd"] / "sam_vith.pth", stem="sam_vith").name)


def test_verified_hash_is_remembered_across_processes(places, monkeypatch):
    path = with_hash_name(save_tiny(places["cwd"] / "t.pth"))
    verify_checkpoint(path)
    assert (places["cache"].parent / "sam_digests.json").is_file()
    monkeypatch.setattr(sam_mod, "file_digests", lambda *a: pytest.fail("hashed twice"))
    verify_checkpoint(path)
    sam_mod._VERIFIED.clear()  # a new process: the JSON cache answers
    verify_checkpoint(path)
    monkeypatch.undo()
    data = path.read_bytes()
    path.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # changed bytes (size kept): hashed again
    os.utime(path, ns=(1, 1))
    with pytest.raises(WeightsNotFoundError, match="corrupt or incomplete"):
        verify_checkpoint(path, "tiny")


def test_official_checkpoint_is_recognised_whatever_its_name(places, monkeypatch):
    path = save_tiny(places["cwd"] / "my renamed sam.pth")
    md5 = hashlib.md5(path.read_bytes()).hexdigest()
    fake = {"name": f"sam_vit_h_{md5[:6]}.pth", "md5": md5[:6], "sha256": None}
    monkeypatch.setitem(sam_mod.OFFICIAL_SAM, "vit_h", fake)
    verify_checkpoint(path)  # the official bytes under any name
    assert same_weights(load_sam(str(path), model_type="tiny"), build_tiny_sam(0))
    other = save_tiny(places["cwd"] / "other.pth", seed=1)
    with pytest.raises(WeightsNotFoundError, match="not the official SAM vit_h checkpoint"):
        verify_checkpoint(other)
    official_name = places["cwd"] / fake["name"]
    official_name.write_bytes(path.read_bytes()[:1000])  # Meta's name, truncated bytes
    with pytest.raises(WeightsNotFoundError,
                       match=f"corrupt or incomplete \\(its md5 starts with .*expected {md5[:6]}"):
        verify_checkpoint(official_name)


def test_real_vit_h_digests_are_known():
    official = sam_mod.OFFICIAL_SAM["vit_h"]
    assert official["name"] == "sam_vit_h_4b8939.pth" and official["md5"] == "4b8939"
    assert official["sha256"] == "a7bf3b02"


def test_registered_tiny_sam_source():
    a, b = get_sam_source("tiny-random-sam")(SourceRequest()), load_sam("tiny-random-sam")
    assert same_weights(a, b) and same_weights(a, build_tiny_sam(0))
    assert not same_weights(a, build_tiny_sam(1))
    assert a.image_encoder.neck[0].in_channels == 32 and a.prompt_encoder.embed_dim == 32
    assert a.prompt_encoder.image_embedding_size == (64, 64) and a.image_encoder.img_size == 1024
    assert len(a.mask_decoder.transformer.layers) == 1
