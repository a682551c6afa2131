"""The import rules of DESIGN.md ("Parts and who may import whom"), checked on the source:

- ``attacker_sdk`` sees the victim only through HTTP: it never imports ``victim_service``
  or ``scenarios``, not even inside a function;
- ``victim_service`` never imports ``scenarios`` or ``attacker_sdk`` (it knows no dataset
  builder or attack); ``budgets`` imports no other package of ours;
- no import circle among module-level imports (imports guarded by ``TYPE_CHECKING`` are
  annotations only and do not count).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("budgets", "victim_service", "attacker_sdk", "scenarios")
FORBIDDEN = {
    "attacker_sdk": {"victim_service", "scenarios"},
    "victim_service": {"scenarios", "attacker_sdk"},
    "budgets": {"victim_service", "attacker_sdk", "scenarios"},
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING"
    )


def _imports(
    path: Path, module: str, top_level_only: bool, known: set[str] = frozenset()
) -> set[str]:
    """Absolute names imported by ``module`` (relative imports resolved). ``from X import y``
    counts as importing the submodule ``X.y`` when ``known`` has it, else ``X`` itself."""
    is_pkg = path.name == "__init__.py"
    package = module if is_pkg else module.rpartition(".")[0]
    out: set[str] = set()

    def visit(nodes) -> None:
        for node in nodes:
            if isinstance(node, ast.Import):
                out.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - (node.level - 1)]
                    base = ".".join(anchor + ([base] if base else []))
                subs = {f"{base}.{a.name}" for a in node.names}
                out.update(subs & known if subs <= known else subs | {base})
            elif isinstance(node, ast.If) and _is_type_checking(node):
                if not top_level_only:
                    visit(node.body)
                visit(node.orelse)
            elif top_level_only and isinstance(
                node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
            ):
                continue
            else:
                visit(ast.iter_child_nodes(node))

    visit(ast.parse(path.read_text()).body)
    return out


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_forbidden_imports(package):
    bad = []
    for module, path in _modules().items():
        if module.split(".")[0] != package:
            continue
        for name in _imports(path, module, top_level_only=False):
            if name.split(".")[0] in FORBIDDEN[package]:
                bad.append(f"{module} imports {name}")
    assert not bad, "\n".join(bad)


def test_no_import_circles():
    modules = _modules()
    graph = {
        m: {
            n
            for n in _imports(p, m, top_level_only=True, known=set(modules))
            if n in modules and n != m
        }
        for m, p in modules.items()
    }
    cycles, state = [], {}

    def walk(m: str, stack: list[str]) -> None:
        state[m] = "open"
        for n in sorted(graph[m]):
            if state.get(n) == "open":
                cycles.append(" -> ".join(stack[stack.index(n) :] + [n]))
            elif n not in state:
                walk(n, stack + [n])
        state[m] = "done"

    for m in sorted(graph):
        if m not in state:
            walk(m, [m])
    assert not cycles, "import circles:\n" + "\n".join(cycles)


def test_the_checker_sees_relative_and_guarded_imports(tmp_path):
    """The rule test itself can fail: a relative import is resolved, a TYPE_CHECKING import
    counts for the forbidden rule but not for circles."""
    src = tmp_path / "x.py"
    src.write_text(
        "from typing import TYPE_CHECKING\nfrom .client import C\nif TYPE_CHECKING:\n"
        "    from victim_service.card import Card\n"
    )
    assert "attacker_sdk.client" in _imports(src, "attacker_sdk.x", top_level_only=True)
    assert "victim_service.card" in _imports(src, "attacker_sdk.x", top_level_only=False)
    assert "victim_service.card" not in _imports(src, "attacker_sdk.x", top_level_only=True)
