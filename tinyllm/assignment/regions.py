"""Solution regions: finding them in tinyllm's source, and turning them into stubs.

A region is a run of whole statements inside a function, between two comment lines
at the statements' indentation:

    def backward(self, gy):
        # BEGIN SOLUTION task=elementwise
        return gy * self.y
        # END SOLUTION

Outside an assignment the markers are plain comments. For a student copy, a region of
an assigned task becomes a stub that raises ``NotImplementedError("task <id>: ...")``
(the signature stays, and the docstring with the math, or the text of a lower hint level
from :mod:`~tinyllm.assignment.hints`), and a region of any other task keeps its code
without the markers. Regions do not nest, live in functions at module
or class level (not in nested functions), and one function holds regions of one task
only, so that the grader can swap a whole function for its reference version.
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from collections.abc import Collection, Mapping
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


def docstring_owners(source: str, regions: list[Region]) -> dict[str, str]:
    """The functions and classes whose docstrings describe the regions' code, by qualified name, with their task.

    For each region: its function, if it has a docstring, and the function's class, if it
    has one. A region with neither, or a class whose methods hold regions of two tasks,
    is an error: there would be no docstring to give the student, or one for two tasks.
    """
    documented = _docstrings(ast.parse(source, regions[0].path if regions else "<source>"))
    owners: dict[str, str] = {}
    for r in regions:
        names = [r.function] + ([r.function.rsplit(".", 1)[0]] if "." in r.function else [])
        found = [name for name in names if name in documented]
        if not found:
            raise RegionError(f"{r.path}:{r.begin}: neither {r.function} nor its class has a docstring "
                              f"to state the contract of task {r.task!r}")  # fmt: skip
        for name in found:
            if owners.setdefault(name, r.task) != r.task:
                raise RegionError(f"{r.path}:{r.begin}: {name} holds regions of tasks {owners[name]!r} and "
                                  f"{r.task!r}; its docstring can describe one task only")  # fmt: skip
    return owners


def _docstrings(tree: ast.Module) -> dict[str, ast.Expr]:
    """The docstring statement of every class, and of every function not nested in a function, by qualified name."""
    found: dict[str, ast.Expr] = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                if ast.get_docstring(child, clean=False) is not None:
                    found[prefix + child.name] = child.body[0]  # type: ignore[assignment]
                if isinstance(child, ast.ClassDef):
                    visit(child, f"{prefix}{child.name}.")

    visit(tree, "")
    return found


def render(
    source: str,
    regions: list[Region],
    stubbed: Collection[str],
    hints: dict[str, tuple[str, str]],
    docstrings: Mapping[str, str] | None = None,
) -> str:
    """``source`` without markers: regions of ``stubbed`` tasks become stubs, others keep their code.

    ``hints`` maps a task id to its (title, hint) for the stub's comment (an empty hint: no
    hint line). ``docstrings`` maps the qualified name of a function or class of ``source``
    to the text its docstring becomes (see :func:`docstring_owners`); each must exist.
    """
    lines = source.splitlines(keepends=True)
    path = regions[0].path if regions else "<source>"
    edits = [(r.begin, r.end, _stub(r, *hints[r.task]) if r.task in stubbed else lines[r.begin : r.end - 1])
             for r in regions]  # fmt: skip
    if docstrings:
        documented = _docstrings(ast.parse(source, path))
        for name, text in docstrings.items():
            if name not in documented:
                raise RegionError(f"{path}: no docstring of {name} to replace")
            node = documented[name]
            first, last = node.lineno, node.end_lineno or node.lineno
            indent = lines[first - 1][: node.col_offset]
            if indent.strip() or lines[last - 1][node.end_col_offset or 0 :].strip():
                raise RegionError(f"{path}:{first}: the docstring of {name} shares its lines with other code")
            edits.append((first, last, _docstring(text, indent, f"{path}:{first}")))
    out: list[str] = []
    done = 0  # lines[:done] are handled
    for first, last, replacement in sorted(edits, key=lambda e: e[0]):
        out += lines[done : first - 1]
        out += replacement
        done = last
    out += lines[done:]
    result = "".join(out)
    try:
        ast.parse(result, path)
    except SyntaxError as e:
        raise RegionError(f"{e.filename}:{e.lineno}: the student version does not parse: {e.msg}") from None
    return result


def _docstring(text: str, indent: str, where: str, width: int = 100) -> list[str]:
    """``text`` as the lines of a docstring at ``indent``: its first line after the quotes, the rest indented.

    Paragraphs of prose are filled to ``width``; indented lines (formulas) are kept as they are.
    """
    if '"""' in text or "\\" in text:
        raise RegionError(f"{where}: a docstring text may not hold triple quotes or a backslash")
    body: list[str] = []
    for paragraph in inspect.cleandoc(text).split("\n\n"):
        lines = paragraph.split("\n")
        if any(line.startswith(" ") for line in lines):
            body += [*lines, ""]
        else:
            body += [*textwrap.wrap(" ".join(lines), width - len(indent) - 3, break_on_hyphens=False), ""]
    body.pop()
    if len(body) <= 1:
        return [f'{indent}"""{"".join(body)}"""\n']
    rest = [f"{indent}{line}\n" if line else "\n" for line in body[1:]]
    return [f'{indent}"""{body[0]}\n', *rest, f'{indent}"""\n']


def _stub(r: Region, title: str, hint: str) -> list[str]:
    width = 100 - len(r.indent)
    comment = [f"# Task {r.task} (see STUDENTS.md): {title}."]
    if hint:
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
