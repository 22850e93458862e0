"""The ``queueadmin`` template tag library: ``{% load queueadmin %}`` gives the
dashboard's templates the filters of ``core.insights.humanize``."""

from django import template

from core.insights import humanize

register = template.Library()

register.filter("pretty_json", humanize.pretty_json)
register.filter("duration", humanize.duration)
register.filter("age", humanize.age)
register.filter("field_value", humanize.field_value)
register.filter("lookup", humanize.lookup)
register.filter("when", humanize.when)
