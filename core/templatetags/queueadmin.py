"""The ``queueadmin`` template tag library: ``{% load queueadmin %}`` gives the
dashboard's templates the filters of ``core.insights.humanize``, and ``redact`` (a
payload with the values of the REDACT setting's keys masked)."""

from django import template

from core.insights import humanize
from core.jobs.redaction import redact

register = template.Library()

register.filter("pretty_json", humanize.pretty_json)
register.filter("redact", redact)
register.filter("duration", humanize.duration)
register.filter("age", humanize.age)
register.filter("field_value", humanize.field_value)
register.filter("lookup", humanize.lookup)
register.filter("when", humanize.when)
