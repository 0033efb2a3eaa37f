"""MESS (docs/MESS.md): the 25-entry table against the mess-benchmark package, the configs against
the table, MESS's pairing rule (CWFID's split, a tiled entry), `radseg data verify`, one eval.py
run with the seeded stand-in, the sweep's plan and MESS's aggregation on hand-made records."""
import ast
import json
from pathlib import Path

import pytest

from mess_datagen import make_mess_entry, mess_names
from radseg.data.mess import (
    DATASET_DOMAINS,
    DOMAINS,
    MESS_DATASETS,
    MESS_ENTRIES,
    MESS_KEYS,
    MESS_PRESET,
    MESS_SCALE,
    MESS_SLIDE_CROP,
    MESS_SLIDE_STRIDE,
    pair_files,
)

ROOT = Path(__file__).resolve().parents[1]
mess = pytest.importorskip("mess", reason="pip install mess-benchmark (in the test extra)")
MESS_DIR = Path(mess.__file__).parent


def _literal(path: Path, name: str):
    """A module-level (or ``__main__``-block) literal assignment of a MESS source file, read with ast
    (importing those files would pull in gdown, rasterio, torch)."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError(f"{name} not in {path}")


@pytest.fixture(scope="module")
def catalogs(tmp_path_factory):
    from radseg.data.mess_package import catalogs
    root = tmp_path_factory.mktemp("mess_root")
    return root, catalogs(root)


def test_table_equals_the_package(catalogs):
    """Names, folders, class names, ignore label, counts, titles and domains: MESS's own."""
    root, (_, m_cat) = catalogs
    counts = _literal(MESS_DIR / "prepare_all_datasets.py", "expected_dataset_length")
    titles = _literal(MESS_DIR / "evaluation" / "mess_evaluation.py", "dataset_names")
    domains = _literal(MESS_DIR / "evaluation" / "mess_evaluation.py", "dataset_domains")
    assert [e.registered for e in MESS_ENTRIES.values()] == [n for n in titles if n != "paxray_combined"]
    for key, e in MESS_ENTRIES.items():
        meta = m_cat.get(e.registered)
        assert meta.ignore_label == 255
        assert Path(meta.image_root) == root / e.root / e.img_dir, key
        assert Path(meta.sem_seg_root) == root / e.root / e.label_dir, key
        lines = (ROOT / "radseg" / "class_names" / f"{e.class_file}.txt").read_text().splitlines()
        assert lines == list(meta.stuff_classes) and len(lines) == e.num_classes, key
        assert e.count == counts.get(e.registered, counts["paxray_sem_seg_test_lungs"]), key
        assert (e.title, e.domain) == (titles[e.registered], domains[e.registered]), key
    assert set(DATASET_DOMAINS.values()) == set(DOMAINS) and len(MESS_DATASETS) == 22
    assert [sum(DATASET_DOMAINS[d] == dom for d in MESS_DATASETS) for dom in DOMAINS] == [6, 5, 4, 4, 3]


def test_pairing_equals_the_package_for_every_entry(catalogs):
    """On empty files named as MESS writes them (plus an unlabelled image per entry, so the counts
    differ, and CWFID's training images), MESS's DatasetCatalog and pair_files give the same pairs."""
    root, (d_cat, _) = catalogs
    for key, e in MESS_ENTRIES.items():
        img, lbl = root / e.root / e.img_dir, root / e.root / e.label_dir
        img.mkdir(parents=True, exist_ok=True)
        lbl.mkdir(parents=True, exist_ok=True)
        for n in mess_names(key, 3):
            (img / f"{n}{e.img_ext}").touch()
            (lbl / f"{n}{e.label_ext}").touch()
        (img / f"{'002_' if key == 'cwfid' else 'unlabelled.'}{e.img_ext}").touch()
    for key, e in MESS_ENTRIES.items():
        theirs = [(d["file_name"], d["sem_seg_file_name"]) for d in d_cat.get(e.registered)]
        found = pair_files(root / e.root / e.img_dir, root / e.root / e.label_dir, e.img_ext, e.label_ext)
        ours = [(str(i), str(lb)) for _, i, lb in found.pairs]
        assert sorted(ours) == sorted(theirs) and len(ours) == 3, key


def _config_literals(path: Path) -> dict:
    """The top-level assignments of a config file, evaluated in order (plain literals and ``dict``;
    ``data_root=data_root`` refers to the one above), without mmengine's base-file merging."""
    out: dict = {}
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign):
            out[node.targets[0].id] = eval(compile(ast.Expression(node.value), str(path), "eval"),  # noqa: S307
                                           {"__builtins__": {}, "dict": dict}, dict(out))
    return out


