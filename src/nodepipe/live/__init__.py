"""What only the web app needs: the event hub, background jobs and runs, the watcher of runs
started elsewhere, canvas operations and log tails. Only ``api`` imports this layer."""
