"""Bundles: the portable file form of a pipeline (``pipeline.toml``, node folders, includes).

This layer reads and writes bundle files and resolves includes; it knows nothing of the store.
The services (``nodepipe.services.bundles``) turn a resolved bundle into workspace pipelines.
"""
