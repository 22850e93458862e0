"""The Model Context Protocol server of ``manage.py queueadmin_mcp``: the README's sections
as resources, read-only tools over jobs, queues, workers, cron schedules, tokens and
streams, and (with ``--allow-writes`` and a read-write API key) the few changes an operator
makes. It reads through the same code as the JSON API and the dashboard (their filter
form, serializers, rows and API-key checks) and may import every layer below
``management``; nothing imports it but that command.
"""
