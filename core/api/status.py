"""Signed status references: a job's public, unguessable status URL."""

from django.core import signing
from django.urls import reverse

_SALT = "queueadmin.api.status"


def _signer() -> signing.Signer:
    return signing.Signer(salt=_SALT, algorithm="sha256")


def status_ref(job_id: int) -> str:
    """The signed reference of a job (its id and an HMAC of it)."""
    return _signer().sign(str(job_id))


def job_id_of(ref: str) -> int | None:
    """The job id a reference was signed for, or None if it was not signed by us."""
    try:
        value = _signer().unsign(ref)
    except signing.BadSignature:
        return None
    return int(value) if value.isascii() and value.isdigit() else None


def status_path(job_id: int) -> str:
    """The path of a job's status URL (``/api/status/<ref>``)."""
    return reverse("api:status", args=[status_ref(job_id)])
