"""File loaders: what they read, and errors that name the file, the line and the byte."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from tinyllm.data import read_folder_per_class, read_line_per_class, read_text, read_tsv_labeled


def _write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


def _named(path: Path, *rest: str) -> str:
    """A regex that matches a message naming ``path`` and then each of ``rest`` in order."""
    return ".*".join(re.escape(s) for s in (str(path), *rest))


# ----------------------------------------------------------------------------- errors every loader shares


LOADERS = {
    "read_text": read_text,
    "read_tsv_labeled": read_tsv_labeled,
    "read_line_per_class": lambda p, **kw: read_line_per_class({"pos": p}, **kw),
    "read_folder_per_class": lambda p, **kw: read_folder_per_class(p.parent.parent, **kw),
}


def _file_for(tmp_path: Path, loader: str, content: str | bytes) -> Path:
    """A file the loader reads: folder loaders read root/<class>/<file>.txt."""
    path = tmp_path / "root" / "pos" / "a.txt" if loader == "read_folder_per_class" else tmp_path / "data.txt"
    return _write(path, content)


@pytest.mark.parametrize("loader", ["read_text", "read_tsv_labeled", "read_line_per_class"])
def test_missing_file_raises_file_not_found_naming_it(tmp_path: Path, loader: str) -> None:
    missing = tmp_path / "nowhere.txt"
    with pytest.raises(FileNotFoundError, match=_named(missing)):
        LOADERS[loader](missing)


def test_missing_folder_raises_file_not_found_naming_it(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=_named(tmp_path / "nowhere")):
        read_folder_per_class(tmp_path / "nowhere")


@pytest.mark.parametrize("loader", list(LOADERS))
def test_empty_file_raises_value_error_naming_it(tmp_path: Path, loader: str) -> None:
    path = _file_for(tmp_path, loader, b"")
    with pytest.raises(ValueError, match=_named(path, "is empty")):
        LOADERS[loader](path)


@pytest.mark.parametrize("loader", list(LOADERS))
def test_whitespace_only_file_raises_value_error_naming_it(tmp_path: Path, loader: str) -> None:
    path = _file_for(tmp_path, loader, " \n\t\n\n")
    with pytest.raises(ValueError, match=_named(path, "only whitespace")):
        LOADERS[loader](path)


@pytest.mark.parametrize("loader", list(LOADERS))
def test_non_utf8_bytes_raise_an_error_naming_file_line_and_byte_offset(tmp_path: Path, loader: str) -> None:
    # "caf\xe9" is Latin-1 for "café"; in UTF-8 0xe9 must start a 3-byte sequence
    path = _file_for(tmp_path, loader, b"pos\tfine line\npos\tcaf\xe9 au lait\n")
    expected = (
        "line 2",
        "0xe9",
        "byte offset 21",
        "byte 7 of the line",
        "encoding='utf-8'",
        "encoding='latin-1'",
    )
    with pytest.raises(ValueError, match=_named(path, *expected)):
        LOADERS[loader](path)


# ----------------------------------------------------------------------------- read_text


def test_read_text_returns_the_whole_file_with_unix_line_ends_and_no_bom(tmp_path: Path) -> None:
    path = _write(tmp_path / "corpus.txt", "\ufeffFirst line\r\nsecond, café\r\n\r\nlast")
    assert read_text(path) == "First line\nsecond, café\n\nlast"


def test_read_text_decodes_latin1_when_asked(tmp_path: Path) -> None:
    path = _write(tmp_path / "old.txt", "café\n".encode("latin-1"))
    assert read_text(path, encoding="latin-1") == "café\n"


def test_read_text_on_a_folder_says_it_wants_a_file(tmp_path: Path) -> None:
    with pytest.raises(IsADirectoryError, match=_named(tmp_path, "is a folder")):
        read_text(tmp_path)


# ----------------------------------------------------------------------------- read_tsv_labeled


def test_read_tsv_labeled_reads_labels_and_texts_skipping_blank_lines(tmp_path: Path) -> None:
    path = _write(tmp_path / "train.tsv", "pos\tgreat film\n\nneg\tdull\tand long \r\n   \nmixed\tso-so\n")
    data = read_tsv_labeled(path)
    assert data.texts == ["great film", "dull\tand long", "so-so"]
    assert data.classes == ["mixed", "neg", "pos"]  # sorted
    assert data.labels.tolist() == [2, 1, 0]
    assert data.info["source"] == str(path)


def test_read_tsv_labeled_keeps_the_given_class_order(tmp_path: Path) -> None:
    path = _write(tmp_path / "train.tsv", "pos\tgood\nneg\tbad\n")
    data = read_tsv_labeled(path, classes=["pos", "neg", "neutral"])
    assert data.classes == ["pos", "neg", "neutral"]
    assert data.labels.tolist() == [0, 1]
    assert data.class_counts() == {"pos": 1, "neg": 1, "neutral": 0}


@pytest.mark.parametrize(
    ("line", "problem"),
    [("pos good film", "no tab"), ("pos\t   ", "an empty text"), ("\tgood film", "an empty label")],
)
def test_read_tsv_labeled_names_file_and_line_and_shows_a_bad_line(
    tmp_path: Path, line: str, problem: str
) -> None:
    path = _write(tmp_path / "train.tsv", f"neg\tbad\n\n{line}\nneg\tworse\n")
    with pytest.raises(ValueError, match=_named(path, "line 3", problem, repr(line))):
        read_tsv_labeled(path)


def test_read_tsv_labeled_names_an_unknown_label_and_its_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "train.tsv", "pos\tgood\nneutral\tmeh\n")
    with pytest.raises(ValueError, match=_named(path, "line 2", "unknown label 'neutral'", "['neg', 'pos']")):
        read_tsv_labeled(path, classes=["neg", "pos"])


def test_read_tsv_labeled_rejects_duplicate_classes(tmp_path: Path) -> None:
    path = _write(tmp_path / "train.tsv", "pos\tgood\n")
    with pytest.raises(ValueError, match="duplicates"):
        read_tsv_labeled(path, classes=["pos", "pos"])


# ----------------------------------------------------------------------------- read_line_per_class


def test_read_line_per_class_takes_class_names_from_suffixes_sorted(tmp_path: Path) -> None:
    pos = _write(tmp_path / "rt-polarity.pos", "a charming film\n\nwarm and funny\n")
    neg = _write(tmp_path / "rt-polarity.neg", "a dull mess\n")
    data = read_line_per_class([pos, neg])
    assert data.classes == ["neg", "pos"]
    assert data.texts == ["a dull mess", "a charming film", "warm and funny"]
    assert data.labels.tolist() == [0, 1, 1]
    assert data.info["source"] == {"neg": str(neg), "pos": str(pos)}


def test_read_line_per_class_keeps_the_order_of_a_mapping(tmp_path: Path) -> None:
    good = _write(tmp_path / "good.txt", "yes\n")
    bad = _write(tmp_path / "bad.txt", "no\nnope\n")
    data = read_line_per_class({"positive": good, "negative": bad})
    assert data.classes == ["positive", "negative"]
    assert data.labels.tolist() == [0, 1, 1]


def test_read_line_per_class_reads_latin1_files_with_the_encoding_argument(tmp_path: Path) -> None:
    pos = _write(tmp_path / "rt-polarity.pos", "un film très réussi\n".encode("latin-1"))
    neg = _write(tmp_path / "rt-polarity.neg", "ennuyeux\n".encode("latin-1"))
    with pytest.raises(ValueError, match=_named(pos, "line 1", "encoding='utf-8'", "encoding='latin-1'")):
        read_line_per_class([pos, neg])
    assert read_line_per_class([pos, neg], encoding="latin-1").texts == ["ennuyeux", "un film très réussi"]


def test_read_line_per_class_needs_a_suffix_to_name_the_class(tmp_path: Path) -> None:
    plain = _write(tmp_path / "reviews", "good\n")
    with pytest.raises(ValueError, match=_named(plain, "suffix")):
        read_line_per_class([plain])


def test_read_line_per_class_rejects_two_files_with_the_same_suffix(tmp_path: Path) -> None:
    a = _write(tmp_path / "a.pos", "good\n")
    b = _write(tmp_path / "b.pos", "fine\n")
    with pytest.raises(ValueError, match=_named(a, str(b), "'pos'")):
        read_line_per_class([a, b])


def test_read_line_per_class_rejects_a_single_path(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="several files"):
        read_line_per_class(str(tmp_path / "a.pos"))


# ----------------------------------------------------------------------------- read_folder_per_class


def test_read_folder_per_class_reads_one_example_per_txt_file(tmp_path: Path) -> None:
    _write(tmp_path / "pos" / "2.txt", "Great.\n")
    _write(tmp_path / "pos" / "1.txt", "  Loved it,\nevery minute.\n")
    _write(tmp_path / "neg" / "1.txt", "Dull.")
    _write(tmp_path / "neg" / "notes.md", "not an example")
    _write(tmp_path / ".cache" / "x.txt", "hidden folders are not classes")
    data = read_folder_per_class(tmp_path)
    assert data.classes == ["neg", "pos"]
    assert data.texts == ["Dull.", "Loved it,\nevery minute.", "Great."]
    assert np.array_equal(data.labels, [0, 1, 1])


def test_read_folder_per_class_names_a_class_folder_without_txt_files(tmp_path: Path) -> None:
    _write(tmp_path / "pos" / "1.txt", "good")
    (tmp_path / "neg").mkdir()
    with pytest.raises(ValueError, match=_named(tmp_path / "neg", "no .txt files")):
        read_folder_per_class(tmp_path)


def test_read_folder_per_class_names_a_root_without_class_folders(tmp_path: Path) -> None:
    _write(tmp_path / "stray.txt", "not in a class folder")
    with pytest.raises(ValueError, match=_named(tmp_path, "no class subfolders")):
        read_folder_per_class(tmp_path)


def test_read_folder_per_class_on_a_file_says_it_wants_a_folder(tmp_path: Path) -> None:
    path = _write(tmp_path / "data.txt", "x")
    with pytest.raises(NotADirectoryError, match=_named(path, "expected a folder")):
        read_folder_per_class(path)
