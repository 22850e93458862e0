"""Durable execution: the handler registry (``registry``, re-exported by
``core.handlers``), the handler's ``ctx`` (``context``: steps, progress, sleeps,
tokens, defer), parking a run (``waits``) and wait tokens (``tokens``).

May import the drivers, the models, ``validation``, ``conf`` and ``exceptions``;
not ``jobs`` (which builds on it).
"""
