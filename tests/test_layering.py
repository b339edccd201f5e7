"""tinyllm's layers only look down, and private names stay home.

Data flows up through the package: the backend knows NumPy from CuPy; the engine
(tensor, autograd, ops) builds on it; fused ops and ``nn.functional`` on the engine;
layers on those; models on layers. Optimizers, data and metrics use only the engine,
so they work with any model. Training and search sit above all of them; lessons,
assignments, benchmarks and the command line on top. This test reads every module's
imports (with ``ast``, without running them) and fails on an import that points up.

It also fails on a private name (``_name``) used outside its home: a subpackage
(``tinyllm.nn``, ``tinyllm.ops``, ...) shares its private names among its own modules;
a top-level module (``tinyllm/train.py``) keeps them to itself.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "tinyllm"
LESSONS = PACKAGE.parent / "lessons"

#: Each part of the package and its level; a module may import from its own level and below.
LEVELS: dict[str, int] = {
    "backend": 0,
    "runtime": 0,
    "cuda": 0,
    "tensor": 1,
    "autograd": 1,
    "ops": 2,
    "creation": 2,
    "serialization": 2,
    "interop": 2,
    "utils": 5,
    "gradcheck": 2,
    "fused": 3,
    "nn.functional": 3,
    "nn": 4,
    "models": 5,
    "optim": 5,
    "data": 5,
    "metrics": 5,
    "steps": 6,
    "history": 6,
    "evaluation": 6,
    "train": 6,
    "tune": 6,
    "plot": 6,
    "lessons": 7,
    "assignment": 7,
    "bench": 7,
    "bench_gpt": 7,
    "bench_sweep": 7,
    "cli": 7,
    "coverage": 7,
    "demo": 7,
    "__main__": 7,
    "": 7,  # the package itself: ``import tinyllm`` loads everything
}

#: Parts that build on the engine alone (levels 0-2), whatever their own level says.
ENGINE_ONLY = {"optim", "data", "metrics"}

#: Tensor's methods call the ops, which build on Tensor: tensor.py imports them at its end.
#: This is the one import that points up, on purpose.
ALLOWED_UPWARD = {("tensor", "ops")}


def part_of(module: str) -> str:
    """The part of the package a dotted module name (``tinyllm.nn.functional.layers``) belongs to."""
    names = module.split(".")[1:]
    if names[:2] == ["nn", "functional"]:
        return "nn.functional"
    return names[0] if names else ""


def home_of(module: str, is_package: bool) -> str:
    """Where a module's private names may be used: its subpackage, or the module alone if it is
    a top-level module of tinyllm."""
    package = module if is_package else module.rsplit(".", 1)[0]
    return module if package == "tinyllm" else package


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def known_modules() -> set[str]:
    return {module_name(p) for p in PACKAGE.rglob("*.py")}


def imports_of(source: str, module: str, modules: set[str]) -> list[tuple[int, str, str]]:
    """``(line, imported module, imported name or "")`` for each tinyllm import in ``source``.

    ``from tinyllm import nn`` imports the module ``tinyllm.nn``; ``from tinyllm.nn import
    Linear`` imports the name ``Linear`` from ``tinyllm.nn``.
    """
    found: list[tuple[int, str, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name, "") for a in node.names if a.name.split(".")[0] == "tinyllm"]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] != "tinyllm":
                continue
            for a in node.names:
                child = f"{node.module}.{a.name}"
                found.append((node.lineno, child, "") if child in modules else (node.lineno, node.module, a.name))
    return found


def layering_violations(source: str, module: str, modules: set[str]) -> list[str]:
    """Every import in ``source`` (the text of ``module``) that points to a higher layer."""
    part = part_of(module)
    ceiling = 2 if part in ENGINE_ONLY else LEVELS[part]
    problems = []
    for line, target, _ in imports_of(source, module, modules):
        other = part_of(target)
        if other != part and LEVELS[other] > ceiling and (part, other) not in ALLOWED_UPWARD:
            problems.append(
                f"{module}:{line} imports {target} ({other!r}, level {LEVELS[other]}) "
                f"from {part!r}, which may use levels up to {ceiling}"
            )
    return problems


def private_violations(source: str, module: str, modules: set[str], is_package: bool = False) -> list[str]:
    """Every private name that ``source`` takes from a tinyllm module outside its home."""
    home = home_of(module, is_package)
    problems = []
    uses = imports_of(source, module, modules) + private_attribute_uses(source, modules)
    for line, target, name in uses:
        private = name.startswith("_") or any(p.startswith("_") for p in target.split(".")[1:])
        target_home = home_of(target, target not in modules or _is_package(target))
        if private and not name.startswith("__") and target_home != home:
            dotted = f"{target}.{name}" if name else target
            problems.append(f"{module}:{line} uses the private {dotted} from outside its home")
    return problems


def private_attribute_uses(source: str, modules: set[str]) -> list[tuple[int, str, str]]:
    """``(line, module, name)`` for each ``alias._name`` where ``alias`` names a tinyllm module
    (``import tinyllm as tl`` then ``tl.metrics._host``, or ``from tinyllm import metrics``)."""
    tree = ast.parse(source)
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "tinyllm":
                    aliases[a.asname or a.name.split(".")[0]] = a.name if a.asname else "tinyllm"
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module in modules:
            for a in node.names:
                if f"{node.module}.{a.name}" in modules:
                    aliases[a.asname or a.name] = f"{node.module}.{a.name}"

    def module_of(expr: ast.expr) -> str | None:
        if isinstance(expr, ast.Name):
            return aliases.get(expr.id)
        if isinstance(expr, ast.Attribute):
            outer = module_of(expr.value)
            if outer is not None and f"{outer}.{expr.attr}" in modules:
                return f"{outer}.{expr.attr}"
        return None

    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            owner = module_of(node.value)
            if owner is not None:
                found.append((node.lineno, owner, node.attr))
    return found


def _is_package(module: str) -> bool:
    return (PACKAGE.parent / module.replace(".", "/") / "__init__.py").exists()


def package_sources() -> list[tuple[str, str, bool]]:
    return [(module_name(p), p.read_text(), p.name == "__init__.py") for p in sorted(PACKAGE.rglob("*.py"))]


def test_every_part_of_the_package_has_a_level() -> None:
    modules = known_modules()
    assert {part_of(m) for m in modules} <= set(LEVELS)


def test_no_module_imports_from_a_layer_above_it() -> None:
    modules = known_modules()
    problems = [p for name, source, _ in package_sources() for p in layering_violations(source, name, modules)]
    assert problems == [], "\n".join(problems)


def test_no_private_name_leaves_its_subpackage() -> None:
    modules = known_modules()
    problems = [
        p for name, source, is_pkg in package_sources() for p in private_violations(source, name, modules, is_pkg)
    ]
    assert problems == [], "\n".join(problems)


def test_lessons_use_only_public_names() -> None:
    modules = known_modules()
    problems = []
    for path in sorted(LESSONS.glob("*.py")):
        source = path.read_text()
        problems += private_violations(source, f"lessons.{path.stem}", modules)
        tree = ast.parse(source)
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
                problems.append(f"{path.name}:{node.lineno} reads the private attribute .{node.attr}")
            if isinstance(node, ast.Name) and node.id == "__import__":
                problems.append(f"{path.name}:{node.lineno} calls __import__")
    assert problems == [], "\n".join(problems)


# ----------------------------------------------------------------------------- the checks catch what they should


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("tinyllm.ops.elementwise", "from tinyllm.nn import Linear\n"),
        ("tinyllm.ops.shape", "from tinyllm import nn\n"),
        ("tinyllm.backend", "import tinyllm.tensor\n"),
        ("tinyllm.optim.sgd", "from tinyllm.nn.module import Module\n"),
        ("tinyllm.data.loader", "from tinyllm.fused import Attention\n"),
        ("tinyllm.nn.functional.layers", "from tinyllm.nn.layers import Linear\n"),
        ("tinyllm.models.gpt", "from tinyllm.train import fit\n"),
        ("tinyllm.autograd", "import tinyllm as tl\n"),
    ],
)
def test_an_upward_import_is_caught(module: str, source: str) -> None:
    assert len(layering_violations(source, module, known_modules())) == 1


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("tinyllm.nn.functional.attention", "from tinyllm.ops import softmax\n"),
        ("tinyllm.optim.sgd", "from tinyllm.tensor import Tensor\n"),
        ("tinyllm.tensor", "from tinyllm import autograd, ops\n"),
        ("tinyllm.train", "from tinyllm.models import GPT\n"),
    ],
)
def test_a_downward_import_passes(module: str, source: str) -> None:
    assert layering_violations(source, module, known_modules()) == []


@pytest.mark.parametrize(
    ("module", "source", "caught"),
    [
        ("tinyllm.nn.rnn", "from tinyllm.tensor import _new_tensor\n", True),
        ("tinyllm.train", "from tinyllm.tensor import _new_tensor\n", True),
        ("tinyllm.models.gpt", "from tinyllm.nn.layers import _empty\n", True),
        ("tinyllm.nn.rnn", "from tinyllm.nn.layers import _empty\n", False),
        ("tinyllm.nn.functional.attention", "from tinyllm.nn.functional.layers import _check_p\n", False),
        ("tinyllm.ops.shape", "from tinyllm.ops.arguments import dim_index\n", False),
        ("tinyllm.train", "from tinyllm import metrics as m\nm._host(1)\n", True),
        ("tinyllm.train", "import tinyllm as tl\ntl.backend._cupy\n", True),
        ("tinyllm.nn.rnn", "import tinyllm.nn.layers as layers\nlayers._empty(1)\n", False),
    ],
)
def test_a_private_name_is_caught_only_outside_its_home(module: str, source: str, caught: bool) -> None:
    assert bool(private_violations(source, module, known_modules())) == caught
