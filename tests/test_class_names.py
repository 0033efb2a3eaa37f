import pytest

from radseg.class_names import builtin_class_files, load_class_names, parse_class_line, split_labels
from radseg.errors import ClassNamesError

EXPECTED = {"voc20": 20, "voc21": 21, "context59": 59, "context60": 60, "coco_object": 81,
            "coco_stuff164k": 171, "cityscapes": 19, "ade20k": 150}


@pytest.mark.parametrize("key,count", sorted(EXPECTED.items()))
def test_builtin_files_have_the_dataset_count(key, count):
    assert len(load_class_names(key, count)) == count


def test_reference_prompts_not_mmseg_names():
    voc = load_class_names("voc20")
    assert voc[3] == ["ship"] and voc[10] == ["table"]
    assert load_class_names("cityscapes")[6] == ["trafficlight"]
    assert load_class_names("ade20k")[44] == ["chestofdrawers"]
    assert load_class_names("coco_object")[10] == ["traffic light"]


def test_trident_background_synonyms_and_trailing_space():
    bg = load_class_names("voc21")[0]
    assert bg[:3] == ["sky", "wall", "tree"] and bg[-1] == "fence" and len(bg) == 26
    assert load_class_names("context60")[-1] == ["wood"]
    assert len(load_class_names("coco_object")[0]) == 17


def test_separators():
    assert parse_class_line("sky, cloud") == ["sky", "cloud"]
    assert parse_class_line("sky; wall; tree") == ["sky", "wall", "tree"]


def test_empty_line_is_an_error(tmp_path):
    f = tmp_path / "c.txt"
    f.write_text("cat\n\ndog\n")
    with pytest.raises(ClassNamesError, match="line 2 is empty"):
        load_class_names(str(f))


def test_wrong_count_is_an_error(tmp_path):
    f = tmp_path / "c.txt"
    f.write_text("cat\ndog\n")
    with pytest.raises(ClassNamesError, match="has 2 classes but the dataset voc20 has 20"):
        load_class_names(str(f), 20, dataset="voc20")


def test_missing_file_names_the_fix():
    with pytest.raises(ClassNamesError, match="not found.*built-in names: ade20k"):
        load_class_names("/no/such/file.txt")
    assert "voc20" in builtin_class_files()


def test_split_labels():
    assert split_labels("sky, grass|lawn, sheep") == [["sky"], ["grass", "lawn"], ["sheep"]]
    with pytest.raises(ClassNamesError):
        split_labels("sky,,sheep")


def test_trailing_blank_lines_are_fine_but_mixed_separators_are_not(tmp_path):
    f = tmp_path / "c.txt"
    f.write_text("cat\ndog\n\n\n")
    assert load_class_names(str(f), 2) == [["cat"], ["dog"]]
    f.write_text("sheep, lamb; ewe\ndog\n")
    with pytest.raises(ClassNamesError, match="line 1.*mixes"):
        load_class_names(str(f))
