"""prefect-cycles: Cylc-style cyclic workflows as native Prefect 3 flows.

The package is in layers, each a subpackage that imports only those before it
(docs/architecture.md): ``cycling`` (points and recurrences), ``graph`` (the
model), ``frontends`` (graph strings, flow.cylc, decorators), ``run`` (the
scheduler and the Prefect flow) and ``show`` (pictures, progress, the command
line). The names that need Prefect load on first use, so the syntax, model and
command line stay quick to import; type checkers see them all.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
from typing import TYPE_CHECKING, Any

from .errors import (
    CycleError,
    CyclicDependencyError,
    CyclicFlowFailed,
    GraphSyntaxError,
    PointError,
    RecurrenceError,
    ValidationError,
)

if TYPE_CHECKING:
    from .frontends.decorators import build_workflow
    from .frontends.flowcylc import load_flow_cylc
    from .frontends.graphstring import from_graph
    from .frontends.refs import all_of, any_of, on, previous, wall_clock, xtrigger
    from .frontends.rules import cycle
    from .graph.model import Workflow
    from .run.emit import emit_output
    from .run.flow import CyclicFlow, cyclic_flow, stop_cycling
    from .show.render import Picture, picture

__version__ = "0.1.0"

_LAZY = {
    "cycle": "frontends.rules",
    "on": "frontends.refs",
    "previous": "frontends.refs",
    "any_of": "frontends.refs",
    "all_of": "frontends.refs",
    "wall_clock": "frontends.refs",
    "xtrigger": "frontends.refs",
    "build_workflow": "frontends.decorators",
    "from_graph": "frontends.graphstring",
    "load_flow_cylc": "frontends.flowcylc",
    "Workflow": "graph.model",
    "cyclic_flow": "run.flow",
    "CyclicFlow": "run.flow",
    "stop_cycling": "run.flow",
    "emit_output": "run.emit",
    "picture": "show.render",
    "Picture": "show.render",
}

#: Where the modules of the flat 0.1 layout live now: ``prefect_cycles.flow``
#: and the rest keep importing, as the very same module objects.
MOVED = {
    "points": "cycling.points",
    "recurrence": "cycling.recurrence",
    "clock": "cycling.clock",
    "model": "graph.model",
    "outputs": "graph.outputs",
    "unroll": "graph.unroll",
    "validate": "graph.validate",
    "graphstring": "frontends.graphstring",
    "flowcylc": "frontends.flowcylc",
    "decorators": "frontends.decorators",
    "scheduler": "run.scheduler",
    "flow": "run.flow",
    "resume": "run.resume",
    "rerun": "run.rerun",
    "reference": "show.reference",
    "render": "show.render",
    "progress": "show.progress",
    "tally": "show.tally",
    "runner": "show.runner",
    "cli": "show.cli",
    "sources": "show.sources",
}

__all__ = [
    "CycleError",
    "CyclicDependencyError",
    "CyclicFlow",
    "CyclicFlowFailed",
    "GraphSyntaxError",
    "Picture",
    "PointError",
    "RecurrenceError",
    "ValidationError",
    "Workflow",
    "__version__",
    "all_of",
    "any_of",
    "build_workflow",
    "cycle",
    "cyclic_flow",
    "emit_output",
    "from_graph",
    "load_flow_cylc",
    "on",
    "picture",
    "previous",
    "stop_cycling",
    "wall_clock",
    "xtrigger",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'prefect_cycles' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


class _MovedFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports ``prefect_cycles.<old name>`` as the module at its new path."""

    def find_spec(self, fullname: str, path: object, target: object = None) -> Any:
        old = fullname.removeprefix(f"{__name__}.")
        if old == fullname or old not in MOVED:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec: Any) -> Any:
        return importlib.import_module(f"{__name__}.{MOVED[spec.name.rsplit('.', 1)[1]]}")

    def exec_module(self, module: Any) -> None:
        """The module ran when it was imported at its new path."""


if not any(isinstance(f, _MovedFinder) for f in sys.meta_path):
    sys.meta_path.append(_MovedFinder())
