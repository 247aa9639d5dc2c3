"""Front ends: Cylc graph strings, flow.cylc files and decorators, all building the model."""
