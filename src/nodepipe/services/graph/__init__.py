"""Use cases on the graph: projects, pipelines, nodes, edges, groups, copies, code-first
definitions."""
