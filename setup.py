"""The one build step pyproject.toml cannot declare: the wheel carries the lessons.

The lesson scripts live in ``lessons/`` at the top of the checkout, where ``python
lessons/00_autograd.py`` runs them. The wheel gets a copy of them in
``tinyllm/lesson_scripts/``, where ``tinyllm lessons`` finds them once tinyllm is installed
from it. An editable install skips the copy: its ``tinyllm lessons`` runs the checkout's.
Everything else about the build is in pyproject.toml.
"""

from __future__ import annotations

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

LESSONS = Path(__file__).resolve().parent / "lessons"


class BuildWithLessons(build_py):
    """setuptools' build_py, then the lesson scripts copied into the built package."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        target = Path(self.build_lib) / "tinyllm" / "lesson_scripts"
        self.mkpath(str(target))
        for script in sorted(LESSONS.glob("[0-9][0-9]_*.py")):
            self.copy_file(str(script), str(target / script.name))


setup(cmdclass={"build_py": BuildWithLessons})
