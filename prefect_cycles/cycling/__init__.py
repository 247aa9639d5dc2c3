"""Cycling: cycle points, intervals and recurrences, integer and ISO 8601 (no Prefect)."""
