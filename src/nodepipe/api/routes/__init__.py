"""The REST resources, one router per module (mounted by ``nodepipe.api.routers``)."""
