"""The package's layers import one way: errors <- cycling <- graph <- frontends <- run <- show.

Fails when a module imports against the layers (the model importing a front end,
the cycling arithmetic importing Prefect...), so the house stays as
docs/architecture.md draws it.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "prefect_cycles"

#: Each layer may import those with a lower rank, never a higher one.
RANK = {"errors": 0, "cycling": 1, "graph": 2, "frontends": 3, "run": 4, "show": 5}

#: Layers that must run without Prefect installed in the process.
NO_PREFECT = ("cycling", "graph")

#: The one upward import, lazy and for convenience only: ``CyclicFlow.picture()``
#: draws its own workflow, as ``picture(flow.workflow)`` would.
ALLOWED = {("run/flow.py", "prefect_cycles.show.render")}


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p.parent != PACKAGE or p.stem == "errors")


def _layer(parts: tuple[str, ...]) -> str:
    return parts[0] if parts[0] in RANK else "top"


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every module ``path`` imports (at any depth, lazy ones included), as dotted names."""
    rel = path.relative_to(PACKAGE.parent).with_suffix("").parts
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = rel[: len(rel) - node.level]
                found.append(
                    (node.lineno, ".".join(base + ((node.module,) if node.module else ())))
                )
            else:
                found.append((node.lineno, node.module or ""))
    return found


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_follow_the_layers(path: Path) -> None:
    where = path.relative_to(PACKAGE)
    mine = _layer(where.with_suffix("").parts)
    wrong = []
    for line, name in _imports(path):
        if (where.as_posix(), name) in ALLOWED:
            continue
        parts = tuple(name.split("."))
        if parts[0] == "prefect" and mine in NO_PREFECT:
            wrong.append(f"line {line}: {name} (the {mine} layer knows nothing of Prefect)")
        if parts[0] != "prefect_cycles" or len(parts) < 2:
            continue
        theirs = _layer(parts[1:])
        if theirs == "top" or RANK[theirs] > RANK[mine]:
            wrong.append(f"line {line}: {name} (a {theirs} module, above the {mine} layer)")
    assert not wrong, f"{where} imports against the layers:\n" + "\n".join(wrong)


def test_model_and_front_end_syntax_load_without_prefect() -> None:
    """Importing the model, the unroller and the graph-string reader loads no Prefect."""
    code = (
        "import sys\n"
        "import prefect_cycles.graph.unroll, prefect_cycles.graph.validate\n"
        "import prefect_cycles.frontends.graphstring, prefect_cycles.frontends.flowcylc\n"
        "print(sorted(m for m in sys.modules if m == 'prefect' or m.startswith('prefect.')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_old_module_paths_are_the_new_modules() -> None:
    """``prefect_cycles.flow`` and the other 0.1 paths import the modules at their new homes."""
    import importlib

    import prefect_cycles

    for old, new in prefect_cycles.MOVED.items():
        assert importlib.import_module(f"prefect_cycles.{old}") is importlib.import_module(
            f"prefect_cycles.{new}"
        ), old
    from prefect_cycles.flow import cyclic_flow  # type: ignore[import-not-found]

    assert cyclic_flow is prefect_cycles.cyclic_flow


def test_top_level_names_are_listed_and_load() -> None:
    import prefect_cycles

    for name in prefect_cycles.__all__:
        assert getattr(prefect_cycles, name) is not None, name
    assert set(prefect_cycles.__all__) <= set(dir(prefect_cycles))
