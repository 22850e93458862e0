"""The runtime of stream push subscriptions (the API is ``core.streams_push``):
``pusher`` runs in each runworker, ``delivery`` makes the HTTP POSTs."""
