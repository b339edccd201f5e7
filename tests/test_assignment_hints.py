"""Hint levels of a student copy (``make --hints``), the written questions, and reading ``answers.md``."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tinyllm.assignment import hints
from tinyllm.assignment.answers import CUT_NOTE, LIMIT, read_answers
from tinyllm.assignment.grade import grade
from tinyllm.assignment.make import PACKAGE, ROOT, MakeError, make
from tinyllm.assignment.regions import RegionError, docstring_owners, find_regions, package_regions, render
from tinyllm.assignment.tasks import BY_ID, TASKS
from tinyllm.cli import main as cli_main

ALL = [t.id for t in TASKS]
REGIONS = package_regions(PACKAGE, BY_ID)

#: Formulas the source gives at ``full`` for each task (in the docstrings, the code, the comments): none may
#: reach a copy made at ``outline`` or ``none``.
FORMULAS = {
    "backward": ["reverse topological order", "node runs only\nafter every node that used its outputs",
                 "stack: list[tuple[Function, bool]]", "iterative depth-first search"],
    "softmax": ["dx = p * (g - sum(g * p))", "dx = g - p * sum(g)", "gp - p * gp.sum"],
    "elementwise": ["dy/da = b, dy/db = a", "-a/b^2", "dy/dx = exp(x) = y", "dy/dx = 1/x", "1 - tanh(x)^2",
                    "1 - y^2", "gy * (1 - y * y)"],
    "unbroadcast": ["gets the sum of its", "summed away", "summed with keepdims", "grad.sum(axis=axes"],
    "matmul": ["dA = dY @ B^T", "dB = A^T @ dY", "dX = dY W", "dW = dY^T X", "db = sum of dY"],
    "cross_entropy": ["(sum_c w_c t_nc) p_n - w * t_n", "wt.sum(axis=1, keepdims=True) * p - wt"],
    "embedding": ["dW[k] = sum of dY", "scatter-added", "gw[self.padding_idx] = 0"],
    "dropout": ["1 / (1 - p)", "1/(1-p)", "(u >= p)"],
    "layer_norm": ["dx = r * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))", "dgamma = sum of dy * xhat",
                   "dbeta = sum of dy"],
    "lstm": ["dc_t += dh_t * o * (1 - tanh(c_t)^2)", "da_o = dh_t * tanh(c_t) * o (1 - o)", "dh_{t-1} = da W_hh",
             "dc_{t-1} = dc_t * f", "o (1 - tanh(c_t)^2)", "1 - g^2"],
    "attention": ["dV = D^T dO", "dP += (dO V^T) * keep", "dS = P * (dP - sum_j dP * P)", "dQ = scale * dS K",
                  "dK = dS^T (scale * Q)"],
    "sgd": ["momentum * v + (1 - dampening) * g", "d = g + momentum * v"],
    "adam": ["m / (1 - beta1^t)", "v / (1 - beta2^t)", "1 - beta1**t",
             "delta = -lr * m_hat / (sqrt(v_hat) + eps) - lr * weight_decay * p"],
    "penalties": ["dy/dx = p x^(p-1)", "dy/dx = sign(x)", "sign(p) * max(|p| - tau, 0)", "lam * sign(w)",
                  "gradient w itself"],
}  # fmt: skip


def _files_of(task: str) -> list[str]:
    """The package files that speak of ``task``: those holding its regions, and those its scrubs edit."""
    return sorted({f for f, rs in REGIONS.items() if any(r.task == task for r in rs)}
                  | {s.file for s in hints.SCRUBS.get(task, ())})  # fmt: skip


@pytest.fixture(scope="module")
def copies(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A student copy with every task at each hint level (outline through the command line)."""
    made = {}
    for level in hints.LEVELS:
        out = tmp_path_factory.mktemp(f"hints-{level}") / "student"
        if level == "outline":
            assert cli_main(["assignment", "make", str(out), "--hints", "outline"]) == 0
        else:
            make(out, hints=level)
        made[level] = out
    return made


# ----------------------------------------------------------------------------- the texts


def test_every_region_has_its_texts_at_every_level_and_no_text_is_stale() -> None:
    wanted = {(task, name) for file, rs in REGIONS.items()
              for name, task in docstring_owners((ROOT / file).read_text(), rs).items()}  # fmt: skip
    written = {(task, name) for task, docs in hints.DOCSTRINGS.items() for name in docs}
    assert written == wanted, f"missing: {sorted(wanted - written)}; stale: {sorted(written - wanted)}"
    assert set(hints.OUTLINE_HINTS) == set(ALL) and set(hints.QUESTIONS) == set(ALL)
    assert all(1 <= len(qs) <= 3 for qs in hints.QUESTIONS.values())
    assert set(hints.SCRUBS) <= set(ALL)


