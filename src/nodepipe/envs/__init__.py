"""Node environments: the only place that runs uv."""
