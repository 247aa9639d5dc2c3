"""Differential suite: prefect-cycles against Cylc 8.5 on the same graphs."""
