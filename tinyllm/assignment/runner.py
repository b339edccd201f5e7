"""Run one task's checks against a submitted package, in a process of its own.

The grader starts ``python -c BOOT SPEC`` (see :mod:`tinyllm.assignment.grade`), which
runs this file. SPEC is a JSON file that says where the submitted package is, which
task's checks to run, and which functions to swap for their reference versions: those
holding the other tasks' regions, so that a task is graded on its own code alone.

This file imports nothing from ``tinyllm`` itself: in this process ``tinyllm`` is the
submitted package (its folder comes first on ``sys.path``), and the checks are loaded
from the grader's ``checks.py`` by path. Outcomes go to the result file after every
check; the grader scores them from there only. A crash or a hang leaves the file
without ``"done": true``, and the grader gives the task 0.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import json
import os
import sys
import time
import traceback
from pathlib import Path
from types import FunctionType, ModuleType
from typing import Any

#: What the grader runs with ``python -c``: this file, by path (argv[1]), on the spec (argv[2]).
BOOT = "import runpy, sys; runpy.run_path(sys.argv[1], run_name='__main__')"


def _write(path: Path, result: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=1))
    os.replace(tmp, path)


def _reference_code(file: str, qualname: str) -> Any:
    """The code object of function ``qualname`` (e.g. ``"Mul.backward"``) compiled from ``file``."""
    tree = ast.parse(Path(file).read_text(), file)
    node: Any = tree
    for part in qualname.split("."):
        node = next(
            n for n in node.body
            if isinstance(n, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == part
        )  # fmt: skip
    code = compile(ast.Module(body=[node], type_ignores=[]), file, "exec")
    return next(c for c in code.co_consts if hasattr(c, "co_name") and c.co_name == node.name)


def _swap(module_name: str, qualname: str, file: str) -> None:
    """Give the submitted function ``module.qualname`` the reference function's code.

    Swapping ``__code__`` changes the function object itself, so every module that
    imported it by name (``from tinyllm.ops.elementwise import unbroadcast``) runs the
    reference version too.
    """
    owner: Any = importlib.import_module(module_name)
    *path, name = qualname.split(".")
    for part in path:
        owner = getattr(owner, part)
    fn = vars(owner)[name]
    fn = getattr(fn, "__func__", fn)  # staticmethod, classmethod
    if not isinstance(fn, FunctionType):
        raise TypeError(f"{module_name}.{qualname} is not a function")
    code = _reference_code(file, qualname)
    if code.co_freevars != fn.__code__.co_freevars:
        raise TypeError(f"{module_name}.{qualname}: the reference code needs other closure variables")
    fn.__code__ = code


def _load_checks(init_file: str) -> ModuleType:
    """The grader's checks package, from its folder (``tinyllm.assignment`` is not importable here)."""
    folder = str(Path(init_file).parent)
    spec = importlib.util.spec_from_file_location("tinyllm_assignment_checks", init_file,
                                                  submodule_search_locations=[folder])  # fmt: skip
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[spec.name] = module  # type: ignore[union-attr]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def _describe(e: BaseException) -> str:
    if isinstance(e, NotImplementedError):
        return f"not implemented: {e}"
    last = traceback.extract_tb(e.__traceback__)[-1:] if e.__traceback__ else []
    # a failed expectation speaks for itself; for any other error, say where it was raised
    where = f" ({Path(last[0].filename).name}:{last[0].lineno})" if last and not isinstance(e, AssertionError) else ""
    return f"{type(e).__name__}: {e}{where}"[:600]


def main(spec_file: str) -> None:
    spec = json.loads(Path(spec_file).read_text())
    out = Path(spec["result"])
    result: dict[str, Any] = {"task": spec["task"], "checks": [], "current": None, "done": False}
    package = str(Path(spec["path"]).resolve())
    sys.path.insert(0, package)
    try:
        import tinyllm  # the submitted package

        if not Path(tinyllm.__file__).resolve().is_relative_to(package):
            raise ImportError(f"imported tinyllm from {tinyllm.__file__}, not from {package}")
        checks = _load_checks(spec["checks_file"])
    except BaseException as e:  # noqa: BLE001  (a broken package costs the task, nothing more)
        result.update(error=f"could not set up: {_describe(e)}", done=True)
        _write(out, result)
        return
    result["warnings"] = []
    for patch in spec["patches"]:
        try:
            _swap(patch["module"], patch["function"], patch["file"])
        except Exception as e:  # noqa: BLE001  (e.g. a renamed function: its own task will tell)
            result["warnings"].append(f"{patch['module']}.{patch['function']} kept as submitted: {_describe(e)}")
    for name in spec["checks"]:
        result["current"] = name
        _write(out, result)  # if this check hangs or crashes, the grader can say where
        start = time.perf_counter()
        try:
            checks.CHECKS[name]()
            passed, message = True, ""
        except BaseException as e:  # noqa: BLE001  (SystemExit from a submission is a failure too)
            passed, message = False, _describe(e)
        result["checks"].append(
            {"name": name, "passed": passed, "message": message, "seconds": round(time.perf_counter() - start, 3)}
        )
    result.update(current=None, done=True)
    _write(out, result)


if __name__ == "__main__":
    main(sys.argv[-1])
