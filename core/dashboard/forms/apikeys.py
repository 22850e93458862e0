"""The form of the API keys page: a new key's name, access and expiry."""

from datetime import datetime, timedelta

from django import forms
from django.utils import timezone

from core.api.auth import (
    WRITE_PERMISSIONS,
    and_words,
    missing_write_permissions,
    write_permissions_error,
)

#: The longest expiry the form offers, in days (ten years).
MAX_DAYS = 3650


class NewKeyForm(forms.Form):
    """What ``ApiKey.create`` needs from an operator.

    ``user`` is the operator: one who lacks any of ``WRITE_PERMISSIONS`` sees the
    Read-write checkbox disabled, with the reason, and a form sent with it ticked
    anyway is invalid (an error on the field; nothing is created).
    """

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

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.missing_write_permissions = missing_write_permissions(user)
        if self.missing_write_permissions:
            field = self.fields["can_write"]
            # Not Django's ``disabled``, which would silently drop a ticked box:
            # a forged read-write request must be refused, not downgraded.
            field.widget.attrs["disabled"] = True
            field.help_text = (
                "unavailable: a read-write key may enqueue, retry and cancel jobs and "
                f"complete tokens, which needs {and_words(WRITE_PERMISSIONS)}; you lack "
                f"{and_words(self.missing_write_permissions)}, so the key will be read-only"
            )

    def clean_can_write(self) -> bool:
        can_write = self.cleaned_data["can_write"]
        if can_write and self.missing_write_permissions:
            raise forms.ValidationError(write_permissions_error(self.missing_write_permissions))
        return can_write

    def expires_at(self, now: datetime | None = None) -> datetime | None:
        """The expiry of a valid form, or None for a key that never expires."""
        days = self.cleaned_data.get("expires_in_days")
        if days is None:
            return None
        return (now or timezone.now()) + timedelta(days=days)
