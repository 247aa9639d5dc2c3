"""prefect-cycles: Cylc-style cyclic workflows as native Prefect 3 flows."""

from .errors import (
    CycleError,
    CyclicDependencyError,
    GraphSyntaxError,
    PointError,
    RecurrenceError,
    ValidationError,
)

__version__ = "0.1.0"

__all__ = [
    "CycleError",
    "CyclicDependencyError",
    "GraphSyntaxError",
    "PointError",
    "RecurrenceError",
    "ValidationError",
    "__version__",
]
