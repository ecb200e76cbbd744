"""Running nodes: the plan (pure: what to run and why), node tasks, executors and the runner."""
