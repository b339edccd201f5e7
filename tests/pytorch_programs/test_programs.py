"""PyTorch tutorial programs run on tinyllm with only their imports changed.

Each program in this folder is written the way PyTorch tutorials write it, and ends
by setting ``result``, a dict of what it measured. It runs twice: as written, on
PyTorch, and with its import lines swapped (``import torch`` -> ``import tinyllm as
torch``, ``from torch.utils.data import`` -> ``from tinyllm.utils.data import``, ...)
and nothing else changed, on tinyllm. Programs that start from the same weights (set
from a seeded NumPy generator) must produce the same losses to float32 tolerance;
programs whose randomness differs between the frameworks (shuffling, sampling) must
learn as much on both.
"""

from __future__ import annotations

import contextlib
import functools
import io
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tinyllm

HERE = Path(__file__).resolve().parent

#: How each import line of a PyTorch program is rewritten for tinyllm; no other line changes.
IMPORT_SWAPS = [
    (re.compile(r"^import torch$"), "import tinyllm as torch"),
    (re.compile(r"^import torch\.([\w.]+) as (\w+)$"), r"import tinyllm.\1 as \2"),
    (re.compile(r"^from torch(\.[\w.]+)? import "), r"from tinyllm\1 import "),
]


def swap_imports(source: str) -> str:
    """The program with every import of torch rewritten to import tinyllm, and nothing else changed."""
    lines = []
    for line in source.splitlines():
        for pattern, replacement in IMPORT_SWAPS:
            if pattern.match(line):
                line = pattern.sub(replacement, line)
                break
        else:
            if re.match(r"^\s*(import|from)\s+torch\b", line):
                raise ValueError(f"an import of torch this test cannot swap: {line!r}")
        lines.append(line)
    return "\n".join(lines) + "\n"


@functools.cache
def run(name: str, framework: str) -> dict[str, Any]:
    """Run a program on "torch" or "tinyllm" and return its ``result``."""
    path = HERE / f"{name}.py"
    source = path.read_text(encoding="utf-8")
    if framework == "tinyllm":
        source = swap_imports(source)
    namespace: dict[str, Any] = {"__name__": f"program_{name}"}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(source, str(path), "exec"), namespace)  # noqa: S102 - our own test programs
    if framework == "tinyllm":
        assert namespace["torch"] is tinyllm  # really ran on tinyllm
    return namespace["result"]


def close(ours: Any, theirs: Any, rtol: float = 1e-3, atol: float = 1e-4) -> None:
    np.testing.assert_allclose(np.asarray(ours, dtype=float), np.asarray(theirs, dtype=float), rtol=rtol, atol=atol)


def falls(losses: list[float], by: float) -> bool:
    return losses[-1] < losses[0] * by


# Each program: what it must show on tinyllm alone, and how it must agree with PyTorch.


def learns_linear_regression(r: dict) -> None:
    assert r["losses"][-1] < 1e-3
    close(r["w"], [2.0, -1.0, 0.5], atol=0.02)


def learns_pos_tagger(r: dict) -> None:
    assert falls(r["losses"], 0.5)
    assert r["predicted"] == [0, 1, 2, 0, 1]  # DET NN V DET NN


def learns_bigram(r: dict) -> None:
    assert r["end"] < r["start"] - 1.0 and r["val"] < r["start"] - 1.0
    assert len(r["sample"]) == 51


def learns_mlp_dataloader(r: dict) -> None:
    assert r["sizes"] == [410, 102]  # PyTorch's rounding of 0.8 / 0.2 of 512
    assert falls(r["losses"], 0.5) and r["accuracy"] > 0.9


def learns_char_lstm(r: dict) -> None:
    assert r["end"] < r["start"] - 0.8
    assert len(r["sample"]) == 41


def learns_gru_classifier(r: dict) -> None:
    assert falls(r["losses"], 0.1) and r["accuracy"] == 1.0
    assert r["padded"] == [48, 8]


def learns_transformer_encoder(r: dict) -> None:
    assert falls(r["losses"], 0.1)


def learns_scheduler_clipping(r: dict) -> None:
    assert falls(r["losses"], 0.5)
    assert abs(max(r["lrs"]) - 0.2) < 1e-12 and r["lrs"][-1] < 0.2 / 10  # up to max_lr, then annealed far below
    assert max(r["norms"]) > 0.5  # clipping had something to clip


def learns_save_load(r: dict) -> None:
    assert r["same_output"]
    assert r["resumed"] == r["losses"][5:]  # resuming from the checkpoint continues exactly


LEARNS = {name.removeprefix("learns_"): check for name, check in globals().items() if name.startswith("learns_")}

#: Programs that start from the same weights in both frameworks: what must be equal.
SAME_NUMBERS = {
    "linear_regression": ["losses", "w", "b"],
    "pos_tagger": ["losses", "predicted"],
    "gru_classifier": ["losses", "accuracy"],
    "transformer_encoder": ["losses"],
    "scheduler_clipping": ["losses", "lrs", "norms"],
    "save_load": ["losses", "resumed"],
}
#: Programs whose randomness differs between the frameworks: what must agree in size.
SAME_SIZES = {"bigram": ["sample"], "mlp_dataloader": ["sizes"], "char_lstm": ["sample"]}


def test_every_program_has_a_check_and_a_comparison() -> None:
    programs = {p.stem for p in HERE.glob("*.py") if not p.stem.startswith("test_")}
    assert programs == set(LEARNS) == set(SAME_NUMBERS) | set(SAME_SIZES)
    assert len(programs) >= 8


def test_only_import_lines_change() -> None:
    source = "import torch\nimport torch.nn as nn\nfrom torch.nn import functional as F\nx = torch.zeros(2)  # torch\n"
    assert swap_imports(source) == (
        "import tinyllm as torch\nimport tinyllm.nn as nn\nfrom tinyllm.nn import functional as F\n"
        "x = torch.zeros(2)  # torch\n"
    )
    with pytest.raises(ValueError, match="cannot swap"):
        swap_imports("import torch, numpy\n")


@pytest.mark.parametrize("name", sorted(LEARNS))
def test_the_program_runs_on_tinyllm_and_learns(name: str) -> None:
    LEARNS[name](run(name, "tinyllm"))


@pytest.mark.parametrize("name", sorted(LEARNS))
def test_the_program_agrees_with_pytorch(name: str, torch: Any) -> None:
    theirs, ours = run(name, "torch"), run(name, "tinyllm")
    LEARNS[name](theirs)  # the checks hold for PyTorch too: they are about the program, not about tinyllm
    for key in SAME_NUMBERS.get(name, []):
        if isinstance(theirs[key], list) and all(isinstance(v, int) for v in theirs[key]):
            assert ours[key] == theirs[key], key
        else:
            close(ours[key], theirs[key])
    for key in SAME_SIZES.get(name, []):
        assert len(ours[key]) == len(theirs[key]) if isinstance(theirs[key], str) else ours[key] == theirs[key]
