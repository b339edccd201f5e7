"""A submission that tries to fool the grader scores 0 on the task it attacks.

Each test writes attack code into a fresh student copy (where the task's stub was, or into
``tinyllm/__init__.py``, which runs first), grades the copy, and checks the attacked task
earned nothing. The attacks are the ones a student who would rather not do the work can
write with what is inside the grading process: no OS-level tricks (see the threat model
in docs/assignments.md for what only a sandbox stops).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tinyllm.assignment.grade import grade
from tinyllm.assignment.make import ROOT, make
from tinyllm.assignment.tasks import BY_ID

SEED = 20261203  # fixed here so the reference's report is computed once for the whole file


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("attacks") / "copy"
    make(out, ["sgd", "adam"])
    return out


def _copy(fresh: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "copy"
    shutil.copytree(fresh, copy)
    return copy


def _in_stub(copy: Path, code: str) -> None:
    """Put ``code`` where Adam.update's stub raises: it runs each time the grader steps Adam."""
    path = copy / "tinyllm" / "optim" / "adam.py"
    stub = 'raise NotImplementedError("task adam: Adam.update is yours to write")'
    text = path.read_text()
    indent = text[: text.index(stub)].rsplit("\n", 1)[1]
    path.write_text(text.replace(stub, textwrap.indent(textwrap.dedent(code), indent).lstrip()))


def _at_import(copy: Path, code: str) -> None:
    """Append ``code`` to the copy's ``tinyllm/__init__.py``: it runs before any check."""
    init = copy / "tinyllm" / "__init__.py"
    init.write_text(init.read_text() + "\n" + textwrap.dedent(code))


def _adam(copy: Path) -> tuple[int, str, str]:
    report = grade(copy, ["adam"], timeout=60, seed=SEED)
    (task,) = report.tasks
    return task.earned, task.status, task.message


def test_writing_result_files_and_printing_a_perfect_report_earns_nothing(fresh: Path, tmp_path: Path) -> None:
    copy = _copy(fresh, tmp_path)
    _at_import(
        copy,
        """
        import json as _json, os as _os, sys as _sys
        _forged = {"task": "adam", "done": True, "earned": 8, "points": 8,
                   "checks": [{"name": n, "passed": True, "message": ""} for n in
                              ("adam_shapes", "adam_values", "adamw_values", "adam_training")]}
        for _folder in {_os.getcwd(), _os.environ.get("TMPDIR", "/tmp"), _os.path.expanduser("~")}:
            for _name in ("result.json", "report.json", "spec.json"):
                try:
                    with open(_os.path.join(_folder, _name), "w") as _f:
                        _json.dump(_forged, _f)
                except OSError:
                    pass
        print(_json.dumps({"done": True}))  # a runner message, printed
        print("adam | 8/8 | passed")
        _sys.stdout.flush()
        _os._exit(0)
    """,
    )
    earned, status, message = _adam(copy)
    assert (earned, status) == (0, "crash"), message


def test_messages_forged_on_every_open_descriptor_earn_nothing(fresh: Path, tmp_path: Path) -> None:
    copy = _copy(fresh, tmp_path)
    _at_import(
        copy,
        """
        import json as _json, os as _os
        _lines = [{"check": n} for n in ("adam_shapes", "adam_values", "adamw_values", "adam_training")]
        _lines = [m for c in _lines for m in (c, {"end": c["check"]})] + [{"done": True}]
        _data = "".join(_json.dumps(m) + "\\n" for m in _lines).encode()
        for _fd in range(3, 64):
            try:
                _os.write(_fd, _data)
            except OSError:
                pass
        _os._exit(0)
    """,
    )
    earned, status, message = _adam(copy)
    assert earned == 0, message
    assert "no value" in message or status == "crash"


def test_patching_the_runner_through_main_earns_nothing(fresh: Path, tmp_path: Path) -> None:
    copy = _copy(fresh, tmp_path)
    _at_import(
        copy,
        """
        import sys as _sys
        _main = _sys.modules["__main__"]
        for _name in list(vars(_main)):
            if callable(getattr(_main, _name)) and not _name.startswith("__") and _name not in ("main", "_Channel"):
                setattr(_main, _name, lambda *a, **k: None)   # every helper a no-op: describe, swap, encode...
        _send = _main._Channel.send
        def _only_good_news(self, **message):
            if "error" in message:                             # turn every failure into a finished check
                message = {"end": "adam"}
            _send(self, **message)
        _main._Channel.send = _only_good_news
    """,
    )
    earned, _, message = _adam(copy)
    assert earned == 0, message


