"""The form of the API keys page: a new key's name, access and expiry."""

from datetime import datetime, timedelta

from django import forms
from django.utils import timezone

#: The longest expiry the form offers, in days (ten years).
MAX_DAYS = 3650


class NewKeyForm(forms.Form):
    """What ``ApiKey.create`` needs from an operator."""

    name = forms.CharField(
        max_length=100,
        help_text="who or what uses the key",
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "nightly-report"}),
    )
    can_write = forms.BooleanField(
        required=False,
        label="Read-write",
        help_text="may enqueue, retry and cancel jobs and complete tokens; unticked: read-only",
    )
    expires_in_days = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_DAYS,
        label="Expires in (days)",
        help_text="empty: never expires",
        error_messages={
            "min_value": "The expiry must lie in the future: at least 1 day.",
            "max_value": f"At most {MAX_DAYS} days.",
        },
        widget=forms.NumberInput(attrs={"placeholder": "never"}),
    )

    def expires_at(self, now: datetime | None = None) -> datetime | None:
        """The expiry of a valid form, or None for a key that never expires."""
        days = self.cleaned_data.get("expires_in_days")
        if days is None:
            return None
        return (now or timezone.now()) + timedelta(days=days)
