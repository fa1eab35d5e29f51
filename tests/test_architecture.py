"""The library's shape, checked: no import circle between its modules (function-level imports included),
no module over 400 lines, no module-level ``__getattr__`` shim."""

from __future__ import annotations

import ast
from pathlib import Path

import evidencectl

ROOT = Path(evidencectl.__file__).parent


def _modules() -> dict[str, tuple[Path, bool]]:
    """Dotted name -> (file, is a package) for every module of the library."""
    found = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        found[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return found


def _imported(name: str, path: Path, is_package: bool, modules: dict[str, tuple[Path, bool]]) -> set[str]:
    """What module ``name`` (at ``path``) imports anywhere in its body, lazy imports in functions too: each
    ``from X import y`` resolved to ``X.y`` when that is one of ``modules``, else to ``X``."""
    package = name if is_package else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                targets.add(sub if sub in modules else base)
    return targets


def import_graph() -> dict[str, set[str]]:
    """Module -> the library modules it imports anywhere in its body (lazy imports in functions too)."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, (path, is_package) in modules.items():
        targets = _imported(name, path, is_package, modules)
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
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
    return found


def test_the_circle_finder_finds_a_circle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert circles(graph) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_no_import_circle_between_library_modules() -> None:
    graph = import_graph()
    assert "evidencectl.deposit.pipeline" in graph["evidencectl.deposit"]  # the graph sees package imports
    assert "evidencectl.anchor.ledger_receipt" in graph["evidencectl.anchor.ledger"]
    assert circles(graph) == []


def test_no_module_over_400_lines() -> None:
    long = {
        str(p.relative_to(ROOT)): n for p, _ in _modules().values() if (n := len(p.read_bytes().splitlines())) > 400
    }
    assert long == {}


def test_no_module_level_getattr_shim() -> None:
    shims = [
        str(path.relative_to(ROOT))
        for path, _ in _modules().values()
        if any(
            isinstance(n, ast.FunctionDef) and n.name == "__getattr__"
            for n in ast.parse(path.read_text(encoding="utf-8")).body
        )
    ]
    assert shims == []


CLI_FACING = {
    # The public face (``from evidencectl import …``; ``deposit`` and ``verify`` are its functions) and the
    # modules docs/architecture.md lists as the command line's own: the vocabulary, the data directory, the
    # reports, inspect/extract, the registry and the service commands' modules. Not deposit/'s or verify/'s
    # stages: the CLI deposits and verifies through the public face only.
    "evidencectl",
    "evidencectl.deposit",
    "evidencectl.verify",
    "evidencectl.version",
    "evidencectl.errors",
    "evidencectl.checks",
    "evidencectl.config",
    "evidencectl.context",
    "evidencectl.display",
    "evidencectl.i18n",
    "evidencectl.progress",
    "evidencectl.registry",
    "evidencectl.heads",
    "evidencectl.doctor",
    "evidencectl.capture",
    "evidencectl.service",
    "evidencectl.report",
    "evidencectl.report.output",
    "evidencectl.report.seal",
    "evidencectl.report.sentences",  # verify in Chinese tells each check as the report does (cli/render.py)
    "evidencectl.report.labels",
    "evidencectl.report.answer",
    "evidencectl.package.inspect",
    "evidencectl.package.extract",
    "evidencectl.package.private",
    "evidencectl.package.reader",
    "evidencectl.collect.files",
    "evidencectl.crypto.trust",
    "evidencectl.crypto.keys",
    "evidencectl.crypto.keystore",
    "evidencectl.crypto.passphrase",
    "evidencectl.crypto.depositor",
    "evidencectl.crypto.files",
    "evidencectl.crypto.x509",
    "evidencectl.timestamp.algorithms",
    "evidencectl.timestamp.authority",
    "evidencectl.timestamp.catalogue",
    "evidencectl.timestamp.client",
    "evidencectl.timestamp.describe",
    "evidencectl.timestamp.server",
    "evidencectl.timestamp.token",
    "evidencectl.timestamp.verifier",
    "evidencectl.anchor.evm",
    "evidencectl.anchor.ledger",
}


def cli_imports() -> dict[str, set[str]]:
    """CLI module -> the library modules (outside cli/) it imports anywhere in its body, each import
    resolved to the module it names (``from ..verify import verifier`` is verify/'s insides; ``from .. import
    verify`` its package, the public face)."""
    modules = _modules()
    found: dict[str, set[str]] = {}
    for name, (path, is_package) in modules.items():
        if not name.startswith("evidencectl.cli"):
            continue
        targets = _imported(name, path, is_package, modules)
        found[name] = {t for t in targets if t.startswith("evidencectl") and not t.startswith("evidencectl.cli")}
    return found


def test_the_cli_imports_the_library_only_through_its_public_face_and_documented_modules() -> None:
    imports = cli_imports()
    assert "evidencectl" in imports["evidencectl.cli.commands"]  # the walk sees `from .. import verify`
    outside = {cli: sorted(t - CLI_FACING) for cli, t in imports.items() if t - CLI_FACING}
    assert outside == {}
    documented = (ROOT.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    names = {m.removeprefix("evidencectl.") for m in CLI_FACING - {"evidencectl"}}
    undocumented = sorted(m for m in names if f"`{m}" not in documented)
    assert undocumented == []


DATA_DIRECTORY_NAMES = {"base", "home", "data_dir"}
"""Parameter names that mean the data directory: it reaches the library as a ``Context`` (context.py)."""
PATH_PARAMETERS_ALLOWED = {
    # The one reader of config.toml: Context.config calls it, and config.py sits below context.py.
    ("config.py", "load_config.base"),
    # The data directory itself, the one field every named place is made from.
    ("context.py", "Context.base"),
}
"""(module, qualified parameter) that may still take the data directory as a path, each with its reason."""


def data_directory_paths(source: str) -> list[str]:
    """Qualified names of the parameters (and dataclass-style fields) named like the data directory and
    annotated with a path or string but not a ``Context``: ``f.base`` for ``def f(base: Path)``."""
    found: list[str] = []

    def as_path(annotation: ast.expr | None) -> bool:
        text = ast.unparse(annotation) if annotation is not None else ""
        return ("Path" in text or "str" in text) and "Context" not in text

    def walk(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                a = child.args
                for arg in [*a.posonlyargs, *a.args, *a.kwonlyargs]:
                    if arg.arg in DATA_DIRECTORY_NAMES and as_path(arg.annotation):
                        found.append(f"{prefix}{child.name}.{arg.arg}")
                walk(child, f"{prefix}{child.name}.")
            elif isinstance(child, ast.ClassDef):
                for item in child.body:
                    if (
                        isinstance(item, ast.AnnAssign)
                        and isinstance(item.target, ast.Name)
                        and item.target.id in DATA_DIRECTORY_NAMES
                        and as_path(item.annotation)
                    ):
                        found.append(f"{prefix}{child.name}.{item.target.id}")
                walk(child, f"{prefix}{child.name}.")

    walk(ast.parse(source), "")
    return found


def test_the_data_directory_path_finder_finds_a_base_path() -> None:
    source = (
        "class A:\n    base: Path\n    def m(self, *, home: Path | None = None) -> None: ...\n"
        "def f(base: 'Path', x: int) -> None:\n    def inner(data_dir: str) -> None: ...\n"
        "def g(base: Context | Path | None, ctx: Context) -> None: ..."
    )
    assert data_directory_paths(source) == ["A.base", "A.m.home", "f.base", "f.inner.data_dir"]


def test_the_data_directory_reaches_the_library_as_a_context() -> None:
    # Issue 16: a `base: Path` threaded through every signature made each function join its own paths into the
    # data directory and read config.toml again. Internal functions take a Context; public ones Context.of.
    found = {
        (str(path.relative_to(ROOT)), name)
        for path, _ in _modules().values()
        for name in data_directory_paths(path.read_text(encoding="utf-8"))
    }
    assert sorted(found - PATH_PARAMETERS_ALLOWED) == []
    assert sorted(PATH_PARAMETERS_ALLOWED - found) == [], "allowed but gone: remove from PATH_PARAMETERS_ALLOWED"
