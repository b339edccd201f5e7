"""README's code runs as written."""

from __future__ import annotations

import re

from tinyllm import lessons


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", (lessons.ROOT / "README.md").read_text(), flags=re.S)


def test_readme_workflow_example_runs_and_reaches_near_the_known_best(capsys) -> None:
    block = next(b for b in _python_blocks() if "synthetic_sentiment(" in b)
    exec(compile(block, "README.md", "exec"), {})  # noqa: S102 (README's own example)
    result = eval(capsys.readouterr().out.strip().splitlines()[-1])  # noqa: S307 (the dict it printed)
    assert result["accuracy"] > 0.9


def test_readme_first_example_runs() -> None:
    exec(compile(_python_blocks()[0], "README.md", "exec"), {})  # noqa: S102


def test_readme_tokenizer_example_runs() -> None:
    block = next(b for b in _python_blocks() if "BPETokenizer.fit(" in b)
    exec(compile(block, "README.md", "exec"), {})  # noqa: S102 (README's own example)


def test_readme_example_of_fit_on_input_target_pairs_learns(capsys) -> None:
    block = next(b for b in _python_blocks() if "tl.nn.Linear(4, 2)" in b)
    exec(compile(block, "README.md", "exec"), {})  # noqa: S102 (README's own example)
    result = eval(capsys.readouterr().out.strip().splitlines()[-1])  # noqa: S307 (the dict it printed)
    assert result["accuracy"] > 0.9
