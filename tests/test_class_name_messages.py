"""Every class-name error, word for word (the mutation run found message parts no test read).

A user's mistake gets one line naming the thing and the fix; these pin the whole line.
"""
from __future__ import annotations

import pytest

from radseg.class_names import (
    BUILTIN_DIR,
    builtin_class_files,
    load_class_names,
    normalize_name,
    parse_class_line,
    resolve_class_file,
    split_labels,
)
from radseg.errors import ClassNamesError

HINT = ("give a comma-separated list of class names, e.g. \"sky, grass, sheep\" (synonyms of one class "
        "joined by '|')")


@pytest.mark.parametrize("content,message", [
    (b"cat\n\ndog\n", "{f}: line 2 is empty. Each line must name one class (synonyms separated by ', ' or '; '); "
                      "remove blank lines."),
    (b"cat\nsheep, lamb; ewe\n", "{f}: line 2: 'sheep, lamb; ewe' mixes ',' and ';': separate the synonyms of one "
                                 "class with one of them."),
    (b"cat\nsky, \n", "{f}: line 2 ('sky, ') has an empty synonym."),
    (b"cat\n...\n", "{f}: line 2: '...' is not a name (it has no letter or digit)."),
    (b"cat\nsky; Dog;  dog\n", "{f}: line 2: 'dog' appears twice in one class; list each synonym once."),
    (b"cat\ndog\nCat \n", "{f}: line 3: 'Cat' is also line 1 (names are compared ignoring case and spaces); each "
                          "name may stand for one class only: remove or rename one."),
    (b"cat\n\xff\xfedog\n", "class-name file '{f}': line 2 is not UTF-8 text (byte 0xff); save the file as UTF-8."),
    (b"cat\ndog\x00\n", "class-name file '{f}' is a binary file (a NUL byte on line 2), not text; give a UTF-8 "
                        "text file with one class per line."),
    (b"\n\n", "{f}: no class names found."),
])
def test_class_file_errors_word_for_word(tmp_path, content, message):
    f = tmp_path / "c.txt"
    f.write_bytes(content)
    with pytest.raises(ClassNamesError) as e:
        load_class_names(str(f))
    assert str(e.value) == message.format(f=f)


def test_count_and_lookup_errors_word_for_word(tmp_path):
    f = tmp_path / "c.txt"
    f.write_text("cat\ndog\n")
    with pytest.raises(ClassNamesError) as e:
        load_class_names(str(f), 3, dataset="voc20")
    assert str(e.value) == (f"{f}: has 2 classes but the dataset voc20 has 3. The file needs one line per "
                            f"dataset class, in the dataset's class order.")
    with pytest.raises(ClassNamesError) as e:
        load_class_names(str(f), 3)
    assert str(e.value).startswith(f"{f}: has 2 classes but the dataset has 3. ")
    assert load_class_names(str(f), 2) == [["cat"], ["dog"]]
    with pytest.raises(ClassNamesError) as e:
        resolve_class_file(str(tmp_path))
    assert str(e.value) == f"class-name file '{tmp_path}' is a folder; give a text file with one class per line."
    with pytest.raises(ClassNamesError) as e:
        resolve_class_file("no-such-list")
    assert str(e.value) == ("class-name file 'no-such-list' not found. Give a path to a text file with one class "
                            f"per line, or one of the built-in names: {', '.join(builtin_class_files())}.")
    names = builtin_class_files()  # sorted, every benchmark's list (the long-vocabulary ones too)
    assert names == sorted(names) and {"ade20k", "cityscapes", "voc20", "ade847", "pc459"} <= set(names)
    assert resolve_class_file("voc20") == BUILTIN_DIR / "voc20.txt"


def test_unreadable_file_is_one_line(tmp_path, monkeypatch):
    from pathlib import Path
    f = tmp_path / "c.txt"
    f.write_text("cat\n")

    def refuse(self):
        raise PermissionError(13, "Permission denied")
    monkeypatch.setattr(Path, "read_bytes", refuse)
    with pytest.raises(ClassNamesError) as e:
        load_class_names(str(f))
    assert str(e.value) == f"cannot read class-name file '{f}' (Permission denied)."


@pytest.mark.parametrize("text,message", [
    ("", f"--labels '' has an empty class name: {HINT}."),
    ("a, , b", f"--labels 'a, , b' has an empty class name: {HINT}."),
    ("a, |, b", f"--labels 'a, |, b': class 2 is '|', with no name: {HINT}."),
    ("a|, b", f"--labels 'a|, b': class 1 ('a|') has an empty synonym: {HINT}."),
    ("sky, ---", "--labels 'sky, ---': class 2: '---' is not a name (it has no letter or digit)."),
    ("a, A", "--labels: class 2 ('A'): 'A' is also class 1 ('a') (names are compared ignoring case and spaces); "
             "each name may stand for one class only: remove or rename one."),
    ("grass|Grass", "--labels: class 1 ('grass|Grass'): 'Grass' appears twice in one class; list each synonym "
                    "once."),
])
def test_label_errors_word_for_word(text, message):
    with pytest.raises(ClassNamesError) as e:
        split_labels(text)
    assert str(e.value) == message


def test_parsing_details():
    assert parse_class_line(" sky ;wall ") == ["sky", "wall"] and parse_class_line("a,b") == ["a", "b"]
    assert normalize_name("  Big \t Dog ") == "big dog"
    assert split_labels(" sky , grass| lawn ") == [["sky"], ["grass", "lawn"]]


def test_messages_with_spaces_and_colons_in_the_names(tmp_path):
    """The 'is also line N' part is cut after the first ': ' only (a folder may hold spaces, a label ': ')."""
    d = tmp_path / "my lists"
    d.mkdir()
    f = d / "c.txt"
    f.write_text("cat\nCAT\n")
    with pytest.raises(ClassNamesError) as e:
        load_class_names(str(f))
    assert str(e.value).startswith(f"{f}: line 2: 'CAT' is also line 1 (names")
    with pytest.raises(ClassNamesError) as e:
        split_labels("a: b, A: B")
    assert str(e.value).startswith("--labels: class 2 ('A: B'): 'A: B' is also class 1 ('a: b') (names")


def test_crlf_lines_and_the_first_nul_byte(tmp_path):
    from radseg.class_names import parse_class_names
    assert parse_class_names(["T-REX\r\n", "dog\r"]) == [["T-REX"], ["dog"]]
    with pytest.raises(ClassNamesError) as e:
        parse_class_names(["cat", "sky, \r\n"])
    assert str(e.value) == "<list>: line 2 ('sky, ') has an empty synonym."
    f = tmp_path / "c.txt"
    f.write_bytes(b"cat\n\x00\ndog\x00\n")
    with pytest.raises(ClassNamesError, match="a NUL byte on line 2"):
        load_class_names(str(f))