def test_outline_texts_derive_and_point_to_a_lesson_section_that_exists_while_none_texts_do_not() -> None:
    pointer = re.compile(r"(lessons/\w+\.py), (?:the introduction and )?section (\d+) \(([^)]*)\)")
    for task, docs in hints.DOCSTRINGS.items():
        for name, doc in docs.items():
            found = pointer.findall(doc.outline)
            assert found, f"{task}/{name}: the outline names no lesson section"
            assert re.search(r"\b(Derive|Work out)\b", doc.outline), f"{task}/{name}"
            assert "lessons/" not in doc.none and "Derive" not in doc.none, f"{task}/{name}: more than the contract"
            for lesson, number, title in found:
                headings = re.findall(r"^# ## (\d+)\. (.*)$", (ROOT / lesson).read_text(), flags=re.MULTILINE)
                found_it = any(n == number and h.lower().startswith(title.lower()) for n, h in headings)
                assert found_it, f"{task}/{name}: {lesson} has no section {number} ({title})"


def test_formulas_given_at_full_are_absent_at_outline_and_none(copies: dict[str, Path]) -> None:
    assert set(FORMULAS) == set(ALL)
    for task, formulas in FORMULAS.items():
        reference = "".join((ROOT / f).read_text() for f in _files_of(task))
        assert [f for f in formulas if f not in reference] == [], f"{task}: formulas the source does not hold"
        for level in ("outline", "none"):
            copy = copies[level]
            for file in [*_files_of(task), "STUDENTS.md", "answers.md"]:
                text = (copy / file).read_text()
                leaked = [f for f in formulas if f in text] + [BY_ID[task].hint] * (BY_ID[task].hint in text)
                assert not leaked, f"--hints {level}: {file} gives away task {task}: {leaked}"


def test_the_level_decides_docstrings_hints_and_students_md(copies: dict[str, Path]) -> None:
    mul = {level: (copies[level] / "tinyllm/ops/elementwise.py").read_text() for level in hints.LEVELS}
    assert "dy/da = b" in mul["full"] and "Derive: dL/da and dL/db" in mul["outline"]
    assert "Derive" not in mul["none"] and "returns (ga, gb)" in mul["none"]
    students = {level: (copies[level] / "STUDENTS.md").read_text() for level in hints.LEVELS}
    for t in TASKS:
        assert f"Hint: {t.hint}" in students["full"]
        assert f"Hint: {hints.OUTLINE_HINTS[t.id]}" in students["outline"]
        for level in hints.LEVELS:
            assert f"Questions (answer under `## {t.id}` in `answers.md`):" in students[level]
            assert all(q in students[level] for q in hints.QUESTIONS[t.id])
    assert "Hint:" not in students["none"] and "the contract" in students["none"]
    assert "# Hint: " not in "".join(f.read_text() for f in (copies["none"] / "tinyllm").rglob("*.py"))


@pytest.mark.parametrize("level", hints.LEVELS)
def test_every_level_records_itself_and_its_copy_imports_and_stubs_raise(level: str, copies: dict[str, Path]) -> None:
    copy = copies[level]
    assert json.loads((copy / "assignment.json").read_text()) == {"tasks": ALL, "hints": level}
    record = json.loads((copy / ".tinyllm-make.json").read_text())
    assert record["hints"] == level and "answers.md" in record["files"]
    code = (
        "import sys, tinyllm as tl; assert tl.__file__.startswith(sys.argv[1]), tl.__file__\n"
        "x = tl.randn(3, 4, requires_grad=True)\n"
        "try:\n    (x * x).sum().backward()\nexcept NotImplementedError as e:\n    print(e)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-c", code, str(copy)], cwd=copy, env=env, capture_output=True, text=True,
                          check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "task backward: backward is yours to write"  # the walk comes first


# ----------------------------------------------------------------------------- make refuses


