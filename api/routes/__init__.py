"""One router per resource, gathered under /api/v1 in api.main."""
