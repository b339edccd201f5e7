"""Every lesson runs as a notebook in a real Jupyter kernel (quick) and its closing assertions hold;
one runs as a script too; ``tinyllm lessons`` finds them and ``tinyllm notebooks`` writes them."""

from __future__ import annotations

import base64
import json
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import tinyllm as tl
from tinyllm import cli, lessons

LESSONS = lessons.available()
KERNEL = "tinyllm-tests"


@pytest.fixture(scope="module")
def kernels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A kernelspec folder whose one kernel is this interpreter's ipykernel, whatever ``python3`` names elsewhere."""
    pytest.importorskip("nbclient", reason='the notebook tests need the dev extra (pip install -e ".[dev]")')
    pytest.importorskip("ipykernel", reason='the notebook tests need the dev extra (pip install -e ".[dev]")')
    folder = tmp_path_factory.mktemp("kernels")
    (folder / KERNEL).mkdir()
    spec = {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "tinyllm tests", "language": "python"}  # fmt: skip
    (folder / KERNEL / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    return folder


def run_in_kernel(notebook, kernels: Path, cwd: Path) -> None:
    """Execute ``notebook`` in place in a fresh kernel; a cell that raises fails the test with its traceback."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    manager = KernelManager(kernel_name=KERNEL, kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernels)]))
    client = NotebookClient(notebook, km=manager, timeout=300, resources={"metadata": {"path": str(cwd)}})
    try:
        client.execute()
    except CellExecutionError as error:
        pytest.fail(f"a cell failed in the kernel:\n{str(error)[-4000:]}")
    finally:  # nbclient leaves a kernel it was handed running: stop it, or each test leaves one behind
        if manager.has_kernel:
            manager.shutdown_kernel(now=True)


@pytest.mark.parametrize("script", LESSONS, ids=[p.stem for p in LESSONS])
def test_lesson_runs_as_a_notebook_in_a_kernel_quick_and_its_assertions_hold(
    script: Path, kernels: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import nbformat

    figures = tmp_path / "figures"
    monkeypatch.setenv(lessons.ENV_ARGS, f"--out {shlex.quote(str(figures))}")  # no --quick: a kernel's default
    notebook = lessons.to_notebook(script)
    notebook.cells.append(nbformat.v4.new_code_cell(  # the kernel ran quick, this interpreter, this tinyllm
        f"import sys, tinyllm\nassert args.quick and args.out.name == 'figures'\n"
        f"assert sys.executable == {sys.executable!r} and tinyllm.__file__ == {tl.__file__!r}"
    ))  # fmt: skip
    run_in_kernel(notebook, kernels, tmp_path)
    saved = sorted(figures.glob("*.png"))
    assert saved, "a lesson draws at least one figure"
    inline = [
        "".join(output["data"]["image/png"].split())
        for cell in notebook.cells if cell.cell_type == "code"
        for output in cell.outputs if "image/png" in output.get("data", {})
    ]  # fmt: skip
    for path in saved:  # the very PNG written is what the notebook shows, under the cell that drew it
        assert inline.count(base64.b64encode(path.read_bytes()).decode()) == 1, f"{path.name} shown inline once"


def test_a_lesson_runs_as_a_script_too(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(lessons.find("00")), "--quick", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert list(tmp_path.glob("*.png")), "a lesson draws at least one figure"


def test_the_gpt_lesson_trains_on_a_text_file_passed_with_text(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("to be or not to be, that is the question. " * 200, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(lessons.find("gpt")), "--quick", "--text", str(corpus), "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=300, cwd=lessons.ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "temperature 1.0" in done.stdout


def test_in_a_kernel_options_come_from_the_environment_quick_unless_full(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tl.runtime, "in_notebook", lambda: True)
    monkeypatch.setattr(sys, "argv", ["ipykernel_launcher.py", "-f", "kernel.json"])
    monkeypatch.delenv(lessons.ENV_ARGS, raising=False)
    quick = lessons.options("00_autograd")
    assert quick.quick and quick.seed == 0
    assert quick.out == Path(tempfile.gettempdir()) / "tinyllm-quick-figures" / "00_autograd"  # not figures/
    monkeypatch.setenv(lessons.ENV_ARGS, "--full --seed 2")
    full = lessons.options("00_autograd")
    assert not full.quick and full.seed == 2 and full.out == lessons.figures_dir() / "00_autograd"
    assert lessons.options("00_autograd", ["--seed", "1"]).quick  # argv replaces the variable, quick still default
    monkeypatch.setattr(tl.runtime, "in_notebook", lambda: False)
    assert not lessons.options("00_autograd", []).quick  # a script runs in full unless --quick


def test_a_lesson_chooses_its_default_blas_threads_and_the_command_line_overrides_it() -> None:
    before = tl.runtime.get_num_threads()
    try:
        assert lessons.options("11_multistep", [], threads=2).threads == 2 and tl.runtime.get_num_threads() == 2
        assert lessons.options("11_multistep", ["--threads", "1"], threads=2).threads == 1
        assert tl.runtime.get_num_threads() == 1 and lessons.options("00_autograd", []).threads == 1
    finally:
        tl.runtime.set_num_threads(before)


def test_tinyllm_notebooks_writes_one_notebook_per_lesson_and_keeps_existing_ones(tmp_path: Path, capsys) -> None:
    pytest.importorskip("jupytext", reason='tinyllm notebooks needs jupytext (pip install "tinyllm[notebooks]")')
    import nbformat

    mine = tmp_path / LESSONS[0].with_suffix(".ipynb").name
    mine.write_text("my work", encoding="utf-8")
    other = tmp_path / "notes.ipynb"
    other.write_text("not a lesson", encoding="utf-8")
    assert cli.main(["notebooks", str(tmp_path)]) == 0
    assert sorted(p.stem for p in tmp_path.glob("*.ipynb")) == sorted([p.stem for p in LESSONS] + ["notes"])
    assert mine.read_text(encoding="utf-8") == "my work" and other.read_text(encoding="utf-8") == "not a lesson"
    assert f"kept     {mine} (it exists: --force replaces it)" in capsys.readouterr().out
    second = tmp_path / LESSONS[1].with_suffix(".ipynb").name
    notebook = nbformat.read(second, as_version=4)
    assert notebook.metadata.kernelspec.name == "python3"
    assert any(c.cell_type == "markdown" for c in notebook.cells)
    assert any(f'lessons.options("{LESSONS[1].stem}")' in c.source for c in notebook.cells if c.cell_type == "code")
    assert cli.main(["notebooks", str(tmp_path), "--lessons", LESSONS[0].stem[:2], "--force"]) == 0
    assert nbformat.read(mine, as_version=4).cells and other.read_text(encoding="utf-8") == "not a lesson"


def test_tinyllm_notebooks_without_jupytext_names_the_extra(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setitem(sys.modules, "jupytext", None)  # as if it were not installed
    assert cli.main(["notebooks", str(tmp_path)]) == 1
    assert capsys.readouterr().err.strip() == (
        'tinyllm notebooks: error: the notebooks need jupytext: pip install "tinyllm[notebooks]"'
    )
    assert not list(tmp_path.iterdir())


def test_tinyllm_lessons_lists_every_lesson(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["lessons", "--list"]) == 0
    assert capsys.readouterr().out.split() == [p.stem for p in LESSONS]


def test_a_lesson_is_found_by_number_or_name() -> None:
    first = LESSONS[0]
    assert lessons.find(first.stem[:2]) == first == lessons.find(first.stem[3:])
    with pytest.raises(LookupError, match="no single lesson matches 'nope'"):
        lessons.find("nope")


@pytest.mark.parametrize("script", LESSONS, ids=[p.stem for p in LESSONS])
def test_a_lesson_names_itself_so_it_needs_no_file_and_runs_in_a_notebook_kernel(script) -> None:
    assert re.search(rf'args = lessons\.options\("{script.stem}"[,)]', script.read_text(encoding="utf-8"))


def test_the_gallery_shows_every_lesson_and_links_only_figures_that_exist() -> None:
    gallery = (lessons.ROOT / "lessons" / "README.md").read_text(encoding="utf-8")
    shown = re.findall(r'<img src="\.\./(figures/[^"]+)"', gallery)
    linked = re.findall(r"\]\(\.\./(figures/[^)]+)\)", gallery)
    assert sorted(p.split("/")[1] for p in shown) == [p.stem for p in LESSONS]  # one thumbnail per lesson
    assert set(shown) <= set(linked)
    for path in linked:
        assert (lessons.ROOT / path).is_file(), path
    committed = {p.relative_to(lessons.ROOT).as_posix() for p in (lessons.ROOT / "figures").glob("*/*.png")}
    assert committed == set(linked), "every committed figure is in the gallery, and only those"


def test_every_lesson_ends_with_exercises_whose_answers_live_apart() -> None:
    for script in LESSONS:
        text = script.read_text(encoding="utf-8")
        exercises = text[text.index("## Exercises"):]
        assert len(re.findall(r"^# \d\. ", exercises, flags=re.M)) >= 3, script.stem
        assert (lessons.ROOT / "lessons" / "solutions" / f"{script.stem}.md").is_file(), script.stem