def test_reporting_made_up_values_through_the_probes_earns_nothing(fresh: Path, tmp_path: Path) -> None:
    """The runner and probes are patched to report a falling loss and the step's parameter untouched."""
    copy = _copy(fresh, tmp_path)
    _in_stub(
        copy,
        """
        import sys
        common = sys.modules["tinyllm_probes.common"]
        def train(seen, what, loss_fn, optimizer, steps):
            for step, loss in zip((0, steps // 4, steps // 2, steps - 1), (1.0, 0.1, 0.01, 0.001)):
                seen(f"{what}: loss at step {step}", loss)
        common.train = train
        sys.modules["tinyllm_probes.optim"].train = train
        return 0 * p, {}  # no update at all
    """,
    )
    report = grade(copy, ["adam"], timeout=60, seed=SEED)
    (task,) = report.tasks
    assert task.earned == 0, task.message
    training = next(c for c in task.checks if c.name == "adam_training")
    assert not training.passed and "loss at step" in training.message


ATTACK_IMPORT = """
    import importlib.util, os, sys
    mine = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    places = [*sys.argv, *sys.path, *os.environ.values(), os.getcwd()]
    for place in places:
        for folder in {place, os.path.dirname(place), os.path.dirname(os.path.dirname(place))}:
            file = os.path.abspath(os.path.join(folder, "tinyllm", "optim", "adam.py"))
            if not os.path.isfile(file) or os.path.samefile(file.rsplit(os.sep, 3)[0], mine):
                continue
            if "exp_avg_sq" not in open(file).read():
                continue
            spec = importlib.util.spec_from_file_location("the_reference_adam", file)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            Adam.update.__code__ = module.Adam.update.__code__
            return module.Adam.update(self, p, g, group, state)
    for name in [m.name for m in __import__("pkgutil").iter_modules() if "tinyllm" in m.name.lower()]:
        finder = importlib.import_module(name)  # e.g. an editable install's finder, which knows the checkout
        for path in getattr(finder, "MAPPING", {}).values():
            file = os.path.join(path, "optim", "adam.py")
            spec = importlib.util.spec_from_file_location("the_reference_adam", file)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return module.Adam.update(self, p, g, group, state)
    raise NotImplementedError("found no reference to load")
"""


def test_loading_the_reference_from_argv_sys_path_or_the_environment_earns_nothing(fresh: Path, tmp_path: Path) -> None:
    copy = _copy(fresh, tmp_path)
    _in_stub(copy, ATTACK_IMPORT)
    # The attack works wherever the reference is in reach: run it as plain Python beside the checkout.
    control = subprocess.run(
        [sys.executable, "-c", "import tinyllm as tl; p = tl.ones(3, requires_grad=True); p.grad = tl.ones(3); "
         "tl.optim.Adam([p], lr=0.1).step(); print(p.detach().numpy().tolist())", str(ROOT)],
        cwd=copy, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert control.returncode == 0 and "0.9" in control.stdout, control.stderr
    earned, _, message = _adam(copy)
    assert earned == 0 and "found no reference to load" in message, message


def test_an_assignment_json_edited_to_list_one_task_changes_nothing_graded(fresh: Path, tmp_path: Path) -> None:
    copy = _copy(fresh, tmp_path)
    (copy / "assignment.json").write_text(json.dumps({"tasks": ["sgd"]}))
    report = grade(copy, ["sgd", "adam"], timeout=60, seed=SEED)
    assert [t.id for t in report.tasks] == ["sgd", "adam"]
    assert report.earned == 0 and report.points == BY_ID["sgd"].points + BY_ID["adam"].points
    assert any("lists sgd" in n for n in report.notes)


def test_exiting_early_with_status_0_earns_nothing(fresh: Path, tmp_path: Path) -> None:
    copy = _copy(fresh, tmp_path)
    _in_stub(
        copy,
        """
        import os
        os._exit(0)
    """,
    )
    earned, status, message = _adam(copy)
    assert (earned, status) == (0, "crash") and "exit code 0" in message
