"""Shared admin display helpers."""

import json

from django.core.serializers.json import DjangoJSONEncoder
from django.utils.html import format_html


def pretty_json(value: object) -> str:
    """Render JSON indented inside an escaped <pre> block.

    Styled by a class of static/queueadmin/admin.css (which templates/admin/queueadmin/
    loads), never an inline ``style``: the Content-Security-Policy's ``style-src 'self'``
    refuses inline styles.
    """
    text = json.dumps(value, indent=2, sort_keys=True, cls=DjangoJSONEncoder, ensure_ascii=False)
    return format_html('<pre class="queueadmin-json">{}</pre>', text)
