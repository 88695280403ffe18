"""The layout's measured targets, checked in CI beside lint-imports: at most 12 modules side by side at
the package's top, at least 5 subpackages, no module over 450 lines, no import cycle between modules
(imports inside functions included), at most 20 imports of our own modules inside functions, each with a
one-line reason on the line or the line above. Prints the figures; exits 1 when a target is missed."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import grimp

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "jira_brief"
TOP_MODULES, SUBPACKAGES, MODULE_LINES, INNER_IMPORTS = 12, 5, 450, 20


def inner_imports(path: Path) -> list[tuple[int, str, bool]]:
    """(line, module, has a reason) of each import of jira_brief inside a function."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found = []
    for node in ast.walk(ast.parse("\n".join(lines))):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for inner in ast.walk(node):
            module = inner.module if isinstance(inner, ast.ImportFrom) else None
            if isinstance(inner, ast.Import):
                module = inner.names[0].name
            if module and module.startswith("jira_brief"):
                above = inner.lineno - 2  # a reason above a block of imports covers the block
                while above >= 0 and lines[above].strip().startswith(("from ", "import ")):
                    above -= 1
                reason = "#" in lines[inner.lineno - 1] or lines[above].strip().startswith("#")
                found.append((inner.lineno, module, reason))
    return found


def cycles() -> list[list[str]]:
    """Strongly connected groups of more than one module in the import graph (Tarjan)."""
    graph = grimp.build_graph("jira_brief")
    modules = sorted(graph.modules)
    edges = {module: sorted(graph.find_modules_directly_imported_by(module)) for module in modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for target in edges[module]:
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    sys.setrecursionlimit(10_000)
    for module in modules:
        if module not in index:
            visit(module)
    return found


def main() -> int:
    top = sorted(p.name for p in PACKAGE.glob("*.py") if p.name not in ("__init__.py", "__main__.py"))
    subpackages = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file())
    sizes = {p.relative_to(PACKAGE).as_posix(): len(p.read_text().splitlines()) for p in PACKAGE.rglob("*.py")}
    inner = {p.relative_to(PACKAGE).as_posix(): inner_imports(p) for p in PACKAGE.rglob("*.py")}
    count = sum(len(found) for found in inner.values())
    unexplained = [f"{path}:{line} {module}" for path, found in inner.items() for line, module, ok in found if not ok]
    groups = cycles()
    largest = max(sizes, key=lambda name: sizes[name])
    print(f"top-level modules: {len(top)} (at most {TOP_MODULES}): {', '.join(top)}")
    print(f"subpackages: {len(subpackages)} (at least {SUBPACKAGES}): {', '.join(subpackages)}")
    print(f"largest module: {largest}, {sizes[largest]} lines (at most {MODULE_LINES})")
    print(f"imports of our own modules inside functions: {count} (at most {INNER_IMPORTS})")
    print(f"import cycles: {len(groups)}")
    for group in groups:
        print("  cycle: " + " <-> ".join(group))
    for line in unexplained:
        print(f"  no reason: {line}")
    failed = (
        len(top) > TOP_MODULES
        or len(subpackages) < SUBPACKAGES
        or sizes[largest] > MODULE_LINES
        or count > INNER_IMPORTS
        or unexplained
        or groups
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
