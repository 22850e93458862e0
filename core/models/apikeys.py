"""API keys: what scripts and services send as ``Authorization: Bearer …``.

A key is shown once, when it is created; only its SHA-256 is stored. Keys are
256 random bits, so a fast hash is as safe as a slow one and keeps every API
call cheap. The first characters (the prefix) are kept in clear text to find
the row and to let an operator recognise a key.
"""

import hashlib
import hmac
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

#: Every key starts with this, so a leaked key is easy to recognise (and grep for).
KEY_PREFIX = "qa_"
#: Characters of the random part kept in clear text, after KEY_PREFIX.
PREFIX_CHARS = 8


def hash_key(key: str) -> str:
    """The stored form of a key."""
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKeyQuerySet(models.QuerySet):
    def usable(self, now=None) -> "ApiKeyQuerySet":
        """Keys neither revoked nor expired."""
        now = now or timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )


class ApiKey(models.Model):
    """A named key for the JSON API, read-only or read-write."""

    name = models.CharField(max_length=100, help_text="Who or what uses the key.")
    prefix = models.CharField(max_length=20, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    can_write = models.BooleanField(
        default=False,
        help_text="Read-write keys may enqueue, retry and cancel jobs and complete tokens; "
        "read-only keys may only read jobs and metrics.",
    )
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Empty: never expires.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def create(cls, name: str, *, can_write: bool = False, expires_at=None, created_by=None):
        """Create a key; return ``(api_key, secret)``. The secret is not stored anywhere."""
        secret = KEY_PREFIX + secrets.token_urlsafe(32)
        key = cls.objects.create(
            name=name,
            prefix=secret[: len(KEY_PREFIX) + PREFIX_CHARS],
            key_hash=hash_key(secret),
            can_write=can_write,
            expires_at=expires_at,
            created_by=created_by,
        )
        return key, secret

    @classmethod
    def authenticate(cls, secret: str) -> "ApiKey | None":
        """The usable key whose secret this is (with its ``created_by``), or None."""
        if not secret.startswith(KEY_PREFIX) or len(secret) > 200:
            return None
        key = (
            cls.objects.usable()
            .select_related("created_by")  # the API checks the creator is still active
            .filter(prefix=secret[: len(KEY_PREFIX) + PREFIX_CHARS])
            .first()
        )
        if key is None or not hmac.compare_digest(key.key_hash, hash_key(secret)):
            return None
        return key

    def state(self, now=None) -> str:
        """ "active", "revoked" or "expired" (a revoked key stays "revoked")."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= (now or timezone.now()):
            return "expired"
        return "active"

    def revoke(self) -> None:
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self.save(update_fields=["revoked_at"])
