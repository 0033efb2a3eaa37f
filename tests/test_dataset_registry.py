"""The one dataset registry: all 35 entries behind get_dataset / RADSegConfig.preset, and a new
dataset added through docs/ADD_BENCHMARK.md's checklist alone, prepared and evaluated end to end."""
from pathlib import Path

import pytest

from radseg.dataset_registry import dataset_names, get_dataset

ROOT = Path(__file__).resolve().parents[1]


def test_the_registry_holds_the_benchmarks_and_every_mess_entry():
    from radseg.data.mess import MESS_KEYS
    from radseg.presets import DATASETS
    names = dataset_names()
    assert len(names) == 35 and names[:10] == tuple(DATASETS) and dataset_names("mess") == MESS_KEYS
    assert len(set(names)) == 35


@pytest.mark.parametrize("key", dataset_names())
def test_every_key_has_facts_presets_and_a_class_file(key):
    """get_dataset and RADSegConfig.preset cover every registered key (MESS's under its 'mess' preset)."""
    from radseg.class_names import load_class_names
    from radseg.config import RADSegConfig
    f = get_dataset(key)
    assert f.key == key and len(load_class_names(f.class_names)) == f.num_classes
    for res, p in f.presets.items():
        cfg = RADSegConfig.preset(key, res)
        assert (cfg.scale, cfg.slide_crop, cfg.slide_stride) == (tuple(p.scale), p.slide_crop, p.slide_stride)
        assert cfg.class_names == f.class_names and cfg.coarse_thresh == f.coarse_thresh


def test_unknown_keys_and_presets_are_one_line_errors():
    from radseg.config import RADSegConfig
    from radseg.errors import ConfigError
    with pytest.raises(ConfigError, match="unknown dataset 'nope'.*atlantis"):
        get_dataset("nope")
    with pytest.raises(ConfigError, match="no preset 'low_res': use mess"):
        RADSegConfig.preset("atlantis", "low_res")
    with pytest.raises(ConfigError, match="unknown resolution preset 'mess'"):
        RADSegConfig.preset("voc20", "mess")


def test_bench_facts_live_in_the_entries():
    from radseg.bench.plan import BENCH_PRESETS
    assert {get_dataset(k).bench_name for k in dataset_names() if get_dataset(k).bench_image_size} == {
        "voc", "context", "coco_stuff", "cityscapes", "ade20k"}
    assert BENCH_PRESETS["ade20k_high"].dataset == "ade20k" and get_dataset("voc20").present_classes == 3


def test_a_second_different_registration_needs_overwrite():
    from dataclasses import replace

    from radseg.dataset_registry import register_dataset
    f = get_dataset("voc20")
    assert register_dataset(f) is f  # the same entry again: fine
    with pytest.raises(ValueError, match="already registered"):
        register_dataset(replace(f, title="other"))


# ------------------------------------------------------------------ docs/ADD_BENCHMARK.md, followed alone
TOY = "toyset"


@pytest.fixture()
def toy_benchmark(tmp_path):
    """Checklist steps 1, 2, 4, 5 for a throw-away 'toyset': register the entry (converter
    link:prepare_link, the generic BenchmarkTableDataset), its class file, its configs."""
    from radseg.dataset_facts import DatasetFacts, make_presets
    from radseg.dataset_registry import register_dataset, unregister_dataset
    classes = tmp_path / "toyset.txt"  # step 2 (a path: the test must not write into radseg/class_names/)
    classes.write_text("road\nsky\ntree\n")
    facts = register_dataset(DatasetFacts(
        key=TOY, title="ToySet", num_classes=3, class_names=str(classes), coarse_thresh=0.1,
        data_dirnames=("ToySet",), presets=make_presets(((256, 64), 32, 16), ((256, 64), 48, 32), ((256, 96), 48, 32)),
        group="own", dataset_type="BenchmarkTableDataset", img_dir="img/val", img_suffix=".jpg",
        label_dir="ann/val", label_suffix=".png", split_file=None, val_count=2, max_label=2, ignore_values=(255,),
        reduce_zero_label=False, converter="link:prepare_link", name_pattern="toy_{:03d}"))
    cfgs = tmp_path / "configs"  # step 5: a copy of a sibling's files, changed where the entry says
    (cfgs / "_base_" / "datasets").mkdir(parents=True)
    (cfgs / "mid_res").mkdir()
    base = ROOT / "configs_mmseg" / "_base_"
    (cfgs / "_base_" / "datasets" / f"{TOY}.py").write_text(f"""
_base_ = ['{base}/default_runtime.py', '{base}/radseg_model.py', '{base}/test_loader.py']
benchmark = '{TOY}'
dataset_type = 'BenchmarkTableDataset'
data_root = 'data/ToySet'
data_dirnames = ['ToySet']
test_dataloader = dict(dataset=dict(type=dataset_type, benchmark=benchmark, data_root=data_root,
    data_prefix=dict(img_path='img/val', seg_map_path='ann/val'), img_suffix='.jpg', seg_map_suffix='.png',
    reduce_zero_label=False))
model = dict(class_names='{classes}', num_classes=3, coarse_thresh=0.1)
""")
    p = facts.preset("mid_res")
    (cfgs / "mid_res" / f"{TOY}.py").write_text(f"""
_base_ = '../_base_/datasets/{TOY}.py'
test_pipeline = [dict(type='RADSegLoadImageFromFile'), dict(type='Resize', scale={p.scale}, keep_ratio=True),
                 dict(type='RADSegLoadAnnotations'), dict(type='PackSegInputs')]
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
model = dict(slide_crop={p.slide_crop}, slide_stride={p.slide_stride})
""")
    try:
        yield facts, cfgs / "mid_res" / f"{TOY}.py"
    finally:
        unregister_dataset(TOY)


def test_a_dataset_added_by_the_checklist_alone_is_prepared_and_evaluated(toy_benchmark, tmp_path):
    """Step 6: prepare (link), verify and eval.py on tiny generated data with the stand-in model, with
    no other code or test list changed; the record names the new dataset."""
    import json

    import datagen
    from radseg.cli import main, run_eval_main
    from radseg.config import RADSegConfig
    from test_prepare_then_eval import _in_process
    facts, config = toy_benchmark
    assert TOY in dataset_names("own") and RADSegConfig.preset(TOY, "mid_res").slide_crop == 48
    raw = tmp_path / "download"
    datagen.make_dataset(TOY, raw, n=2)  # the download, already in the prepared layout
    data, work = tmp_path / "data", tmp_path / "work"
    r = _in_process(main, ["data", "prepare", TOY, "--raw", raw / "ToySet", "--out", data])
    assert r.returncode == 0, r.stdout + r.stderr
    assert (data / "ToySet").is_symlink()
    r = _in_process(main, ["data", "verify", TOY, "--data-dir", data])
    assert r.returncode == 0, r.stdout + r.stderr
    r = _in_process(run_eval_main, ["--config", config, "--model_version", "tiny-random", "--data-root", data,
                                    "--work-dir", work, "--num-workers", "0"])
    assert r.returncode == 0, r.stdout + r.stderr
    recs = [json.loads(p.read_text()) for p in work.rglob("*.json") if "metrics" in p.read_text()]
    assert recs and any(rec.get("dataset") == TOY or rec.get("benchmark") == TOY for rec in recs), recs
    assert all(0.0 <= rec["metrics"]["mIoU"] <= 100.0 for rec in recs if "mIoU" in rec.get("metrics", {}))
