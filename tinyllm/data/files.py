"""Real data from disk: a plain-text corpus, labelled TSV, one file per class, one folder per class.

Every loader fails loudly and says where: a missing path is a ``FileNotFoundError``;
an empty file, bytes that are not valid in the encoding, or a malformed line is a
``ValueError`` naming the file, the line number (counting from 1) and, for bad
bytes, the byte offset, so the problem can be found in an editor at once.

Texts are decoded with ``encoding`` (UTF-8 by default; a leading byte-order mark is
dropped) and Windows line ends (``\\r\\n``) become ``\\n``. Lines are split on ``\\n``
only, so line numbers agree with what ``wc -l`` and editors count.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from tinyllm.data.datasets import LabeledTexts

PathLike = str | os.PathLike[str]


def _show(line: str, width: int = 80) -> str:
    """The line as Python would write it, cut to ``width`` characters."""
    return repr(line) if len(line) <= width else repr(line[:width]) + "..."


def _decode(path: Path, fn: str, encoding: str) -> str:
    """The whole file as text, or an error naming the file (and line) that explains why not."""
    if not path.exists():
        raise FileNotFoundError(f"{fn}: no such file: {path}")
    if path.is_dir():
        raise IsADirectoryError(f"{fn}: {path} is a folder, expected a file")
    raw = path.read_bytes()
    if not raw:
        raise ValueError(f"{fn}: {path} is empty (0 bytes)")
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        column = error.start - (raw.rfind(b"\n", 0, error.start) + 1)
        raise ValueError(
            f"{fn}: {path}, line {line}: byte 0x{raw[error.start]:02x} at byte offset {error.start} "
            f"(byte {column} of the line) is not valid {encoding} (encoding={encoding!r}); "
            "if the file is Latin-1, as many older datasets are, pass encoding='latin-1'"
        ) from error
    if not text.strip():
        raise ValueError(f"{fn}: {path} contains only whitespace")
    return text.removeprefix("\ufeff").replace("\r\n", "\n")  # editors on Windows write a BOM and \r\n


def _lines(text: str) -> list[tuple[int, str]]:
    """The non-blank lines of ``text`` with their numbers (counting from 1)."""
    return [(n, line) for n, line in enumerate(text.split("\n"), start=1) if line.strip()]


def read_text(path: PathLike, encoding: str = "utf-8") -> str:
    """A plain-text corpus for language modelling: the whole file as one string."""
    return _decode(Path(path), "read_text", encoding)


def read_tsv_labeled(
    path: PathLike, classes: Sequence[str] | None = None, encoding: str = "utf-8"
) -> LabeledTexts:
    """Labelled texts from lines ``label<TAB>text``; blank lines are skipped.

    Label and text are stripped of surrounding whitespace; the text may contain
    further tabs. A line without a tab, or with an empty label or text, is an
    error. ``classes`` (default: the labels found, sorted) fixes the class order;
    a label outside it is an error.
    """
    fn = "read_tsv_labeled"
    path = Path(path)
    if classes is not None:
        classes = list(classes)
        if len(set(classes)) != len(classes):
            raise ValueError(f"{fn}: classes {classes} contain duplicates")
    texts, names = [], []
    for n, line in _lines(_decode(path, fn, encoding)):
        label, tab, text = line.partition("\t")
        label, text = label.strip(), text.strip()
        problem = (
            "no tab" if not tab else "an empty label" if not label else "an empty text" if not text else None
        )
        if problem is not None:
            raise ValueError(
                f"{fn}: {path}, line {n}: expected 'label<TAB>text', found {problem}: {_show(line)}"
            )
        if classes is not None and label not in classes:
            raise ValueError(f"{fn}: {path}, line {n}: unknown label {label!r}; the classes are {classes}")
        texts.append(text)
        names.append(label)
    if classes is None:
        classes = sorted(set(names))
    index = {c: i for i, c in enumerate(classes)}
    return LabeledTexts(texts, [index[c] for c in names], classes, {"source": str(path)})


def read_line_per_class(
    files: Mapping[str, PathLike] | Sequence[PathLike], encoding: str = "utf-8"
) -> LabeledTexts:
    """One file per class, one example per non-blank line (stripped).

    ``files`` maps class names to paths (the classes keep the mapping's order), or
    is a sequence of paths whose class names are their suffixes after the last dot
    (the classes sorted): ``["rt-polarity.pos", "rt-polarity.neg"]`` gives classes
    ``["neg", "pos"]``. Examples come class by class, in file order. Older sets
    like that one are Latin-1: pass ``encoding="latin-1"``.
    """
    fn = "read_line_per_class"
    if isinstance(files, (str, os.PathLike)):
        raise TypeError(
            f"{fn}: expected several files (a dict of class -> path, or a list of paths), got one: {files}"
        )
    if isinstance(files, Mapping):
        by_class = {str(c): Path(p) for c, p in files.items()}
    else:
        by_class = {}
        for p in map(Path, files):
            name, dot, suffix = p.name.rpartition(".")
            if not dot or not name or not suffix:
                raise ValueError(
                    f"{fn}: cannot take a class name from {p}: expected a suffix like 'data.pos'"
                )
            if suffix in by_class:
                raise ValueError(f"{fn}: {by_class[suffix]} and {p} both have the class suffix {suffix!r}")
            by_class[suffix] = p
        by_class = dict(sorted(by_class.items()))
    if not by_class:
        raise ValueError(f"{fn}: no files given")
    texts, labels = [], []
    for label, path in enumerate(by_class.values()):
        lines = [line.strip() for _, line in _lines(_decode(path, fn, encoding))]
        texts += lines
        labels += [label] * len(lines)
    info = {"source": {c: str(p) for c, p in by_class.items()}}
    return LabeledTexts(texts, labels, list(by_class), info)


def read_folder_per_class(root: PathLike, encoding: str = "utf-8") -> LabeledTexts:
    """One subfolder of ``root`` per class (sorted by name), one ``*.txt`` file in it per example.

    Each example is its file's text, stripped. Hidden subfolders (``.git``, ...)
    are ignored; a root without subfolders, or a class folder without ``*.txt``
    files, is an error.
    """
    fn = "read_folder_per_class"
    root = Path(root)
    if not root.exists():
        raise FileNotFoundError(f"{fn}: no such folder: {root}")
    if not root.is_dir():
        raise NotADirectoryError(f"{fn}: {root} is a file, expected a folder with one subfolder per class")
    folders = sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not folders:
        raise ValueError(f"{fn}: {root} has no class subfolders (expected e.g. {root / 'pos'}/*.txt)")
    texts, labels = [], []
    for label, folder in enumerate(folders):
        paths = sorted(p for p in folder.glob("*.txt") if p.is_file())
        if not paths:
            raise ValueError(f"{fn}: class folder {folder} has no .txt files")
        texts += [_decode(p, fn, encoding).strip() for p in paths]
        labels += [label] * len(paths)
    return LabeledTexts(texts, labels, [d.name for d in folders], {"source": str(root)})
