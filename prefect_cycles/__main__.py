"""``python -m prefect_cycles`` is the ``prefect-cycles`` command."""

from .show.cli import run

run()
