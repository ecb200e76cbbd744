"""Packages: pipelines built as wheels and sdists, published to an index, pulled back."""
