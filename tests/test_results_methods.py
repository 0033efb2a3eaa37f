"""radseg results with baseline records: method rows, the "own" column group, published deltas."""
from dataclasses import dataclass

import pytest

from radseg.methods import MethodSettings, MethodSpec, register_method
from radseg.methods.registry import METHODS
from radseg.methods.settings import setting
from radseg.results.published import published_reference, published_row_label
from radseg.results.records import load_record, write_run_record
from radseg.results.table import row_label
from test_results_table import make_record, md_rows, run_cli


@dataclass
class _ToySettings(MethodSettings):
    METHOD = "toyseg"
    PUBLISHED = {"voc20": 80.0, "ade20k": 20.0}
    model_version: str = setting("ViT-B/16", "CLIP")
    sam_refine: bool = setting(True, "refine")

    def validate(self):
        return self


@pytest.fixture
def toy_method():
    register_method(MethodSpec(name="toyseg", summary="toy", settings_cls=_ToySettings,
                               build=lambda s, device=None: None))
    yield
    METHODS.pop("toyseg", None)


def _baseline_record(work, bench, miou, method="toyseg", res="own"):
    path = make_record(work, bench, res, miou, model="ViT-B/16", refine=True)
    rec = load_record(path)
    rec.update(method=method, protocol="own" if res == "own" else "radseg")
    write_run_record(work, rec, "20260101T100001", f"{res}_{bench}")
    return path


def test_baseline_row_label_names_the_method():
    assert row_label({"method": "naclip", "model_version": "ViT-B/16"}) == "naclip: ViT-B/16"
    trident = {"method": "trident", "model_version": "ViT-B/16", "sam_refine": True}
    assert row_label(trident) == "trident: ViT-B/16 + SAM"
    assert row_label({"model_version": "c-radio_v3-b"}) == "c-radio_v3-b"  # records before methods existed
    assert row_label({"method": "radseg", "model_version": "c-radio_v3-b", "sam_refine": True}) == "c-radio_v3-b + SAM"


def test_published_numbers_are_the_reference_of_the_own_protocol_rows(toy_method, tmp_path, capsys):
    assert published_row_label(METHODS["toyseg"]) == "toyseg: ViT-B/16 + SAM"
    assert published_reference()[("toyseg: ViT-B/16 + SAM", "own", "voc20")] == 80.0
    root = tmp_path / "w"
    _baseline_record(root / "toyseg" / "own" / "voc20", "voc20", 81.5)
    _baseline_record(root / "toyseg" / "own" / "ade20k", "ade20k", 19.0)
    make_record(root / "radseg" / "mid_res" / "voc20", "voc20", "mid_res", 85.0)
    rc, out, err = run_cli(capsys, root)
    assert rc == 0, err
    rows = md_rows(out)
    assert rows[0] == ["Model", "mid_res VOC20", "mid_res Avg", "own VOC20", "own ADE20K", "own Avg"]
    assert rows[2][0] == "c-radio_v3-b" and rows[2][1] == "85.0"
    assert rows[3] == ["toyseg: ViT-B/16 + SAM", "–", "–", "81.5 (+1.5)", "19.0 (-1.0)", "50.2 (+0.2)"]
    assert "reference value(s) match no cell" not in err  # the published table is no user file
