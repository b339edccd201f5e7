"""Solution regions: finding them in tinyllm's source, and turning them into stubs.

A region is a run of whole statements inside a function, between two comment lines
at the statements' indentation:

    def backward(self, gy):
        # BEGIN SOLUTION task=elementwise
        return gy * self.y
        # END SOLUTION

Outside an assignment the markers are plain comments. For a student copy, a region of
an assigned task becomes a stub that raises ``NotImplementedError("task <id>: ...")``
(the signature and the docstring with the math stay), and a region of any other task
keeps its code without the markers. Regions do not nest, live in functions at module
or class level (not in nested functions), and one function holds regions of one task
only, so that the grader can swap a whole function for its reference version.
"""

from __future__ import annotations

import ast
import re
import textwrap
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

BEGIN = re.compile(r"^(?P<indent>[ \t]*)# BEGIN SOLUTION task=(?P<task>\w+)[ \t]*$")
END = re.compile(r"^(?P<indent>[ \t]*)# END SOLUTION[ \t]*$")
MARKER_TEXT = re.compile(r"(BEGIN|END) SOLUTION")  # anything that looks like a marker, well-formed or not


class RegionError(ValueError):
    """A marker that is unbalanced, malformed, misplaced or names an unknown task."""


@dataclass(frozen=True)
class Region:
    """One solution region: lines ``begin`` and ``end`` (1-based) are its two markers."""

    path: str
    task: str
    begin: int
    end: int
    indent: str
    function: str  # the qualified name of the function that holds it, e.g. "Mul.backward"


def find_regions(source: str, path: str, tasks: Collection[str]) -> list[Region]:
    """The regions in ``source`` (the text of file ``path``), checked against the known ``tasks``."""
    regions: list[Region] = []
    open_at: tuple[int, str, str] | None = None  # (line, indent, task) of an unclosed BEGIN
    for number, line in enumerate(source.splitlines(), 1):
        begin, end = BEGIN.match(line), END.match(line)
        if begin:
            if open_at:
                raise RegionError(f"{path}:{number}: BEGIN SOLUTION inside the region opened at line {open_at[0]}")
            if begin["task"] not in tasks:
                raise RegionError(
                    f"{path}:{number}: unknown task {begin['task']!r} (the tasks are: {', '.join(tasks)})"
                )
            open_at = (number, begin["indent"], begin["task"])
        elif end:
            if not open_at:
                raise RegionError(f"{path}:{number}: END SOLUTION without a BEGIN SOLUTION before it")
            start, indent, task = open_at
            if end["indent"] != indent:
                raise RegionError(f"{path}:{number}: END SOLUTION is not indented like its BEGIN at line {start}")
            if number == start + 1:
                raise RegionError(f"{path}:{start}: the region of task {task!r} is empty")
            regions.append(Region(path, task, start, number, indent, ""))
            open_at = None
        elif MARKER_TEXT.search(line):
            raise RegionError(
                f"{path}:{number}: malformed marker {line.strip()!r}; write '# BEGIN SOLUTION task=<id>' "
                "or '# END SOLUTION' on a line of its own"
            )
        elif open_at and line.strip() and not line.startswith(open_at[1]):
            raise RegionError(
                f"{path}:{number}: this line is indented less than the BEGIN SOLUTION at line {open_at[0]}; "
                "a region holds whole statements of one block"
            )
    if open_at:
        raise RegionError(f"{path}:{open_at[0]}: BEGIN SOLUTION is never closed by an END SOLUTION")
    return _with_functions(regions, source, path) if regions else []


def _with_functions(regions: list[Region], source: str, path: str) -> list[Region]:
    """Name each region's function; reject regions outside functions or in nested ones."""
    functions: list[tuple[int, int, str, bool]] = []  # (first line, last line, qualname, nested)

    def visit(node: ast.AST, prefix: str, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                functions.append((child.lineno, child.end_lineno or child.lineno, prefix + child.name, in_function))
                visit(child, f"{prefix}{child.name}.<locals>.", True)
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.", in_function)
            else:
                visit(child, prefix, in_function)

    visit(ast.parse(source, path), "", False)
    named = []
    owners: dict[str, str] = {}
    for r in regions:
        # a function's last line is its last statement, which the region's code comes before or is
        inside = [f for f in functions if f[0] < r.begin < f[1]]
        if not inside:
            raise RegionError(f"{path}:{r.begin}: the region of task {r.task!r} is not inside a function")
        _, _, qualname, nested = max(inside, key=lambda f: f[0])  # the innermost
        if nested:
            raise RegionError(f"{path}:{r.begin}: the region of task {r.task!r} is in a nested function ({qualname})")
        if owners.setdefault(qualname, r.task) != r.task:
            raise RegionError(
                f"{path}:{r.begin}: {qualname} already holds a region of task {owners[qualname]!r}; "
                "one function holds regions of one task"
            )
        named.append(Region(r.path, r.task, r.begin, r.end, r.indent, qualname))
    return named


def render(source: str, regions: list[Region], stubbed: Collection[str], hints: dict[str, tuple[str, str]]) -> str:
    """``source`` without markers: regions of ``stubbed`` tasks become stubs, others keep their code.

    ``hints`` maps a task id to its (title, hint) for the stub's comment.
    """
    lines = source.splitlines(keepends=True)
    out: list[str] = []
    done = 0  # lines[:done] are handled
    for r in sorted(regions, key=lambda r: r.begin):
        out += lines[done : r.begin - 1]
        if r.task in stubbed:
            out += _stub(r, *hints[r.task])
        else:
            out += lines[r.begin : r.end - 1]
        done = r.end
    out += lines[done:]
    result = "".join(out)
    try:
        ast.parse(result, regions[0].path if regions else "<source>")
    except SyntaxError as e:
        raise RegionError(f"{e.filename}:{e.lineno}: the student version does not parse: {e.msg}") from None
    return result


def _stub(r: Region, title: str, hint: str) -> list[str]:
    width = 100 - len(r.indent)
    comment = [f"# Task {r.task} (see STUDENTS.md): {title}."]
    comment += textwrap.wrap(hint, width, initial_indent="# Hint: ", subsequent_indent="#   ")
    message = f"task {r.task}: {r.function} is yours to write"
    return [f"{r.indent}{c}\n" for c in comment] + [f'{r.indent}raise NotImplementedError("{message}")\n']


def package_regions(package: Path, tasks: Collection[str]) -> dict[str, list[Region]]:
    """Every region in the package at ``package`` (a ``tinyllm`` folder), by path relative to its parent.

    The assignment tools themselves (``tinyllm/assignment``) are not scanned: they talk about markers.
    """
    found = {}
    for file in sorted(package.rglob("*.py")):
        rel = file.relative_to(package.parent)
        if rel.parts[1] == "assignment":
            continue
        regions = find_regions(file.read_text(), rel.as_posix(), tasks)
        if regions:
            found[rel.as_posix()] = regions
    return found