def test_make_refuses_an_unknown_level_by_name(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(ValueError, match=r"hints must be one of full, outline, none, not 'partial'"):
        make(tmp_path / "a", ["sgd"], hints="partial")
    with pytest.raises(SystemExit) as exit_:
        cli_main(["assignment", "make", str(tmp_path / "b"), "--tasks", "sgd", "--hints", "partial"])
    assert exit_.value.code == 2 and "argument --hints: invalid choice: 'partial'" in capsys.readouterr().err
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_make_refuses_a_level_whose_texts_are_missing_before_writing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(hints.DOCSTRINGS["sgd"], "SGD")  # as if task sgd's region were new
    monkeypatch.delitem(hints.OUTLINE_HINTS, "sgd")
    with pytest.raises(MakeError, match=r"incomplete for --hints outline: OUTLINE_HINTS\['sgd'\]; "
                                        r"DOCSTRINGS\['sgd'\]\['SGD'\] \(in tinyllm/optim/sgd.py\)"):  # fmt: skip
        make(tmp_path / "a", ["sgd", "adam"], hints="outline")
    with pytest.raises(MakeError, match=r"incomplete for --hints none: DOCSTRINGS\['sgd'\]\['SGD'\]"):
        make(tmp_path / "a", ["sgd"], hints="none")
    assert not (tmp_path / "a").exists()
    make(tmp_path / "b", ["sgd"], hints="full")  # full needs no docstring text: the source's stays
    monkeypatch.delitem(hints.QUESTIONS, "adam")
    with pytest.raises(MakeError, match=r"incomplete for --hints full: QUESTIONS\['adam'\]"):
        make(tmp_path / "c", ["adam"])


def test_make_refuses_a_scrub_the_source_no_longer_holds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stale = hints.Scrub("tinyllm/optim/adam.py", "a sentence the source never", "")
    monkeypatch.setitem(hints.SCRUBS, "adam", (*hints.SCRUBS["adam"], stale))
    with pytest.raises(MakeError, match=r"SCRUBS: tinyllm/optim/adam.py holds 'a sentence the source never' 0 times"):
        make(tmp_path / "a", ["adam"], hints="none")
    assert not (tmp_path / "a").exists()


# ----------------------------------------------------------------------------- docstrings in regions.py


SOURCE = '''\
class Op:
    """y = tanh(x);  dy/dx = 1 - tanh(x)^2."""

    def backward(self, gy: float) -> float:
        # BEGIN SOLUTION task=elementwise
        return gy * 2
        # END SOLUTION


def helper(x: float) -> float:
    """Doubles x:  d/dx = 2."""
    # BEGIN SOLUTION task=sgd
    return 2 * x
    # END SOLUTION
'''


def test_render_replaces_the_docstrings_of_the_holders_and_drops_an_empty_hint() -> None:
    regions = find_regions(SOURCE, "op.py", BY_ID)
    assert docstring_owners(SOURCE, regions) == {"Op": "elementwise", "helper": "sgd"}
    texts = {"Op": "y = tanh(x).\n\nDerive: dL/dx from gy, in a paragraph long enough to be filled " + "word " * 30,
             "helper": "Doubles x."}  # fmt: skip
    hint = {"elementwise": ("the op", ""), "sgd": ("the helper", "a hint")}
    student = render(SOURCE, regions, {"elementwise", "sgd"}, hint, texts)
    assert "1 - tanh" not in student and "d/dx = 2" not in student and "return 2 * x" not in student
    assert '    """y = tanh(x).\n\n    Derive: dL/dx' in student and '    """Doubles x."""' in student
    assert all(len(line) <= 100 for line in student.splitlines())
    assert "# Task elementwise (see STUDENTS.md): the op.\n        raise" in student and "# Hint: a hint" in student
    namespace: dict = {}
    exec(student, namespace)  # noqa: S102 (our own generated stub)
    assert namespace["Op"].__doc__.startswith("y = tanh(x).")
    with pytest.raises(NotImplementedError, match="task sgd: helper is yours to write"):
        namespace["helper"](1.0)


@pytest.mark.parametrize(("source", "message"), [
    ("def f():\n    # BEGIN SOLUTION task=sgd\n    return 1\n    # END SOLUTION\n",
     "op.py:2: neither f nor its class has a docstring"),
    ('class A:\n    """A."""\n\n    def f(self):\n        # BEGIN SOLUTION task=sgd\n        return 1\n'
     "        # END SOLUTION\n\n    def g(self):\n        # BEGIN SOLUTION task=adam\n        return 1\n"
     "        # END SOLUTION\n", "op.py:10: A holds regions of tasks 'sgd' and 'adam'"),
])  # fmt: skip
def test_a_region_without_a_docstring_of_its_own_task_is_refused(source: str, message: str) -> None:
    with pytest.raises(RegionError, match=re.escape(message)):
        docstring_owners(source, find_regions(source, "op.py", BY_ID))


# ----------------------------------------------------------------------------- answers.md


def test_the_answers_template_has_one_heading_per_task_and_reads_back_empty(copies: dict[str, Path]) -> None:
    copy = copies["full"]
    template = (copy / "answers.md").read_text()
    assert re.findall(r"^## (\w+)$", template, flags=re.MULTILINE) == ALL
    assert read_answers(copy, ALL) == {}
    (copy / "answers.md").write_text(template.replace("## sgd\n", "## sgd\n\nWeight decay before momentum...\n"))
    try:
        assert read_answers(copy, ALL) == {"sgd": "Weight decay before momentum..."}
    finally:
        (copy / "answers.md").write_text(template)


def test_read_answers_takes_each_tasks_section_and_ignores_the_rest(tmp_path: Path) -> None:
    (tmp_path / "answers.md").write_text(
        "# My answers\nintro, before any heading\n"
        "## `SGD`: the step\nFirst answer.\n### Question 2\nSecond, with a sub-heading.\n"
        "## bogus\nnot a task: ignored\n"
        "## dropout\n```\n## adam\n```\nThe fence's heading is text.\n"
        "## notes for me\nignored too\n"
        "## sgd\nMore for sgd.\n"
        "## adam\n\n\n"
    )
    assert read_answers(tmp_path, ["sgd", "dropout", "adam"]) == {
        "sgd": "First answer.\n### Question 2\nSecond, with a sub-heading.\n\nMore for sgd.",
        "dropout": "```\n## adam\n```\nThe fence's heading is text.",
    }  # adam's section is empty: no answer
    assert read_answers(tmp_path, ["lstm"]) == {}
    assert read_answers(tmp_path / "nowhere", ["sgd"]) == {}


def test_read_answers_treats_the_file_as_untrusted(tmp_path: Path) -> None:
    (tmp_path / "answers.md").write_bytes(
        b"## sgd\nbad \xff\xfe bytes, an escape \x1b[2J and a bidi \xe2\x80\xae mark\r\n"
        b"$(touch pwned) {__import__('os').system('touch pwned')}\n"
    )
    answer = read_answers(tmp_path, ["sgd"])["sgd"]
    assert answer == "bad \ufffd\ufffd bytes, an escape [2J and a bidi  mark\n" \
        "$(touch pwned) {__import__('os').system('touch pwned')}"  # fmt: skip
    assert not (tmp_path / "pwned").exists()
    long = "## sgd\n" + "a long answer. " * (2 * LIMIT // 15) + "\n## adam\nafter the cut\n"
    (tmp_path / "answers.md").write_text(long)
    answers = read_answers(tmp_path, ["sgd", "adam"])
    assert list(answers) == ["sgd"] and answers["sgd"].endswith("\n\n" + CUT_NOTE) and len(answers["sgd"]) < LIMIT + 100


def test_read_answers_reads_no_link_folder_or_pipe(tmp_path: Path) -> None:
    secret = tmp_path / "instructor" / "solutions.md"
    secret.parent.mkdir()
    secret.write_text("## sgd\nthe instructor's notes\n")
    for i, kind in enumerate(["link", "folder", "pipe"]):
        root = tmp_path / f"submission{i}"
        root.mkdir()
        if kind == "link":
            (root / "answers.md").symlink_to(secret)
        elif kind == "folder":
            (root / "answers.md").mkdir()
        elif hasattr(os, "mkfifo"):
            os.mkfifo(root / "answers.md")  # reading a pipe nobody writes to would block forever
        assert read_answers(root, ["sgd"]) == {}, kind


# ----------------------------------------------------------------------------- grading is the same at every level


@pytest.mark.parametrize("level", ["outline", "none"])
def test_a_fresh_copy_scores_zero_and_one_task_written_earns_its_points_at_every_level(
    level: str, tmp_path: Path
) -> None:
    copy = tmp_path / "copy"
    tasks = ["backward", "softmax", "dropout"]
    make(copy, tasks, hints=level)
    assert {t.id: t.earned for t in grade(copy, tasks, jobs=2, seed=7).tasks} == dict.fromkeys(tasks, 0)
    file = "tinyllm/ops/softmax.py"  # softmax's code back (the file holds no other task's region)
    (copy / file).write_text(render((ROOT / file).read_text(), REGIONS[file], set(), {}))
    (copy / "answers.md").write_text("## softmax\nexp(x - m) / sum exp(x - m): the factor exp(-m) cancels.\n")
    report = grade(copy, tasks, jobs=2, seed=7)
    assert {t.id: t.earned for t in report.tasks} == {"backward": 0, "softmax": BY_ID["softmax"].points, "dropout": 0}
    # the answers are listed for the instructor, not scored
    assert report.answers == {"softmax": "exp(x - m) / sum exp(x - m): the factor exp(-m) cancels."}
