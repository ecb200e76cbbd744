"""Packages: a bundle inside a standard wheel and sdist (build with ``uv build``, publish with
``uv publish``, read back from the archive without building or running it)."""
