"""Running: the scheduler, the Prefect flow builder and its run loop, resume and rerun."""
