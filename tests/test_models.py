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
    def _f(request):
        return build_tiny_radio(list(request.adaptor_names), seed=5)
    b = build_radio("test-source-1", "siglip2")
    assert b.info["model_version"] == "test-source-1" and b.info["source"] == "registry"


def test_unknown_version_lists_known():
    with pytest.raises(UnknownModelError, match="unknown --model_version 'radio_v9'.*c-radio_v3-b"):
        build_radio("radio_v9")


def test_alias_of_reference_readme_spelling(monkeypatch):
    seen = {}

    def fake_hub(version, adaptor_names, source, revision, repo_dir, *rest):
        seen["version"] = version
        return build_tiny_radio(adaptor_names), {"source": source, "revision": "x"}
    monkeypatch.setattr(radio_mod, "load_radio_raw", fake_hub)
    b = build_radio("radio_v3-b", "siglip2")
    assert seen["version"] == "c-radio_v3-b" and b.info["model_version"] == "c-radio_v3-b"


def test_unknown_adaptor_is_clear():
    with pytest.raises(UnknownModelError, match="siglip9"):
        build_radio("tiny-random", "siglip9")


def test_hub_is_pinned_and_offline_failure_is_one_clear_message(monkeypatch, tmp_path, capsys):
    calls = {}

    def fail(url, dst, *a, **k):
        calls["url"] = url
        raise urllib.error.URLError("Name or service not known")
    monkeypatch.setattr(torch.hub, "download_url_to_file", fail)
    monkeypatch.setattr(torch.hub, "load", lambda *a, **k: pytest.fail("torch.hub.load called offline"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    monkeypatch.delenv("RADSEG_RADIO_REPO", raising=False)
    with pytest.raises(WeightsNotFoundError) as e:
        build_radio("c-radio_v3-b", "siglip2")
    assert calls["url"] == "https://github.com/NVlabs/RADIO/zipball/" + radio_mod.DEFAULT_HUB_REVISION
    msg = str(e.value)
    assert "tried torch.hub 'NVlabs/RADIO:811a7dc" in msg and "--radio_repo" in msg and "TORCH_HOME" in msg
    assert "no network?" in msg and "--model_version tiny-random" in msg
    assert "\n" not in msg and "radio_source hf" not in msg  # never an unpinned source as the fix
    out = capsys.readouterr()
    assert "Downloading" not in out.out + out.err
    assert not (tmp_path / "th" / "hub" / "trusted_list").exists()


def _fake_hub_repo(torch_home, body):
    repo = torch_home / "hub" / f"NVlabs_RADIO_{radio_mod.DEFAULT_HUB_REVISION}"
    repo.mkdir(parents=True)
    (repo / "hubconf.py").write_text(
        "import sys, urllib.error\n"
        "from radseg.models.standins import build_tiny_radio\n"
        "def radio_model(version, progress=True, adaptor_names=None, **kw):\n" + body)
    return repo


def test_cached_hub_code_is_loaded_locally_without_trusting_the_repo(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    monkeypatch.delenv("RADSEG_RADIO_REPO", raising=False)
    _fake_hub_repo(tmp_path / "th", "    sys.stdout.write('Downloading: \"https://x/w.pth\" to w.pth\\n')\n"
                                    "    sys.stderr.write('100%\\n')\n"
                                    "    return build_tiny_radio(adaptor_names)\n")
    monkeypatch.setattr(torch.hub, "download_url_to_file", lambda *a, **k: pytest.fail("code fetched again"))
    b = build_radio("c-radio_v3-b", "siglip2")
    assert b.info["source"] == "hub" and b.info["revision"] == radio_mod.DEFAULT_HUB_REVISION
    assert "Downloading: " in capsys.readouterr().out  # a download under way is still announced
    assert not (tmp_path / "th" / "hub" / "trusted_list").exists()  # the pin is the trust decision


def test_weights_download_offline_prints_no_downloading_line(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    monkeypatch.delenv("RADSEG_RADIO_REPO", raising=False)
    _fake_hub_repo(tmp_path / "th", "    sys.stdout.write('Downloading: \"https://x/w.pth\" to w.pth\\n')\n"
                                    "    raise urllib.error.URLError('Temporary failure in name resolution')\n")
    with pytest.raises(WeightsNotFoundError, match="no network.*tiny-random"):
        build_radio("c-radio_v3-b", "siglip2")
    out = capsys.readouterr()
    assert "Downloading" not in out.out + out.err


def test_hf_and_hub_refuse_unpinned_revisions(monkeypatch):
    from radseg.errors import UnpinnedRevisionError
    monkeypatch.delenv("RADSEG_ALLOW_UNPINNED", raising=False)
    monkeypatch.delenv("RADSEG_RADIO_REPO", raising=False)
    seen = {}

    def fake_hf(version, adaptor_names, revision):
        seen["revision"] = revision
        return build_tiny_radio(adaptor_names), revision
    monkeypatch.setattr(radio_mod, "_load_hf", fake_hf)
    for kw, pattern in [(dict(source="hf"), "needs a pinned commit"),
                        (dict(source="hf", revision="main"), "'main' is not a 40-hex commit"),
                        (dict(revision="v2.5"), "'v2.5' is not a 40-hex commit")]:
        with pytest.raises(UnpinnedRevisionError, match=pattern) as e:
            build_radio("c-radio_v3-b", "siglip2", **kw)
        assert "allow-unpinned" not in str(e.value) and "\n" not in str(e.value)
    commit = "0123456789abcdef0123456789abcdef01234567"
    b = build_radio("c-radio_v3-b", "siglip2", source="hf", revision=commit)
    assert seen["revision"] == commit and "unpinned_revision" not in b.info
    b = build_radio("c-radio_v3-b", "siglip2", source="hf", allow_unpinned=True)
    assert seen["revision"] == "main" and b.info["unpinned_revision"] == "main"


def test_allow_unpinned_flag_sets_the_environment(monkeypatch):
    import argparse

    from radseg.models.registry import AllowUnpinnedAction, allow_unpinned_default
    monkeypatch.delenv("RADSEG_ALLOW_UNPINNED", raising=False)
    p = argparse.ArgumentParser()
    p.add_argument("--allow-unpinned", dest="allow_unpinned", action=AllowUnpinnedAction)
    assert p.parse_args([]).allow_unpinned is None and not allow_unpinned_default()  # not given: the config decides
    assert p.parse_args(["--allow-unpinned"]).allow_unpinned is True and allow_unpinned_default()


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
