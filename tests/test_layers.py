"""The dependency rule of docs/architecture.md, checked by walking every module's imports.

* The model core (``anomaly`` except its ``cli`` package) imports neither ``pipelines`` nor
  ``datasets``; ``datasets`` does not import ``pipelines``.
* No import cycle among the toolkit's modules (module-level imports).
* A function-local import is only for a heavy or optional third-party library, never one of
  the toolkit's own modules (such imports only ever dodge a cycle).
* No private name (``_name``) is imported from another module.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("anomaly", "pipelines", "datasets")
#: Libraries imported inside functions on purpose: heavy (seconds to import) or optional extras.
LAZY_LIBRARIES = {"keras", "tensorflow", "tf2onnx", "onnx", "onnxruntime", "rosbags", "paho", "dask", "distributed",
                  "threadpoolctl", "pyarrow", "matplotlib", "mcap", "pyulog", "prometheus_client", "IPython", "scipy", "sklearn"}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, ast.Module]:
    return {module_name(p): ast.parse(p.read_text(), str(p)) for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


MODULES = modules()


def imports(tree: ast.Module, *, local: bool):
    """(imported module, names, line) of the module-level (local=False) or function-level imports."""
    top = set(map(id, tree.body))
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)) and (id(node) in top) != local:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield alias.name, [], node.lineno
            elif node.level == 0 and node.module:
                yield node.module, [alias.name for alias in node.names], node.lineno


def own(name: str) -> bool:
    return name.split(".")[0] in PACKAGES


def is_core(module: str) -> bool:
    return module.startswith("anomaly") and not module.startswith("anomaly.cli")


def test_the_walk_sees_the_whole_toolkit():
    assert {"anomaly.base", "anomaly.registry", "pipelines.stream", "datasets.robot_arm"} <= {
        m.rsplit(".", 1)[0] if m.rsplit(".", 1)[0] in MODULES and m not in MODULES else m for m in MODULES
    } | set(MODULES)
    assert len(MODULES) > 80


@pytest.mark.parametrize("layer, forbidden", [("core", ("pipelines", "datasets")), ("datasets", ("pipelines",))])
def test_lower_layers_do_not_import_higher_ones(layer, forbidden):
    offending = []
    for module, tree in MODULES.items():
        if (is_core(module) if layer == "core" else module.startswith(layer)):
            for local in (False, True):
                offending += [f"{module}:{line} imports {name}" for name, _, line in imports(tree, local=local)
                              if name.split(".")[0] in forbidden]
    assert offending == []


def test_no_import_cycle():
    graph = {m: set() for m in MODULES}
    for module, tree in MODULES.items():
        for name, names, _ in imports(tree, local=False):
            if own(name):
                targets = [f"{name}.{n}" for n in names if f"{name}.{n}" in MODULES] or [name]
                graph[module].update(t for t in targets if t in MODULES and t != module)
    state, cycle = {}, []

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycle.append(path[path.index(nxt):] + [nxt] if nxt in path else [node, nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycle == []


def heavy_modules() -> set[str]:
    """Own modules that import a lazy library (Keras, ...) at import time, directly or through
    another own module: importing one of them inside a function is a deliberate lazy import."""
    heavy, grew = set(), True
    while grew:
        grew = False
        for module, tree in MODULES.items():
            if module not in heavy and any(name.split(".")[0] in LAZY_LIBRARIES or name in heavy
                                           or any(f"{name}.{n}" in heavy for n in names)
                                           for name, names, _ in imports(tree, local=False)):
                heavy.add(module)
                grew = True
    return heavy


def test_function_local_imports_are_only_heavy_or_optional_libraries():
    heavy = heavy_modules()
    assert "anomaly.nn.recurrent" in heavy and "anomaly.base" not in heavy
    offending = []
    for module, tree in MODULES.items():
        offending += [f"{module}:{line} imports {name} inside a function" for name, names, line in imports(tree, local=True)
                      if name.split(".")[0] not in LAZY_LIBRARIES and name not in heavy
                      and not (names and all(f"{name}.{n}" in heavy for n in names))]
    assert offending == []


def test_no_private_name_is_imported_across_modules():
    offending = []
    for module, tree in MODULES.items():
        for local in (False, True):
            offending += [f"{module}:{line} imports {name}.{n}" for name, names, line in imports(tree, local=local)
                          if own(name) for n in names if n.startswith("_") and not n.startswith("__")]
    assert offending == []
