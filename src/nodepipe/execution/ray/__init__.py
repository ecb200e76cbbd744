"""Running node tasks on a Ray cluster: the only package of nodepipe that imports ``ray``.

Install the extra (``nodepipe[ray]``). The workspace must be on a filesystem that every Ray node
mounts at the same path, and the workers' Python must have nodepipe installed: a worker runs
``NodeProcess(task).run()`` exactly as the local executor does (environment check against the
lock, staging folder, per-run log file, output swap), so logs and outputs land where they would
locally.

- ``address``: whether anything answers at the cluster's address, checked before Ray is
  imported (Ray's own connect to an address where no cluster answers retries for minutes).
- ``executor``: the adapter, the four verbs of ``Executor`` (start, submit, cancel, stop) on the
  driver.
- ``cluster``: the driver's connection to a cluster (or a local Ray), shared by the executors of
  one process, with the warm slots it keeps for them.
- ``worker``: what runs on a Ray worker: the slot actor and the remote task that run nodes,
  their cancellation and the watchdog that kills a node orphaned by its worker.
- ``last_word``: what a cancelled task's worker says became of its node (Ray drops what the
  task streamed that the driver had not read).

This package imports nothing at import time, so ``nodepipe.execution.ray.executor`` is the module
to import (only when the Ray executor is asked for); ``address`` imports no Ray.
"""
