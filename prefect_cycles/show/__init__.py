"""Showing: reference text, pictures, progress and the ``prefect-cycles`` command."""
