"""The configs hold exactly the presets of ALGORITHM.md section 9."""
from pathlib import Path

import pytest
from mmengine.config import Config

CFG = Path(__file__).resolve().parents[1] / "configs_mmseg"

TABLE = {  # dataset: {preset: (scale, crop, stride)}, coarse_thresh
    "voc20": ({"low_res": ((2048, 336), 224, 112), "mid_res": ((2048, 336), 336, 112),
               "high_res": ((2016, 672), 336, 224)}, 0.2),
    "context59": ({"low_res": ((2048, 336), 224, 112), "mid_res": ((4096, 576), 336, 224),
                   "high_res": ((2016, 672), 336, 224)}, 0.15),
    "coco_stuff164k": ({"low_res": ((2048, 336), 224, 112), "mid_res": ((2048, 448), 336, 224),
                        "high_res": ((1334, 896), 336, 224)}, 0.05),
    "cityscapes": ({"low_res": ((2048, 560), 224, 112), "mid_res": ((2048, 688), 336, 224),
                    "high_res": ((2688, 1344), 336, 224)}, 0.10),
    "ade20k": ({"low_res": ((2048, 336), 224, 112), "mid_res": ((2048, 576), 336, 224),
                "high_res": ((2016, 672), 336, 224)}, 0.05),
}
TYPES = {"voc20": ("PascalVOC20Dataset", "VOC2012"), "context59": ("PascalContext59Dataset", "VOCdevkit/VOC2010"),
         "coco_stuff164k": ("COCOStuffDataset", "coco_stuff164k"), "cityscapes": ("CityscapesDataset", "cityscapes"),
         "ade20k": ("ADE20KDataset", "ADEChallengeData2016")}


def test_preset_table_is_algorithm_md_section_9():
    """radseg.presets (the one table everything reads) holds ALGORITHM.md's numbers."""
    from radseg.presets import DATASETS, PAPER_DATASETS, RESOLUTIONS
    assert PAPER_DATASETS == tuple(TABLE) and RESOLUTIONS == ("low_res", "mid_res", "high_res")
    for d, (presets, coarse) in TABLE.items():
        facts = DATASETS[d]
        assert facts.coarse_thresh == coarse
        for res, (scale, crop, stride) in presets.items():
            p = facts.preset(res)
            assert (p.scale, p.slide_crop, p.slide_stride) == (scale, crop, stride)


def _table_keys():
    """Every registered dataset with the three resolution presets (all but MESS's entries, whose
    configs_mmseg/mess/ files tests/test_mess.py pins): a new registry entry is checked here
    without editing a list."""
    from radseg.dataset_registry import dataset_names, get_dataset
    return [k for k in dataset_names() if get_dataset(k).group != "mess"]


ALL = _table_keys()


def _dataset_arg(ds_cfg, name):
    """A dataset argument as the config gives it, else the registered class's default."""
    import inspect

    import radseg.mmseg  # noqa: F401  (registers the datasets)
    # isort: split
    from mmseg.registry import DATASETS as REG
    if name in ds_cfg:
        return ds_cfg[name]
    cls = REG.get(ds_cfg["type"])
    for klass in cls.__mro__:  # the first __init__ that names the argument
        params = inspect.signature(klass.__init__).parameters if "__init__" in vars(klass) else {}
        if name in params and params[name].default is not inspect.Parameter.empty:
            return params[name].default
    raise AssertionError(f"{ds_cfg['type']} has no default for {name}")


@pytest.mark.parametrize("dataset,preset", [(d, p) for d in _table_keys() for p in ("low_res", "mid_res", "high_res")])
def test_config_files_match_the_dataset_table(dataset, preset):
    """The literal mmseg config of every table entry says what its table entry says: dataset class,
    folders, suffixes, split file, reduce_zero_label, label loader (8/16 bit), classes (docs/ADD_BENCHMARK.md)."""
    from radseg.dataset_registry import get_dataset
    f = get_dataset(dataset)
    cfg = Config.fromfile(str(CFG / preset / f"{dataset}.py"))
    ds = cfg.test_dataloader.dataset
    assert cfg.benchmark == dataset and ds.type == f.dataset_type
    if ds.type == "BenchmarkTableDataset":
        assert ds.benchmark == dataset
    assert cfg.data_root == "data/" + f.root and list(cfg.data_dirnames) == list(f.data_dirnames)
    assert ds.data_prefix == dict(img_path=f.img_dir, seg_map_path=f.label_dir)
    assert _dataset_arg(ds, "img_suffix") == f.img_suffix
    assert _dataset_arg(ds, "seg_map_suffix") == f.label_suffix
    assert _dataset_arg(ds, "reduce_zero_label") == f.reduce_zero_label
    assert (ds.get("ann_file") or None) == f.split_file
    loader = [t for t in ds.pipeline if t["type"] == "RADSegLoadAnnotations"]
    assert len(loader) == 1 and loader[0].get("label_dtype", "uint8") == f.label_dtype
    assert cfg.model.class_names == f.class_names and cfg.model.num_classes == f.num_classes
    from radseg.class_names import load_class_names
    assert len(load_class_names(f.class_names)) == f.num_classes


