"""The module map holds: every module of src/gandiff sits on a floor and imports only from its
own floor or below, with no import circle and none of the forbidden arrows.

The floors are CONTRIBUTING.md's ("The floors"). The graph is read from the source with `ast`, so
an import counts wherever it stands: at the top, inside a function, under ``TYPE_CHECKING``, or as
an ``importlib`` string that names a gandiff module.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "gandiff"
INIT = ""  # the package's own __init__, by its package-relative name

# Package-relative module (or package) -> floor. A module takes the floor of its longest listed
# prefix; a module with none fails the test, so a new module is given its floor here.
FLOORS = {
    "_version": 0,
    "saving": 0,
    "torch_utils": 0,
    "pil_utils": 0,
    "outputs": 0,
    "choices": 0,
    "validation": 0,
    "_lazy": 0,
    "registry": 0,
    "hub": 1,
    "configuration": 2,
    "models": 3,
    "schedulers": 3,
    "data": 3,
    "pipelines": 4,
    "metrics": 4,
    "training": 5,
    "evaluation": 5,
    "plot": 6,
    "cli": 6,
    "__main__": 6,
    INIT: 6,
}

# (importer, imported) prefixes that never import one another, whatever their floors.
NEVER = [
    ("models", "schedulers"),  # the network knows nothing of β ...
    ("schedulers", "models"),  # ... and the scheduler never calls a network
    ("models", "pipelines"),
    ("schedulers", "pipelines"),
    ("pipelines", "training"),
    ("metrics", "pipelines"),  # metrics are functions over tensors and arrays
    ("metrics", "training"),
    ("registry", "models"),  # the registry knows no concrete class
    ("registry", "schedulers"),
    ("registry", "pipelines"),
]


def _within(module: str, prefix: str) -> bool:
    if prefix == INIT:
        return module == INIT
    return module == prefix or module.startswith(prefix + ".")


def floor_of(module: str) -> int | None:
    prefixes = [prefix for prefix in FLOORS if _within(module, prefix)]
    return FLOORS[max(prefixes, key=len)] if prefixes else None


def find_modules(root: Path) -> dict[str, Path]:
    """Package-relative dotted name -> file; a package is named by its folder (``models``)."""
    modules = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _join(*parts: str) -> str:
    return ".".join(part for part in parts if part)


def _landing(name: str, modules: dict[str, Path]) -> str:
    """The module an imported dotted name lands in: its longest prefix that is a module (``from
    .models import UNet2DModel`` lands in ``models``; ``from . import registry`` in ``registry``)."""
    parts = name.split(".") if name else []
    while parts and ".".join(parts) not in modules:
        parts.pop()
    return ".".join(parts)


def imports_of(tree: ast.Module, here: str, is_package: bool, modules: dict[str, Path], package: str):
    """(imported module, line) for every import of the package in `tree`, anywhere in it."""
    anchor = here.split(".") if here else []
    if not is_package:
        anchor = anchor[:-1]  # the package a relative import starts from
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == package or alias.name.startswith(package + "."):
                    yield _landing(alias.name[len(package) + 1 :], modules), node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = _join(*anchor[: len(anchor) - (node.level - 1)], node.module or "")
            elif node.module == package or (node.module or "").startswith(package + "."):
                base = node.module[len(package) + 1 :]
            else:
                continue
            for alias in node.names:
                yield _landing(_join(base, alias.name), modules), node.lineno
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            # importlib.import_module("gandiff.models.unet_2d"), or an entry point's "module:attr":
            # a string counts when it names a module exactly.
            name = node.value.split(":")[0][len(package) + 1 :]
            if node.value.startswith(package + ".") and name and name in modules:
                yield name, node.lineno


@dataclass
class Report:
    circles: list[list[str]] = field(default_factory=list)
    upward: list[str] = field(default_factory=list)
    forbidden: list[str] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)


def import_graph(root: Path, package: str) -> dict[str, dict[str, int]]:
    """importer -> {imported module: first line}, package-relative names, self-imports left out."""
    modules = find_modules(root)
    graph: dict[str, dict[str, int]] = {name: {} for name in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for module, line in imports_of(tree, name, path.name == "__init__.py", modules, package):
            if module != name:
                graph[name][module] = min(line, graph[name].get(module, line))
    return graph


def circles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan 1972)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while not component or component[-1] != node:
                component.append(stack.pop())
            if len(component) > 1:
                found.append(sorted(module or "__init__" for module in component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def check(root: Path, package: str) -> Report:
    graph = import_graph(root, package)
    report = Report(circles=circles(graph))
    report.unmapped = sorted(module or "__init__" for module in graph if floor_of(module) is None)
    for importer, targets in graph.items():
        for imported, line in targets.items():
            here, there = floor_of(importer), floor_of(imported)
            arrow = f"{importer or '__init__'} (floor {here}) -> {imported or '__init__'} (floor {there}), line {line}"
            # Importing the package __init__ (for __version__, say) runs every lazy name's table:
            # only __main__ may.
            if (here is not None and there is not None and there > here) or (
                imported == INIT and importer != "__main__"
            ):
                report.upward.append(arrow)
            if any(_within(importer, a) and _within(imported, b) for a, b in NEVER):
                report.forbidden.append(arrow)
    return report


def test_gandiff_keeps_its_module_map():
    report = check(SRC / PACKAGE, PACKAGE)
    assert not report.unmapped, (
        f"modules without a floor: {report.unmapped}; add each to FLOORS in tests/test_import_graph.py "
        "following CONTRIBUTING.md's floors"
    )
    assert not report.circles, f"import circles: {report.circles}"
    assert not report.upward, "imports that run up the floors:\n" + "\n".join(report.upward)
    assert not report.forbidden, "forbidden imports:\n" + "\n".join(report.forbidden)


def test_the_graph_sees_gandiffs_own_imports():
    # Not vacuous on the real tree: arrows every layout of gandiff has.
    graph = import_graph(SRC / PACKAGE, PACKAGE)
    assert "configuration" in graph["models.modeling"]
    assert "registry" in graph["models.unet_2d"]


# -- the checker itself, on a made-up package -------------------------------------------------


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / "pkg" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "pkg"


@pytest.fixture
def clean_files() -> dict[str, str]:
    return {
        "__init__.py": "from . import registry\n",
        "_version.py": "__version__ = '0'\n",
        "registry.py": "import importlib\nPREFIX = 'pkg.'\n",  # a string naming no module
        "configuration.py": "from ._version import __version__\nfrom . import registry\n",
        "models/__init__.py": "from .net import Net\n",
        "models/net.py": "from ..configuration import __version__\n",
        "schedulers/__init__.py": "",
        "schedulers/ddpm.py": "from pkg.configuration import __version__\n",
        "pipelines/__init__.py": "",
        "pipelines/ddpm.py": "def load():\n    from ..models import net\n    from ..schedulers.ddpm import x\n",
    }


def test_checker_passes_a_clean_tree(tmp_path, clean_files):
    root = write_tree(tmp_path, clean_files)
    assert check(root, "pkg") == Report()
    graph = import_graph(root, "pkg")
    assert graph["pipelines.ddpm"] == {"models.net": 2, "schedulers.ddpm": 3}  # function-local imports
    assert graph["schedulers.ddpm"] == {"configuration": 1}
    assert graph["configuration"] == {"_version": 1, "registry": 2}


def test_checker_finds_a_circle(tmp_path, clean_files):
    clean_files["configuration.py"] += "def f():\n    from .models.net import Net\n"
    report = check(write_tree(tmp_path, clean_files), "pkg")
    assert report.circles == [["configuration", "models.net"]]
    assert report.upward == ["configuration (floor 2) -> models.net (floor 3), line 4"]


def test_checker_finds_an_upward_arrow_through_an_importlib_string(tmp_path, clean_files):
    clean_files["registry.py"] += "importlib.import_module('pkg.pipelines.ddpm')\n"
    report = check(write_tree(tmp_path, clean_files), "pkg")
    assert report.upward == ["registry (floor 0) -> pipelines.ddpm (floor 4), line 3"]
    assert report.forbidden == report.upward


def test_checker_counts_the_package_init_as_the_top_floor(tmp_path, clean_files):
    clean_files["models/net.py"] += "from .. import __version__\n"
    clean_files["schedulers/ddpm.py"] += "import pkg\n"
    report = check(write_tree(tmp_path, clean_files), "pkg")
    assert report.upward == [
        "models.net (floor 3) -> __init__ (floor 6), line 2",
        "schedulers.ddpm (floor 3) -> __init__ (floor 6), line 2",
    ]


def test_checker_finds_forbidden_arrows_on_one_floor(tmp_path, clean_files):
    clean_files["models/net.py"] += "from ..schedulers import ddpm\n"
    report = check(write_tree(tmp_path, clean_files), "pkg")
    assert report.forbidden == ["models.net (floor 3) -> schedulers.ddpm (floor 3), line 2"]
    assert report.upward == []


def test_checker_fails_a_module_without_a_floor(tmp_path, clean_files):
    clean_files["helpers.py"] = ""
    assert check(write_tree(tmp_path, clean_files), "pkg").unmapped == ["helpers"]
