import urllib.error

import pytest
import torch

from radseg.errors import UnknownModelError, WeightsNotFoundError
from radseg.models import available_models, build_radio, register_model_source
from radseg.models import radio as radio_mod
from radseg.models.standins import build_tiny_radio


def test_registry_lists_real_versions_and_stand_ins():
    names = available_models()
    assert "c-radio_v3-b" in names and "radio_v2.5-l" in names and "tiny-random" in names


def test_stand_in_is_seeded():
    a, b = build_tiny_radio(["siglip2"], seed=0), build_tiny_radio(["siglip2", "sam"], seed=0)
    sa, sb = a.state_dict(), b.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)  # same weights whether or not sam is asked
    c = build_tiny_radio(["siglip2"], seed=1)
    assert not torch.equal(c.state_dict()["model.patch_embed.proj.weight"], sa["model.patch_embed.proj.weight"])


def test_register_a_source_and_use_it():
    @register_model_source("test-source-1", overwrite=True)
    def _f(adaptor_names):
        return build_tiny_radio(adaptor_names, seed=5)
    b = build_radio("test-source-1", "siglip2")
    assert b.info["model_version"] == "test-source-1" and b.info["source"] == "registry"


def test_unknown_version_lists_known():
    with pytest.raises(UnknownModelError, match="unknown --model_version 'radio_v9'.*c-radio_v3-b"):
        build_radio("radio_v9")


def test_alias_of_reference_readme_spelling(monkeypatch):
    seen = {}

    def fake_hub(version, adaptor_names, source, revision, repo_dir):
        seen["version"] = version
        return build_tiny_radio(adaptor_names), {"source": source, "revision": "x"}
    monkeypatch.setattr(radio_mod, "load_radio_raw", fake_hub)
    b = build_radio("radio_v3-b", "siglip2")
    assert seen["version"] == "c-radio_v3-b" and b.info["model_version"] == "c-radio_v3-b"


def test_unknown_adaptor_is_clear():
    with pytest.raises(UnknownModelError, match="siglip9"):
        build_radio("tiny-random", "siglip9")


def test_hub_is_pinned_and_offline_failure_is_one_clear_message(monkeypatch):
    calls = {}

    def fail(repo, *a, **k):
        calls["repo"], calls["kw"] = repo, k
        raise urllib.error.URLError("Name or service not known")
    monkeypatch.setattr(torch.hub, "load", fail)
    monkeypatch.delenv("RADSEG_RADIO_REPO", raising=False)
    with pytest.raises(WeightsNotFoundError) as e:
        build_radio("c-radio_v3-b", "siglip2")
    assert calls["repo"] == "NVlabs/RADIO:" + radio_mod.DEFAULT_HUB_REVISION
    assert calls["kw"]["version"] == "c-radio_v3-b" and calls["kw"]["adaptor_names"] == ["siglip2"]
    msg = str(e.value)
    assert "tried torch.hub 'NVlabs/RADIO:811a7dc" in msg and "--radio_repo" in msg and "TORCH_HOME" in msg
    assert "\n" not in msg


def test_local_clone_route(monkeypatch, tmp_path):
    calls = {}

    def fake(repo, model, **k):
        calls.update(k, repo=repo)
        return build_tiny_radio(k["adaptor_names"])
    monkeypatch.setattr(torch.hub, "load", fake)
    b = build_radio("c-radio_v3-b", "siglip2", need_sam=True, repo_dir=str(tmp_path))
    assert calls["source"] == "local" and calls["repo"] == str(tmp_path)
    assert calls["adaptor_names"] == ["siglip2", "sam"] and b.sam_adaptor is not None
    with pytest.raises(WeightsNotFoundError, match="is not a folder"):
        build_radio("c-radio_v3-b", "siglip2", repo_dir=str(tmp_path / "nope"))


def test_missing_checkpoint_path():
    with pytest.raises(WeightsNotFoundError, match="does not exist"):
        build_radio("/no/such/radio.pth.tar")
