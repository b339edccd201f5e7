"""The child side of the grader: run one task's probes on a package, send what they see.

The grader (:mod:`tinyllm.assignment.grade`) starts ``python -I -S -c <this file's text>``
and writes one JSON message to the child's stdin: where the package is, which library
folders to put on ``sys.path``, the probes' source, the checks to run, the seed of their
inputs, and the functions to swap for reference code. The child

1. keeps its real stdout for the grader (messages, one JSON line each) and sends
   ``print`` and everything else the package writes to stderr, which the grader only
   shows as output;
2. imports ``tinyllm`` from the package folder, gives each listed function the
   reference code it was sent (so a task runs on its own code alone), and loads the
   probes from source (they are not files here);
3. runs each check's probe, sending every value it observes as it goes.

Nothing this child sends is a verdict: it sends values, and the grader compares them with
the values the same probes saw on the reference package. This file imports nothing from
``tinyllm``; in the child, ``tinyllm`` is the package being graded.
"""

from __future__ import annotations

import ast
import base64
import importlib
import importlib.abc
import importlib.util
import json
import os
import sys
import textwrap
import traceback
from pathlib import Path
from types import FunctionType, ModuleType
from typing import Any

PROBES = "tinyllm_probes"  # the probes' package name in the child


class _Channel:
    """Messages to the grader, on a copy of the real stdout made before any package code runs."""

    def __init__(self) -> None:
        self.fd = os.dup(1)
        os.dup2(2, 1)  # the package's prints land in stderr, never among the messages
        sys.stdout = sys.stderr

    def send(self, **message: Any) -> None:
        data = (json.dumps(message, separators=(",", ":")) + "\n").encode()
        while data:
            data = data[os.write(self.fd, data) :]


def encode(value: Any) -> Any:
    """A value as JSON: arrays (and tensors, through ``.numpy()``) as dtype, shape and base64 bytes."""
    if hasattr(value, "detach") and hasattr(value, "numpy"):
        value = value.detach().numpy()
    if hasattr(value, "__array__") and not isinstance(value, (bool, int, float)):
        import numpy as np

        a = np.ascontiguousarray(np.asarray(value))
        return {"dtype": a.dtype.str, "shape": list(a.shape), "data": base64.b64encode(a.tobytes()).decode()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (tuple, list)):
        return [encode(v) for v in value]
    raise TypeError(f"cannot send a {type(value).__name__}")


class _Sources(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Import the probes from the source text the grader sent: ``tinyllm_probes`` and its modules."""

    def __init__(self, sources: dict[str, str]) -> None:
        self.sources = sources

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name == PROBES or name.startswith(PROBES + ".") and name[len(PROBES) + 1 :] in self.sources:
            return importlib.util.spec_from_loader(name, self, is_package=name == PROBES)
        return None

    def create_module(self, spec: Any) -> None:
        return None

    def exec_module(self, module: ModuleType) -> None:
        short = "__init__" if module.__name__ == PROBES else module.__name__[len(PROBES) + 1 :]
        if module.__name__ == PROBES:
            module.__path__ = []
        code = compile(self.sources[short], f"<probes/{short}.py>", "exec")
        exec(code, module.__dict__)  # noqa: S102  (the grader's own probes, sent as text: no files here)


def swap(module_name: str, qualname: str, source: str, firstlineno: int, filename: str) -> None:
    """Give function ``module.qualname`` of the package the code compiled from ``source``.

    Swapping ``__code__`` changes the function object itself, so every module that
    imported it by name (``from tinyllm.ops.elementwise import unbroadcast``) runs the
    new code too. ``source`` is the function alone, as it stands in the reference file.
    """
    owner: Any = importlib.import_module(module_name)
    *path, name = qualname.split(".")
    for part in path:
        owner = getattr(owner, part)
    fn = vars(owner)[name]
    fn = getattr(fn, "__func__", fn)  # staticmethod, classmethod
    if not isinstance(fn, FunctionType):
        raise TypeError(f"{module_name}.{qualname} is not a function")
    tree = ast.parse(textwrap.dedent(source), filename)
    ast.increment_lineno(tree, firstlineno - 1)
    code = compile(tree, filename, "exec")
    new = next(c for c in code.co_consts if hasattr(c, "co_name") and c.co_name == name)
    if new.co_freevars != fn.__code__.co_freevars:
        raise TypeError(f"{module_name}.{qualname}: the reference code needs other closure variables")
    fn.__code__ = new


def describe(e: BaseException) -> str:
    """An exception in one line: its type, message and (unless a failed expectation) where it was raised."""
    if isinstance(e, NotImplementedError):
        return f"not implemented: {e}"
    last = traceback.extract_tb(e.__traceback__)[-1:] if e.__traceback__ else []
    where = f" ({Path(last[0].filename).name}:{last[0].lineno})" if last and not isinstance(e, AssertionError) else ""
    return f"{type(e).__name__}: {e}{where}"[:2000]


def main() -> None:
    channel = _Channel()
    setup = json.loads(sys.stdin.buffer.read())
    package = str(Path(setup["package"]).resolve())
    sys.path[:0] = [package, *setup["libraries"]]
    try:
        import tinyllm  # the package being graded

        if not Path(tinyllm.__file__).resolve().is_relative_to(package):
            raise ImportError(f"imported tinyllm from {tinyllm.__file__}, not from the package being graded")
        sys.meta_path.insert(0, _Sources(setup["probes"]))
        probes = importlib.import_module(PROBES)
    except BaseException as e:  # noqa: BLE001  (a broken package costs the task, nothing more)
        channel.send(setup_error=describe(e))
        return
    for s in setup["swaps"]:
        try:
            swap(s["module"], s["function"], s["source"], s["line"], s["file"])
        except Exception as e:  # noqa: BLE001  (e.g. a renamed function: its own task will tell)
            channel.send(warning=f"{s['module']}.{s['function']} kept as submitted: {describe(e)}")
    for name in setup["checks"]:
        channel.send(check=name)

        def seen(label: str, value: Any) -> None:
            channel.send(label=label, value=encode(value))

        try:
            probes.PROBES[name](seen, setup["seed"])
            channel.send(end=name)
        except BaseException as e:  # noqa: BLE001  (SystemExit from a package is an error too)
            channel.send(error=describe(e))
    channel.send(done=True)


if __name__ == "__main__":
    main()
