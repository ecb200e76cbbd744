"""Use cases: the only layer the CLI, the web API and the Python API call."""
