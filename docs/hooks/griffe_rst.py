"""Griffe extension: read the package's reStructuredText habits as Markdown.

The docstrings use Sphinx roles (:func:`cycle`, :class:`~prefect_cycles.graph.model.Workflow`)
and ``::`` before literal blocks. mkdocstrings renders docstrings as Markdown,
so roles become inline code (``~`` keeps only the last name, as in Sphinx)
and a paragraph's closing ``::`` becomes ``:`` (a ``::`` alone goes) (the indented block after it is
already a Markdown code block). The docstrings themselves stay as written.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:func|class|meth|mod|attr|data|exc|obj):`(~?)([^`]+)`")
LITERAL = re.compile(r"(\S)::$", re.M)
BARE_LITERAL = re.compile(r"^[ \t]*::[ \t]*$", re.M)


def _role(m: re.Match[str]) -> str:
    target = m[2].split(".")[-1] if m[1] else m[2]
    return f"`{target}`"


class RstToMarkdown(griffe.Extension):
    """Rewrite each docstring once the object tree is complete."""

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            text = ROLE.sub(_role, obj.docstring.value)
            text = BARE_LITERAL.sub("", text)
            obj.docstring.value = LITERAL.sub(r"\1:", text)
