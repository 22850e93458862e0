"""What the admin's pages take from a request: ``GuardedAdmin``, the base of every
ModelAdmin here, refuses unstorable text (see ``core.http``) with a 400 and treats an
object id no database could hold as naming no object; ``id_in`` reads an id typed in
a search box."""

from django import forms
from django.contrib import admin
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest

from core.http import unservable
from core.validation import MAX_BIGINT, storable


def id_in(term: str) -> int | None:
    """The id a search term names (``"42"``), or None: only ASCII digits, within a bigint."""
    if term.isascii() and term.isdigit() and int(term) <= MAX_BIGINT:
        return int(term)
    return None


def _model_field(model, name: str):
    try:
        return model._meta.get_field(name)
    except FieldDoesNotExist:
        return None


def _refusal(request: HttpRequest) -> HttpResponse | None:
    problem = unservable(request)
    return None if problem is None else HttpResponseBadRequest(problem, content_type="text/plain")


class GuardedAdmin(admin.ModelAdmin):
    """A ModelAdmin whose pages refuse unstorable text before looking anything up."""

    def get_object(self, request: HttpRequest, object_id: str, from_field=None):
        # The admin unquotes ids ("_00" is NUL): such an id names no object.
        if not storable(object_id):
            return None
        return super().get_object(request, object_id, from_field)

    def get_changeform_initial_data(self, request: HttpRequest) -> dict:
        # An add page prefilled from its query string: a date-time the widget
        # could not show is left out rather than failing the page.
        initial = super().get_changeform_initial_data(request)
        for name, value in list(initial.items()):
            field = _model_field(self.model, name)
            if isinstance(field, models.DateTimeField) and isinstance(value, str):
                try:
                    initial[name] = forms.DateTimeField().clean(value)
                except (ValidationError, ValueError, OverflowError):
                    del initial[name]
        return initial

    def changelist_view(self, request: HttpRequest, extra_context=None):
        return _refusal(request) or super().changelist_view(request, extra_context)

    def changeform_view(
        self, request: HttpRequest, object_id=None, form_url="", extra_context=None
    ):
        refused = _refusal(request)
        return refused or super().changeform_view(request, object_id, form_url, extra_context)

    def delete_view(self, request: HttpRequest, object_id, extra_context=None):
        return _refusal(request) or super().delete_view(request, object_id, extra_context)

    def history_view(self, request: HttpRequest, object_id, extra_context=None):
        return _refusal(request) or super().history_view(request, object_id, extra_context)
