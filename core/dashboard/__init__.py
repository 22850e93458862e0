"""The operator's dashboard: server-rendered pages with htmx fragments."""
