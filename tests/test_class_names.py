import pytest

from radseg.class_names import BUILTIN_DIR, builtin_class_files, load_class_names, parse_class_line, split_labels
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


@pytest.mark.parametrize("content,pattern", [
    (b"cat\ndog\nCat \n", r"line 3: 'Cat' is also line 1"),
    (b"cat\nsky; Dog;  dog\n", r"line 2: 'dog' appears twice in one class"),
    (b"cat\nbig   dog\nBIG DOG\n", r"line 3: 'BIG DOG' is also line 2"),
    (b"cat\n...\n", r"line 2: '...' is not a name"),
    (b"cat\nsky, \n", r"line 2 \('sky, '\) has an empty synonym"),
    (b"cat\n\xff\xfedog\n", r"line 2 is not UTF-8 text"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", r"is a binary file"),
])
def test_bad_class_files_name_the_file_and_line(tmp_path, content, pattern):
    f = tmp_path / "c.txt"
    f.write_bytes(content)
    with pytest.raises(ClassNamesError, match=pattern) as e:
        load_class_names(str(f))
    assert str(f) in str(e.value) and "\n" not in str(e.value)


def test_folder_and_bom(tmp_path):
    with pytest.raises(ClassNamesError, match="is a folder"):
        load_class_names(str(tmp_path))
    f = tmp_path / "c.txt"
    f.write_bytes("\ufeffcafé\n猫\n".encode("utf-8"))
    assert load_class_names(str(f)) == [["café"], ["猫"]]


def test_reference_duplicate_is_kept_only_in_the_builtin_file(tmp_path):
    coco = load_class_names("coco_object")
    assert "bed" in coco[0] and coco[60] == ["bed"]  # the reference's own file: unchanged
    copy = tmp_path / "coco_object.txt"
    copy.write_text((BUILTIN_DIR / "coco_object.txt").read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(ClassNamesError, match="line 61: 'bed' is also line 1"):
        load_class_names(str(copy))


@pytest.mark.parametrize("text,pattern", [
    ("", "empty class name"), ("a, , b", "empty class name"), ("a, |, b", r"class 2 is '\|', with no name"),
    ("a|, b", "class 1 .* empty synonym"), ("a, A", r"class 2 \('A'\): 'A' is also class 1"),
    ("grass|Grass", "appears twice in one class"), ("sky, ---", "'---' is not a name"),
])
def test_bad_labels(text, pattern):
    with pytest.raises(ClassNamesError, match=pattern) as e:
        split_labels(text)
    assert "\n" not in str(e.value)


def test_non_ascii_labels_are_fine():
    assert split_labels("café, 猫|ねこ") == [["café"], ["猫", "ねこ"]]
