"""The dashboard's forms, one module per page that edits something, and ``fields``
for what they share."""
