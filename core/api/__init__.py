"""The JSON API under /api/: jobs, tokens, status URLs for frontends, metrics, OpenAPI."""