def test_configs_follow_the_table_and_the_one_preset():
    """Each configs_mmseg/mess/<entry>.py states the table's folders, endings and classes (read
    as literals); one of them loaded by mmengine inherits MESS's one preset."""
    cfgs = sorted((ROOT / "configs_mmseg" / MESS_PRESET).glob("*.py"))
    assert [p.stem for p in cfgs] == sorted(MESS_KEYS)
    for p in cfgs:
        c, e = _config_literals(p), MESS_ENTRIES[p.stem]
        ds = c["test_dataloader"]["dataset"]
        assert (c["_base_"], c["benchmark"], c["data_dirnames"], ds["entry"]) == (
            "../_base_/mess.py", e.key, [e.root], e.key), p.name
        assert ds["data_root"] == f"data/{e.root}" and ds["data_prefix"] == dict(
            img_path=e.img_dir, seg_map_path=e.label_dir), p.name
        assert (ds["img_suffix"], ds["seg_map_suffix"]) == (e.img_ext, e.label_ext), p.name
        assert c["model"] == dict(class_names=e.class_file, num_classes=e.num_classes), p.name
    from mmengine.config import Config
    cfg = Config.fromfile(str(ROOT / "configs_mmseg" / MESS_PRESET / "suim.py"))
    ds = cfg.test_dataloader.dataset
    assert ds.type == "MESSDataset" and ds.entry == "suim" and cfg.model.type == "RADSegSegmentation"
    assert ds.pipeline[1] == dict(type="Resize", scale=MESS_SCALE, keep_ratio=True)
    assert (cfg.model.slide_crop, cfg.model.slide_stride) == (MESS_SLIDE_CROP, MESS_SLIDE_STRIDE)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """CWFID (6 images, the 3 test ids labelled) and iSAID (3 tiles) in MESS's layout."""
    d = tmp_path_factory.mktemp("mess_data")
    make_mess_entry("cwfid", d, mess_names("cwfid", 3), extra_images=["002_", "005_", "006_"])
    make_mess_entry("isaid", d, mess_names("isaid", 3))
    return d


def test_cwfid_split_rule_and_tiles(data):
    e = MESS_ENTRIES["cwfid"]
    found = pair_files(data / "cwfid" / e.img_dir, data / "cwfid" / e.label_dir, e.img_ext, e.label_ext)
    assert [n for n, _, _ in found.pairs] == ["001_", "003_", "004_"] and found.intersected
    assert (found.n_images, found.n_labels) == (6, 3)
    from mmseg.registry import DATASETS

    import radseg.mmseg  # noqa: F401  (registers MESSDataset)
    ds = DATASETS.build(dict(type="MESSDataset", entry="isaid", data_root=str(data / "isaid"),
                             data_prefix=dict(img_path="images_detectron2/val",
                                              seg_map_path="annotations_detectron2/val"),
                             pipeline=[], serialize_data=False, lazy_init=False))
    assert [Path(d["img_path"]).name for d in ds.data_list] == ["P0000_0.png", "P0000_1.png", "P0001_0.png"]
    assert len(ds.metainfo["classes"]) == 16 and ds.metainfo["classes"][1] == "boat" and ds.ignore_index == 255


def test_verify_entries_missing_ones_and_bad_values(data, tmp_path, capsys):
    from PIL import Image

    from radseg.data.cli import main
    assert main(["verify", "isaid", "--data-dir", str(data)]) == 0
    out = capsys.readouterr().out
    assert "isaid: OK, 3 val images" in out and "MESS's check expects 4055" in out
    assert main(["verify", "mess", str(data)]) == 1  # 23 entries are not there
    out = capsys.readouterr().out
    assert "cwfid: OK, 3 val images" in out and "missing: 23 of 25 MESS entries" in out
    assert "bdd100k (manual download): register at https://bdd-data.berkeley.edu/" in out
    assert "python -m mess.prepare_datasets.prepare_paxray" in out
    assert main(["prepare", "cub_200"]) == 2
    assert "prepared by the MESS project's own scripts" in capsys.readouterr().err
    bad = tmp_path / "bad"
    root = make_mess_entry("cwfid", bad, mess_names("cwfid", 2))
    Image.new("L", (56, 40), 3).save(root / "annotations_detectron2/test/003_annotation.png")  # 3 classes: 0..2
    (root / "images" / "001_image.png").rename(root / "images" / "002_image.png")  # equal counts, names differ
    assert main(["verify", "cwfid", str(root), "--strict"]) == 1
    out = capsys.readouterr().out
    assert "have no partner although the counts are equal" in out and "001_, 002_" in out
    (root / "images" / "002_image.png").rename(root / "images" / "001_image.png")
    assert main(["verify", "cwfid", str(root)]) == 1
    assert "values outside 0..2 and 255: annotations_detectron2/test/003_annotation.png (3)" in capsys.readouterr().out


