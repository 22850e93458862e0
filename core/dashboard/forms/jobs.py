"""The edit form of a pending job."""

import json
from typing import Any

from django import forms
from django.utils import timezone

from core.dashboard.forms.fields import JSONTextField, TagsField
from core.models import Job


class EditJobForm(forms.Form):
    """The fields of a pending job an operator may change."""

    payload = JSONTextField()
    priority = forms.IntegerField(min_value=-100, max_value=100)
    run_at = forms.DateTimeField(
        widget=forms.DateTimeInput(
            attrs={"type": "datetime-local", "step": "1"}, format="%Y-%m-%dT%H:%M:%S"
        ),
        label="Run at",
    )
    tags = TagsField()
    max_attempts = forms.IntegerField(min_value=1, label="Max attempts")

    @classmethod
    def for_job(cls, job: Job, data=None) -> "EditJobForm":
        """The form filled with the job's current values."""
        initial = {
            "payload": json.dumps(job.payload, indent=2, ensure_ascii=False),
            "priority": job.priority,
            "run_at": timezone.localtime(job.run_at),
            "tags": ", ".join(job.tags),
            "max_attempts": job.max_attempts,
        }
        return cls(data=data, initial=initial)

    def changes(self) -> dict[str, Any]:
        """The values the operator changed, for ``core.queue.edit_job``."""
        return {name: self.cleaned_data[name] for name in self.changed_data}
