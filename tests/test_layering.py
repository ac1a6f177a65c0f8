"""The package layering from DEVELOPERS.md, checked on every module's imports.

``api → cel → allocator → controlplane → node → drivers → cli``: a layer imports only layers to its
left, and node and drivers never import controlplane (they must run against a real cluster, talking
HTTP). Read with ``ast`` rather than by importing, so lazy imports inside functions and imports under
``TYPE_CHECKING`` count too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE_ROOT = Path(__file__).resolve().parent.parent / "kubedra"

ORDER = ("api", "cel", "allocator", "controlplane", "node", "drivers", "cli")
# Layers a layer must not import although they stand to its left.
FORBIDDEN_EXTRA = {"node": {"controlplane"}, "drivers": {"controlplane"}}
# Packages outside the chain, placed by what they may use: the conformance runners drive the
# allocator and CEL engine directly; the top-level package is the CLI entry point.
ALLOWED_OUTSIDE_CHAIN = {"conformance": {"api", "cel", "allocator", "conformance"}, "": set(ORDER)}


def allowed_layers(layer: str) -> set[str]:
    if layer in ALLOWED_OUTSIDE_CHAIN:
        return ALLOWED_OUTSIDE_CHAIN[layer] | {layer}
    if layer not in ORDER:
        raise AssertionError(
            f"kubedra.{layer} has no place in the layering: add it to tests/test_layering.py"
        )
    return set(ORDER[: ORDER.index(layer) + 1]) - FORBIDDEN_EXTRA.get(layer, set())


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> str:
    """The subpackage of kubedra a module belongs to (``kubedra.cel.parser`` → ``cel``)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def imported_modules(root: Path, path: Path) -> list[tuple[int, str]]:
    """Every kubedra module ``path`` imports, relative imports resolved, with its line number."""
    this = module_name(root, path)
    package = this if path.name == "__init__.py" else this.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            # ``from kubedra import cel`` names a layer in the alias, not the module.
            if target == "kubedra":
                found.extend((node.lineno, f"kubedra.{alias.name}") for alias in node.names)
            else:
                found.append((node.lineno, target))
    # The bare ``kubedra`` package only holds the version, so any layer may import it.
    return [(line, name) for line, name in found if name.startswith("kubedra.")]


def upward_imports(root: Path) -> list[str]:
    problems = []
    for path in sorted(root.rglob("*.py")):
        if path.name.endswith(("_pb2.py", "_pb2_grpc.py")):
            continue
        layer = layer_of(module_name(root, path)) if path.parent != root else ""
        allowed = allowed_layers(layer)
        for line, target in imported_modules(root, path):
            if layer_of(target) not in allowed:
                problems.append(
                    f"{path.relative_to(root.parent)}:{line}: {layer or 'kubedra'} imports {target}"
                )
    return problems


def test_no_module_imports_a_layer_above_its_own() -> None:
    problems = upward_imports(PACKAGE_ROOT)
    assert not problems, "upward imports:\n" + "\n".join(problems)


@pytest.mark.parametrize(
    ("layer_dir", "source", "offending"),
    [
        ("api", "from kubedra.cel import compile_selector\n", "kubedra.cel"),
        ("cel", "def f():\n    import kubedra.allocator.search\n", "kubedra.allocator.search"),
        ("node", "from kubedra.controlplane.client import Client\n", "kubedra.controlplane.client"),
        ("drivers", "from kubedra import cli\n", "kubedra.cli"),
        ("controlplane", "from ...node import kubelet\n", "kubedra.node"),
    ],
)
def test_the_check_finds_an_upward_import(
    tmp_path: Path, layer_dir: str, source: str, offending: str
) -> None:
    """The checker itself can fail: plant one upward import per rule in a scratch tree."""
    pkg = tmp_path / "kubedra" / layer_dir / "sub"
    pkg.mkdir(parents=True)
    (pkg / "mod.py").write_text(source)
    problems = upward_imports(tmp_path / "kubedra")
    assert len(problems) == 1 and problems[0].endswith(f"imports {offending}"), problems


def test_the_root_package_imports_no_layer() -> None:
    """Every layer may ``import kubedra`` (for ``__version__``), so kubedra/__init__.py must stay leaf."""
    assert imported_modules(PACKAGE_ROOT, PACKAGE_ROOT / "__init__.py") == []


def test_downward_and_same_layer_imports_pass(tmp_path: Path) -> None:
    pkg = tmp_path / "kubedra" / "drivers"
    pkg.mkdir(parents=True)
    (pkg / "mod.py").write_text(
        "from kubedra.api import resource\nfrom kubedra.node.plugin import sdk\nfrom . import other\nimport json\n"
    )
    assert upward_imports(tmp_path / "kubedra") == []
