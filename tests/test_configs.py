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


ALL = ["voc20", "context59", "coco_stuff164k", "cityscapes", "ade20k", "voc21", "context60", "coco_object"]


@pytest.mark.parametrize("dataset,preset", [(d, p) for d in ALL for p in ("low_res", "mid_res", "high_res")])
def test_config_files_match_the_preset_table(dataset, preset):
    """configs_mmseg stays literal (mmseg style) but pinned to radseg.presets / RADSegConfig.preset."""
    from radseg.config import RADSegConfig
    from radseg.presets import DATASETS
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
    for preset in ("low_res", "mid_res", "high_res"):
        names = sorted(p.stem for p in (CFG / preset).glob("*.py"))
        assert names == sorted(ALL)


@pytest.mark.parametrize("key", ["voc20", "voc21", "context59", "context60", "coco_stuff164k", "coco_object",
                                 "cityscapes", "ade20k"])
def test_config_folders_agree_with_the_data_tools(key):
    """eval.py (configs' data_dirnames) and `radseg data` (benchmarks.py) look in the same folders."""
    from radseg.data.benchmarks import ALT_ROOTS, DEFAULT_ROOTS
    cfg = Config.fromfile(str(CFG / "_base_" / "datasets" / f"{key}.py"))
    assert list(cfg.data_dirnames) == [DEFAULT_ROOTS[key], *ALT_ROOTS[key]]
    assert cfg.data_root == "data/" + DEFAULT_ROOTS[key]
