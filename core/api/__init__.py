"""The JSON API under /api/: jobs, tokens, signed status URLs for frontends,
Prometheus metrics and its OpenAPI description, with API keys (``auth``).

May import the facade ``core.queue``, ``insights`` and everything below; never the
dashboard (which uses ``auth`` for its API keys page).
"""
