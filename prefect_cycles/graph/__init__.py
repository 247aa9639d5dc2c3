"""The model: tasks, sequences, dependencies, outputs; validation and unrolling (no Prefect)."""
