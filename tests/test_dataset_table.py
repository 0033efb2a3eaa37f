"""The dataset table (radseg/presets.py) is the one definition of a dataset; 16-bit labels load losslessly."""
import numpy as np
import pytest
from PIL import Image

from radseg.presets import DATASET_ORDER, DATASETS


def test_every_entry_is_complete_and_its_views_agree():
    """Each entry's class file has num_classes lines; the data tools' view and the generator read the entry."""
    import datagen
    from radseg.class_names import load_class_names
    from radseg.data.benchmarks import ALT_ROOTS, BENCHMARKS, DEFAULT_ROOTS
    from radseg.data.mess import MESS_FACTS
    from radseg.data.prepare import converter
    assert set(DATASET_ORDER) == set(DATASETS) == set(BENCHMARKS) - set(MESS_FACTS)  # MESS: its own family
    for key, f in MESS_FACTS.items():  # the data tools' view of the 25 MESS entries reads them too
        b = BENCHMARKS[key]
        assert (b.root, b.img_dir, b.img_suffix, b.label_dir, b.label_suffix, b.val_count, b.pairing) == (
            f.root, f.img_dir, f.img_suffix, f.label_dir, f.label_suffix, f.val_count, "mess"), key
        assert b.allowed_values().sum() == len(f.label_values()) == f.num_classes + 1, key
    for key, f in DATASETS.items():
        assert len(load_class_names(f.class_names)) == f.num_classes, key
        b = BENCHMARKS[key]
        assert (DEFAULT_ROOTS[key], ALT_ROOTS[key]) == (f.data_dirnames[0], tuple(f.data_dirnames[1:]))
        assert (b.img_dir, b.label_dir, b.label_suffix, b.split_file, b.val_count, b.max_label) == (
            f.img_dir, f.label_dir, f.label_suffix, f.split_file, f.val_count, f.max_label)
        assert b.allowed_values().sum() == len(f.label_values())
        assert callable(converter(key))
        assert len(set(datagen._names(key, 3))) == 3


def test_entry_rejects_impossible_label_conventions():
    from dataclasses import replace
    f = DATASETS["ade20k"]
    with pytest.raises(ValueError, match="fit uint8"):
        replace(f, ignore_values=(65535,))
    with pytest.raises(ValueError, match="group"):
        replace(f, group="nope")


@pytest.fixture(scope="module")
def label16(tmp_path_factory):
    vals = np.array([[0, 1, 255, 256], [846, 1000, 4660, 65535], [65534, 458, 65535, 7]], np.uint16)
    path = tmp_path_factory.mktemp("lab16") / "x.tif"
    Image.fromarray(vals).save(path)  # PIL mode 'I;16', as the literature's converters write it
    with Image.open(path) as im:
        assert im.mode == "I;16"
    return path, vals


def _load(path, **kw):
    import radseg.mmseg  # noqa: F401
    from radseg.mmseg.transforms import RADSegLoadAnnotations
    return RADSegLoadAnnotations(**kw).transform(
        dict(seg_map_path=str(path), reduce_zero_label=False, seg_fields=[]))["gt_seg_map"]


def test_16_bit_label_survives_loading_unchanged(label16):
    """Values above 255 and 65535 come through the loader and PackSegInputs bit for bit."""
    import radseg.mmseg  # noqa: F401  (mmcv-lite shim first)
    # isort: split
    from mmseg.datasets.transforms import PackSegInputs
    path, vals = label16
    gt = _load(path, label_dtype="uint16")
    assert gt.dtype == np.uint16 and np.array_equal(gt, vals)
    packed = PackSegInputs(meta_keys=()).transform(dict(gt_seg_map=gt, seg_fields=["gt_seg_map"]))
    data = packed["data_samples"].gt_sem_seg.data
    assert data.dtype.is_floating_point is False and np.array_equal(data[0].numpy(), vals.astype(np.int64))
    # the trap this guards against: mmseg's own loader keeps the low 8 bits only
    assert np.array_equal(_load(path), (vals & 0xFF).astype(np.uint8))


def test_16_bit_loader_names_a_broken_file(tmp_path):
    from radseg.errors import DatasetError
    bad = tmp_path / "broken.tif"
    bad.write_bytes(b"II*\x00garbage")
    with pytest.raises(DatasetError, match="broken.tif"):
        _load(bad, label_dtype="uint16")
