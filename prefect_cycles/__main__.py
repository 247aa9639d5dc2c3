"""``python -m prefect_cycles`` is the ``prefect-cycles`` command."""

from .cli import run

run()