def test_eval_on_cwfid_with_the_stand_in(data, tmp_path):
    from radseg.cli import run_eval_main
    work = tmp_path / "w"
    assert run_eval_main(["--config", str(ROOT / "configs_mmseg/mess/cwfid.py"), "--model_version", "tiny-random",
                          "--data-root", str(data), "--work-dir", str(work), "--num-workers", "0"]) == 0
    rec = json.loads((work / "result.json").read_text())
    assert (rec["benchmark"], rec["resolution"], rec["num_images"]) == ("cwfid", "mess", 3)
    assert list(rec["per_class"]) == ["ground", "crop seedling", "weed"]
    assert rec["settings"]["model"]["slide_crop"] == MESS_SLIDE_CROP and 0 <= rec["metrics"]["mIoU"] <= 100


def test_sweep_plans_the_25_entries_once_at_their_preset(tmp_path):
    import argparse

    from radseg.sweep.cli import build_parser
    from radseg.sweep.plan import plan_sweep
    args = build_parser().parse_args(["--datasets", "voc20", "mess", "--models", "tiny-random", "--sam-refine",
                                      "off", "--resolutions", "low", "mid", "--work-dir", str(tmp_path)])
    runs = plan_sweep(args)
    assert isinstance(args, argparse.Namespace) and len(runs) == 2 + 25
    assert [(r.resolution, r.dataset) for r in runs[:3]] == [("low_res", "voc20"), ("mid_res", "voc20"),
                                                            ("mess", "bdd100k")]
    assert runs[-1].config == (ROOT / "configs_mmseg/mess/cwfid.py").resolve()
    assert runs[-1].run_dir == tmp_path / "tiny-random" / "norefine" / "mess" / "cwfid"


def _records(root, values, model="c-radio_v3-b", n=None):
    from radseg.results.records import write_run_record
    for key, v in values.items():
        rec = {"benchmark": key, "resolution": "mess", "model_version": model, "lang_model": "siglip2",
               "sam_refine": False, "scra_scaling": 10.0, "scga_scaling": 10.0,
               "metrics": {"aAcc": 50.0, "mIoU": v, "mAcc": 50.0},
               "num_images": MESS_ENTRIES[key].count if n is None else n, "finished_at": "2026-01-01T10:00:00+0000"}
        write_run_record(root / model / key, rec, "20260101_100000", f"mess_{key}")


def test_aggregation_as_mess_does(tmp_path, capsys):
    """PAXRay-4 = mean of the four parts; Mean = mean of the 22; domain means; checked by hand."""
    from radseg.cli import main
    from radseg.results.collect import find_records
    from radseg.results.mess import build_mess_table, legend
    values = {k: float(i) for i, k in enumerate(MESS_KEYS)}  # 0, 1, ..., 24 in MESS's order
    _records(tmp_path / "a", values)
    t = build_mess_table(find_records(tmp_path / "a")[0])
    row = "c-radio_v3-b"
    assert t.dataset_value(row, "paxray") == (14 + 15 + 16 + 17) / 4  # the four parts are entries 14..17
    per_ds = [t.dataset_value(row, d) for d in MESS_DATASETS]
    assert per_ds == [*range(14), 15.5, *range(18, 25)]
    assert t.mean(row) == pytest.approx(sum(per_ds) / 22)
    assert t.domain_mean(row, "General") == pytest.approx(2.5)  # entries 0..5
    assert t.domain_mean(row, "Medical Sciences") == pytest.approx((11 + 12 + 13 + 15.5) / 4)
    assert t.domain_mean(row, "Agriculture and Biology") == pytest.approx(23.0)
    assert main(["results", str(tmp_path / "a"), "--decimals", "2"]) == 0
    out = capsys.readouterr().out
    head, _, first = [ln for ln in out.splitlines() if ln.startswith("|")][:3]
    assert head.startswith("| Model | BDD100K | Dark Zurich |") and "| PAXRay-4 |" in head
    assert first.endswith(f"| {sum(per_ds) / 22:.2f} |") and "| 15.50 |" in first
    # a missing part blanks PAXRay-4, the medical mean and Mean; a subset is marked
    del values["paxray_bones"]
    _records(tmp_path / "b", values, n=7)
    t = build_mess_table(find_records(tmp_path / "b")[0])
    assert t.dataset_value(row, "paxray") is None and t.mean(row) is None and t.present(row) == 21
    assert t.domain_mean(row, "Medical Sciences") is None and t.domain_mean(row, "General") == pytest.approx(2.5)
    assert t.marked(row, "cwfid") and "cwfid 7/21" in legend(t)