@pytest.mark.parametrize("dataset,preset", [(d, p) for d in ALL for p in ("low_res", "mid_res", "high_res")])
def test_config_files_match_the_preset_table(dataset, preset):
    """configs_mmseg stays literal (mmseg style) but pinned to radseg.presets / RADSegConfig.preset."""
    from radseg.config import RADSegConfig
    from radseg.dataset_registry import DATASET_REGISTRY as DATASETS
    cfg = Config.fromfile(str(CFG / preset / f"{dataset}.py"))
    want = RADSegConfig.preset(dataset, preset)
    pipe = cfg.test_dataloader.dataset.pipeline
    assert [t["type"] for t in pipe] == ["RADSegLoadImageFromFile", "Resize", "RADSegLoadAnnotations",
                                         "PackSegInputs"]
    assert tuple(pipe[1]["scale"]) == want.scale and pipe[1]["keep_ratio"] is True
    assert (cfg.model.slide_crop, cfg.model.slide_stride) == (want.slide_crop, want.slide_stride)
    assert cfg.model.coarse_thresh == want.coarse_thresh and cfg.benchmark == dataset
    assert cfg.model.class_names == want.class_names
    assert cfg.model.num_classes == DATASETS[dataset].num_classes
    assert list(cfg.data_dirnames) == list(DATASETS[dataset].data_dirnames)
    assert cfg.data_root == "data/" + DATASETS[dataset].data_dirnames[0]
    assert cfg.test_dataloader.batch_size == 1
    if dataset in TYPES:
        assert (cfg.test_dataloader.dataset.type, cfg.data_root) == (TYPES[dataset][0], "data/" + TYPES[dataset][1])


def test_base_model_config_holds_the_config_defaults():
    """configs_mmseg/_base_/radseg_model.py repeats RADSegConfig's defaults literally: pinned here."""
    from radseg.config import RADSegConfig
    m = Config.fromfile(str(CFG / "_base_" / "radseg_model.py")).model
    defaults = RADSegConfig.defaults()
    keys = set(m) - {"type", "data_preprocessor"}
    assert keys <= set(defaults), keys - set(defaults)
    for k in keys:
        assert m[k] == defaults[k], k


@pytest.mark.parametrize("preset", ["low_res", "mid_res", "high_res"])
def test_reference_model_defaults_and_no_padding(preset):
    cfg = Config.fromfile(str(CFG / preset / "voc20.py"))
    m = cfg.model
    assert (m.model_version, m.lang_model, m.scra_scaling, m.scga_scaling) == ("c-radio_v3-b", None, 10.0, 10.0)
    from radseg.models.versions import resolve_lang_model
    assert resolve_lang_model(m.model_version, m.lang_model) == "siglip2"
    assert (m.prompt_denoising_thresh, m.minimal_area, m.sam_mask_coff, m.sam_iou_thresh) == (0.5, 225, 0.005, 0.9)
    assert m.sam_refine is False and m.amp is False and m.compile is False
    dp = m.data_preprocessor
    assert dp.mean == [122.771, 116.746, 104.094] and dp.std == [68.501, 66.632, 70.323] and dp.bgr_to_rgb
    assert not any(k in dp for k in ("size", "size_divisor", "test_cfg", "pad_val"))
    assert cfg.test_evaluator.iou_metrics == ["mIoU"]


def test_every_preset_of_every_dataset_exists():
    """One config per table entry and preset, and no config without an entry."""
    assert set(ALL) <= set(_table_keys())
    for preset in ("low_res", "mid_res", "high_res"):
        names = sorted(p.stem for p in (CFG / preset).glob("*.py"))
        assert names == sorted(_table_keys())


@pytest.mark.parametrize("key", ["voc20", "voc21", "context59", "context60", "coco_stuff164k", "coco_object",
                                 "cityscapes", "ade20k", "ade847", "pc459"])
def test_config_folders_agree_with_the_data_tools(key):
    """eval.py (configs' data_dirnames) and `radseg data` (benchmarks.py) look in the same folders."""
    from radseg.data.benchmarks import ALT_ROOTS, DEFAULT_ROOTS
    cfg = Config.fromfile(str(CFG / "_base_" / "datasets" / f"{key}.py"))
    assert list(cfg.data_dirnames) == [DEFAULT_ROOTS[key], *ALT_ROOTS[key]]
    assert cfg.data_root == "data/" + DEFAULT_ROOTS[key]


@pytest.mark.parametrize("key", ["ade847", "pc459"])
def test_long_vocabulary_presets_and_ignore_setting(key):
    """ADE-847 takes ADE20K's presets, PC-459 Context59's (the rule for the images' source); the
    metric's ignore value is the literature's (255, 65535 legal but not masked) by default."""
    from radseg.presets import DATASETS
    sibling = {"ade847": "ade20k", "pc459": "context59"}[key]
    assert DATASETS[key].presets == DATASETS[sibling].presets
    assert DATASETS[key].coarse_thresh == DATASETS[sibling].coarse_thresh
    cfg = Config.fromfile(str(CFG / "_base_" / "datasets" / f"{key}.py"))
    assert cfg.label_ignore == "literature"
    assert cfg.test_evaluator.ignore_index == 255 and list(cfg.test_evaluator.allowed_label_values) == [65535]
    assert cfg.test_evaluator.type == "RADSegIoUMetric"
