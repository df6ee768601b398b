"""The import graph of our packages: no module imports itself back, and the layers only import downwards.

The graph is read from the source with `ast` (nothing is imported): every `import` and `from … import`,
at module level or inside a function, with relative imports resolved and `from pkg import submodule`
counted as an import of the submodule. An import of a module inside a package does not count as an import
of the package's `__init__` (Python runs it first, but that is never a cycle by itself).
"""

from __future__ import annotations

import ast
from collections import deque
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("assistant", "nlu", "ui")
# The layers: nlu is the NLU library (no assistant in it), assistant the product, ui the web app on top.
FORBIDDEN = {("nlu", "assistant"), ("nlu", "ui"), ("assistant", "ui")}

Graph = dict[str, dict[str, int]]  # module -> {imported module: line of the first such import}


def import_graph(root: Path = ROOT, packages: tuple[str, ...] = PACKAGES) -> Graph:
    def module_name(path: Path) -> str:
        parts = list(path.relative_to(root).with_suffix("").parts)
        return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)

    files = {module_name(p): p for package in packages for p in sorted((root / package).rglob("*.py"))}

    def known(name: str) -> str | None:
        """`name` or the nearest package above it that is one of our modules."""
        while name and name not in files:
            name = name.rpartition(".")[0]
        return name or None

    graph: Graph = {}
    for module, path in files.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        edges: dict[str, int] = {}
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            targets: list[str | None] = []
            if isinstance(node, ast.Import):
                targets = [known(alias.name) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                for alias in node.names:  # `from pkg import submodule` imports the submodule
                    submodule = f"{base}.{alias.name}"
                    targets.append(submodule if submodule in files else known(base))
            for target in targets:
                if target and target != module:
                    edges.setdefault(target, node.lineno)
        graph[module] = edges
    return graph


def strongly_connected(graph: Graph) -> list[list[str]]:
    """The components of more than one module (Tarjan's algorithm, iterative), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return sorted(found)


def shortest_cycle(graph: Graph, component: list[str]) -> list[str]:
    """A shortest import cycle through the component's first module, as `module:line` steps."""
    start, members = component[0], set(component)
    came_from: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for child in sorted(graph[node]):
            if child not in members:
                continue
            if child == start:
                path = [node]
                while path[-1] != start:
                    path.append(came_from[path[-1]])
                path.reverse()
                return [f"{a}:{graph[a][b]}" for a, b in zip(path, [*path[1:], start], strict=True)]
            if child not in came_from:
                came_from[child] = node
                queue.append(child)
    raise AssertionError(f"{component} is not a cycle")


def describe_cycles(graph: Graph, components: list[list[str]]) -> str:
    return "\n".join(
        f"- {', '.join(c)}\n    e.g. {' -> '.join(shortest_cycle(graph, c))} -> {c[0]}" for c in components
    )


def test_the_graph_sees_relative_function_level_and_submodule_imports(tmp_path: Path) -> None:
    sources = {
        "p/__init__.py": "from p import a\n",  # the submodule, not the package
        "p/a.py": "from .sub.b import thing\nimport q.r\n",
        "p/sub/__init__.py": "",
        "p/sub/b.py": "def late():\n    from .. import a\n    from ..sub import c, missing\n",
        "p/sub/c.py": "import os\nfrom p.sub import nothing_here\n",
        "q/__init__.py": "",
        "q/r.py": "",
    }
    for name, text in sources.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    graph = import_graph(tmp_path, ("p", "q"))
    assert graph == {
        "p": {"p.a": 1},
        "p.a": {"p.sub.b": 1, "q.r": 2},
        "p.sub": {},
        "p.sub.b": {"p.a": 2, "p.sub.c": 3, "p.sub": 3},
        "p.sub.c": {"p.sub": 2},
        "q": {},
        "q.r": {},
    }
    assert strongly_connected(graph) == [["p.a", "p.sub.b"]]
    assert (
        describe_cycles(graph, [["p.a", "p.sub.b"]]) == "- p.a, p.sub.b\n    e.g. p.a:1 -> p.sub.b:2 -> p.a"
    )


def test_no_module_imports_itself_back() -> None:
    graph = import_graph()
    cycles = strongly_connected(graph)
    assert not cycles, (
        f"import cycles (each: its modules, then one path round it):\n{describe_cycles(graph, cycles)}"
    )


def test_packages_import_only_downwards() -> None:
    crossings = sorted(
        f"{module} imports {target} (line {line})"
        for module, edges in import_graph().items()
        for target, line in edges.items()
        if (module.partition(".")[0], target.partition(".")[0]) in FORBIDDEN
    )
    assert not crossings, "imports against the layers (nlu < assistant < ui):\n" + "\n".join(crossings)
