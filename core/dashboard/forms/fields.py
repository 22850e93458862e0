"""What the dashboard's forms share: JSON and tags typed by an operator."""

import json
from typing import Any

from django import forms

from core.insights.filters import tag_list


class NotJSON(ValueError):
    """The operator's text is not a JSON document."""


def parse_json_text(text: str) -> Any:
    """JSON typed by an operator (completion data, a payload), or None for an empty box;
    NotJSON, with a message for the operator, for anything else (NaN too)."""
    text = text.strip()
    if not text:
        return None

    def no_constant(name: str) -> Any:
        raise NotJSON(f"Not valid JSON: {name} is not allowed.")

    try:
        return json.loads(text, parse_constant=no_constant)
    except json.JSONDecodeError as exc:
        raise NotJSON(
            f"Not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."
        ) from None
    except RecursionError:
        raise NotJSON("Not accepted: the JSON is nested too deeply.") from None


class JSONTextField(forms.CharField):
    """A text box for JSON; cleans to the value (None for an empty box)."""

    def __init__(self, *, rows: int = 10, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": rows, "spellcheck": "false"}))
        super().__init__(**kwargs)

    def clean(self, value: Any) -> Any:
        try:
            return parse_json_text(super().clean(value))
        except NotJSON as exc:
            raise forms.ValidationError(str(exc)) from None


class TagsField(forms.CharField):
    """Comma-separated tags; cleans to a list without blanks or repeats."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 2000)
        kwargs.setdefault("help_text", "comma-separated")
        super().__init__(**kwargs)

    def clean(self, value: Any) -> list[str]:
        return tag_list(super().clean(value))
