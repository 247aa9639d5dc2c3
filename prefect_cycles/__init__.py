"""prefect-cycles: Cylc-style cyclic workflows as native Prefect 3 flows.

The names that need Prefect (decorators, the flow builder) load on first use,
so the syntax, model and command line stay quick to import.
"""

from __future__ import annotations

import importlib
from typing import Any

from .errors import (
    CycleError,
    CyclicDependencyError,
    GraphSyntaxError,
    PointError,
    RecurrenceError,
    ValidationError,
)

__version__ = "0.1.0"

_LAZY = {
    "cycle": "decorators",
    "on": "decorators",
    "previous": "decorators",
    "any_of": "decorators",
    "all_of": "decorators",
    "build_workflow": "decorators",
    "wall_clock": "clock",
    "cyclic_flow": "flow",
    "CyclicFlow": "flow",
    "stop_cycling": "flow",
    "from_graph": "graphstring",
    "load_flow_cylc": "flowcylc",
    "Workflow": "model",
    "picture": "render",
    "Picture": "render",
}

__all__ = [
    "CycleError",
    "CyclicDependencyError",
    "GraphSyntaxError",
    "PointError",
    "RecurrenceError",
    "ValidationError",
    "__version__",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'prefect_cycles' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
