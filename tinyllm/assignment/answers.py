"""The written answers of a submission: ``answers.md``, one ``## <task id>`` section per task.

The file comes from the student, so it is read as untrusted text and never evaluated: only
a regular file is read (not a link, which could point at the instructor's files, nor a pipe,
which could block the grader), at most :data:`LIMIT` bytes of it, with invalid UTF-8
replaced and control characters (terminal escapes) dropped. The answers are listed in the
report for the instructor to read; nothing scores them.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable
from pathlib import Path

from tinyllm.assignment.hints import ANSWERS

LIMIT = 64 * 1024  # bytes of answers.md that are read; the rest is cut, with a note
CUT_NOTE = f"[answers.md is longer than {LIMIT // 1024} KiB: cut here]"
HEADING = re.compile(r"^##[ \t]+`?(\w*)")  # level 2 only: "## sgd", "## `sgd`", "## sgd: the SGD step"
FENCE = re.compile(r"^\s*(```|~~~)")
#: Control characters but tab and newline (terminal escapes), and the marks that reorder text on screen.
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def read_answers(root: Path, task_ids: Iterable[str]) -> dict[str, str]:
    """The answers in ``root / answers.md`` of the tasks ``task_ids``, by task id, in that order.

    An answer is the text under the task's level-2 heading (``## sgd``) up to the next level-2
    heading, stripped; a task whose heading is missing or whose section is empty is left out, a
    heading that names no task of ``task_ids`` is ignored with its text, and headings inside
    code fences are text. Two sections of one task are joined. A missing or unreadable file, a
    link or anything but a regular file gives ``{}``. When the file is longer than
    :data:`LIMIT` bytes it is cut there and the answer being read ends with :data:`CUT_NOTE`.
    """
    text, cut = _read(Path(root) / ANSWERS)
    wanted = {t.lower(): t for t in task_ids}
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None  # the lines of the section being read; None outside a wanted one
    fenced = False
    for line in text.split("\n"):
        if FENCE.match(line):
            fenced = not fenced
        heading = None if fenced else HEADING.match(line)
        if heading:
            task = wanted.get(heading[1].lower())
            current = sections.setdefault(task, []) if task else None
            if current:
                current.append("")
        elif current is not None:
            current.append(line)
    if cut and current is not None:
        current += ["", CUT_NOTE]
    answers = {task: "\n".join(sections[task]).strip() for task in wanted.values() if task in sections}
    return {task: answer for task, answer in answers.items() if answer}


def _read(path: Path) -> tuple[str, bool]:
    """The first LIMIT bytes of a regular file as text, and whether there was more; ("", False) for anything else."""
    if path.is_symlink():  # O_NOFOLLOW refuses it too, where the system has it
        return "", False
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:  # missing, a link (O_NOFOLLOW), unreadable
        return "", False
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # a pipe or a device: never read from it
            return "", False
        with os.fdopen(fd, "rb", closefd=False) as file:
            data = file.read(LIMIT + 1)
    except OSError:
        return "", False
    finally:
        os.close(fd)
    text = data[:LIMIT].decode("utf-8", errors="replace").replace("\r\n", "\n").replace("\r", "\n")
    return CONTROL.sub("", text), len(data) > LIMIT
