"""The import structure: no circles among billsync's modules, and providers use only what the engine exports.

The graph is read from the source with :mod:`ast` (nothing is imported). An edge is one module-level import,
``if TYPE_CHECKING:`` blocks excluded (they never run) and imports inside functions included (a deferred import
hides a circle, it does not remove it). ``from pkg import name`` points at ``pkg.name`` when that is a module and
at ``pkg`` (its ``__init__``) otherwise, so a module that imports its own package's ``__init__``, which imports it
back, is a circle too.

The two allow-lists below hold what existed when the test was written. They may only shrink: the test also fails
when an entry is no longer needed, so fixing a circle or an import means deleting its line here.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("engine", "providers", "rules", "deploy")

# Each circle as the sorted modules of one strongly connected component. Known, to be taken apart: none.
KNOWN_CIRCLES: frozenset[tuple[str, ...]] = frozenset()

# (provider module, engine module, name) imported although the engine module does not export it in __all__.
# None is left: a target gets what it reads through the typed request of engine.read_request, never the
# billing calendar, the settings or the desired state themselves.
KNOWN_PRIVATE_IMPORTS: frozenset[tuple[str, str, str]] = frozenset()


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement that can run, i.e. not under ``if TYPE_CHECKING:``."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            yield from (n for child in node.orelse for n in _import_nodes_in(child))
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        yield from _import_nodes(node)


def _import_nodes_in(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    if isinstance(node, ast.Import | ast.ImportFrom):
        yield node
    yield from _import_nodes(node)


def _resolve_base(module: str, path: Path, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    package = package[: len(package) - node.level + 1]
    return ".".join([*package, node.module] if node.module else package)


def _imports(module: str, path: Path, modules: dict[str, Path]) -> Iterator[tuple[str, str | None]]:
    """(imported module, imported name or None) for each import of a billsync module."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in _import_nodes(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in modules:
                    yield alias.name, None
            continue
        base = _resolve_base(module, path, node)
        for alias in node.names:
            if f"{base}.{alias.name}" in modules:
                yield f"{base}.{alias.name}", None
            elif base in modules:
                yield base, alias.name


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {
        name: {target for target, _ in _imports(name, path, modules) if target != name}
        for name, path in modules.items()
    }


def _components(graph: dict[str, set[str]]) -> list[tuple[str, ...]]:
    """Tarjan's strongly connected components with more than one module (iterative: no recursion limit)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[tuple[str, ...]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(graph[root])))]
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
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                members: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    members.append(member)
                    if member == node:
                        break
                if len(members) > 1:
                    found.append(tuple(sorted(members)))
    return found


def _engine_exports(path: Path) -> set[str] | None:
    """The names in a module's ``__all__``, or None when it declares none."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in tree.body:
        targets = (
            node.targets
            if isinstance(node, ast.Assign)
            else [node.target]
            if isinstance(node, ast.AnnAssign)
            else []
        )
        if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets) and node.value is not None:
            return {str(v) for v in ast.literal_eval(node.value)}
    return None


def _private_imports() -> set[tuple[str, str, str]]:
    modules = _modules()
    found: set[tuple[str, str, str]] = set()
    for name, path in modules.items():
        if not name.startswith("providers."):
            continue
        for target, imported in _imports(name, path, modules):
            if not target.startswith("engine") or imported is None:
                continue
            exports = _engine_exports(modules[target])
            if exports is None or imported not in exports:
                found.add((name, target, imported))
    return found


def test_the_graph_sees_the_known_edges() -> None:
    """Guards the scanner itself: an edge through ``from pkg import module`` and one to a package ``__init__``."""
    graph = _graph()
    assert "engine.cli.planning" in graph["engine.cli.app"]
    assert "providers.autotask.target" in graph["providers.autotask"]
    assert "engine.errors" in graph["providers.cloudmore"]


def test_the_circle_finder_finds_a_circle_through_a_package_init() -> None:
    graph = {"p": {"p.a"}, "p.a": {"p"}, "p.b": {"p.a"}, "q": set()}
    assert _components(graph) == [("p", "p.a")]


def test_no_new_import_circles() -> None:
    circles = set(_components(_graph()))
    assert sorted(circles - KNOWN_CIRCLES) == [], "new import circle(s)"
    assert sorted(KNOWN_CIRCLES - circles) == [], "circle(s) gone: delete them from KNOWN_CIRCLES"


def test_providers_import_only_engine_exports() -> None:
    private = _private_imports()
    assert sorted(private - KNOWN_PRIVATE_IMPORTS) == [], "provider imports engine names outside __all__"
    assert sorted(KNOWN_PRIVATE_IMPORTS - private) == [], "fixed: delete them from KNOWN_PRIVATE_IMPORTS"


def test_the_engine_never_reads_a_providers_change_payload() -> None:
    """``Create.payload`` is provider data (:data:`engine.types.ProviderData`): the engine carries, seals
    and shows it (the plan view prints it whole) but never looks inside; only the provider does."""
    readers = set()
    for name, path in _modules().items():
        if not name.startswith("engine"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        if any(isinstance(node, ast.Attribute) and node.attr == "payload" for node in ast.walk(tree)):
            readers.add(name)
    assert readers == {"engine.plan_view"}
