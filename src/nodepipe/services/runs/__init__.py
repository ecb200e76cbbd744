"""Use cases of running: status and why, plans, runs, claims, history, logs, kill."""
