"""tinyllm installs like a real package: the wheel, built from the source distribution, works alone.

The wheel goes into a fresh virtual environment, and its ``tinyllm`` command runs from a folder
outside the checkout with nothing of the checkout on the path: ``--version``, the lesson list, and
lesson 00 (quick, then full), whose figures must land under the temporary or the current folder,
never inside the installation. The environment borrows the test run's NumPy, Matplotlib and tqdm
through a ``.pth`` line instead of downloading them; that line adds folders to the path without
running their ``.pth`` files, so an editable install of the checkout stays invisible (asserted).
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest

import tinyllm as tl
from tinyllm import lessons

pytestmark = [pytest.mark.slow, pytest.mark.skipif(os.name == "nt", reason="reads a POSIX console script")]

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted(p.name for p in (ROOT / "lessons").glob("[0-9][0-9]_*.py"))


def _clean_env() -> dict[str, str]:
    """This process's environment without the checkout on the path (pytest runs may set PYTHONPATH)."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}


def _run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = _clean_env() if env is None else env
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, f"{command}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``python -m build``: the sdist, then the wheel built from it (so the sdist must carry the lessons)."""
    pytest.importorskip("build", reason="the dev extra's `build` is not installed")
    out = tmp_path_factory.mktemp("dist")
    egg_info, existed = ROOT / "tinyllm.egg-info", (ROOT / "tinyllm.egg-info").exists()
    try:
        _run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)], cwd=ROOT)
    finally:  # the sdist step leaves its metadata in the checkout, where it would pass for an installed tinyllm
        if not existed:
            shutil.rmtree(egg_info, ignore_errors=True)
    return out


@pytest.fixture(scope="module")
def installed(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with the wheel installed; returns its bin folder."""
    home = tmp_path_factory.mktemp("venv")
    venv.create(home)  # without pip of its own: this run's pip installs into it (--python), which is quicker
    bin_dir = home / ("Scripts" if os.name == "nt" else "bin")
    python = bin_dir / "python"
    wheel = next(dist.glob("tinyllm-*.whl"))
    pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps", "--no-index"]
    _run([*pip, str(wheel)], cwd=home)
    # after the install, or pip would take the borrowed folders' tinyllm for this one
    purelib = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], cwd=home)
    (Path(purelib.stdout.strip()) / "borrowed.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    return bin_dir


@pytest.fixture
def outside(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A working folder outside the checkout, and an environment without the checkout on the path,
    whose temporary folder is inside that working folder."""
    env = _clean_env()
    (tmp_path / "tmp").mkdir()
    env.update(TMPDIR=str(tmp_path / "tmp"), MPLBACKEND="Agg")
    work = tmp_path / "work"
    work.mkdir()
    return work, env


def test_the_wheel_carries_the_lessons_the_license_and_the_metadata(dist: Path) -> None:
    wheel = zipfile.ZipFile(next(dist.glob("tinyllm-*.whl")))
    names = wheel.namelist()
    assert sorted(n.split("/")[-1] for n in names if n.startswith("tinyllm/lesson_scripts/")) == LESSONS
    assert {"tinyllm/py.typed", "tinyllm/pytorch_names.txt"} <= set(names)
    info = f"tinyllm-{tl.__version__}.dist-info"
    assert wheel.read(f"{info}/licenses/LICENSE") == (ROOT / "LICENSE").read_bytes()
    metadata = wheel.read(f"{info}/METADATA").decode()
    assert "License-Expression: MIT" in metadata and "Classifier: Typing :: Typed" in metadata
    sdist = tarfile.open(next(dist.glob("tinyllm-*.tar.gz")))
    assert {f"tinyllm-{tl.__version__}/lessons/{name}" for name in LESSONS} <= set(sdist.getnames())


def test_the_installed_command_runs_a_lesson_outside_the_checkout(installed: Path, outside) -> None:
    work, env = outside
    tinyllm = str(installed / "tinyllm")
    where = _run([str(installed / "python"), "-c", "import tinyllm; print(tinyllm.__file__)"], cwd=work, env=env)
    assert Path(where.stdout.strip()).is_relative_to(installed.parent), "the checkout's tinyllm was imported"
    assert Path(tinyllm).read_text().splitlines()[0] == f"#!{installed / 'python'}", "the command runs another Python"
    assert _run([tinyllm, "--version"], cwd=work, env=env).stdout.strip() == f"tinyllm {tl.__version__}"
    assert _run([tinyllm, "lessons", "--list"], cwd=work, env=env).stdout.split() == [n[:-3] for n in LESSONS]

    done = _run([tinyllm, "lessons", "--quick", "00"], cwd=work, env=env)
    assert "00_autograd" in done.stdout and "ok" in done.stdout
    assert list((Path(env["TMPDIR"]) / "tinyllm-quick-figures" / "00_autograd").glob("*.png"))

    _run([tinyllm, "lessons", "00"], cwd=work, env=env)  # a full run: figures under the current folder
    assert list((work / "figures" / "00_autograd").glob("*.png"))
    assert not list(installed.parent.rglob("*.png")), "a lesson wrote a figure inside the installation"


def test_the_checkout_still_finds_its_own_lessons() -> None:
    assert not lessons.INSTALLED and lessons.LESSONS_DIR == ROOT / "lessons"
    assert [p.name for p in lessons.available()] == LESSONS
    assert lessons.figures_dir() == ROOT / "figures"
