"""Shared admin display helpers."""

import json

from django.core.serializers.json import DjangoJSONEncoder
from django.utils.html import format_html


def pretty_json(value: object) -> str:
    """Render JSON indented inside an escaped <pre> block."""
    text = json.dumps(value, indent=2, sort_keys=True, cls=DjangoJSONEncoder, ensure_ascii=False)
    return format_html('<pre style="white-space: pre-wrap; margin: 0">{}</pre>', text)
