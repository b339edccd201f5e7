"""How much of PyTorch's everyday surface tinyllm has: ``tinyllm api-coverage``.

``pytorch_names.txt`` (next to this file) lists everyday PyTorch names by namespace
(``torch``, ``Tensor``, ``nn``, ``nn.functional``, ...). This module looks each one up
in tinyllm's twin of that namespace and counts what exists. A name counts when the
attribute exists; whether it behaves as PyTorch's does is the tests' job
(``tests/pytorch_programs`` runs tutorial programs on both).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

NAMES_FILE = Path(__file__).with_name("pytorch_names.txt")


@dataclass(frozen=True)
class Section:
    """One namespace of the list: its PyTorch name, its names, and whether it counts."""

    namespace: str
    names: tuple[str, ...]
    in_scope: bool


def read_sections(path: Path = NAMES_FILE) -> list[Section]:
    """Parse the list: ``[namespace]`` or ``[namespace] (out of scope)`` headers, then words."""
    sections: list[Section] = []
    header: tuple[str, bool] | None = None
    names: list[str] = []
    for line in [*path.read_text(encoding="utf-8").splitlines(), "[end]"]:
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("["):
            if header is not None:
                sections.append(Section(header[0], tuple(names), header[1]))
            namespace, _, rest = line[1:].partition("]")
            header, names = (namespace, "out of scope" not in rest), []
        elif header is None:
            raise ValueError(f"{path}: names before the first [namespace] header: {line!r}")
        else:
            names.extend(line.split())
    return sections


def twin_of(namespace: str) -> Any:
    """tinyllm's object standing for a PyTorch namespace, or None if tinyllm has none.

    Classes are looked up on an instance, so attributes set in ``__init__``
    (``Optimizer.param_groups``) count as PyTorch users meet them.
    """
    import tinyllm as tl

    instances = {
        "Tensor": lambda: tl.zeros(2),
        "nn.Module": lambda: tl.nn.Linear(1, 1),
        "optim.Optimizer": lambda: tl.optim.SGD([tl.nn.Parameter(tl.zeros(1))], lr=0.1),
    }
    if namespace in instances:
        return instances[namespace]()
    if namespace == "torch":
        return tl
    try:
        return importlib.import_module(f"tinyllm.{namespace}")
    except ImportError:
        return None


def coverage(sections: list[Section]) -> list[tuple[Section, list[str]]]:
    """Each section with the names tinyllm lacks."""
    result = []
    for section in sections:
        twin = twin_of(section.namespace)
        missing = [name for name in section.names if twin is None or not hasattr(twin, name)]
        result.append((section, missing))
    return result


def report(show_missing: bool = False) -> str:
    """The table ``tinyllm api-coverage`` prints: per namespace, then the in-scope total."""
    rows = coverage(read_sections())
    lines = [f"{'namespace':<28}{'tinyllm has':>12}"]
    total = found = 0
    for section, missing in rows:
        have = len(section.names) - len(missing)
        label = section.namespace + ("" if section.in_scope else " (out of scope)")
        lines.append(f"{label:<28}{have:>5} / {len(section.names):<5}")
        if show_missing and missing:
            lines.append("    missing: " + " ".join(missing))
        if section.in_scope:
            total += len(section.names)
            found += have
    lines.append(f"in scope: {found} of {total} everyday PyTorch names ({100 * found / total:.0f}%)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tinyllm.coverage", description=__doc__.splitlines()[0])
    parser.add_argument("--missing", action="store_true", help="list the names tinyllm lacks")
    args = parser.parse_args(argv)
    print(report(args.missing))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
