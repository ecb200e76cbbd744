"""Bundles in the workspace: export, import, check, includes and their updates (DESIGN.md §4.5)."""
