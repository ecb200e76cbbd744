"""Use cases on environments: a node's own, a pipeline's base packages, shared ones."""
