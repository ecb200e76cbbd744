"""The dependency-free helper module that node code imports (placed on its import path)."""
