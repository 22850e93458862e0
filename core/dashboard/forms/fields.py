"""What the dashboard's forms share: JSON, tags and durations typed by an operator."""

import json
import re
from typing import Any

from django import forms

from core.durations import duration_problem
from core.insights.filters import tag_list

#: A plain (maybe negative) number: seconds, left for the queue's own checks to judge.
_PLAIN_NUMBER = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)")


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


class DurationField(forms.Field):
    """A span of time: seconds (``90``, ``1.5``) or a duration such as ``15m``, ``48h``,
    ``1h30m`` (core.durations); cleans to seconds (a float), or None for an empty box.
    Plain numbers pass as they are, so the queue's checks judge their range."""

    def __init__(self, *, placeholder: str = "e.g. 30 or 15m", **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault(
            "widget",
            forms.TextInput(
                attrs={
                    "placeholder": placeholder,
                    "spellcheck": "false",
                    "autocomplete": "off",
                    "maxlength": "100",
                }
            ),
        )
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> float | None:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        text = "" if value is None else str(value).strip()
        if not text:
            return None
        if _PLAIN_NUMBER.fullmatch(text):
            return float(text)
        seconds, problem = duration_problem(text)
        if problem is not None:
            raise forms.ValidationError(problem[:1].upper() + problem[1:])
        return seconds
