"""Where a workflow comes from: a flow.cylc, a directory holding one, or Python.

``path/to/file.py:name`` names a module-level object of a Python file: a
:class:`~prefect_cycles.graph.model.Workflow`, or anything with a ``workflow``
attribute holding one (such as a cyclic flow). Prefect is imported only when
the Python source imports it.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import CycleError
from ..graph.model import Workflow

_ENTRYPOINT = re.compile(r"^(?P<path>.+\.py):(?P<name>[A-Za-z_][A-Za-z0-9_]*)$")


class SourceError(CycleError):
    """A workflow source that cannot be found or loaded."""


def load_workflow(
    source: str, template_vars: Mapping[str, Any] | None = None
) -> tuple[Workflow, list[str]]:
    """The workflow a SOURCE names, with any notices from reading it.

    ``template_vars`` render a templated flow.cylc; a Python source's graph
    is already built, so they must not be given for one.
    """
    m = _ENTRYPOINT.match(source)
    if m:
        if template_vars:
            raise SourceError(
                f"template variables ({', '.join(template_vars)}) given for the Python "
                f"source {source!r}",
                text=source,
                fix="give them in the Python file: cyclic_flow(..., cylc=..., template_vars={...})",
            )
        return _from_python(Path(m["path"]), m["name"], source), []
    path = Path(source)
    if path.suffix == ".py":
        raise SourceError(
            f"{source!r} names a Python file but not the object in it",
            text=source,
            fix=f"write {source}:NAME, where NAME is the module-level workflow or cyclic flow",
        )
    from ..frontends.flowcylc import load_flow_cylc

    wf = load_flow_cylc(path, template_vars)
    return wf, wf.notices


def load_flow(source: str) -> object:
    """The cyclic flow a ``path/to/file.py:name`` SOURCE names, to run it.

    A flow.cylc, or a bare Workflow, holds the graph but not the code that runs
    its tasks, so either is refused with the way out.
    """
    fix = (
        "point at a Python file whose cyclic_flow(...) runs the graph's tasks, "
        "e.g. flows.py:seed with seed = cyclic_flow(prep, foo, bar, cylc='flow.cylc')"
    )
    m = _ENTRYPOINT.match(source)
    if not m:
        load_workflow(source)  # a bad source gets its own error first
        raise SourceError(f"{source!r} is a graph with no task implementations to run", fix=fix)
    obj = _import_object(Path(m["path"]), m["name"], source)
    if not isinstance(getattr(obj, "workflow", None), Workflow) or not callable(obj):
        what = "a Workflow" if isinstance(obj, Workflow) else f"a {type(obj).__name__}"
        raise SourceError(
            f"{m['name']!r} in {m['path']!r} is {what}, not a cyclic flow with tasks to run",
            text=source,
            fix=fix,
        )
    return obj


def _from_python(path: Path, name: str, source: str) -> Workflow:
    obj = _import_object(path, name, source)
    wf = obj if isinstance(obj, Workflow) else getattr(obj, "workflow", None)
    if not isinstance(wf, Workflow):
        raise SourceError(
            f"{name!r} in {str(path)!r} is a {type(obj).__name__}, not a cyclic workflow",
            text=source,
            fix="point at a Workflow (build_workflow / from_graph) or a cyclic flow",
        )
    return wf


def _import_object(path: Path, name: str, source: str) -> object:
    if not path.is_file():
        raise SourceError(
            f"no Python file at {str(path)!r}", text=source, fix="check the path before the ':'"
        )
    mod_name = f"_prefect_cycles_source_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(mod_name, path)
    if spec is None or spec.loader is None:
        raise SourceError(f"cannot import {str(path)!r}", text=source)
    module = importlib.util.module_from_spec(spec)
    sys.modules[mod_name] = module
    folder = str(path.resolve().parent)
    added = folder not in sys.path
    if added:
        sys.path.insert(0, folder)
    try:
        spec.loader.exec_module(module)
    except CycleError:
        raise
    except SystemExit as exc:
        raise SourceError(
            f"importing {str(path)!r} called sys.exit({exc.code!r}), so it has no {name!r} to load",
            text=source,
            fix="put the code that runs the script under if __name__ == '__main__':",
        ) from None
    except Exception as exc:
        raise SourceError(
            f"importing {str(path)!r} failed: {type(exc).__name__}: {exc}",
            text=source,
            fix="run the file with python to see the full error",
        ) from exc
    finally:
        if added:
            sys.path.remove(folder)
    try:
        obj = getattr(module, name)
    except AttributeError:
        raise SourceError(
            f"{str(path)!r} has no module-level object {name!r}",
            text=source,
            fix="name the variable that holds the workflow or cyclic flow",
        ) from None
    return obj
