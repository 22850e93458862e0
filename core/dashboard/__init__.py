"""The operator's dashboard: server-rendered pages with htmx fragments (``views/``, one
module per page; ``forms/``; ``urls``; ``access``, who may see and act; ``paging``,
keyset pages; ``redirects``).

May import everything below it: the facade ``core.queue``, ``insights``, the API's
key handling (``core.api.auth``), the models; nothing imports the dashboard.
"""
